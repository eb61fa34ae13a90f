//! The QEMU `lm3s6965evb` board running the sockframe echo firmware, as a child process.
//!
//! QEMU's user-mode network forwards one host port on 127.0.0.1 to the guest's echo port;
//! nothing else is reachable. The process is killed when the [`Board`] is dropped, and also
//! (through `PR_SET_PDEATHSIG`) if the test process dies without unwinding.

use std::io::Read as _;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The TCP port the firmware's echo service listens on inside the guest.
pub const GUEST_PORT: u16 = 7;

/// The guest's address on QEMU's user-mode network.
pub const GUEST_IP: &str = "10.0.2.15";

/// The workspace root (the folder holding `qemu/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// Builds the firmware (release) with the given cargo features (none: the default, framed
/// echo) and returns the ELF's path. `SOCKFRAME_FIRMWARE` names a prebuilt default ELF instead.
pub fn build_firmware(features: &[&str]) -> Result<PathBuf, String> {
    if features.is_empty()
        && let Some(path) = std::env::var_os("SOCKFRAME_FIRMWARE")
    {
        return Ok(PathBuf::from(path));
    }
    let qemu_dir = workspace_root().join("qemu");
    // The firmware's own target dir even when the caller set one for the host build; one per
    // feature set, so variants don't overwrite each other.
    let target = match features {
        [] => qemu_dir.join("target"),
        _ => qemu_dir
            .join("target")
            .join(format!("variant-{}", features.join("-"))),
    };
    let mut cmd = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    cmd.current_dir(&qemu_dir)
        .args(["build", "--release", "--quiet"])
        .env("CARGO_TARGET_DIR", &target);
    if !features.is_empty() {
        cmd.args(["--no-default-features", "--features", &features.join(",")]);
    }
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run cargo for the firmware: {e}"))?;
    if !status.success() {
        return Err(format!(
            "firmware build failed ({status}); run `cargo xtask setup` first?"
        ));
    }
    Ok(target.join("thumbv7m-none-eabi/release/sockframe-qemu"))
}

/// The default firmware, built once per process (tests share it).
pub fn default_firmware() -> Result<PathBuf, String> {
    static ELF: std::sync::OnceLock<Result<PathBuf, String>> = std::sync::OnceLock::new();
    ELF.get_or_init(|| build_firmware(&[])).clone()
}

/// A running board. Dropping it kills QEMU.
pub struct Board {
    child: Child,
    addr: SocketAddr,
    uart: Option<SocketAddr>,
    log: PathBuf,
}

/// Where QEMU connects the board's UART0.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Serial {
    /// Not connected (`-serial none`).
    None,
    /// A TCP server socket on 127.0.0.1:port (one client at a time), serving the echo:
    /// the board is ready once a frame came back over it too.
    Tcp(u16),
    /// As [`Serial::Tcp`], for a firmware whose UART serves something else than the echo
    /// (feature `sensor`): readiness is waited for on the TCP port only.
    TcpService(u16),
    /// A pseudo-terminal; QEMU prints its `/dev/pts/N` path to the log ([`Board::pty`]).
    Pty,
}

