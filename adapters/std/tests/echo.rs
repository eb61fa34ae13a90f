//! The echo service end to end on loopback sockets, and the server's connection handling:
//! pipelining, streaming, disconnects, restart, max-conns, idle timeout, shutdown.

mod common;

use common::*;
use sockframe::{Event, Header, Kind, Limits, encode_frame};
use sockframe_std::services::Echo;
use sockframe_std::wire::push_frame;
use sockframe_std::{Client, Server, ServerConfig};
use std::io::{Read, Write};
use std::time::Duration;

#[test]
fn small_frames_come_back_unchanged() {
    let server = echo();
    let mut c = connect(server.local_addr());
    assert_echo(&mut c, b"hello");
    assert_echo(&mut c, b"");
    // Every header field survives: kind, id, name, flags, crc, metadata.
    let pairs = [("k", "v"), ("lang", "rust")];
    let sent = Header::new(Kind(200), 77, 0)
        .with_name("greeting")
        .with_more()
        .with_crc_of(b"payload")
        .with_meta(&pairs);
    c.send(&sent, b"payload").unwrap();
    let got = c.recv_frame().unwrap().unwrap();
    assert_eq!(got.kind, Kind(200));
    assert_eq!(got.id, 77);
    assert_eq!(got.name.as_deref(), Some("greeting"));
    assert!(got.flags.contains(sockframe::Flags::MORE));
    assert_eq!(got.crc, sent.crc);
    assert_eq!(got.meta("lang"), Some("rust"));
    assert_eq!(got.meta("k"), Some("v"));
    assert_eq!(got.payload, b"payload");
}

#[test]
fn ping_is_answered_with_pong() {
    let server = echo();
    let mut c = connect(server.local_addr());
    let pong = c
        .request_with(&Header::new(Kind::PING, 0, 0), b"x")
        .unwrap();
    assert_eq!(pong.kind, Kind::PONG);
    assert_eq!(pong.payload, b"x");
}

#[test]
fn many_frames_in_one_write_are_all_answered_in_order() {
    let server = echo();
    let mut c = connect(server.local_addr());
    let mut wire = Vec::new();
    for id in 1..=500u32 {
        let payload = format!("message {id}");
        push_frame(
            &mut wire,
            &Header::data(id, payload.as_bytes()),
            payload.as_bytes(),
        )
        .unwrap();
    }
    let stats = server.stats();
    let (frames0, reads0, writes0) = (stats.frames(), stats.reads(), stats.writes());
    c.send_raw(&wire).unwrap();
    for id in 1..=500u32 {
        let f = c.recv_frame().unwrap().unwrap();
        assert_eq!(f.id, id);
        assert_eq!(f.payload, format!("message {id}").as_bytes());
    }
    // Replies are batched: reads and writes together stay far below one per message.
    let frames = stats.frames() - frames0;
    let calls = (stats.reads() - reads0) + (stats.writes() - writes0);
    assert!(frames >= 500, "{frames} frames counted");
    assert!(
        calls * 10 <= frames,
        "{calls} reads+writes for {frames} frames"
    );
}

#[test]
fn frames_split_byte_by_byte_are_reassembled() {
    let server = echo();
    let mut c = connect(server.local_addr());
    let mut wire = [0u8; 64];
    let n = encode_frame(&Header::data(9, b"split"), b"split", &mut wire).unwrap();
    for byte in &wire[..n] {
        c.send_raw(std::slice::from_ref(byte)).unwrap();
    }
    let f = c.recv_frame().unwrap().unwrap();
    assert_eq!((f.id, f.payload.as_slice()), (9, &b"split"[..]));
}

#[test]
fn frame_larger_than_the_server_buffer_streams_through() {
    // 16 KiB server buffer, 300 KiB frame with a checksum the server passes on untouched.
    let server = echo();
    let mut c = connect(server.local_addr());
    let payload: Vec<u8> = (0..300 * 1024u32).map(|i| (i * 7 % 251) as u8).collect();
    let header = Header::data(5, &payload).with_crc_of(&payload);
    c.send(&header, &payload).unwrap();
    let f = c.recv_frame().unwrap().unwrap();
    assert_eq!(f.id, 5);
    assert_eq!(f.crc, header.crc);
    assert!(f.payload == payload, "payload differs");
    // The connection is still in step afterwards.
    assert_echo(&mut c, b"after");
}

