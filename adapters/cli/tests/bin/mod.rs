//! The `sockframe` binary in tests: spawned under a kill-on-drop guard, its servers ready
//! once they answered a real exchange, its runs bounded in time.
#![allow(dead_code)] // each test file uses its own subset

use crate::common::connect;
use sockframe::{Header, Kind};
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The `sockframe` binary.
pub fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_sockframe"))
}

/// A child process killed (and reaped) when dropped, even when the test panics.
pub struct ChildGuard(pub Child);

impl Drop for ChildGuard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// `sockframe serve --bind 127.0.0.1:0 ARGS...`, its address read from the line it prints,
/// and ready once it answered a real exchange.
pub fn serve_bin(args: &[&str]) -> (ChildGuard, SocketAddr) {
    serve_bin_at("127.0.0.1:0", args)
}

/// `sockframe serve --bind BIND ARGS...`, as [`serve_bin`]; a chosen address lets a
/// restarted server take the same port.
pub fn serve_bin_at(bind: &str, args: &[&str]) -> (ChildGuard, SocketAddr) {
    let mut child = bin()
        .args(["serve", "--bind", bind])
        .args(args)
        .stdin(Stdio::piped())
        // Only chat prints on stdout (the operator's view); its test reads it.
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sockframe serve");
    let stderr = child.stderr.take().unwrap();
    let guard = ChildGuard(child);
    let mut lines = BufReader::new(stderr);
    let mut line = String::new();
    lines
        .read_line(&mut line)
        .expect("serve prints its address");
    let addr: SocketAddr = line
        .rsplit(' ')
        .next()
        .and_then(|a| a.trim().parse().ok())
        .unwrap_or_else(|| panic!("no address in {line:?} (bind {bind})"));
    // Keep draining stderr so the server never blocks on a full pipe.
    std::thread::spawn(move || {
        let mut sink = String::new();
        while lines.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    let mut c = connect(addr);
    let pong = c
        .request_with(&Header::new(Kind::PING, 0, 0), &[])
        .expect("served");
    assert_eq!(pong.kind, Kind::PONG);
    (guard, addr)
}

/// Runs `cmd` to completion like `Command::output`, but kills it (and fails the test) if it
/// has not finished within a minute, so a hung binary cannot hang the suite.
pub fn output(cmd: &mut Command) -> std::process::Output {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sockframe");
    finish(child)
}

/// Runs `cmd` with `input` on its stdin, written from a thread (a pipe holds 64 KiB, and
/// the outputs are drained by [`finish`]); the write must succeed.
pub fn output_with_stdin(cmd: &mut Command, input: Vec<u8>) -> std::process::Output {
    use std::io::Write;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sockframe");
    let mut stdin = child.stdin.take().expect("stdin piped");
    let writer = std::thread::spawn(move || stdin.write_all(&input));
    let out = finish(child);
    writer.join().expect("stdin writer").expect("stdin written");
    out
}

/// Waits for a spawned child (stdout and stderr piped) like `Child::wait_with_output`,
/// with the same one-minute bound.
pub fn finish(mut child: Child) -> std::process::Output {
    use std::io::Read;
    let drain = |pipe: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            if let Some(mut p) = pipe {
                let _ = p.read_to_end(&mut buf);
            }
            buf
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    );
    let mut guard = ChildGuard(child);
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = guard.0.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "sockframe did not finish within a minute"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    std::process::Output {
        status,
        stdout: out.join().unwrap(),
        stderr: err.join().unwrap(),
    }
}

/// `sockframe chat ADDR` against a chat server whose operator is `server`'s stdin and
/// stdout: writes `input` as the user, waits until the operator's screen shows `> said` and
/// the `reply> ` prompt, answers with an empty line (which ends the session), and returns
/// the client's output.
pub fn chat_with_operator(
    server: &mut Child,
    addr: &str,
    input: &[u8],
    said: &str,
) -> std::process::Output {
    use std::io::{Read, Write};
    let mut operator = server.stdin.take().unwrap();
    let mut screen = server.stdout.take().unwrap();
    let mut client = bin()
        .args(["chat", addr])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut user = client.stdin.take().unwrap();
    user.write_all(input).unwrap();
    user.flush().unwrap();
    // The operator answers once the message is on screen (earlier lines answer no one).
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    while !String::from_utf8_lossy(&seen).contains("reply> ") {
        assert_eq!(screen.read(&mut byte).unwrap(), 1, "server output ended");
        seen.push(byte[0]);
    }
    assert!(String::from_utf8_lossy(&seen).contains(&format!("> {said}")));
    operator.write_all(b"\n").unwrap();
    operator.flush().unwrap();
    finish(client)
}
