//! `cargo xtask bench-board`: the framed echo against the plain (unframed) echo on the QEMU
//! board, in the same run.
//!
//! Both firmwares are booted side by side, each on its own free port, and measured in turns,
//! so load from elsewhere on the machine falls on both alike. QEMU is pinned to CPU 0 and
//! this process (the client) to CPU 1 when the machine has two CPUs or more. The client runs
//! from a release build of xtask (a debug build re-runs itself with `--release`). Per board:
//!
//! - 64 B round trip: one connection per board, one request in flight; median and p99 over
//!   all runs. Framed: a DATA frame with a 64-byte payload, answered by its echo (the core's
//!   client). Plain: 64 raw bytes written, 64 read back. A third connection runs the framed
//!   client against the plain echo (which returns frames as raw bytes), to tell the client's
//!   and the wire's share of the framing cost from the board's. The boards take turns every
//!   100 round trips (framed, plain, framed, framed client on plain...), so that each turn
//!   follows one on the other board.
//! - bulk echo: `--bulk-mib` MiB through one connection, a writer thread and a reader thread
//!   (checking every byte); MiB/s of payload, median over the runs. Framed: frames of 64 KiB
//!   payload, echoed cut-through. Plain: the same bytes, raw, in 64 KiB writes.

use crate::util::{cargo, sh};
use crate::{setup, size};
use sockframe::{Header, encode_head};
use sockframe_tests::board::{Board, build_firmware};
use sockframe_tests::client::EchoClient;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
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
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Framed,
    Plain,
}

struct Target {
    kind: Kind,
    name: &'static str,
    board: Board,
    flash: u64,
    ram: u64,
    rtt_us: Vec<f64>,
    bulk_mib_s: Vec<f64>,
}

pub fn run(p: &Params) -> Result<(), String> {
    if p.round_trips == 0 || p.bulk_mib == 0 || p.runs == 0 {
        return Err("--round-trips, --bulk-mib and --runs must be at least 1".into());
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
        let board = Board::boot(&elf)?;
        if pinned {
            pin(board.pid(), 0)?;
        }
        eprintln!("{name}: QEMU pid {} at {}", board.pid(), board.addr());
        targets.push(Target {
            kind,
            name,
            board,
            flash,
            ram,
            rtt_us: Vec::new(),
            bulk_mib_s: Vec::new(),
        });
    }

    let block = pattern(BLOCK);
    // Warm-up: every code path of both firmwares (and of QEMU) runs once before measuring.
    for t in &targets {
        match t.kind {
            Kind::Framed => framed_bulk(t.board.addr(), &block, 1 << 20),
            Kind::Plain => plain_bulk(t.board.addr(), &block, 1 << 20),
        }
        .map_err(|e| format!("{}: warm-up: {e}\n{}", t.name, t.board.log()))?;
    }
    let mut cross_rtt_us = Vec::new();
    for run in 1..=p.runs {
        // (board, connection): each board with its own client, and the framed client on the
        // plain echo too, which returns each frame as raw bytes: that one shows what framing
        // costs the client and the wire, without the board's decoding and encoding.
        let mut conns = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            conns.push((i, Conn::open(t.kind, t.board.addr())?));
        }
        conns.push((1, Conn::open(Kind::Framed, targets[1].board.addr())?));
        let mut samples = vec![Vec::new(); conns.len()];
        for (n, first) in [(WARM_UP, true), (p.round_trips, false)] {
            let mut done = 0;
            while done < n {
                let turn = TURN.min(n - done);
                // Every turn follows a turn on the other board: the framed echo between
                // the plain echo's two clients (so it is measured twice as often).
                for k in [0, 1, 0, 2] {
                    let (i, c) = &mut conns[k];
                    let t = &targets[*i];
                    let rtt = c
                        .round_trips(turn)
                        .map_err(|e| format!("{}: round trips: {e}\n{}", t.name, t.board.log()))?;
                    if !first {
                        samples[k].extend(rtt);
                    }
                }
                done += turn;
            }
        }
        drop(conns);
        let mut samples = samples.into_iter();
        let mut run_medians = Vec::new();
        for t in &mut targets {
            let mut rtt = samples.next().unwrap_or_default();
            t.rtt_us.extend(&rtt);
            run_medians.push(percentile(&mut rtt, 0.5));
        }
        cross_rtt_us.extend(samples.next().unwrap_or_default());
        for (t, median) in targets.iter_mut().zip(run_medians) {
            let addr = t.board.addr();
            let bytes = p.bulk_mib * (1 << 20);
            let secs = match t.kind {
                Kind::Framed => framed_bulk(addr, &block, bytes),
                Kind::Plain => plain_bulk(addr, &block, bytes),
            }
            .map_err(|e| format!("{}: bulk: {e}\n{}", t.name, t.board.log()))?;
            let mib_s = p.bulk_mib as f64 / secs;
            eprintln!(
                "run {run}/{}  {:<22} round trip median {median:>6.1} us  bulk {mib_s:>6.2} MiB/s",
                p.runs, t.name,
            );
            t.bulk_mib_s.push(mib_s);
        }
    }

    // The firmware prints its stack peak at most once a second.
    std::thread::sleep(Duration::from_millis(1500));
    println!(
        "\n{} x {} round trips of {SMALL} B, {} x {} MiB bulk echo; {}\n",
        p.runs,
        p.round_trips,
        p.runs,
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
    let mut summary = Vec::new();
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
            size::stack_peak(&t.board.log()).unwrap_or_else(|| "?".into()),
        );
        summary.push((median, bulk));
    }
    let (cross, cross_p99) = (
        percentile(&mut cross_rtt_us, 0.5),
        percentile(&mut cross_rtt_us, 0.99),
    );
    println!(
        "| framed client, plain echo (frames echoed as bytes) | {cross:.1} us | {cross_p99:.1} us | | | | |"
    );
    let ((f_rtt, f_bulk), (p_rtt, p_bulk)) = (summary[0], summary[1]);
    let verdict = |ok: bool| if ok { "met" } else { "MISSED" };
    println!(
        "\nframed / plain: round trip {:.2}x (target <= 1.10x: {}), bulk {:.2}x (target >= 0.90x: {})",
        f_rtt / p_rtt,
        verdict(f_rtt <= 1.1 * p_rtt),
        f_bulk / p_bulk,
        verdict(f_bulk >= 0.9 * p_bulk)
    );
    println!(
        "round trip, split: client and wire {:.2}x (framed client on the plain echo / plain), \
         board {:.2}x (framed echo / plain echo, both with the framed client)",
        cross / p_rtt,
        f_rtt / cross
    );
    Ok(())
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
        let payload = pattern(SMALL);
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

/// Pseudo-random bytes (xorshift), so a shifted or mixed-up echo does not compare equal.
fn pattern(len: usize) -> Vec<u8> {
    let mut x = 0x9E37_79B9u32;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}

/// The `q` quantile (nearest rank) of `v`, sorting it.
fn percentile(v: &mut [f64], q: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    let rank = ((v.len() as f64 * q).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// Pins every thread of process `pid` (and threads it starts later) to `cpu`.
fn pin(pid: u32, cpu: usize) -> Result<(), String> {
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
