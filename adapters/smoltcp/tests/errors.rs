//! Bad input and vanishing peers: the offender gets the core's error frame and is closed,
//! the other connections go on.

mod common;

use common::peer::{Peer, decode_all};
use common::world::{ServerConfig, World};
use common::{Prng, error_frame, expected_error, frame};
use smoltcp::time::Duration;
use sockframe::{Header, Kind, encode_head};

const N: usize = 1024;

struct Case {
    name: &'static str,
    code: &'static str,
    /// Bytes that precede the bad part (and come back first).
    echoed: Vec<u8>,
    bad: Vec<u8>,
    /// The peer closes its side after sending (so the stream is cut).
    fin: bool,
}

fn cases() -> Vec<Case> {
    let good = frame(&Header::data(5, b"hello"), b"hello");
    let mut head = [0u8; 64];
    let mut cases = vec![
        Case {
            name: "http request",
            code: "bad-magic",
            echoed: vec![],
            bad: b"GET / HTTP/1.1\r\nHost: board\r\n\r\n".to_vec(),
            fin: false,
        },
        Case {
            name: "garbage after a good frame",
            code: "bad-magic",
            echoed: good.clone(),
            bad: Prng::new(1).bytes(300).iter().map(|b| b & 0x7f).collect(),
            fin: false,
        },
        Case {
            name: "wrong version",
            code: "bad-version",
            echoed: good.clone(),
            bad: vec![0xF5, 0x46, 0x02, 0x03, 0x00, 0, 0, 0],
            fin: false,
        },
        Case {
            name: "oversize header",
            code: "header-too-large",
            echoed: vec![],
            bad: [&[0xF5, 0x46, 0x01][..], &9000u16.to_le_bytes(), &[0; 100]].concat(),
            fin: false,
        },
        Case {
            name: "malformed header",
            code: "bad-header",
            echoed: good.clone(),
            bad: vec![0xF5, 0x46, 0x01, 0x03, 0x00, 0x00, 0xFF, 0xFF],
            fin: false,
        },
        Case {
            name: "too much metadata",
            code: "too-much-metadata",
            echoed: vec![],
            bad: vec![0xF5, 0x46, 0x01, 0x07, 0x00, 0, 0, 0, 0, 0, 0, 9],
            fin: false,
        },
        Case {
            name: "bad checksum, whole frame",
            code: "bad-checksum",
            echoed: good.clone(),
            bad: frame(&Header::data(6, &[1; 100]).with_crc_of(b"other"), &[1; 100]),
            fin: false,
        },
        Case {
            name: "cut mid-frame by FIN",
            code: "truncated",
            echoed: good.clone(),
            bad: frame(&Header::data(7, &[2; 500]), &[2; 500])[..300].to_vec(),
            fin: true,
        },
    ];
    // Oversize payload: 1 TiB announced, over the 64 MiB limit.
    let n = encode_head(&Header::data(8, &[]), 1 << 40, &mut head).unwrap();
    cases.push(Case {
        name: "oversize payload",
        code: "payload-too-large",
        echoed: vec![],
        bad: [&head[..n], &[0; 50][..]].concat(),
        fin: false,
    });
    // A streamed frame's checksum is checked at its end: its bytes are echoed, then the
    // error follows.
    let big = vec![3; 5000];
    let streamed = frame(&Header::data(9, &big).with_crc_of(b"other"), &big);
    cases.push(Case {
        name: "bad checksum, streamed frame",
        code: "bad-checksum",
        echoed: [good.clone(), streamed.clone()].concat(),
        bad: vec![],
        fin: false,
    });
    cases
}

