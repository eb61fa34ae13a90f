//! Benchmark server: a sockframe echo on tokio-util's `Framed<TcpStream, FrameCodec>` (this
//! crate's codec), written exactly like `bench_tokio_echo` (the `LengthDelimitedCodec`
//! baseline): one task per connection on a current-thread runtime, every frame already
//! decoded fed to the sink before one flush (the loop is `bench_support::echo::codec_echo`,
//! beside `tokio_echo`). Only the codec differs, so the two compare the codecs. PING is
//! answered with PONG, like every sockframe echo.
//!
//! `cargo run --release -p sockframe-std --example bench_codec_echo -- --bind 127.0.0.1:0`
//! prints `bench_codec_echo: listening on ADDR` on stderr once bound; talk to it with
//! `sockframe bench ADDR`. Used by `cargo xtask bench-apps`.

mod bench_support;

use clap::Parser;
use sockframe_std::codec::CodecError;
use std::net::SocketAddr;
use tokio::net::TcpStream;

#[derive(Parser)]
#[command(about = "tokio-util Framed<_, FrameCodec> echo (benchmark)")]
struct Args {
    /// Address to listen on (port 0 picks a free port; the real address is printed).
    #[arg(long, default_value = "127.0.0.1:9002")]
    bind: SocketAddr,
}

fn main() -> std::io::Result<()> {
    bench_support::serve("bench_codec_echo", Args::parse().bind, echo)
}

/// Echoes frames until the peer closes; a framing error is answered with its error frame.
async fn echo(stream: TcpStream) -> Result<(), CodecError> {
    stream.set_nodelay(true)?;
    bench_support::echo::codec_echo(stream).await
}
