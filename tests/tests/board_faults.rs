//! Faults against the board (QEMU): connection churn, garbage, a client that stops reading,
//! more clients than the socket pool. Each test boots its own board and ends with a
//! well-behaved client getting byte-exact echoes: the board keeps serving.
//!
//! Needs `qemu-system-arm` and the `thumbv7m-none-eabi` target (`cargo xtask setup`). No
//! assertion is about time: every wait is bounded (socket timeouts, retry deadlines, step
//! counts) and fails with a message saying what was awaited. Run with `--nocapture` to see
//! what each test observed (counts of outcomes).
//!
//! Facts about the path these tests rely on: QEMU's user-mode network (slirp) accepts the
//! host's connection itself and opens one to the guest; when the guest refuses (no
//! listening socket: smoltcp has no backlog, so a client beyond the pool of 4 gets a reset)
//! the host sees its connection end (EOF or reset) without a byte. The firmware aborts a
//! connection whose peer has sent nothing for 10 s.

use sockframe::{Header, Kind, encode_frame};
use sockframe_tests::board::{Board, default_firmware};
use sockframe_tests::client::EchoClient;
use sockframe_tests::pattern;
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::os::fd::AsRawFd as _;
use std::sync::Barrier;
use std::time::{Duration, Instant};

const TIMEOUT: Duration = Duration::from_secs(30);
/// The firmware's pool of sockets (qemu/src/main.rs `POOL`).
const POOL: usize = 4;
/// How long a client retries to be served: longer than the firmware's 10 s inactivity
/// timeout, which frees any socket a fault left behind.
const SERVE_DEADLINE: Duration = Duration::from_secs(15);

fn boot() -> Board {
    Board::boot(&default_firmware().expect("firmware")).expect("board boots and echoes")
}

fn frame(header: &Header<'_>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0; payload.len() + 64];
    let n = encode_frame(header, payload, &mut out).expect("encode");
    out.truncate(n);
    out
}

/// Connects and gets a first echo, retrying until `SERVE_DEADLINE`: right after another
/// connection ended its socket may still be closing, and a client finding no listening
/// socket in the pool is reset. Returns the client and the attempts it took.
fn connect_served(addr: SocketAddr) -> Result<(EchoClient, u32), String> {
    let deadline = Instant::now() + SERVE_DEADLINE;
    let mut attempts = 0;
    loop {
        attempts += 1;
        let attempt = EchoClient::connect(addr, Duration::from_secs(5))
            .and_then(|mut c| c.echo(u32::MAX, b"first").map(|()| c));
        match attempt {
            Ok(c) => return Ok((c, attempts)),
            Err(e) if Instant::now() > deadline => {
                return Err(format!(
                    "not served after {attempts} attempts in {SERVE_DEADLINE:?}: {e}"
                ));
            }
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
}

/// The end of every test: a well-behaved client is served byte-exact, small to large.
fn assert_still_serving(board: &Board, what: &str) {
    let (mut c, attempts) = connect_served(board.addr())
        .unwrap_or_else(|e| panic!("after {what}: a good client: {e}\n{}", board.log()));
    for (i, len) in [1usize, 100, 1000, 5000, 100_000].into_iter().enumerate() {
        c.echo(i as u32, &pattern(len, 7 + i as u32))
            .unwrap_or_else(|e| panic!("after {what}: echo of {len} bytes: {e}\n{}", board.log()));
    }
    eprintln!("{what}: a good client was served afterwards (attempt {attempts})");
}

/// Makes `close()` send a reset instead of a FIN (SO_LINGER on, 0 s).
fn set_linger_zero(stream: &TcpStream) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a correctly sized `linger` for SO_LINGER.
    let rc = unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&raw const linger).cast(),
            size_of::<libc::linger>() as libc::socklen_t,
        )
    };
    assert_eq!(rc, 0, "SO_LINGER: {}", std::io::Error::last_os_error());
}

