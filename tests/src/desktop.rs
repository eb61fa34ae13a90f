//! The desktop server, the real `sockframe serve` binary, as a child process on a free port
//! of 127.0.0.1. The process is killed when the [`Desktop`] is dropped, and also (through
//! `PR_SET_PDEATHSIG`) if the thread that started it dies without unwinding.

use crate::board::workspace_root;
use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Builds the `sockframe` command (the workspace's dev profile, the caller's target dir)
/// and returns its path. `SOCKFRAME_BIN` names a prebuilt binary instead.
pub fn build_server() -> Result<PathBuf, String> {
    if let Some(path) = std::env::var_os("SOCKFRAME_BIN") {
        return Ok(PathBuf::from(path));
    }
    let out = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .current_dir(workspace_root())
        .args([
            "build",
            "--quiet",
            "-p",
            "sockframe-cli",
            "--bin",
            "sockframe",
        ])
        .arg("--message-format=json-render-diagnostics")
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo for the desktop server: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "building the desktop server failed ({})",
            out.status
        ));
    }
    let key = "\"executable\":\"";
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let at = l.find(key)? + key.len();
            Some(PathBuf::from(&l[at..at + l[at..].find('"')?]))
        })
        .ok_or_else(|| "cargo did not report the `sockframe` executable".into())
}

/// A running `sockframe serve`. Dropping it kills the process.
pub struct Desktop {
    child: Child,
    addr: SocketAddr,
}

impl Desktop {
    /// Starts `sockframe serve --bind 127.0.0.1:0 ARGS` (built by [`build_server`]) and
    /// waits until it has echoed a real frame.
    pub fn start(args: &[&str]) -> Result<Desktop, String> {
        let bin = build_server()?;
        let mut cmd = Command::new(&bin);
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        crate::child::die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
        let stderr = child.stderr.take().expect("stderr is piped");
        let mut desktop = Desktop {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        // The server prints `sockframe: echo listening on ADDR`; the pipe is drained for as
        // long as it lives (a full pipe would block it).
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(at) = line.find("listening on ") {
                    let _ = tx.send(line[at + "listening on ".len()..].trim().to_string());
                }
            }
        });
        let line = rx
            .recv_timeout(Duration::from_secs(20))
            .map_err(|_| "the desktop server printed no `listening on` line in 20 s")?;
        desktop.addr = line
            .parse()
            .map_err(|e| format!("`{line}` is not an address: {e}"))?;
        crate::client::echo_once(desktop.addr, b"ready?", Duration::from_secs(10))
            .map_err(|e| format!("the desktop server does not echo: {e}"))?;
        Ok(desktop)
    }

    /// Where it listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for Desktop {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
