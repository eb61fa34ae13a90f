//! The desktop servers: `sockframe` built in release mode, and each `sockframe serve` run as
//! a child process that dies with the soak.

use super::clients::set_timeouts;
use crate::util;
use sockframe_std::Client;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Builds `sockframe` in release mode (as shipped) and returns its path.
pub(super) fn build_server() -> Result<PathBuf, String> {
    util::build_release(&["-p", "sockframe-cli", "--bin", "sockframe"])?("sockframe")
}

/// A running `sockframe serve`, killed when dropped.
pub(super) struct Server {
    pub(super) name: &'static str,
    pub(super) pid: u32,
    pub(super) addr: SocketAddr,
    /// The last lines it printed (stderr), for the report.
    log: Arc<Mutex<VecDeque<String>>>,
    child: Child,
}

impl Server {
    /// Starts `exe serve --bind 127.0.0.1:0 EXTRA` and waits until it answers a PING.
    pub(super) fn start(exe: &Path, name: &'static str, extra: &[&str]) -> Result<Server, String> {
        let mut cmd = Command::new(exe);
        cmd.args(["serve", "--bind", "127.0.0.1:0"])
            .args(extra)
            // exec: error messages of the commands in a known language.
            .env("LC_ALL", "C")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        die_with_us(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", exe.display()))?;
        let pid = child.id();
        let stderr = child.stderr.take();
        let log = Arc::new(Mutex::new(VecDeque::new()));
        let mut server = Server {
            name,
            pid,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
            log: log.clone(),
            child,
        };
        // The port from "listening on ADDR"; every stderr line into the last-lines log.
        let addr = util::listening_addr(stderr, move |line| {
            let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
            if log.len() == 20 {
                log.pop_front();
            }
            log.push_back(line);
        })
        .ok_or_else(|| format!("{name} server did not report its address"))?;
        server.addr = addr
            .parse()
            .map_err(|e| format!("{name} server address {addr:?}: {e}"))?;
        server.wait_ready()?;
        eprintln!("{name} server: pid {pid} at {}", server.addr);
        Ok(server)
    }

    /// Ready means a real exchange: a PING answered by a PONG.
    fn wait_ready(&self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let tried = Client::connect_timeout(&self.addr, Duration::from_secs(1))
                .map_err(|e| e.to_string())
                .and_then(|mut c| {
                    set_timeouts(c.stream(), Duration::from_secs(1))?;
                    c.ping().map_err(|e| e.to_string())
                });
            match tried {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(format!("{} server never answered a PING: {e}", self.name));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    }

    /// An error if the server has exited.
    pub(super) fn check_running(&self) -> Result<(), String> {
        // /proc/PID/stat's state "Z" is an exited child not yet reaped.
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.pid)).unwrap_or_default();
        let state = stat[stat.rfind(')').map_or(0, |i| i + 1)..]
            .split_whitespace()
            .next();
        match state {
            Some("Z") | Some("X") | None => Err(format!(
                "{} server (pid {}) exited; its last lines: {}",
                self.name,
                self.pid,
                self.log_lines().join(" / ")
            )),
            _ => Ok(()),
        }
    }

    pub(super) fn log_lines(&self) -> Vec<String> {
        let log = self.log.lock().unwrap_or_else(|e| e.into_inner());
        // The address line is known; anything else (a warning, a panic) is news.
        log.iter()
            .filter(|l| !l.contains("listening on "))
            .map(|l| format!("{}: {l}", self.name))
            .collect()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Makes the child die with this process, and keeps it out of the terminal's Ctrl-C: the
/// soak stops the clients first, then kills the servers, so a stopped server is not
/// reported as a client error.
fn die_with_us(cmd: &mut Command) {
    use std::os::unix::process::CommandExt as _;
    cmd.process_group(0);
    // SAFETY: prctl is async-signal-safe. PDEATHSIG follows the *thread* that spawned the
    // child: servers are started from the main thread, which lives until the soak ends.
    unsafe {
        cmd.pre_exec(|| {
            libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL);
            Ok(())
        });
    }
}
