//! The client side: the handshake, with the server's first bytes kept to explain a
//! failure, and a stream that explains later TLS errors too (TLS 1.3 servers reject a
//! client certificate after the client's handshake is done, at its first read).

use super::TlsClientConfig;
use super::explain::explain;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// How long a server may take to answer the handshake.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bytes of the server's first answer kept for the explanation of a failed handshake.
const SEEN_MAX: usize = 512;

/// A client's TLS connection; read and write errors are explained in words.
pub struct ClientTls {
    inner: tokio_rustls::client::TlsStream<Recorder>,
    addr: String,
    cfg: TlsClientConfig,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("addr", &self.addr)
            .finish()
    }
}

/// Does the TLS handshake over `tcp`, connected to `addr` (`host:port`, whose host the
/// certificate must be valid for unless the config names the server or pins it).
pub(crate) async fn connect(
    tcp: TcpStream,
    addr: &str,
    cfg: &TlsClientConfig,
) -> io::Result<ClientTls> {
    let name = cfg.server_name(addr)?;
    let connecting = TlsConnector::from(cfg.rustls())
        .connect(name, Recorder::new(tcp))
        .into_fallible();
    match tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting).await {
        Ok(Ok(inner)) => Ok(ClientTls {
            inner,
            addr: addr.to_owned(),
            cfg: cfg.clone(),
        }),
        Ok(Err((e, recorder))) => Err(explain(e, addr, &recorder.seen, cfg)),
        Err(_) => Err(io::Error::new(
            io::ErrorKind::TimedOut,
            format!(
                "TLS with {addr} failed: no answer to the handshake within {} s",
                HANDSHAKE_TIMEOUT.as_secs()
            ),
        )),
    }
}

impl ClientTls {
    fn explained<T>(&self, r: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        r.map_err(|e| match e.kind() {
            // Not TLS's doing: keep them as they are (timeouts, a reset).
            io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock => e,
            _ => explain(e, &self.addr, &[], &self.cfg),
        })
    }
}

impl AsyncRead for ClientTls {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        self.explained(r)
    }
}

impl AsyncWrite for ClientTls {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.explained(r)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let r = Pin::new(&mut self.inner).poll_flush(cx);
        self.explained(r)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

/// The TCP stream, keeping the first bytes the server sent.
pub(crate) struct Recorder {
    tcp: TcpStream,
    seen: Vec<u8>,
}

impl Recorder {
    fn new(tcp: TcpStream) -> Recorder {
        Recorder {
            tcp,
            seen: Vec::new(),
        }
    }
}

impl AsyncRead for Recorder {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let r = Pin::new(&mut self.tcp).poll_read(cx, buf);
        if self.seen.len() < SEEN_MAX {
            let new = &buf.filled()[before..];
            let keep = new.len().min(SEEN_MAX - self.seen.len());
            self.seen.extend_from_slice(&new[..keep]);
        }
        r
    }
}

impl AsyncWrite for Recorder {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.tcp).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
