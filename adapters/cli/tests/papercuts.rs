//! What a new user ran into with the command, each fixed and kept fixed: silent peers,
//! interrupted downloads, the wrong service, addresses, large requests, terminal output.

mod bin;
#[path = "../../std/tests/common/mod.rs"]
mod common;

use bin::*;
use common::*;
use sockframe::Header;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

fn run(args: &[&str]) -> Output {
    output(bin().args(args).stdin(Stdio::null()))
}

/// `sockframe send ADDR -` with `input` on its stdin.
fn send_stdin(addr: &str, input: Vec<u8>) -> Output {
    output_with_stdin(bin().args(["send", addr, "-"]), input)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// A peer that accepts connections and holds them, never reading or answering: not a
/// sockframe server (or a hung one). Dropped, it closes them.
struct SilentPeer {
    addr: String,
    held: std::sync::Arc<std::sync::Mutex<Vec<TcpStream>>>,
}

impl SilentPeer {
    fn start() -> SilentPeer {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let held = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = held.clone();
        std::thread::spawn(move || {
            for s in listener.incoming().flatten() {
                keep.lock().unwrap().push(s);
            }
        });
        SilentPeer { addr, held }
    }
}

impl Drop for SilentPeer {
    fn drop(&mut self) {
        for s in self.held.lock().unwrap().drain(..) {
            let _ = s.shutdown(std::net::Shutdown::Both);
        }
    }
}

#[test]
fn bench_against_a_silent_server_ends_near_its_duration_and_says_why() {
    let peer = SilentPeer::start();
    for mode in ["pingpong", "pipelined"] {
        let started = Instant::now();
        let out = run(&["bench", &peer.addr, "--mode", mode, "--duration", "1"]);
        let took = started.elapsed();
        assert_ne!(out.status.code(), Some(0), "{mode}: {out:?}");
        assert!(
            stderr(&out).contains("no reply from the server for 2.0 s"),
            "{mode}: {}",
            stderr(&out)
        );
        // 1 s of run, 2 s of silence allowed, and slack for a loaded machine.
        assert!(took < Duration::from_secs(6), "{mode}: took {took:?}");
    }
}

#[test]
fn bench_prints_the_mode_as_the_options_spell_it() {
    let (_server, addr) = serve_bin(&[]);
    let addr = addr.to_string();
    for mode in ["pingpong", "pipelined"] {
        let out = run(&["bench", &addr, "--mode", mode, "--duration", "0.2"]);
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            text.starts_with(&format!("sockframe {mode} size 64 conns 1 window 64: ")),
            "{text}"
        );
    }
}

