//! `cargo xtask bench-server`: `sockframe serve` against two baseline echo servers in the
//! same run (issue 3's benchmark).
//!
//! The servers: `sockframe serve` (echo, single-threaded tokio), `bench_plain_echo`
//! (std::net thread-per-connection, 4-byte big-endian length prefix) and
//! `bench_tokio_echo` (tokio-util `Framed<TcpStream, LengthDelimitedCodec>` on a tokio
//! current-thread runtime), all built in release mode. The load generator is `sockframe
//! bench` for all three (`--protocol length-prefix` for the baselines), so the client side
//! is the same code. Each server runs pinned to CPU 0 (`taskset -c 0`) and the load
//! generator to CPU 1, when the machine has two CPUs or more.
//!
//! Scenarios, each `--duration` seconds, `--runs` times, servers taken in turns within each
//! run so load from elsewhere falls on all alike; the table shows medians:
//!
//! - ping-pong 64 B, 1 connection;
//! - pipelined 64 B, window 64, 1 connection;
//! - ping-pong 64 B, 32 connections;
//! - pipelined 1 MiB, window 4, 1 connection;
//! - the same scenarios against `bench_trait_echo`, an echo written as a user writes a
//!   service on the library's public `Service` trait (a plain `next_event` loop), against
//!   the built-in echo: what the trait costs;
//! - `--idle-conns` idle connections (each first echoes one message): server memory per
//!   connection = (VmRSS holding them - VmRSS before) / connections, a fresh server each
//!   run.
//!
//! Every child is killed on the way out, errors included (guards kill on drop; with
//! `setpriv` available, children also die with this process if it is killed).

use crate::util;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// What a run measures.
pub struct Params {
    /// Seconds per throughput measurement.
    pub duration: f64,
    /// Repetitions of every measurement (the median is reported).
    pub runs: usize,
    /// Connections held in the idle-memory measurement.
    pub idle_conns: usize,
}

#[derive(Clone, Copy, PartialEq)]
enum Impl {
    Sockframe,
    Plain,
    Tokio,
    /// A user's echo on the public `Service` trait.
    TraitEcho,
}

const IMPLS: [Impl; 4] = [Impl::Sockframe, Impl::Plain, Impl::Tokio, Impl::TraitEcho];

impl Impl {
    fn name(self) -> &'static str {
        match self {
            Impl::Sockframe => "sockframe serve",
            Impl::Plain => "plain thread-per-conn",
            Impl::Tokio => "tokio-util codec",
            Impl::TraitEcho => "user Service echo",
        }
    }

    fn protocol(self) -> &'static str {
        match self {
            Impl::Sockframe | Impl::TraitEcho => "sockframe",
            _ => "length-prefix",
        }
    }
}

/// The built executables.
struct Bins {
    sockframe: PathBuf,
    plain: PathBuf,
    tokio: PathBuf,
    trait_echo: PathBuf,
}

impl Bins {
    /// The command line that starts `which` on a free loopback port.
    fn server_args(&self, which: Impl) -> Vec<String> {
        let (exe, extra): (&Path, &[&str]) = match which {
            // Room for the idle measurement; the rest are the defaults (16 KiB buffer,
            // TCP_NODELAY, backlog 1024).
            Impl::Sockframe => (&self.sockframe, &["serve", "--max-conns", "100000"]),
            Impl::Plain => (&self.plain, &[]),
            Impl::Tokio => (&self.tokio, &[]),
            Impl::TraitEcho => (&self.trait_echo, &[]),
        };
        let mut args = vec![exe.display().to_string()];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.extend(["--bind".into(), "127.0.0.1:0".into()]);
        args
    }
}

struct Scenario {
    name: &'static str,
    args: &'static [&'static str],
    /// Compare MiB/s rather than msgs/s (same thing at a fixed size, but reads better).
    bulk: bool,
}

const SCENARIOS: [Scenario; 4] = [
    Scenario {
        name: "ping-pong 64 B, 1 conn",
        args: &["--mode", "pingpong", "--size", "64", "--conns", "1"],
        bulk: false,
    },
    Scenario {
        name: "pipelined 64 B, window 64",
        args: &[
            "--mode",
            "pipelined",
            "--size",
            "64",
            "--conns",
            "1",
            "--window",
            "64",
        ],
        bulk: false,
    },
    Scenario {
        name: "ping-pong 64 B, 32 conns",
        args: &["--mode", "pingpong", "--size", "64", "--conns", "32"],
        bulk: false,
    },
    Scenario {
        name: "pipelined 1 MiB, window 4",
        args: &[
            "--mode",
            "pipelined",
            "--size",
            "1048576",
            "--conns",
            "1",
            "--window",
            "4",
        ],
        bulk: true,
    },
];

