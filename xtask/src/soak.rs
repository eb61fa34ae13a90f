//! `cargo xtask soak --minutes N`: many clients with mixed sizes and services for minutes,
//! every byte verified; errors, server memory over time and throughput over time (issue 5).
//!
//! - **desktop**: three `sockframe serve` processes (release build) on free loopback ports:
//!   echo, files (root in a temporary directory, deleted afterwards) and exec (loopback, so
//!   no token; `LC_ALL=C` so error texts are known). `--clients` threads (default 100), a
//!   tenth of them files clients, a tenth exec clients, the rest echo clients (half
//!   ping-pong, half pipelined with a window of 2 to 16), each using the library's
//!   [`Client`]. Every client works in sessions: a connection, a random number of requests,
//!   a clean end, a new connection.
//! - **board**: the QEMU board with the framed echo firmware, `--board-clients` echo clients
//!   (default 4, the board's socket pool), half ping-pong, half pipelined.
//!
//! Echo payloads run from 0 B to 1 MiB (256 KiB on the board, whose NIC moves ~9 MiB/s),
//! many larger than the server's 16 KiB buffer so they stream through it; some frames carry a
//! name and a CRC-32C, some are PINGs answered by PONGs, and the reply must match in kind,
//! id, name, checksum and every payload byte. A session ends with a half-close: the server
//! must answer everything sent and then close cleanly, so a lost reply is seen.
//!
//! With `--target both` the desktop soak runs first, then the board soak, each for
//! `--minutes`: on this 2-core machine the desktop load alone keeps both cores busy, and
//! QEMU's emulation is CPU-bound too, so side by side each would slow the other and neither
//! throughput figure would mean anything.
//!
//! Memory: each process's VmRSS before the clients start, then once a second under load.
//! "After the first minute" is the median of seconds 51-60 and "at the end" the median of
//! the last 10 seconds: one instant is a poor figure, since an exec server's RSS moves by half
//! a MiB with the commands running at that moment (a first 10-minute run with single samples
//! read 6.0 MiB at 1 min and 6.6 at the end, while it swung between 5.6 and 6.6 throughout).
//!
//! Exit status: failure on any error (a lost or corrupted byte is an error), on a desktop
//! server whose RSS at the end is more than 10% above its RSS after the first minute (runs
//! of at least 2 minutes), and on Ctrl-C. Every child (servers, QEMU) is killed on the way
//! out: guards kill on drop, a signal handler turns Ctrl-C into an orderly stop, and the
//! servers get SIGKILL from the kernel if this process dies anyway.

use crate::util;
use sockframe::{Header, Kind, encode_head};
use sockframe_std::{Client, OwnedFrame};
use sockframe_tests::board::{Board, default_firmware};
use sockframe_tests::pattern;
use std::collections::VecDeque;
use std::io::{BufRead, BufReader, Write};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex, mpsc};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Which side to soak.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// The desktop servers (`sockframe serve`).
    Desktop,
    /// The QEMU board.
    Board,
    /// The desktop, then the board.
    Both,
}

impl Target {
    fn arg(self) -> &'static str {
        match self {
            Target::Desktop => "desktop",
            Target::Board => "board",
            Target::Both => "both",
        }
    }
}

/// What a soak does.
pub struct Params {
    /// Minutes per target.
    pub minutes: f64,
    pub target: Target,
    /// Desktop clients.
    pub clients: usize,
    /// Board clients.
    pub board_clients: usize,
    /// Seconds between throughput lines.
    pub report_every: f64,
}

/// A socket read or write that takes longer than this is a hang, reported as an error.
const IO_TIMEOUT: Duration = Duration::from_secs(30);
/// Clients must finish their session this long after being told to stop.
const STOP_GRACE: Duration = Duration::from_secs(60);
/// Memory is sampled once a second. One sample is a poor figure: an exec server's RSS moves
/// by half a MiB with the commands running at that instant, so the first-minute and end
/// figures are each the median of ten samples: seconds 51-60, and the last ten seconds.
const RSS_EVERY: Duration = Duration::from_secs(1);
const RSS_WINDOW: usize = 10;
/// Samples in the first minute.
const FIRST_MINUTE: usize = 60;
/// Allowed RSS growth from the first minute to the end.
const RSS_GROWTH_LIMIT: f64 = 0.10;
/// Runs shorter than this are too short for the RSS check.
const RSS_CHECK_MIN_MINUTES: f64 = 2.0;
/// Largest echo payload, desktop and board.
const DESKTOP_MAX_ECHO: usize = 1 << 20;
const BOARD_MAX_ECHO: usize = 256 << 10;
/// Largest file (files clients) and command output (exec clients).
const MAX_FILE: usize = 4 << 20;
/// Highest N of `seq 1 N` (about 1.3 MB of output).
const MAX_SEQ: usize = 200_000;
/// Error texts kept (all are counted).
const MAX_ERROR_TEXTS: usize = 200;

/// Set by SIGINT / SIGTERM.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    // Only an atomic store: async-signal-safe.
    INTERRUPTED.store(true, Relaxed);
}

/// Turns Ctrl-C (and SIGTERM) into an orderly stop: the soak ends, reports, and its guards
/// kill the children, instead of this process dying with them still running.
fn catch_signals() {
    let handler = on_signal as extern "C" fn(libc::c_int) as libc::sighandler_t;
    // SAFETY: the handler only stores to an atomic; installing it has no other effect.
    unsafe {
        libc::signal(libc::SIGINT, handler);
        libc::signal(libc::SIGTERM, handler);
    }
}