impl Board {
    /// Boots `elf` in QEMU with the echo port forwarded to a free port on 127.0.0.1, and
    /// waits until a real frame has been echoed (QEMU accepts connections before the guest
    /// is ready, so a successful connect proves nothing).
    pub fn boot(elf: &Path) -> Result<Board, String> {
        let mut last = String::new();
        // A port found free can be taken before QEMU binds it: try a few.
        for _ in 0..5 {
            let port = free_port()?;
            match Self::boot_on(elf, port) {
                Ok(board) => return Ok(board),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Boots `elf` like [`Board::boot`], with UART0 also on a free port of 127.0.0.1; ready
    /// once a frame has been echoed over the TCP port and another over the UART.
    pub fn boot_with_uart(elf: &Path) -> Result<Board, String> {
        let mut last = String::new();
        for _ in 0..5 {
            let (port, uart) = (free_port()?, free_port()?);
            if port == uart {
                continue;
            }
            match Self::launch(elf, port, Serial::Tcp(uart)) {
                Ok(board) => return Ok(board),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Boots `elf` with the echo port forwarded to 127.0.0.1:`port`.
    pub fn boot_on(elf: &Path, port: u16) -> Result<Board, String> {
        Self::launch(elf, port, Serial::None)
    }

    /// Boots `elf` with the echo port forwarded to 127.0.0.1:`port` and UART0 on `serial`.
    pub fn launch(elf: &Path, port: u16, serial: Serial) -> Result<Board, String> {
        if !elf.exists() {
            return Err(format!("no firmware at {}", elf.display()));
        }
        let log = std::env::temp_dir().join(format!("sockframe-qemu-{port}.log"));
        let log_file = std::fs::File::create(&log).map_err(|e| e.to_string())?;
        let mut cmd = Command::new("qemu-system-arm");
        cmd.args(["-M", "lm3s6965evb", "-display", "none", "-monitor", "none"]);
        match serial {
            Serial::None => cmd.args(["-serial", "none"]),
            // nodelay: QEMU writes the UART's bytes one by one; with Nagle on, each echo
            // waits ~40 ms for the client's delayed ACK.
            Serial::Tcp(uart) | Serial::TcpService(uart) => cmd
                .arg("-chardev")
                .arg(format!(
                    "socket,id=u0,host=127.0.0.1,port={uart},server=on,wait=off,nodelay=on"
                ))
                .args(["-serial", "chardev:u0"]),
            Serial::Pty => cmd.args(["-serial", "pty"]),
        };
        cmd.args(["-semihosting-config", "enable=on,target=native"])
            .arg("-nic")
            .arg(format!(
                "user,model=stellaris,hostfwd=tcp:127.0.0.1:{port}-{GUEST_IP}:{GUEST_PORT}"
            ))
            .arg("-kernel")
            .arg(elf)
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().map_err(|e| e.to_string())?)
            .stderr(log_file);
        crate::child::die_with_parent(&mut cmd);
        let child = cmd.spawn().map_err(|e| {
            format!("cannot start qemu-system-arm ({e}); install it with `apt-get install qemu-system-arm` or run `cargo xtask setup`")
        })?;
        let mut board = Board {
            child,
            addr: SocketAddr::from(([127, 0, 0, 1], port)),
            uart: match serial {
                Serial::Tcp(uart) | Serial::TcpService(uart) => {
                    Some(SocketAddr::from(([127, 0, 0, 1], uart)))
                }
                _ => None,
            },
            log,
        };
        board.wait_ready(board.addr, false, Duration::from_secs(20))?;
        if let Serial::Tcp(uart) = serial {
            let uart = SocketAddr::from(([127, 0, 0, 1], uart));
            board.wait_ready(uart, true, Duration::from_secs(20))?;
        }
        Ok(board)
    }

    /// Where the board's echo service is reached from the host.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Where the board's UART0 is reached from the host, if it was booted with one on TCP.
    pub fn uart_addr(&self) -> Option<SocketAddr> {
        self.uart
    }

    /// The pseudo-terminal QEMU gave UART0 (booted with [`Serial::Pty`]), from its log line
    /// `char device redirected to /dev/pts/N (label serial0)`.
    pub fn pty(&self) -> Option<String> {
        let log = self.log();
        let rest = &log[log.find("redirected to /dev/pts/")? + "redirected to ".len()..];
        Some(rest.split_whitespace().next()?.to_string())
    }

    /// Waits until the log holds `text` (the stats line is printed at most once a second,
    /// when something changed); the error shows the log.
    pub fn wait_for_log(&self, text: &str, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        while !self.log().contains(text) {
            if Instant::now() > deadline {
                return Err(format!("no `{text}` in the board's log:\n{}", self.log()));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }

    /// What QEMU and the firmware printed so far (semihosting log).
    pub fn log(&self) -> String {
        let mut s = String::new();
        if let Ok(mut f) = std::fs::File::open(&self.log) {
            let _ = f.read_to_string(&mut s);
        }
        s
    }

    /// Whether QEMU is still running.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// QEMU's process id (for measuring it).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a real frame sent to `addr` (the TCP port, or the UART: a `link`, with
    /// checked frames) comes back.
    fn wait_ready(&mut self, addr: SocketAddr, link: bool, limit: Duration) -> Result<(), String> {
        let deadline = Instant::now() + limit;
        let mut last = String::from("no attempt");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!(
                    "QEMU exited ({status}) before the board answered:\n{}",
                    self.log()
                ));
            }
            let echo = match link {
                true => crate::client::echo_once_link,
                false => crate::client::echo_once,
            };
            match echo(addr, b"ready?", Duration::from_millis(500)) {
                Ok(()) => return Ok(()),
                Err(e) => last = e,
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Err(format!(
            "board not ready after {limit:?}: {last}\n{}",
            self.log()
        ))
    }
}

impl Drop for Board {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_file(&self.log);
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> Result<u16, String> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| e.to_string())?;
    Ok(l.local_addr().map_err(|e| e.to_string())?.port())
}
