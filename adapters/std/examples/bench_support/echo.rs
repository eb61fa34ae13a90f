//! The two echo loops the codec benchmark compares, over any byte stream (a `TcpStream` in
//! the servers, an in-memory stream in `bench_codec_mem`): the same shape, the competent
//! tokio-util echo. Each answers every frame already decoded (or readable right now) with
//! `feed`, then flushes once, so pipelined requests leave in few writes (the usual `send` per
//! frame would flush each).

use futures_util::{FutureExt, SinkExt, StreamExt};
use sockframe::Kind;
use sockframe_std::codec::{BytesFrame, CodecError, FrameCodec};
use std::io;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::{Framed, LengthDelimitedCodec};

/// Largest payload the `LengthDelimitedCodec` echo takes (the connection is closed beyond it).
pub const MAX_PAYLOAD: usize = 64 << 20;

/// The reply to a sockframe frame: itself, a PING answered with PONG.
fn reply(mut frame: BytesFrame) -> BytesFrame {
    if frame.head.kind == Kind::PING {
        frame.head.kind = Kind::PONG;
    }
    frame
}

/// `Framed<_, FrameCodec>`: echoes frames until the peer closes; a framing error is
/// answered with its error frame.
pub async fn codec_echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> Result<(), CodecError> {
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

/// `Framed<_, LengthDelimitedCodec>` (4-byte big-endian length): echoes frames until the
/// peer closes.
pub async fn tokio_echo<S: AsyncRead + AsyncWrite + Unpin>(stream: S) -> io::Result<()> {
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
