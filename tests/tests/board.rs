//! Desktop <-> board: the core's std side talking to the firmware in QEMU.
//!
//! Needs `qemu-system-arm` and the `thumbv7m-none-eabi` target (`cargo xtask setup` installs
//! both). Each test boots its own board on a free port; the board is killed on drop, also
//! when the test fails.

use sockframe::checksum::crc32c;
use sockframe::{DecodeError, Header, Kind, PREFIX_LEN, Stage};
use sockframe_tests::board::{Board, default_firmware};
use sockframe_tests::client::EchoClient;
use sockframe_tests::{frame, pattern};
use std::io::Write as _;
use std::net::{Shutdown, SocketAddr};
use std::sync::Barrier;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);

fn boot() -> Board {
    Board::boot(&default_firmware().expect("firmware")).expect("board boots and echoes")
}

#[test]
fn echoes_every_size_byte_exact_up_to_a_16_mib_stream() {
    let board = boot();
    let mut c = EchoClient::connect(board.addr(), TIMEOUT).unwrap();
    for (i, len) in [1usize, 64, 1024, 64 * 1024, 16 << 20]
        .into_iter()
        .enumerate()
    {
        c.echo(i as u32, &pattern(len, i as u32))
            .unwrap_or_else(|e| panic!("{len} bytes: {e}\n{}", board.log()));
    }
}

/// Connects and gets a first echo, retrying for a moment: right after another connection
/// ended (here the readiness probe's), its socket may still be closing, and a client finding
/// no listening socket in the pool is reset (smoltcp has no accept backlog).
fn connect_served(addr: SocketAddr) -> Result<EchoClient, String> {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let attempt = EchoClient::connect(addr, TIMEOUT)
            .and_then(|mut c| c.echo(u32::MAX, b"first").map(|()| c));
        match attempt {
            Ok(c) => return Ok(c),
            Err(e) if Instant::now() > deadline => return Err(e),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

#[test]
fn four_concurrent_clients() {
    let board = boot();
    // All four connections are open at once before the traffic starts: the pool has 4
    // sockets.
    let all_connected = Barrier::new(4);
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let (addr, all_connected) = (board.addr(), &all_connected);
            s.spawn(move || {
                let mut c = connect_served(addr).unwrap_or_else(|e| panic!("client {t}: {e}"));
                all_connected.wait();
                for i in 0..25u32 {
                    let len = [1, 100, 3000, 20_000][(i % 4) as usize];
                    c.echo(i, &pattern(len, t * 100 + i))
                        .unwrap_or_else(|e| panic!("client {t}: {e}"));
                }
            });
        }
    });
}

#[test]
fn two_hundred_sequential_connections() {
    let board = boot();
    for i in 0..200u32 {
        let mut c = EchoClient::connect(board.addr(), TIMEOUT).unwrap();
        c.echo(i, &pattern(32, i))
            .unwrap_or_else(|e| panic!("connection {i}: {e}"));
    }
}

/// One confused peer: what it sends, whether it then cuts the stream (FIN), and the error the
/// core reports for that (its `code()` and message make the error frame).
struct BadInput {
    what: &'static str,
    bytes: Vec<u8>,
    fin: bool,
    error: DecodeError,
}

/// The core's error for a peer whose stream starts with `bytes` (the decoder keeps up to
/// four of them for its message).
fn bad_magic(bytes: &[u8]) -> DecodeError {
    let mut seen = [0; 4];
    let n = bytes.len().min(4);
    seen[..n].copy_from_slice(&bytes[..n]);
    DecodeError::BadMagic {
        seen,
        seen_len: n as u8,
    }
}

