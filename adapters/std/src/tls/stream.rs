//! A server connection over TLS, as a [`Transport`]: readiness from rustls' decrypted
//! bytes and the socket, peeking through a small lookahead.
//!
//! The server needs more than `AsyncRead` (see [`Transport`]): an idle connection waits
//! for readiness holding no receive buffer, and exec and chat peek to notice a client that
//! hung up without eating its next request. A TLS socket's raw bytes are records, not
//! plaintext, so neither can be asked of the socket alone:
//! - readiness: plaintext rustls already decrypted (or a close it already saw) is ready at
//!   once; otherwise the socket's readiness. A socket holding only part of a record is
//!   ready spuriously: the read that follows buffers that part and returns `Pending`, which
//!   the contract allows (the server waits again);
//! - peek: the bytes are read (decrypted) into a lookahead that the next read returns
//!   first. Only exec and chat peek, once per busy period, so the lookahead is rarely
//!   allocated at all.

use crate::transport::Transport;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;

/// An accepted TLS connection that a [`Handler`](crate::Handler) can serve.
pub struct TlsTransport {
    inner: TlsStream<TcpStream>,
    /// Plaintext taken by a peek, returned by the next reads.
    lookahead: Vec<u8>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTransport")
            .field("peer", &self.inner.get_ref().0.peer_addr().ok())
            .field("lookahead", &self.lookahead.len())
            .finish()
    }
}

impl TlsTransport {
    /// Wraps a connection whose handshake is done.
    pub fn new(inner: TlsStream<TcpStream>) -> TlsTransport {
        TlsTransport {
            inner,
            lookahead: Vec::new(),
        }
    }

    /// The TLS session (negotiated version, cipher suite, the client's certificates).
    pub fn session(&self) -> &rustls::ServerConnection {
        self.inner.get_ref().1
    }
}

impl AsyncRead for TlsTransport {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if !self.lookahead.is_empty() {
            let n = self.lookahead.len().min(buf.remaining());
            buf.put_slice(&self.lookahead[..n]);
            self.lookahead.drain(..n);
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut self.inner).poll_read(cx, buf)
    }
}

impl AsyncWrite for TlsTransport {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

impl Transport for TlsTransport {
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if !self.lookahead.is_empty() {
            return Poll::Ready(Ok(()));
        }
        let (tcp, session) = self.inner.get_mut();
        match session.process_new_packets() {
            Ok(state) if state.plaintext_bytes_to_read() > 0 || state.peer_has_closed() => {
                return Poll::Ready(Ok(()));
            }
            Ok(_) => {}
            // The read that follows reports the error.
            Err(_) => return Poll::Ready(Ok(())),
        }
        tcp.poll_read_ready(cx)
    }

    fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        if self.lookahead.is_empty() {
            let mut chunk = [0u8; 256];
            let mut rb = ReadBuf::new(&mut chunk);
            ready!(Pin::new(&mut self.inner).poll_read(cx, &mut rb))?;
            if rb.filled().is_empty() {
                return Poll::Ready(Ok(0));
            }
            self.lookahead.extend_from_slice(rb.filled());
        }
        let n = self.lookahead.len().min(buf.remaining());
        buf.put_slice(&self.lookahead[..n]);
        Poll::Ready(Ok(n))
    }

    fn abort(self) {
        let (tcp, _) = self.inner.into_inner();
        tcp.abort();
    }
}
