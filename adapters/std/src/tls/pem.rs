//! Certificates and keys from PEM files or bytes, with errors that name the file.

use super::config_error;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::io;
use std::path::Path;

/// Every certificate in `pem` (a chain: the end entity first). `what` names the source in
/// errors.
pub(crate) fn certs(pem: &[u8], what: &str) -> io::Result<Vec<CertificateDer<'static>>> {
    let chain = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| config_error(format!("{what}: not a PEM certificate file: {e}")))?;
    if chain.is_empty() {
        return Err(config_error(format!(
            "{what}: no certificate in it (expected a PEM \"BEGIN CERTIFICATE\" block)"
        )));
    }
    Ok(chain)
}

/// The private key in `pem` (PKCS#8, PKCS#1 or SEC1).
pub(crate) fn key(pem: &[u8], what: &str) -> io::Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
        config_error(format!(
            "{what}: no private key in it (expected a PEM \"BEGIN PRIVATE KEY\" block): {e}"
        ))
    })
}

/// A file's bytes; the error names the file and what it was for.
pub(crate) fn read(path: &Path, what: &str) -> io::Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| io::Error::new(e.kind(), format!("{what} {}: {e}", path.display())))
}

/// A root store holding every certificate of `pem`.
pub(crate) fn roots(pem: &[u8], what: &str) -> io::Result<rustls::RootCertStore> {
    let mut store = rustls::RootCertStore::empty();
    for cert in certs(pem, what)? {
        store
            .add(cert)
            .map_err(|e| config_error(format!("{what}: not a usable CA certificate: {e}")))?;
    }
    Ok(store)
}