#[test]
fn send_and_chat_to_a_silent_peer_say_what_they_wait_for() {
    let peer = SilentPeer::start();
    let out = run(&["send", &peer.addr, "hello", "--timeout", "0.5"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        stderr(&out).contains("waited for the answer to a 5-byte DATA frame"),
        "{}",
        stderr(&out)
    );
    // chat: a slow operator is normal, so it says what it waits for and goes on waiting.
    let mut child = bin()
        .args(["chat", &peer.addr, "--timeout", "0.5"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let err = child.stderr.take().unwrap();
    let _guard = ChildGuard(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(err).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("chat says something");
    assert!(line.contains("no PONG from"), "{line}");
    assert!(line.contains("still waiting"), "{line}");
}

#[test]
fn an_interrupted_get_leaves_no_part_file() {
    // A files server (a stand-in) that starts a 1 MiB download and stalls in the middle.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    let server = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut request = [0u8; 256];
        let _ = s.read(&mut request).unwrap();
        let mut head = Vec::new();
        let mut h = Header::new(sockframe_std::kinds::FILE, 1, 1 << 20).with_name("big");
        h.crc = Some(0);
        sockframe_std::wire::push_head(&mut head, &h, 1 << 20).unwrap();
        s.write_all(&head).unwrap();
        s.write_all(&[7u8; 100_000]).unwrap();
        // Hold the connection until the client goes.
        let mut rest = Vec::new();
        let _ = s.read_to_end(&mut rest);
    });
    let dir = TempDir::new("interrupted-get");
    let dest = dir.path().join("big");
    let child = bin()
        .args(["get", &addr, "big", "-o", dest.to_str().unwrap()])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id().to_string();
    eventually("the partial download appears", || {
        dir.entries().iter().any(|n| n.ends_with(".sockframe-part"))
    });
    let killed = std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    assert!(killed.success());
    let out = finish(child);
    assert_eq!(out.status.code(), Some(130), "{out:?}");
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert!(dir.entries().is_empty(), "left behind: {:?}", dir.entries());
    server.join().unwrap();
}

#[test]
fn put_to_the_echo_service_says_it_is_not_a_files_service() {
    let (_server, addr) = serve_bin(&[]);
    let dir = TempDir::new("put-to-echo");
    let file = dir.path().join("notes.txt");
    std::fs::write(&file, b"some notes").unwrap();
    let out = run(&["put", &addr.to_string(), file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains("not a files service") && stderr(&out).contains("echo service"),
        "{}",
        stderr(&out)
    );
    let out = run(&[
        "get",
        &addr.to_string(),
        "notes.txt",
        "-o",
        file.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains("not a files service"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn addresses_by_name_and_a_missing_port() {
    // serve resolves names as send does.
    let (_server, addr) = serve_bin_at("localhost:0", &[]);
    let out = run(&["send", &format!("localhost:{}", addr.port()), "hi"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hi");
    for bare in ["127.0.0.1", "localhost", "::1"] {
        let out = run(&["send", bare, "hi"]);
        assert_eq!(out.status.code(), Some(2), "{bare}: {out:?}");
        assert!(
            stderr(&out).contains("the port is missing"),
            "{bare}: {}",
            stderr(&out)
        );
    }
    let out = run(&["serve", "--bind", "127.0.0.1"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn a_bad_root_is_a_usage_error() {
    let dir = TempDir::new("bad-root");
    let missing = dir.path().join("missing");
    let file = dir.path().join("file");
    std::fs::write(&file, b"").unwrap();
    for root in [&missing, &file] {
        let out = run(&[
            "serve",
            "--bind",
            "127.0.0.1:0",
            "--service",
            "files",
            "--root",
            root.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
        assert!(
            stderr(&out).contains(root.to_str().unwrap()),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn send_ends_its_output_with_a_newline_on_a_terminal_only() {
    let (_server, addr) = serve_bin(&[]);
    let addr = addr.to_string();
    // Not a terminal: the reply exactly.
    let out = run(&["send", &addr, "no newline"]);
    assert_eq!(out.stdout, b"no newline");
    // A terminal (script(1) runs it on a pseudo-terminal, which shows "\n" as "\r\n").
    let line = format!(
        "{} send {addr} 'no newline'",
        env!("CARGO_BIN_EXE_sockframe")
    );
    let out = output(std::process::Command::new("script").args(["-qec", &line, "/dev/null"]));
    assert!(out.status.success(), "{out:?}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "no newline\r\n");
}

#[test]
fn send_of_100_mib_through_the_echo_is_byte_exact() {
    let (_server, addr) = serve_bin(&["--max-frame", "200000000"]);
    let payload: Vec<u8> = (0..100u32 << 20)
        .map(|i| i.wrapping_mul(2_654_435_761).to_le_bytes()[3])
        .collect();
    let out = send_stdin(&addr.to_string(), payload.clone());
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(out.stdout.len(), payload.len());
    assert!(out.stdout == payload, "the echo differs from what was sent");
}

#[test]
fn requests_over_the_limit_show_the_servers_message() {
    let (_server, addr) = serve_bin(&[]);
    let big = vec![b'x'; 100 << 20];
    let out = send_stdin(&addr.to_string(), big);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains("payload is 104857600 bytes, limit 67108864"),
        "{}",
        stderr(&out)
    );
    // An upload over a files server's limit, likewise.
    let dir = TempDir::new("put-over-limit");
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let (_files, faddr) = serve_bin(&[
        "--service",
        "files",
        "--root",
        root.to_str().unwrap(),
        "--max-frame",
        "1000000",
    ]);
    let file = dir.path().join("big");
    std::fs::write(&file, vec![1u8; 20 << 20]).unwrap();
    let out = run(&["put", &faddr.to_string(), file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(
        stderr(&out).contains("payload is 20971520 bytes, limit 1000000"),
        "{}",
        stderr(&out)
    );
}
