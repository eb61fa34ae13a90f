//! [`AsyncClient`] over TLS (cargo feature `tls`).

use super::{AsyncClient, AsyncClientConfig};
use crate::tls::TlsClientConfig;
use tokio::net::TcpStream;

impl AsyncClient {
    /// Connects to `addr` (`host:port`; the certificate must be valid for `host` unless
    /// `tls` pins it or names the server) with TCP_NODELAY, completes the TLS handshake and
    /// returns a client with the default [`AsyncClientConfig`]. A failed handshake is
    /// explained: the server does not speak TLS, another fingerprint, an expired or
    /// mismatched certificate, an unknown CA, a client certificate missing or refused.
    pub async fn connect_tls(addr: &str, tls: &TlsClientConfig) -> std::io::Result<AsyncClient> {
        AsyncClient::connect_tls_with(addr, tls, AsyncClientConfig::default()).await
    }

    /// [`connect_tls`](Self::connect_tls) with a config of your own.
    pub async fn connect_tls_with(
        addr: &str,
        tls: &TlsClientConfig,
        config: AsyncClientConfig,
    ) -> std::io::Result<AsyncClient> {
        let tcp = TcpStream::connect(addr).await?;
        tcp.set_nodelay(true)?;
        let stream = crate::tls::connect(tcp, addr, tls).await?;
        Ok(AsyncClient::with_stream(stream, config))
    }
}
