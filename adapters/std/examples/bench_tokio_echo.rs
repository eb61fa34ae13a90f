//! Benchmark baseline: a tokio-util `Framed<TcpStream, LengthDelimitedCodec>` echo (4-byte
//! big-endian length prefix) on a tokio current-thread runtime: one thread, like
//! `sockframe serve`. One task per connection; every frame already decoded is fed to the
//! sink before one flush, so pipelined requests are answered with few writes (the usual
//! `send` per frame would flush each): `bench_support::echo::tokio_echo`. Frames over
//! 64 MiB close the connection.
//!
//! `cargo run --release -p sockframe-std --example bench_tokio_echo -- --bind 127.0.0.1:0`
//! prints `bench_tokio_echo: listening on ADDR` on stderr once bound; talk to it with
//! `sockframe bench ADDR --protocol length-prefix`. Used by `cargo xtask bench-server`.

mod bench_support;

use clap::Parser;
use std::io;
use std::net::SocketAddr;
use tokio::net::TcpStream;

#[derive(Parser)]
#[command(about = "tokio-util LengthDelimitedCodec echo (benchmark baseline)")]
struct Args {
    /// Address to listen on (port 0 picks a free port; the real address is printed).
    #[arg(long, default_value = "127.0.0.1:9001")]
    bind: SocketAddr,
}

fn main() -> std::io::Result<()> {
    bench_support::serve("bench_tokio_echo", Args::parse().bind, echo)
}

/// Echoes frames until the peer closes.
async fn echo(stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    bench_support::echo::tokio_echo(stream).await
}
