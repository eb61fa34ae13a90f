//! tshark as a child process: a live capture on loopback, and the dissection of its file.
//!
//! Capturing needs root or the capture capabilities (`cargo xtask test` runs as root in CI;
//! `cargo xtask setup` installs tshark).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

/// The dissector under test.
pub fn script() -> PathBuf {
    sockframe_tests::board::workspace_root().join("adapters/wireshark/sockframe.lua")
}

/// `tshark --version`'s first line, or how to install it.
pub fn version() -> Result<String, String> {
    let out = Command::new("tshark")
        .arg("--version")
        .output()
        .map_err(|e| {
            format!("cannot run tshark ({e}): `cargo xtask setup` installs it (apt package tshark)")
        })?;
    let text = String::from_utf8_lossy(&out.stdout);
    if !text.contains("with Lua") {
        return Err(format!("this tshark has no Lua support:\n{text}"));
    }
    Ok(text.lines().next().unwrap_or_default().to_string())
}

/// The TCP ports Wireshark's own dissectors claim (`tshark -G decodes`): traffic meant for
/// the heuristic must avoid them, or a port-based dissector takes it first.
pub fn claimed_tcp_ports() -> HashSet<u16> {
    let out = Command::new("tshark")
        .args(["-G", "decodes"])
        .output()
        .expect("tshark -G decodes");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let mut cols = l.split('\t');
            (cols.next()? == "tcp.port").then_some(())?;
            cols.next()?.parse().ok()
        })
        .collect()
}

/// A running capture on `lo`, into a pcapng file. Stopped (and its file removed) on drop.
pub struct Capture {
    child: Child,
    file: PathBuf,
    /// tshark's one-line packet summaries (`-P`), to see the probe packets arrive.
    lines: Receiver<String>,
    probe: TcpListener,
}

impl Capture {
    /// Starts capturing TCP on the given ports, and returns once a probe connection has
    /// been seen in the capture (tshark's start-up is asynchronous: a sleep proves nothing).
    pub fn start(ports: &[u16]) -> Result<Capture, String> {
        let probe = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
        let probe_port = probe.local_addr().map_err(|e| e.to_string())?.port();
        let filter = ports
            .iter()
            .chain([&probe_port])
            .map(|p| format!("tcp port {p}"))
            .collect::<Vec<_>>()
            .join(" or ");
        let file = std::env::temp_dir().join(format!(
            "sockframe-wireshark-{}-{probe_port}.pcapng",
            std::process::id()
        ));
        let mut cmd = Command::new("tshark");
        cmd.args(["-i", "lo", "-f", &filter, "-w"])
            .arg(&file)
            .args(["-P", "-l", "-n"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null());
        sockframe_tests::child::die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| format!("cannot start tshark: {e}"))?;
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut capture = Capture {
            child,
            file,
            lines,
            probe,
        };
        capture.sync(Duration::from_secs(30))?;
        Ok(capture)
    }

    /// Connects to the probe port until tshark reports the probe's packets: everything sent
    /// before this call returns is in the capture.
    pub fn sync(&mut self, limit: Duration) -> Result<(), String> {
        let port = self.probe.local_addr().map_err(|e| e.to_string())?.port();
        let deadline = Instant::now() + limit;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "tshark exited ({status}) before capturing; capturing needs root \
                     or the capture capabilities"
                ));
            }
            let probe = TcpStream::connect(("127.0.0.1", port)).map_err(|e| e.to_string())?;
            let local = probe.local_addr().map_err(|e| e.to_string())?.port();
            drop(probe);
            let wanted = format!("{local} ");
            let wait_until = Instant::now() + Duration::from_millis(500);
            while let Some(left) = wait_until.checked_duration_since(Instant::now()) {
                match self.lines.recv_timeout(left) {
                    Ok(line) if line.contains(&wanted) => return Ok(()),
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        Err(format!("tshark did not capture a probe within {limit:?}"))
    }

    /// Waits until everything sent so far is captured, stops tshark, and returns the file.
    pub fn stop(mut self) -> Result<CaptureFile, String> {
        self.sync(Duration::from_secs(30))?;
        // SIGINT: tshark finishes writing the file and exits.
        // SAFETY: kill(2) on our own child's pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => break,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(20))
                }
                _ => return Err("tshark did not stop on SIGINT within 10 s".into()),
            }
        }
        Ok(CaptureFile(std::mem::take(&mut self.file)))
    }
}

impl Drop for Capture {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if !self.file.as_os_str().is_empty() {
            let _ = std::fs::remove_file(&self.file);
        }
    }
}

/// A finished capture file, removed on drop.
pub struct CaptureFile(PathBuf);

impl CaptureFile {
    /// A capture file with these bytes (a pcap the test wrote), removed on drop.
    pub fn written(bytes: &[u8]) -> Result<CaptureFile, String> {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let path = std::env::temp_dir().join(format!(
            "sockframe-wireshark-{}-written-{n}.pcap",
            std::process::id()
        ));
        std::fs::write(&path, bytes).map_err(|e| format!("{}: {e}", path.display()))?;
        Ok(CaptureFile(path))
    }

    /// `tshark -r FILE -X lua_script:sockframe.lua ARGS -T pdml`: the dissection, as PDML.
    pub fn dissect(&self, args: &[&str]) -> Result<String, String> {
        let out = Command::new("tshark")
            .arg("-r")
            .arg(&self.0)
            .arg("-X")
            .arg(format!("lua_script:{}", script().display()))
            .args(args)
            .args(["-T", "pdml"])
            .output()
            .map_err(|e| format!("cannot run tshark: {e}"))?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        // Lua errors do not fail tshark: they show on stderr, and as text in the tree.
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if !out.status.success() || stderr.contains("Lua") || stdout.contains("Lua Error") {
            return Err(format!(
                "tshark -r failed ({}):\n{stderr}\n{}",
                out.status,
                stdout
                    .lines()
                    .filter(|l| l.contains("Lua"))
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
        Ok(stdout)
    }
}

impl Drop for CaptureFile {
    fn drop(&mut self) {
        // To look at a failure in Wireshark: SOCKFRAME_KEEP_CAPTURE=1 keeps the file.
        if std::env::var_os("SOCKFRAME_KEEP_CAPTURE").is_some() {
            eprintln!("capture kept: {}", self.0.display());
        } else {
            let _ = std::fs::remove_file(&self.0);
        }
    }
}
