//! Your own services on the [`Server`](crate::Server): the [`Service`] trait, and what a
//! service does with its [`Connection`].
//!
//! A service is a loop over one connection's frames. The server runs one call of
//! [`Service::serve`] per accepted connection, in its own task, and does the rest around
//! it: the listening socket and `max_conns` (newcomers beyond it get a `busy` error
//! frame), the frame size limits and framing errors (an error frame naming the problem,
//! then the connection is closed), the idle, frame and write deadlines, graceful shutdown
//! (a connection between frames is told `shutdown`), the receive buffer pool (an idle
//! connection holds no buffer), the [`ServerStats`](crate::ServerStats) counters and
//! tracing. The four built-in services ([`services`](crate::services)) are written on
//! this same trait.
//!
//! What a service sees, from the simplest to the fastest:
//!
//! - [`Connection::read_request`]: the next frame, owned ([`OwnedFrame`]); a frame larger
//!   than the receive buffer is refused with `bad-request`.
//! - [`Connection::next_event`]: the next [`Event`], borrowed from the receive buffer: a
//!   whole [`Frame`](sockframe::Frame), or for a frame larger than the buffer its head
//!   ([`Event::Start`]), its payload as [`Event::Chunk`]s and [`Event::End`]. Nothing more
//!   is read from the socket until the service asks for the next event, so a slow
//!   consumer slows the sender down (TCP flow control), rather than filling memory.
//! - [`Connection::buffered_event`] with [`Connection::read_more`] /
//!   [`Connection::try_read_more`]: the events already read, without waiting, so a burst of
//!   pipelined requests is answered with one write (this is how the echo service runs).
//!   The fastest form: every `next_event` call carries the future of the wait for input
//!   (large: deadlines, shutdown), also when an event is already at hand; measured with
//!   pipelined 64-byte echoes, that costs about 480 instructions more per frame (1,500
//!   instead of 1,020; docs/benchmarks.md). Replies are batched the same either way.
//!
//! Replies go into the connection's output through [`Replies`] (also handed out with each
//! borrowed event, as the event borrows the connection) and leave with
//! [`Connection::flush`]; queued replies are also flushed before the connection waits for
//! more input. A large reply can be streamed: its head with [`Replies::head`], then its
//! payload in pieces with [`Connection::write_body`], each written as the peer takes it.
//!
//! ```
//! use sockframe::{Event, Header, Kind};
//! use sockframe_std::{Close, Connection, Server, ServerConfig, Service, Transport};
//!
//! /// Answers kind 100 with the payload upper-cased; refuses everything else.
//! struct Shout;
//!
//! impl Service for Shout {
//!     fn name(&self) -> &str {
//!         "shout"
//!     }
//!
//!     async fn serve<S: Transport>(&self, conn: &mut Connection<S>) -> Result<(), Close> {
//!         while let Some(mut incoming) = conn.next_event().await? {
//!             let Event::Frame(f) = incoming.event else {
//!                 // Larger than the receive buffer: refuse it, skip its payload, go on.
//!                 let id = incoming.header_id();
//!                 incoming.reply.error(id, "bad-request", "request too large");
//!                 conn.skip_payload().await?;
//!                 continue;
//!             };
//!             match f.header.kind {
//!                 Kind(100) => {
//!                     let loud = f.payload.to_ascii_uppercase();
//!                     let _ = incoming.reply.frame(&Header::new(Kind(101), f.header.id, 0), &loud);
//!                 }
//!                 other => incoming.reply.error(
//!                     f.header.id,
//!                     "unsupported",
//!                     format_args!("kind {} is not served here", other.0),
//!                 ),
//!             }
//!         }
//!         Ok(())
//!     }
//! }
//!
//! let cfg = ServerConfig { bind: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() };
//! let server = Server::spawn_thread(cfg, Shout).unwrap();
//! let mut client = sockframe_std::Client::connect(server.local_addr()).unwrap();
//! let reply = client.request_with(&Header::new(Kind(100), 7, 0), b"hi").unwrap();
//! assert_eq!((reply.kind, reply.payload.as_slice()), (Kind(101), &b"HI"[..]));
//! ```

