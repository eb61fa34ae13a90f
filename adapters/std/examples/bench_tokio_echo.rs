//! Benchmark baseline: a tokio-util `Framed<TcpStream, LengthDelimitedCodec>` echo (4-byte
//! big-endian length prefix) on a tokio current-thread runtime: one thread, like
//! `sockframe serve`. One task per connection; every frame already decoded is fed to the
//! sink before one flush, so pipelined requests are answered with few writes (the usual
//! `send` per frame would flush each).
//!
//! `cargo run --release -p sockframe-std --example bench_tokio_echo -- --bind 127.0.0.1:0`
//! prints `bench_tokio_echo: listening on ADDR` on stderr once bound; talk to it with
//! `sockframe bench ADDR --protocol length-prefix`. Used by `cargo xtask bench-server`.

mod bench_support;

use clap::Parser;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::io;
use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Largest payload echoed (the connection is closed beyond it).
const MAX_PAYLOAD: usize = 64 << 20;

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
    let codec = LengthDelimitedCodec::builder()
        .max_frame_length(MAX_PAYLOAD)
        .new_codec();
    let mut framed = Framed::new(stream, codec);
    while let Some(frame) = framed.next().await {
        framed.feed(frame?.freeze()).await?;
        // Answer whatever else is complete (or readable right now) before writing.
        while let Some(Some(frame)) = framed.next().now_or_never() {
            framed.feed(frame?.freeze()).await?;
        }
        SinkExt::<bytes::Bytes>::flush(&mut framed).await?;
    }
    Ok(())
}
