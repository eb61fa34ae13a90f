//! The client's tasks: one writes what requests appended, one reads replies and hands each
//! to the request with its id, one times requests out.

use super::error::AsyncClientError;
use super::shared::{Delivery, Handout, Piece, Shared};
use bytes::{Bytes, BytesMut};
use sockframe::{Decoder, Event, Kind};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::mpsc;

/// Writes the outbox whenever something was appended, one write per burst of requests.
pub(crate) async fn write_loop<W: AsyncWrite + Unpin>(shared: Arc<Shared>, mut w: W) {
    let mut batch = bytes::BytesMut::new();
    loop {
        shared.wake_writer.notified().await;
        loop {
            let closed = {
                let mut st = shared.state();
                if st.out.is_empty() {
                    st.closed.is_some()
                } else {
                    std::mem::swap(&mut st.out, &mut batch);
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

/// The bytes of the last read, shared: payloads that lie within them are handed out as
/// slices of one allocation instead of a copy each.
struct LastRead {
    bytes: Bytes,
    /// Where they sit in the decoder's buffer.
    at: usize,
}

impl LastRead {
    /// `part` (a slice of the decoder's buffer) as `Bytes`: shared if it came in the last
    /// read, else copied. The decoder writes to its buffer only when asked for room to read
    /// into, so the bytes at `at` are still those of the last read.
    fn share(&self, part: &[u8]) -> Bytes {
        let from = (part.as_ptr() as usize).wrapping_sub(self.at);
        if from <= self.bytes.len() && part.len() <= self.bytes.len() - from {
            self.bytes.slice(from..from + part.len())
        } else {
            Bytes::copy_from_slice(part)
        }
    }
}

/// Why the reader stopped handing out replies.
enum Stop {
    /// Everything buffered is handed out: read more.
    Read,
    /// [`BURST`] events handed out: let the callers run, then go on.
    Again,
    /// A piece for a streaming receiver: send it (waiting for room), then go on.
    Stream(mpsc::Sender<Delivery<Piece>>, Piece),
    /// The connection is over.
    Failed(AsyncClientError),
}

/// Reads replies until the connection ends, then fails every request still waiting.
pub(crate) async fn read_loop<R: AsyncRead + Unpin>(
    shared: Arc<Shared>,
    mut r: R,
    mut dec: Decoder<Vec<u8>>,
) {
    let mut streaming: Option<Streaming> = None;
    let mut wakers = Vec::new();
    let mut last = LastRead {
        bytes: Bytes::new(),
        at: 0,
    };
    // Where the reads are copied to: its memory is reused once every reply shared from
    // it is dropped (no allocation per read in the steady state).
    let mut store = BytesMut::new();
    let error = loop {
        let stop = hand_out(&shared, &mut dec, &last, &mut streaming, &mut wakers);
        for w in wakers.drain(..) {
            w.wake();
        }
        match stop {
            Stop::Read => {}
            Stop::Again => {
                // The callers just woken run (and send their next requests) before the rest
                // of the read is handed out: on a current-thread runtime they otherwise wait
                // until the whole read is, and the connection idles while they do.
                tokio::task::yield_now().await;
                continue;
            }
            Stop::Stream(tx, piece) => {
                // A receiver that is gone was cancelled: the rest of its reply is dropped.
                let _ = tx.send(Ok(piece)).await;
                continue;
            }
            Stop::Failed(e) => break e,
        }
        let room = dec.read_buf();
        let n = match r.read(room).await {
            Ok(0) => {
                if let Err(e) = dec.finish() {
                    break AsyncClientError::Protocol(e);
                }
                let n = shared.in_flight();
                break AsyncClientError::ConnectionLost(
                    format!("the server closed the connection with {n} requests in flight").into(),
                );
            }
            Ok(n) => n,
            Err(e) => {
                break AsyncClientError::ConnectionLost(
                    format!("reading from the server failed: {e}").into(),
                );
            }
        };
        store.extend_from_slice(&room[..n]);
        last = LastRead {
            bytes: store.split().freeze(),
            at: room.as_ptr() as usize,
        };
        dec.commit(n);
    };
    shared.fail_all(error);
}

/// Hands the events the decoder has buffered (up to [`BURST`]) to their requests, under one
/// lock.
fn hand_out(
    shared: &Shared,
    dec: &mut Decoder<Vec<u8>>,
    last: &LastRead,
    streaming: &mut Option<Streaming>,
    wakers: &mut Vec<std::task::Waker>,
) -> Stop {
    let mut h = Handout {
        shared,
        st: shared.state(),
        wakers,
    };
    for _ in 0..BURST {
        let event = match dec.next_event() {
            Ok(Some(event)) => event,
            Ok(None) => return Stop::Read,
            Err(e) => return Stop::Failed(AsyncClientError::Protocol(e)),
        };
        let stream = match event {
            Event::Frame(f) if f.header.kind == Kind::ERROR => {
                let code = f.header.meta("code").unwrap_or("unknown").to_owned();
                let message = String::from_utf8_lossy(f.payload).into_owned();
                if f.header.id == 0 {
                    // About the connection itself (busy, shutdown, a framing error): the
                    // server closes it next.
                    return Stop::Failed(AsyncClientError::Remote {
                        id: 0,
                        code,
                        message,
                    });
                }
                h.deliver_error(f.header.id, code, message);
                None
            }
            Event::Frame(f) => {
                let data = last.share(f.payload);
                h.deliver(f.header.id, Some(&f.header), data, !f.header.more())
            }
            Event::Start(head) => {
                *streaming = Some(Streaming {
                    id: head.id,
                    more: head.more(),
                });
                h.deliver(head.id, Some(&head), Bytes::new(), false)
            }
            Event::Chunk(c) => match streaming {
                Some(s) => h.deliver(s.id, None, last.share(c), false),
                None => None,
            },
            Event::End => match streaming.take() {
                Some(s) => h.deliver(s.id, None, Bytes::new(), !s.more),
                None => None,
            },
            // The peer aborted the streamed frame: what arrived of it is void.
            Event::Abort(a) => {
                *streaming = None;
                let code = a.header.meta("code").unwrap_or("unknown").to_owned();
                let message = String::from_utf8_lossy(a.payload).into_owned();
                h.deliver_error(a.header.id, code, message);
                None
            }
        };
        if let Some((tx, piece)) = stream {
            return Stop::Stream(tx, piece);
        }
    }
    Stop::Again
}

/// Most events handed out under one lock: a 64 KiB read of small replies is a thousand of
/// them, and callers on other threads wait for the lock meanwhile.
const BURST: usize = 128;
