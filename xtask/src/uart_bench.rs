//! `cargo xtask bench-uart`: the board's UART0 link (spec section 9.1), framed against the
//! plain byte echo on the same UART, in the same run, and recovery after noise.
//!
//! Both firmwares boot side by side with UART0 behind QEMU's TCP chardev on 127.0.0.1
//! (`nodelay=on`); QEMU's PL011 model moves about 30 KiB/s whatever the baud rate, so the
//! link, not the framing, sets the pace. Measured:
//!
//! - 64 B round trips, one in flight. Framed: a DATA frame with a payload crc and the header
//!   check (what a sender on a link writes), read back with the resynchronising receiver.
//!   Plain: 64 raw bytes written, 64 read back.
//! - bulk: `--bulk-kib` KiB through the UART, a writer thread and the reader checking every
//!   byte. Framed: 1 KiB payloads, checked. Plain: the same bytes raw, in 1 KiB writes.
//! - recovery (framed board): each kind of noise is written and given time to cross the
//!   UART, then one 64 B frame: its round trip against a clean one just before; then the
//!   board's stats line must show it skipped exactly the noise. The frame is the only thing
//!   sent after the noise, so the bytes the board needed to deliver it were exactly its own
//!   (the theoretical minimum).

use crate::board_bench::{cpus, percentile, pin};
use crate::setup;
use sockframe::Header;
use sockframe_tests::board::{Board, build_firmware};
use sockframe_tests::client::EchoClient;
use sockframe_tests::{link, pattern};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(60);
const SMALL: usize = 64;
const BLOCK: usize = 1024;

/// What a run measures.
pub struct Params {
    pub round_trips: usize,
    pub bulk_kib: usize,
}

pub fn run(p: &Params) -> Result<(), String> {
    if p.round_trips == 0 || p.bulk_kib == 0 {
        return Err("--round-trips and --bulk-kib must be at least 1".into());
    }
    setup::run_all()?;
    let pinned = cpus() >= 2;
    if pinned {
        pin(std::process::id(), 1)?;
    }
    let framed_elf = build_firmware(&[])?;
    let plain_elf = build_firmware(&["plain-echo"])?;
    let framed = Board::boot_with_uart(&framed_elf)?;
    let plain = Board::boot_with_uart(&plain_elf)?;
    if pinned {
        pin(framed.pid(), 0)?;
        pin(plain.pid(), 0)?;
    }
    let (fu, pu) = (uart(&framed)?, uart(&plain)?);
    let mut fc = EchoClient::connect_link(fu, TIMEOUT)?;
    let mut pc = connect(pu)?;

    // Round trips, in turns of 50 so that both boards see the same load.
    let (mut f_rtt, mut p_rtt) = (Vec::new(), Vec::new());
    let small = pattern(SMALL, 7);
    for i in 0..p.round_trips + 20 {
        let keep = i >= 20; // warm-up
        if i % 50 < 25 {
            let t = framed_rtt(&mut fc, i as u32, &small)?;
            if keep {
                f_rtt.push(t);
            }
        } else {
            let t = plain_rtt(&mut pc, &small)?;
            if keep {
                p_rtt.push(t);
            }
        }
    }
    let bytes = p.bulk_kib * 1024;
    let f_bulk = framed_bulk(&mut fc, bytes)?;
    let p_bulk = plain_bulk(&mut pc, bytes)?;

    // Recovery: noise, the board counts it, then one frame.
    let mut stream = fc.stream().try_clone().map_err(|e| e.to_string())?;
    let noises = link::noises();
    let mut skipped = 0u64;
    let mut recovery = Vec::new();
    for (what, noise) in &noises {
        let clean = framed_rtt(&mut fc, 2000, &small)?;
        stream.write_all(noise).map_err(|e| e.to_string())?;
        // Time for the noise to cross the UART (about 30 KiB/s) before the frame follows: a
        // false start is skipped only once the frame's head verified, so the board's count
        // cannot be waited for here.
        std::thread::sleep(Duration::from_millis(50 + noise.len() as u64 / 20));
        let after = framed_rtt(&mut fc, 2001, &small)?;
        skipped += noise.len() as u64;
        framed.wait_for_log(&format!("skipped {skipped}"), Duration::from_secs(10))?;
        recovery.push((*what, noise.len(), clean, after));
    }
    let frame_len = link::checked_data(0, &small).len();

    let (fm, pm) = (percentile(&mut f_rtt, 0.5), percentile(&mut p_rtt, 0.5));
    let (f99, p99) = (percentile(&mut f_rtt, 0.99), percentile(&mut p_rtt, 0.99));
    println!(
        "UART0 link, QEMU lm3s6965evb, {} round trips and {} KiB bulk per firmware",
        p.round_trips / 2,
        p.bulk_kib
    );
    println!();
    println!("| UART0 | 64 B round trip median (p99) | bulk echo |");
    println!("| --- | ---: | ---: |");
    println!(
        "| framed echo (checked frames, crc, resync) | {:.2} ms ({:.2} ms) | {:.1} KiB/s |",
        fm * 1e3,
        f99 * 1e3,
        f_bulk / 1024.0
    );
    println!(
        "| plain byte echo | {:.2} ms ({:.2} ms) | {:.1} KiB/s |",
        pm * 1e3,
        p99 * 1e3,
        p_bulk / 1024.0
    );
    println!(
        "| framed / plain | {:.2}x | {:.2}x |",
        fm / pm,
        f_bulk / p_bulk
    );
    println!();
    println!(
        "| noise before a {SMALL} B frame ({frame_len} B on the wire) | noise bytes | skipped by the board | bytes needed after the noise | round trip clean | after the noise |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: |");
    for (what, n, clean, after) in recovery {
        println!(
            "| {what} | {n} | {n} | {frame_len} (minimum {frame_len}) | {:.2} ms | {:.2} ms |",
            clean * 1e3,
            after * 1e3
        );
    }
    Ok(())
}

