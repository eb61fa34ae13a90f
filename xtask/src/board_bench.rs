//! `cargo xtask bench-board`: the framed echo against the plain (unframed) echo on the QEMU
//! board, in the same run.
//!
//! Both firmwares are booted side by side, each on its own free port, and measured in turns,
//! so load from elsewhere on the machine falls on both alike; `--boots` times afresh (one
//! QEMU process runs a few percent faster or slower than the next one booted from the same
//! image), `--runs` runs per boot. QEMU is pinned to CPU 0 and this process (the client) to
//! CPU 1 when the machine has two CPUs or more. The client runs from a release build of
//! xtask (a debug build re-runs itself with `--release`). Per board and run:
//!
//! - 64 B round trips: one connection per board, one request in flight. Framed: a DATA frame
//!   with a 64-byte payload, answered by its echo (the core's client). Plain: 64 raw bytes
//!   written, 64 read back. A third connection runs the framed client against the plain echo
//!   (which returns frames as raw bytes), to tell the client's and the wire's share of the
//!   framing cost from the board's. The connections take turns every 100 round trips
//!   (framed, plain, framed, framed client on plain), so that each turn follows one on the
//!   other board.
//! - bulk echo: `--bulk-mib` MiB through one connection, a writer thread and a reader thread
//!   checking every byte (after a 1 MiB warm-up per boot). Framed: frames of 64 KiB payload,
//!   echoed cut-through. Plain: the same bytes, raw, in 64 KiB writes.
//!
//! The table gives the medians (and p99) over all samples; the ratios against the targets are
//! taken per run, where both boards saw the same load, then their median over the runs.

use crate::util::{cargo, sh};
use crate::{setup, size};
use sockframe::{Header, encode_head};
use sockframe_tests::board::{Board, build_firmware};
use sockframe_tests::client::EchoClient;
use sockframe_tests::pattern;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);
const SMALL: usize = 64;
const BLOCK: usize = 64 * 1024;
const WARM_UP: usize = 200;
/// Round trips on one board before the other board's turn.
const TURN: usize = 100;

/// What a run measures.
pub struct Params {
    pub round_trips: usize,
    pub bulk_mib: usize,
    pub runs: usize,
    pub boots: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Framed,
    Plain,
}

/// One firmware and what was measured on it, over all boots.
struct Target {
    kind: Kind,
    name: &'static str,
    elf: PathBuf,
    flash: u64,
    ram: u64,
    stack: String,
    rtt_us: Vec<f64>,
    bulk_mib_s: Vec<f64>,
}