#[test]
fn a_thousand_connect_disconnect_cycles() {
    let board = boot();
    let addr = board.addr();
    let half = {
        let f = frame(&Header::data(1, &[0xAB; 64]), &[0xAB; 64]);
        f[..f.len() / 2].to_vec()
    };
    let (mut closed, mut half_sent, mut reset, mut checks, mut retries) = (0, 0, 0, 0, 0);
    for i in 0..1000u32 {
        let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("cycle {i}: connect: {e}"));
        match i % 3 {
            // Connect, then close at once.
            0 => {
                drop(s);
                closed += 1;
            }
            // Connect, send half a frame (head and part of the payload), close.
            1 => {
                let mut s = s;
                // slirp may already have closed the connection (the guest refused it): a
                // failed write is part of the churn, not a test failure.
                let _ = s.write_all(&half);
                drop(s);
                half_sent += 1;
            }
            // Connect, then reset (SO_LINGER 0).
            _ => {
                set_linger_zero(&s);
                drop(s);
                reset += 1;
            }
        }
        // Pacing, not a timing assumption: slirp accepts the host's connections with a
        // listen backlog of 1; back-to-back cycles fill it, the kernel drops the next SYN and
        // retries it only after 1 s (the file then takes minutes instead of seconds).
        std::thread::sleep(Duration::from_millis(2));
        // Every 100 cycles a good client must get through (retrying while sockets the
        // churn left behind close).
        if i % 100 == 99 {
            let (mut c, attempts) = connect_served(addr)
                .unwrap_or_else(|e| panic!("after cycle {i}: {e}\n{}", board.log()));
            c.echo(i, &pattern(2000, i))
                .unwrap_or_else(|e| panic!("after cycle {i}: {e}"));
            checks += 1;
            retries += attempts - 1;
        }
    }
    assert_eq!((closed, half_sent, reset), (334, 333, 333));
    eprintln!(
        "1000 cycles: {closed} closed at once, {half_sent} half a frame then close, {reset} \
         reset; {checks} good clients in between, served after {retries} retries in all"
    );
    assert_still_serving(&board, "1000 connect/disconnect cycles");
}

/// What a garbage connection saw.
#[derive(Debug, PartialEq, Eq)]
enum Garbage {
    /// The error frame came, with this code; then the connection ended (EOF or reset).
    ErrorFrame(String),
    /// Refused before any byte came back (no socket of the pool was listening yet).
    Refused,
}

/// Sends 1 MiB of random bytes (first byte not the magic) while reading what comes back.
fn flood(addr: SocketAddr, seed: u32) -> Result<(Garbage, usize), String> {
    let mut garbage = pattern(1 << 20, seed);
    garbage[0] = b'X';
    let mut c = EchoClient::connect(addr, Duration::from_secs(10))?;
    let mut writer = c.stream().try_clone().map_err(|e| e.to_string())?;
    std::thread::scope(|s| {
        let sent = s.spawn(move || {
            // The board closes after its error frame: the write then fails with a reset or
            // a broken pipe, which is expected. Returns the bytes accepted by the host.
            let mut sent = 0;
            while sent < garbage.len() {
                match writer.write(&garbage[sent..]) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => sent += n,
                }
            }
            sent
        });
        let outcome = match c.recv() {
            Ok(Some(reply)) if reply.kind == Kind::ERROR && reply.id == 0 => {
                let code = reply.code.unwrap_or_default();
                // After the error frame: nothing more, the connection ends.
                match c.recv() {
                    Ok(None) => Ok(Garbage::ErrorFrame(code)),
                    // Or a reset instead of a clean end: either way the connection is over.
                    Err(e) if e.contains("reset") => Ok(Garbage::ErrorFrame(code)),
                    other => Err(format!("after the error frame ({code}): {other:?}")),
                }
            }
            Ok(Some(reply)) => Err(format!("not an error frame: {reply:?}")),
            Ok(None) => Ok(Garbage::Refused),
            Err(e) if e.contains("reset") => Ok(Garbage::Refused),
            Err(e) => Err(e),
        };
        // Unblock the writer if it is still going (the host may buffer megabytes).
        let _ = c.stream().shutdown(Shutdown::Both);
        let sent = sent.join().map_err(|_| "writer panicked".to_string())?;
        outcome.map(|o| (o, sent))
    })
}

