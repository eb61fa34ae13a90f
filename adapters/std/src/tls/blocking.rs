//! TLS for the blocking [`Client`](crate::Client): a thread of its own runs the TLS
//! connection and relays plaintext to a loopback socket that the client uses as it uses
//! any TCP connection.
//!
//! Why a relay: the blocking client is full duplex (a writer thread on a clone of the
//! socket while it reads), sets read timeouts and half-closes, all on a `TcpStream`. A
//! rustls connection cannot be cloned or shared between a reading and a writing thread
//! without a lock that a blocked read would hold; the relay gives the client a real socket
//! with all of that, at the cost of one loopback hop.

use super::TlsClientConfig;
use super::connect::{ClientTls, connect};
use crate::wire::push_error;
use std::io;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Connects to `target` (named `addr`, `host:port`, for the certificate check and
/// messages), completes the TLS handshake, and returns the plaintext end of the relay.
/// Handshake failures are returned here, explained; a failure the server reports later
/// (a client certificate it rejects, TLS 1.3) reaches the client as an error frame with
/// code `tls` if nothing else came first.
pub(crate) fn connect_blocking(
    addr: &str,
    target: SocketAddr,
    timeout: Duration,
    cfg: &TlsClientConfig,
) -> io::Result<TcpStream> {
    let (client_end, relay_end) = loopback_pair()?;
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
    let (addr, cfg) = (addr.to_owned(), cfg.clone());
    std::thread::Builder::new()
        .name("sockframe-tls".into())
        .spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => return drop(ready_tx.send(Err(e))),
            };
            rt.block_on(async move {
                let tls = async {
                    let tcp = tokio::time::timeout(timeout, tokio::net::TcpStream::connect(target))
                        .await
                        .map_err(|_| {
                            io::Error::new(
                                io::ErrorKind::TimedOut,
                                format!("no connection within {} s", timeout.as_secs_f64()),
                            )
                        })??;
                    tcp.set_nodelay(true)?;
                    connect(tcp, &addr, &cfg).await
                };
                match tls.await {
                    Ok(tls) => {
                        let _ = ready_tx.send(Ok(()));
                        relay(tls, relay_end).await;
                    }
                    Err(e) => drop(ready_tx.send(Err(e))),
                }
            });
        })?;
    ready_rx
        .recv()
        .map_err(|_| io::Error::other("the TLS thread ended before connecting"))??;
    Ok(client_end)
}

/// Copies plaintext both ways until both sides have closed.
async fn relay(tls: ClientTls, plain: TcpStream) {
    let Ok(plain) = plain
        .set_nonblocking(true)
        .and_then(|()| tokio::net::TcpStream::from_std(plain))
    else {
        return;
    };
    let _ = plain.set_nodelay(true);
    let (mut plain_r, mut plain_w) = plain.into_split();
    let (mut tls_r, mut tls_w) = tokio::io::split(tls);
    let up = async {
        let _ = tokio::io::copy(&mut plain_r, &mut tls_w).await;
        let _ = tls_w.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; 64 * 1024];
        let mut relayed = 0u64;
        loop {
            match tls_r.read(&mut buf).await {
                Ok(0) => break,
                Ok(n) => {
                    if plain_w.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                    relayed += n as u64;
                }
                Err(e) => {
                    // Before any reply the client is between frames: an error frame is
                    // the one way to tell it why in its own terms.
                    if relayed == 0 {
                        let mut frame = Vec::new();
                        push_error(&mut frame, 0, "tls", &e.to_string());
                        let _ = plain_w.write_all(&frame).await;
                    }
                    break;
                }
            }
        }
        let _ = plain_w.shutdown().await;
    };
    tokio::join!(up, down);
}

/// Two ends of a loopback TCP connection, the accepted end checked to be the one this
/// process connected (not another local process racing for the port).
fn loopback_pair() -> io::Result<(TcpStream, TcpStream)> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let client = TcpStream::connect(listener.local_addr()?)?;
    let mine = client.local_addr()?;
    for _ in 0..16 {
        let (accepted, from) = listener.accept()?;
        if from == mine {
            client.set_nodelay(true)?;
            return Ok((client, accepted));
        }
    }
    Err(io::Error::other(
        "loopback relay: the relay's own connection did not arrive",
    ))
}
