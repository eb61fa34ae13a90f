//! exec: runs a command for the client and streams its output back as it is produced.
//!
//! Off unless chosen. Bound to anything but loopback it refuses to start without a token,
//! and requests must carry it (metadata `token`, compared in constant time, never logged).
//! Commands run without a shell unless the server allows `--shell` and the request asks
//! for it. A time limit and an output cap bound what one request can cost.
//!
//! Frames: request [`kinds::EXEC`]; output [`kinds::STDOUT`] / [`kinds::STDERR`] with the
//! request's id, each carrying what one read of the pipe returned; then [`kinds::EXIT`].
//!
//! A command whose client goes away is killed at once. A killed client process closes its
//! socket with an ordinary FIN, which looks exactly like a half-close, so a client must
//! keep its sending side open until the `EXIT` frame has arrived.
//!
//! Each command runs as the leader of its own process group, and every kill (time limit,
//! output limit, client gone, the request's task dropped) is a `SIGKILL` to the whole
//! group, so what the command started (`sh -c 'sleep 300 & ...'`, a forking program) dies
//! with it. Output is read until both pipes reach end of file, then the exit status of the
//! command's first process is sent; a background process still holding a pipe keeps the
//! request going, still under the time limit, which kills the group. Once the status is
//! sent, whatever is left in the group (background processes that closed or redirected
//! their output) is killed too: nothing the command started in its group outlives the
//! request. A process that leaves the group (`setsid`, `setpgid`) escapes this; containing
//! those needs a cgroup or a container. The server reaps the command's first process on
//! every path; the others are reparented to init when it exits, and reaped there.

use crate::conn::{Close, Connection};
use crate::kinds;
use crate::owned::OwnedFrame;
use crate::printable;
use crate::server::ServerConfig;
use crate::service::Service;
use crate::transport::Transport;
use nix::errno::Errno;
use nix::sys::signal::{Signal, killpg};
use nix::unistd::Pid;
use sockframe::{Header, Kind};
use std::ffi::OsString;
use std::io;
use std::net::SocketAddr;
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::ExitStatusExt;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// The exec service: remote commands, as [`ExecConfig`] says (cargo feature `exec`).
#[derive(Debug, Clone, Default)]
pub struct Exec(pub ExecConfig);

/// How the exec service runs commands.
#[derive(Clone)]
pub struct ExecConfig {
    /// The secret clients must present (metadata `token`). Required when the server is
    /// bound to a non-loopback address.
    pub token: Option<String>,
    /// Whether requests may ask for `sh -c` (metadata `shell=1`).
    pub allow_shell: bool,
    /// A command still running after this is killed (`timeout` error frame).
    pub time_limit: Duration,
    /// A command producing more output than this (stdout and stderr together) is killed
    /// (`output-limit` error frame).
    pub output_limit: u64,
}

impl Default for ExecConfig {
    fn default() -> Self {
        ExecConfig {
            token: None,
            allow_shell: false,
            time_limit: Duration::from_secs(60),
            output_limit: 1 << 30,
        }
    }
}

impl std::fmt::Debug for ExecConfig {
    /// Says whether a token is set, never what it is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecConfig")
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("allow_shell", &self.allow_shell)
            .field("time_limit", &self.time_limit)
            .field("output_limit", &self.output_limit)
            .finish()
    }
}

impl ExecConfig {
    /// Refuses to serve commands to the network without a token.
    pub(crate) fn prepare(mut self, bind: SocketAddr) -> io::Result<Self> {
        if self.token.as_deref() == Some("") {
            self.token = None;
        }
        if self.token.is_none() && !bind.ip().is_loopback() {
            return Err(io::Error::new(
                io::ErrorKind::PermissionDenied,
                format!(
                    "exec bound to {} (not loopback) needs a token: --token or SOCKFRAME_TOKEN",
                    bind.ip()
                ),
            ));
        }
        Ok(self)
    }
}

/// Equality whose time depends only on the expected token's length, not on where the
/// presented one differs: a network peer cannot guess the token byte by byte.
fn constant_time_eq(presented: &[u8], expected: &[u8]) -> bool {
    let mut diff = u8::from(presented.len() != expected.len());
    for (i, e) in expected.iter().enumerate() {
        diff |= e ^ presented.get(i).copied().unwrap_or(!e);
    }
    std::hint::black_box(diff) == 0
}

/// What a request frame asks for.
enum Request {
    Run {
        id: u32,
        argv: Vec<OsString>,
    },
    /// Answer with this error frame and go on serving.
    Refuse {
        id: u32,
        code: &'static str,
        message: String,
    },
}

