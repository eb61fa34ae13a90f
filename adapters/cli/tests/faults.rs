//! Faults against the desktop server: clients killed or reset mid-frame, half-closes, a
//! flood past `--max-conns`, 10,000 connections held at once, and the server restarted
//! under its clients. In each, a well-behaved client is served between and after the
//! faults, byte-exact, and the test checks what the faulty peer got back.
//!
//! No assertion is about time: every wait is bounded and fails saying what it waited for.
//! Every spawned process is held by a `ChildGuard`, so it is killed even when a test fails.

mod bin;
#[path = "../../std/tests/common/mod.rs"]
mod common;

use bin::*;
use common::*;
use sockframe::{Header, Kind, Limits, encode_frame, encode_head};
use sockframe_std::services::Echo;
use sockframe_std::{Client, ClientError, ServerConfig};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::process::Stdio;
use std::time::{Duration, Instant};

/// The bytes of one whole frame.
fn frame(header: &Header<'_>, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 1024 + payload.len()];
    let n = encode_frame(header, payload, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// The head (prefix and header) of a frame with a `len`-byte payload.
fn head(header: &Header<'_>, len: u64) -> Vec<u8> {
    let mut buf = vec![0u8; 1024];
    let n = encode_head(header, len, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Payload bytes that differ from one position and one frame to the next.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| {
            (i as u32)
                .wrapping_mul(31)
                .wrapping_add(u32::from(seed) * 7) as u8
        })
        .collect()
}

/// An echo server whose limits let a frame of 1 GiB through (payloads stream, so this
/// bounds nothing in memory), with the default 16 KiB buffer.
fn echo_server() -> sockframe_std::ServerHandle {
    let cfg = ServerConfig {
        limits: Limits {
            max_header: 512,
            max_payload: 1 << 30,
        },
        ..loopback()
    };
    start(cfg, Echo)
}

/// Waits until the in-process server holds no receive buffer: every connection sits
/// between frames or is gone (the steady client, once answered, holds none).
fn no_buffers(server: &sockframe_std::ServerHandle, what: &str) {
    eventually(what, || server.stats().buffers_in_use() == 0);
}

/// Sends `signal` (a `kill` name: INT, KILL) to the child.
fn signal(child: &ChildGuard, signal: &str) {
    let status = std::process::Command::new("kill")
        .args([format!("-{signal}"), child.0.id().to_string()])
        .status()
        .expect("run kill");
    assert!(status.success(), "kill -{signal} failed");
}

/// Waits (bounded) for the child to exit.
fn wait_exit(child: &mut ChildGuard, what: &str) -> std::process::ExitStatus {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.0.try_wait().expect("wait") {
            return status;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Resets the connection (SO_LINGER 0, then close): the peer sees RST, not FIN.
fn reset(s: TcpStream) {
    socket2::SockRef::from(&s)
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(s);
}

#[test]
fn a_client_killed_mid_frame_ends_only_its_connection() {
    let server = echo_server();
    let addr = server.local_addr();
    let mut steady = connect(addr);
    assert_echo(&mut steady, b"before the kills");
    no_buffers(&server, "the steady client between frames");

    // 1. A real process that has sent the head and half the payload of a frame, then waits
    //    (bash's /dev/tcp): killed while the server waits for the rest of the frame.
    let payload = pattern(10_000, 1);
    let wire = frame(&Header::data(1, &payload), &payload);
    let half = &wire[..wire.len() - 5_000];
    let escaped: String = half.iter().map(|b| format!("\\x{b:02x}")).collect();
    let script = format!(
        "exec 3<>/dev/tcp/{}/{} || exit 9; printf '{escaped}' >&3; exec sleep 60",
        addr.ip(),
        addr.port()
    );
    let mut writer = ChildGuard(
        std::process::Command::new("bash")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .spawn()
            .expect("spawn bash"),
    );
    eventually("the server holds the half frame", || {
        server.stats().buffers_in_use() == 1
    });
    assert!(
        writer.0.try_wait().unwrap().is_none(),
        "the half-frame writer is still waiting"
    );
    writer.0.kill().unwrap();
    let status = writer.0.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9)
    );
    no_buffers(&server, "the killed writer's connection ended");
    assert_echo(&mut steady, b"after the killed writer");

    // 2. `sockframe send` with a 48 MiB message: it writes the whole frame before reading
    //    its echo, the echo fills the socket buffers, and both sides stall mid-frame (the
    //    frame can never complete). Killed there, with unread echo in its socket: the
    //    kernel resets the connection while the server is blocked writing to it.
    let big = pattern(48 << 20, 2);
    let mut sender = ChildGuard(
        bin()
            .args(["send", &addr.to_string(), "-", "--timeout", "0"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sockframe send"),
    );
    let mut stdin = sender.0.stdin.take().unwrap();
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&big);
    });
    let writes_before = server.stats().writes();
    // 32 writes of echo (up to 64 KiB each): the server is well inside the big frame.
    eventually("the server echoes the big frame", || {
        server.stats().writes() >= writes_before + 32 && server.stats().buffers_in_use() == 1
    });
    assert!(
        sender.0.try_wait().unwrap().is_none(),
        "sockframe send is still stalled mid-frame"
    );
    assert_echo(&mut steady, b"while a client is stalled mid-frame");
    sender.0.kill().unwrap();
    let status = sender.0.wait().unwrap();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&status),
        Some(9),
        "sockframe send was killed, it did not exit by itself"
    );
    feeder.join().unwrap();
    no_buffers(&server, "the killed sender's connection ended");
    assert_echo(&mut steady, b"after the killed sender");
    let mut fresh = connect(addr);
    assert_echo(&mut fresh, &pattern(100_000, 3));
    assert_echo(&mut steady, b"the end");
}