/// One `sockframe bench` result.
#[derive(Clone, Copy, Default)]
pub(crate) struct Sample {
    pub(crate) msgs_s: f64,
    /// Messages echoed in the run.
    pub(crate) msgs: f64,
    /// Server CPU time per message, microseconds (user + system, all its threads).
    pub(crate) cpu_us: f64,
    /// Server CPU use over the run, in CPUs (1.0: one core busy all the time).
    cpu_load: f64,
    /// Whether the machine was quiet when the run started.
    pub(crate) quiet: bool,
    pub(crate) mib_s: f64,
    pub(crate) p50_us: f64,
    pub(crate) p99_us: f64,
}

pub fn run(p: &Params) -> Result<(), String> {
    if p.runs == 0 || !(p.duration > 0.0 && p.duration.is_finite()) {
        return Err("--runs must be at least 1 and --duration a positive number".into());
    }
    let bins = build()?;
    let load_before = loadavg();
    let pinned = std::thread::available_parallelism().map_or(1, usize::from) >= 2;
    if !pinned {
        eprintln!("bench-server: fewer than 2 CPUs, running unpinned (expect noise)");
    }

    // samples[scenario][impl] = one Sample per run.
    let mut samples = vec![vec![Vec::new(); IMPLS.len()]; SCENARIOS.len()];
    {
        let servers = IMPLS
            .iter()
            .map(|&i| Server::start(i, &bins, pinned))
            .collect::<Result<Vec<_>, _>>()?;
        for run in 1..=p.runs {
            for (si, sc) in SCENARIOS.iter().enumerate() {
                for (ii, server) in servers.iter().enumerate() {
                    let mut args: Vec<String> = sc.args.iter().map(|s| s.to_string()).collect();
                    args.extend(["--duration".into(), p.duration.to_string()]);
                    let s = bench(&bins, server, &args, pinned, p.duration)?;
                    eprintln!(
                        "run {run}/{}: {} / {}: {:.0} msgs/s, {:.1} MiB/s, p50 {:.1} us, p99 {:.1} us, server CPU {:.0}% = {:.2} us/msg",
                        p.runs,
                        sc.name,
                        server.which.name(),
                        s.msgs_s,
                        s.mib_s,
                        s.p50_us,
                        s.p99_us,
                        s.cpu_load * 100.0,
                        s.cpu_us
                    );
                    samples[si][ii].push(s);
                }
            }
        }
        // `servers` drop here: every server is killed.
    }

    // idle[impl] = KiB per connection, one per run.
    let mut idle = vec![Vec::new(); IMPLS.len()];
    for run in 1..=p.runs {
        for (ii, &which) in IMPLS.iter().enumerate() {
            let kib = idle_memory(&bins, which, pinned, p.idle_conns)?;
            eprintln!(
                "run {run}/{}: {} idle conns / {}: {kib:.2} KiB per connection",
                p.runs,
                p.idle_conns,
                which.name()
            );
            idle[ii].push(kib);
        }
    }

    print_tables(p, &samples, &idle);
    let all: Vec<&Sample> = samples.iter().flatten().flatten().collect();
    println!();
    println!(
        "{} of {} throughput measurements started on a quiet machine (under 10% CPU busy for 0.5 s, waiting up to 60 s for it).",
        all.iter().filter(|s| s.quiet).count(),
        all.len()
    );
    println!(
        "Load average (1, 5, 15 min) before: {load_before}; after: {} (other work on the machine shows here).",
        loadavg()
    );
    Ok(())
}

/// Busy CPU time of the whole machine (all CPUs) and total time, in clock ticks.
fn cpu_ticks() -> Option<(u64, u64)> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let f: Vec<u64> = line
        .split_whitespace()
        .filter_map(|v| v.parse().ok())
        .collect();
    let total: u64 = f.iter().take(8).sum();
    // idle and iowait are not busy.
    let idle = f.get(3)? + f.get(4)?;
    Some((total - idle, total))
}