fn bad_inputs() -> Vec<BadInput> {
    let http = b"GET / HTTP/1.1\r\nHost: board\r\n\r\n";
    let length_prefix = [0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o'];
    // The opening of a TLS 1.2 ClientHello: record header (handshake, 3.1, 200 bytes),
    // handshake header (ClientHello, 196 bytes), client version 3.3.
    let tls = [
        0x16, 0x03, 0x01, 0x00, 0xC8, 0x01, 0x00, 0x00, 0xC4, 0x03, 0x03,
    ];
    let telnet = b"hello\r\n";
    let checked = b"checked";
    let mut bad_crc = Header::data(1, checked);
    bad_crc.crc = Some(0xDEAD_BEEF);
    let payload = b"0123456789";
    let good = frame(&Header::data(1, payload), payload);
    let head_len = good.len() - payload.len();
    let cut = |stage, have: usize, need: usize| DecodeError::UnexpectedEof {
        stage,
        have: have as u64,
        need: need as u64,
    };
    let case = |what, bytes: &[u8], fin, error| BadInput {
        what,
        bytes: bytes.to_vec(),
        fin,
        error,
    };
    vec![
        case("http", http, false, bad_magic(http)),
        case(
            "bare length prefix",
            &length_prefix,
            false,
            bad_magic(&length_prefix),
        ),
        case(
            "oversized header",
            &[0xF5, 0x46, 0x01, 0x28, 0x23],
            false,
            DecodeError::HeaderTooLarge {
                len: 9000,
                limit: 512,
            },
        ),
        case(
            "future version",
            &[0xF5, 0x46, 0x07, 0x07, 0x00],
            false,
            DecodeError::UnsupportedVersion { version: 7 },
        ),
        case("TLS ClientHello", &tls, false, bad_magic(&tls)),
        case("telnet line", telnet, false, bad_magic(telnet)),
        case(
            "bad checksum",
            &frame(&bad_crc, checked),
            false,
            DecodeError::BadChecksum {
                expected: 0xDEAD_BEEF,
                actual: crc32c(checked),
            },
        ),
        case(
            "FIN mid-prefix",
            &good[..3],
            true,
            cut(Stage::Prefix, 3, PREFIX_LEN),
        ),
        case(
            "FIN mid-header",
            &good[..PREFIX_LEN + 2],
            true,
            cut(Stage::Header, 2, head_len - PREFIX_LEN),
        ),
        case(
            "FIN mid-payload",
            &good[..head_len + 4],
            true,
            cut(Stage::Payload, 4, payload.len()),
        ),
    ]
}

/// Each confused peer gets the error frame the core makes for its input (`Kind::ERROR`, id 0,
/// the error's `code`, its message) and then the end of the stream; a good client connecting
/// right after is served.
#[test]
fn bad_input_gets_an_error_frame_and_the_board_serves_the_next_client() {
    let board = boot();
    for BadInput {
        what,
        bytes,
        fin,
        error,
    } in bad_inputs()
    {
        let mut c = EchoClient::connect(board.addr(), TIMEOUT).unwrap();
        c.stream().write_all(&bytes).unwrap();
        if fin {
            c.stream().shutdown(Shutdown::Write).unwrap();
        }
        let reply = c
            .recv()
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .unwrap_or_else(|| panic!("{what}: the connection ended without an error frame"));
        assert_eq!(
            (reply.kind, reply.id, reply.code.as_deref()),
            (Kind::ERROR, 0, Some(error.code())),
            "{what}: {}",
            String::from_utf8_lossy(&reply.payload)
        );
        assert_eq!(
            String::from_utf8_lossy(&reply.payload),
            error.to_string(),
            "{what}: the error message"
        );
        assert_eq!(
            c.recv(),
            Ok(None),
            "{what}: the end (FIN) after the error frame"
        );
        let mut good = EchoClient::connect(board.addr(), TIMEOUT).unwrap();
        good.echo(1, b"still serving")
            .unwrap_or_else(|e| panic!("after {what}: {e}"));
    }
}

#[test]
fn ping_gets_pong() {
    let board = boot();
    let mut c = EchoClient::connect(board.addr(), TIMEOUT).unwrap();
    c.send(&Header::new(Kind::PING, 77, 0), b"").unwrap();
    let reply = c.recv().unwrap().unwrap();
    assert_eq!((reply.kind, reply.id), (Kind::PONG, 77));
}