#[test]
fn a_reset_mid_frame_ends_only_that_connection() {
    let server = echo_server();
    let addr = server.local_addr();
    let mut steady = connect(addr);
    assert_echo(&mut steady, b"before the resets");

    // Header only; half of a payload that fits the 16 KiB buffer; 300 KiB into a 1 MiB
    // frame that streams through the buffer.
    let small = pattern(10_000, 4);
    let small_head = head(&Header::data(1, &small), small.len() as u64);
    let cases: [(&str, Vec<u8>); 2] = [
        ("header only", small_head.clone()),
        ("mid-payload", [&small_head[..], &small[..5_000]].concat()),
    ];
    for (name, bytes) in cases {
        no_buffers(&server, "the steady client between frames");
        let mut s = raw(addr);
        s.write_all(&bytes).unwrap();
        eventually(
            &format!("{name}: the server holds the partial frame"),
            || server.stats().buffers_in_use() == 1,
        );
        reset(s);
        no_buffers(&server, &format!("{name}: the reset connection ended"));
        assert_echo(&mut steady, name.as_bytes());
    }

    // Mid-stream: the faulty peer first reads back the start of its own echo, byte-exact,
    // so the reset lands while the server is streaming the frame both ways.
    let large = pattern(1 << 20, 5);
    let h = Header::data(7, &large).with_crc_of(&large);
    let s = raw(addr);
    let mut w = s.try_clone().unwrap();
    w.write_all(&head(&h, large.len() as u64)).unwrap();
    w.write_all(&large[..300 * 1024]).unwrap();
    let mut faulty = Client::with_buffer(s, 4096, Client::LIMITS);
    let mut echoed = Vec::new();
    match faulty.recv().unwrap() {
        Some(sockframe::Event::Start(got)) => {
            assert_eq!((got.id, got.len, got.crc), (7, large.len() as u64, h.crc));
        }
        other => panic!("expected the start of the streamed echo, got {other:?}"),
    }
    while echoed.len() < 100 * 1024 {
        match faulty.recv().unwrap() {
            Some(sockframe::Event::Chunk(bytes)) => echoed.extend_from_slice(bytes),
            other => panic!("expected echo chunks, got {other:?}"),
        }
    }
    assert!(large.starts_with(&echoed), "the echo so far is byte-exact");
    assert_eq!(server.stats().buffers_in_use(), 1, "mid-frame");
    reset(w);
    drop(faulty);
    no_buffers(&server, "mid-stream: the reset connection ended");
    assert_echo(&mut steady, b"after the mid-stream reset");
    let mut fresh = connect(addr);
    assert_echo(&mut fresh, &pattern(50_000, 6));
}

