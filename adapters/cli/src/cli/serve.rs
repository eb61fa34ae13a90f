//! `sockframe serve`.

use super::Failure;
use clap::{Args, ValueEnum};
use sockframe::Limits;
use sockframe_std::serial::{self, SerialSpec};
use sockframe_std::services::{Chat, ChatNote, Echo, Exec, ExecConfig, Files, FilesConfig};
use sockframe_std::{Server, ServerConfig, Service, printable};
use std::io::{BufRead, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Which service the server runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServiceKind {
    /// Every frame back unchanged.
    Echo,
    /// Turn-taking conversation with the operator at this terminal.
    Chat,
    /// Remote commands (needs a token unless bound to loopback).
    Exec,
    /// Upload and download inside --root.
    Files,
}

/// Arguments of `sockframe serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Serve a serial link instead of listening: serial:PATH[,BAUD] (baud default 115200),
    /// e.g. serial:/dev/ttyUSB0 or serial:/dev/pts/7,115200. A link is one session with no
    /// idle timeout; where a TCP connection would be closed (after a framing error, ...)
    /// the error frame is sent and a fresh session starts on the same link.
    #[arg(value_name = "LINK")]
    link: Option<String>,
    /// Address to listen on, HOST:PORT (names allowed: localhost:9000; port 0 picks a free
    /// port, and the real address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    bind: String,
    /// The service to run.
    #[arg(long, value_enum, default_value_t = ServiceKind::Echo)]
    service: ServiceKind,
    /// Listen backlog: completed connections the kernel queues before they are accepted.
    #[arg(long, default_value_t = 1024)]
    backlog: u32,
    /// Connections served at once; newcomers beyond it get a "busy" error frame.
    #[arg(long, default_value_t = 1024)]
    max_conns: usize,
    /// Largest payload accepted, in bytes [default: 64 MiB; no limit for files].
    #[arg(long, value_name = "BYTES")]
    max_frame: Option<u64>,
    /// Largest header accepted, in bytes [default: 512; 2048 for files, whose names may
    /// be up to 1024 bytes].
    #[arg(long, value_name = "BYTES")]
    max_header: Option<usize>,
    /// Per-connection receive buffer in bytes: larger frames stream through it.
    #[arg(long, value_name = "BYTES", default_value_t = 16 * 1024)]
    buffer: usize,
    /// Close connections idle for this many seconds (0: never).
    #[arg(long, value_name = "SECS", default_value_t = 300)]
    idle_timeout: u64,
    /// Time a frame in progress may take, plus 1 s per --min-rate bytes received; a slower
    /// peer gets a "frame-timeout" error frame (0: no frame deadline).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    frame_timeout: u64,
    /// Bytes per second a frame in progress must average after --frame-timeout (0: the
    /// frame timeout is a hard limit per frame).
    #[arg(long, value_name = "BYTES", default_value_t = 1024)]
    min_rate: u64,
    /// Cut off (reset) a peer that has not read our replies for this many seconds
    /// (0: never). Meanwhile at most 64 KiB of its replies are held.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    write_timeout: u64,
    /// exec: the token clients must present. Prefer the environment variable: a command
    /// line is visible to other users.
    #[arg(long, env = "SOCKFRAME_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// exec: allow clients to run their command through `sh -c`.
    #[arg(long)]
    shell: bool,
    /// exec: kill a command after this many seconds.
    #[arg(long, value_name = "SECS", default_value_t = 60)]
    time_limit: u64,
    /// exec: kill a command after this many bytes of output.
    #[arg(long, value_name = "BYTES", default_value_t = 1 << 30)]
    output_limit: u64,
    /// files: the served directory.
    #[arg(long, default_value = ".")]
    root: PathBuf,
    #[command(flatten)]
    tls: super::tls::ServeTlsArgs,
}

/// A timeout in whole seconds; 0 means none.
fn secs(n: u64) -> Option<Duration> {
    (n > 0).then(|| Duration::from_secs(n))
}

