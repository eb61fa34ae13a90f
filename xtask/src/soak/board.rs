//! The board soak: the QEMU board with the framed echo firmware and its echo clients.

use super::Params;
use super::clients::{Load, client_loop, spawn};
use super::drive::drive;
use super::echo::{EchoRole, echo_session};
use super::memory::{Watched, sample};
use super::plan::BOARD_MAX_ECHO;
use super::report::conclude;
use sockframe_std::Client;
use sockframe_tests::board::{Board, default_firmware};
use sockframe_tests::pattern;
use std::sync::Arc;

/// Runs the board soak; returns why it failed ("" if it passed).
pub(super) fn run(p: &Params) -> Result<String, String> {
    crate::setup::run_all()?;
    let elf = default_firmware()?;
    // Booted from the main thread: QEMU dies with the thread that started it.
    let mut board = Board::boot(&elf)?;
    let addr = board.addr();
    eprintln!("board: QEMU pid {} at {addr}", board.pid());
    let pool = Arc::new(pattern(BOARD_MAX_ECHO + (64 << 10), 0x50AC_0002));
    let load = Arc::new(Load::new(&["echo"]));
    // QEMU's memory is the emulator's, not the board's (its RAM is fixed): information only.
    let mut watched = vec![Watched::new(
        format!("QEMU (pid {}, not checked)", board.pid()),
        board.pid(),
        false,
    )];
    sample(&mut watched, |w| &mut w.start);
    let mut clients = Vec::new();
    for i in 0..p.board_clients {
        let role = EchoRole {
            window: if i % 2 == 0 { 1 } else { 4 },
            buffer: if i % 4 == 1 {
                1024
            } else {
                Client::DEFAULT_BUFFER
            },
            max_len: BOARD_MAX_ECHO,
            session: (20, 400),
            board: true,
        };
        let who = format!("board echo client {i} (window {})", role.window);
        let (load, pool) = (load.clone(), pool.clone());
        clients.push(spawn(who.clone(), move || {
            client_loop(&load, &who, |seed| {
                echo_session(&load, 0, &pool, addr, &role, seed)
            })
        })?);
    }
    println!(
        "board soak: {:.1} min, {} echo clients ({} ping-pong, {} pipelined, window 4), \
         payloads 0 B - 256 KiB",
        p.minutes,
        p.board_clients,
        p.board_clients.div_ceil(2),
        p.board_clients / 2
    );
    let mut alive = || {
        if board.is_running() {
            Ok(())
        } else {
            Err(format!("QEMU exited; it printed: {}", board.log().trim()))
        }
    };
    let series = drive("board", p, &load, &mut watched, clients, &mut alive);
    let mut logs = Vec::new();
    if !load
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty()
    {
        // The firmware's own words, when something went wrong.
        logs.extend(
            board
                .log()
                .lines()
                .rev()
                .take(10)
                .map(|l| format!("board: {l}")),
        );
    }
    drop(board);
    Ok(conclude("board", p, &load, &watched, &series, &logs))
}