#[test]
fn a_half_closed_client_gets_every_reply_then_the_end() {
    let server = echo_server();
    let addr = server.local_addr();
    let mut steady = connect(addr);
    assert_echo(&mut steady, b"before");

    // Ten small frames in one write (pipelined), a 1 MiB frame (64 times the server
    // buffer) with a checksum, then three more with names and metadata.
    let mut wire = Vec::new();
    for i in 0..10u8 {
        let p = pattern(100 + usize::from(i) * 37, i);
        wire.extend(frame(&Header::data(u32::from(i) + 1, &p), &p));
    }
    let pipelined = wire.len();
    let large = pattern(1 << 20, 42);
    wire.extend(frame(
        &Header::data(100, &large).with_crc_of(&large),
        &large,
    ));
    let meta = [("k", "v"), ("role", "half-close")];
    for i in 0..3u8 {
        let p = pattern(3000, 50 + i);
        let h = Header::new(Kind(70), 200 + u32::from(i), 0)
            .with_name("named")
            .with_meta(&meta)
            .with_crc_of(&p);
        wire.extend(frame(&h, &p));
    }
    let s = raw(addr);
    let mut w = s.try_clone().unwrap();
    let sent = wire.clone();
    let writer = std::thread::spawn(move || {
        w.write_all(&sent[..pipelined]).unwrap();
        // The rest in uneven pieces, as a stream may split it.
        for piece in sent[pipelined..].chunks(7_777) {
            w.write_all(piece).unwrap();
        }
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    (&s).read_to_end(&mut got)
        .expect("every reply, then the end");
    writer.join().unwrap();
    // The echo of a non-PING frame is the same frame: the whole stream comes back as sent,
    // and nothing follows it (no error frame: the half-close came between frames).
    assert_eq!(got.len(), wire.len());
    assert!(got == wire, "the replies are byte-exact");
    assert_echo(&mut steady, b"after the half-close");

    // Half-closed mid-frame: the whole frame before it is answered, then `truncated`.
    let p = pattern(500, 9);
    let mut cut = frame(&Header::data(1, &p), &p);
    cut.extend_from_slice(&frame(&Header::data(2, &p), &p)[..300]);
    let s = raw(addr);
    (&s).write_all(&cut).unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut c = Client::from_stream(s);
    let first = c.recv_frame().unwrap().expect("the whole frame's echo");
    assert_eq!((first.id, first.payload.as_slice()), (1, p.as_slice()));
    let err = c.recv_frame().unwrap().expect("an error frame");
    assert_eq!(err.kind, Kind::ERROR);
    assert_eq!(err.meta("code"), Some("truncated"), "{}", err.text());
    assert!(err.text().contains("mid-payload"), "{}", err.text());
    assert!(c.recv_frame().unwrap().is_none(), "then the end");
    assert_echo(&mut steady, b"after the cut");
}

#[test]
fn half_closed_mid_stream_the_peer_sees_its_echo_cut_short() {
    // A frame larger than the server buffer is echoed cut-through: its head has left
    // before the stream ends, so the server cannot put an error frame in its place, and
    // must not put one inside the announced payload (spec 6.1: it would be read as payload
    // bytes). What the peer gets: the head, the payload bytes it sent, and the end; its
    // own decoder then reports the truncation.
    let server = echo_server();
    let addr = server.local_addr();
    let mut steady = connect(addr);
    let large = pattern(1 << 20, 11);
    let h = Header::data(3, &large);
    let s = raw(addr);
    let mut sent = head(&h, large.len() as u64);
    sent.extend_from_slice(&large[..200 * 1024]);
    let mut w = s.try_clone().unwrap();
    let to_send = sent.clone();
    let writer = std::thread::spawn(move || {
        w.write_all(&to_send).unwrap();
        w.shutdown(Shutdown::Write).unwrap();
    });
    let mut got = Vec::new();
    (&s).read_to_end(&mut got)
        .expect("the cut echo, then the end");
    writer.join().unwrap();
    assert!(
        got.starts_with(&sent),
        "head and payload so far, byte-exact"
    );
    let rest = &got[sent.len()..];
    assert!(
        rest.is_empty(),
        "nothing after the bytes sent: {} more",
        rest.len()
    );
    // The peer's own decoder sees a cut frame.
    let mut peer = sockframe::Decoder::new(vec![0u8; 64 * 1024]);
    let mut fed = &got[..];
    let mut payload = 0usize;
    loop {
        let n = fed.len().min(peer.read_buf().len());
        if n == 0 {
            break;
        }
        peer.read_buf()[..n].copy_from_slice(&fed[..n]);
        peer.commit(n);
        fed = &fed[n..];
        while let Some(ev) = peer.next_event().unwrap() {
            if let sockframe::Event::Chunk(b) = ev {
                payload += b.len();
            }
        }
    }
    assert_eq!(payload, got.len() - (sent.len() - 200 * 1024));
    assert_eq!(peer.finish().unwrap_err().code(), "truncated");
    assert_echo(&mut steady, b"after the cut stream");
}

#[test]
fn a_flood_past_max_conns_gets_busy_and_the_held_ones_are_served() {
    const MAX: usize = 20;
    const FLOOD: usize = 120;
    let (_server, addr) = serve_bin(&["--max-conns", &MAX.to_string()]);
    // The readiness probe's slot is given back asynchronously: retry until served.
    let mut steady = None;
    eventually("the steady client holds a slot", || {
        let mut c = connect(addr);
        match c.request(b"steady") {
            Ok(f) if f.payload == b"steady" => {
                steady = Some(c);
                true
            }
            _ => false,
        }
    });
    let mut steady = steady.unwrap();

    // 120 connections as fast as they go, each sending a PING before any reply is read.
    let ping = frame(&Header::new(Kind::PING, 9, 0), b"");
    let mut flood: Vec<TcpStream> = (0..FLOOD).map(|_| raw(addr)).collect();
    for s in &mut flood {
        s.write_all(&ping).unwrap();
    }
    let (mut served, mut busy) = (Vec::new(), 0usize);
    for (i, s) in flood.into_iter().enumerate() {
        let mut c = Client::from_stream(s);
        let f = c
            .recv_frame()
            .unwrap_or_else(|e| panic!("connection {i}: {e}"))
            .unwrap_or_else(|| panic!("connection {i} closed without a word"));
        match f.kind {
            Kind::PONG => served.push(c),
            Kind::ERROR => {
                assert_eq!(f.meta("code"), Some("busy"), "connection {i}: {}", f.text());
                assert!(
                    f.text().contains(&format!("all {MAX} connection slots")),
                    "the message names the limit: {}",
                    f.text()
                );
                assert!(
                    c.recv_frame().unwrap().is_none(),
                    "connection {i}: closed after busy"
                );
                busy += 1;
            }
            other => panic!("connection {i}: kind {}", other.0),
        }
    }
    eprintln!(
        "flood of {FLOOD} at max-conns {MAX}: {} served, {busy} busy",
        served.len()
    );
    // The steady client holds one slot, the readiness probe maybe still one.
    assert!(
        (MAX - 2..=MAX - 1).contains(&served.len()),
        "{} served",
        served.len()
    );
    assert_eq!(served.len() + busy, FLOOD);
    for (i, c) in served.iter_mut().enumerate() {
        assert_echo(c, &pattern(2000 + i, i as u8));
    }
    assert_echo(&mut steady, b"during the flood");

    // Once they close, newcomers fill every free slot again.
    drop(served);
    eventually("all free slots served again", || {
        let mut again: Vec<Client> = (0..MAX - 1).map(|_| connect(addr)).collect();
        again
            .iter_mut()
            .all(|c| c.request(b"again").is_ok_and(|f| f.payload == b"again"))
    });
    assert_echo(&mut steady, b"after the flood");
}

/// Raises the soft RLIMIT_NOFILE to the hard limit (inherited by children spawned later);
/// fails, saying so, if the hard limit is below `need`.
fn raise_nofile(need: libc::rlim_t) {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        assert_eq!(libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim), 0);
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            assert_eq!(libc::setrlimit(libc::RLIMIT_NOFILE, &lim), 0);
        }
    }
    assert!(
        lim.rlim_cur >= need,
        "this test holds 10,000 connections and needs {need} file descriptors per process, \
         but the hard limit (ulimit -Hn) is {}: raise it, e.g. `ulimit -Hn 20000` as root",
        lim.rlim_max
    );
}