fn parse(cfg: &ExecConfig, req: &OwnedFrame) -> Result<Request, Close> {
    let id = req.id;
    if let Some(token) = &cfg.token {
        let presented = req.meta("token").unwrap_or("");
        if !constant_time_eq(presented.as_bytes(), token.as_bytes()) {
            return Err(Close::error(id, "unauthorized", "missing or wrong token"));
        }
    }
    let refuse = |code, message: &str| {
        Ok(Request::Refuse {
            id,
            code,
            message: message.to_owned(),
        })
    };
    let argv: Vec<OsString> = if req.meta("shell") == Some("1") {
        if !cfg.allow_shell {
            return refuse(
                "shell-disabled",
                "this server runs commands without a shell (start it with --shell)",
            );
        }
        let Ok(line) = std::str::from_utf8(&req.payload) else {
            return refuse("bad-request", "shell command is not UTF-8");
        };
        vec!["sh".into(), "-c".into(), line.into()]
    } else {
        req.payload
            .split(|b| *b == 0)
            .map(|arg| OsString::from_vec(arg.to_vec()))
            .collect()
    };
    if argv.first().is_none_or(|p| p.is_empty()) {
        return refuse("bad-request", "empty command");
    }
    Ok(Request::Run { id, argv })
}

impl Service for Exec {
    fn name(&self) -> &str {
        "exec"
    }

    fn prepare(&mut self, server: &ServerConfig) -> io::Result<()> {
        self.0 = self.0.clone().prepare(server.bind)?;
        server.require_tls_off_loopback("exec")?;
        Ok(())
    }

    /// Serves one connection: requests one after the other.
    async fn serve<S: Transport>(&self, conn: &mut Connection<S>) -> Result<(), Close> {
        let cfg = &self.0;
        while let Some(frame) = conn.read_request().await? {
            let request = match frame.kind {
                Kind::PING => {
                    let pong = Header::new(Kind::PONG, frame.id, 0);
                    let _ = conn.replies().frame(&pong, &frame.payload);
                    None
                }
                kinds::EXEC => Some(parse(cfg, &frame)?),
                other => Some(Request::Refuse {
                    id: frame.id,
                    code: "unsupported",
                    message: format!("the exec service does not handle kind {}", other.0),
                }),
            };
            match request {
                None => {}
                Some(Request::Refuse { id, code, message }) => {
                    tracing::info!(peer = %conn.peer(), code, "refused: {message}");
                    conn.replies().error(id, code, &message);
                }
                Some(Request::Run { id, argv }) => run(cfg, conn, id, argv).await?,
            }
            conn.flush().await?;
        }
        Ok(())
    }
}

/// Runs one command, streaming its output to the connection.
async fn run<S: Transport>(
    cfg: &ExecConfig,
    conn: &mut Connection<S>,
    id: u32,
    argv: Vec<OsString>,
) -> io::Result<()> {
    // The name goes into logs and error messages: control characters (a newline forging a
    // log line, a terminal escape) are shown escaped.
    let program = printable(&argv[0].to_string_lossy());
    tracing::info!(peer = %conn.peer(), %program, args = argv.len() - 1, "exec");
    let mut child = match tokio::process::Command::new(&argv[0])
        .args(&argv[1..])
        // The server's own secret is not the command's business.
        .env_remove("SOCKFRAME_TOKEN")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The command must not outlive its client (or the server's interest in it): its
        // own process group, killed whole by `Group`; `kill_on_drop` is the backstop for
        // the first process alone.
        .process_group(0)
        .kill_on_drop(true)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            conn.replies().error(
                id,
                "spawn-failed",
                format_args!("cannot run {program}: {e}"),
            );
            return Ok(());
        }
    };
    // Declared after `child`, so dropped before it: the group is killed while its leader
    // is not yet reaped and its id cannot have been reused.
    let mut group = Group::of(&child);
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let mut out_buf = vec![0u8; 64 * 1024];
    let mut err_buf = vec![0u8; 64 * 1024];
    let mut total: u64 = 0;
    let deadline = tokio::time::sleep(cfg.time_limit);
    tokio::pin!(deadline);
    while stdout.is_some() || stderr.is_some() {
        let (kind, n) = tokio::select! {
            r = read_some(&mut stdout, &mut out_buf) => match r {
                Ok(n) if n > 0 => (kinds::STDOUT, n),
                _ => { stdout = None; continue; }
            },
            r = read_some(&mut stderr, &mut err_buf) => match r {
                Ok(n) if n > 0 => (kinds::STDERR, n),
                _ => { stderr = None; continue; }
            },
            _ = &mut deadline => return killed(conn, &mut child, &mut group, id, "timeout",
                format!("{program} still running after {:?}: killed", cfg.time_limit)).await,
            _ = conn.client_gone() => {
                // Nobody is left to read the output: stop the command now, not at its limit.
                tracing::info!(peer = %conn.peer(), %program, "client gone: killing the command");
                group.kill();
                let _ = child.wait().await;
                return Err(io::Error::new(io::ErrorKind::BrokenPipe, "client gone"));
            }
        };
        total += n as u64;
        if total > cfg.output_limit {
            return killed(
                conn,
                &mut child,
                &mut group,
                id,
                "output-limit",
                format!(
                    "{program} wrote more than {} bytes: killed",
                    cfg.output_limit
                ),
            )
            .await;
        }
        let buf = if kind == kinds::STDOUT {
            &out_buf
        } else {
            &err_buf
        };
        let _ = conn.replies().frame(&Header::new(kind, id, 0), &buf[..n]);
        conn.flush().await?;
    }
    let status = tokio::select! {
        s = child.wait() => s?,
        _ = &mut deadline => return killed(conn, &mut child, &mut group, id, "timeout",
            format!("{program} still running after {:?}: killed", cfg.time_limit)).await,
    };
    // Background processes that let go of the pipes would otherwise run on unbounded.
    if group.kill() {
        tracing::info!(peer = %conn.peer(), %program, "killed what the command left running");
    }
    let (key, value) = match (status.code(), status.signal()) {
        (Some(code), _) => ("code", code.to_string()),
        (None, Some(signal)) => ("signal", signal.to_string()),
        (None, None) => ("code", "-1".to_owned()),
    };
    let text = status.to_string();
    let pairs = [(key, value.as_str())];
    let exit = Header::new(kinds::EXIT, id, 0).with_meta(&pairs);
    let _ = conn.replies().frame(&exit, text.as_bytes());
    tracing::info!(peer = %conn.peer(), %program, %status, bytes = total, "exec done");
    Ok(())
}