use crate::conn::{Close, Connection, FLUSH_AT, Input, client_gone};
use crate::owned::OwnedFrame;
use crate::server::ServerConfig;
use crate::transport::Transport;
use crate::wire::{push_error, push_frame, push_head};
use sockframe::{EncodeError, Event, Header, Limits};
use std::fmt;
use std::future::Future;
use std::io;
use std::net::SocketAddr;

/// What a server does with each of its connections. Implement it to serve your own frame
/// kinds with everything the [`Server`](crate::Server) does around them (see the
/// [module documentation](crate::service)).
pub trait Service: Send + Sync + 'static {
    /// The service's name, for logs.
    fn name(&self) -> &str;

    /// Called once by [`Server::bind`](crate::Server::bind) (or
    /// [`Handler::new`](crate::Handler::new)) before anything is bound: check that the
    /// service can run with `server`'s settings, settle what it needs. An error stops the
    /// server from starting. The default accepts any settings.
    fn prepare(&mut self, server: &ServerConfig) -> io::Result<()> {
        let _ = server;
        Ok(())
    }

    /// Serves one connection until it ends. `Ok(())` closes it quietly (after writing the
    /// queued replies); `Err(close)` closes it as `close` says, with an error frame if it
    /// carries one. Errors from the connection's own methods are already such a [`Close`]
    /// (`?` returns them): a framing error, a deadline, a shutdown, a lost peer.
    fn serve<S: Transport>(
        &self,
        conn: &mut Connection<S>,
    ) -> impl Future<Output = Result<(), Close>> + Send;
}

/// An event received on a connection, with the connection's replies beside it (the event
/// borrows the connection's receive buffer, so replies to it are queued through here).
pub struct Incoming<'c> {
    /// What arrived.
    pub event: Event<'c>,
    /// The event's bytes exactly as they arrived (see
    /// [`Decoder::next_event_raw`](sockframe::Decoder::next_event_raw)): what a relay or
    /// echo forwards, so header bytes it does not understand pass unchanged.
    pub raw: &'c [u8],
    /// The connection's output, for answering it.
    pub reply: Replies<'c>,
}

impl Incoming<'_> {
    /// The id of the frame this event belongs to, 0 for a [`Event::Chunk`] or
    /// [`Event::End`] (whose id came with its [`Event::Start`]).
    pub fn header_id(&self) -> u32 {
        match &self.event {
            Event::Frame(f) | Event::Abort(f) => f.header.id,
            Event::Start(h) => h.id,
            Event::Chunk(_) | Event::End => 0,
        }
    }
}

impl fmt::Debug for Incoming<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Incoming")
            .field("event", &self.event)
            .field("queued", &self.reply.queued())
            .finish()
    }
}

/// Replies queued on a connection, written by [`Connection::flush`] (or before the
/// connection next waits for input).
#[derive(Debug)]
pub struct Replies<'c> {
    out: &'c mut Vec<u8>,
}

impl Replies<'_> {
    /// Queues a whole frame; `header.len` is set from `payload`. Fails only for a header
    /// the core cannot encode (over its size limit), and then queues nothing.
    pub fn frame(&mut self, header: &Header<'_>, payload: &[u8]) -> Result<(), EncodeError> {
        push_frame(self.out, header, payload)
    }

    /// Queues the head of a frame whose `payload_len`-byte payload follows: as pieces through
    /// [`Replies::body`] or [`Connection::write_body`], exactly `payload_len` bytes in all.
    pub fn head(&mut self, header: &Header<'_>, payload_len: u64) -> Result<(), EncodeError> {
        push_head(self.out, header, payload_len)
    }

    /// Queues payload bytes of the frame begun with [`Replies::head`].
    pub fn body(&mut self, bytes: &[u8]) {
        self.out.extend_from_slice(bytes);
    }

    /// Queues an error frame for request `id`; the connection goes on (to end it with the
    /// error, return [`Close::error`] instead). The message is cut at the core's
    /// [`ERROR_MESSAGE_MAX`](sockframe::ERROR_MESSAGE_MAX) bytes.
    pub fn error(&mut self, id: u32, code: &str, message: impl fmt::Display) {
        push_error(self.out, id, code, &message);
    }

    /// Bytes queued and not yet written.
    pub fn queued(&self) -> usize {
        self.out.len()
    }
}