#[test]
fn streamed_reply_arrives_as_start_chunks_end_with_a_small_client_buffer() {
    let server = echo();
    let stream = std::net::TcpStream::connect(server.local_addr()).unwrap();
    let mut c = Client::with_buffer(stream, 1024, Client::LIMITS);
    let payload = vec![0xA5u8; 20_000];
    c.send(&Header::data(1, &payload), &payload).unwrap();
    let mut got = 0;
    loop {
        match c.recv().unwrap().unwrap() {
            Event::Start(h) => assert_eq!(h.len, 20_000),
            Event::Chunk(bytes) => {
                assert!(bytes.iter().all(|b| *b == 0xA5));
                got += bytes.len();
            }
            Event::End => break,
            Event::Frame(_) => panic!("20 KB cannot fit a 1 KiB buffer"),
            Event::Abort(a) => panic!("nothing was aborted: {a:?}"),
        }
    }
    assert_eq!(got, 20_000);
}

#[test]
fn concurrent_clients_are_served_independently() {
    let server = echo();
    let addr = server.local_addr();
    let threads: Vec<_> = (0..16)
        .map(|t| {
            std::thread::spawn(move || {
                let mut c = connect(addr);
                for i in 0..100 {
                    assert_echo(&mut c, format!("client {t} message {i}").as_bytes());
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn abrupt_disconnect_mid_frame_ends_only_that_connection() {
    let cfg = ServerConfig {
        max_conns: 2,
        ..loopback()
    };
    let server = start(cfg, Echo);
    let addr = server.local_addr();
    let mut steady = connect(addr);
    assert_echo(&mut steady, b"before");
    for _ in 0..5 {
        let mut s = raw(addr);
        let mut wire = [0u8; 256];
        let n = encode_frame(&Header::data(1, &[7; 200]), &[7; 200], &mut wire).unwrap();
        s.write_all(&wire[..n / 2]).unwrap();
        // Reset, not a clean close: SO_LINGER 0.
        socket2::SockRef::from(&s)
            .set_linger(Some(Duration::ZERO))
            .unwrap();
        drop(s);
        assert_echo(&mut steady, b"still served");
    }
    // The reset connections gave their slots back (max_conns is 2: steady + one more).
    eventually("a slot is free again", || {
        let mut c = connect(addr);
        c.request(b"x").is_ok_and(|f| f.kind == Kind::DATA)
    });
}

#[test]
fn restart_binds_the_same_port_at_once() {
    let server = echo();
    let addr = server.local_addr();
    // A connection the server closes first leaves the server's side in TIME_WAIT, which
    // blocks a plain rebind; SO_REUSEADDR must let the new server bind anyway.
    let mut c = connect(addr);
    c.send_raw(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(expect_error(&mut c).meta("code"), Some("bad-magic"));
    drop(c);
    server.stop().unwrap();
    let cfg = ServerConfig {
        bind: addr,
        ..ServerConfig::default()
    };
    let again = start(cfg, Echo);
    assert_eq!(again.local_addr(), addr);
    let mut c = connect(addr);
    assert_echo(&mut c, b"second life");
}

#[test]
fn newcomer_beyond_max_conns_gets_busy() {
    let cfg = ServerConfig {
        max_conns: 2,
        ..loopback()
    };
    let server = start(cfg, Echo);
    let addr = server.local_addr();
    let mut a = connect(addr);
    let mut b = connect(addr);
    assert_echo(&mut a, b"a");
    // The readiness ping's connection may still hold its slot for a moment.
    eventually("second slot taken by b", || {
        b = connect(addr);
        b.request(b"b").is_ok()
    });
    let mut c = connect(addr);
    let err = expect_error(&mut c);
    assert_eq!(err.meta("code"), Some("busy"));
    assert!(c.recv_frame().unwrap().is_none(), "closed after busy");
    // The two served connections are unaffected, and a freed slot is reused.
    assert_echo(&mut a, b"a again");
    drop(b);
    eventually("freed slot reused", || connect(addr).request(b"c").is_ok());
}

#[test]
fn idle_connection_is_closed_after_the_timeout() {
    let cfg = ServerConfig {
        idle_timeout: Some(Duration::from_millis(300)),
        ..loopback()
    };
    let server = start(cfg, Echo);
    let mut c = connect(server.local_addr());
    assert_echo(&mut c, b"then silence");
    // Blocks until the server acts: no sleep in the test.
    let err = expect_error(&mut c);
    assert_eq!(err.meta("code"), Some("idle-timeout"));
    assert!(c.recv_frame().unwrap().is_none());
}

#[test]
fn stalled_mid_frame_connection_is_closed_too() {
    let cfg = ServerConfig {
        idle_timeout: Some(Duration::from_millis(300)),
        ..loopback()
    };
    let server = start(cfg, Echo);
    let mut c = connect(server.local_addr());
    let mut wire = [0u8; 64];
    let n = encode_frame(&Header::data(1, b"slowloris"), b"slowloris", &mut wire).unwrap();
    c.send_raw(&wire[..n - 3]).unwrap();
    assert_eq!(expect_error(&mut c).meta("code"), Some("idle-timeout"));
}

#[test]
fn shutdown_finishes_the_frame_in_flight() {
    let server = echo();
    let addr = server.local_addr();
    let mut c = connect(addr);
    let mut wire = Vec::new();
    push_frame(&mut wire, &Header::data(1, b"first"), b"first").unwrap();
    push_frame(&mut wire, &Header::data(2, b"second"), b"second").unwrap();
    let cut = wire.len() - 3;
    c.send_raw(&wire[..cut]).unwrap();
    // The first echo proves the server has read (at least) up to the cut frame.
    assert_eq!(c.recv_frame().unwrap().unwrap().id, 1);
    let stopping = std::thread::spawn(move || server.stop());
    // A new connection is refused or closed once the listener is gone...
    eventually("listener closed", || {
        std::net::TcpStream::connect(addr)
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionRefused)
    });
    // ...but the frame in flight completes and is answered.
    c.send_raw(&wire[cut..]).unwrap();
    let second = c.recv_frame().unwrap().unwrap();
    assert_eq!((second.id, second.payload.as_slice()), (2, &b"second"[..]));
    // Then the server says goodbye and closes.
    let bye = expect_error(&mut c);
    assert_eq!(bye.meta("code"), Some("shutdown"));
    drop(c);
    stopping.join().unwrap().unwrap();
}

#[test]
fn server_runs_until_a_future_completes() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let server = Server::bind(loopback(), Echo).await.unwrap();
        let addr = server.local_addr();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let client = tokio::task::spawn_blocking(move || {
            let mut c = connect(addr);
            assert_echo(&mut c, b"async");
            drop(c);
            let _ = tx.send(());
        });
        server
            .run_until(async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        client.await.unwrap();
    });
}

#[test]
fn payload_limit_comes_from_the_config() {
    let cfg = ServerConfig {
        limits: Limits {
            max_header: 512,
            max_payload: 100,
        },
        ..loopback()
    };
    let server = start(cfg, Echo);
    let mut c = connect(server.local_addr());
    assert_echo(&mut c, &[1; 100]);
    c.send(&Header::data(2, &[1; 101]), &[1; 101]).unwrap();
    assert_eq!(expect_error(&mut c).meta("code"), Some("payload-too-large"));
}

#[test]
fn reads_from_a_closed_server_end_cleanly() {
    let server = echo();
    let mut s = raw(server.local_addr());
    s.shutdown(std::net::Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "a clean close gets no error frame");
}

#[test]
fn idle_connections_hold_no_receive_buffer() {
    let server = echo();
    let addr = server.local_addr();
    let mut clients: Vec<Client> = (0..50).map(|_| connect(addr)).collect();
    for (i, c) in clients.iter_mut().enumerate() {
        assert_echo(c, format!("once {i}").as_bytes());
    }
    // A frame in flight holds a buffer...
    let mut wire = [0u8; 64];
    let n = encode_frame(&Header::data(1, b"half"), b"half", &mut wire).unwrap();
    clients[0].send_raw(&wire[..n - 2]).unwrap();
    eventually("buffer held mid-frame", || {
        server.stats().buffers_in_use() == 1
    });
    // ...and is given back once the connection is between frames again.
    clients[0].send_raw(&wire[n - 2..n]).unwrap();
    assert_eq!(clients[0].recv_frame().unwrap().unwrap().payload, b"half");
    eventually("no buffers held by idle connections", || {
        server.stats().buffers_in_use() == 0
    });
}
