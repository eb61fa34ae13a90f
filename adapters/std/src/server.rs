//! The tokio server: listening socket, accept loop, connection limit, graceful shutdown.

use crate::conn::linger;
use crate::handler::Handler;
use crate::service::Service;
use crate::stats::ServerStats;
use crate::wire::push_error;
use socket2::{Domain, Protocol, Socket, Type};
use sockframe::Limits;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// How a [`Server`] listens and treats its connections.
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Address to listen on (port 0: any free port, see [`Server::local_addr`]).
    pub bind: SocketAddr,
    /// Listen backlog: connections the kernel completes and queues before `accept`.
    pub backlog: u32,
    /// Connections served at once; a newcomer beyond it gets a `busy` error frame.
    pub max_conns: usize,
    /// Largest header and payload accepted (larger frames get an error frame).
    pub limits: Limits,
    /// Decoder buffer per active connection: frames up to this size arrive whole, larger
    /// ones stream through it (cut-through). Taken from a per-server pool while bytes are
    /// in flight and given back whenever the connection sits between frames, so idle
    /// connections hold none. Larger means fewer system calls for large frames; smaller
    /// means less memory held by connections stalled mid-frame.
    pub buffer_size: usize,
    /// Connections silent this long are closed with an `idle-timeout` error frame (also
    /// inside a frame: no byte for this long).
    pub idle_timeout: Option<Duration>,
    /// A frame in progress may take this long plus one second per [`min_rate`] bytes
    /// received; a peer slower than that (one byte a second keeps the idle timeout at bay)
    /// gets a `frame-timeout` error frame and is closed.
    ///
    /// [`min_rate`]: ServerConfig::min_rate
    pub frame_timeout: Option<Duration>,
    /// Bytes per second a frame in progress must average after [`frame_timeout`]; 0 makes
    /// `frame_timeout` a hard limit on every frame, however large.
    ///
    /// [`frame_timeout`]: ServerConfig::frame_timeout
    pub min_rate: u64,
    /// A peer that does not read our replies for this long is cut off (with a reset: it
    /// would not read an error frame either). Until then the connection stops reading from
    /// it once 64 KiB of replies wait, so such a peer holds a bounded amount of memory.
    pub write_timeout: Option<Duration>,
    /// Set TCP_NODELAY on accepted connections (replies leave at once, not after an ACK).
    pub nodelay: bool,
    /// After a shutdown request, how long to wait for connections to finish their frames.
    pub shutdown_grace: Duration,
    /// Serve over TLS (cargo feature `tls`): every connection does a TLS handshake first.
    #[cfg(feature = "tls")]
    pub tls: Option<crate::tls::TlsServerConfig>,
}

impl ServerConfig {
    /// Whether connections are served over TLS (always `false` without the `tls` feature).
    pub fn uses_tls(&self) -> bool {
        #[cfg(feature = "tls")]
        return self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        false
    }

    /// Refuses a service that must not run in the clear off loopback (its token, commands
    /// or files would cross the network readable): `service` bound to a non-loopback
    /// address without TLS.
    pub fn require_tls_off_loopback(&self, service: &str) -> io::Result<()> {
        if self.bind.ip().is_loopback() || self.uses_tls() {
            return Ok(());
        }
        Err(io::Error::new(
            io::ErrorKind::PermissionDenied,
            format!(
                "{service} bound to {} (not loopback) needs TLS (--tls-cert FILE --tls-key FILE, \
                 or --tls-self-signed): without it tokens and data cross the network in clear text",
                self.bind.ip()
            ),
        ))
    }
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            bind: SocketAddr::from(([127, 0, 0, 1], 8080)),
            backlog: 1024,
            max_conns: 1024,
            limits: Limits::DEFAULT,
            buffer_size: 16 * 1024,
            idle_timeout: Some(Duration::from_secs(300)),
            frame_timeout: Some(Duration::from_secs(30)),
            min_rate: 1024,
            write_timeout: Some(Duration::from_secs(30)),
            nodelay: true,
            shutdown_grace: Duration::from_secs(30),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }
}

/// A bound server running `Svc` (a built-in service from [`services`](crate::services),
/// or your own [`Service`]), ready to [`run`](Server::run).
#[derive(Debug)]
pub struct Server<Svc: Service> {
    listener: TcpListener,
    local: SocketAddr,
    cfg: ServerConfig,
    handler: Arc<Handler<Svc>>,
}

