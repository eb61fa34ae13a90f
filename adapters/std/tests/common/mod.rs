//! Helpers shared by the integration tests: servers on free loopback ports, raw
//! connections, scratch directories. (The `sockframe` binary's helpers are in
//! adapters/cli/tests/bin, whose tests include this file too.)
#![allow(dead_code)] // each test file uses its own subset

use sockframe::Kind;
use sockframe_std::services::Echo;
use sockframe_std::{Client, OwnedFrame, Server, ServerConfig, ServerHandle, Service};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
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
pub fn start<Svc: Service>(cfg: ServerConfig, service: Svc) -> ServerHandle {
    let handle = Server::spawn_thread(cfg, service).expect("server starts");
    let mut c = connect(handle.local_addr());
    c.ping().expect("server answers a ping");
    handle
}

/// An echo server with the default settings.
pub fn echo() -> ServerHandle {
    start(loopback(), Echo)
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
