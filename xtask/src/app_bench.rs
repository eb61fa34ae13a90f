//! `cargo xtask bench-apps`: what building an application on sockframe-std costs (issue 9's
//! benchmark), in one run, with the helpers of `bench-server` (pinning, quiet-wait, medians).
//!
//! 1. **Async client vs pipelined blocking load**: against one `sockframe serve` (echo), the
//!    same 64 B requests on one connection with W in flight (W = 64, 1024), sent by
//!    `bench_async_client` (sockframe-std's `AsyncClient`, W tasks, replies matched by id) and by
//!    `sockframe bench --mode pipelined --window W` (a writer thread and a reader thread
//!    that expect replies in order: no matching at all). Target: the async client at
//!    least 0.9x.
//! 2. **Codec vs LengthDelimitedCodec**: `bench_codec_echo` (`Framed<_, FrameCodec>`)
//!    against `bench_tokio_echo` (`Framed<_, LengthDelimitedCodec>`), written alike (feed
//!    every ready frame, flush once per burst), loaded by `sockframe bench` in each one's
//!    protocol: pipelined 64 B window 64, and ping-pong 64 B. Target: at least 1.0x.
//!
//! Besides msgs/s, each comparison reports the CPU time per message of what it compares
//! (the load generator's for 1, the echo server's for 2): on a machine other work keeps
//! busy, msgs/s follows the CPU share a process gets, while CPU per message stays put.
//!
//! Servers run pinned to CPU 0, load generators to CPU 1 (when there are two CPUs); each
//! measurement waits for a quiet machine first; servers and clients are taken in turns
//! within each run; the tables show medians.

use crate::server_bench::{
    Guard, Sample, clk_tck, loadavg, median, run_load, spawn_server, stat_cpu_secs, wait_quiet,
};
use crate::util;
use std::path::PathBuf;

/// What a run measures.
pub struct Params {
    /// Seconds per measurement.
    pub duration: f64,
    /// Repetitions (the median is reported).
    pub runs: usize,
}

struct Bins {
    sockframe: PathBuf,
    async_client: PathBuf,
    codec_echo: PathBuf,
    tokio_echo: PathBuf,
}

fn build() -> Result<Bins, String> {
    let find = util::build_sockframe_with(&[
        "bench_async_client",
        "bench_codec_echo",
        "bench_tokio_echo",
    ])?;
    Ok(Bins {
        sockframe: find("sockframe")?,
        async_client: find("bench_async_client")?,
        codec_echo: find("bench_codec_echo")?,
        tokio_echo: find("bench_tokio_echo")?,
    })
}

/// A server started on a free loopback port; killed on drop.
pub(crate) struct Running {
    pub addr: String,
    pub pid: u32,
    _child: Guard,
}

pub(crate) fn start(name: &str, argv: Vec<String>, pinned: bool) -> Result<Running, String> {
    let (guard, addr, pid) = spawn_server(name, &argv, pinned)?;
    Ok(Running {
        addr,
        pid,
        _child: guard,
    })
}

/// Whose CPU time a comparison counts per message.
#[derive(Clone, Copy)]
pub(crate) enum Cpu {
    /// The load generator's (it is the thing compared).
    Client,
    /// The server's, by process id.
    Server(u32),
}

impl Cpu {
    fn who(self) -> &'static str {
        match self {
            Cpu::Client => "client",
            Cpu::Server(_) => "server",
        }
    }

    /// CPU seconds used so far: the server's, or this process's waited-for children's
    /// (the load generator counts once it has been waited for).
    fn secs(self) -> Result<f64, String> {
        match self {
            Cpu::Client => stat_cpu_secs("/proc/self/stat", true, clk_tck()),
            Cpu::Server(pid) => stat_cpu_secs(&format!("/proc/{pid}/stat"), false, clk_tck()),
        }
    }
}

/// Runs one load generator command line, after waiting for a quiet machine; `cpu_us` is
/// `cpu`'s time per message.
fn load(argv: Vec<String>, cpu: Cpu, pinned: bool, duration: f64) -> Result<Sample, String> {
    let quiet = wait_quiet();
    let before = cpu.secs()?;
    let mut s =
        run_load(&argv, pinned, duration).map_err(|e| format!("{}: {e}", argv.join(" ")))?;
    s.cpu_us = (cpu.secs()? - before) * 1e6 / s.msgs.max(1.0);
    s.quiet = quiet;
    Ok(s)
}

