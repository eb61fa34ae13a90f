//! Command-line arguments and dispatch.

mod bench;
mod chat;
mod exec;
mod failure;
mod files;
mod send;
mod serve;
mod tls;

pub use failure::Failure;

use clap::{Parser, Subcommand};
use std::net::{SocketAddr, ToSocketAddrs};

/// Messages over TCP that arrive whole: a sockframe server and client.
///
/// Exit codes: 0 ok, 1 remote or protocol error, 2 usage error, 3 connection failure
/// (`exec` exits with the remote command's status).
#[derive(Debug, Parser)]
#[command(name = "sockframe", version, about, long_about)]
pub struct Cli {
    /// More log output on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a server (echo by default, on 127.0.0.1:8080).
    Serve(serve::ServeArgs),
    /// Send one message (or stdin with `-`) and print the reply.
    Send(send::SendArgs),
    /// Talk to a chat server, one line at a time.
    Chat(chat::ChatArgs),
    /// Run a command on an exec server; exits with its status.
    Exec(exec::ExecArgs),
    /// Upload a file to a files server.
    Put(files::PutArgs),
    /// Download a file from a files server.
    Get(files::GetArgs),
    /// Load-test an echo server and verify every byte.
    Bench(bench::BenchArgs),
}

/// Runs a subcommand; `Ok` carries the exit code.
pub fn run(command: Command) -> Result<i32, Failure> {
    match command {
        Command::Serve(a) => serve::run(a),
        Command::Send(a) => send::run(a),
        Command::Chat(a) => chat::run(a),
        Command::Exec(a) => exec::run(a),
        Command::Put(a) => files::put(a),
        Command::Get(a) => files::get(a),
        Command::Bench(a) => bench::run(a),
    }
}

/// Logs to stderr at the level `-v` chose, unless RUST_LOG says otherwise.
pub fn init_logging(verbose: u8) {
    use tracing_subscriber::EnvFilter;
    let level = match verbose {
        0 => "warn",
        1 => "info",
        2 => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(level));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

/// Resolves `host:port` (names allowed) to the first address. A missing port is a usage
/// error that says so.
///
/// A serial spec, `serial:PATH[,BAUD]`, opens the port and returns the loopback address of
/// its bridge ([`sockframe_std::serial::bridge`]): every client runs on it unchanged.
pub fn resolve(addr: &str) -> Result<SocketAddr, Failure> {
    match sockframe_std::serial::SerialSpec::parse(addr) {
        Some(Ok(spec)) => {
            return sockframe_std::serial::bridge(&spec)
                .map_err(|e| Failure::connect(e.to_string()));
        }
        Some(Err(e)) => return Err(Failure::usage(e)),
        None => {}
    }
    let bare_ip = addr.parse::<std::net::IpAddr>().is_ok();
    if bare_ip || !addr.contains(':') {
        return Err(Failure::usage(format!(
            "{addr}: the port is missing (HOST:PORT, e.g. {}:8080)",
            if addr.contains(':') {
                format!("[{addr}]")
            } else {
                addr.to_owned()
            }
        )));
    }
    addr.to_socket_addrs()
        .map_err(|e| Failure::connect(format!("cannot resolve {addr}: {e}")))?
        .next()
        .ok_or_else(|| Failure::connect(format!("{addr} resolves to no address")))
}

/// Connects a client to `addr`.
pub fn connect(addr: &str) -> Result<sockframe_std::Client, Failure> {
    let target = resolve(addr)?;
    sockframe_std::Client::connect_timeout(&target, std::time::Duration::from_secs(10))
        .map_err(|e| Failure::connect(format!("cannot connect to {addr}: {e}")))
}
