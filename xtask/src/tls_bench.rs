//! `cargo xtask bench-tls`: TLS against plain TCP (issue 13's benchmark), in one run.
//!
//! Two `sockframe serve` echo servers, one plain and one with `--tls-self-signed`, loaded
//! by the same client, `bench_async_client` (sockframe-std's `AsyncClient` over one
//! connection, requests pipelined: W in flight at all times, every reply checked byte for
//! byte), once with `--tls-fingerprint` and once without: the difference is TLS alone.
//! Scenarios: 64 B with 64 in flight (target: TLS at least 0.7x plain msgs/s) and 1 MiB
//! with 4 in flight (target: at least 0.5x); besides msgs/s, each server's CPU time per
//! message (what TLS costs the server, steady on a busy machine). Servers on CPU 0, the client on CPU 1; the
//! measurements are taken in turns and the table shows medians (`app_bench::compare`).

use crate::app_bench::{Cpu, Pair, Params, Running, compare, pair, start};
use crate::server_bench::{Guard, loadavg, spawn_server_with};
use crate::util;
use std::path::PathBuf;

pub fn run(p: &Params) -> Result<(), String> {
    if p.runs == 0 || !(p.duration > 0.0 && p.duration.is_finite()) {
        return Err("--runs must be at least 1 and --duration a positive number".into());
    }
    let find = util::build_sockframe_with(&["bench_async_client"])?;
    let (sockframe, client) = (find("sockframe")?, find("bench_async_client")?);
    let pinned = std::thread::available_parallelism().map_or(1, usize::from) >= 2;
    let load_before = loadavg();
    let exe = |p: &PathBuf| p.display().to_string();
    let serve = |extra: &[&str]| -> Vec<String> {
        let mut v = vec![
            exe(&sockframe),
            "serve".into(),
            "--bind".into(),
            "127.0.0.1:0".into(),
        ];
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let plain = start("sockframe serve", serve(&[]), pinned)?;
    let (_tls_guard, tls_addr, tls_pid, fingerprint) =
        start_tls(serve(&["--tls-self-signed"]), pinned)?;
    let d = p.duration.to_string();
    let load = |addr: &str, size: &str, in_flight: &str, tls: bool| -> Vec<String> {
        let mut v = vec![
            exe(&client),
            addr.into(),
            "--size".into(),
            size.into(),
            "--in-flight".into(),
            in_flight.into(),
            "--duration".into(),
            d.clone(),
        ];
        if tls {
            v.extend(["--tls-fingerprint".into(), fingerprint.clone()]);
        }
        v
    };
    let scenario = |name: &str, size: &str, in_flight: &str, target: f64, plain: &Running| {
        (
            pair(
                name,
                "TLS",
                "plain TCP",
                target,
                [Cpu::Server(tls_pid), Cpu::Server(plain.pid)],
            ),
            load(&tls_addr, size, in_flight, true),
            load(&plain.addr, size, in_flight, false),
        )
    };
    let scenarios: Vec<(Pair, Vec<String>, Vec<String>)> = vec![
        scenario("echo 64 B, 1 conn, 64 in flight", "64", "64", 0.7, &plain),
        scenario(
            "echo 1 MiB, 1 conn, 4 in flight",
            "1048576",
            "4",
            0.5,
            &plain,
        ),
    ];
    compare(p, scenarios, pinned, &load_before)
}

/// Starts the TLS server: its guard, address and the fingerprint it printed.
fn start_tls(argv: Vec<String>, pinned: bool) -> Result<(Guard, String, u32, String), String> {
    let (tx, rx) = std::sync::mpsc::channel();
    let (guard, addr, pid) = spawn_server_with(
        "sockframe serve --tls-self-signed",
        &argv,
        pinned,
        move |line| {
            if let Some(fp) = line.split("fingerprint ").nth(1) {
                let _ = tx.send(fp.trim().to_owned());
            }
        },
    )?;
    let fingerprint = rx
        .recv_timeout(std::time::Duration::from_secs(1))
        .map_err(|_| "the TLS server printed no fingerprint".to_string())?;
    Ok((guard, addr, pid, fingerprint))
}
