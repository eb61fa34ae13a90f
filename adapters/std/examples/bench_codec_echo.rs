//! Benchmark server: a sockframe echo on tokio-util's `Framed<TcpStream, FrameCodec>` (this
//! crate's codec), written exactly like `bench_tokio_echo` (the `LengthDelimitedCodec`
//! baseline): one task per connection on a current-thread runtime, every frame already
//! decoded fed to the sink before one flush. Only the codec differs, so the two compare
//! the codecs. PING is answered with PONG, like every sockframe echo.
//!
//! `cargo run --release -p sockframe-std --example bench_codec_echo -- --bind 127.0.0.1:0`
//! prints `bench_codec_echo: listening on ADDR` on stderr once bound; talk to it with
//! `sockframe bench ADDR`. Used by `cargo xtask bench-apps`.

mod bench_support;

use clap::Parser;
use futures_util::{FutureExt, SinkExt, StreamExt};
use sockframe::Kind;
use sockframe_std::codec::{BytesFrame, CodecError, FrameCodec};
use std::net::SocketAddr;
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

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

fn reply(mut frame: BytesFrame) -> BytesFrame {
    if frame.head.kind == Kind::PING {
        frame.head.kind = Kind::PONG;
    }
    frame
}

/// Echoes frames until the peer closes; a framing error is answered with its error frame.
async fn echo(stream: TcpStream) -> Result<(), CodecError> {
    stream.set_nodelay(true)?;
    let mut framed = Framed::new(stream, FrameCodec::new());
    while let Some(frame) = framed.next().await {
        let frame = match frame {
            Ok(frame) => frame,
            Err(e) => {
                if let Some(r) = e.reply() {
                    framed.send(r).await?;
                }
                return Err(e);
            }
        };
        framed.feed(reply(frame)).await?;
        // Answer whatever else is complete (or readable right now) before writing.
        while let Some(Some(frame)) = framed.next().now_or_never() {
            framed.feed(reply(frame?)).await?;
        }
        SinkExt::<BytesFrame>::flush(&mut framed).await?;
    }
    Ok(())
}
