//! An in-memory connection: a [`Transport`] for tests, fuzzing and programs that serve a
//! peer in the same process.
//!
//! It is tokio's [`DuplexStream`] (a bounded pipe each way, with backpressure and end of
//! stream) plus one byte of lookahead, which is what readiness and peeking need: tokio's
//! pipe can only say "bytes are waiting" by handing them over, so the first waiting byte is
//! kept here until the next read.

use crate::transport::Transport;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, DuplexStream, ReadBuf};

/// One end of an in-memory connection, from [`MemStream::pair`].
///
/// ```
/// use sockframe_std::MemStream;
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
/// let (mut a, mut b) = MemStream::pair(1024);
/// a.write_all(b"hi").await.unwrap();
/// let mut buf = [0u8; 2];
/// b.read_exact(&mut buf).await.unwrap();
/// assert_eq!(&buf, b"hi");
/// # });
/// ```
#[derive(Debug)]
pub struct MemStream {
    pipe: DuplexStream,
    /// A byte already taken from the pipe by a readiness check or a peek, not yet read.
    lookahead: Option<u8>,
    /// The pipe has reported its end (so readiness is permanent).
    ended: bool,
}

impl MemStream {
    /// Two connected ends; each direction buffers at most `capacity` bytes, after which
    /// the writer waits for the reader (as a full socket buffer would make it).
    pub fn pair(capacity: usize) -> (MemStream, MemStream) {
        let (a, b) = tokio::io::duplex(capacity.max(1));
        (MemStream::new(a), MemStream::new(b))
    }

    fn new(pipe: DuplexStream) -> MemStream {
        MemStream {
            pipe,
            lookahead: None,
            ended: false,
        }
    }

    /// Takes one byte from the pipe into the lookahead, unless one is there or the pipe
    /// has ended. Ready when either is true.
    fn poll_fill_lookahead(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.lookahead.is_some() || self.ended {
            return Poll::Ready(Ok(()));
        }
        let mut one = [0u8; 1];
        let mut rb = ReadBuf::new(&mut one);
        ready!(Pin::new(&mut self.pipe).poll_read(cx, &mut rb))?;
        match rb.filled() {
            [b] => self.lookahead = Some(*b),
            _ => self.ended = true,
        }
        Poll::Ready(Ok(()))
    }
}

impl Transport for MemStream {
    fn poll_read_ready(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        self.poll_fill_lookahead(cx)
    }

    fn poll_peek(
        &mut self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<usize>> {
        ready!(self.poll_fill_lookahead(cx))?;
        match self.lookahead {
            Some(b) if buf.remaining() > 0 => {
                buf.put_slice(&[b]);
                Poll::Ready(Ok(1))
            }
            _ => Poll::Ready(Ok(0)),
        }
    }
}

impl AsyncRead for MemStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = &mut *self;
        if let Some(b) = this.lookahead.take() {
            if buf.remaining() == 0 {
                this.lookahead = Some(b);
                return Poll::Ready(Ok(()));
            }
            buf.put_slice(&[b]);
            // Add whatever else is waiting, without waiting for it: one byte is an answer.
            if let Poll::Ready(Err(e)) = Pin::new(&mut this.pipe).poll_read(cx, buf) {
                return Poll::Ready(Err(e));
            }
            return Poll::Ready(Ok(()));
        }
        if this.ended {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.pipe).poll_read(cx, buf)
    }
}

impl AsyncWrite for MemStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.pipe).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.pipe).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.pipe).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::future::poll_fn;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    fn block_on<F: std::future::Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn readiness_and_peek_keep_the_byte_for_the_read() {
        block_on(async {
            let (mut a, mut b) = MemStream::pair(64);
            a.write_all(b"abc").await.unwrap();
            poll_fn(|cx| b.poll_read_ready(cx)).await.unwrap();
            let mut probe = [0u8; 4];
            let mut rb = ReadBuf::new(&mut probe);
            let n = poll_fn(|cx| b.poll_peek(cx, &mut rb)).await.unwrap();
            assert_eq!((n, rb.filled()), (1, &b"a"[..]));
            let mut all = [0u8; 3];
            b.read_exact(&mut all).await.unwrap();
            assert_eq!(&all, b"abc");
        });
    }

    #[test]
    fn end_of_stream_is_ready_and_peeks_zero() {
        block_on(async {
            let (a, mut b) = MemStream::pair(64);
            drop(a);
            poll_fn(|cx| b.poll_read_ready(cx)).await.unwrap();
            let mut probe = [0u8; 1];
            let mut rb = ReadBuf::new(&mut probe);
            assert_eq!(poll_fn(|cx| b.poll_peek(cx, &mut rb)).await.unwrap(), 0);
            assert_eq!(b.read(&mut [0u8; 8]).await.unwrap(), 0);
        });
    }
}
