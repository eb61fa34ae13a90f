//! `sockframe bench`.

use super::Failure;
use crate::load_generator::{self as bench, BenchConfig, Mode, Protocol};
use clap::{Args, ValueEnum};
use std::time::Duration;

/// How the load generator sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ModeArg {
    /// One frame in flight per connection.
    Pingpong,
    /// Up to --window frames in flight per connection.
    Pipelined,
    /// Open --conns connections, ping each once, hold them idle for --duration (measure
    /// the server's memory meanwhile).
    Idle,
}

/// What the load generator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ProtocolArg {
    /// sockframe DATA frames (`sockframe serve`).
    Sockframe,
    /// A 4-byte big-endian length, then the payload (baseline echo servers).
    LengthPrefix,
}

/// Arguments of `sockframe bench`.
#[derive(Debug, Args)]
pub struct BenchArgs {
    /// Echo server address, host:port, or a serial link serial:PATH[,BAUD] (baud default
    /// 115200; one connection: --conns 1).
    addr: String,
    /// Ping-pong or pipelined.
    #[arg(long, value_enum, default_value_t = ModeArg::Pingpong)]
    mode: ModeArg,
    /// Wire protocol: sockframe frames, or a bare 4-byte length prefix for comparing with
    /// other echo servers.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Sockframe)]
    protocol: ProtocolArg,
    /// Payload bytes per frame.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Connections.
    #[arg(long, default_value_t = 1)]
    conns: usize,
    /// Frames in flight per connection (pipelined).
    #[arg(long, default_value_t = 64)]
    window: usize,
    /// Seconds to run.
    #[arg(long, value_name = "SECS", default_value_t = 5.0)]
    duration: f64,
}

/// Runs the load and prints msgs/s, MiB/s and latency percentiles.
pub fn run(a: BenchArgs) -> Result<i32, Failure> {
    if !(a.duration > 0.0 && a.duration.is_finite()) {
        return Err(Failure::usage(
            "--duration must be a positive number of seconds",
        ));
    }
    // A link carries one session: the bridge relays one connection at a time.
    if a.addr.starts_with(sockframe_std::serial::PREFIX) && a.conns > 1 {
        return Err(Failure::usage(format!(
            "{}: a serial link carries one connection: --conns 1",
            a.addr
        )));
    }
    let addr = super::resolve(&a.addr)?;
    let duration = Duration::from_secs_f64(a.duration);
    let protocol = match a.protocol {
        ProtocolArg::Sockframe => Protocol::Sockframe,
        ProtocolArg::LengthPrefix => Protocol::LengthPrefix,
    };
    if a.mode == ModeArg::Idle {
        let clients = bench::open_idle_with(addr, a.conns, protocol)?;
        println!(
            "holding {} idle connections (each echoed one verified message) for {:.1} s",
            clients.len(),
            a.duration
        );
        // Flushed: a script waits for this line before measuring.
        let _ = std::io::Write::flush(&mut std::io::stdout());
        std::thread::sleep(duration);
        return Ok(0);
    }
    let cfg = BenchConfig {
        addr,
        mode: match a.mode {
            ModeArg::Pingpong => Mode::PingPong,
            ModeArg::Pipelined | ModeArg::Idle => Mode::Pipelined,
        },
        protocol,
        size: a.size,
        conns: a.conns.max(1),
        window: a.window.max(1),
        duration,
    };
    let report = bench::run(&cfg)?;
    // The names as the options spell them (`sockframe pingpong`), not the code's.
    let name = |v: Option<clap::builder::PossibleValue>| {
        v.map(|v| v.get_name().to_owned()).unwrap_or_default()
    };
    println!(
        "{} {} size {} conns {} window {}: {report}",
        name(a.protocol.to_possible_value()),
        name(a.mode.to_possible_value()),
        cfg.size,
        cfg.conns,
        cfg.window
    );
    Ok(0)
}