#[test]
fn garbage_flood_on_every_socket_gets_error_frames() {
    let board = boot();
    let addr = board.addr();
    // One flooder per socket of the pool, all at once; a flooder refused because a socket
    // was still closing tries again (bounded).
    let start = Barrier::new(POOL);
    let results: Vec<(usize, u32, usize)> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..POOL as u32)
            .map(|t| {
                let start = &start;
                s.spawn(move || {
                    start.wait();
                    let deadline = Instant::now() + SERVE_DEADLINE;
                    let mut refused = 0;
                    loop {
                        match flood(addr, 100 + t) {
                            Ok((Garbage::ErrorFrame(code), sent)) => {
                                assert_eq!(code, "bad-magic", "flooder {t}");
                                return (t as usize, refused, sent);
                            }
                            Ok((Garbage::Refused, _)) if Instant::now() < deadline => {
                                refused += 1;
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            Ok((Garbage::Refused, _)) => {
                                panic!("flooder {t}: refused {refused} times until the deadline")
                            }
                            Err(e) => panic!("flooder {t}: {e}"),
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("flooder"))
            .collect()
    });
    for (t, refused, sent) in &results {
        eprintln!(
            "garbage flooder {t}: error frame bad-magic, then the end; {refused} refused \
             attempts before; the host accepted {sent} of 1048576 bytes before the close"
        );
    }
    assert_still_serving(&board, "a 1 MiB garbage flood on 4 connections");
}

#[test]
fn a_client_that_stops_reading_does_not_wedge_the_board() {
    let board = boot();
    let addr = board.addr();
    let (mut stalled, _) = connect_served(addr).expect("stalled client");
    // 1000-byte frames, never read: the echo backs up through the board's send buffer,
    // its receive window, slirp and the host's socket buffers until writing blocks.
    let mut frames = Vec::new();
    let mut ends = Vec::new(); // where each frame ends in `frames`
    for i in 0..32_768u32 {
        let p = pattern(1000, i);
        frames.extend_from_slice(&frame(&Header::data(i, &p), &p));
        ends.push(frames.len());
    }
    let writer = stalled.stream().try_clone().unwrap();
    writer
        .set_write_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut written = 0;
    let mut w = &writer;
    while written < frames.len() {
        match w.write(&frames[written..]) {
            Ok(n) => written += n,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => break,
            Err(e) => panic!("stalled client: write after {written} bytes: {e}"),
        }
    }
    assert!(
        written < frames.len(),
        "writing {} bytes never blocked although nothing was read",
        frames.len()
    );
    eprintln!("stalled client: writing blocked after {written} bytes");

    // While it is stalled (its socket held, its echo unread), the other sockets serve.
    std::thread::scope(|s| {
        for t in 0..(POOL as u32 - 1) {
            s.spawn(move || {
                let (mut c, _) = connect_served(addr)
                    .unwrap_or_else(|e| panic!("client {t} beside the stalled one: {e}"));
                for i in 0..10 {
                    c.echo(i, &pattern(3000, t * 10 + i))
                        .unwrap_or_else(|e| panic!("client {t} beside the stalled one: {e}"));
                }
            });
        }
    });
    eprintln!("stalled client: 3 other clients got 10 echoes each meanwhile");

    // Now it reads (while finishing its last, partly written frame): what comes back must
    // be the echo of what it sent, byte for byte, for as long as the connection lasts.
    let end = ends[ends.partition_point(|&e| e < written)];
    writer.set_write_timeout(Some(TIMEOUT)).unwrap();
    let mut reader = stalled.stream().try_clone().unwrap();
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut received = Vec::with_capacity(end);
    let ended = std::thread::scope(|s| {
        let rest = &frames[written..end];
        let finish = s.spawn(move || (&writer).write_all(rest));
        let mut buf = vec![0u8; 64 * 1024];
        let ended = loop {
            if received.len() >= end {
                break None;
            }
            match reader.read(&mut buf) {
                Ok(0) => break Some("EOF".to_string()),
                Ok(n) => received.extend_from_slice(&buf[..n]),
                Err(e) => break Some(format!("{e}")),
            }
        };
        let _ = finish.join();
        ended
    });
    assert!(
        received[..] == frames[..received.len()],
        "the stalled client's echo differs from what it sent (within {} bytes)",
        received.len()
    );
    match &ended {
        None => {
            assert_eq!(received.len(), end, "more echoed than sent");
            // The connection is still good: one more echo on it.
            stalled
                .echo(99_999, b"after the stall")
                .expect("the stalled client's connection after reading");
            eprintln!(
                "stalled client: read back all {end} bytes byte-exact, then echoed once more"
            );
        }
        Some(how) => eprintln!(
            "stalled client: connection ended ({how}) after {} of {end} bytes echoed, \
             every one of them correct",
            received.len()
        ),
    }
    assert_still_serving(&board, "a client that stopped reading");
}

/// What one of the clients past the pool saw.
#[derive(Debug)]
enum Outcome {
    Served,
    Refused(String),
}

#[test]
fn eight_clients_on_a_pool_of_four() {
    let board = boot();
    let addr = board.addr();
    // Eight connections open at once, then each tries one echo while all are held.
    let mut clients: Vec<EchoClient> = (0..8)
        .map(|i| {
            EchoClient::connect(addr, Duration::from_secs(5))
                .unwrap_or_else(|e| panic!("client {i}: {e}"))
        })
        .collect();
    let outcomes: Vec<Outcome> = std::thread::scope(|s| {
        let handles: Vec<_> = clients
            .iter_mut()
            .enumerate()
            .map(|(i, c)| {
                s.spawn(move || match c.echo(i as u32, &pattern(500, i as u32)) {
                    Ok(()) => Outcome::Served,
                    Err(e) => Outcome::Refused(e),
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let served = outcomes
        .iter()
        .filter(|o| matches!(o, Outcome::Served))
        .count();
    eprintln!("8 clients at once: {served} served, the others: {outcomes:?}");
    assert!(
        served <= POOL,
        "{served} served at once on a pool of {POOL}"
    );
    assert!(served >= 1, "nobody served: {outcomes:?}");
    for o in &outcomes {
        if let Outcome::Refused(e) = o {
            // Refused means the connection ended without a byte (reset or EOF), never a
            // hang: a timeout would mean the board (or slirp) left the client waiting.
            assert!(
                !e.contains("timed out") && !e.contains("WouldBlock") && !e.contains("temporarily"),
                "a client past the pool was left waiting instead of refused: {e}"
            );
        }
    }
    drop(clients);

    // Eight again, each retrying until served: the first four are served and close, the
    // others get their sockets after them. Everyone is served, byte-exact.
    let attempts: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..8u32)
            .map(|t| {
                s.spawn(move || {
                    let (mut c, attempts) =
                        connect_served(addr).unwrap_or_else(|e| panic!("client {t}: {e}"));
                    for i in 0..5 {
                        c.echo(i, &pattern(2000, t * 5 + i))
                            .unwrap_or_else(|e| panic!("client {t}: {e}"));
                    }
                    attempts
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    eprintln!("8 clients retrying: all served; attempts each: {attempts:?}");
    assert_still_serving(&board, "8 clients on a pool of 4");
}