pub fn run(p: &Params) -> Result<(), String> {
    if !(p.minutes > 0.0 && p.minutes.is_finite() && p.report_every > 0.0) {
        return Err("--minutes and --report-every must be positive".into());
    }
    if p.clients < 3 || p.board_clients == 0 {
        return Err(
            "--clients must be at least 3 (echo, files, exec) and --board-clients at least 1"
                .into(),
        );
    }
    catch_signals();
    if cfg!(debug_assertions) {
        // The clients verify every byte and share the 2 cores with the servers: built for
        // debug they would eat the CPU the servers need, and the figures would be theirs.
        return util::sh(
            util::cargo()
                .args(["run", "--release", "--quiet", "-p", "xtask", "--", "soak"])
                .args([
                    format!("--minutes={}", p.minutes),
                    format!("--target={}", p.target.arg()),
                    format!("--clients={}", p.clients),
                    format!("--board-clients={}", p.board_clients),
                    format!("--report-every={}", p.report_every),
                ]),
        );
    }
    let mut verdicts = Vec::new();
    if matches!(p.target, Target::Desktop | Target::Both) {
        verdicts.push(("desktop", desktop(p)?));
    }
    if matches!(p.target, Target::Board | Target::Both) && !INTERRUPTED.load(Relaxed) {
        verdicts.push(("board", board(p)?));
    }
    println!();
    for (name, v) in &verdicts {
        println!("{name} soak: {}", if v.is_empty() { "passed" } else { v });
    }
    if INTERRUPTED.load(Relaxed) {
        return Err("interrupted".into());
    }
    if verdicts.iter().any(|(_, v)| !v.is_empty()) {
        return Err("soak failed".into());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// The desktop soak.

/// Runs the desktop soak; returns why it failed ("" if it passed).
fn desktop(p: &Params) -> Result<String, String> {
    let exe = build_server()?;
    // Declared first, dropped last: the files server's root must outlive the servers.
    let tmp = TempDir::new()?;
    let ctx = Arc::new(Ctx::new(&tmp.0)?);
    let root = tmp.0.join("served");
    let servers = [
        Server::start(&exe, "echo", &[])?,
        Server::start(
            &exe,
            "files",
            &["--service", "files", "--root", &root.display().to_string()],
        )?,
        Server::start(&exe, "exec", &["--service", "exec"])?,
    ];
    let [echo_addr, files_addr, exec_addr] = [0, 1, 2].map(|i| servers[i].addr);

    let n_files = (p.clients / 10).max(1);
    let n_exec = (p.clients / 10).max(1);
    let n_echo = p.clients - n_files - n_exec;
    let load = Arc::new(Load::new(&["echo", "files", "exec"]));
    let mut watched: Vec<Watched> = servers
        .iter()
        .map(|s| Watched::new(format!("{} server (pid {})", s.name, s.pid), s.pid, true))
        .collect();
    sample(&mut watched, |w| &mut w.start);

    let mut clients = Vec::new();
    for i in 0..n_echo {
        let role = EchoRole {
            // Even clients ping-pong, odd ones pipeline with windows of 2..16.
            window: if i % 2 == 0 { 1 } else { 2 + (i / 2) % 15 },
            // Some clients receive through a small buffer, so replies stream to them too.
            buffer: if i % 3 == 0 {
                4096
            } else {
                Client::DEFAULT_BUFFER
            },
            max_len: DESKTOP_MAX_ECHO,
            session: (1, 300),
            board: false,
        };
        let who = format!("desktop echo client {i} (window {})", role.window);
        let (load, ctx) = (load.clone(), ctx.clone());
        clients.push(spawn(who.clone(), move || {
            client_loop(&load, &who, |seed| {
                echo_session(&load, 0, &ctx.pool, echo_addr, &role, seed)
            })
        })?);
    }
    for i in 0..n_files {
        let who = format!("desktop files client {i}");
        let (load, ctx) = (load.clone(), ctx.clone());
        clients.push(spawn(who.clone(), move || {
            client_loop(&load, &who, |seed| {
                files_session(&load, &ctx, files_addr, i, seed)
            })
        })?);
    }
    for i in 0..n_exec {
        let who = format!("desktop exec client {i}");
        let (load, ctx) = (load.clone(), ctx.clone());
        clients.push(spawn(who.clone(), move || {
            client_loop(&load, &who, |seed| {
                exec_session(&load, &ctx, exec_addr, seed)
            })
        })?);
    }
    println!(
        "desktop soak: {:.1} min, {} clients ({n_echo} echo: {} ping-pong, {} pipelined; \
         {n_files} files; {n_exec} exec), payloads 0 B - 1 MiB, files and outputs up to 4 MiB",
        p.minutes,
        p.clients,
        n_echo.div_ceil(2),
        n_echo / 2
    );
    let mut alive = || {
        for s in &servers {
            s.check_running()?;
        }
        Ok(())
    };
    let series = drive("desktop", p, &load, &mut watched, clients, &mut alive);
    let logs: Vec<String> = servers.iter().flat_map(|s| s.log_lines()).collect();
    drop(servers);
    Ok(conclude("desktop", p, &load, &watched, &series, &logs))
}

/// What the desktop clients share: the bytes they send and what commands print.
struct Ctx {
    /// Pseudo-random bytes; every payload and file is a slice of it.
    pool: Vec<u8>,
    /// The pool on disk, for `head -c N` (exec).
    pool_file: PathBuf,
    /// The files clients' local files.
    local: PathBuf,
    /// `seq 1 MAX_SEQ` and where the output of `seq 1 N` ends in it.
    seq: Vec<u8>,
    seq_ends: Vec<usize>,
    /// What `head -c N /dev/zero` prints.
    zeros: Vec<u8>,
}

impl Ctx {
    fn new(dir: &Path) -> Result<Ctx, String> {
        let pool = pattern(MAX_FILE + (1 << 20), 0x50AC_0001);
        let pool_file = dir.join("pool.bin");
        let local = dir.join("local");
        for d in [dir.join("served"), local.clone()] {
            std::fs::create_dir_all(&d).map_err(|e| format!("{}: {e}", d.display()))?;
        }
        std::fs::write(&pool_file, &pool).map_err(|e| format!("{}: {e}", pool_file.display()))?;
        let (mut seq, mut seq_ends) = (Vec::new(), vec![0]);
        for n in 1..=MAX_SEQ {
            writeln!(seq, "{n}").map_err(|e| e.to_string())?;
            seq_ends.push(seq.len());
        }
        Ok(Ctx {
            pool,
            pool_file,
            local,
            seq,
            seq_ends,
            zeros: vec![0; MAX_FILE],
        })
    }
}

/// A temporary directory, removed with everything in it when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> Result<TempDir, String> {
        let dir = std::env::temp_dir().join(format!("sockframe-soak-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(TempDir(dir))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Builds `sockframe` in release mode (as shipped) and returns its path.
fn build_server() -> Result<PathBuf, String> {
    eprintln!("$ cargo build --release -p sockframe-std --bin sockframe");
    let out = util::cargo()
        .args([
            "build",
            "--release",
            "-p",
            "sockframe-std",
            "--bin",
            "sockframe",
            "--message-format=json-render-diagnostics",
        ])
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo build failed ({})", out.status));
    }
    // cargo's JSON messages name the executable: "executable":"/path".
    let key = "\"executable\":\"";
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| {
            let at = l.find(key)? + key.len();
            let path = PathBuf::from(&l[at..at + l[at..].find('"')?]);
            path.file_name()
                .is_some_and(|f| f == "sockframe")
                .then_some(path)
        })
        .ok_or_else(|| "cargo did not report the `sockframe` executable".into())
}

/// A running `sockframe serve`, killed when dropped.
struct Server {
    name: &'static str,
    pid: u32,
    addr: SocketAddr,
    /// The last lines it printed (stderr), for the report.
    log: Arc<Mutex<VecDeque<String>>>,
    child: Child,
}

impl Server {
    /// Starts `exe serve --bind 127.0.0.1:0 EXTRA` and waits until it answers a PING.
    fn start(exe: &Path, name: &'static str, extra: &[&str]) -> Result<Server, String> {
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
        // A reader thread learns the port from "listening on ADDR", then keeps draining
        // stderr (a full pipe would block the server) into the last-lines log.
        let (tx, rx) = mpsc::channel();
        if let Some(stderr) = stderr {
            std::thread::spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    if let Some(at) = line.find("listening on ") {
                        let _ = tx.send(line[at + "listening on ".len()..].trim().to_string());
                    }
                    let mut log = log.lock().unwrap_or_else(|e| e.into_inner());
                    if log.len() == 20 {
                        log.pop_front();
                    }
                    log.push_back(line);
                }
            });
        }
        let addr = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| format!("{name} server did not report its address"))?;
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
    fn check_running(&self) -> Result<(), String> {
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

    fn log_lines(&self) -> Vec<String> {
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

// ---------------------------------------------------------------------------------------
// The board soak.

/// Runs the board soak; returns why it failed ("" if it passed).
fn board(p: &Params) -> Result<String, String> {
    crate::setup::run_all()?;
    let elf = default_firmware()?;
    // Booted from the main thread: QEMU dies with the thread that started it.
    let mut board = Board::boot(&elf)?;
    let addr = board.addr();
    eprintln!("board: QEMU pid {} at {addr}", board.pid());
    let pool = Arc::new(pattern(BOARD_MAX_ECHO + (64 << 10), 0x50AC_0002));
    let load = Arc::new(Load::new(&["echo"]));
    // QEMU's memory is the emulator's, not the board's (its RAM is fixed): information only.
    let mut watched = vec![Watched::new(
        format!("QEMU (pid {}, not checked)", board.pid()),
        board.pid(),
        false,
    )];
    sample(&mut watched, |w| &mut w.start);
    let mut clients = Vec::new();
    for i in 0..p.board_clients {
        let role = EchoRole {
            window: if i % 2 == 0 { 1 } else { 4 },
            buffer: if i % 4 == 1 {
                1024
            } else {
                Client::DEFAULT_BUFFER
            },
            max_len: BOARD_MAX_ECHO,
            session: (20, 400),
            board: true,
        };
        let who = format!("board echo client {i} (window {})", role.window);
        let (load, pool) = (load.clone(), pool.clone());
        clients.push(spawn(who.clone(), move || {
            client_loop(&load, &who, |seed| {
                echo_session(&load, 0, &pool, addr, &role, seed)
            })
        })?);
    }
    println!(
        "board soak: {:.1} min, {} echo clients ({} ping-pong, {} pipelined, window 4), \
         payloads 0 B - 256 KiB",
        p.minutes,
        p.board_clients,
        p.board_clients.div_ceil(2),
        p.board_clients / 2
    );
    let mut alive = || {
        if board.is_running() {
            Ok(())
        } else {
            Err(format!("QEMU exited; it printed: {}", board.log().trim()))
        }
    };
    let series = drive("board", p, &load, &mut watched, clients, &mut alive);
    let mut logs = Vec::new();
    if !load
        .errors
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .is_empty()
    {
        // The firmware's own words, when something went wrong.
        logs.extend(
            board
                .log()
                .lines()
                .rev()
                .take(10)
                .map(|l| format!("board: {l}")),
        );
    }
    drop(board);
    Ok(conclude("board", p, &load, &watched, &series, &logs))
}

// ---------------------------------------------------------------------------------------
// Clients.

/// Counters of one service, read by the reporter.
#[derive(Default)]
struct Meter {
    /// Requests answered and verified.
    msgs: AtomicU64,
    /// Payload bytes that came back and were compared.
    bytes: AtomicU64,
}

impl Meter {
    fn add(&self, msgs: u64, bytes: usize) {
        self.msgs.fetch_add(msgs, Relaxed);
        self.bytes.fetch_add(bytes as u64, Relaxed);
    }
}

/// What the clients of one target share with the reporter.
struct Load {
    stop: AtomicBool,
    /// Per service: name and counters.
    meters: Vec<(&'static str, Meter)>,
    error_count: AtomicU64,
    errors: Mutex<Vec<String>>,
    /// Errors seen after Ctrl-C (which also reaches QEMU): not counted.
    ignored: AtomicU64,
    /// Board connections that had to be retried (pool full while a socket closed).
    retries: AtomicU64,
}

impl Load {
    fn new(services: &[&'static str]) -> Load {
        Load {
            stop: AtomicBool::new(false),
            meters: services.iter().map(|s| (*s, Meter::default())).collect(),
            error_count: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
            ignored: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    fn meter(&self, service: usize) -> &Meter {
        &self.meters[service].1
    }

    fn error(&self, text: String) {
        if INTERRUPTED.load(Relaxed) {
            self.ignored.fetch_add(1, Relaxed);
            return;
        }
        eprintln!("ERROR {text}");
        self.error_count.fetch_add(1, Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        if errors.len() < MAX_ERROR_TEXTS {
            errors.push(text);
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Relaxed)
    }
}

fn spawn(
    who: String,
    f: impl FnOnce() + Send + 'static,
) -> Result<(String, JoinHandle<()>), String> {
    let handle = std::thread::Builder::new()
        .name(who.clone())
        .spawn(f)
        .map_err(|e| format!("cannot start {who}: {e}"))?;
    Ok((who, handle))
}

/// Runs sessions until told to stop. A failed session is recorded, and after a pause (so a
/// lasting failure does not spin) the client starts afresh on a new connection.
fn client_loop(load: &Load, who: &str, mut session: impl FnMut(u64) -> Result<(), String>) {
    // Distinct sessions, distinct plans; the seed is in the error so a failure can be replayed.
    let base = who.bytes().fold(0xC0FFEE_u64, |h, b| {
        h.wrapping_mul(0x100_0000_01B3) ^ u64::from(b)
    });
    let mut n = 0u64;
    while !load.stopping() {
        n += 1;
        let seed = base.wrapping_add(n);
        if let Err(e) = session(seed) {
            load.error(format!("{who}, session {n} (seed {seed:#x}): {e}"));
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

/// A small deterministic generator (xorshift64*): both halves of an echo session draw the
/// same plan from copies of it.
#[derive(Clone)]
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform in 0..n (n > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// Uniform in lo..=hi.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
}

/// An echo payload size: mostly small, a fifth around the server's 16 KiB buffer (some
/// just fit, some stream), a tenth up to 256 KiB, a twentieth up to `max`.
fn echo_size(rng: &mut Rng, max: usize) -> usize {
    let len = match rng.below(100) {
        0..10 => rng.below(2),
        10..45 => rng.range(2, 256),
        45..70 => rng.range(257, 4096),
        70..85 => rng.range(12 << 10, 20 << 10),
        85..95 => rng.range(20 << 10, 256 << 10),
        _ => rng.range(256 << 10, max),
    };
    len.min(max)
}

/// A file or command output size, 0 B to 4 MiB.
fn file_size(rng: &mut Rng) -> usize {
    match rng.below(10) {
        0 => 0,
        1..3 => rng.range(1, 4096),
        3..6 => rng.range(4097, 64 << 10),
        6..9 => rng.range((64 << 10) + 1, 1 << 20),
        _ => rng.range((1 << 20) + 1, MAX_FILE),
    }
}

/// How one echo client behaves.
struct EchoRole {
    /// Requests in flight: 1 is ping-pong.
    window: usize,
    /// The client's receive buffer: replies larger than it stream.
    buffer: usize,
    max_len: usize,
    /// Requests per session, lowest and highest.
    session: (usize, usize),
    /// The board: connections are retried while its socket pool is full.
    board: bool,
}

/// One request of an echo session, as both the writer and the reader see it.
struct Msg {
    ping: bool,
    off: usize,
    len: usize,
    crc: bool,
    named: bool,
}

impl Msg {
    fn next(rng: &mut Rng, max_len: usize, pool: usize) -> Msg {
        let ping = rng.below(50) == 0;
        let len = if ping { 0 } else { echo_size(rng, max_len) };
        Msg {
            ping,
            off: rng.below(pool - len + 1),
            len,
            crc: !ping && rng.below(3) == 0,
            named: !ping && rng.below(5) == 0,
        }
    }

    fn name(&self, id: u32) -> Option<String> {
        self.named.then(|| format!("soak-{id}"))
    }
}

/// One echo session: a connection, a writer thread sending the plan (at most `window`
/// ahead), this thread checking each reply against the same plan, then a half-close after
/// which the server must have answered everything and closed cleanly.
fn echo_session(
    load: &Load,
    service: usize,
    pool: &[u8],
    addr: SocketAddr,
    role: &EchoRole,
    seed: u64,
) -> Result<(), String> {
    let (stream, mut client) = open(load, addr, role)?;
    let mut rng = Rng::new(seed);
    let count = rng.range(role.session.0, role.session.1);
    let (credit_tx, credit_rx) = mpsc::sync_channel(role.window);
    for _ in 0..role.window {
        let _ = credit_tx.send(());
    }
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let sent = write_echoes(load, &stream, pool, rng.clone(), count, role, credit_rx);
            if sent.is_err() {
                let _ = stream.shutdown(Shutdown::Both);
            }
            sent
        });
        let got = read_echoes(
            load,
            service,
            &mut client,
            pool,
            rng.clone(),
            role,
            credit_tx,
        );
        if got.is_err() {
            // Unblocks the writer.
            let _ = stream.shutdown(Shutdown::Both);
        }
        let sent = writer.join().map_err(|_| "writer panicked".to_string())?;
        let (got, sent) = (got?, sent?);
        if got != sent {
            return Err(format!(
                "{sent} requests sent, {got} answered before the server closed: replies lost"
            ));
        }
        Ok(())
    })
}

/// Connects (with I/O timeouts). On the board a connection is proven with a PING first and
/// retried for up to 10 s: with all 4 of its sockets in use, or one still closing, QEMU
/// accepts and the guest then resets the connection.
fn open(load: &Load, addr: SocketAddr, role: &EchoRole) -> Result<(TcpStream, Client), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = (|| {
            let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
                .map_err(|e| format!("connect {addr}: {e}"))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            set_timeouts(&stream, IO_TIMEOUT)?;
            let reader = stream.try_clone().map_err(|e| e.to_string())?;
            let mut client = Client::with_buffer(reader, role.buffer, Client::LIMITS);
            if role.board {
                client.ping().map_err(|e| format!("probe: {e}"))?;
            }
            Ok((stream, client))
        })();
        match attempt {
            Err(e) if role.board && Instant::now() < deadline => {
                let _ = e;
                load.retries.fetch_add(1, Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

fn set_timeouts(stream: &TcpStream, t: Duration) -> Result<(), String> {
    stream
        .set_read_timeout(Some(t))
        .map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(t)).map_err(|e| e.to_string())
}

/// Sends up to `count` requests of the plan, each when a credit allows; then half-closes.
/// Returns how many were sent (fewer when the soak is stopping or the reader gave up).
fn write_echoes(
    load: &Load,
    mut stream: &TcpStream,
    pool: &[u8],
    mut plan: Rng,
    count: usize,
    role: &EchoRole,
    credits: mpsc::Receiver<()>,
) -> Result<usize, String> {
    let mut head = [0u8; 128];
    let mut small = Vec::new();
    let mut sent = 0;
    while sent < count {
        // No credit: the reader has stopped (its error is the one reported).
        if load.stopping() || credits.recv().is_err() {
            break;
        }
        let id = sent as u32 + 1;
        let m = Msg::next(&mut plan, role.max_len, pool.len());
        let payload = &pool[m.off..m.off + m.len];
        let name = m.name(id);
        let mut h = if m.ping {
            Header::new(Kind::PING, id, 0)
        } else {
            Header::data(id, payload)
        };
        if let Some(n) = &name {
            h = h.with_name(n);
        }
        if m.crc {
            h = h.with_crc_of(payload);
        }
        let n = encode_head(&h, payload.len() as u64, &mut head).map_err(|e| e.to_string())?;
        let written = if payload.len() <= 64 << 10 {
            // Head and payload in one write, as a real client would.
            small.clear();
            small.extend_from_slice(&head[..n]);
            small.extend_from_slice(payload);
            stream.write_all(&small)
        } else {
            stream
                .write_all(&head[..n])
                .and_then(|()| stream.write_all(payload))
        };
        written.map_err(|e| format!("sending request {id} ({} B): {e}", m.len))?;
        sent += 1;
    }
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("half-close after {sent} requests: {e}"))?;
    Ok(sent)
}

/// Reads replies until the server closes, checking each against the plan and returning a
/// credit for it. Returns how many came back.
fn read_echoes(
    load: &Load,
    service: usize,
    client: &mut Client,
    pool: &[u8],
    mut plan: Rng,
    role: &EchoRole,
    credits: mpsc::SyncSender<()>,
) -> Result<usize, String> {
    let mut got = 0;
    loop {
        let frame = client
            .recv_frame()
            .map_err(|e| format!("after {got} verified replies: {e}"))?;
        let Some(frame) = frame else {
            return Ok(got);
        };
        let id = got as u32 + 1;
        let m = Msg::next(&mut plan, role.max_len, pool.len());
        check_echo(&frame, id, &m, pool).map_err(|e| format!("reply {id}: {e}"))?;
        load.meter(service).add(1, m.len);
        got += 1;
        // The writer may have finished: then nobody needs the credit.
        let _ = credits.send(());
    }
}

/// Whether `f` is exactly the echo of request `id` planned as `m`.
fn check_echo(f: &OwnedFrame, id: u32, m: &Msg, pool: &[u8]) -> Result<(), String> {
    if f.kind == Kind::ERROR {
        return Err(format!(
            "error frame [{}]: {}",
            f.meta("code").unwrap_or("?"),
            f.text()
        ));
    }
    let kind = if m.ping { Kind::PONG } else { Kind::DATA };
    if f.kind != kind || f.id != id {
        return Err(format!(
            "expected kind {} id {id}, got kind {} id {} ({} B)",
            kind.0,
            f.kind.0,
            f.id,
            f.payload.len()
        ));
    }
    compare(&f.payload, &pool[m.off..m.off + m.len])?;
    if f.name != m.name(id) {
        return Err(format!("name {:?} came back as {:?}", m.name(id), f.name));
    }
    // The decoder has checked a present CRC against the payload; it must be there.
    if f.crc.is_some() != m.crc {
        return Err(format!(
            "CRC-32C sent: {}, in the reply: {}",
            m.crc,
            f.crc.is_some()
        ));
    }
    Ok(())
}

/// Equal bytes, or where they first differ.
fn compare(got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got.iter().zip(want).position(|(a, b)| a != b);
    Err(match at {
        Some(i) => format!(
            "{} B, expected {} B; first difference at byte {i} ({:#04x}, expected {:#04x})",
            got.len(),
            want.len(),
            got[i],
            want[i]
        ),
        None => format!(
            "{} B, expected {} B (same up to the shorter)",
            got.len(),
            want.len()
        ),
    })
}

/// One files session: a connection, 1 to 8 uploads each downloaded again and compared
/// byte for byte (the library checks size and CRC-32C on both ways, this the content).
fn files_session(
    load: &Load,
    ctx: &Ctx,
    addr: SocketAddr,
    idx: usize,
    seed: u64,
) -> Result<(), String> {
    let mut c = Client::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| e.to_string())?;
    set_timeouts(c.stream(), IO_TIMEOUT)?;
    let mut rng = Rng::new(seed);
    let src = ctx.local.join(format!("c{idx}.up"));
    let back = ctx.local.join(format!("c{idx}.down"));
    for op in 0..rng.range(1, 8) {
        if load.stopping() {
            break;
        }
        let len = file_size(&mut rng);
        let off = rng.below(ctx.pool.len() - len + 1);
        let want = &ctx.pool[off..off + len];
        // A few names per client, overwritten again and again: disk use stays bounded.
        let remote = format!("c{idx}-{}.bin", rng.below(3));
        let what = format!("file {op} ({remote}, {len} B)");
        std::fs::write(&src, want).map_err(|e| format!("{what}: {}: {e}", src.display()))?;
        let put = c
            .put_file(&src, &remote, &mut |_, _| {})
            .map_err(|e| format!("{what}: put: {e}"))?;
        let got = c
            .get_file(&remote, &back, &mut |_, _| {})
            .map_err(|e| format!("{what}: get: {e}"))?;
        if put != len as u64 || got != len as u64 {
            return Err(format!("{what}: put stored {put} B, get returned {got} B"));
        }
        let content =
            std::fs::read(&back).map_err(|e| format!("{what}: {}: {e}", back.display()))?;
        compare(&content, want).map_err(|e| format!("{what}: downloaded {e}"))?;
        load.meter(1).add(2, len);
    }
    Ok(())
}

/// One exec session: a connection, 1 to 8 commands whose output is known exactly.
fn exec_session(load: &Load, ctx: &Ctx, addr: SocketAddr, seed: u64) -> Result<(), String> {
    let mut c = Client::connect_timeout(&addr, IO_TIMEOUT).map_err(|e| e.to_string())?;
    set_timeouts(c.stream(), IO_TIMEOUT)?;
    let mut rng = Rng::new(seed);
    let pool_file = ctx.pool_file.display().to_string();
    let missing = ctx.local.join("no-such-file").display().to_string();
    for _ in 0..rng.range(1, 8) {
        if load.stopping() {
            break;
        }
        // (argv, stdout, exit code, a phrase stderr must contain; None: stderr empty)
        let (argv, want, code, err_has): (Vec<String>, &[u8], i32, Option<&str>) =
            match rng.below(20) {
                0..8 => {
                    let n = file_size(&mut rng);
                    (
                        cmd(&["head", "-c", &n.to_string(), &pool_file]),
                        &ctx.pool[..n],
                        0,
                        None,
                    )
                }
                8..14 => {
                    let top = [10, 1000, MAX_SEQ][rng.below(3)];
                    let n = rng.range(0, top);
                    (
                        cmd(&["seq", "1", &n.to_string()]),
                        &ctx.seq[..ctx.seq_ends[n]],
                        0,
                        None,
                    )
                }
                14..17 => {
                    let n = file_size(&mut rng);
                    let zeros = &ctx.zeros[..n];
                    (
                        cmd(&["head", "-c", &n.to_string(), "/dev/zero"]),
                        zeros,
                        0,
                        None,
                    )
                }
                17..19 => (cmd(&["false"]), &[], 1, None),
                _ => (
                    cmd(&["head", "-c", "1", &missing]),
                    &[],
                    1,
                    Some("No such file or directory"),
                ),
            };
        let what = argv.join(" ");
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let outcome = c
            .exec(&argv, false, None, &mut out, &mut err)
            .map_err(|e| format!("`{what}`: {e}"))?;
        if outcome.code != Some(code) {
            return Err(format!(
                "`{what}`: exit {:?} (signal {:?}), expected {code}; stderr: {}",
                outcome.code,
                outcome.signal,
                String::from_utf8_lossy(&err)
            ));
        }
        compare(&out, want).map_err(|e| format!("`{what}`: stdout {e}"))?;
        let err_ok = match err_has {
            None => err.is_empty(),
            Some(phrase) => String::from_utf8_lossy(&err).contains(phrase),
        };
        if !err_ok {
            return Err(format!(
                "`{what}`: stderr {:?}, expected {}",
                String::from_utf8_lossy(&err),
                err_has.map_or("none".to_string(), |p| format!("one containing {p:?}"))
            ));
        }
        load.meter(2).add(1, out.len());
    }
    Ok(())
}

fn cmd(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

// ---------------------------------------------------------------------------------------
// Running, measuring, reporting.

/// A process whose memory is sampled (VmRSS, KiB).
struct Watched {
    label: String,
    pid: u32,
    /// Whether its growth fails the soak (servers) or is information only (QEMU).
    checked: bool,
    /// Before any client.
    start: Option<u64>,
    /// Under load, one a second (`RSS_EVERY`).
    samples: Vec<u64>,
    /// After the clients stopped.
    idle: Option<u64>,
    /// VmHWM at the end: the most it ever held.
    peak: Option<u64>,
}

impl Watched {
    fn new(label: String, pid: u32, checked: bool) -> Watched {
        Watched {
            label,
            pid,
            checked,
            start: None,
            samples: Vec::new(),
            idle: None,
            peak: None,
        }
    }

    /// RSS after the first minute: seconds 51-60.
    fn minute(&self) -> Option<Spread> {
        let s = self.samples.get(FIRST_MINUTE - RSS_WINDOW..FIRST_MINUTE)?;
        Spread::of(s)
    }

    /// RSS at the end: the last ten seconds under load.
    fn end(&self) -> Option<Spread> {
        Spread::of(&self.samples[self.samples.len().saturating_sub(RSS_WINDOW)..])
    }
}

/// Median, lowest and highest of some RSS samples (KiB).
#[derive(Clone, Copy)]
struct Spread {
    median: u64,
    min: u64,
    max: u64,
}

impl Spread {
    fn of(samples: &[u64]) -> Option<Spread> {
        let mut v = samples.to_vec();
        v.sort_unstable();
        Some(Spread {
            median: *v.get(v.len() / 2)?,
            min: v[0],
            max: v[v.len() - 1],
        })
    }

    fn show(s: Option<Spread>) -> String {
        s.map_or("n/a".into(), |s| {
            format!(
                "{} ({:.1}-{:.1})",
                mib(Some(s.median)),
                kib_mib(s.min),
                kib_mib(s.max)
            )
        })
    }
}

fn kib_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `/proc/PID/status` field in kB.
fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Records every watched process's VmRSS now into the slot `at` picks.
fn sample(watched: &mut [Watched], at: fn(&mut Watched) -> &mut Option<u64>) {
    for w in watched {
        let rss = status_kib(w.pid, "VmRSS");
        *at(w) = rss;
    }
}

fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}

/// Throughput of one reporting interval.
struct Interval {
    /// Seconds since the start, at its end.
    at: f64,
    secs: f64,
    /// Per service: (messages, bytes).
    per: Vec<(u64, u64)>,
}

impl Interval {
    fn msgs_s(&self) -> f64 {
        self.per.iter().map(|p| p.0).sum::<u64>() as f64 / self.secs
    }

    fn mib_s(&self) -> f64 {
        self.per.iter().map(|p| p.1).sum::<u64>() as f64 / self.secs / (1 << 20) as f64
    }
}

/// Lets the clients run for `--minutes`, printing a throughput line every `--report-every`
/// seconds and sampling memory at the first minute and the end; then stops the clients and
/// waits for them (a client that does not stop in time is a hang, reported as an error).
fn drive(
    target: &str,
    p: &Params,
    load: &Load,
    watched: &mut [Watched],
    clients: Vec<(String, JoinHandle<()>)>,
    alive: &mut dyn FnMut() -> Result<(), String>,
) -> Vec<Interval> {
    let t0 = Instant::now();
    let duration = Duration::from_secs_f64(p.minutes * 60.0);
    let every = Duration::from_secs_f64(p.report_every);
    let totals = || -> Vec<(u64, u64)> {
        load.meters
            .iter()
            .map(|(_, m)| (m.msgs.load(Relaxed), m.bytes.load(Relaxed)))
            .collect()
    };
    let mut series = Vec::new();
    let (mut last, mut last_at) = (totals(), t0);
    let mut next_report = t0 + every;
    let mut next_rss = t0 + RSS_EVERY;
    let mut interval = |now: Instant| {
        let now_totals = totals();
        let per = now_totals
            .iter()
            .zip(&last)
            .map(|(n, l)| (n.0 - l.0, n.1 - l.1))
            .collect();
        let iv = Interval {
            at: (now - t0).as_secs_f64(),
            secs: (now - last_at).as_secs_f64().max(1e-3),
            per,
        };
        (last, last_at) = (now_totals, now);
        iv
    };
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = Instant::now();
        if now >= next_rss {
            for w in watched.iter_mut() {
                w.samples.extend(status_kib(w.pid, "VmRSS"));
            }
            next_rss += RSS_EVERY;
        }
        if let Err(e) = alive() {
            load.error(e);
            break;
        }
        if now >= next_report {
            let iv = interval(now);
            print_interval(target, load, watched, &iv);
            series.push(iv);
            next_report += every;
        }
        if now - t0 >= duration || INTERRUPTED.load(Relaxed) {
            break;
        }
    }
    for w in watched.iter_mut() {
        w.peak = status_kib(w.pid, "VmHWM");
    }
    load.stop.store(true, Relaxed);
    let deadline = Instant::now() + STOP_GRACE;
    while clients.iter().any(|(_, h)| !h.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for (who, h) in clients {
        if h.is_finished() {
            if h.join().is_err() {
                load.error(format!("{who} panicked"));
            }
        } else {
            load.error(format!(
                "{who} did not finish its session within {STOP_GRACE:?} of the stop: a hang"
            ));
        }
    }
    // What the last, partial interval saw (skipped when too short to mean anything).
    let iv = interval(Instant::now());
    if iv.secs >= 0.5 {
        print_interval(target, load, watched, &iv);
        series.push(iv);
    }
    // Let the servers release what the last connections held.
    std::thread::sleep(Duration::from_secs(1));
    sample(watched, |w| &mut w.idle);
    series
}

fn print_interval(target: &str, load: &Load, watched: &[Watched], iv: &Interval) {
    let mut line = format!(
        "[{:6.0} s] {target}: {:8.0} msgs/s {:7.1} MiB/s",
        iv.at,
        iv.msgs_s(),
        iv.mib_s()
    );
    if load.meters.len() > 1 {
        for ((name, _), (msgs, bytes)) in load.meters.iter().zip(&iv.per) {
            line += &format!(
                " | {name} {:.0}/s {:.1} MiB/s",
                *msgs as f64 / iv.secs,
                *bytes as f64 / iv.secs / (1 << 20) as f64
            );
        }
    }
    line += &format!(" | errors {}", load.error_count.load(Relaxed));
    let rss: Vec<String> = watched
        .iter()
        .map(|w| {
            let name = w.label.split(' ').next().unwrap_or("?");
            format!("{name} {}", mib(status_kib(w.pid, "VmRSS")))
        })
        .collect();
    println!("{line} | RSS {}", rss.join(", "));
}

/// Prints the target's report; returns why it failed ("" if it passed).
fn conclude(
    target: &str,
    p: &Params,
    load: &Load,
    watched: &[Watched],
    series: &[Interval],
    logs: &[String],
) -> String {
    let mut failures = Vec::new();
    let ran = series.last().map_or(0.0, |iv| iv.at);
    println!();
    println!(
        "== {target} soak: {ran:.0} s of {:.0} s ==",
        p.minutes * 60.0
    );
    if INTERRUPTED.load(Relaxed) {
        println!("interrupted (Ctrl-C): the figures cover the time before it");
        failures.push("interrupted".to_string());
    }
    failures.extend(print_errors(load, logs));
    print_verified(target, load);
    failures.extend(print_memory(p, watched));
    print_throughput(p, series);
    failures.join("; ")
}

/// Errors (count and texts), board retries and what the servers printed; the failure if
/// there were errors.
fn print_errors(load: &Load, logs: &[String]) -> Option<String> {
    let errors = load.error_count.load(Relaxed);
    println!("errors: {errors}");
    for e in load.errors.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        println!("  - {e}");
    }
    if errors as usize > MAX_ERROR_TEXTS {
        println!("  ({} more not shown)", errors as usize - MAX_ERROR_TEXTS);
    }
    let ignored = load.ignored.load(Relaxed);
    if ignored > 0 {
        println!("({ignored} errors after Ctrl-C not counted: it also reaches QEMU)");
    }
    let retries = load.retries.load(Relaxed);
    if retries > 0 {
        println!("board connections retried (socket pool full while a socket closed): {retries}");
    }
    if !logs.is_empty() {
        println!("last lines printed by the servers:");
        for l in logs {
            println!("  {l}");
        }
    }
    (errors > 0).then(|| format!("{errors} errors"))
}

/// Requests and bytes verified, per service.
fn print_verified(target: &str, load: &Load) {
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let (mut total_msgs, mut total_bytes) = (0, 0);
    println!("verified:");
    for (k, (name, m)) in load.meters.iter().enumerate() {
        let (msgs, bytes) = (m.msgs.load(Relaxed), m.bytes.load(Relaxed));
        let unit = match (target, k) {
            ("desktop", 1) => "transfers (put or get)",
            ("desktop", 2) => "commands",
            _ => "echoes",
        };
        println!(
            "  {name}: {msgs} {unit}, {bytes} payload bytes ({:.2} GiB) compared byte for byte",
            gib(bytes)
        );
        total_msgs += msgs;
        total_bytes += bytes;
    }
    println!(
        "  all: {total_msgs} requests, {total_bytes} bytes ({:.2} GiB)",
        gib(total_bytes)
    );
}

/// Memory of every watched process, and the RSS check; the failures it found.
fn print_memory(p: &Params, watched: &[Watched]) -> Vec<String> {
    println!(
        "memory (VmRSS): start / after 1 min / end / clients stopped; peak (VmHWM). \
         1 min and end: median (lowest-highest) of 1 s samples under load, seconds 51-60 and \
         the last 10 s"
    );
    let check = p.minutes >= RSS_CHECK_MIN_MINUTES && !INTERRUPTED.load(Relaxed);
    let mut failures = Vec::new();
    for w in watched {
        let (minute, end) = (w.minute(), w.end());
        let growth = match (minute, end) {
            (Some(m), Some(e)) if m.median > 0 => Some(e.median as f64 / m.median as f64 - 1.0),
            _ => None,
        };
        println!(
            "  {}: {} / {} / {} / {}; peak {}; end vs 1 min: {}",
            w.label,
            mib(w.start),
            Spread::show(minute),
            Spread::show(end),
            mib(w.idle),
            mib(w.peak),
            growth.map_or("n/a".into(), |g| format!("{:+.1}%", g * 100.0))
        );
        if w.samples.len() > FIRST_MINUTE {
            let per: Vec<String> = w
                .samples
                .chunks(FIRST_MINUTE)
                .filter_map(|c| Spread::of(c).map(|s| format!("{:.1}", kib_mib(s.median))))
                .collect();
            println!("    median RSS of each minute, MiB: {}", per.join(", "));
        }
        match growth {
            _ if !(w.checked && check) => {}
            Some(g) if g > RSS_GROWTH_LIMIT => failures.push(format!(
                "{} grew {:+.1}% from the first minute to the end (limit +{:.0}%)",
                w.label,
                g * 100.0,
                RSS_GROWTH_LIMIT * 100.0
            )),
            Some(_) => {}
            None => failures.push(format!("{}: no RSS figures", w.label)),
        }
    }
    if !watched.iter().any(|w| w.checked) {
        return failures;
    }
    if check {
        println!(
            "RSS check (end within +{:.0}% of the first minute): {}",
            RSS_GROWTH_LIMIT * 100.0,
            if failures.is_empty() {
                "passed"
            } else {
                "FAILED"
            }
        );
    } else {
        println!(
            "RSS check not applied: the run is shorter than {RSS_CHECK_MIN_MINUTES} minutes \
             (or was interrupted)"
        );
    }
    failures
}

/// Throughput over time: the spread of the intervals, and the average of each minute.
fn print_throughput(p: &Params, series: &[Interval]) {
    let full: Vec<&Interval> = series
        .iter()
        .filter(|iv| iv.secs >= p.report_every * 0.9)
        .collect();
    if !full.is_empty() {
        let spread = |f: fn(&Interval) -> f64| {
            let mut v: Vec<f64> = full.iter().map(|iv| f(iv)).collect();
            v.sort_by(f64::total_cmp);
            (v[0], v[v.len() / 2], v[v.len() - 1])
        };
        let (a, b, c) = spread(Interval::msgs_s);
        let (x, y, z) = spread(Interval::mib_s);
        println!(
            "throughput per {} s interval ({} intervals): msgs/s min {a:.0} / median {b:.0} / \
             max {c:.0}; MiB/s min {x:.1} / median {y:.1} / max {z:.1}",
            p.report_every,
            full.len()
        );
    }
    // Per minute: (messages, bytes, seconds).
    let mut minutes: Vec<(u64, u64, f64)> = Vec::new();
    for iv in series {
        // By its middle: the short last interval belongs to the last minute.
        let m = ((iv.at - iv.secs / 2.0) / 60.0).floor() as usize;
        if minutes.len() <= m {
            minutes.resize(m + 1, (0, 0, 0.0));
        }
        for (msgs, bytes) in &iv.per {
            minutes[m].0 += msgs;
            minutes[m].1 += bytes;
        }
        minutes[m].2 += iv.secs;
    }
    if minutes.len() > 1 {
        let per: Vec<String> = minutes
            .iter()
            .enumerate()
            .filter(|(_, m)| m.2 > 0.0)
            .map(|(i, m)| {
                format!(
                    "{}: {:.0} msgs/s {:.1} MiB/s",
                    i + 1,
                    m.0 as f64 / m.2,
                    m.1 as f64 / m.2 / (1 << 20) as f64
                )
            })
            .collect();
        println!("throughput per minute: {}", per.join("; "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_stay_in_bounds_and_cover_the_range() {
        let mut rng = Rng::new(7);
        let (mut zero, mut streamed, mut big) = (0, 0, 0);
        for _ in 0..100_000 {
            let n = echo_size(&mut rng, DESKTOP_MAX_ECHO);
            assert!(n <= DESKTOP_MAX_ECHO);
            zero += usize::from(n == 0);
            streamed += usize::from(n > 16 << 10);
            big += usize::from(n > 512 << 10);
            assert!(file_size(&mut rng) <= MAX_FILE);
            assert!(echo_size(&mut rng, BOARD_MAX_ECHO) <= BOARD_MAX_ECHO);
        }
        assert!(zero > 1000 && streamed > 10_000 && big > 1000);
    }

    #[test]
    fn writer_and_reader_draw_the_same_plan() {
        let mut a = Rng::new(42);
        let mut b = a.clone();
        for _ in 0..1000 {
            let (x, y) = (
                Msg::next(&mut a, 1 << 20, 2 << 20),
                Msg::next(&mut b, 1 << 20, 2 << 20),
            );
            assert_eq!(
                (x.ping, x.off, x.len, x.crc, x.named),
                (y.ping, y.off, y.len, y.crc, y.named)
            );
            assert!(x.off + x.len <= 2 << 20);
        }
    }

    #[test]
    fn compare_says_where() {
        assert!(compare(b"abc", b"abc").is_ok());
        assert!(compare(b"abd", b"abc").unwrap_err().contains("byte 2"));
        assert!(compare(b"ab", b"abc").unwrap_err().contains("shorter"));
    }
}