impl<Svc: Service> Server<Svc> {
    /// Binds the listening socket (SO_REUSEADDR, so a restart binds at once; the backlog
    /// from the config). Must be called inside a tokio runtime.
    ///
    /// Fails if the service cannot run as configured ([`Service::prepare`]): exec bound
    /// to a non-loopback address without a token, files with a root that is not a
    /// directory.
    pub async fn bind(cfg: ServerConfig, service: Svc) -> io::Result<Server<Svc>> {
        let handler = Arc::new(Handler::new(&cfg, service)?);
        let socket = Socket::new(
            Domain::for_address(cfg.bind),
            Type::STREAM,
            Some(Protocol::TCP),
        )?;
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&cfg.bind.into())?;
        socket.listen(i32::try_from(cfg.backlog).unwrap_or(i32::MAX))?;
        let listener = TcpListener::from_std(socket.into())?;
        let local = listener.local_addr()?;
        Ok(Server {
            listener,
            local,
            cfg,
            handler,
        })
    }

    /// The address actually bound (with the real port when the config said 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.local
    }

    /// The server's counters (reads, batched writes, frames, connections), live.
    pub fn stats(&self) -> Arc<ServerStats> {
        self.handler.stats()
    }

    /// Serves until Ctrl-C, then shuts down gracefully (see [`Server::run_until`]). A
    /// second Ctrl-C exits the process at once with status 130.
    pub async fn run(self) -> io::Result<()> {
        let (tx, rx) = oneshot::channel::<()>();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_err() {
                return;
            }
            tracing::info!("Ctrl-C: no longer accepting, finishing frames in flight");
            let _ = tx.send(());
            if tokio::signal::ctrl_c().await.is_ok() {
                eprintln!("second Ctrl-C: exiting now");
                std::process::exit(130);
            }
        });
        self.run_until(async {
            let _ = rx.await;
        })
        .await
    }

    /// Serves until `shutdown` completes; then stops accepting (the listening socket is
    /// closed at once), lets every connection finish the frame it is in and answer what it
    /// has received, and returns once all have closed or the grace period is over.
    pub async fn run_until(self, shutdown: impl Future<Output = ()>) -> io::Result<()> {
        let Server {
            listener,
            local,
            cfg,
            handler,
        } = self;
        let stats = handler.stats();
        tracing::info!(%local, service = handler.service_name(), "listening");
        // Every connection task holds a sender; `recv` returns `None` once all are gone.
        let (alive_tx, mut alive_rx) = mpsc::channel::<()>(1);
        let slots = Arc::new(Semaphore::new(cfg.max_conns));
        // Refusals that may linger (drain the newcomer's input so the error frame is not
        // destroyed by a reset): capped, so a flood past max-conns cannot pile up sockets.
        let lingering = Arc::new(Semaphore::new(MAX_LINGERING_REFUSALS));
        tokio::pin!(shutdown);
        loop {
            let (stream, peer) = tokio::select! {
                _ = &mut shutdown => break,
                r = listener.accept() => match r {
                    Ok(pair) => pair,
                    Err(e) => {
                        // Out of descriptors or a connection reset while queued: wait a
                        // little rather than spin, and keep serving the others.
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                },
            };
            if cfg.nodelay {
                let _ = stream.set_nodelay(true);
            }
            let Ok(permit) = slots.clone().try_acquire_owned() else {
                tracing::info!(%peer, "busy: refusing connection");
                stats.count_busy();
                let linger = lingering.clone().try_acquire_owned().ok();
                #[cfg(feature = "tls")]
                if let Some(tls) = &cfg.tls {
                    let frame = busy_frame(cfg.max_conns);
                    tokio::spawn(crate::tls::refuse_busy(
                        stream,
                        peer,
                        tls.clone(),
                        frame,
                        linger,
                    ));
                    continue;
                }
                tokio::spawn(refuse_busy(stream, cfg.max_conns, linger));
                continue;
            };
            tracing::debug!(%peer, "connected");
            stats.count_accepted();
            let handler = handler.clone();
            let alive = alive_tx.clone();
            #[cfg(feature = "tls")]
            let tls = cfg.tls.clone();
            #[cfg(not(feature = "tls"))]
            let tls = None;
            tokio::spawn(async move {
                serve_connection(&handler, stream, peer, tls).await;
                tracing::debug!(%peer, "closed");
                drop(permit);
                drop(alive);
            });
        }
        drop(listener);
        handler.shutdown();
        drop(alive_tx);
        if tokio::time::timeout(cfg.shutdown_grace, alive_rx.recv())
            .await
            .is_err()
        {
            tracing::warn!("shutdown grace period over, closing remaining connections");
        }
        tracing::info!("server stopped");
        Ok(())
    }

    /// Binds and runs the server on a thread of its own (a single-threaded tokio runtime),
    /// for tests, benchmarks and programs that are not async. Stops when the handle is
    /// stopped or dropped.
    pub fn spawn_thread(cfg: ServerConfig, service: Svc) -> io::Result<ServerHandle> {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let thread = std::thread::Builder::new()
            .name("sockframe-server".into())
            .spawn(move || -> io::Result<()> {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    match Server::bind(cfg, service).await {
                        Ok(server) => {
                            let _ = addr_tx.send(Ok((server.local_addr(), server.stats())));
                            server
                                .run_until(async {
                                    let _ = stop_rx.await;
                                })
                                .await
                        }
                        Err(e) => {
                            let _ = addr_tx.send(Err(e));
                            Ok(())
                        }
                    }
                })
            })?;
        let (addr, stats) = addr_rx
            .recv()
            .map_err(|_| io::Error::other("server thread died before binding"))??;
        Ok(ServerHandle {
            addr,
            stats,
            stop: Some(stop_tx),
            thread: Some(thread),
        })
    }
}

