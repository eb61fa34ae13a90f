//! Faults against the board (QEMU): connection churn, garbage, a client that stops reading
//! (briefly, and until the board's timeout ends it), peers that never close after their
//! error frame, more clients than the socket pool. Each test boots its own board and ends
//! with a well-behaved client getting byte-exact echoes: the board keeps serving.
//!
//! Needs `qemu-system-arm` and the `thumbv7m-none-eabi` target (`cargo xtask setup`). No
//! assertion is about time except generous upper bounds on waits for the board's timeout:
//! every wait is bounded (socket timeouts, retry deadlines, step counts) and fails with a
//! message saying what was awaited. Run with `--nocapture` to see what each test observed
//! (counts of outcomes, and how long the board took to end a connection).
//!
//! Facts about the path these tests rely on: QEMU's user-mode network (slirp) accepts the
//! host's connection itself and opens one to the guest; when the guest refuses (no
//! listening socket: smoltcp has no backlog, so a client beyond the pool of 4 gets a reset)
//! the host sees its connection end (EOF or reset) without a byte. The firmware aborts a
//! connection whose peer has sent nothing for 10 s (nothing smoltcp takes in: a peer's
//! probes of a closed window do not count).

use sockframe::{Header, Kind};
use sockframe_tests::board::{Board, default_firmware};
use sockframe_tests::client::EchoClient;
use sockframe_tests::{frame, pattern};
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

/// A client that sent 1000-byte frames, reading nothing, until its writes blocked: the echo
/// backs up through the board's send buffer, its receive window, slirp and the host's socket
/// buffers.
struct Stalled {
    client: EchoClient,
    /// Everything it would send (32,768 frames); what comes back must be a prefix of it.
    frames: Vec<u8>,
    /// Where each frame ends in `frames`.
    ends: Vec<usize>,
    /// How many bytes of `frames` the host accepted before writing blocked.
    written: usize,
}

/// Connects (served first) and writes frames without reading until a write blocks.
fn stall(addr: SocketAddr) -> Stalled {
    let (mut client, _) = connect_served(addr).expect("stalled client");
    let mut frames = Vec::new();
    let mut ends = Vec::new();
    for i in 0..32_768u32 {
        let p = pattern(1000, i);
        frames.extend_from_slice(&frame(&Header::data(i, &p), &p));
        ends.push(frames.len());
    }
    let writer = client.stream().try_clone().unwrap();
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
    Stalled {
        client,
        frames,
        ends,
        written,
    }
}

impl Stalled {
    /// Reads again (while finishing the partly written last frame, if `finish`) until the
    /// whole echo of what was written is back or the connection ends, and checks every byte
    /// received is the echo of what was sent. Returns the bytes received and how the
    /// connection ended (`None`: it did not; EOF is an `UnexpectedEof` error).
    ///
    /// Without `finish` nothing is written: on a connection already reset, a write would
    /// take the pending reset error (Linux reports it once), and the read would see EOF.
    fn read_back(&mut self, finish: bool) -> (usize, Option<std::io::Error>) {
        let end = self.ends[self.ends.partition_point(|&e| e < self.written)];
        let writer = self.client.stream().try_clone().unwrap();
        writer.set_write_timeout(Some(TIMEOUT)).unwrap();
        let mut reader = self.client.stream().try_clone().unwrap();
        reader
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut received = Vec::with_capacity(end);
        let ended = std::thread::scope(|s| {
            let rest = &self.frames[self.written..end];
            // Fails once the connection is gone: that is seen by the reader.
            let finishing = finish.then(|| s.spawn(move || (&writer).write_all(rest)));
            let mut buf = vec![0u8; 64 * 1024];
            let ended = loop {
                if received.len() >= end {
                    break None;
                }
                match reader.read(&mut buf) {
                    Ok(0) => break Some(ErrorKind::UnexpectedEof.into()),
                    Ok(n) => received.extend_from_slice(&buf[..n]),
                    Err(e) => break Some(e),
                }
            };
            if let Some(finishing) = finishing {
                let _ = finishing.join();
            }
            ended
        });
        assert!(
            received.len() <= end,
            "more echoed ({}) than sent ({end})",
            received.len()
        );
        assert!(
            received[..] == self.frames[..received.len()],
            "the stalled client's echo differs from what it sent (within {} bytes)",
            received.len()
        );
        (received.len(), ended)
    }
}

