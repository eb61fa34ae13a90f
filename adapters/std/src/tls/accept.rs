//! The server side of a TLS connection before it is served: the first byte, the
//! handshake, and refusals.

use super::{TlsServerConfig, TlsTransport};
use crate::conn::linger;
use crate::wire::push_error;
use std::net::SocketAddr;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// The first byte of every TLS connection: a handshake record.
const TLS_HANDSHAKE: u8 = 0x16;

/// Completes the handshake of an accepted connection, within the config's handshake
/// timeout. `None` when the connection is not to be served: the client went away, failed
/// its handshake (logged), or spoke plain sockframe (answered with a plain `tls-required`
/// error frame, the one thing such a client can read).
pub(crate) async fn accept(
    stream: TcpStream,
    peer: SocketAddr,
    tls: &TlsServerConfig,
) -> Option<TlsTransport> {
    let handshake = async {
        let mut first = [0u8; 1];
        match stream.peek(&mut first).await {
            Ok(0) | Err(_) => return None,
            Ok(_) if first[0] != TLS_HANDSHAKE => {
                refuse_plain(stream, peer, first[0]).await;
                return None;
            }
            Ok(_) => {}
        }
        match TlsAcceptor::from(tls.rustls()).accept(stream).await {
            Ok(s) => Some(TlsTransport::new(s)),
            Err(e) => {
                tracing::info!(%peer, "TLS handshake failed: {e}");
                None
            }
        }
    };
    match tokio::time::timeout(tls.handshake_timeout, handshake).await {
        Ok(accepted) => accepted,
        Err(_) => {
            tracing::info!(
                %peer,
                "TLS handshake not finished within {} s: closing",
                tls.handshake_timeout.as_secs_f64()
            );
            None
        }
    }
}

/// Tells a client that sent something other than a TLS handshake, in plain sockframe, that
/// this server speaks only TLS.
async fn refuse_plain(mut stream: TcpStream, peer: SocketAddr, first: u8) {
    tracing::info!(%peer, "plain client on the TLS port: refusing");
    let mut out = Vec::new();
    let message = format!(
        "this server speaks TLS only: connect with TLS (sockframe --tls); the first byte was \
         0x{first:02x} where a TLS handshake (0x16) was expected"
    );
    push_error(&mut out, 0, "tls-required", &message);
    if stream.write_all(&out).await.is_ok() {
        linger(stream).await;
    }
}

/// Tells a TLS client beyond `max_conns` that the server is busy: over TLS when this
/// refusal may linger (`frame` is the plain error frame to send), else by closing at once
/// (a handshake per refused connection would let a flood cost the server its CPU).
pub(crate) async fn refuse_busy(
    stream: TcpStream,
    peer: SocketAddr,
    tls: TlsServerConfig,
    frame: Vec<u8>,
    linger_permit: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    if linger_permit.is_none() {
        return;
    }
    let Some(mut stream) = accept(stream, peer, &tls).await else {
        return;
    };
    let written = async {
        stream.write_all(&frame).await?;
        stream.flush().await
    };
    if tokio::time::timeout(std::time::Duration::from_secs(2), written)
        .await
        .is_ok_and(|r| r.is_ok())
    {
        linger(stream).await;
    }
}
