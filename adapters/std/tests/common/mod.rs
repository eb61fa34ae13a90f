//! Helpers shared by the integration tests: servers on free loopback ports, raw
//! connections, scratch directories, and the real binary under a kill-on-drop guard.
#![allow(dead_code)] // each test file uses its own subset

use sockframe::{Header, Kind};
use sockframe_std::{Client, OwnedFrame, Server, ServerConfig, ServerHandle, Service};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// A config listening on a free loopback port.
pub fn loopback() -> ServerConfig {
    ServerConfig {
        bind: "127.0.0.1:0".parse().unwrap(),
        ..ServerConfig::default()
    }
}

/// Starts `service` in-process with `cfg`; ready once it answered a real exchange.
pub fn start(cfg: ServerConfig, service: Service) -> ServerHandle {
    let handle = Server::spawn_thread(cfg, service).expect("server starts");
    let mut c = connect(handle.local_addr());
    c.ping().expect("server answers a ping");
    handle
}

/// An echo server with the default settings.
pub fn echo() -> ServerHandle {
    start(loopback(), Service::Echo)
}

/// A client with a read timeout, so a broken server fails the test instead of hanging it.
pub fn connect(addr: SocketAddr) -> Client {
    let c = Client::connect(addr).expect("connect");
    c.stream()
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    c
}

/// A raw connection with a read timeout.
pub fn raw(addr: SocketAddr) -> TcpStream {
    let s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s
}

/// Reads frames until an error frame arrives and returns its code; panics on anything else.
pub fn expect_error(client: &mut Client) -> OwnedFrame {
    loop {
        match client.recv_frame() {
            Ok(Some(f)) if f.kind == Kind::ERROR => return f,
            Ok(Some(_)) => continue,
            other => panic!("expected an error frame, got {other:?}"),
        }
    }
}

/// One request on `client`, checked to come back unchanged.
pub fn assert_echo(client: &mut Client, payload: &[u8]) {
    let reply = client.request(payload).expect("echo");
    assert_eq!(reply.kind, Kind::DATA);
    assert_eq!(reply.payload, payload);
}

/// Waits (bounded) until `cond` holds; for effects of another task that no exchange can
/// observe, such as a file removed after a disconnect.
pub fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A fresh, empty scratch directory, removed on drop.
pub struct TempDir(pub PathBuf);

impl TempDir {
    pub fn new(tag: &str) -> TempDir {
        static N: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "sockframe-std-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir.canonicalize().unwrap())
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    /// Names of the entries, hidden ones included.
    pub fn entries(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(&self.0)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

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
