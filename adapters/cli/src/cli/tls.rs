//! The TLS options of `serve` and of the clients, turned into the library's configs.

use super::Failure;
use clap::Args;
use sockframe_std::Client;
use sockframe_std::tls::{TlsClientConfig, TlsServerConfig};
use std::net::SocketAddr;
use std::path::PathBuf;

/// TLS options of `sockframe serve`.
#[derive(Debug, Args)]
pub struct ServeTlsArgs {
    /// Serve over TLS with this certificate chain (PEM, server certificate first).
    #[arg(
        long,
        value_name = "FILE",
        requires = "tls_key",
        conflicts_with = "tls_self_signed"
    )]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// Serve over TLS with a certificate made at start (for localhost, 127.0.0.1, ::1 and
    /// the bound address); its SHA-256 fingerprint is printed for clients to pin with
    /// --tls-fingerprint.
    #[arg(long)]
    tls_self_signed: bool,
    /// Require client certificates signed by this CA (PEM): clients authenticate by
    /// certificate (--tls-cert/--tls-key on the client).
    #[arg(long, value_name = "FILE")]
    tls_client_ca: Option<PathBuf>,
}

impl ServeTlsArgs {
    /// The server's TLS config, `None` without TLS options; prints the fingerprint.
    pub fn config(&self, bind: SocketAddr) -> Result<Option<TlsServerConfig>, Failure> {
        let tls = match (&self.tls_cert, &self.tls_key, self.tls_self_signed) {
            (Some(cert), Some(key), _) => TlsServerConfig::from_pem_files(cert, key),
            (_, _, true) => {
                let ip = bind.ip().to_string();
                let mut names = vec!["localhost", "127.0.0.1", "::1"];
                if !bind.ip().is_unspecified() && !names.contains(&ip.as_str()) {
                    names.push(&ip);
                }
                TlsServerConfig::self_signed(&names)
            }
            _ if self.tls_client_ca.is_some() => {
                return Err(Failure::usage(
                    "--tls-client-ca needs TLS: --tls-cert FILE --tls-key FILE, or --tls-self-signed",
                ));
            }
            _ => return Ok(None),
        }
        .map_err(|e| Failure::usage(e.to_string()))?;
        let tls = match &self.tls_client_ca {
            Some(ca) => tls
                .require_client_cert_file(ca)
                .map_err(|e| Failure::usage(e.to_string()))?,
            None => tls,
        };
        // Scripts and tests read this line for the pin.
        eprintln!(
            "sockframe: TLS certificate SHA-256 fingerprint {}",
            tls.fingerprint()
        );
        Ok(Some(tls))
    }
}

/// TLS options of the clients.
#[derive(Debug, Args)]
pub struct ClientTlsArgs {
    /// Connect over TLS, trusting the server through --tls-ca or --tls-fingerprint.
    #[arg(long)]
    tls: bool,
    /// Trust servers whose certificate is signed by this CA (PEM); the certificate must be
    /// valid for the host name connected to. Implies --tls.
    #[arg(long, value_name = "FILE", conflicts_with = "tls_fingerprint")]
    tls_ca: Option<PathBuf>,
    /// Trust exactly the server whose certificate has this SHA-256 fingerprint (as `serve
    /// --tls-self-signed` prints it; colons optional). Implies --tls.
    #[arg(long, value_name = "SHA256")]
    tls_fingerprint: Option<String>,
    /// Present this client certificate (PEM) to a server that requires one.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of --tls-cert (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

impl ClientTlsArgs {
    /// The client's TLS config, `None` for a plain connection.
    pub fn config(&self) -> Result<Option<TlsClientConfig>, Failure> {
        let usage = |e: std::io::Error| Failure::usage(e.to_string());
        let tls = match (&self.tls_ca, &self.tls_fingerprint) {
            (Some(ca), _) => TlsClientConfig::with_ca_file(ca).map_err(usage)?,
            (None, Some(pin)) => TlsClientConfig::pinned(pin).map_err(usage)?,
            (None, None) if self.tls || self.tls_cert.is_some() => {
                return Err(Failure::usage(
                    "--tls needs a way to trust the server: --tls-ca FILE or --tls-fingerprint SHA256",
                ));
            }
            (None, None) => return Ok(None),
        };
        Ok(Some(match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => tls.with_client_cert_files(cert, key).map_err(usage)?,
            _ => tls,
        }))
    }
}

/// Connects a client to `addr`, over TLS if the options say so.
pub fn connect(addr: &str, tls: &ClientTlsArgs) -> Result<Client, Failure> {
    let Some(cfg) = tls.config()? else {
        return super::connect(addr);
    };
    if addr.starts_with(sockframe_std::serial::PREFIX) {
        return Err(Failure::usage("TLS is not available on a serial link"));
    }
    super::resolve(addr)?;
    Client::connect_tls(addr, &cfg)
        .map_err(|e| Failure::connect(format!("cannot connect to {addr}: {e}")))
}