#[test]
fn a_client_that_stops_reading_does_not_wedge_the_board() {
    let board = boot();
    let addr = board.addr();
    let mut stalled = stall(addr);
    eprintln!(
        "stalled client: writing blocked after {} bytes",
        stalled.written
    );

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

    // Now it reads: what comes back must be the echo of what it sent, byte for byte, for as
    // long as the connection lasts.
    match stalled.read_back(true) {
        (received, None) => {
            // The connection is still good: one more echo on it.
            stalled
                .client
                .echo(99_999, b"after the stall")
                .expect("the stalled client's connection after reading");
            eprintln!(
                "stalled client: read back all {received} bytes byte-exact, then echoed once more"
            );
        }
        (received, Some(how)) => eprintln!(
            "stalled client: connection ended ({how}) after {received} bytes echoed, every one \
             of them correct"
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

/// The TCP state of `stream` as the host's kernel sees it (`TCP_INFO`): how the end of a
/// connection is observed without reading from it.
fn tcp_state(stream: &TcpStream) -> u8 {
    // SAFETY: all-zero bits are a valid `tcp_info` (integers only).
    let mut info: libc::tcp_info = unsafe { std::mem::zeroed() };
    let mut len = size_of::<libc::tcp_info>() as libc::socklen_t;
    // SAFETY: a valid socket descriptor, and `info` and `len` describe a writable tcp_info.
    let rc = unsafe {
        libc::getsockopt(
            stream.as_raw_fd(),
            libc::IPPROTO_TCP,
            libc::TCP_INFO,
            (&raw mut info).cast(),
            &mut len,
        )
    };
    assert_eq!(rc, 0, "TCP_INFO: {}", std::io::Error::last_os_error());
    info.tcpi_state
}

/// Linux's TCP states (include/net/tcp_states.h), as `tcpi_state` reports them.
const TCP_ESTABLISHED: u8 = 1;
const TCP_CLOSE: u8 = 7;

/// How long a stalled reader may wait for the board to end its connection. The firmware's
/// 10 s timeout counts from the peer's last packet that smoltcp takes in: slirp's answers
/// to the board's zero-window probes count (probes 1, 2, 4, 8 s apart, then 16 s), slirp's
/// own probes of the board's closed window do not (out of window). So the reset comes about
/// 10 s after the probe at 15 s, about 25 s into the stall, in the board's time. The board's
/// clock runs slow when the host is busy (its 25 s took up to 57.5 s at a load average of
/// 22 on 2 cores). This bound is generous.
const STALL_LIMIT: Duration = Duration::from_secs(150);

#[test]
fn a_reader_stalled_past_the_inactivity_timeout_is_reset_after_a_correct_prefix() {
    let board = boot();
    let addr = board.addr();
    let mut stalled = stall(addr);
    let stalled_at = Instant::now();
    let watch = stalled.client.stream().try_clone().unwrap();

    // Until the stalled connection ends, a good client beside it echoes every 100 ms.
    let (mut good, _) = connect_served(addr).expect("a good client beside the stalled one");
    let mut echoes = 0u32;
    while tcp_state(&watch) == TCP_ESTABLISHED {
        assert!(
            stalled_at.elapsed() < STALL_LIMIT,
            "waited {STALL_LIMIT:?} for the board to end the stalled connection (firmware \
             timeout: 10 s after the peer's last packet)"
        );
        good.echo(echoes, &pattern(3000, echoes))
            .unwrap_or_else(|e| panic!("good client beside the stalled one, echo {echoes}: {e}"));
        echoes += 1;
        std::thread::sleep(Duration::from_millis(100));
    }
    let ended_after = stalled_at.elapsed();
    // slirp passes the board's reset on as a reset (it closes its host socket with the
    // client's unread bytes in it).
    assert_eq!(
        tcp_state(&watch),
        TCP_CLOSE,
        "the stalled connection's state after it left ESTABLISHED"
    );

    // What the stalled client then reads: a correct prefix of its echo (checked by
    // read_back), then the reset.
    let (received, ended) = stalled.read_back(false);
    let ended = ended.expect("the stalled connection ended");
    assert_eq!(
        ended.kind(),
        ErrorKind::ConnectionReset,
        "how the stalled connection ended, after {received} bytes: {ended}"
    );
    assert!(
        received > 0 && received < stalled.written,
        "a prefix of the echo arrives before the reset: {received} of {} bytes",
        stalled.written
    );
    eprintln!(
        "stalled past the timeout: writing blocked after {} bytes; the connection was reset \
         {ended_after:.1?} after the stall began; the client then read {received} bytes, \
         all correct, then: {ended}; a good client beside it echoed 3000 B {echoes} times \
         meanwhile",
        stalled.written
    );

    // The good client's connection goes on after the reset.
    for i in 0..5 {
        good.echo(echoes + i, &pattern(3000, echoes + i))
            .unwrap_or_else(|e| panic!("good client after the reset: {e}"));
    }
    assert_still_serving(&board, "a reader stalled past the inactivity timeout");
}

/// How long the board may take to free the sockets of peers that never close: its 10 s
/// inactivity timeout (in the board's time, which runs slow when the host is busy; see
/// `STALL_LIMIT`), and a generous margin.
const FREE_LIMIT: Duration = Duration::from_secs(60);

/// Connects, sends a telnet line, and reads the error frame and the end of the stream that
/// follows (the board's FIN); the connection is then left open. Retries while refused.
fn error_then_silence(addr: SocketAddr, peer: usize) -> EchoClient {
    let deadline = Instant::now() + SERVE_DEADLINE;
    loop {
        let mut c = EchoClient::connect(addr, Duration::from_secs(10))
            .unwrap_or_else(|e| panic!("silent peer {peer}: {e}"));
        c.stream()
            .write_all(b"hello\r\n")
            .unwrap_or_else(|e| panic!("silent peer {peer}: {e}"));
        match c.recv() {
            Ok(Some(reply)) => {
                assert_eq!(
                    (reply.kind, reply.id, reply.code.as_deref()),
                    (Kind::ERROR, 0, Some("bad-magic")),
                    "silent peer {peer}: the error frame"
                );
                assert_eq!(
                    c.recv(),
                    Ok(None),
                    "silent peer {peer}: the stream ends (FIN) after the error frame"
                );
                return c;
            }
            // Refused (a socket still closing): no byte came back.
            Ok(None) | Err(_) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20))
            }
            other => panic!("silent peer {peer}: refused until the deadline: {other:?}"),
        }
    }
}