pub fn run(p: &Params) -> Result<(), String> {
    if p.round_trips == 0 || p.bulk_mib == 0 || p.runs == 0 || p.boots == 0 {
        return Err("--round-trips, --bulk-mib, --runs and --boots must be at least 1".into());
    }
    if cfg!(debug_assertions) {
        // The client's framing work is part of every round trip: built for debug (as
        // `cargo xtask` builds), it alone made the framed round trip 5-10% slower.
        return sh(cargo()
            .args(["run", "--release", "--quiet", "-p", "xtask", "--"])
            .args([
                "bench-board".to_string(),
                format!("--round-trips={}", p.round_trips),
                format!("--bulk-mib={}", p.bulk_mib),
                format!("--runs={}", p.runs),
                format!("--boots={}", p.boots),
            ]));
    }
    setup::run_all()?;
    let pinned = cpus() >= 2;
    if pinned {
        pin(std::process::id(), 1)?;
    }
    let mut targets = Vec::new();
    for (kind, name, features) in [
        (Kind::Framed, "framed echo", &[][..]),
        (Kind::Plain, "plain echo (baseline)", &["plain-echo"][..]),
    ] {
        let elf = build_firmware(features)?;
        let (flash, ram) = size::sections(&elf)?;
        targets.push(Target {
            kind,
            name,
            elf,
            flash,
            ram,
            stack: "?".into(),
            rtt_us: Vec::new(),
            bulk_mib_s: Vec::new(),
        });
    }

    let block = pattern(BLOCK, 0x9E37_79B9);
    let mut cross_rtt_us = Vec::new();
    let mut ratios = Vec::new();
    // Each QEMU process runs a few percent faster or slower than another one booted from
    // the same image (placement in host memory and caches): fresh boards for every boot.
    for boot in 1..=p.boots {
        let mut boards = Vec::new();
        for t in &targets {
            let board = Board::boot(&t.elf)?;
            if pinned {
                pin(board.pid(), 0)?;
            }
            // Warm-up: every code path of the firmware (and of QEMU) runs before measuring.
            bulk(t.kind, board.addr(), &block, 1 << 20)
                .map_err(|e| format!("{}: warm-up: {e}\n{}", t.name, board.log()))?;
            boards.push(board);
        }
        for run in 1..=p.runs {
            let [framed, plain] = &boards[..] else {
                unreachable!("two boards")
            };
            let [mut f, mut pl, mut cross] = round_trips(framed, plain, p.round_trips)?;
            let mut medians = [0.0; 2];
            let mut mib_s = [0.0; 2];
            for (k, ((t, board), samples)) in targets
                .iter_mut()
                .zip(&boards)
                .zip([&mut f, &mut pl])
                .enumerate()
            {
                mib_s[k] = p.bulk_mib as f64
                    / bulk(t.kind, board.addr(), &block, p.bulk_mib << 20)
                        .map_err(|e| format!("{}: bulk: {e}\n{}", t.name, board.log()))?;
                medians[k] = percentile(samples, 0.5);
                t.rtt_us.extend(&*samples);
                t.bulk_mib_s.push(mib_s[k]);
            }
            let cross_median = percentile(&mut cross, 0.5);
            cross_rtt_us.extend(cross);
            let r = Ratios {
                rtt: medians[0] / medians[1],
                client: cross_median / medians[1],
                board: medians[0] / cross_median,
                bulk: mib_s[0] / mib_s[1],
            };
            eprintln!(
                "boot {boot}/{} run {run}/{}: round trip {:.1} / {:.1} us = {:.2}x \
                 (client and wire {:.2}x, board {:.2}x); bulk {:.2} / {:.2} MiB/s = {:.2}x",
                p.boots,
                p.runs,
                medians[0],
                medians[1],
                r.rtt,
                r.client,
                r.board,
                mib_s[0],
                mib_s[1],
                r.bulk
            );
            ratios.push(r);
        }
        // The firmware prints its stack peak at most once a second.
        std::thread::sleep(Duration::from_millis(1500));
        for (t, board) in targets.iter_mut().zip(&boards) {
            t.stack = size::stack_peak(&board.log()).unwrap_or_else(|| "?".into());
        }
    }

    println!(
        "\n{} boots x {} runs: {} round trips of {SMALL} B and {} MiB of bulk echo each; {}\n",
        p.boots,
        p.runs,
        p.round_trips,
        p.bulk_mib,
        if pinned {
            "QEMU on CPU 0, client on CPU 1"
        } else {
            "not pinned (fewer than 2 CPUs)"
        }
    );
    println!(
        "| firmware | 64 B round trip median | p99 | bulk echo | flash | static RAM | peak stack |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    for t in &mut targets {
        let (median, p99) = (
            percentile(&mut t.rtt_us, 0.5),
            percentile(&mut t.rtt_us, 0.99),
        );
        let bulk = percentile(&mut t.bulk_mib_s, 0.5);
        println!(
            "| {} | {median:.1} us | {p99:.1} us | {bulk:.2} MiB/s | {:.1} KiB | {:.1} KiB | {} |",
            t.name,
            t.flash as f64 / 1024.0,
            t.ram as f64 / 1024.0,
            t.stack,
        );
    }
    let (cross, cross_p99) = (
        percentile(&mut cross_rtt_us, 0.5),
        percentile(&mut cross_rtt_us, 0.99),
    );
    println!(
        "| framed client, plain echo (frames echoed as bytes) | {cross:.1} us | {cross_p99:.1} us | | | | |"
    );
    // Both boards of a run saw the same load: the ratios are taken per run, then their
    // median (and range) over the runs.
    let stat = |f: fn(&Ratios) -> f64| {
        let mut v: Vec<f64> = ratios.iter().map(f).collect();
        let median = percentile(&mut v, 0.5);
        (median, v[0], v[v.len() - 1])
    };
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    let (rtt, rtt_lo, rtt_hi) = stat(|r| r.rtt);
    let (bulk, bulk_lo, bulk_hi) = stat(|r| r.bulk);
    let (client, client_lo, client_hi) = stat(|r| r.client);
    let (board, board_lo, board_hi) = stat(|r| r.board);
    println!(
        "\nframed / plain, median of the runs' ratios (range):\n\
         round trip {rtt:.2}x ({rtt_lo:.2}-{rtt_hi:.2}), target <= 1.10x: {}\n\
         bulk echo  {bulk:.2}x ({bulk_lo:.2}-{bulk_hi:.2}), target >= 0.90x: {}\n\
         round trip split: client and wire {client:.2}x ({client_lo:.2}-{client_hi:.2}; framed \
         client on the plain echo / plain), board {board:.2}x ({board_lo:.2}-{board_hi:.2}; \
         framed echo / plain echo, both with the framed client)",
        verdict(rtt <= 1.1),
        verdict(bulk >= 0.9),
    );
    Ok(())
}

/// Framed / plain within one run.
struct Ratios {
    rtt: f64,
    client: f64,
    board: f64,
    bulk: f64,
}

/// 64 B round trips in turns of [`TURN`], each turn following one on the other board:
/// framed echo, plain echo, framed echo, and the framed client on the plain echo (which
/// returns each frame as raw bytes: what framing costs the client and the wire, without the
/// board's decoding and encoding). Returns the samples (us) of these three connections.
fn round_trips(framed: &Board, plain: &Board, n: usize) -> Result<[Vec<f64>; 3], String> {
    let mut conns = [
        (framed, Conn::open(Kind::Framed, framed.addr())?),
        (plain, Conn::open(Kind::Plain, plain.addr())?),
        (plain, Conn::open(Kind::Framed, plain.addr())?),
    ];
    let mut samples: [Vec<f64>; 3] = Default::default();
    for (n, measured) in [(WARM_UP, false), (n, true)] {
        let mut done = 0;
        while done < n {
            let turn = TURN.min(n - done);
            for k in [0, 1, 0, 2] {
                let (board, c) = &mut conns[k];
                let rtt = c
                    .round_trips(turn)
                    .map_err(|e| format!("round trips: {e}\n{}", board.log()))?;
                if measured {
                    samples[k].extend(rtt);
                }
            }
            done += turn;
        }
    }
    Ok(samples)
}

