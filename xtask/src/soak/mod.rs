//! `cargo xtask soak --minutes N`: many clients with mixed sizes and services for minutes,
//! every byte verified; errors, server memory over time and throughput over time (issue 5).
//!
//! - **desktop**: three `sockframe serve` processes (release build) on free loopback ports:
//!   echo, files (root in a temporary directory, deleted afterwards) and exec (loopback, so
//!   no token; `LC_ALL=C` so error texts are known). `--clients` threads (default 100), a
//!   tenth of them files clients, a tenth exec clients, the rest echo clients (half
//!   ping-pong, half pipelined with a window of 2 to 16), each using the library's
//!   [`Client`](sockframe_std::Client). Every client works in sessions: a connection, a
//!   random number of requests, a clean end, a new connection.
//! - **board**: the QEMU board with the framed echo firmware, `--board-clients` echo clients
//!   (default 4, the board's socket pool), half ping-pong, half pipelined.
//!
//! Echo payloads run from 0 B to 1 MiB (256 KiB on the board, whose NIC moves ~9 MiB/s),
//! many larger than the server's 16 KiB buffer so they stream through it; some frames carry a
//! name and a CRC-32C, some are PINGs answered by PONGs, and the reply must match in kind,
//! id, name, checksum and every payload byte. A session ends with a half-close: the server
//! must answer everything sent and then close cleanly, so a lost reply is seen.
//!
//! With `--target both` the desktop soak runs first, then the board soak, each for
//! `--minutes`: on this 2-core machine the desktop load alone keeps both cores busy, and
//! QEMU's emulation is CPU-bound too, so side by side each would slow the other and neither
//! throughput figure would mean anything.
//!
//! Memory: each process's VmRSS before the clients start, then once a second under load.
//! "After the first minute" is the median of seconds 51-60 and "at the end" the median of
//! the last 10 seconds: one instant is a poor figure, since an exec server's RSS moves by half
//! a MiB with the commands running at that moment (a first 10-minute run with single samples
//! read 6.0 MiB at 1 min and 6.6 at the end, while it swung between 5.6 and 6.6 throughout).
//!
//! Exit status: failure on any error (a lost or corrupted byte is an error), on a desktop
//! server whose RSS at the end is more than 10% above its RSS after the first minute (runs
//! of at least 2 minutes), and on Ctrl-C. Every child (servers, QEMU) is killed on the way
//! out: guards kill on drop, a signal handler turns Ctrl-C into an orderly stop, and the
//! servers get SIGKILL from the kernel if this process dies anyway.

mod board;
mod clients;
mod desktop;
mod drive;
mod echo;
mod exec;
mod files;
mod memory;
mod plan;
mod report;
mod server;

use crate::util;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};

/// Which side to soak.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The desktop servers (`sockframe serve`).
    Desktop,
    /// The QEMU board.
    Board,
    /// The desktop, then the board.
    Both,
}

impl Target {
    fn arg(self) -> &'static str {
        match self {
            Target::Desktop => "desktop",
            Target::Board => "board",
            Target::Both => "both",
        }
    }
}

/// What a soak does.
pub struct Params {
    /// Minutes per target.
    pub minutes: f64,
    pub target: Target,
    /// Desktop clients.
    pub clients: usize,
    /// Board clients.
    pub board_clients: usize,
    /// Seconds between throughput lines.
    pub report_every: f64,
}

/// Set by SIGINT / SIGTERM.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Relaxed);
}

/// Turns Ctrl-C (and SIGTERM) into an orderly stop: the soak ends, reports, and its guards
/// kill the children, instead of this process dying with them still running.
fn catch_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic; installing it has no other effect.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

pub fn run(p: &Params) -> Result<(), String> {
    if !(p.minutes > 0.0 && p.minutes.is_finite() && p.report_every > 0.0) {
        return Err("--minutes and --report-every must be positive".into());
    }
    if p.clients < 3 || p.board_clients == 0 {
        return Err(
            "--clients must be at least 3 (echo, files, exec) and --board-clients at least 1"
                .into(),
        );
    }
    catch_signals();
    if cfg!(debug_assertions) {
        // The clients verify every byte and share the 2 cores with the servers: built for
        // debug they would eat the CPU the servers need, and the figures would be theirs.
        return util::sh(
            util::cargo()
                .args(["run", "--release", "--quiet", "-p", "xtask", "--", "soak"])
                .args([
                    format!("--minutes={}", p.minutes),
                    format!("--target={}", p.target.arg()),
                    format!("--clients={}", p.clients),
                    format!("--board-clients={}", p.board_clients),
                    format!("--report-every={}", p.report_every),
                ]),
        );
    }
    let mut verdicts = Vec::new();
    if matches!(p.target, Target::Desktop | Target::Both) {
        verdicts.push(("desktop", desktop::run(p)?));
    }
    if matches!(p.target, Target::Board | Target::Both) && !INTERRUPTED.load(Relaxed) {
        verdicts.push(("board", board::run(p)?));
    }
    println!();
    for (name, v) in &verdicts {
        println!("{name} soak: {}", if v.is_empty() { "passed" } else { v });
    }
    if INTERRUPTED.load(Relaxed) {
        return Err("interrupted".into());
    }
    if verdicts.iter().any(|(_, v)| !v.is_empty()) {
        return Err("soak failed".into());
    }
    Ok(())
}