#[test]
fn each_bad_input_gets_its_error_frame_and_a_close_while_another_client_is_served() {
    let mut world = World::<2, N>::new(ServerConfig::BOARD);
    for case in cases() {
        // A good client keeps echoing through the whole case.
        let mut prng = Prng::new(case.bad.len() as u64);
        let good_stream: Vec<u8> = (0..60)
            .flat_map(|i| {
                let p = prng.payload(0, 2000);
                frame(&Header::data(i, &p), &p)
            })
            .collect();
        let good_handle = world.connect();
        let mut good = Peer::new(good_handle, good_stream.clone())
            .chunked(11, 900)
            .closing();

        let sent = [case.echoed.clone(), case.bad.clone()].concat();
        let err = expected_error::<N>(&sent);
        assert_eq!(err.code(), case.code, "{}: test data", case.name);
        let bad_handle = world.connect();
        let mut bad = Peer::new(bad_handle, sent);
        bad.close_when_written = case.fin;

        world.run_until(case.name, 20_000, |w| {
            good.pump(&mut w.client_sockets);
            bad.pump(&mut w.client_sockets);
            bad.at_eof(&w.client_sockets)
        });
        let expected = [case.echoed.clone(), error_frame(&err)].concat();
        assert!(
            bad.received == expected,
            "{}: got {:02x?}",
            case.name,
            &bad.received[bad.received.len().saturating_sub(300)..]
        );
        let tail = decode_all(&bad.received[case.echoed.len()..]);
        assert_eq!(
            tail,
            [(Kind::ERROR, 0, case.code.as_bytes().to_vec())],
            "{}",
            case.name
        );
        world.client(bad_handle).close();

        world.run_until("the good client's echo", 50_000, |w| {
            good.pump(&mut w.client_sockets);
            good.all_written() && good.at_eof(&w.client_sockets)
        });
        assert!(
            good.received == good_stream,
            "{}: good client's echo differs",
            case.name
        );
        world.run_until("both server sockets listening again", 1_000, |w| {
            w.listening() == 2
        });
    }
}

#[test]
fn a_peer_that_keeps_writing_after_its_error_is_still_closed() {
    let mut world = World::<1, N>::new(ServerConfig::BOARD);
    let garbage = vec![b'x'; 300_000];
    let handle = world.connect();
    let mut peer = Peer::new(handle, garbage).chunked(2, 3000);
    world.run_until("the error frame and FIN", 20_000, |w| {
        peer.pump(&mut w.client_sockets);
        peer.at_eof(&w.client_sockets)
    });
    assert_eq!(decode_all(&peer.received)[0].2, b"bad-magic");
    // The server drops what follows an error: the peer can write all it has.
    world.run_until("the rest of the garbage to be taken", 20_000, |w| {
        peer.pump(&mut w.client_sockets);
        peer.all_written() && w.client(handle).send_queue() == 0
    });
    world.client(handle).close();
    world.run_until("the socket listening again", 1_000, |w| w.listening() == 1);
}

#[test]
fn a_peer_that_never_closes_after_its_error_is_dropped_by_the_socket_timeout() {
    // After the error frame the server closes its side; a peer that then stays silent
    // would hold the socket in FIN-WAIT-2 forever. smoltcp's inactivity timeout (set by
    // the firmware) frees it.
    let config = ServerConfig {
        timeout: Some(Duration::from_secs(10)),
        ..ServerConfig::BOARD
    };
    let mut world = World::<1, N>::new(config);
    let handle = world.connect();
    let mut peer = Peer::new(handle, b"hello?\r\n".to_vec());
    world.run_until("the error frame and FIN", 1_000, |w| {
        peer.pump(&mut w.client_sockets);
        peer.at_eof(&w.client_sockets)
    });
    assert_eq!(decode_all(&peer.received)[0].2, b"bad-magic");
    let closed_at = world.steps;
    world.run_until("the timeout to free the socket", 15_000, |w| {
        w.listening() == 1
    });
    assert!(world.steps - closed_at >= 9_000, "freed too early");
}

