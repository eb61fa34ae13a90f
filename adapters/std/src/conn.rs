//! One accepted connection: the stream, a lazily allocated decoder and output buffer, and
//! the waits every service shares (idle, frame and write deadlines, shutdown).
//!
//! Memory: an idle connection holds no buffers. The decoder and the output `Vec` are
//! allocated when bytes arrive and dropped again whenever the decoder sits between frames
//! and everything has been written, so 10,000 idle connections cost little more than their
//! sockets and tasks.

use crate::stats::ServerStats;
use crate::transport::Transport;
use crate::watchdog::{Expired, Timer, Watchdog, millis};
use crate::wire::push_error;
use embedded_io_adapters::tokio_1::FromTokio;
use sockframe::{Decoder, Limits};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Settings every connection of a server shares, its pool of receive buffers, and the
/// watchdog that enforces its timeouts.
#[derive(Debug)]
pub(crate) struct Shared {
    pub limits: Limits,
    pub buffer_size: usize,
    pub timeouts: Timeouts,
    /// Buffers given back by connections that went idle. Reusing them spares a zeroed
    /// allocation per burst of traffic; the pool keeps at most [`POOL_KEEP`].
    pub pool: Mutex<Vec<Box<[u8]>>>,
    pub stats: Arc<ServerStats>,
    pub watchdog: Arc<Watchdog>,
}

/// The deadlines a connection is held to (see [`ServerConfig`](crate::ServerConfig)).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timeouts {
    /// Between frames (and between reads inside one): no bytes for this long.
    pub idle: Option<Duration>,
    /// A frame in progress: this long, plus one second per `min_rate` bytes received.
    pub frame: Option<Duration>,
    /// Bytes per second a frame in progress must average after `frame`.
    pub min_rate: u64,
    /// A write that cannot finish (the peer is not reading) for this long.
    pub write: Option<Duration>,
}

impl Timeouts {
    /// The shortest configured timeout (how finely the watchdog must tick).
    fn shortest(&self) -> Option<Duration> {
        [self.idle, self.frame, self.write]
            .into_iter()
            .flatten()
            .min()
    }
}

impl Shared {
    pub fn new(
        limits: Limits,
        buffer_size: usize,
        timeouts: Timeouts,
        stats: Arc<ServerStats>,
    ) -> Shared {
        Shared {
            limits,
            buffer_size,
            timeouts,
            pool: Mutex::new(Vec::new()),
            stats,
            watchdog: Watchdog::start(timeouts.shortest()),
        }
    }
}

/// Free buffers a server keeps for reuse (memory bound: this times the buffer size).
const POOL_KEEP: usize = 64;

/// A receive buffer that goes back to its server's pool when the decoder owning it is
/// dropped (the core decoder does not give its buffer back, so the buffer returns itself).
pub(crate) struct PoolBuf {
    buf: Box<[u8]>,
    shared: Arc<Shared>,
}

impl PoolBuf {
    fn take(shared: &Arc<Shared>) -> PoolBuf {
        shared.stats.buffer_taken();
        let recycled = shared.pool.lock().ok().and_then(|mut p| p.pop());
        PoolBuf {
            buf: recycled.unwrap_or_else(|| vec![0u8; shared.buffer_size].into_boxed_slice()),
            shared: shared.clone(),
        }
    }
}

impl AsRef<[u8]> for PoolBuf {
    fn as_ref(&self) -> &[u8] {
        &self.buf
    }
}

impl AsMut<[u8]> for PoolBuf {
    fn as_mut(&mut self) -> &mut [u8] {
        &mut self.buf
    }
}

impl Drop for PoolBuf {
    fn drop(&mut self) {
        self.shared.stats.buffer_returned();
        if let Ok(mut pool) = self.shared.pool.lock()
            && pool.len() < POOL_KEEP
        {
            pool.push(std::mem::take(&mut self.buf));
        }
    }
}

