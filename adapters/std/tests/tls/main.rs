//! TLS on the library's server and both clients: every service end to end, a large
//! transfer, bad input inside TLS, and each usual mistake answered with an error that
//! names it, the server serving on after every failed handshake.

mod certs;
#[path = "../common/mod.rs"]
mod common;

use certs::Ca;
use common::*;
use sockframe::{Header, Kind};
use sockframe_std::async_client::{AsyncClient, AsyncClientError};
use sockframe_std::codec::BytesFrame;
use sockframe_std::services::{Chat, ChatNote, Echo, Exec, ExecConfig, Files, FilesConfig};
use sockframe_std::tls::{TlsClientConfig, TlsServerConfig};
use sockframe_std::{Client, ClientError, Server, ServerConfig, ServerHandle, Service};

/// A server on loopback over TLS.
fn tls_server<Svc: Service>(tls: TlsServerConfig, service: Svc) -> (ServerHandle, String) {
    let cfg = ServerConfig {
        tls: Some(tls),
        ..loopback()
    };
    // Bound when spawn_thread returns: connections queue until accepted.
    let server = Server::spawn_thread(cfg, service).unwrap();
    let addr = server.local_addr().to_string();
    (server, addr)
}

/// An echo server with a self-signed certificate, and the pin for it.
fn self_signed_echo() -> (ServerHandle, String, TlsClientConfig) {
    let tls = TlsServerConfig::self_signed(&["localhost", "127.0.0.1"]).unwrap();
    let pin = TlsClientConfig::pinned(tls.fingerprint()).unwrap();
    let (server, addr) = tls_server(tls, Echo);
    (server, addr, pin)
}

/// The error of a connection attempt that must fail.
fn connect_error(addr: &str, tls: &TlsClientConfig) -> String {
    match Client::connect_tls(addr, tls) {
        Ok(_) => panic!("connecting to {addr} should have failed"),
        Err(e) => e.to_string(),
    }
}