/// Waits (at most 60 s) until the machine has been nearly idle for half a second, so a
/// measurement does not start in the middle of someone else's build or benchmark. Returns
/// whether it was quiet.
pub(crate) fn wait_quiet() -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut waited = false;
    loop {
        let Some((b0, t0)) = cpu_ticks() else {
            return true;
        };
        std::thread::sleep(Duration::from_millis(500));
        let Some((b1, t1)) = cpu_ticks() else {
            return true;
        };
        let busy = (b1 - b0) as f64 / (t1 - t0).max(1) as f64;
        if busy < 0.10 {
            return true;
        }
        if Instant::now() > deadline {
            eprintln!(
                "bench-server: machine still busy ({:.0}%), measuring anyway",
                busy * 100.0
            );
            return false;
        }
        if !waited {
            eprintln!(
                "bench-server: machine busy ({:.0}%), waiting for quiet",
                busy * 100.0
            );
            waited = true;
        }
    }
}

/// The first three fields of /proc/loadavg.
pub(crate) fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|s| s.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "unknown".into())
}

/// Builds the three servers (and the load generator) in release mode.
fn build() -> Result<Bins, String> {
    let find =
        util::build_sockframe_with(&["bench_plain_echo", "bench_tokio_echo", "bench_trait_echo"])?;
    Ok(Bins {
        sockframe: find("sockframe")?,
        plain: find("bench_plain_echo")?,
        tokio: find("bench_tokio_echo")?,
        trait_echo: find("bench_trait_echo")?,
    })
}

/// A command line run with the open-files limit raised to the hard limit (10,000 idle
/// connections need more descriptors than some defaults allow) and, when `cpu` is given,
/// pinned to that CPU. `exec` keeps the process id: it is the program's own.
///
/// With `setpriv` (util-linux) the child also gets SIGKILL when this process dies, so even
/// a signal that kills us before the guards run (`kill`, `timeout`) leaves no server behind.
fn command(cpu: Option<u32>, args: &[String]) -> Command {
    static SETPRIV: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    let mut c = Command::new("sh");
    c.args([
        "-c",
        r#"ulimit -n "$(ulimit -Hn)" 2>/dev/null; exec "$@""#,
        "sh",
    ]);
    if *SETPRIV.get_or_init(|| util::have("setpriv")) {
        c.args(["setpriv", "--pdeathsig", "KILL"]);
    }
    if let Some(cpu) = cpu {
        c.args(["taskset", "-c", &cpu.to_string()]);
    }
    c.args(args);
    c
}

/// A child process killed (and reaped) when dropped.
pub(crate) struct Guard(Child);

impl Drop for Guard {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A running server.
struct Server {
    which: Impl,
    addr: String,
    pid: u32,
    /// Clock ticks per second of /proc/PID/stat.
    clk_tck: f64,
    _child: Guard,
}

impl Server {
    fn start(which: Impl, bins: &Bins, pinned: bool) -> Result<Server, String> {
        let args = bins.server_args(which);
        let (guard, addr, pid) = spawn_server(which.name(), &args, pinned)?;
        Ok(Server {
            which,
            addr,
            pid,
            clk_tck: clk_tck(),
            _child: guard,
        })
    }

    /// CPU time the server has used so far (user + system, all threads), in seconds.
    fn cpu_secs(&self) -> Result<f64, String> {
        stat_cpu_secs(&format!("/proc/{}/stat", self.pid), false, self.clk_tck)
    }

    /// The server's resident memory (VmRSS), in KiB.
    fn rss_kib(&self) -> Result<u64, String> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid))
            .map_err(|e| format!("cannot read /proc/{}/status: {e}", self.pid))?;
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmRSS in /proc/{}/status", self.pid))
    }
}

/// User + system CPU seconds from a `/proc/PID/stat` file: the process's own (all its
/// threads), or with `children` those of its children it has waited for.
pub(crate) fn stat_cpu_secs(path: &str, children: bool, clk_tck: f64) -> Result<f64, String> {
    let stat = std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?;
    // Fields after the command name: state is field 3, utime 14, stime 15, cutime 16,
    // cstime 17.
    let rest = &stat[stat.rfind(')').map_or(0, |i| i + 1)..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok());
    let at = if children { 13 } else { 11 };
    match (ticks(at), ticks(at + 1)) {
        (Some(u), Some(s)) => Ok((u + s) / clk_tck),
        _ => Err(format!("cannot parse {path}")),
    }
}

