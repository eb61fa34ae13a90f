//! The blocking [`Client`] over TLS (cargo feature `tls`).

use super::Client;
use crate::tls::TlsClientConfig;
use std::io;
use std::net::ToSocketAddrs;
use std::time::Duration;

impl Client {
    /// Connects to `addr` (`host:port`; the certificate must be valid for `host` unless
    /// `tls` pins it or names the server), completes the TLS handshake within 10 s and
    /// returns a client that works as a plain one does (full duplex, timeouts, half-close).
    ///
    /// A thread of the client's own runs the TLS connection and relays plaintext through a
    /// loopback socket, which [`Client::stream`] then is (its peer address is the relay's).
    /// A failed handshake is explained: the server does not speak TLS, another
    /// fingerprint, an expired or mismatched certificate, an unknown CA, a client
    /// certificate missing. A rejection the server sends after the handshake (TLS 1.3
    /// checks the client certificate then) arrives as an error frame with code `tls`.
    pub fn connect_tls(addr: &str, tls: &TlsClientConfig) -> io::Result<Client> {
        let target = addr.to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{addr} resolves to no address"),
            )
        })?;
        let stream = crate::tls::connect_blocking(addr, target, Duration::from_secs(10), tls)?;
        Ok(Client::from_stream(stream))
    }
}