/// One comparison: a candidate and a baseline, each a (server, load generator) pair.
pub(crate) struct Pair {
    name: String,
    candidate: &'static str,
    baseline: &'static str,
    target: f64,
    /// Whose CPU time is compared, for the candidate and the baseline.
    cpu: [Cpu; 2],
    samples: [Vec<Sample>; 2],
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

pub fn run(p: &Params) -> Result<(), String> {
    if p.runs == 0 || !(p.duration > 0.0 && p.duration.is_finite()) {
        return Err("--runs must be at least 1 and --duration a positive number".into());
    }
    let bins = build()?;
    let pinned = std::thread::available_parallelism().map_or(1, usize::from) >= 2;
    let load_before = loadavg();
    let exe = |p: &PathBuf| p.display().to_string();
    let bind = ["--bind".to_string(), "127.0.0.1:0".to_string()];
    let serve = start(
        "sockframe serve",
        [vec![exe(&bins.sockframe), "serve".into()], bind.to_vec()].concat(),
        pinned,
    )?;
    let codec = start(
        "bench_codec_echo",
        [vec![exe(&bins.codec_echo)], bind.to_vec()].concat(),
        pinned,
    )?;
    let tokio = start(
        "bench_tokio_echo",
        [vec![exe(&bins.tokio_echo)], bind.to_vec()].concat(),
        pinned,
    )?;
    let d = p.duration.to_string();
    let bench = |addr: &str, protocol: &str, extra: &[&str]| -> Vec<String> {
        let mut v = vec![
            exe(&bins.sockframe),
            "bench".into(),
            addr.into(),
            "--protocol".into(),
            protocol.into(),
            "--duration".into(),
            d.clone(),
        ];
        v.extend(strings(extra));
        v
    };
    let async_client = |window: &str| -> Vec<String> {
        vec![
            exe(&bins.async_client),
            serve.addr.clone(),
            "--size".into(),
            "64".into(),
            "--in-flight".into(),
            window.into(),
            "--duration".into(),
            d.clone(),
        ]
    };
    let pipelined = |w: &'static str| -> [&'static str; 8] {
        [
            "--mode",
            "pipelined",
            "--size",
            "64",
            "--conns",
            "1",
            "--window",
            w,
        ]
    };
    let pingpong = ["--mode", "pingpong", "--size", "64", "--conns", "1"];
    // (name, candidate argv, baseline argv, target)
    let scenarios: Vec<(Pair, Vec<String>, Vec<String>)> = vec![
        (
            pair(
                "64 B, 1 conn, 64 in flight",
                "AsyncClient",
                "sockframe bench pipelined",
                0.9,
                [Cpu::Client, Cpu::Client],
            ),
            async_client("64"),
            bench(&serve.addr, "sockframe", &pipelined("64")),
        ),
        (
            pair(
                "64 B, 1 conn, 1024 in flight",
                "AsyncClient",
                "sockframe bench pipelined",
                0.9,
                [Cpu::Client, Cpu::Client],
            ),
            async_client("1024"),
            bench(&serve.addr, "sockframe", &pipelined("1024")),
        ),
        (
            pair(
                "echo pipelined 64 B, window 64",
                "Framed<_, FrameCodec>",
                "Framed<_, LengthDelimitedCodec>",
                1.0,
                [Cpu::Server(codec.pid), Cpu::Server(tokio.pid)],
            ),
            bench(&codec.addr, "sockframe", &pipelined("64")),
            bench(&tokio.addr, "length-prefix", &pipelined("64")),
        ),
        (
            pair(
                "echo ping-pong 64 B, 1 conn",
                "Framed<_, FrameCodec>",
                "Framed<_, LengthDelimitedCodec>",
                1.0,
                [Cpu::Server(codec.pid), Cpu::Server(tokio.pid)],
            ),
            bench(&codec.addr, "sockframe", &pingpong),
            bench(&tokio.addr, "length-prefix", &pingpong),
        ),
    ];
    compare(p, scenarios, pinned, &load_before)
}