/// `getconf CLK_TCK` (100 on Linux unless it says otherwise).
pub(crate) fn clk_tck() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

/// Runs `sockframe bench` against `server` and parses its report.
fn bench(
    bins: &Bins,
    server: &Server,
    args: &[String],
    pinned: bool,
    duration: f64,
) -> Result<Sample, String> {
    let mut argv = vec![
        bins.sockframe.display().to_string(),
        "bench".into(),
        server.addr.clone(),
        "--protocol".into(),
        server.which.protocol().into(),
    ];
    argv.extend(args.iter().cloned());
    let quiet = wait_quiet();
    let (cpu0, t0) = (server.cpu_secs()?, Instant::now());
    let mut sample = run_load(&argv, pinned, duration)
        .map_err(|e| format!("against {}: {e}", server.which.name()))?;
    let (cpu, wall) = (server.cpu_secs()? - cpu0, t0.elapsed().as_secs_f64());
    sample.cpu_us = cpu * 1e6 / sample.msgs.max(1.0);
    sample.cpu_load = cpu / wall;
    sample.quiet = quiet;
    Ok(sample)
}

/// Runs a load generator (`argv`, pinned to CPU 1 when `pinned`) to its end, at most
/// `duration` + 60 s, and parses its `N msgs in T s: X msgs/s, ...` report.
pub(crate) fn run_load(argv: &[String], pinned: bool, duration: f64) -> Result<Sample, String> {
    let child = command(pinned.then_some(1), argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the load generator {}: {e}", argv[0]))?;
    let (status, stdout, stderr) = wait_bounded(child, Duration::from_secs_f64(duration + 60.0))?;
    if !status {
        return Err(format!("load generator failed: {}", stderr.trim()));
    }
    parse_report(&stdout).ok_or_else(|| format!("cannot parse the bench report: {stdout}"))
}

/// Starts a server (`argv`, pinned to CPU 0 when `pinned`) that prints "listening on ADDR"
/// on stderr: its guard (kills it on drop), address and process id.
pub(crate) fn spawn_server(
    name: &str,
    argv: &[String],
    pinned: bool,
) -> Result<(Guard, String, u32), String> {
    spawn_server_with(name, argv, pinned, drop)
}

/// [`spawn_server`], handing every line the server prints on stderr to `each_line` (the
/// lines before "listening on" arrive before this returns).
pub(crate) fn spawn_server_with(
    name: &str,
    argv: &[String],
    pinned: bool,
    each_line: impl FnMut(String) + Send + 'static,
) -> Result<(Guard, String, u32), String> {
    let mut child = command(pinned.then_some(0), argv)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", argv[0]))?;
    let pid = child.id();
    let stderr = child.stderr.take();
    let guard = Guard(child);
    let addr = util::listening_addr(stderr, each_line)
        .ok_or_else(|| format!("{name} did not report its address"))?;
    eprintln!("{name}: pid {pid} at {addr}");
    Ok((guard, addr, pid))
}

/// Waits for `child` at most `limit` (then kills it): (success, stdout, stderr).
fn wait_bounded(mut child: Child, limit: Duration) -> Result<(bool, String, String), String> {
    let drain = |r: Option<Box<dyn Read + Send>>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut r) = r {
                let _ = r.read_to_string(&mut s);
            }
            s
        })
    };
    let out = drain(
        child
            .stdout
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let err = drain(
        child
            .stderr
            .take()
            .map(|r| Box::new(r) as Box<dyn Read + Send>),
    );
    let mut guard = Guard(child);
    let deadline = Instant::now() + limit;
    let status = loop {
        match guard.0.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(20)),
            Ok(None) => return Err("the load generator did not finish in time (killed)".into()),
            Err(e) => return Err(format!("cannot wait for the load generator: {e}")),
        }
    };
    drop(guard);
    let out = out.join().unwrap_or_default();
    let err = err.join().unwrap_or_default();
    Ok((status.success(), out, err))
}

