//! Desktop <-> board: the core's std side talking to the firmware in QEMU.
//!
//! Needs `qemu-system-arm` and the `thumbv7m-none-eabi` target (`cargo xtask setup` installs
//! both). Each test boots its own board on a free port; the board is killed on drop, also
//! when the test fails.

use sockframe::{Header, Kind};
use sockframe_tests::board::{Board, default_firmware};
use sockframe_tests::client::EchoClient;
use sockframe_tests::pattern;
use std::io::Write as _;
use std::net::SocketAddr;
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

/// Each confused peer gets an error frame naming the problem and is closed; a good client
/// connecting right after is served.
#[test]
fn bad_input_gets_an_error_frame_and_the_board_serves_the_next_client() {
    let board = boot();
    let cases: [(&str, &[u8], &str); 4] = [
        (
            "http",
            b"GET / HTTP/1.1\r\nHost: board\r\n\r\n",
            "bad-magic",
        ),
        (
            "bare length prefix",
            &[0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o'],
            "bad-magic",
        ),
        (
            "oversized header",
            &[0xF5, 0x46, 0x01, 0x28, 0x23],
            "header-too-large",
        ),
        (
            "future version",
            &[0xF5, 0x46, 0x07, 0x07, 0x00],
            "bad-version",
        ),
    ];
    for (what, bytes, code) in cases {
        let mut c = EchoClient::connect(board.addr(), TIMEOUT).unwrap();
        c.stream().write_all(bytes).unwrap();
        let reply = c
            .recv()
            .unwrap_or_else(|e| panic!("{what}: {e}"))
            .expect("an error frame");
        assert_eq!(reply.kind, Kind::ERROR, "{what}");
        assert_eq!(
            reply.code.as_deref(),
            Some(code),
            "{what}: {}",
            String::from_utf8_lossy(&reply.payload)
        );
        assert!(
            c.recv().unwrap_or(None).is_none(),
            "{what}: connection closed after the error"
        );
        let mut good = EchoClient::connect(board.addr(), TIMEOUT).unwrap();
        good.echo(1, b"still serving").unwrap();
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
