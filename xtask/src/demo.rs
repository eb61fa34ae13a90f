//! `cargo xtask demo` and `cargo xtask qemu`: the board and the desktop talking.

use crate::setup;
use sockframe::{Header, Kind};
use sockframe_tests::board::{Board, Serial, build_firmware, free_port};
use sockframe_tests::client::EchoClient;
use sockframe_tests::desktop::Desktop;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

pub fn qemu(
    port: Option<u16>,
    plain: bool,
    uart_port: Option<u16>,
    uart_pty: bool,
) -> Result<(), String> {
    setup::run_all()?;
    let elf = build_firmware(if plain { &["plain-echo"] } else { &[] })?;
    let serial = match (uart_port, uart_pty) {
        (Some(n), _) => Serial::Tcp(n),
        (None, true) => Serial::Pty,
        (None, false) => Serial::None,
    };
    let board = match (port, serial) {
        (None, Serial::None) => Board::boot(&elf)?,
        (Some(p), serial) => Board::launch(&elf, p, serial)?,
        (None, serial) => Board::launch(&elf, free_port()?, serial)?,
    };
    println!(
        "board up: echo service of 10.0.2.15:7 reached at {}",
        board.addr()
    );
    if let Some(uart) = board.uart_addr() {
        println!("UART0 on tcp {uart}");
    }
    if serial == Serial::Pty {
        let pty = board
            .pty()
            .ok_or("QEMU printed no /dev/pts path for UART0")?;
        println!("UART0 on {pty}");
    }
    println!(
        "try: cargo run -p sockframe-cli -- send {} hello",
        board.addr()
    );
    println!("Ctrl-C stops QEMU.");
    loop {
        std::thread::sleep(Duration::from_secs(3600));
    }
}

pub fn run() -> Result<(), String> {
    setup::run_all()?;
    println!("building the firmware and the desktop tools...");
    let elf = build_firmware(&[])?;
    let board = Board::boot_with_uart(&elf)?;
    let uart = board.uart_addr().ok_or("board booted without its UART")?;
    println!(
        "board:   QEMU lm3s6965evb, echo on 10.0.2.15:7, forwarded to {}",
        board.addr()
    );
    println!(
        "board:   UART0 (framed echo, same handler, resynchronising: frames carry HCHECK and crc) \
         on QEMU's chardev at tcp {uart}"
    );
    let server = Desktop::start(&["--service", "echo"])?;
    let addr = server.addr();
    println!("desktop: `sockframe serve` echo on {addr}\n");

    // The UART skips the 1 MiB frame: QEMU's PL011 model moves ~30-60 KiB/s (it would take
    // about half a minute).
    for (name, peer, max, link) in [
        ("desktop", addr, usize::MAX, false),
        ("board", board.addr(), usize::MAX, false),
        ("uart", uart, 64 * 1024, true),
    ] {
        talk(name, peer, max, link)?;
    }
    drop(server);
    drop(board);
    println!("\nevery peer answered every frame byte-exact; QEMU and the server are stopped.");
    Ok(())
}

/// Sends a few frames to one peer, printing each way and the round trip time.
/// Messages longer than `max` bytes are skipped.
/// On a `link` (the UART), frames carry the header check and a crc (spec section 9.1).
fn talk(name: &str, addr: SocketAddr, max: usize, link: bool) -> Result<(), String> {
    let connect = if link {
        EchoClient::connect_link
    } else {
        EchoClient::connect
    };
    let mut c = connect(addr, Duration::from_secs(30))?;
    let messages: [(&str, Vec<u8>); 4] = [
        ("greeting", b"hello from the desktop".to_vec()),
        ("64 B", vec![b'x'; 64]),
        ("64 KiB", (0..65_536u32).map(|i| i as u8).collect()),
        (
            "1 MiB streamed",
            (0..1u32 << 20).map(|i| (i * 7) as u8).collect(),
        ),
    ];
    for (i, (label, payload)) in messages.iter().enumerate() {
        if payload.len() > max {
            continue;
        }
        let t = Instant::now();
        c.echo(i as u32, payload)?;
        let rtt = t.elapsed();
        let shown = if payload.len() <= 32 {
            format!("{:?}", String::from_utf8_lossy(payload))
        } else {
            format!("{} bytes", payload.len())
        };
        println!("  -> {name:<7} DATA id {i} {label:<15} {shown}");
        println!(
            "  <- {name:<7} echo byte-exact, round trip {:.2} ms",
            rtt.as_secs_f64() * 1e3
        );
    }
    c.send(&Header::new(Kind::PING, 99, 0), b"")?;
    let t = Instant::now();
    let pong = c.recv()?.ok_or("closed before PONG")?;
    println!(
        "  -> {name:<7} PING id 99; <- kind {} id {} in {:.2} ms",
        pong.kind.0,
        pong.id,
        t.elapsed().as_secs_f64() * 1e3
    );
    Ok(())
}
