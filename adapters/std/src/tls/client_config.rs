//! Whom a TLS client trusts, and what it presents.

use super::pin::PinnedVerifier;
use super::{config_error, pem, provider};
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::path::Path;
use std::sync::Arc;

/// A client's TLS settings: the server is trusted through a CA ([`with_ca_pem`]) or a
/// pinned certificate fingerprint ([`pinned`]); optionally a client certificate
/// ([`with_client_cert`]). Cheap to clone.
///
/// [`with_ca_pem`]: TlsClientConfig::with_ca_pem
/// [`pinned`]: TlsClientConfig::pinned
/// [`with_client_cert`]: TlsClientConfig::with_client_cert
#[derive(Clone)]
pub struct TlsClientConfig {
    rustls: Arc<rustls::ClientConfig>,
    verifier: Arc<dyn ServerCertVerifier>,
    /// How the server is trusted, for error messages ("--tls-ca ..." or the pin).
    pub(crate) trust: Trust,
    pub(crate) has_client_cert: bool,
    server_name: Option<String>,
}

/// How a client decides to trust the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Trust {
    Ca,
    Pinned,
}

impl std::fmt::Debug for TlsClientConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsClientConfig")
            .field("trust", &self.trust)
            .field("client_cert", &self.has_client_cert)
            .field("server_name", &self.server_name)
            .finish()
    }
}

impl TlsClientConfig {
    /// Trusts servers whose certificate chains to a CA certificate in `pem`, and checks
    /// that the certificate is valid for the name connected to.
    pub fn with_ca_pem(pem: &[u8]) -> io::Result<TlsClientConfig> {
        let roots = pem::roots(pem, "CA")?;
        let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider())
            .build()
            .map_err(|e| config_error(format!("CA: {e}")))?;
        TlsClientConfig::new(verifier, Trust::Ca, None)
    }

    /// [`with_ca_pem`](Self::with_ca_pem) from a file (`--tls-ca FILE`).
    pub fn with_ca_file(path: impl AsRef<Path>) -> io::Result<TlsClientConfig> {
        let path = path.as_ref();
        let bytes = pem::read(path, "CA file")?;
        pem::roots(&bytes, &format!("CA file {}", path.display()))?;
        TlsClientConfig::with_ca_pem(&bytes)
    }

    /// Trusts exactly the server whose certificate has this SHA-256 fingerprint
    /// (`--tls-fingerprint`; colons optional), as printed by `sockframe serve
    /// --tls-self-signed` or `openssl x509 -fingerprint -sha256`. Names and expiry are not
    /// checked; the handshake signature is.
    pub fn pinned(fingerprint: &str) -> io::Result<TlsClientConfig> {
        let expected = super::parse_fingerprint(fingerprint)?;
        TlsClientConfig::new(
            Arc::new(PinnedVerifier::new(expected, provider())),
            Trust::Pinned,
            None,
        )
    }

    /// Presents this client certificate (chain PEM, end entity first) and key (PEM) to
    /// servers that ask for one.
    pub fn with_client_cert(self, cert_pem: &[u8], key_pem: &[u8]) -> io::Result<TlsClientConfig> {
        let chain = pem::certs(cert_pem, "client certificate")?;
        let key = pem::key(key_pem, "client key")?;
        let mut cfg = TlsClientConfig::new(self.verifier, self.trust, Some((chain, key)))?;
        cfg.server_name = self.server_name;
        Ok(cfg)
    }

    /// [`with_client_cert`](Self::with_client_cert) from files (`--tls-cert FILE
    /// --tls-key FILE`).
    pub fn with_client_cert_files(
        self,
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<TlsClientConfig> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let cert_pem = pem::read(cert, "client certificate file")?;
        let key_pem = pem::read(key, "client key file")?;
        pem::certs(
            &cert_pem,
            &format!("client certificate file {}", cert.display()),
        )?;
        pem::key(&key_pem, &format!("client key file {}", key.display()))?;
        self.with_client_cert(&cert_pem, &key_pem)
    }

    /// Checks the server's certificate against `name` rather than the host part of the
    /// address connected to (for a server reached by IP whose certificate names a host).
    pub fn with_server_name(mut self, name: impl Into<String>) -> TlsClientConfig {
        self.server_name = Some(name.into());
        self
    }

    /// The rustls configuration, for a `tokio_rustls::TlsConnector`.
    pub fn rustls(&self) -> Arc<rustls::ClientConfig> {
        self.rustls.clone()
    }

    /// The name the server's certificate is checked against when connecting to `addr`
    /// (`host:port`, `[v6]:port`): the configured one, else the host part.
    pub(crate) fn server_name(
        &self,
        addr: &str,
    ) -> io::Result<rustls::pki_types::ServerName<'static>> {
        let host = match &self.server_name {
            Some(name) => name.as_str(),
            None => host_of(addr),
        };
        rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| {
            config_error(format!(
                "{host:?} cannot be checked against a certificate: {e}"
            ))
        })
    }

    fn new(
        verifier: Arc<dyn ServerCertVerifier>,
        trust: Trust,
        client_cert: Option<(Vec<CertificateDer<'static>>, PrivateKeyDer<'static>)>,
    ) -> io::Result<TlsClientConfig> {
        let builder = rustls::ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| io::Error::other(format!("TLS versions: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(verifier.clone());
        let has_client_cert = client_cert.is_some();
        let rustls = match client_cert {
            Some((chain, key)) => builder.with_client_auth_cert(chain, key).map_err(|e| {
                config_error(format!(
                    "client certificate and key cannot be used together: {e}"
                ))
            })?,
            None => builder.with_no_client_auth(),
        };
        Ok(TlsClientConfig {
            rustls: Arc::new(rustls),
            verifier,
            trust,
            has_client_cert,
            server_name: None,
        })
    }
}

/// The host part of `host:port` or `[v6]:port` (all of it if there is no port).
fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match addr.rsplit_once(':') {
        Some((host, _)) if !host.contains(':') => host,
        _ => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::host_of;

    #[test]
    fn host_part_of_addresses() {
        assert_eq!(host_of("localhost:9000"), "localhost");
        assert_eq!(host_of("127.0.0.1:1"), "127.0.0.1");
        assert_eq!(host_of("[::1]:80"), "::1");
        assert_eq!(host_of("example.org"), "example.org");
    }
}
