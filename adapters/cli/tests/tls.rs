//! The `sockframe` binary over TLS: serve with a self-signed certificate or with files and
//! client certificates, every client subcommand with --tls, and the usual mistakes told.

mod bin;
#[path = "../../std/tests/tls/certs.rs"]
mod certs;
#[path = "../../std/tests/common/mod.rs"]
mod common;

use bin::*;
use common::TempDir;
use sockframe_std::Client;
use sockframe_std::tls::TlsClientConfig;
use std::io::{BufRead, BufReader};
use std::process::Stdio;

/// `sockframe serve --bind BIND TLS-ARGS...`: the address and fingerprint from the lines it
/// prints, ready once it answered a ping over TLS.
fn serve_tls(bind: &str, args: &[&str]) -> (ChildGuard, String, String) {
    let mut child = bin()
        .args(["serve", "--bind", bind])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sockframe serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    let guard = ChildGuard(child);
    let (mut fingerprint, mut addr) = (String::new(), String::new());
    let mut line = String::new();
    while addr.is_empty() {
        line.clear();
        assert!(lines.read_line(&mut line).unwrap() > 0, "serve ended early");
        if let Some(fp) = line
            .trim()
            .strip_prefix("sockframe: TLS certificate SHA-256 fingerprint ")
        {
            fingerprint = fp.to_owned();
        } else if let Some((_, a)) = line.trim().rsplit_once("listening on ") {
            addr = a.to_owned();
        }
    }
    std::thread::spawn(move || {
        let mut sink = String::new();
        while lines.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    assert_eq!(fingerprint.len(), 95, "fingerprint line: {fingerprint:?}");
    (guard, addr, fingerprint)
}

/// Pings over TLS with `tls` (the server is ready).
fn ping(addr: &str, tls: &TlsClientConfig) {
    Client::connect_tls(addr, tls).unwrap().ping().unwrap();
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn send_exec_put_get_over_self_signed_tls() {
    let (_echo, addr, fp) = serve_tls("127.0.0.1:0", &["--tls-self-signed"]);
    ping(&addr, &TlsClientConfig::pinned(&fp).unwrap());
    let out = output(bin().args(["send", &addr, "hello tls", "--tls-fingerprint", &fp]));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hello tls");

    let (_exec, addr, fp) = serve_tls(
        "127.0.0.1:0",
        &["--service", "exec", "--tls-self-signed", "--token", "tok"],
    );
    ping(&addr, &TlsClientConfig::pinned(&fp).unwrap());
    let out = output(
        bin()
            .args([
                "exec",
                &addr,
                "--tls-fingerprint",
                &fp,
                "--",
                "echo",
                "remote",
            ])
            .env("SOCKFRAME_TOKEN", "tok"),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert_eq!(out.stdout, b"remote\n");

    let root = TempDir::new("cli-tls-root");
    let work = TempDir::new("cli-tls-work");
    let root_arg = root.path().to_str().unwrap().to_owned();
    let (_files, addr, fp) = serve_tls(
        "127.0.0.1:0",
        &[
            "--service",
            "files",
            "--root",
            &root_arg,
            "--tls-self-signed",
        ],
    );
    ping(&addr, &TlsClientConfig::pinned(&fp).unwrap());
    let data: Vec<u8> = (0..2_000_000u32).map(|i| (i % 239) as u8).collect();
    let src = work.path().join("up.bin");
    std::fs::write(&src, &data).unwrap();
    let out = output(bin().args([
        "put",
        &addr,
        src.to_str().unwrap(),
        "--tls-fingerprint",
        &fp,
    ]));
    assert!(out.status.success(), "{out:?}");
    let back = work.path().join("back.bin");
    let out = output(bin().args([
        "get",
        &addr,
        "up.bin",
        "-o",
        back.to_str().unwrap(),
        "--tls-fingerprint",
        &fp,
    ]));
    assert!(out.status.success(), "{out:?}");
    assert!(
        std::fs::read(&back).unwrap() == data,
        "file changed over TLS"
    );
}

#[test]
fn plain_and_tls_mixed_up_are_told() {
    let (_tls, tls_addr, fp) = serve_tls("127.0.0.1:0", &["--tls-self-signed"]);
    ping(&tls_addr, &TlsClientConfig::pinned(&fp).unwrap());
    let out = output(bin().args(["send", &tls_addr, "hi"]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(stderr(&out).contains("speaks TLS only"), "{out:?}");

    let (_plain, plain_addr) = serve_bin(&[]);
    let plain_addr = plain_addr.to_string();
    let out = output(bin().args(["send", &plain_addr, "hi", "--tls-fingerprint", &fp]));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(stderr(&out).contains("does not speak TLS"), "{out:?}");

    let wrong = fp.replacen(&fp[..2], if &fp[..2] == "00" { "11" } else { "00" }, 1);
    let out = output(bin().args(["send", &tls_addr, "hi", "--tls-fingerprint", &wrong]));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        stderr(&out).contains(&fp) && stderr(&out).contains(&wrong),
        "{out:?}"
    );

    let out = output(bin().args(["send", &tls_addr, "hi", "--tls"]));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        stderr(&out).contains("--tls-ca FILE or --tls-fingerprint"),
        "{out:?}"
    );
}

#[test]
fn certificate_files_a_ca_and_client_certificates() {
    let dir = TempDir::new("cli-tls-certs");
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path.to_str().unwrap().to_owned()
    };
    let ca = certs::Ca::new("server CA");
    let leaf = ca.leaf(&["localhost"]);
    let client_ca = certs::Ca::new("client CA");
    let client = client_ca.leaf(&["a client"]);
    let (ca_pem, cert, key) = (
        write("ca.pem", &ca.pem),
        write("cert.pem", &leaf.cert),
        write("key.pem", &leaf.key),
    );
    let client_ca_pem = write("client-ca.pem", &client_ca.pem);
    let (client_cert, client_key) = (
        write("client.pem", &client.cert),
        write("client-key.pem", &client.key),
    );

    let (_server, addr, _) = serve_tls(
        "127.0.0.1:0",
        &[
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-client-ca",
            &client_ca_pem,
        ],
    );
    let by_name = format!("localhost:{}", addr.rsplit(':').next().unwrap());
    let trust = TlsClientConfig::with_ca_pem(ca.pem.as_bytes())
        .unwrap()
        .with_client_cert(client.cert.as_bytes(), client.key.as_bytes())
        .unwrap();
    ping(&by_name, &trust);

    let send = |extra: &[&str]| {
        output(
            bin()
                .args(["send", &by_name, "certified", "--tls-ca", &ca_pem])
                .args(extra),
        )
    };
    let out = send(&["--tls-cert", &client_cert, "--tls-key", &client_key]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"certified");

    let out = send(&[]);
    assert!(!out.status.success(), "{out:?}");
    assert!(
        stderr(&out).contains("requires a client certificate"),
        "{out:?}"
    );

    // By IP: the certificate names only localhost.
    let out = output(bin().args([
        "send",
        &addr,
        "x",
        "--tls-ca",
        &ca_pem,
        "--tls-cert",
        &client_cert,
        "--tls-key",
        &client_key,
    ]));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(stderr(&out).contains("for another name"), "{out:?}");
}

#[test]
fn exec_off_loopback_needs_tls() {
    let out = output(
        bin()
            .args(["serve", "--bind", "0.0.0.0:0", "--service", "exec"])
            .env("SOCKFRAME_TOKEN", "tok")
            .stdin(Stdio::null()),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(stderr(&out).contains("needs TLS"), "{out:?}");
    // With TLS it starts (and is stopped by the guard).
    let (_server, addr, fp) = serve_tls(
        "0.0.0.0:0",
        &["--service", "exec", "--tls-self-signed", "--token", "tok"],
    );
    let port = addr.rsplit(':').next().unwrap();
    ping(
        &format!("127.0.0.1:{port}"),
        &TlsClientConfig::pinned(&fp).unwrap(),
    );
}

#[test]
fn plain_client_to_a_foreign_tls_server_is_told_to_use_tls() {
    // A TLS server that is not sockframe's (no tls-required frame): it answers the first
    // bytes with a TLS alert record (0x15, version 3.3, decode_error).
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        use std::io::{Read, Write};
        let (mut s, _) = listener.accept().unwrap();
        let mut first = [0u8; 16];
        let _ = s.read(&mut first);
        s.write_all(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x32])
            .unwrap();
        let _ = s.shutdown(std::net::Shutdown::Write);
        let _ = s.read_to_end(&mut Vec::new());
    });
    let out = output(bin().args(["send", &addr, "hi"]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains("the server speaks TLS; use --tls"),
        "{out:?}"
    );
    server.join().unwrap();
}