/// The process group a command runs in (its first process is the leader), killed whole
/// when dropped.
///
/// A group's id is its leader's pid, which the kernel does not hand out again while any
/// process is still in the group or the leader is unreaped. The command's own exit is
/// the one kill that comes after the leader is reaped: then either something is left in
/// the group (which holds the id) or nobody is, and the kill finds nobody (`ESRCH`),
/// short of the pid counter wrapping around to the same number in between.
struct Group(Option<Pid>);

impl Group {
    /// The group `child` leads (spawned with `process_group(0)`).
    fn of(child: &tokio::process::Child) -> Group {
        Group(
            child
                .id()
                .and_then(|pid| i32::try_from(pid).ok())
                .map(Pid::from_raw),
        )
    }

    /// Sends `SIGKILL` to every process in the group; true if there was any. Only once:
    /// after it the group is empty (or emptying), and its id may be reused once its
    /// leader is reaped.
    fn kill(&mut self) -> bool {
        let Some(pgid) = self.0.take() else {
            return false;
        };
        match killpg(pgid, Signal::SIGKILL) {
            Ok(()) => true,
            Err(Errno::ESRCH) => false,
            Err(e) => {
                tracing::warn!(%pgid, "cannot kill the command's process group: {e}");
                false
            }
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Kills the command's whole group, reaps its first process, and reports why.
async fn killed<S: Transport>(
    conn: &mut Connection<S>,
    child: &mut tokio::process::Child,
    group: &mut Group,
    id: u32,
    code: &'static str,
    message: String,
) -> io::Result<()> {
    group.kill();
    let _ = child.wait().await;
    tracing::info!(peer = %conn.peer(), code, "{message}");
    conn.replies().error(id, code, &message);
    Ok(())
}

/// One read from a pipe that may already be closed (then never ready).
async fn read_some<R: AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buf: &mut [u8],
) -> io::Result<usize> {
    match pipe {
        Some(r) => r.read(buf).await,
        None => std::future::pending().await,
    }
}

#[cfg(test)]
mod tests {
    use super::constant_time_eq;

    #[test]
    fn token_comparison() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secreT", b"secret"));
        assert!(!constant_time_eq(b"secret!", b"secret"));
        assert!(!constant_time_eq(b"secre", b"secret"));
        assert!(!constant_time_eq(b"", b"secret"));
        // A presented token padded with the complement bytes must not match a shorter one.
        assert!(!constant_time_eq(&[!b's'], b""));
    }

    #[test]
    fn program_names_are_printable() {
        assert_eq!(crate::printable("ls"), "ls");
        assert_eq!(crate::printable("a\nb\u{1b}[31m"), "a\\nb\\u{1b}[31m");
    }
}