/// What [`Connection::fill`] found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Input {
    /// Bytes were added to the decoder.
    Data,
    /// The peer closed its side.
    Eof,
    /// Nothing arrived within the idle timeout.
    Idle,
    /// The server is shutting down and this connection sits between frames.
    Shutdown,
    /// The frame in progress ran past its deadline (the frame timeout and minimum rate).
    FrameTimeout,
}

/// How a connection ends: what a [`Service`](crate::Service) returns (its `Err`), and
/// what every [`Connection`] method that can end the connection gives back, for `?`.
#[derive(Debug)]
pub enum Close {
    /// Quietly: the peer closed, the connection failed, or a reply already said why.
    Quiet,
    /// With an error frame ([`Kind::ERROR`](sockframe::Kind::ERROR): metadata `code`,
    /// payload `message`) for the request `id` (0: the connection as a whole).
    Error {
        /// The request the error answers, 0 for none.
        id: u32,
        /// A short machine-readable name (`bad-request`, `unauthorized`, ...).
        code: &'static str,
        /// What happened, with its numbers.
        message: String,
    },
    /// With the error frame for the peer's framing error: its code, its numbers as metadata
    /// and its message (spec, section 7.4).
    Decode(sockframe::DecodeError),
}

impl Close {
    /// Ends with an error frame for request `id`.
    pub fn error(id: u32, code: &'static str, message: impl fmt::Display) -> Close {
        Close::Error {
            id,
            code,
            message: message.to_string(),
        }
    }
}

/// A failed read or write ends the connection quietly: the peer is gone or not reading, so
/// it would not see an error frame.
impl From<io::Error> for Close {
    fn from(e: io::Error) -> Close {
        tracing::debug!("connection failed: {e}");
        Close::Quiet
    }
}

/// Output buffered beyond this is written before more frames are handled, bounding the
/// memory one pipelining peer can make the server hold: a connection stops reading while
/// this much of its replies waits to be written, so a peer that sends but never reads
/// holds at most this plus one receive buffer, until the write timeout closes it.
pub(crate) const FLUSH_AT: usize = 64 * 1024;

/// The connection's stream, counting the bytes read (the frame deadline's progress).
pub(crate) struct ConnIo<S> {
    io: FromTokio<S>,
    read_total: u64,
}

impl<S> ConnIo<S> {
    pub fn inner_mut(&mut self) -> &mut S {
        self.io.inner_mut()
    }
}

impl<S: Transport> embedded_io_async::ErrorType for ConnIo<S> {
    type Error = io::Error;
}

impl<S: Transport> embedded_io_async::Read for ConnIo<S> {
    async fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = embedded_io_async::Read::read(&mut self.io, buf).await?;
        self.read_total += n as u64;
        Ok(n)
    }
}

impl<S: Transport> embedded_io_async::Write for ConnIo<S> {
    async fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        embedded_io_async::Write::write(&mut self.io, buf).await
    }

    async fn flush(&mut self) -> io::Result<()> {
        embedded_io_async::Write::flush(&mut self.io).await
    }
}

/// Where the frame in progress began: when, and how many bytes had been read before it.
#[derive(Debug, Clone, Copy)]
struct FrameStart {
    at_ms: u64,
    read_before: u64,
}

/// Which deadline a read was armed with, to say which one passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadWait {
    Idle,
    Frame,
}

/// One accepted connection as a [`Service`](crate::Service) sees it: frames in (borrowed
/// or owned, large ones as chunks), replies out, with the server's limits, deadlines,
/// shutdown, buffer pool and counters applied underneath. See [`Service`](crate::Service)
/// for the methods a service calls.
pub struct Connection<S: Transport = TcpStream> {
    pub(crate) io: ConnIo<S>,
    pub(crate) dec: Option<Decoder<PoolBuf>>,
    pub(crate) out: Vec<u8>,
    pub(crate) peer: SocketAddr,
    pub(crate) shared: Arc<Shared>,
    pub(crate) shutdown: watch::Receiver<bool>,
    timer: Timer,
    frame: Option<FrameStart>,
    /// A write ran past the write timeout: the peer is not reading, close without writing.
    stalled: bool,
    /// The peer closed its side (seen by a read that did not wait).
    pub(crate) eof: bool,
}

