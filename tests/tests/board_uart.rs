//! The board's UART0 (QEMU's PL011 model behind a TCP chardev on 127.0.0.1): frames come back
//! byte-exact from 1 B to a 1 MiB stream, and the TCP echo and the UART serve at the same
//! time, each while the other is busy.
//!
//! Needs `qemu-system-arm` and the `thumbv7m-none-eabi` target (`cargo xtask setup`). Each
//! test boots its own board on free ports; the board is killed on drop, also on failure.

use sockframe::{Header, Kind};
use sockframe_tests::board::{Board, default_firmware};
use sockframe_tests::client::EchoClient;
use sockframe_tests::pattern;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(60);

fn boot() -> Board {
    Board::boot_with_uart(&default_firmware().expect("firmware"))
        .expect("board boots and echoes on TCP and UART")
}

#[test]
fn uart_echoes_every_size_byte_exact_up_to_a_1_mib_stream() {
    let board = boot();
    let mut c = EchoClient::connect(board.uart_addr().unwrap(), TIMEOUT).unwrap();
    for (i, len) in [1usize, 64, 1024, 64 * 1024, 1 << 20]
        .into_iter()
        .enumerate()
    {
        c.echo(i as u32, &pattern(len, i as u32))
            .unwrap_or_else(|e| panic!("UART, {len} bytes: {e}\n{}", board.log()));
    }
}

/// Runs `bulk` on one link while `small` 64 B frames keep going on the other: both finish
/// byte-exact, and at least one small frame was echoed while the bulk transfer was running.
fn both_at_once(bulk_on_uart: bool) {
    let board = boot();
    let (uart, tcp) = (board.uart_addr().unwrap(), board.addr());
    let (bulk_addr, small_addr, bulk_len) = if bulk_on_uart {
        (uart, tcp, 1usize << 20)
    } else {
        (tcp, uart, 16usize << 20)
    };
    let mut bulk = EchoClient::connect(bulk_addr, TIMEOUT).unwrap();
    let mut small = EchoClient::connect(small_addr, TIMEOUT).unwrap();
    let done = AtomicBool::new(false);
    let during = std::thread::scope(|s| {
        let done = &done;
        let smalls = s.spawn(move || {
            let mut during = 0u32;
            let mut id = 0u32;
            while !done.load(Ordering::Acquire) {
                small.echo(id, &pattern(64, id)).unwrap();
                id += 1;
                // Counted only if the bulk echo was still running after this frame came back.
                if !done.load(Ordering::Acquire) {
                    during += 1;
                }
            }
            during
        });
        bulk.echo(7, &pattern(bulk_len, 7))
            .unwrap_or_else(|e| panic!("bulk {bulk_len} bytes: {e}\n{}", board.log()));
        done.store(true, Ordering::Release);
        smalls.join().unwrap()
    });
    assert!(
        during > 0,
        "no small frame was echoed while the bulk echo ran"
    );
}

#[test]
fn tcp_keeps_serving_while_the_uart_is_busy() {
    both_at_once(true);
}

#[test]
fn uart_keeps_serving_while_tcp_is_busy() {
    both_at_once(false);
}

/// The UART runs the framed echo (the same handler as TCP), not a byte echo: PING gets PONG.
#[test]
fn uart_ping_gets_pong() {
    let board = boot();
    let mut c = EchoClient::connect(board.uart_addr().unwrap(), TIMEOUT).unwrap();
    c.send(&Header::new(Kind::PING, 5, 0), b"").unwrap();
    let pong = c.recv().unwrap().expect("a reply before EOF");
    assert_eq!((pong.kind, pong.id), (Kind::PONG, 5), "{}", board.log());
    c.echo(6, b"after the pong").unwrap();
}