/// Parses "...: N msgs/s, M MiB/s, latency p50 D p99 D ...".
fn parse_report(s: &str) -> Option<Sample> {
    let before = |what: &str| -> Option<f64> {
        let end = s.find(what)?;
        s[..end].split_whitespace().last()?.parse().ok()
    };
    let after = |what: &str| -> Option<f64> {
        let at = s.find(what)? + what.len();
        duration_us(s[at..].split_whitespace().next()?)
    };
    Some(Sample {
        msgs_s: before(" msgs/s")?,
        msgs: before(" msgs in ")?,
        cpu_us: 0.0,
        cpu_load: 0.0,
        quiet: false,
        mib_s: before(" MiB/s")?,
        p50_us: after("p50 ")?,
        p99_us: after("p99 ")?,
    })
}

/// A `Duration`'s Debug form ("30.4µs", "1.5ms", "850ns", "2.1s") in microseconds.
fn duration_us(s: &str) -> Option<f64> {
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.'))?;
    let (n, unit) = s.split_at(split);
    let n: f64 = n.parse().ok()?;
    let scale = match unit {
        "ns" => 1e-3,
        "µs" | "us" => 1.0,
        "ms" => 1e3,
        "s" => 1e6,
        _ => return None,
    };
    Some(n * scale)
}

/// A fresh server; its RSS before, then holding `conns` idle connections: KiB per
/// connection.
fn idle_memory(bins: &Bins, which: Impl, pinned: bool, conns: usize) -> Result<f64, String> {
    let server = Server::start(which, bins, pinned)?;
    std::thread::sleep(Duration::from_millis(300));
    let before = server.rss_kib()?;
    let argv = vec![
        bins.sockframe.display().to_string(),
        "bench".into(),
        server.addr.clone(),
        "--protocol".into(),
        which.protocol().into(),
        "--mode".into(),
        "idle".into(),
        "--conns".into(),
        conns.to_string(),
        "--duration".into(),
        "120".into(),
    ];
    let mut child = command(pinned.then_some(1), &argv)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot start the load generator: {e}"))?;
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let _client = Guard(child);
    // The client prints "holding N idle connections" once every one has echoed.
    let (tx, rx) = mpsc::channel();
    if let Some(stdout) = stdout {
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("holding ") {
                    let _ = tx.send(());
                }
            }
        });
    }
    if rx.recv_timeout(Duration::from_secs(100)).is_err() {
        let mut msg = String::new();
        if let Some(mut e) = stderr {
            let _ = e.read_to_string(&mut msg);
        }
        return Err(format!(
            "{conns} idle connections to {} were not all opened: {}",
            which.name(),
            msg.trim()
        ));
    }
    // Let the server settle (tasks parked, buffers returned).
    std::thread::sleep(Duration::from_secs(1));
    let holding = server.rss_kib()?;
    Ok((holding.saturating_sub(before)) as f64 / conns as f64)
}