/// The server still serves a good client.
fn still_serving(addr: &str, tls: &TlsClientConfig) {
    let mut client = Client::connect_tls(addr, tls).unwrap();
    assert_eq!(
        client.request(b"still here").unwrap().payload,
        b"still here"
    );
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

#[test]
fn echo_with_a_pinned_self_signed_certificate() {
    let (_server, addr, pin) = self_signed_echo();
    let mut client = Client::connect_tls(&addr, &pin).unwrap();
    for size in [0usize, 1, 100, 70_000] {
        let payload: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        let reply = client.request(&payload).unwrap();
        assert_eq!(reply.payload, payload, "size {size}");
    }
    client.ping().unwrap();
}

#[test]
fn echo_with_a_ca_and_the_name_checked() {
    let ca = Ca::new("test CA");
    let leaf = ca.leaf(&["localhost"]);
    let tls = TlsServerConfig::from_pem(leaf.cert.as_bytes(), leaf.key.as_bytes()).unwrap();
    let (server, _) = tls_server(tls, Echo);
    let addr = format!("localhost:{}", server.local_addr().port());
    let trust = TlsClientConfig::with_ca_pem(ca.pem.as_bytes()).unwrap();
    still_serving(&addr, &trust);
}

#[test]
fn async_client_over_tls_with_a_large_transfer_byte_exact() {
    let (_server, addr, pin) = self_signed_echo();
    rt().block_on(async {
        let client = AsyncClient::connect_tls(&addr, &pin).await.unwrap();
        // Many small requests in flight, then one of 32 MiB: written while the echo
        // streams it back, every byte compared.
        let mut tasks = Vec::new();
        for i in 0..200u32 {
            let client = client.clone();
            tasks.push(tokio::spawn(async move {
                let reply = client
                    .request(BytesFrame::data(0, i.to_string()))
                    .await
                    .unwrap();
                assert_eq!(reply.text(), i.to_string());
            }));
        }
        for t in tasks {
            t.await.unwrap();
        }
        let big: Vec<u8> = (0..32u32 << 20)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
            .collect();
        let reply = client
            .request(BytesFrame::data(0, big.clone()))
            .await
            .unwrap();
        assert!(reply.payload == big, "32 MiB over TLS came back different");
        client.ping().await.unwrap();
    });
}

#[test]
fn bad_input_inside_tls_gets_the_error_frame() {
    let (_server, addr, pin) = self_signed_echo();
    let mut client = Client::connect_tls(&addr, &pin).unwrap();
    client.send_raw(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let err = expect_error(&mut client);
    assert_eq!(err.meta("code"), Some("bad-magic"));
    assert!(err.text().contains("47 45 54 20"), "{}", err.text());
}

#[test]
fn plain_client_to_a_tls_server_is_told_to_use_tls() {
    let (server, addr, pin) = self_signed_echo();
    let mut plain = connect(server.local_addr());
    match plain.request(b"hello") {
        Err(ClientError::Remote { code, message, .. }) => {
            assert_eq!(code, "tls-required");
            assert!(message.contains("speaks TLS only"), "{message}");
            assert!(message.contains("0xf5"), "{message}");
        }
        other => panic!("expected a tls-required error frame, got {other:?}"),
    }
    still_serving(&addr, &pin);
}

#[test]
fn tls_client_to_a_plain_server_is_told_it_does_not_speak_tls() {
    let server = echo();
    let addr = server.local_addr().to_string();
    let pin = TlsClientConfig::pinned(&"00".repeat(32)).unwrap();
    let e = connect_error(&addr, &pin);
    assert!(e.contains("does not speak TLS"), "{e}");
    assert!(e.contains("error bad-magic"), "{e}");
    assert!(e.contains("looks like a TLS handshake"), "{e}");
    // The plain server serves on.
    assert_echo(&mut connect(server.local_addr()), b"plain");
}

#[test]
fn wrong_fingerprint_prints_both() {
    let (_server, addr, pin) = self_signed_echo();
    let other = TlsServerConfig::self_signed(&["localhost"]).unwrap();
    let wrong = TlsClientConfig::pinned(other.fingerprint()).unwrap();
    let e = connect_error(&addr, &wrong);
    assert!(e.contains(other.fingerprint()), "expected one missing: {e}");
    assert!(e.contains("fingerprint"), "{e}");
    let presented = e
        .split("fingerprint ")
        .nth(1)
        .and_then(|s| s.split(',').next())
        .unwrap();
    assert_eq!(presented.len(), 95, "{e}");
    assert_ne!(presented, other.fingerprint());
    still_serving(&addr, &pin);
}

#[test]
fn expired_mismatched_and_unknown_ca_certificates_are_named() {
    let ca = Ca::new("test CA");
    let trust = TlsClientConfig::with_ca_pem(ca.pem.as_bytes()).unwrap();

    let expired = ca.expired_leaf(&["127.0.0.1"]);
    let tls = TlsServerConfig::from_pem(expired.cert.as_bytes(), expired.key.as_bytes()).unwrap();
    let (_expired_server, addr) = tls_server(tls, Echo);
    let e = connect_error(&addr, &trust);
    assert!(e.contains("has expired"), "{e}");

    let misnamed = ca.leaf(&["example.org"]);
    let tls = TlsServerConfig::from_pem(misnamed.cert.as_bytes(), misnamed.key.as_bytes()).unwrap();
    let (_misnamed_server, addr) = tls_server(tls, Echo);
    let e = connect_error(&addr, &trust);
    assert!(e.contains("for another name"), "{e}");
    assert!(e.contains("example.org"), "{e}");
    // The name the certificate lists works.
    still_serving(&addr, &trust.clone().with_server_name("example.org"));

    let stranger = Ca::new("another CA");
    let e = connect_error(
        &addr,
        &TlsClientConfig::with_ca_pem(stranger.pem.as_bytes())
            .unwrap()
            .with_server_name("example.org"),
    );
    assert!(e.contains("not signed by the CA"), "{e}");
}

#[test]
fn client_certificates_when_required() {
    let server_tls = TlsServerConfig::self_signed(&["127.0.0.1"]).unwrap();
    let pin = TlsClientConfig::pinned(server_tls.fingerprint()).unwrap();
    let client_ca = Ca::new("client CA");
    let server_tls = server_tls
        .require_client_cert(client_ca.pem.as_bytes())
        .unwrap();
    assert!(server_tls.requires_client_cert());
    let (_server, addr) = tls_server(server_tls, Echo);

    // Without a certificate: TLS 1.3 rejects it after the client's handshake, at its
    // first read, which the client explains.
    let refused = match Client::connect_tls(&addr, &pin) {
        Err(e) => e.to_string(),
        Ok(mut c) => format!("{}", c.request(b"hi").unwrap_err()),
    };
    assert!(
        refused.contains("requires a client certificate"),
        "{refused}"
    );

    // Signed by a CA the server does not know.
    let stranger = Ca::new("stranger").leaf(&["client"]);
    let unknown = pin
        .clone()
        .with_client_cert(stranger.cert.as_bytes(), stranger.key.as_bytes())
        .unwrap();
    let refused = match Client::connect_tls(&addr, &unknown) {
        Err(e) => e.to_string(),
        Ok(mut c) => format!("{}", c.request(b"hi").unwrap_err()),
    };
    assert!(
        refused.contains("does not accept our client certificate"),
        "{refused}"
    );

    // The async client explains it the same way.
    let refused = rt().block_on(async {
        match AsyncClient::connect_tls(&addr, &pin).await {
            Err(e) => e.to_string(),
            Ok(c) => match c.request(BytesFrame::data(0, "hi")).await {
                Err(e @ AsyncClientError::ConnectionLost(_)) => e.to_string(),
                other => panic!("expected the connection lost, got {other:?}"),
            },
        }
    });
    assert!(
        refused.contains("requires a client certificate"),
        "{refused}"
    );

    // A certificate from the client CA is accepted.
    let good = client_ca.leaf(&["client"]);
    let with_cert = pin
        .with_client_cert(good.cert.as_bytes(), good.key.as_bytes())
        .unwrap();
    still_serving(&addr, &with_cert);
}

#[test]
fn exec_and_files_over_tls_and_not_in_clear_off_loopback() {
    let tls = TlsServerConfig::self_signed(&["127.0.0.1"]).unwrap();
    let pin = TlsClientConfig::pinned(tls.fingerprint()).unwrap();

    let exec = Exec(ExecConfig {
        token: Some("tls-token".into()),
        ..ExecConfig::default()
    });
    let (_exec_server, addr) = tls_server(tls.clone(), exec);
    let mut client = Client::connect_tls(&addr, &pin).unwrap();
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let outcome = client
        .exec(
            &["echo".into(), "over tls".into()],
            false,
            Some("tls-token"),
            &mut out,
            &mut err,
        )
        .unwrap();
    assert_eq!(outcome.status(), 0);
    assert_eq!(out, b"over tls\n");

    let root = TempDir::new("tls-files");
    let work = TempDir::new("tls-files-work");
    let (_files_server, addr) = tls_server(tls.clone(), Files(FilesConfig::new(root.path())));
    let data: Vec<u8> = (0..3_000_000u32).map(|i| (i % 253) as u8).collect();
    let src = work.path().join("up.bin");
    std::fs::write(&src, &data).unwrap();
    let mut client = Client::connect_tls(&addr, &pin).unwrap();
    client.put_file(&src, "up.bin", &mut |_, _| {}).unwrap();
    let back = work.path().join("back.bin");
    client.get_file("up.bin", &back, &mut |_, _| {}).unwrap();
    assert!(
        std::fs::read(&back).unwrap() == data,
        "file changed over TLS"
    );

    // Off loopback: refused in the clear, accepted over TLS.
    let rt = rt();
    let public = |tls: Option<TlsServerConfig>| ServerConfig {
        bind: "0.0.0.0:0".parse().unwrap(),
        tls,
        ..ServerConfig::default()
    };
    let token_exec = || {
        Exec(ExecConfig {
            token: Some("t".into()),
            ..ExecConfig::default()
        })
    };
    let e = rt
        .block_on(Server::bind(public(None), token_exec()))
        .unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::PermissionDenied);
    assert!(e.to_string().contains("needs TLS"), "{e}");
    let e = rt
        .block_on(Server::bind(
            public(None),
            Files(FilesConfig::new(root.path())),
        ))
        .unwrap_err();
    assert!(e.to_string().contains("files bound to 0.0.0.0"), "{e}");
    rt.block_on(Server::bind(public(Some(tls.clone())), token_exec()))
        .unwrap();
}

#[test]
fn chat_over_tls() {
    let tls = TlsServerConfig::self_signed(&["127.0.0.1"]).unwrap();
    let pin = TlsClientConfig::pinned(tls.fingerprint()).unwrap();
    let (reply_tx, reply_rx) = tokio::sync::mpsc::channel::<String>(4);
    let (seen_tx, seen_rx) = std::sync::mpsc::channel::<String>();
    let chat = Chat::new(reply_rx, move |note| {
        if let ChatNote::Message(_, text) = note {
            let _ = seen_tx.send(text.to_owned());
        }
    });
    let (_server, addr) = tls_server(tls, chat);
    let mut client = Client::connect_tls(&addr, &pin).unwrap();
    client
        .send(&Header::data(1, b"hello operator"), b"hello operator")
        .unwrap();
    let seen = seen_rx
        .recv_timeout(std::time::Duration::from_secs(30))
        .unwrap();
    assert_eq!(seen, "hello operator");
    reply_tx.blocking_send("hello client".into()).unwrap();
    let reply = client.expect_frame().unwrap();
    assert_eq!(reply.kind, Kind::DATA);
    assert_eq!(reply.payload, b"hello client");
}

#[test]
fn busy_over_tls_is_an_error_frame_inside_tls() {
    let tls = TlsServerConfig::self_signed(&["127.0.0.1"]).unwrap();
    let pin = TlsClientConfig::pinned(tls.fingerprint()).unwrap();
    let cfg = ServerConfig {
        max_conns: 1,
        tls: Some(tls),
        ..loopback()
    };
    let server = Server::spawn_thread(cfg, Echo).unwrap();
    let addr = server.local_addr().to_string();
    let mut first = Client::connect_tls(&addr, &pin).unwrap();
    first.ping().unwrap();
    let mut second = Client::connect_tls(&addr, &pin).unwrap();
    match second.request(b"x") {
        Err(ClientError::Remote { code, .. }) => assert_eq!(code, "busy"),
        other => panic!("expected busy, got {other:?}"),
    }
}