impl<S: Transport> Connection<S> {
    pub(crate) fn new(
        stream: S,
        peer: SocketAddr,
        shared: Arc<Shared>,
        shutdown: watch::Receiver<bool>,
    ) -> Connection<S> {
        Connection {
            io: ConnIo {
                io: FromTokio::new(stream),
                read_total: 0,
            },
            dec: None,
            out: Vec::new(),
            peer,
            timer: shared.watchdog.timer(),
            shared,
            shutdown,
            frame: None,
            stalled: false,
            eof: false,
        }
    }

    /// Whether the connection sits between frames with nothing buffered either way.
    pub(crate) fn between_frames(&self) -> bool {
        self.dec.as_ref().is_none_or(|d| d.is_idle()) && self.out.is_empty()
    }

    /// One read without waiting: `Ok(None)` if nothing has arrived.
    pub(crate) async fn try_fill(&mut self) -> io::Result<Option<Input>> {
        let shared = &self.shared;
        let dec = self.dec.get_or_insert_with(|| new_decoder(shared));
        let n = match read_ready(self.io.inner_mut(), dec.read_buf()).await {
            None => return Ok(None),
            Some(r) => r?,
        };
        self.shared.stats.count_read();
        self.io.read_total += n as u64;
        if n == 0 {
            return Ok(Some(Input::Eof));
        }
        dec.commit(n);
        Ok(Some(Input::Data))
    }

    /// Waits for bytes and reads them into the decoder (one read).
    ///
    /// Between frames it first waits for readability without holding any buffer, and gives
    /// way to a shutdown; inside a frame it keeps reading so the frame can finish, held to
    /// the idle and frame deadlines.
    pub(crate) async fn fill(&mut self) -> io::Result<Input> {
        if self.between_frames() {
            return self.fill_between_frames().await;
        }
        let wait = self.arm_read();
        let shared = &self.shared;
        let dec = self.dec.get_or_insert_with(|| new_decoder(shared));
        let read = embedded_io_async::Read::read(&mut self.io, dec.read_buf());
        let n = match self.timer.within(read).await {
            Ok(r) => r?,
            Err(Expired) => return Ok(self.expired(wait)),
        };
        self.shared.stats.count_read();
        if n == 0 {
            return Ok(Input::Eof);
        }
        // `self.dec` was filled above.
        if let Some(dec) = self.dec.as_mut() {
            dec.commit(n);
        }
        Ok(Input::Data)
    }

    /// [`Connection::fill`] between frames: waits for readability holding no buffer, and only
    /// then reads, straight into a freshly allocated decoder.
    async fn fill_between_frames(&mut self) -> io::Result<Input> {
        // Nothing partial: give the buffers back while we wait.
        self.dec = None;
        self.out = Vec::new();
        self.frame = None;
        self.timer.arm(self.shared.timeouts.idle);
        loop {
            let stream = self.io.inner_mut();
            let shutdown = &mut self.shutdown;
            let ready = std::future::poll_fn(|cx| stream.poll_read_ready(cx));
            // Biased: bytes already waiting are served before a shutdown is noticed, so a
            // frame in flight at Ctrl-C is finished rather than cut.
            let waited = self
                .timer
                .within(async {
                    tokio::select! {
                        biased;
                        r = ready => r.map(|()| true),
                        _ = shutdown.wait_for(|stop| *stop) => Ok(false),
                    }
                })
                .await;
            match waited {
                Ok(Ok(true)) => {}
                Ok(Ok(false)) => return Ok(Input::Shutdown),
                Ok(Err(e)) => return Err(e),
                Err(Expired) => return Ok(Input::Idle),
            }
            let read_before = self.io.read_total;
            match self.try_fill().await? {
                Some(input) => {
                    self.frame = Some(FrameStart {
                        at_ms: self.timer.now_ms(),
                        read_before,
                    });
                    return Ok(input);
                }
                // Readiness can be stale (tokio reports a fresh socket readable at once):
                // give the buffer back and wait again, or every idle connection would
                // keep one.
                None => self.dec = None,
            }
        }
    }