#[test]
fn peer_reset_mid_frame_frees_the_socket_for_the_next_client() {
    let mut world = World::<2, N>::new(ServerConfig::BOARD);
    let whole = frame(&Header::data(1, &[4; 600]), &[4; 600]);
    let streamed = frame(&Header::data(2, &[5; 10_000]), &[5; 10_000]);
    // Cut inside a whole frame, inside a streamed one, and with echo backed up unread.
    for (name, bytes, cut, read) in [
        ("whole frame", &whole, 300, true),
        ("streamed frame", &streamed, 6000, true),
        ("unread echo", &streamed, 9000, false),
    ] {
        let mut prng = Prng::new(cut as u64);
        let other_stream: Vec<u8> = (0..40)
            .flat_map(|i| {
                let p = prng.payload(0, 3000);
                frame(&Header::data(i, &p), &p)
            })
            .collect();
        let other_handle = world.connect();
        let mut other = Peer::new(other_handle, other_stream.clone())
            .chunked(4, 1500)
            .closing();

        let handle = world.connect();
        let mut peer = Peer::new(handle, bytes[..cut].to_vec());
        peer.reading = read;
        world.run_until("the partial frame to be sent", 5_000, |w| {
            peer.pump(&mut w.client_sockets);
            other.pump(&mut w.client_sockets);
            peer.all_written() && w.client(handle).send_queue() == 0
        });
        world.client(handle).abort();
        world.run_until(name, 5_000, |w| {
            other.pump(&mut w.client_sockets);
            w.listening() == 1
        });
        world.run_until("the other client's echo", 50_000, |w| {
            other.pump(&mut w.client_sockets);
            other.all_written() && other.at_eof(&w.client_sockets)
        });
        assert!(
            other.received == other_stream,
            "{name}: other client's echo differs"
        );

        // The freed socket serves a new client from a clean state.
        let next = world.connect();
        let hello = frame(&Header::data(3, b"again"), b"again");
        let mut again = Peer::new(next, hello.clone()).closing();
        world.run_until("a new client's echo", 5_000, |w| {
            again.pump(&mut w.client_sockets);
            again.all_written() && again.at_eof(&w.client_sockets)
        });
        assert_eq!(again.received, hello, "{name}");
        world.run_until("the pool listening", 1_000, |w| w.listening() == 2);
    }
}

/// A fault in the header after `len` is answered as soon as the header is in, with the
/// payload it announced still to come and the peer's side still open: the byte the desktop
/// answers at (it decodes each header once it has arrived).
#[test]
fn header_faults_after_len_are_answered_when_the_header_is_in() {
    let mut world = World::<1, N>::new(ServerConfig::BOARD);
    // Each header announces a payload of 4 bytes that never comes.
    let cases = [
        // name tag 07: neither absent (00) nor present (01).
        (
            "bad option tag",
            "bad-header",
            vec![0x00, 0x01, 0x04, 0x00, 0x07, 0x00, 0x00],
        ),
        // meta count 9, over the limit of 8.
        (
            "too much metadata",
            "too-much-metadata",
            vec![0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x09],
        ),
        // name of 5 bytes, 1 given: the field runs past header_len.
        (
            "name past the header",
            "bad-header",
            vec![0x00, 0x01, 0x04, 0x00, 0x01, 0x05, 0x61],
        ),
    ];
    for (name, code, header) in cases {
        let head = [&[0xF5, 0x46, 0x01, header.len() as u8, 0x00][..], &header].concat();
        let handle = world.connect();
        let mut peer = Peer::new(handle, head.clone());
        world.run_until(name, 1_000, |w| {
            peer.pump(&mut w.client_sockets);
            peer.at_eof(&w.client_sockets)
        });
        assert_eq!(
            peer.received,
            error_frame(&expected_error::<N>(&head)),
            "{name}"
        );
        assert_eq!(decode_all(&peer.received)[0].2, code.as_bytes(), "{name}");
        world.client(handle).close();
        world.run_until("the socket listening again", 1_000, |w| w.listening() == 1);
    }
}