/// Measures every scenario (candidate argv, baseline argv) `p.runs` times, candidate and
/// baseline in turns, and prints the table of medians.
pub(crate) fn compare(
    p: &Params,
    scenarios: Vec<(Pair, Vec<String>, Vec<String>)>,
    pinned: bool,
    load_before: &str,
) -> Result<(), String> {
    let mut pairs = Vec::new();
    let mut argvs = Vec::new();
    for (pair, c, b) in scenarios {
        pairs.push(pair);
        argvs.push([c, b]);
    }
    for run in 1..=p.runs {
        for (pair, argv) in pairs.iter_mut().zip(&argvs) {
            for side in 0..2 {
                let s = load(argv[side].clone(), pair.cpu[side], pinned, p.duration)?;
                eprintln!(
                    "run {run}/{}: {} / {}: {:.0} msgs/s, p50 {:.1} us, p99 {:.1} us, {} CPU {:.2} us/msg",
                    p.runs,
                    pair.name,
                    [pair.candidate, pair.baseline][side],
                    s.msgs_s,
                    s.p50_us,
                    s.p99_us,
                    pair.cpu[side].who(),
                    s.cpu_us
                );
                pair.samples[side].push(s);
            }
        }
    }
    print_table(p, &pairs, pinned);
    let all: Vec<&Sample> = pairs
        .iter()
        .flat_map(|p| p.samples.iter().flatten())
        .collect();
    println!();
    println!(
        "{} of {} measurements started on a quiet machine (under 10% CPU busy for 0.5 s, waiting up to 60 s for it).",
        all.iter().filter(|s| s.quiet).count(),
        all.len()
    );
    println!(
        "Load average (1, 5, 15 min) before: {load_before}; after: {}.",
        loadavg()
    );
    Ok(())
}

pub(crate) fn pair(
    name: &str,
    candidate: &'static str,
    baseline: &'static str,
    target: f64,
    cpu: [Cpu; 2],
) -> Pair {
    Pair {
        name: name.into(),
        candidate,
        baseline,
        target,
        cpu,
        samples: [Vec::new(), Vec::new()],
    }
}

fn print_table(p: &Params, pairs: &[Pair], pinned: bool) {
    println!();
    println!(
        "Medians of {} runs of {} s each; {}.",
        p.runs,
        p.duration,
        if pinned {
            "servers on CPU 0, load generators on CPU 1"
        } else {
            "unpinned (fewer than 2 CPUs)"
        }
    );
    println!();
    println!(
        "| scenario | candidate | msgs/s | baseline | msgs/s | ratio | target | met | CPU per msg (candidate / baseline) | CPU ratio (baseline / candidate) | p50 / p99 us (candidate, baseline) |"
    );
    println!("| --- | --- | ---: | --- | ---: | ---: | --- | --- | --- | ---: | --- |");
    for pair in pairs {
        let med = |side: usize, f: fn(&Sample) -> f64| {
            median(&pair.samples[side].iter().map(f).collect::<Vec<_>>())
        };
        let (c, b) = (med(0, |s| s.msgs_s), med(1, |s| s.msgs_s));
        let ratio = c / b;
        let (cc, bc) = (med(0, |s| s.cpu_us), med(1, |s| s.cpu_us));
        println!(
            "| {} | {} | {c:.0} | {} | {b:.0} | {ratio:.2}x | ≥ {:.1}x | {} | {} {cc:.2} / {bc:.2} us | {:.2}x | {:.0} / {:.0}, {:.0} / {:.0} |",
            pair.name,
            pair.candidate,
            pair.baseline,
            pair.target,
            if ratio >= pair.target {
                "yes"
            } else {
                "**no**"
            },
            pair.cpu[0].who(),
            bc / cc,
            med(0, |s| s.p50_us),
            med(0, |s| s.p99_us),
            med(1, |s| s.p50_us),
            med(1, |s| s.p99_us),
        );
    }
    println!();
    println!("All runs (msgs/s, and CPU per message), in order:");
    println!();
    for pair in pairs {
        for side in 0..2 {
            let all: Vec<String> = pair.samples[side]
                .iter()
                .map(|s| format!("{:.0} ({:.2} us)", s.msgs_s, s.cpu_us))
                .collect();
            println!(
                "- {} / {}: {}",
                pair.name,
                [pair.candidate, pair.baseline][side],
                all.join(", ")
            );
        }
    }
}