impl<S: Transport> Connection<S> {
    /// Replies beyond this many queued bytes should be flushed before more input is taken
    /// (what the built-in services do): it bounds the memory a peer that pipelines
    /// requests without reading the replies can make the server hold.
    pub const FLUSH_AT: usize = FLUSH_AT;

    /// The peer's address.
    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    /// The server's frame limits (larger frames never reach the service: the connection
    /// is closed with an error frame naming the limit).
    pub fn limits(&self) -> Limits {
        self.shared.limits
    }

    /// The limits a peer may rely on: [`limits`](Self::limits) with the header limit capped
    /// by the receive buffer. What a limits PONG announces
    /// ([`encode_limits_pong`](sockframe::encode_limits_pong)).
    pub fn accepted_limits(&self) -> Limits {
        let limits = self.shared.limits;
        Limits {
            max_header: limits.max_header.min(
                self.shared
                    .buffer_size
                    .saturating_sub(sockframe::PREFIX_LEN),
            ),
            ..limits
        }
    }

    /// The connection's output, for replies not tied to a borrowed event.
    pub fn replies(&mut self) -> Replies<'_> {
        Replies { out: &mut self.out }
    }

    /// The next event, reading as needed; `Ok(None)` when the peer has closed cleanly
    /// between frames. Queued replies are written first if it has to wait.
    pub async fn next_event(&mut self) -> Result<Option<Incoming<'_>>, Close> {
        loop {
            let ready = match self.dec.as_mut() {
                Some(dec) => dec.poll().map_err(Close::Decode)?,
                None => false,
            };
            if ready {
                break;
            }
            if !self.read_more().await? {
                return Ok(None);
            }
        }
        self.buffered_event()
    }

    /// The next event among the bytes already read, without reading; `Ok(None)` if they
    /// hold no complete event.
    pub fn buffered_event(&mut self) -> Result<Option<Incoming<'_>>, Close> {
        let Some(dec) = self.dec.as_mut() else {
            return Ok(None);
        };
        match dec.next_event_raw() {
            Ok(Some((event, raw))) => {
                if matches!(event, Event::Frame(_) | Event::End) {
                    self.shared.stats.count_frame();
                }
                Ok(Some(Incoming {
                    event,
                    raw,
                    reply: Replies { out: &mut self.out },
                }))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(Close::Decode(e)),
        }
    }

    /// Waits for bytes and reads them (one read); `Ok(false)` once the peer has closed
    /// cleanly between frames. Call it when [`Connection::buffered_event`] has nothing.
    ///
    /// Queued replies are written before it waits (inside a frame, what has already arrived
    /// is taken first, so that they leave in fewer writes). Between frames the wait holds no receive buffer
    /// and gives way to a server shutdown; inside a frame it is held to the idle and
    /// frame deadlines. A peer that closes mid-frame, goes silent, or breaks the framing
    /// gets the error frame that says so (the `Err`).
    pub async fn read_more(&mut self) -> Result<bool, Close> {
        // Mid-frame with room left in the output: take what has already arrived before
        // writing, so the replies to a large frame leave in a few large writes rather than
        // one per read. (Between frames the peer may be waiting for them: write first.)
        if !self.out.is_empty()
            && self.out.len() < FLUSH_AT
            && self.mid_frame()
            && self.try_read_more().await?
        {
            return Ok(true);
        }
        self.flush().await?;
        if self.eof {
            return self.end_of_stream();
        }
        match self.fill().await {
            Ok(Input::Data) => Ok(true),
            Ok(Input::Eof) => {
                self.eof = true;
                self.end_of_stream()
            }
            Ok(other) => Err(self.input_close(other)),
            Err(e) => Err(e.into()),
        }
    }

    /// Reads the bytes that have already arrived, without waiting and without flushing:
    /// `Ok(false)` if there were none (or the peer has closed, which the next
    /// [`Connection::read_more`] reports).
    pub async fn try_read_more(&mut self) -> Result<bool, Close> {
        if self.eof {
            return Ok(false);
        }
        match self.try_fill().await? {
            Some(Input::Data) => Ok(true),
            Some(Input::Eof) => {
                self.eof = true;
                Ok(false)
            }
            _ => Ok(false),
        }
    }

    /// Whether a frame is partly received (more of it is on its way).
    pub fn mid_frame(&self) -> bool {
        self.dec.as_ref().is_some_and(|d| !d.is_idle())
    }

    /// The next request, owned (copied out of the receive buffer, so the connection is free
    /// to write while it is handled); `Ok(None)` at a clean end. A request larger than the
    /// receive buffer ends the connection with `bad-request`.
    pub async fn read_request(&mut self) -> Result<Option<OwnedFrame>, Close> {
        match self.next_event().await? {
            None => Ok(None),
            Some(Incoming {
                event: Event::Frame(f),
                ..
            }) => Ok(Some(OwnedFrame::new(&f.header, f.payload))),
            Some(Incoming {
                event: Event::Start(h),
                ..
            }) => Err(Close::error(
                h.id,
                "bad-request",
                format_args!(
                    "request of {} bytes is larger than the server's {}-byte buffer",
                    h.len, self.shared.buffer_size
                ),
            )),
            // Chunks and ends only follow a Start, which ended the connection above.
            Some(_) => Err(Close::error(0, "internal", "payload chunk without a head")),
        }
    }

    /// Reads and drops the rest of a streamed payload (after an [`Event::Start`] the service
    /// refused), up to its [`Event::End`]: the connection stays in step with the peer.
    /// Does nothing between frames.
    pub async fn skip_payload(&mut self) -> Result<(), Close> {
        while self.mid_frame() {
            match self.next_event().await? {
                Some(Incoming {
                    event: Event::End, ..
                })
                | None => break,
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Queues `bytes` of a streamed reply's payload (begun with [`Replies::head`]) and
    /// writes the queue once it holds [`Connection::FLUSH_AT`] bytes, waiting for the peer
    /// to take them (held to the write timeout): a body larger than memory goes out at the
    /// pace the peer reads it.
    pub async fn write_body(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.extend_from_slice(bytes);
        if self.out.len() >= FLUSH_AT {
            self.flush().await?;
        }
        Ok(())
    }

    /// Completes when the peer has closed or reset its side. Bytes it sent meanwhile (a
    /// pipelined next request) are only looked at, left for the next read. For a service
    /// busy with something else (running a command, waiting for an operator) that should
    /// stop when nobody is left to answer.
    pub async fn client_gone(&mut self) {
        client_gone(self.io.inner_mut()).await
    }

    /// Completes when the server has been asked to shut down. (Between frames,
    /// [`Connection::read_more`] already ends with a `shutdown` error frame; this is for a
    /// service waiting on something else.)
    pub async fn shutdown_requested(&mut self) {
        let _ = self.shutdown.wait_for(|stop| *stop).await;
    }

    /// The peer closed: fine between frames, a truncation error inside one.
    fn end_of_stream(&mut self) -> Result<bool, Close> {
        match self.dec.as_mut().map_or(Ok(()), |d| d.finish()) {
            Ok(()) => Ok(false),
            Err(e) => Err(Close::Decode(e)),
        }
    }
}

impl<S: Transport> fmt::Debug for Connection<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("peer", &self.peer)
            .field("mid_frame", &self.mid_frame())
            .field("queued", &self.out.len())
            .finish()
    }
}
