//! One accepted connection: the socket, a lazily allocated decoder and output buffer, and
//! the waits (idle timeout, shutdown) every service shares.
//!
//! Memory: an idle connection holds no buffers. The decoder and the output `Vec` are
//! allocated when bytes arrive and dropped again whenever the decoder sits between frames
//! and everything has been written, so 10,000 idle connections cost little more than their
//! sockets and tasks.

use crate::owned::OwnedFrame;
use crate::stats::ServerStats;
use crate::wire::push_error;
use embedded_io_adapters::tokio_1::FromTokio;
use sockframe::{Decoder, Event, Limits, io_async};
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::watch;

/// Settings every connection of a server shares, and its pool of receive buffers.
#[derive(Debug)]
pub(crate) struct Shared {
    pub limits: Limits,
    pub buffer_size: usize,
    pub idle_timeout: Option<Duration>,
    /// Buffers given back by connections that went idle. Reusing them spares a zeroed
    /// allocation per burst of traffic; the pool keeps at most [`POOL_KEEP`].
    pub pool: Mutex<Vec<Box<[u8]>>>,
    pub stats: Arc<ServerStats>,
}

impl Shared {
    pub fn new(
        limits: Limits,
        buffer_size: usize,
        idle_timeout: Option<Duration>,
        stats: Arc<ServerStats>,
    ) -> Shared {
        Shared {
            limits,
            buffer_size,
            idle_timeout,
            pool: Mutex::new(Vec::new()),
            stats,
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

/// What [`Conn::fill`] found.
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
}

/// How a connection ends, decided by a service.
pub(crate) enum Close {
    /// Quietly (peer closed, or a reply already said why).
    Quiet,
    /// With an error frame naming why.
    Error {
        id: u32,
        code: &'static str,
        message: String,
    },
}

impl Close {
    pub fn error(id: u32, code: &'static str, message: impl fmt::Display) -> Close {
        Close::Error {
            id,
            code,
            message: message.to_string(),
        }
    }
}

/// Output buffered beyond this is written before more frames are handled, bounding the
/// memory one pipelining peer can make the server hold.
pub(crate) const FLUSH_AT: usize = 64 * 1024;

pub(crate) struct Conn {
    pub io: FromTokio<TcpStream>,
    pub dec: Option<Decoder<PoolBuf>>,
    pub out: Vec<u8>,
    pub peer: SocketAddr,
    pub shared: Arc<Shared>,
    pub shutdown: watch::Receiver<bool>,
}

impl Conn {
    pub fn new(
        stream: TcpStream,
        peer: SocketAddr,
        shared: Arc<Shared>,
        shutdown: watch::Receiver<bool>,
    ) -> Conn {
        Conn {
            io: FromTokio::new(stream),
            dec: None,
            out: Vec::new(),
            peer,
            shared,
            shutdown,
        }
    }

    /// The decoder, allocated on first use.
    pub fn decoder(&mut self) -> &mut Decoder<PoolBuf> {
        let shared = &self.shared;
        self.dec.get_or_insert_with(|| new_decoder(shared))
    }

    /// Whether the connection sits between frames with nothing buffered either way.
    pub fn between_frames(&self) -> bool {
        self.dec.as_ref().is_none_or(|d| d.is_idle()) && self.out.is_empty()
    }

    /// Whether a frame is partly received (the decoder holds or awaits part of it).
    pub fn mid_frame(&self) -> bool {
        self.dec.as_ref().is_some_and(|d| !d.is_idle())
    }

    /// One read without waiting: `Ok(None)` if nothing has arrived.
    pub fn try_fill(&mut self) -> io::Result<Option<Input>> {
        let shared = &self.shared;
        let dec = self.dec.get_or_insert_with(|| new_decoder(shared));
        match self.io.inner().try_read(dec.read_buf()) {
            Ok(0) => {
                self.shared.stats.count_read();
                Ok(Some(Input::Eof))
            }
            Ok(n) => {
                dec.commit(n);
                self.shared.stats.count_read();
                Ok(Some(Input::Data))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits for bytes and reads them into the decoder (one read).
    ///
    /// Between frames it first waits for readability without holding any buffer, and gives
    /// way to a shutdown; inside a frame it keeps reading so the frame can finish.
    pub async fn fill(&mut self) -> io::Result<Input> {
        if self.between_frames() {
            return self.fill_between_frames().await;
        }
        let idle = self.shared.idle_timeout;
        self.decoder();
        let Some(dec) = self.dec.as_mut() else {
            return Ok(Input::Eof);
        };
        let buf = dec.read_buf();
        let read = embedded_io_async::Read::read(&mut self.io, buf);
        let n = match idle {
            Some(t) => match tokio::time::timeout(t, read).await {
                Ok(r) => r?,
                Err(_) => return Ok(Input::Idle),
            },
            None => read.await?,
        };
        self.shared.stats.count_read();
        if n == 0 {
            return Ok(Input::Eof);
        }
        // `self.dec` was just filled by `decoder()`.
        if let Some(dec) = self.dec.as_mut() {
            dec.commit(n);
        }
        Ok(Input::Data)
    }

    /// [`Conn::fill`] between frames: waits for readability holding no buffer, and only
    /// then reads, straight into a freshly allocated decoder.
    async fn fill_between_frames(&mut self) -> io::Result<Input> {
        // Nothing partial: give the buffers back while we wait.
        self.dec = None;
        self.out = Vec::new();
        let idle = sleep_opt(self.shared.idle_timeout);
        tokio::pin!(idle);
        loop {
            let stream = self.io.inner();
            let shutdown = &mut self.shutdown;
            // Biased: bytes already waiting are served before a shutdown is noticed, so a
            // frame in flight at Ctrl-C is finished rather than cut.
            tokio::select! {
                biased;
                r = stream.readable() => r?,
                _ = shutdown.wait_for(|stop| *stop) => return Ok(Input::Shutdown),
                _ = &mut idle => return Ok(Input::Idle),
            }
            let shared = &self.shared;
            let dec = self.dec.get_or_insert_with(|| new_decoder(shared));
            let read = read_ready(self.io.inner_mut(), dec.read_buf()).await;
            if matches!(read, Some(Ok(_))) {
                self.shared.stats.count_read();
            }
            match read {
                Some(Ok(0)) => return Ok(Input::Eof),
                Some(Ok(n)) => {
                    dec.commit(n);
                    return Ok(Input::Data);
                }
                // Readiness can be stale (tokio reports a fresh socket readable at once):
                // give the buffer back and wait again, or every idle connection would
                // keep one.
                None => self.dec = None,
                Some(Err(e)) => return Err(e),
            }
        }
    }

    /// The next request of a service whose requests are small (chat, exec), copied out of the
    /// decoder so the connection is free to write while it is handled. `Ok(None)` at a clean
    /// end; a request too large for the buffer ends the connection with `bad-request`.
    pub async fn read_request(&mut self) -> Result<Option<OwnedFrame>, Close> {
        loop {
            match self.read_event().await? {
                None => return Ok(None),
                Some(Event::Frame(f)) => return Ok(Some(OwnedFrame::new(&f.header, f.payload))),
                Some(Event::Start(h)) => {
                    return Err(Close::error(
                        h.id,
                        "bad-request",
                        "request larger than the server buffer",
                    ));
                }
                // Chunks and ends only follow a Start, which ended the connection above.
                Some(_) => {}
            }
        }
    }

    /// The next event, reading as needed. `Ok(None)` at a clean end of stream;
    /// `Err(close)` when the connection must end (idle, shutdown, I/O or framing error).
    ///
    /// Between frames it first waits holding no buffer ([`Conn::fill`]); then the core's
    /// async path, [`io_async::read_event`], takes over. That function is cancel-safe, so
    /// the idle timeout may drop it mid-frame without losing bytes.
    pub async fn read_event(&mut self) -> Result<Option<Event<'_>>, Close> {
        if self.between_frames() {
            match self.fill_between_frames().await {
                Ok(Input::Data) => {}
                Ok(Input::Eof) => return Ok(None),
                Ok(Input::Idle) => return Err(idle_close()),
                Ok(Input::Shutdown) => return Err(shutdown_close()),
                Err(e) => {
                    tracing::debug!(peer = %self.peer, "read failed: {e}");
                    return Err(Close::Quiet);
                }
            }
        }
        let (peer, idle, stats) = (
            self.peer,
            self.shared.idle_timeout,
            self.shared.stats.clone(),
        );
        let shared = &self.shared;
        let dec = self.dec.get_or_insert_with(|| new_decoder(shared));
        let read = io_async::read_event(&mut self.io, dec);
        let result = match idle {
            Some(t) => match tokio::time::timeout(t, read).await {
                Ok(r) => r,
                Err(_) => return Err(idle_close()),
            },
            None => read.await,
        };
        match result {
            Ok(ev) => {
                if matches!(ev, Some(Event::Frame(_) | Event::End)) {
                    stats.count_frame();
                }
                Ok(ev)
            }
            Err(sockframe::Error::Decode(e)) => Err(Close::error(0, e.code(), e)),
            Err(sockframe::Error::Io(e)) => {
                tracing::debug!(%peer, "read failed: {e}");
                Err(Close::Quiet)
            }
            Err(sockframe::Error::Encode(e)) => Err(Close::error(0, "internal", e)),
        }
    }

    /// Writes everything in `out` with one `write_all`, bounded by the idle timeout (a
    /// peer that stops reading must not pin the connection forever).
    pub async fn flush(&mut self) -> io::Result<()> {
        if self.out.is_empty() {
            return Ok(());
        }
        let write = embedded_io_async::Write::write_all(&mut self.io, &self.out);
        match self.shared.idle_timeout {
            Some(t) => tokio::time::timeout(t, write)
                .await
                .map_err(|_| io::Error::new(io::ErrorKind::TimedOut, "peer stopped reading"))??,
            None => write.await?,
        }
        self.out.clear();
        self.shared.stats.count_write();
        Ok(())
    }

    /// Ends the connection as `close` says.
    pub async fn close(mut self, close: Close) {
        match close {
            Close::Quiet => {
                let _ = self.flush().await;
                let _ = self.io.inner_mut().shutdown().await;
            }
            Close::Error { id, code, message } => {
                tracing::info!(peer = %self.peer, code, "closing: {message}");
                push_error(&mut self.out, id, code, &message);
                let _ = self.flush().await;
                linger(self.io.into_inner()).await;
            }
        }
    }
}

/// One read if bytes are waiting, `None` (without waiting) if not.
///
/// Unlike `TcpStream::try_read`, this goes through tokio's `poll_read`, which also marks
/// the socket not-ready after a read that did not fill `buf` (the socket is drained; new
/// bytes bring a new readiness event). With `try_read` the readiness stays set, and the
/// next wait for bytes costs one more `recvfrom` that only says "would block": one extra
/// system call per ping-pong message.
async fn read_ready(stream: &mut TcpStream, buf: &mut [u8]) -> Option<io::Result<usize>> {
    use std::pin::Pin;
    use std::task::Poll;
    use tokio::io::{AsyncRead, ReadBuf};
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
pub(crate) async fn linger(mut stream: TcpStream) {
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
pub(crate) async fn client_gone(stream: &tokio::net::TcpStream) {
    let mut probe = [0u8; 1];
    match stream.peek(&mut probe).await {
        Ok(0) | Err(_) => {}
        Ok(_) => std::future::pending().await,
    }
}

/// Sleeps for `d`, or forever when there is no timeout.
pub(crate) async fn sleep_opt(d: Option<Duration>) {
    match d {
        Some(d) => tokio::time::sleep(d).await,
        None => std::future::pending().await,
    }
}
