//! Every class of bad input gets the right error frame and a closed connection, while a
//! well-behaved client on another connection goes on being served.

mod common;

use common::*;
use sockframe::{Header, Limits, PREFIX_LEN, encode_frame, encode_head};
use sockframe_std::ServerConfig;
use sockframe_std::services::Echo;
use std::io::{Read, Write};
use std::net::Shutdown;

/// What a bad peer sends, and whether it then half-closes (for truncation cases).
struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    close: bool,
    code: &'static str,
}

fn frame(header: &Header<'_>, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 1024 + payload.len()];
    let n = encode_frame(header, payload, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn cases() -> Vec<Case> {
    let good = frame(&Header::data(1, b"0123456789"), b"0123456789");
    let head_len = good.len() - 10;
    let mut bad_crc = Header::data(1, b"checked");
    bad_crc.crc = Some(0xDEAD_BEEF);
    let mut over_payload = vec![0u8; 64];
    let n = encode_head(
        &Header::new(sockframe::Kind::DATA, 1, 1 << 20),
        1 << 20,
        &mut over_payload,
    )
    .unwrap();
    over_payload.truncate(n);
    vec![
        Case {
            name: "HTTP request",
            bytes: b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec(),
            close: false,
            code: "bad-magic",
        },
        Case {
            name: "telnet line",
            bytes: b"hello there\r\n".to_vec(),
            close: false,
            code: "bad-magic",
        },
        Case {
            name: "bare 4-byte length prefix",
            bytes: b"\0\0\0\x05hello".to_vec(),
            close: false,
            code: "bad-magic",
        },
        Case {
            name: "TLS hello",
            bytes: vec![0x16, 0x03, 0x01, 0x02, 0x00],
            close: false,
            code: "bad-magic",
        },
        Case {
            name: "unknown version",
            bytes: vec![0xF5, 0x46, 0x09, 0x01, 0x00, 0x00],
            close: false,
            code: "bad-version",
        },
        Case {
            name: "header over the limit",
            bytes: vec![0xF5, 0x46, 0x01, 0xE8, 0x03], // 1000-byte header, limit 512
            close: false,
            code: "header-too-large",
        },
        Case {
            name: "payload over the limit",
            bytes: over_payload,
            close: false,
            code: "payload-too-large",
        },
        Case {
            name: "garbage header",
            bytes: vec![0xF5, 0x46, 0x01, 0x04, 0x00, 0xFF, 0xFF, 0xFF, 0xFF],
            close: false,
            code: "bad-header",
        },
        Case {
            name: "bad checksum",
            bytes: frame(&bad_crc, b"checked"),
            close: false,
            code: "bad-checksum",
        },
        Case {
            name: "truncated mid-prefix",
            bytes: good[..3].to_vec(),
            close: true,
            code: "truncated",
        },
        Case {
            name: "truncated mid-header",
            bytes: good[..PREFIX_LEN + 2].to_vec(),
            close: true,
            code: "truncated",
        },
        Case {
            name: "truncated mid-payload",
            bytes: good[..head_len + 4].to_vec(),
            close: true,
            code: "truncated",
        },
    ]
}

#[test]
fn each_bad_input_gets_its_error_frame_and_others_are_unaffected() {
    let cfg = ServerConfig {
        limits: Limits {
            max_header: 512,
            max_payload: 64 * 1024,
        },
        ..loopback()
    };
    let server = start(cfg, Echo);
    let addr = server.local_addr();
    let mut steady = connect(addr);
    for case in cases() {
        let mut s = raw(addr);
        s.write_all(&case.bytes).unwrap();
        if case.close {
            s.shutdown(Shutdown::Write).unwrap();
        }
        let mut bad = sockframe_std::Client::from_stream(s);
        let err = expect_error(&mut bad);
        assert_eq!(
            err.meta("code"),
            Some(case.code),
            "{}: {}",
            case.name,
            err.text()
        );
        assert!(
            !err.text().is_empty(),
            "{}: error frame names the problem",
            case.name
        );
        // Then the server closes the connection.
        let mut rest = Vec::new();
        let _ = bad.stream().try_clone().unwrap().read_to_end(&mut rest);
        assert!(
            rest.is_empty(),
            "{}: nothing after the error frame",
            case.name
        );
        assert_echo(&mut steady, case.name.as_bytes());
    }
}

#[test]
fn error_frame_names_the_foreign_protocol() {
    let server = echo();
    let mut s = raw(server.local_addr());
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut c = sockframe_std::Client::from_stream(s);
    let err = expect_error(&mut c);
    assert!(err.text().contains("HTTP"), "{}", err.text());
}

#[test]
fn a_peer_that_keeps_sending_garbage_still_reads_its_error_frame() {
    // Unread input at close would make the kernel reset the connection, which can destroy
    // the error frame: the server must drain before closing.
    let server = echo();
    let mut s = raw(server.local_addr());
    let junk = vec![b'x'; 256 * 1024];
    let writer = {
        let mut w = s.try_clone().unwrap();
        std::thread::spawn(move || {
            let _ = w.write_all(&junk);
            let _ = w.shutdown(Shutdown::Write);
        })
    };
    let mut first = [0u8; 2];
    s.read_exact(&mut first).unwrap();
    assert_eq!(first, sockframe::MAGIC, "the error frame arrives intact");
    writer.join().unwrap();
}

#[test]
fn every_service_answers_a_foreign_protocol_with_an_error_frame() {
    let root = TempDir::new("bad-files");
    let (_tx, rx) = tokio::sync::mpsc::channel(1);
    answers_a_foreign_protocol(sockframe_std::services::Exec(
        sockframe_std::services::ExecConfig::default(),
    ));
    answers_a_foreign_protocol(sockframe_std::services::Files(
        sockframe_std::services::FilesConfig::new(root.path()),
    ));
    answers_a_foreign_protocol(sockframe_std::services::Chat::new(rx, |_| {}));
}

/// HTTP gets `bad-magic`, a cut prefix `truncated`, from `service`.
fn answers_a_foreign_protocol<Svc: sockframe_std::Service>(service: Svc) {
    let name = service.name().to_owned();
    let server = sockframe_std::Server::spawn_thread(loopback(), service).unwrap();
    let mut s = raw(server.local_addr());
    s.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut c = sockframe_std::Client::from_stream(s);
    let err = expect_error(&mut c);
    assert_eq!(err.meta("code"), Some("bad-magic"), "{name}");
    // Truncation is reported too.
    let mut s = raw(server.local_addr());
    s.write_all(&[0xF5, 0x46, 0x01]).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut c = sockframe_std::Client::from_stream(s);
    assert_eq!(
        expect_error(&mut c).meta("code"),
        Some("truncated"),
        "{name}"
    );
}
