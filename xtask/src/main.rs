//! `cargo xtask ...`: the project's automation, in Rust so it runs wherever cargo does.
//!
//! - `setup`: installs what the build and tests need and is missing (the thumbv7m target,
//!   qemu-system-arm and binutils-arm-none-eabi through apt when root, cargo-fuzz).
//! - `test`: the whole test suite, as CI runs it.
//! - `demo`: boots the board, starts the desktop server, and talks to both.
//! - `python`: the Python package's checks, with live interop against the desktop server and
//!   the board (also a step of `test`).
//! - `qemu`: builds the firmware and boots it with the echo port forwarded to 127.0.0.1.
//! - `size`: flash, static RAM and peak stack of the firmware, and the framing's flash by part.
//! - `footprint`: the framing's flash by part only (no boot).
//! - `bench-board`: round trip and bulk echo of the framed against the plain echo on the board.
//! - `bench-uart`: the board's UART link, framed against the plain byte echo, and recovery after noise.
//! - `bench-server`: `sockframe serve` against two baseline echo servers (issue 3's benchmark).
//! - `bench-apps`: the async client and the tokio codec against their baselines (issue 9).
//! - `bench-tls`: the async client over TLS against plain TCP, 64 B and 1 MiB (issue 13).
//! - `soak`: minutes of mixed clients against the desktop servers and the board, every byte
//!   verified; errors, server memory and throughput over time (issue 5).

mod app_bench;
mod board_bench;
mod demo;
mod footprint;
mod python;
mod server_bench;
mod setup;
mod size;
mod soak;
mod test;
mod tls_bench;
mod uart_bench;
mod util;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Parser)]
#[command(about = "sockframe project automation")]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what is missing: thumbv7m target, qemu-system-arm, arm binutils, cargo-fuzz.
    Setup,
    /// Run the whole test suite (what CI runs).
    Test {
        /// Seconds each fuzz target runs.
        #[arg(long, default_value_t = 20)]
        fuzz_seconds: u32,
    },
    /// Boot the board, start the desktop server, and exchange frames with both.
    Demo,
    /// Lint, type check and test the Python package (adapters/python), live interop included.
    Python,
    /// Build the firmware and boot it in QEMU until Ctrl-C.
    Qemu {
        /// Host port forwarded to the board's echo port (default: a free one).
        #[arg(long)]
        port: Option<u16>,
        /// Boot the plain (unframed) echo baseline instead of the framed echo.
        #[arg(long)]
        plain: bool,
        /// Expose the board's UART0 as a TCP server socket on 127.0.0.1:N.
        #[arg(long, conflicts_with = "uart_pty")]
        uart_port: Option<u16>,
        /// Expose the board's UART0 as a pseudo-terminal (its /dev/pts path is printed).
        #[arg(long)]
        uart_pty: bool,
    },
    /// Print the firmware's flash, static RAM and peak stack, and the framing's flash by part.
    Size,
    /// Print the framing's flash cost by part (framed minus plain echo), without booting.
    Footprint {
        /// A framed firmware already built (e.g. from an older commit) instead of building
        /// this tree's.
        #[arg(long, requires = "plain")]
        framed: Option<std::path::PathBuf>,
        /// The plain firmware to compare `--framed` with.
        #[arg(long, requires = "framed")]
        plain: Option<std::path::PathBuf>,
    },
    /// Benchmark the framed echo against the plain echo on the QEMU board.
    BenchBoard {
        /// 64 B round trips measured per run (after a warm-up of 200).
        #[arg(long, default_value_t = 2000)]
        round_trips: usize,
        /// MiB echoed per bulk run.
        #[arg(long, default_value_t = 16)]
        bulk_mib: usize,
        /// Runs per boot.
        #[arg(long, default_value_t = 2)]
        runs: usize,
        /// Times both boards are booted afresh (QEMU processes differ by a few percent).
        #[arg(long, default_value_t = 3)]
        boots: usize,
    },
    /// Benchmark the board's UART link: framed against the plain byte echo, and recovery
    /// after noise.
    BenchUart {
        /// 64 B round trips measured (half on each firmware, after a warm-up).
        #[arg(long, default_value_t = 400)]
        round_trips: usize,
        /// KiB echoed per bulk measurement (QEMU's UART moves about 30 KiB/s).
        #[arg(long, default_value_t = 128)]
        bulk_kib: usize,
    },
    /// Benchmark `sockframe serve` against a thread-per-connection and a tokio-util echo.
    BenchServer {
        /// Seconds per throughput measurement.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Repetitions of every measurement (medians are reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
        /// Connections held for the idle-memory measurement.
        #[arg(long, default_value_t = 10_000)]
        idle_conns: usize,
    },
    /// Benchmark the async client against pipelined load, and the tokio codec against
    /// tokio-util's LengthDelimitedCodec.
    BenchApps {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Repetitions of every measurement (medians are reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Benchmark TLS against plain TCP: pipelined 64 B and 1 MiB echo, same client.
    BenchTls {
        /// Seconds per measurement.
        #[arg(long, default_value_t = 5.0)]
        duration: f64,
        /// Repetitions of every measurement (medians are reported).
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// Minutes of mixed clients against the desktop servers and the board, every byte
    /// verified; exits non-zero on any error or on server memory growth.
    Soak {
        /// Minutes per target (fractions allowed).
        #[arg(long, default_value_t = 10.0)]
        minutes: f64,
        /// What to soak (both: the desktop, then the board).
        #[arg(long, value_enum, default_value_t = soak::Target::Both)]
        target: soak::Target,
        /// Desktop clients: a tenth files, a tenth exec, the rest echo.
        #[arg(long, default_value_t = 100)]
        clients: usize,
        /// Board clients (echo).
        #[arg(long, default_value_t = 4)]
        board_clients: usize,
        /// Seconds between throughput lines.
        #[arg(long, value_name = "SECS", default_value_t = 10.0)]
        report_every: f64,
    },
}

fn main() -> ExitCode {
    let result = match Cli::parse().task {
        Task::Setup => setup::run(),
        Task::Test { fuzz_seconds } => test::run(fuzz_seconds),
        Task::Demo => demo::run(),
        Task::Python => python::run(),
        Task::Qemu {
            port,
            plain,
            uart_port,
            uart_pty,
        } => demo::qemu(port, plain, uart_port, uart_pty),
        Task::Size => size::run(),
        Task::Footprint { framed, plain } => match (framed, plain) {
            (Some(framed), Some(plain)) => footprint::print_parts(&framed, &plain),
            _ => footprint::run(),
        },
        Task::BenchBoard {
            round_trips,
            bulk_mib,
            runs,
            boots,
        } => board_bench::run(&board_bench::Params {
            round_trips,
            bulk_mib,
            runs,
            boots,
        }),
        Task::BenchUart {
            round_trips,
            bulk_kib,
        } => uart_bench::run(&uart_bench::Params {
            round_trips,
            bulk_kib,
        }),
        Task::BenchServer {
            duration,
            runs,
            idle_conns,
        } => server_bench::run(&server_bench::Params {
            duration,
            runs,
            idle_conns,
        }),
        Task::BenchApps { duration, runs } => app_bench::run(&app_bench::Params { duration, runs }),
        Task::BenchTls { duration, runs } => tls_bench::run(&app_bench::Params { duration, runs }),
        Task::Soak {
            minutes,
            target,
            clients,
            board_clients,
            report_every,
        } => soak::run(&soak::Params {
            minutes,
            target,
            clients,
            board_clients,
            report_every,
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
