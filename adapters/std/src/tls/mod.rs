//! TLS for the server and both clients (cargo feature `tls`): rustls with the ring
//! provider, no OpenSSL.
//!
//! - Server: set [`ServerConfig::tls`](crate::ServerConfig::tls) to a [`TlsServerConfig`]
//!   (a certificate and key from PEM files, or [`TlsServerConfig::self_signed`] with its
//!   SHA-256 fingerprint to give to clients), optionally requiring client certificates
//!   signed by a CA. The handshake runs in the connection's task, held to a deadline; a
//!   failed handshake ends that connection only. A client that starts with anything but a
//!   TLS handshake record gets one plain `tls-required` error frame, so a plain sockframe
//!   client learns why.
//! - Clients: [`Client::connect_tls`](crate::Client::connect_tls) and
//!   [`AsyncClient::connect_tls`](crate::async_client::AsyncClient::connect_tls) take a
//!   [`TlsClientConfig`]: trust a CA, or pin the server certificate's SHA-256
//!   fingerprint (the handshake signature is still verified, so only the holder of the key
//!   passes), optionally with a client certificate.
//!
//! Handshake failures are explained in words: the other side does not speak TLS (or
//! speaks only TLS), the fingerprint differs (both printed), the certificate expired, is for
//! another name or from an unknown CA, a client certificate is missing or unknown.
//!
//! ```
//! use sockframe_std::services::Echo;
//! use sockframe_std::tls::{TlsClientConfig, TlsServerConfig};
//! use sockframe_std::{Client, Server, ServerConfig};
//!
//! let tls = TlsServerConfig::self_signed(&["localhost", "127.0.0.1"]).unwrap();
//! let pin = TlsClientConfig::pinned(tls.fingerprint()).unwrap();
//! let cfg = ServerConfig {
//!     bind: "127.0.0.1:0".parse().unwrap(),
//!     tls: Some(tls),
//!     ..ServerConfig::default()
//! };
//! let server = Server::spawn_thread(cfg, Echo).unwrap();
//! let mut client = Client::connect_tls(&server.local_addr().to_string(), &pin).unwrap();
//! assert_eq!(client.request(b"over TLS").unwrap().payload, b"over TLS");
//! ```

mod accept;
mod blocking;
mod client_config;
mod connect;
mod explain;
mod pem;
mod pin;
mod server_config;
mod stream;

pub(crate) use accept::{accept, refuse_busy};
pub(crate) use blocking::connect_blocking;
pub use client_config::TlsClientConfig;
pub(crate) use connect::connect;
pub use pin::{fingerprint, parse_fingerprint};
pub use server_config::TlsServerConfig;
pub use stream::TlsTransport;

/// The crypto provider every TLS config here uses: ring (aws-lc-rs would need cmake).
fn provider() -> std::sync::Arc<rustls::crypto::CryptoProvider> {
    std::sync::Arc::new(rustls::crypto::ring::default_provider())
}

/// An `InvalidInput` error: a configuration the user has to fix.
fn config_error(message: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidInput, message)
}