/// A server running on its own thread, from [`Server::spawn_thread`].
#[derive(Debug)]
pub struct ServerHandle {
    addr: SocketAddr,
    stats: Arc<ServerStats>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<io::Result<()>>>,
}

impl ServerHandle {
    /// The address the server listens on.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The server's counters, live.
    pub fn stats(&self) -> &ServerStats {
        &self.stats
    }

    /// Shuts the server down gracefully and waits until it has stopped.
    pub fn stop(mut self) -> io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(r)) => r,
            Some(Err(_)) => Err(io::Error::other("server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for ServerHandle {
    /// Asks the server to stop without waiting (a connection still open elsewhere could
    /// hold the thread for the whole grace period).
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Busy refusals allowed to linger at once; beyond this a refusal writes its error frame
/// without waiting and closes at once (measured: 3,000 unread refusals held 3,012
/// descriptors for about 2 s before this cap).
const MAX_LINGERING_REFUSALS: usize = 64;

/// The error frame a connection beyond `max_conns` gets.
fn busy_frame(max_conns: usize) -> Vec<u8> {
    let mut out = Vec::new();
    let msg = format!("server busy: all {max_conns} connection slots in use, try again later");
    push_error(&mut out, 0, "busy", &msg);
    out
}

/// Tells a connection beyond `max_conns` why it is not served, then closes it: gracefully
/// while holding a `linger` permit, else at once (the frame is written if the socket takes
/// it without waiting, which a fresh socket does; a reset may still beat it to a peer that
/// sent bytes meanwhile).
/// The TLS settings a connection is served with (none without the `tls` feature).
#[cfg(feature = "tls")]
type TlsSettings = Option<crate::tls::TlsServerConfig>;
#[cfg(not(feature = "tls"))]
type TlsSettings = Option<std::convert::Infallible>;

/// One accepted connection, served to its end: the future every connection's task holds
/// for as long as the connection lives, idle or not. A TLS connection's handshake and
/// session (several KiB) are boxed, so that a plain connection's task has no room for them
/// (an idle connection costs its task's size: issue 9 keeps it under 4 KiB).
pub(crate) async fn serve_connection<Svc: Service>(
    handler: &Handler<Svc>,
    stream: TcpStream,
    peer: SocketAddr,
    tls: TlsSettings,
) {
    match tls {
        #[cfg(feature = "tls")]
        // The handshake runs here, not in the accept loop: a slow client must not hold up
        // the others.
        Some(tls) => {
            Box::pin(async move {
                if let Some(stream) = crate::tls::accept(stream, peer, &tls).await {
                    handler.serve(stream, peer).await;
                }
            })
            .await
        }
        #[cfg(not(feature = "tls"))]
        Some(never) => match never {},
        None => handler.serve(stream, peer).await,
    }
}

async fn refuse_busy(
    stream: TcpStream,
    max_conns: usize,
    linger_permit: Option<tokio::sync::OwnedSemaphorePermit>,
) {
    let out = busy_frame(max_conns);
    if linger_permit.is_none() {
        let _ = stream.try_write(&out);
        // Take what the newcomer already sent (a first request), without waiting: closing
        // with unread input would send a reset instead of a FIN after the frame.
        let mut sink = [0u8; 1024];
        for _ in 0..64 {
            if !matches!(stream.try_read(&mut sink), Ok(n) if n > 0) {
                break;
            }
        }
        return;
    }
    let mut io = embedded_io_adapters::tokio_1::FromTokio::new(stream);
    let write = embedded_io_async::Write::write_all(&mut io, &out);
    if tokio::time::timeout(Duration::from_secs(2), write)
        .await
        .is_ok()
    {
        linger(io.into_inner()).await;
    }
}
