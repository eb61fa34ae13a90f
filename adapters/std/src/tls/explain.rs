//! A failed TLS handshake or first read, in words that name the mistake.

use super::client_config::{TlsClientConfig, Trust};
use super::pin::FingerprintMismatch;
use rustls::{AlertDescription, CertificateError, Error};
use sockframe::{Decoder, Event, Kind, MAGIC};
use std::io;

/// Explains `e`, a TLS failure talking to `addr`. `seen` is what the server sent first
/// (up to a few hundred bytes), to recognise a server that does not speak TLS.
pub(crate) fn explain(e: io::Error, addr: &str, seen: &[u8], cfg: &TlsClientConfig) -> io::Error {
    if seen.starts_with(&MAGIC[..seen.len().min(2)]) && !seen.is_empty() {
        return io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the server at {addr} does not speak TLS: it answered with a sockframe frame \
                 ({}); connect without --tls",
                describe_frame(seen)
            ),
        );
    }
    let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<Error>()) else {
        return io::Error::new(e.kind(), format!("TLS with {addr} failed: {e}"));
    };
    let (kind, what) = match tls {
        Error::InvalidCertificate(CertificateError::Other(other)) => {
            match other.0.downcast_ref::<FingerprintMismatch>() {
                Some(m) => (
                    io::ErrorKind::PermissionDenied,
                    format!("{m} (--tls-fingerprint): not the server you pinned"),
                ),
                None => (io::ErrorKind::PermissionDenied, format!("{tls}")),
            }
        }
        Error::InvalidCertificate(CertificateError::UnknownIssuer) => (
            io::ErrorKind::PermissionDenied,
            match cfg.trust {
                Trust::Ca => "the server's certificate is not signed by the CA given with \
                              --tls-ca (unknown issuer)"
                    .to_owned(),
                Trust::Pinned => format!("the server's certificate: {tls}"),
            },
        ),
        Error::InvalidCertificate(
            CertificateError::Expired | CertificateError::ExpiredContext { .. },
        ) => (
            io::ErrorKind::PermissionDenied,
            format!("the server's certificate has expired: {tls}"),
        ),
        Error::InvalidCertificate(
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
        ) => (
            io::ErrorKind::PermissionDenied,
            format!(
                "the server's certificate is for another name: {tls} (connect by a name it \
                 lists)"
            ),
        ),
        Error::AlertReceived(AlertDescription::CertificateRequired)
        | Error::AlertReceived(AlertDescription::HandshakeFailure)
            if !cfg.has_client_cert =>
        {
            (
                io::ErrorKind::PermissionDenied,
                format!(
                    "the server requires a client certificate (--tls-cert FILE --tls-key \
                     FILE); it answered with the TLS alert {:?}",
                    alert_of(tls)
                ),
            )
        }
        Error::AlertReceived(
            AlertDescription::UnknownCA
            | AlertDescription::BadCertificate
            | AlertDescription::CertificateUnknown
            | AlertDescription::AccessDenied,
        ) if cfg.has_client_cert => (
            io::ErrorKind::PermissionDenied,
            format!(
                "the server does not accept our client certificate (TLS alert {:?})",
                alert_of(tls)
            ),
        ),
        Error::InvalidMessage(_) | Error::InappropriateMessage { .. } => (
            io::ErrorKind::InvalidData,
            format!("the server at {addr} does not seem to speak TLS: {tls}"),
        ),
        other => (e.kind(), other.to_string()),
    };
    io::Error::new(kind, format!("TLS with {addr} failed: {what}"))
}

fn alert_of(e: &Error) -> Option<AlertDescription> {
    match e {
        Error::AlertReceived(a) => Some(*a),
        _ => None,
    }
}

/// What a plain sockframe frame says: an error frame's code and message, else its kind.
fn describe_frame(bytes: &[u8]) -> String {
    let mut dec = Decoder::new(vec![0u8; bytes.len().max(64)]);
    let n = bytes.len().min(dec.read_buf().len());
    dec.read_buf()[..n].copy_from_slice(&bytes[..n]);
    dec.commit(n);
    match dec.next_event() {
        Ok(Some(Event::Frame(f))) if f.header.kind == Kind::ERROR => format!(
            "error {}: {}",
            f.header.meta("code").unwrap_or("?"),
            String::from_utf8_lossy(f.payload)
        ),
        Ok(Some(Event::Frame(f))) => format!("kind {}", f.header.kind.0),
        _ => "starting with the sockframe magic f5 46".to_owned(),
    }
}