/// The resident memory of process `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// Found in review: every busy refusal lingered (draining the newcomer for up to 2 s), so
/// a flood held one descriptor per refusal: 3,012 for 3,000 unread refusals. Now at most 64
/// linger; the rest are told and closed at once.
#[test]
fn a_flood_of_refusals_does_not_pile_up_descriptors() {
    const MAX: usize = 4;
    const FLOOD: usize = 1000;
    let (server, addr) = serve_bin(&["--max-conns", &MAX.to_string()]);
    let fds = || {
        std::fs::read_dir(format!("/proc/{}/fd", server.0.id()))
            .map(|d| d.count())
            .unwrap_or(0)
    };
    // Hold every slot, so each newcomer is refused.
    let mut held = Vec::new();
    eventually("every slot held", || {
        let mut c = connect(addr);
        if c.request(b"hold").is_ok() {
            held.push(c);
        }
        held.len() == MAX
    });
    let before = fds();
    // 1,000 newcomers that never close: each must get its busy frame, and the server must
    // not keep their sockets.
    let mut flood: Vec<Client> = Vec::with_capacity(FLOOD);
    for i in 0..FLOOD {
        let mut c = Client::from_stream(raw(addr));
        let f = expect_error(&mut c);
        assert_eq!(f.meta("code"), Some("busy"), "newcomer {i}");
        flood.push(c);
    }
    let during = fds();
    eprintln!(
        "server descriptors: {before} with {MAX} held, {during} with {FLOOD} refused and still open on our side"
    );
    assert!(
        during <= before + 64 + 8,
        "refusals pile up: {during} descriptors (was {before})"
    );
    for c in &mut held {
        assert_echo(c, b"served throughout");
    }
}

