//! The desktop soak: the three servers, the echo, files and exec clients, and what those
//! clients share.

use super::Params;
use super::clients::{Load, client_loop, spawn};
use super::drive::drive;
use super::echo::{EchoRole, echo_session};
use super::exec::exec_session;
use super::files::files_session;
use super::memory::{Watched, sample};
use super::plan::{DESKTOP_MAX_ECHO, MAX_FILE, MAX_SEQ};
use super::report::conclude;
use super::server::{Server, build_server};
use sockframe_std::Client;
use sockframe_tests::pattern;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Runs the desktop soak; returns why it failed ("" if it passed).
pub(super) fn run(p: &Params) -> Result<String, String> {
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
pub(super) struct Ctx {
    /// Pseudo-random bytes; every payload and file is a slice of it.
    pub(super) pool: Vec<u8>,
    /// The pool on disk, for `head -c N` (exec).
    pub(super) pool_file: PathBuf,
    /// The files clients' local files.
    pub(super) local: PathBuf,
    /// `seq 1 MAX_SEQ` and where the output of `seq 1 N` ends in it.
    pub(super) seq: Vec<u8>,
    pub(super) seq_ends: Vec<usize>,
    /// What `head -c N /dev/zero` prints.
    pub(super) zeros: Vec<u8>,
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