/// Runs the server until Ctrl-C.
pub fn run(a: ServeArgs) -> Result<i32, Failure> {
    // Files stream to disk, so their size is bounded by the disk, not by memory.
    let (default_header, default_payload) = match a.service {
        ServiceKind::Files => (2048, u64::MAX),
        _ => (Limits::DEFAULT.max_header, Limits::DEFAULT.max_payload),
    };
    let link = match a.link.as_deref().map(SerialSpec::parse) {
        None => None,
        Some(Some(Ok(spec))) => Some(spec),
        Some(Some(Err(e))) => return Err(Failure::usage(e)),
        Some(None) => {
            return Err(Failure::usage(format!(
                "{}: a link is serial:PATH[,BAUD]; a network address goes in --bind",
                a.link.unwrap_or_default()
            )));
        }
    };
    // A link is served through the server on a free loopback port (sockframe_std::serial).
    let bind = match link {
        Some(_) => "127.0.0.1:0".parse().expect("a socket address"),
        None => super::resolve(&a.bind).map_err(|f| Failure::usage(f.message))?,
    };
    let cfg = ServerConfig {
        bind,
        backlog: a.backlog,
        max_conns: a.max_conns.max(1),
        limits: Limits {
            max_header: a.max_header.unwrap_or(default_header),
            max_payload: a.max_frame.unwrap_or(default_payload),
        },
        buffer_size: a.buffer,
        idle_timeout: secs(a.idle_timeout).filter(|_| link.is_none()),
        frame_timeout: secs(a.frame_timeout),
        min_rate: a.min_rate,
        write_timeout: secs(a.write_timeout),
        tls: a.tls.config(bind)?,
        ..ServerConfig::default()
    };
    if link.is_some() && cfg.tls.is_some() {
        return Err(Failure::usage("TLS is not available on a serial link"));
    }
    let link = link.as_ref();
    match a.service {
        ServiceKind::Echo => serve(cfg, link, Echo),
        ServiceKind::Chat => serve(cfg, link, operator_chat()),
        ServiceKind::Exec => serve(
            cfg,
            link,
            Exec(ExecConfig {
                token: a.token,
                allow_shell: a.shell,
                time_limit: Duration::from_secs(a.time_limit),
                output_limit: a.output_limit,
            }),
        ),
        ServiceKind::Files => serve(cfg, link, Files(FilesConfig::new(a.root))),
    }
}

/// Binds `service` as `cfg` says and serves until Ctrl-C; with `link`, serves that serial
/// link through the bound server until Ctrl-C or the link fails.
fn serve<Svc: Service>(
    cfg: ServerConfig,
    link: Option<&SerialSpec>,
    mut service: Svc,
) -> Result<i32, Failure> {
    // What the service needs (an existing --root, a token for exec on a public address) is
    // the user's to fix: a usage error, told before anything is bound.
    service
        .prepare(&cfg)
        .map_err(|e| Failure::usage(e.to_string()))?;
    let bind = cfg.bind;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::connect(format!("cannot start the runtime: {e}")))?;
    rt.block_on(async {
        let name = service.name().to_owned();
        let server = Server::bind(cfg, service)
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::InvalidInput => {
                    Failure::usage(e.to_string())
                }
                _ => Failure::connect(format!("cannot listen on {bind}: {e}")),
            })?;
        let Some(spec) = link else {
            // Scripts and tests read this line to learn the port when --bind asked for 0.
            eprintln!("sockframe: {name} listening on {}", server.local_addr());
            return server
                .run()
                .await
                .map_err(|e| Failure::connect(e.to_string()));
        };
        // Opened here, so a missing device is reported before the server runs.
        let port = spec.open().map_err(|e| Failure::connect(e.to_string()))?;
        drop(port);
        let (spec, addr) = (spec.clone(), server.local_addr());
        eprintln!("sockframe: {name} serving {spec} at {} baud", spec.baud);
        let relay = tokio::task::spawn_blocking(move || serial::serve_link(&spec, addr));
        tokio::select! {
            done = server.run() => done.map_err(|e| Failure::connect(e.to_string())),
            relayed = relay => match relayed {
                Ok(Err(e)) => Err(Failure::connect(e.to_string())),
                _ => Err(Failure::connect("the serial relay ended")),
            },
        }
    })?;
    Ok(0)
}

/// A chat whose operator is this terminal: lines typed on stdin are the replies.
fn operator_chat() -> Chat {
    let (tx, rx) = tokio::sync::mpsc::channel(16);
    // stdin is blocking: a thread of its own feeds the async side.
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    Chat::new(rx, |note| {
        let mut out = std::io::stdout().lock();
        let _ = match note {
            ChatNote::Joined(peer) => {
                writeln!(out, "--- {peer} joined (an empty reply ends the session)")
            }
            ChatNote::Message(peer, text) => write!(out, "{peer}> {}\nreply> ", printable(text)),
            ChatNote::Left(peer) => writeln!(out, "\n--- {peer} left; waiting for the next client"),
        };
        let _ = out.flush();
    })
}