#[test]
fn ten_thousand_connections_are_held_at_once() {
    const CONNS: usize = 10_000;
    raise_nofile(CONNS as libc::rlim_t + 500);
    let (server, addr) = serve_bin(&["--max-conns", "10100"]);
    let rss_before = rss_kib(server.0.id());
    let started = Instant::now();
    let conns: Vec<TcpStream> = (0..CONNS)
        .map(|i| {
            TcpStream::connect(addr).unwrap_or_else(|e| panic!("connection {i} of {CONNS}: {e}"))
        })
        .collect();
    let connected = started.elapsed();
    // Every 100th and the last, while all are held: a frame each, echoed byte-exact.
    let sample: Vec<usize> = (0..CONNS).step_by(100).chain([CONNS - 1]).collect();
    for &i in &sample {
        let s = &conns[i];
        s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
        let p = format!("connection {i} of {CONNS}").into_bytes();
        let wire = frame(&Header::data(i as u32, &p), &p);
        (&*s).write_all(&wire).unwrap();
        let mut back = vec![0u8; wire.len()];
        (&*s)
            .read_exact(&mut back)
            .unwrap_or_else(|e| panic!("echo on connection {i}: {e}"));
        assert!(back == wire, "connection {i}: echo differs");
    }
    let mut fresh = connect(addr);
    assert_echo(&mut fresh, &pattern(10_000, 7));
    let rss_held = rss_kib(server.0.id());
    eprintln!(
        "{CONNS} connections: connected in {:.2?}, {} sampled echoes, all in {:.2?}; server \
         RSS {rss_before} KiB before, {rss_held} KiB held ({:.1} KiB per connection)",
        connected,
        sample.len(),
        started.elapsed(),
        (rss_held.saturating_sub(rss_before)) as f64 / CONNS as f64
    );
    // None of them was closed or refused meanwhile: each still has nothing to read.
    for (i, s) in conns.iter().enumerate() {
        s.set_nonblocking(true).unwrap();
        let mut byte = [0u8; 1];
        match (&*s).read(&mut byte) {
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            other => panic!("connection {i} is no longer held: {other:?}"),
        }
    }
    drop(conns);
    assert_echo(&mut fresh, b"after the 10,000 closed");
}

