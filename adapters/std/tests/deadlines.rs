//! The server's deadlines against peers that are slow on purpose: one byte a second inside
//! a frame (the frame deadline), and a peer that sends but never reads (the write timeout,
//! with the server's queued replies bounded meanwhile). A well-behaved client is served
//! throughout, and a slow but honest large frame is not cut.

mod common;

use common::{assert_echo, connect, expect_error, loopback, start};
use sockframe::{Header, Kind};
use sockframe_std::ServerConfig;
use sockframe_std::services::Echo;
use sockframe_std::wire::{push_frame, push_head};
use std::io::{ErrorKind, Write};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// A config with a short frame deadline: 1 s plus 1 s per 1024 bytes.
fn short_frame_deadline() -> ServerConfig {
    ServerConfig {
        frame_timeout: Some(Duration::from_secs(1)),
        min_rate: 1024,
        ..loopback()
    }
}

#[test]
fn one_byte_per_interval_gets_a_frame_timeout_with_its_numbers() {
    let server = start(short_frame_deadline(), Echo);
    let addr = server.local_addr();
    let mut good = connect(addr);

    let mut frame = Vec::new();
    push_frame(&mut frame, &Header::new(Kind::DATA, 1, 100), &[7u8; 100]).unwrap();
    let slow = TcpStream::connect(addr).unwrap();
    let mut writer = slow.try_clone().unwrap();
    let (done_tx, done_rx) = mpsc::channel::<()>();
    // One byte every 100 ms: well inside the 300 s idle timeout, far below 1024 B/s.
    let trickle = thread::spawn(move || {
        for b in frame {
            if writer.write_all(&[b]).is_err() || done_rx.try_recv().is_ok() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    // The good client is served while the slow one trickles.
    for i in 0..5 {
        assert_echo(&mut good, &vec![i as u8; 1000]);
        thread::sleep(Duration::from_millis(100));
    }

    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut client = sockframe_std::Client::from_stream(slow);
    let err = expect_error(&mut client);
    let _ = done_tx.send(());
    trickle.join().unwrap();
    assert_eq!(err.meta("code"), Some("frame-timeout"));
    let text = err.text();
    eprintln!("the trickling peer got: {text}");
    assert!(
        text.contains("bytes received") && text.contains("1 s plus 1 s per 1024 bytes"),
        "message gives the numbers: {text}"
    );
    // After the error frame, the end of the connection.
    assert!(matches!(client.recv_frame(), Ok(None) | Err(_)));
    assert_echo(&mut good, b"still served");
}

#[test]
fn a_slow_but_steady_large_frame_is_not_cut() {
    let server = start(short_frame_deadline(), Echo);
    let mut client = connect(server.local_addr());
    // 256 KiB in 32 pieces, 60 ms apart: about 2 s in all, twice the frame timeout, but
    // at well over 1024 B/s. The frame streams through the 16 KiB server buffer.
    let payload: Vec<u8> = (0..256 * 1024).map(|i| (i * 7 % 251) as u8).collect();
    let mut head = Vec::new();
    push_head(
        &mut head,
        &Header::new(Kind::DATA, 9, 0),
        payload.len() as u64,
    )
    .unwrap();
    let mut writer = client.stream().try_clone().unwrap();
    let sent = payload.clone();
    let sender = thread::spawn(move || {
        writer.write_all(&head).unwrap();
        for piece in sent.chunks(8 * 1024) {
            writer.write_all(piece).unwrap();
            thread::sleep(Duration::from_millis(60));
        }
    });
    let reply = client.expect_frame().expect("the whole frame echoed");
    sender.join().unwrap();
    assert_eq!(reply.id, 9);
    assert!(reply.payload == payload, "payload echoed byte-exact");
}

#[test]
fn a_peer_that_never_reads_is_cut_off_and_holds_bounded_memory() {
    let cfg = ServerConfig {
        write_timeout: Some(Duration::from_secs(1)),
        ..loopback()
    };
    let server = start(cfg, Echo);
    let addr = server.local_addr();
    let mut good = connect(addr);

    let mut hog = TcpStream::connect(addr).unwrap();
    let mut frame = Vec::new();
    push_frame(
        &mut frame,
        &Header::new(Kind::DATA, 1, 0),
        &[0x5a; 60 * 1024],
    )
    .unwrap();
    // Write frames and never read: the server's replies fill the kernel buffers, the
    // server stops reading (its queued replies are capped), our writes block, and after
    // the write timeout the server resets the connection, which ends our writes.
    let pusher = thread::spawn(move || {
        let mut sent: u64 = 0;
        loop {
            match hog.write_all(&frame) {
                Ok(()) => sent += frame.len() as u64,
                Err(e) => return (sent, e.kind()),
            }
            if sent > 1 << 30 {
                return (sent, ErrorKind::Other);
            }
        }
    });
    // Served while the hog's writes are stalled.
    for i in 0..10 {
        assert_echo(&mut good, &vec![i as u8; 4096]);
        thread::sleep(Duration::from_millis(50));
    }
    let (sent, kind) = pusher.join().unwrap();
    eprintln!("the peer that never reads pushed {sent} bytes before {kind:?}");
    assert!(
        matches!(
            kind,
            ErrorKind::ConnectionReset | ErrorKind::BrokenPipe | ErrorKind::ConnectionAborted
        ),
        "the server cut the connection ({kind:?} after {sent} bytes)"
    );
    // What the hog could push is what the kernel buffers on both sides hold plus the
    // server's capped queue: megabytes, not the gigabyte it tried.
    assert!(
        sent < 64 << 20,
        "server kept reading from a peer that never reads: {sent} bytes"
    );
    assert_echo(&mut good, b"still served");
}
