//! What a TLS server presents and whom it accepts.

use super::{config_error, pem, provider};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use std::io;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// A server's TLS settings: its certificate chain and key, and optionally the CA its
/// clients' certificates must be signed by. Cheap to clone.
#[derive(Clone)]
pub struct TlsServerConfig {
    rustls: Arc<rustls::ServerConfig>,
    chain: Vec<CertificateDer<'static>>,
    key: Arc<PrivateKeyDer<'static>>,
    fingerprint: String,
    client_auth: bool,
    /// A client that has not finished its handshake within this long is dropped (it holds
    /// a connection slot meanwhile).
    pub handshake_timeout: Duration,
}

impl std::fmt::Debug for TlsServerConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsServerConfig")
            .field("fingerprint", &self.fingerprint)
            .field("client_auth", &self.requires_client_cert())
            .field("handshake_timeout", &self.handshake_timeout)
            .finish()
    }
}

impl TlsServerConfig {
    /// A certificate chain (end entity first) and its private key, both PEM.
    pub fn from_pem(cert_pem: &[u8], key_pem: &[u8]) -> io::Result<TlsServerConfig> {
        let chain = pem::certs(cert_pem, "certificate")?;
        let key = pem::key(key_pem, "key")?;
        TlsServerConfig::new(chain, key, None)
    }

    /// [`from_pem`](Self::from_pem) from files (`--tls-cert FILE --tls-key FILE`).
    pub fn from_pem_files(
        cert: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> io::Result<TlsServerConfig> {
        let (cert, key) = (cert.as_ref(), key.as_ref());
        let chain = pem::certs(
            &pem::read(cert, "certificate file")?,
            &format!("certificate file {}", cert.display()),
        )?;
        let key = pem::key(
            &pem::read(key, "key file")?,
            &format!("key file {}", key.display()),
        )?;
        TlsServerConfig::new(chain, key, None)
    }

    /// A fresh self-signed certificate for `names` (DNS names or IP addresses), made now
    /// with a new ECDSA P-256 key that lives only in this process. Give clients its
    /// [`fingerprint`](Self::fingerprint) to pin.
    pub fn self_signed(names: &[&str]) -> io::Result<TlsServerConfig> {
        let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
        let key = rcgen::KeyPair::generate()
            .map_err(|e| io::Error::other(format!("cannot generate a key: {e}")))?;
        let params = rcgen::CertificateParams::new(names.clone())
            .map_err(|e| config_error(format!("cannot make a certificate for {names:?}: {e}")))?;
        let cert = params
            .self_signed(&key)
            .map_err(|e| io::Error::other(format!("cannot sign the certificate: {e}")))?;
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
        TlsServerConfig::new(vec![cert.der().clone()], key, None)
    }

    /// Requires every client to present a certificate signed by a CA in `ca_pem`; a
    /// client without one, or with another, fails its handshake.
    pub fn require_client_cert(self, ca_pem: &[u8]) -> io::Result<TlsServerConfig> {
        let roots = pem::roots(ca_pem, "client CA")?;
        let TlsServerConfig {
            chain,
            key,
            handshake_timeout,
            ..
        } = self;
        let mut cfg = TlsServerConfig::new(chain, clone_key(&key), Some(roots))?;
        cfg.handshake_timeout = handshake_timeout;
        Ok(cfg)
    }

    /// [`require_client_cert`](Self::require_client_cert) with the CA from a file
    /// (`--tls-client-ca FILE`).
    pub fn require_client_cert_file(self, ca: impl AsRef<Path>) -> io::Result<TlsServerConfig> {
        let ca = ca.as_ref();
        let pem = pem::read(ca, "client CA file")?;
        pem::roots(&pem, &format!("client CA file {}", ca.display()))?;
        self.require_client_cert(&pem)
    }

    /// The SHA-256 fingerprint of the server's certificate (`AB:CD:...`), what clients
    /// pin with [`TlsClientConfig::pinned`](super::TlsClientConfig::pinned).
    pub fn fingerprint(&self) -> &str {
        &self.fingerprint
    }

    /// The server's certificate chain, end entity first (DER).
    pub fn certificate_chain(&self) -> &[CertificateDer<'static>] {
        &self.chain
    }

    /// Whether clients must present a certificate.
    pub fn requires_client_cert(&self) -> bool {
        self.client_auth
    }

    /// The rustls configuration, for a `tokio_rustls::TlsAcceptor`.
    pub fn rustls(&self) -> Arc<rustls::ServerConfig> {
        self.rustls.clone()
    }

    fn new(
        chain: Vec<CertificateDer<'static>>,
        key: PrivateKeyDer<'static>,
        client_roots: Option<rustls::RootCertStore>,
    ) -> io::Result<TlsServerConfig> {
        let builder = rustls::ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()
            .map_err(|e| io::Error::other(format!("TLS versions: {e}")))?;
        let client_auth = client_roots.is_some();
        let builder = match client_roots {
            Some(roots) => {
                let verifier =
                    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider())
                        .build()
                        .map_err(|e| config_error(format!("client CA: {e}")))?;
                builder.with_client_cert_verifier(verifier)
            }
            None => builder.with_no_client_auth(),
        };
        let rustls = builder
            .with_single_cert(chain.clone(), clone_key(&key))
            .map_err(|e| {
                config_error(format!("certificate and key cannot be used together: {e}"))
            })?;
        Ok(TlsServerConfig {
            rustls: Arc::new(rustls),
            fingerprint: chain
                .first()
                .map(|c| super::fingerprint(c))
                .unwrap_or_default(),
            client_auth,
            chain,
            key: Arc::new(key),
            handshake_timeout: Duration::from_secs(10),
        })
    }
}

fn clone_key(key: &PrivateKeyDer<'static>) -> PrivateKeyDer<'static> {
    key.clone_key()
}
