//! The blocking client reads while it writes: requests of any size up to the server's
//! limit complete through the echo (which answers cut-through, as it reads); a refused
//! request shows the server's error frame, not the failed write; replies are matched to
//! their request by id.

mod common;

use common::*;
use sockframe::{Header, Kind, Limits};
use sockframe_std::services::Echo;
use sockframe_std::wire::push_frame;
use sockframe_std::{ClientError, ServerConfig};
use std::io::{Read, Write};
use std::net::TcpListener;

const MIB: usize = 1 << 20;

/// `n` bytes that differ from one position to the next (a shifted or dropped piece shows).
fn pattern(n: usize) -> Vec<u8> {
    (0..n)
        .map(|i| (i as u32).wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect()
}

#[test]
fn a_100_mib_request_through_the_echo_comes_back_byte_exact() {
    let cfg = ServerConfig {
        limits: Limits {
            max_header: 512,
            max_payload: 200 * MIB as u64,
        },
        ..loopback()
    };
    let server = start(cfg, Echo);
    let payload = pattern(100 * MIB);
    let mut c = connect(server.local_addr());
    // Into a sink, as it arrives.
    let mut back = Vec::with_capacity(payload.len());
    let head = c
        .request_into(&Header::data(0, &payload), &payload, &mut back)
        .unwrap();
    assert_eq!(head.kind, Kind::DATA);
    assert_eq!(back.len(), payload.len());
    assert!(back == payload, "the echo differs from what was sent");
    drop(back);
    // Gathered whole, on the same connection.
    let reply = c.request(&payload[..30 * MIB]).unwrap();
    assert!(reply.payload == payload[..30 * MIB], "the echo differs");
    c.ping().unwrap();
}

#[test]
fn a_request_over_the_limit_shows_the_servers_error_frame() {
    // The default limit, 64 MiB: the server refuses at the head and closes while the
    // client is still writing.
    let server = echo();
    let payload = vec![0u8; 100 * MIB];
    let mut c = connect(server.local_addr());
    match c.request(&payload) {
        Err(ClientError::Remote { code, message, .. }) => {
            assert_eq!(code, "payload-too-large");
            assert!(
                message.contains("payload is 104857600 bytes, limit 67108864"),
                "{message}"
            );
        }
        other => panic!("expected the server's error frame, got {other:?}"),
    }
    // The same through a plain send (no reply expected): its failed write is explained.
    let mut c = connect(server.local_addr());
    match c.send(&Header::data(0, &payload), &payload) {
        Err(ClientError::Remote { message, .. }) => {
            assert!(message.contains("limit 67108864"), "{message}")
        }
        other => panic!("expected the server's error frame, got {other:?}"),
    }
}

#[test]
fn replies_are_matched_to_their_request_by_id() {
    // A server that first answers with a stale reply (another id), then with the real one.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut dec = sockframe::Decoder::new(vec![0u8; 4096]);
        let id = loop {
            let n = s.read(dec.read_buf()).unwrap();
            assert!(n > 0, "client closed");
            dec.commit(n);
            if let Some(sockframe::Event::Frame(f)) = dec.next_event().unwrap() {
                break f.header.id;
            }
        };
        let mut out = Vec::new();
        push_frame(&mut out, &Header::new(Kind::DATA, id + 100, 0), b"stale").unwrap();
        push_frame(&mut out, &Header::new(Kind::DATA, id, 0), b"mine").unwrap();
        s.write_all(&out).unwrap();
        // An error frame about another request is not this request's error either.
        let mut out = Vec::new();
        sockframe_std::wire::push_error(&mut out, id + 7, "bad-request", &"not yours");
        push_frame(&mut out, &Header::new(Kind::DATA, id + 1, 0), b"second").unwrap();
        s.write_all(&out).unwrap();
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let mut c = connect(addr);
    let reply = c.request(b"question").unwrap();
    assert_eq!(reply.payload, b"mine");
    let reply = c.request(b"next").unwrap();
    assert_eq!(reply.payload, b"second");
    drop(c);
    server.join().unwrap();
}