pub(crate) fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn print_tables(p: &Params, samples: &[Vec<Vec<Sample>>], idle: &[Vec<f64>]) {
    let med = |si: usize, ii: usize, f: fn(&Sample) -> f64| {
        median(&samples[si][ii].iter().map(f).collect::<Vec<_>>())
    };
    let rate = |si: usize, ii: usize| {
        if SCENARIOS[si].bulk {
            med(si, ii, |s| s.mib_s)
        } else {
            med(si, ii, |s| s.msgs_s)
        }
    };
    let show = |si: usize, v: f64| {
        if SCENARIOS[si].bulk {
            format!("{v:.1} MiB/s")
        } else {
            format!("{v:.0} msgs/s")
        }
    };
    println!();
    println!(
        "Medians of {} runs of {} s each; server on CPU 0, load generator on CPU 1.",
        p.runs, p.duration
    );
    println!();
    println!(
        "| scenario | sockframe | plain thread-per-conn | tokio-util codec | vs plain | vs tokio-util | target | met |"
    );
    println!("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |");
    for (si, sc) in SCENARIOS.iter().enumerate() {
        let (s, pl, tk) = (rate(si, 0), rate(si, 1), rate(si, 2));
        let (vs_plain, vs_tokio) = (s / pl, s / tk);
        let (target, met) = match si {
            0 | 3 => ("≥ 1.0x plain", vs_plain >= 1.0),
            1 => ("≥ 3x plain", vs_plain >= 3.0),
            _ => ("≥ 1.2x tokio-util", vs_tokio >= 1.2),
        };
        println!(
            "| {} | {} | {} | {} | {vs_plain:.2}x | {vs_tokio:.2}x | {target} | {} |",
            sc.name,
            show(si, s),
            show(si, pl),
            show(si, tk),
            if met { "yes" } else { "**no**" }
        );
    }
    let kib: Vec<f64> = idle.iter().map(|v| median(v)).collect();
    println!(
        "| {} idle conns: server RSS per conn | {:.2} KiB | {:.2} KiB | {:.2} KiB | {:.2}x | {:.2}x | ≤ 8 KiB | {} |",
        p.idle_conns,
        kib[0],
        kib[1],
        kib[2],
        kib[0] / kib[1],
        kib[0] / kib[2],
        if kib[0] <= 8.0 { "yes" } else { "**no**" }
    );
    println!();
    println!("A user's echo on the public Service trait against the built-in echo:");
    println!();
    println!("| scenario | built-in echo | user Service echo | ratio | target | met |");
    println!("| --- | ---: | ---: | ---: | --- | --- |");
    for (si, sc) in SCENARIOS.iter().enumerate() {
        let (s, u) = (rate(si, 0), rate(si, 3));
        println!(
            "| {} | {} | {} | {:.2}x | ≥ 0.95x | {} |",
            sc.name,
            show(si, s),
            show(si, u),
            u / s,
            if u / s >= 0.95 { "yes" } else { "**no**" }
        );
    }
    println!(
        "| {} idle conns: server RSS per conn | {:.2} KiB | {:.2} KiB | {:.2}x | ≤ 4 KiB | {} |",
        p.idle_conns,
        kib[0],
        kib[3],
        kib[3] / kib[0],
        if kib[0].max(kib[3]) <= 4.0 {
            "yes"
        } else {
            "**no**"
        }
    );
    println!();
    println!("Latency (median of the runs' p50 / p99, microseconds):");
    println!();
    println!("| scenario | sockframe p50 / p99 | plain p50 / p99 | tokio-util p50 / p99 |");
    println!("| --- | ---: | ---: | ---: |");
    for (si, sc) in SCENARIOS.iter().enumerate() {
        let cell = |ii: usize| {
            format!(
                "{:.1} / {:.1}",
                med(si, ii, |s| s.p50_us),
                med(si, ii, |s| s.p99_us)
            )
        };
        println!("| {} | {} | {} | {} |", sc.name, cell(0), cell(1), cell(2));
    }
    println!();
    println!(
        "Server CPU (median of the runs): time per message in microseconds (user + system, all threads), and load in % of one core:"
    );
    println!();
    println!("| scenario | sockframe | plain | tokio-util |");
    println!("| --- | ---: | ---: | ---: |");
    for (si, sc) in SCENARIOS.iter().enumerate() {
        let cell = |ii: usize| {
            format!(
                "{:.2} us ({:.0}%)",
                med(si, ii, |s| s.cpu_us),
                med(si, ii, |s| s.cpu_load * 100.0)
            )
        };
        println!("| {} | {} | {} | {} |", sc.name, cell(0), cell(1), cell(2));
    }
    println!();
    println!("All runs (msgs/s; MiB/s for 1 MiB), in order:");
    println!();
    for (si, sc) in SCENARIOS.iter().enumerate() {
        for (ii, which) in IMPLS.iter().enumerate() {
            let all: Vec<String> = samples[si][ii]
                .iter()
                .map(|s| {
                    if sc.bulk {
                        format!("{:.1}", s.mib_s)
                    } else {
                        format!("{:.0}", s.msgs_s)
                    }
                })
                .collect();
            println!("- {} / {}: {}", sc.name, which.name(), all.join(", "));
        }
    }
    for (ii, which) in IMPLS.iter().enumerate() {
        let all: Vec<String> = idle[ii].iter().map(|k| format!("{k:.2}")).collect();
        println!("- idle KiB/conn / {}: {}", which.name(), all.join(", "));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_bench_report() {
        let s = parse_report(
            "LengthPrefix PingPong size 64 conns 1 window 64: 19805 msgs in 1.00 s: 19760 msgs/s, 1.21 MiB/s, latency p50 29.345µs p99 1.560458ms (all bytes verified)",
        )
        .unwrap();
        assert_eq!(s.msgs_s, 19760.0);
        assert_eq!(s.mib_s, 1.21);
        assert!((s.p50_us - 29.345).abs() < 1e-9);
        assert!((s.p99_us - 1560.458).abs() < 1e-6);
        assert_eq!(duration_us("850ns"), Some(0.85));
        assert_eq!(duration_us("2s"), Some(2e6));
    }
}
