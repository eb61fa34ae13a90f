//! Certificate pinning: the server is whoever holds the key of the certificate with this
//! SHA-256 fingerprint. The chain and names are not checked (the pin is the identity), the
//! handshake signature is, so a peer that merely replays the certificate fails.

use super::config_error;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, Error, OtherError, SignatureScheme};
use std::fmt::Write;
use std::sync::Arc;

/// The SHA-256 fingerprint of a DER certificate, as `openssl x509 -fingerprint -sha256`
/// prints it: 32 upper-case hex bytes separated by colons.
pub fn fingerprint(der: &[u8]) -> String {
    colon_hex(ring::digest::digest(&ring::digest::SHA256, der).as_ref())
}

/// Reads a SHA-256 fingerprint written with or without colons (or spaces), in either case,
/// optionally prefixed `sha256:`; the error says what is wrong with it.
pub fn parse_fingerprint(text: &str) -> std::io::Result<[u8; 32]> {
    let trimmed = text.trim();
    let body = trimmed
        .strip_prefix("sha256:")
        .or_else(|| trimmed.strip_prefix("SHA256:"))
        .unwrap_or(trimmed);
    let hex: Vec<u8> = body.bytes().filter(|b| !matches!(b, b':' | b' ')).collect();
    if hex.len() != 64 {
        return Err(config_error(format!(
            "fingerprint {text:?} has {} hex digits, a SHA-256 fingerprint has 64",
            hex.len()
        )));
    }
    let mut out = [0u8; 32];
    for (i, pair) in hex.chunks(2).enumerate() {
        let digits = std::str::from_utf8(pair).ok();
        out[i] = digits
            .and_then(|d| u8::from_str_radix(d, 16).ok())
            .ok_or_else(|| {
                config_error(format!(
                    "fingerprint {text:?}: {:?} is not a hex byte",
                    String::from_utf8_lossy(pair)
                ))
            })?;
    }
    Ok(out)
}

/// The pin did not match: both fingerprints, for the error message.
#[derive(Debug)]
pub(crate) struct FingerprintMismatch {
    pub expected: String,
    pub presented: String,
}

impl std::fmt::Display for FingerprintMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "the server's certificate has SHA-256 fingerprint {}, expected {}",
            self.presented, self.expected
        )
    }
}

impl std::error::Error for FingerprintMismatch {}

/// Accepts exactly the certificate with the pinned fingerprint, and verifies the handshake
/// signatures made with its key.
#[derive(Debug)]
pub(crate) struct PinnedVerifier {
    expected: [u8; 32],
    provider: Arc<CryptoProvider>,
}

impl PinnedVerifier {
    pub fn new(expected: [u8; 32], provider: Arc<CryptoProvider>) -> PinnedVerifier {
        PinnedVerifier { expected, provider }
    }
}

impl ServerCertVerifier for PinnedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, Error> {
        let presented = ring::digest::digest(&ring::digest::SHA256, end_entity);
        if presented.as_ref() == self.expected {
            return Ok(ServerCertVerified::assertion());
        }
        let mismatch = FingerprintMismatch {
            expected: colon_hex(&self.expected),
            presented: fingerprint(end_entity),
        };
        Err(Error::InvalidCertificate(CertificateError::Other(
            OtherError(Arc::new(mismatch)),
        )))
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// Bytes as upper-case hex pairs separated by colons.
fn colon_hex(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0 {
            s.push(':');
        }
        let _ = write!(s, "{b:02X}");
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints_round_trip_in_every_spelling() {
        let fp = fingerprint(b"not really a certificate");
        assert_eq!(fp.len(), 95);
        let want = parse_fingerprint(&fp).unwrap();
        assert_eq!(colon_hex(&want), fp);
        let bare = fp.replace(':', "").to_lowercase();
        assert_eq!(parse_fingerprint(&bare).unwrap(), want);
        assert_eq!(parse_fingerprint(&format!("sha256:{bare}")).unwrap(), want);
    }

    #[test]
    fn bad_fingerprints_say_what_is_wrong() {
        let short = parse_fingerprint("AB:CD").unwrap_err().to_string();
        assert!(
            short.contains("has 4 hex digits, a SHA-256 fingerprint has 64"),
            "{short}"
        );
        let bad = parse_fingerprint(&"zz".repeat(32)).unwrap_err().to_string();
        assert!(bad.contains("\"zz\" is not a hex byte"), "{bad}");
    }
}