fn uart(board: &Board) -> Result<SocketAddr, String> {
    board
        .uart_addr()
        .ok_or_else(|| "board booted without its UART".into())
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| format!("{addr}: {e}"))?;
    s.set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    Ok(s)
}

fn framed_rtt(c: &mut EchoClient, id: u32, payload: &[u8]) -> Result<f64, String> {
    let t = Instant::now();
    c.send(&Header::data(id, payload), payload)?;
    let reply = c.recv()?.ok_or("the UART closed")?;
    let took = t.elapsed().as_secs_f64();
    if reply.id != id || reply.payload != payload {
        return Err(format!("echo mismatch for id {id}"));
    }
    Ok(took)
}

fn plain_rtt(s: &mut TcpStream, payload: &[u8]) -> Result<f64, String> {
    let t = Instant::now();
    s.write_all(payload).map_err(|e| e.to_string())?;
    let mut back = vec![0u8; payload.len()];
    s.read_exact(&mut back).map_err(|e| e.to_string())?;
    let took = t.elapsed().as_secs_f64();
    if back != payload {
        return Err("plain echo mismatch".into());
    }
    Ok(took)
}

/// Bytes per second through the framed echo, 1 KiB payloads.
fn framed_bulk(c: &mut EchoClient, bytes: usize) -> Result<f64, String> {
    let frames = bytes.div_ceil(BLOCK);
    let mut writer = c.stream().try_clone().map_err(|e| e.to_string())?;
    let t = Instant::now();
    std::thread::scope(|s| {
        let w = s.spawn(move || -> Result<(), String> {
            for i in 0..frames {
                let f = link::checked_data(i as u32, &pattern(BLOCK, i as u32));
                writer.write_all(&f).map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        for i in 0..frames {
            let reply = c.recv()?.ok_or("the UART closed")?;
            if reply.id != i as u32 || reply.payload != pattern(BLOCK, i as u32) {
                return Err(format!("bulk echo mismatch at frame {i}"));
            }
        }
        w.join().map_err(|_| "writer panicked".to_string())?
    })?;
    Ok((frames * BLOCK) as f64 / t.elapsed().as_secs_f64())
}

/// Bytes per second through the plain byte echo, the same bytes in 1 KiB writes.
fn plain_bulk(s: &mut TcpStream, bytes: usize) -> Result<f64, String> {
    let blocks = bytes.div_ceil(BLOCK);
    let mut writer = s.try_clone().map_err(|e| e.to_string())?;
    let t = Instant::now();
    std::thread::scope(|sc| {
        let w = sc.spawn(move || -> Result<(), String> {
            for i in 0..blocks {
                writer
                    .write_all(&pattern(BLOCK, i as u32))
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        });
        let mut back = vec![0u8; BLOCK];
        for i in 0..blocks {
            s.read_exact(&mut back).map_err(|e| e.to_string())?;
            if back != pattern(BLOCK, i as u32) {
                return Err(format!("plain bulk mismatch at block {i}"));
            }
        }
        w.join().map_err(|_| "writer panicked".to_string())?
    })?;
    Ok((blocks * BLOCK) as f64 / t.elapsed().as_secs_f64())
}