    /// Arms the timer for a read inside a frame: the idle deadline or the frame's,
    /// whichever comes first.
    fn arm_read(&mut self) -> ReadWait {
        let t = self.shared.timeouts;
        let now = self.timer.now_ms();
        let idle = t.idle.map(|d| now.saturating_add(millis(d)));
        let frame = self.frame_deadline();
        let (at, wait) = match (idle, frame) {
            (Some(i), Some(f)) if f < i => (Some(f), ReadWait::Frame),
            (None, Some(f)) => (Some(f), ReadWait::Frame),
            (i, _) => (i, ReadWait::Idle),
        };
        match at {
            Some(at) => self.timer.arm_at(at),
            None => self.timer.disarm(),
        }
        wait
    }

    /// When the frame in progress runs out of time: its start, plus the frame timeout,
    /// plus one second for every `min_rate` bytes received since.
    fn frame_deadline(&self) -> Option<u64> {
        let t = self.shared.timeouts;
        let grace = millis(t.frame?);
        let start = self.frame?;
        let earned = match t.min_rate {
            0 => 0,
            rate => (self.io.read_total - start.read_before).saturating_mul(1000) / rate,
        };
        Some(start.at_ms.saturating_add(grace).saturating_add(earned))
    }

    /// What an expired read means.
    fn expired(&self, wait: ReadWait) -> Input {
        match wait {
            ReadWait::Idle => Input::Idle,
            ReadWait::Frame => Input::FrameTimeout,
        }
    }

    /// The way a connection ends for an [`Input`] other than data or end of stream.
    pub(crate) fn input_close(&self, input: Input) -> Close {
        match input {
            Input::Idle => idle_close(),
            Input::Shutdown => shutdown_close(),
            Input::FrameTimeout => frame_timeout_close(
                self.shared.timeouts,
                self.frame,
                self.timer.now_ms(),
                self.io.read_total,
            ),
            Input::Data | Input::Eof => Close::Quiet,
        }
    }

    /// Writes every queued reply with one `write_all`, held to the server's write timeout
    /// (a peer that stops reading must not pin the connection, or its replies the server's
    /// memory). An error means the connection is lost: return it (`?` makes it a quiet
    /// [`Close`]).
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        if self.stalled {
            return Err(stalled_error());
        }
        self.timer.arm(self.shared.timeouts.write);
        let io = &mut self.io;
        let out = &self.out;
        // The flush moves what a TLS stream still buffers onto the socket (its write may
        // take the bytes and hold part of them back when the socket is full); for TCP it
        // costs nothing.
        let write = async move {
            embedded_io_async::Write::write_all(io, out).await?;
            embedded_io_async::Write::flush(io).await
        };
        match self.timer.within(write).await {
            Ok(r) => r?,
            Err(Expired) => {
                self.stalled = true;
                tracing::info!(peer = %self.peer, unsent = self.out.len(), "peer stopped reading: closing");
                return Err(stalled_error());
            }
        }
        self.out.clear();
        self.shared.stats.count_write();
        Ok(())
    }

    /// Ends the connection as `close` says.
    pub(crate) async fn close(mut self, close: Close) {
        self.timer.disarm();
        if self.stalled {
            // The peer is not reading: nothing more can be delivered, free it now.
            self.io.io.into_inner().abort();
            return;
        }
        match close {
            Close::Quiet => {
                let _ = self.flush().await;
                let _ = self.io.inner_mut().shutdown().await;
            }
            Close::Error { id, code, message } => {
                tracing::info!(peer = %self.peer, code, "closing: {message}");
                push_error(&mut self.out, id, code, &message);
                self.send_error_and_linger().await;
            }
            Close::Decode(e) => {
                tracing::info!(peer = %self.peer, code = e.code(), "closing: {e}");
                let mut frame = [0u8; sockframe::ERROR_FRAME_MAX];
                // ERROR_FRAME_MAX holds any decode error's frame.
                if let Ok(n) = sockframe::encode_decode_error(0, &e, &mut frame) {
                    self.out.extend_from_slice(&frame[..n]);
                }
                self.send_error_and_linger().await;
            }
        }
    }

    /// Writes what is queued (an error frame last), then lingers so it is not lost to a
    /// reset.
    async fn send_error_and_linger(mut self) {
        if self.flush().await.is_ok() {
            linger(self.io.io.into_inner()).await;
        } else if self.stalled {
            self.io.io.into_inner().abort();
        }
    }
}