#[test]
fn peers_that_never_close_after_their_error_are_freed_by_the_timeout() {
    let board = boot();
    let addr = board.addr();
    // The whole pool: each peer gets its error frame and the board's FIN, then stays
    // connected, silent, never closing.
    let mut silent: Vec<EchoClient> = (0..POOL).map(|i| error_then_silence(addr, i)).collect();
    let held_at = Instant::now();

    // Meanwhile the board holds their sockets: a good client is refused, until the timeout
    // frees them.
    let mut refused = 0u32;
    let mut last = String::new();
    let mut good = loop {
        let attempt = EchoClient::connect(addr, Duration::from_secs(5))
            .and_then(|mut c| c.echo(1, b"good").map(|()| c));
        match attempt {
            Ok(c) => break c,
            Err(e) => {
                assert!(
                    held_at.elapsed() < FREE_LIMIT,
                    "waited {FREE_LIMIT:?} for the board to free a socket held by a silent \
                     peer (firmware timeout 10 s); {refused} attempts refused, the last: {e}"
                );
                refused += 1;
                last = e;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let freed_after = held_at.elapsed();
    assert!(
        refused > 0,
        "a good client was served at once although 4 silent peers held the pool of {POOL}"
    );
    // Every socket was freed: three more good clients are served beside the first one.
    let others: Vec<(EchoClient, u32)> = (1..POOL)
        .map(|i| {
            connect_served(addr)
                .unwrap_or_else(|e| panic!("good client {i} after the silent peers: {e}"))
        })
        .collect();
    good.echo(2, &pattern(5000, 2))
        .expect("the first good client after the silent peers");
    eprintln!(
        "4 silent peers: error frame, FIN, then held until the board freed their sockets; a good \
         client was refused {refused} times (50 ms apart; the last: {last}) and served \
         {freed_after:.1?} after the pool was held; {} more good clients were then served at \
         once (attempts: {:?})",
        POOL - 1,
        others.iter().map(|(_, a)| a).collect::<Vec<_>>()
    );
    drop((good, others));

    // The board's abort reached slirp, which dropped its side without a word: each silent
    // peer still sees only the FIN (CLOSE_WAIT); a byte it writes now is answered by a
    // reset.
    for (i, peer) in silent.iter_mut().enumerate() {
        let state = tcp_state(peer.stream());
        peer.stream()
            .write_all(b"?")
            .unwrap_or_else(|e| panic!("silent peer {i}: write: {e}"));
        let deadline = Instant::now() + Duration::from_secs(5);
        while tcp_state(peer.stream()) != TCP_CLOSE {
            assert!(
                Instant::now() < deadline,
                "silent peer {i}: waited 5 s for the reset answering its late byte"
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        eprintln!("silent peer {i}: state {state} (8: CLOSE_WAIT), reset after a late byte");
    }
    assert_still_serving(&board, "4 peers silent after their error frames");
}