#[test]
fn clients_of_a_restarted_server_get_a_clear_error_and_reconnect() {
    let (mut first, addr) = serve_bin_at("127.0.0.1:0", &[]);
    let bind = addr.to_string();
    let mut a = connect(addr);
    let mut b = connect(addr);
    assert_echo(&mut a, b"a, first server");
    assert_echo(&mut b, b"b, first server");

    // Ctrl-C: idle connections are told why they end, then the server exits 0.
    signal(&first, "INT");
    for (name, c) in [("a", &mut a), ("b", &mut b)] {
        let err = c.expect_frame().expect_err("an error frame");
        let text = err.to_string();
        assert!(
            matches!(&err, ClientError::Remote { code, .. } if code == "shutdown"),
            "{name}: {text}"
        );
        assert!(text.contains("shutting down"), "{name}: {text}");
        assert!(c.recv_frame().unwrap().is_none(), "{name}: then the end");
    }
    assert_eq!(wait_exit(&mut first, "the first server").code(), Some(0));

    // While no server runs, the command line says so (exit 3).
    let down = output(bin().args(["send", &bind, "anyone?"]));
    assert_eq!(down.status.code(), Some(3), "{down:?}");
    let said = String::from_utf8_lossy(&down.stderr);
    assert!(said.contains("cannot connect"), "{said}");
    assert!(said.contains("refused"), "{said}");

    // A new server takes the same port at once; the clients reconnect and are served.
    let (mut second, again) = serve_bin_at(&bind, &[]);
    assert_eq!(again, addr);
    let mut a = connect(addr);
    let mut b = connect(addr);
    assert_echo(&mut a, b"a, second server");
    assert_echo(&mut b, &pattern(200_000, 1));

    // Killed outright (SIGKILL) with a idle and b mid-frame: each gets a connection
    // error that says the connection ended, not a hang or a panic.
    let p = pattern(1000, 2);
    let wire = frame(&Header::data(1, &p), &p);
    b.send_raw(&wire[..500]).unwrap();
    signal(&second, "KILL");
    wait_exit(&mut second, "the killed server");
    for (name, c, rest) in [("a", &mut a, &wire[..]), ("b", &mut b, &wire[500..])] {
        // The write may or may not fail (the kernel answers it with a reset); the read
        // must report the end.
        let _ = c.send_raw(rest);
        let err = c.expect_frame().expect_err("the server is gone");
        let text = err.to_string();
        let clear = match &err {
            ClientError::Closed => true,
            ClientError::Io(e) => matches!(
                e.kind(),
                std::io::ErrorKind::ConnectionReset
                    | std::io::ErrorKind::ConnectionAborted
                    | std::io::ErrorKind::BrokenPipe
            ),
            _ => false,
        };
        assert!(clear, "{name}: {err:?}");
        assert!(text.contains("connection"), "{name}: {text}");
        eprintln!("{name} after SIGKILL: {text}");
    }

    // A third server on the same port; both clients reconnect.
    let (mut third, again) = serve_bin_at(&bind, &[]);
    assert_eq!(again, addr);
    let mut a = connect(addr);
    let mut b = connect(addr);
    assert_echo(&mut a, b"a, third server");
    assert_echo(&mut b, &p);
    drop((a, b));
    signal(&third, "INT");
    assert_eq!(wait_exit(&mut third, "the third server").code(), Some(0));
}
