//! What a server connection runs on: any tokio byte stream that can also say "bytes are
//! waiting" without taking them, and look at them without consuming them.
//!
//! Two waits need more than `AsyncRead`: an idle connection waits for its next request
//! holding no receive buffer (10,000 idle connections must not hold 10,000 buffers), and
//! exec and chat notice a client that hung up while they are busy, without eating the
//! client's next request. [`TcpStream`] does both natively; [`MemStream`](crate::MemStream)
//! is the in-memory stream used by tests and the fuzz target.

use std::io;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// A byte stream a [`Handler`](crate::Handler) can serve a connection on.
pub trait Transport: AsyncRead + AsyncWrite + Unpin + Send + 'static {
    /// Ready when a read would find bytes or the end of the stream. May be ready
    /// spuriously: the read that follows then returns `Pending`, and the server waits again.
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>>;

    /// Copies waiting bytes into `buf` without consuming them; `Ok(0)` at the end of the
    /// stream.
    fn poll_peek(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>)
    -> Poll<io::Result<usize>>;

    /// Ends the connection at once, discarding what is unsent (TCP: a reset). Used for a
    /// peer that stopped reading, which would never take the rest anyway. The default
    /// just drops the stream.
    fn abort(self)
    where
        Self: Sized,
    {
    }
}

impl Transport for TcpStream {
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TcpStream::poll_read_ready(self, cx)
    }

    fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        TcpStream::poll_peek(self, cx, buf)
    }

    fn abort(self) {
        // SO_LINGER 0: close sends a reset and frees the socket's queued bytes now, rather
        // than keeping them (and retransmitting) for a peer that is not reading.
        let _ = socket2::SockRef::from(&self).set_linger(Some(std::time::Duration::ZERO));
    }
}