/// Seconds to echo `bytes` (a multiple of the block) in bulk.
fn bulk(kind: Kind, addr: SocketAddr, block: &[u8], bytes: usize) -> Result<f64, String> {
    match kind {
        Kind::Framed => framed_bulk(addr, block, bytes),
        Kind::Plain => plain_bulk(addr, block, bytes),
    }
}

/// One connection for round trips: the core's client, or a raw stream.
enum Conn {
    Framed(EchoClient),
    Plain(TcpStream),
}

impl Conn {
    fn open(kind: Kind, addr: SocketAddr) -> Result<Conn, String> {
        Ok(match kind {
            Kind::Framed => Conn::Framed(EchoClient::connect(addr, TIMEOUT)?),
            Kind::Plain => Conn::Plain(connect(addr)?),
        })
    }

    /// Times (us) of `n` echoes of 64 B, one at a time, each checked.
    fn round_trips(&mut self, n: usize) -> Result<Vec<f64>, String> {
        let payload = pattern(SMALL, 0x9E37_79B9);
        let mut back = [0u8; SMALL];
        let mut times = Vec::with_capacity(n);
        for i in 0..n as u32 {
            let t = Instant::now();
            let same = match self {
                Conn::Framed(c) => {
                    c.send(&Header::data(i, &payload), &payload)?;
                    let reply = c.recv()?.ok_or("closed")?;
                    reply.id == i && reply.payload == payload
                }
                Conn::Plain(s) => {
                    s.write_all(&payload).map_err(|e| e.to_string())?;
                    s.read_exact(&mut back).map_err(|e| e.to_string())?;
                    back[..] == payload[..]
                }
            };
            times.push(t.elapsed().as_secs_f64() * 1e6);
            if !same {
                return Err(format!("echo {i} came back different"));
            }
        }
        Ok(times)
    }
}

/// Seconds to echo `bytes` (a multiple of the block) as frames of one block each.
fn framed_bulk(addr: SocketAddr, block: &[u8], bytes: usize) -> Result<f64, String> {
    let frames = bytes / block.len();
    let mut c = EchoClient::connect(addr, TIMEOUT)?;
    let mut w = c.stream().try_clone().map_err(|e| e.to_string())?;
    let t = Instant::now();
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> Result<(), String> {
            let mut head = [0u8; 64];
            for i in 0..frames {
                let n = encode_head(
                    &Header::data(i as u32, block),
                    block.len() as u64,
                    &mut head,
                )
                .map_err(|e| e.to_string())?;
                w.write_all(&head[..n]).map_err(|e| e.to_string())?;
                w.write_all(block).map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        for i in 0..frames {
            let reply = c.recv()?.ok_or("closed")?;
            if reply.id != i as u32 || reply.payload != block {
                return Err(format!("frame {i} came back different"));
            }
        }
        writer.join().map_err(|_| "writer panicked")?
    })?;
    Ok(t.elapsed().as_secs_f64())
}

/// Seconds to echo `bytes` (a multiple of the block) as raw bytes.
fn plain_bulk(addr: SocketAddr, block: &[u8], bytes: usize) -> Result<f64, String> {
    let mut r = connect(addr)?;
    let mut w = r.try_clone().map_err(|e| e.to_string())?;
    let t = Instant::now();
    std::thread::scope(|s| {
        let writer = s.spawn(move || -> Result<(), String> {
            for _ in 0..bytes / block.len() {
                w.write_all(block).map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        let mut buf = vec![0u8; block.len()];
        let mut got = 0;
        while got < bytes {
            // Reads stay within one block, so each is checked against the block in place.
            let at = got % block.len();
            let n = r
                .read(&mut buf[..block.len() - at])
                .map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!("closed after {got} bytes"));
            }
            if buf[..n] != block[at..at + n] {
                return Err(format!("bytes {got}..{} came back different", got + n));
            }
            got += n;
        }
        writer.join().map_err(|_| "writer panicked")?
    })?;
    Ok(t.elapsed().as_secs_f64())
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(s)
}

/// The `q` quantile (nearest rank) of `v`, sorting it.
pub(crate) fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

pub(crate) fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Pins every thread of process `pid` (and threads it starts later) to `cpu`.
pub(crate) fn pin(pid: u32, cpu: usize) -> Result<(), String> {
    let out = Command::new("taskset")
        .args(["-a", "-c", "-p", &cpu.to_string(), &pid.to_string()])
        .output()
        .map_err(|e| format!("taskset: {e} (install util-linux)"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "taskset -a -c -p {cpu} {pid}: {}",
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}