/// The error a write that ran past the write timeout ends with.
fn stalled_error() -> io::Error {
    io::Error::new(io::ErrorKind::TimedOut, "peer stopped reading")
}

/// One read if bytes are waiting, `None` (without waiting) if not.
///
/// Unlike a `try_read`, this goes through tokio's `poll_read`, which also marks the socket
/// not-ready after a read that did not fill `buf` (the socket is drained; new bytes bring a
/// new readiness event). With `try_read` the readiness stays set, and the next wait for
/// bytes costs one more `recvfrom` that only says "would block": one extra system call per
/// ping-pong message.
async fn read_ready<S: AsyncRead + Unpin>(
    stream: &mut S,
    buf: &mut [u8],
) -> Option<io::Result<usize>> {
    use std::pin::Pin;
    use std::task::Poll;
    use tokio::io::ReadBuf;
    std::future::poll_fn(|cx| {
        let mut rb = ReadBuf::new(buf);
        match Pin::new(&mut *stream).poll_read(cx, &mut rb) {
            Poll::Ready(r) => Poll::Ready(Some(r.map(|()| rb.filled().len()))),
            Poll::Pending => Poll::Ready(None),
        }
    })
    .await
}

/// A decoder with the server's buffer size and limits.
fn new_decoder(shared: &Arc<Shared>) -> Decoder<PoolBuf> {
    Decoder::with_limits(PoolBuf::take(shared), shared.limits)
}

/// The error frame for a frame that ran out of time, with its numbers.
fn frame_timeout_close(
    t: Timeouts,
    frame: Option<FrameStart>,
    now_ms: u64,
    read_total: u64,
) -> Close {
    let (elapsed, got) = match frame {
        Some(f) => (now_ms.saturating_sub(f.at_ms), read_total - f.read_before),
        None => (0, 0),
    };
    Close::error(
        0,
        "frame-timeout",
        format_args!(
            "frame incomplete after {:.1} s with {got} bytes received; a frame may take {} s plus 1 s per {} bytes",
            elapsed as f64 / 1000.0,
            t.frame.map_or(0, |d| d.as_secs()),
            t.min_rate,
        ),
    )
}

/// The error an idle connection is closed with.
pub(crate) fn idle_close() -> Close {
    Close::error(0, "idle-timeout", "connection idle for too long")
}

/// The error a connection is closed with when the server stops.
pub(crate) fn shutdown_close() -> Close {
    Close::error(0, "shutdown", "server is shutting down")
}

/// Closes after an error frame without destroying it: half-close, then read and drop what
/// the peer still sends (bounded in time and bytes). Closing with unread input would make
/// the kernel answer with a reset, and a reset can discard the error frame before the peer
/// reads it.
pub(crate) async fn linger<S: AsyncRead + AsyncWrite + Unpin>(mut stream: S) {
    use tokio::io::AsyncReadExt;
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 1024];
    let mut left: usize = 1 << 20;
    let drain = async {
        while left > 0 {
            match stream.read(&mut sink).await {
                Ok(0) | Err(_) => break,
                Ok(n) => left = left.saturating_sub(n),
            }
        }
    };
    let _ = tokio::time::timeout(Duration::from_secs(2), drain).await;
}

/// Completes when the client has closed or reset its side. Bytes it sent meanwhile (a
/// pipelined next request) are only peeked at, left for the request loop.
pub(crate) async fn client_gone<S: Transport>(stream: &mut S) {
    let mut probe = [0u8; 1];
    let mut rb = tokio::io::ReadBuf::new(&mut probe);
    match std::future::poll_fn(|cx| stream.poll_peek(cx, &mut rb)).await {
        Ok(0) | Err(_) => {}
        Ok(_) => std::future::pending().await,
    }
}
