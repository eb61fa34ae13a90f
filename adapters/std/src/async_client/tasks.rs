//! The client's tasks: one writes what requests appended, one reads replies and hands each
//! to the request with its id, one times requests out.

use super::error::AsyncClientError;
use super::shared::{Shared, lock};
use crate::codec::FrameHead;
use embedded_io_adapters::tokio_1::FromTokio;
use sockframe::{Decoder, Event, Kind, io_async};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};

/// Writes the outbox whenever something was appended, one write per burst of requests.
pub(crate) async fn write_loop<W: AsyncWrite + Unpin>(shared: Arc<Shared>, mut w: W) {
    let mut batch = bytes::BytesMut::new();
    loop {
        shared.wake_writer.notified().await;
        loop {
            let closed = {
                let mut out = lock(&shared.out);
                if out.buf.is_empty() {
                    out.closed
                } else {
                    std::mem::swap(&mut out.buf, &mut batch);
                    false
                }
            };
            if batch.is_empty() {
                if closed {
                    let _ = w.shutdown().await;
                    return;
                }
                break;
            }
            shared.drained.notify_waiters();
            // The flush moves what a TLS stream still buffers onto the socket; for TCP it
            // costs nothing.
            let written = match w.write_all(&batch).await {
                Ok(()) => w.flush().await,
                Err(e) => Err(e),
            };
            if let Err(e) = written {
                shared.fail_all(AsyncClientError::ConnectionLost(
                    format!("writing to the server failed: {e}").into(),
                ));
                return;
            }
            batch.clear();
        }
    }
}

/// Times requests out: ticks while requests wait, rests while none does.
pub(crate) async fn sweep_loop(shared: Arc<Shared>) {
    loop {
        shared.idle().await;
        while {
            tokio::time::sleep(super::shared::TICK).await;
            shared.sweep()
        } {}
    }
}

/// What the frame being streamed in (Start .. End) belongs to.
struct Streaming {
    id: u32,
    /// The frame has MORE set: its end is not the end of the reply.
    more: bool,
}

/// Reads replies until the connection ends, then fails every request still waiting.
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    r: R,
    mut dec: Decoder<Vec<u8>>,
) {
    let mut io = FromTokio::new(r);
    let mut streaming: Option<Streaming> = None;
    let error = loop {
        let event = match io_async::read_event(&mut io, &mut dec).await {
            Ok(Some(event)) => event,
            Ok(None) => {
                let n = lock(&shared.pending).map.len();
                break AsyncClientError::ConnectionLost(
                    format!("the server closed the connection with {n} requests in flight").into(),
                );
            }
            Err(sockframe::Error::Io(e)) => {
                break AsyncClientError::ConnectionLost(
                    format!("reading from the server failed: {e}").into(),
                );
            }
            Err(sockframe::Error::Decode(e)) => break AsyncClientError::Protocol(e),
            Err(sockframe::Error::Encode(e)) => break AsyncClientError::Encode(e),
        };
        match event {
            Event::Frame(f) if f.header.kind == Kind::ERROR => {
                let code = f.header.meta("code").unwrap_or("unknown").to_owned();
                let message = String::from_utf8_lossy(f.payload).into_owned();
                if f.header.id == 0 {
                    // About the connection itself (busy, shutdown, a framing error): the
                    // server closes it next.
                    break AsyncClientError::Remote {
                        id: 0,
                        code,
                        message,
                    };
                }
                shared.deliver_error(f.header.id, code, message);
            }
            Event::Frame(f) => {
                let last = !f.header.more();
                let head = FrameHead::from_header(&f.header);
                shared
                    .deliver(f.header.id, Some(head), f.payload, last)
                    .await;
            }
            Event::Start(h) => {
                streaming = Some(Streaming {
                    id: h.id,
                    more: h.more(),
                });
                let head = FrameHead::from_header(&h);
                shared.deliver(h.id, Some(head), &[], false).await;
            }
            Event::Chunk(c) => {
                if let Some(s) = &streaming {
                    shared.deliver(s.id, None, c, false).await;
                }
            }
            Event::End => {
                if let Some(s) = streaming.take() {
                    shared.deliver(s.id, None, &[], !s.more).await;
                }
            }
            // The peer aborted the streamed frame: what arrived of it is void.
            Event::Abort(a) => {
                streaming = None;
                let code = a.header.meta("code").unwrap_or("unknown").to_owned();
                let message = String::from_utf8_lossy(a.payload).into_owned();
                shared.deliver_error(a.header.id, code, message);
            }
        }
    };
    shared.fail_all(error);
}
