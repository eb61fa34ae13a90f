//! Serving one connection, whatever it runs on: what a [`Server`](crate::Server) does with
//! each accepted socket, usable on its own for any [`Transport`].

use crate::conn::{Close, Connection, Shared, Timeouts};
use crate::server::ServerConfig;
use crate::service::Service;
use crate::stats::ServerStats;
use crate::transport::Transport;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// One service with its settings, buffer pool, counters and deadline watchdog, serving
/// connections one call at a time (each call is one connection, run it in its own task).
///
/// ```
/// use sockframe_std::services::Echo;
/// use sockframe_std::{Handler, MemStream, ServerConfig};
/// use tokio::io::{AsyncReadExt, AsyncWriteExt};
///
/// # tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
/// let handler = Handler::new(&ServerConfig::default(), Echo).unwrap();
/// let (mut client, server_end) = MemStream::pair(64 * 1024);
/// let peer = "127.0.0.1:1".parse().unwrap();
/// let serving = tokio::spawn(async move { handler.serve(server_end, peer).await });
///
/// let mut frame = Vec::new();
/// sockframe_std::wire::push_frame(&mut frame, &sockframe::Header::new(sockframe::Kind::DATA, 1, 2), b"hi").unwrap();
/// client.write_all(&frame).await.unwrap();
/// client.shutdown().await.unwrap();
/// let mut echoed = Vec::new();
/// client.read_to_end(&mut echoed).await.unwrap();
/// assert_eq!(echoed, frame);
/// serving.await.unwrap();
/// # });
/// ```
pub struct Handler<Svc> {
    service: Svc,
    shared: Arc<Shared>,
    stop: watch::Sender<bool>,
}

impl<Svc: Service> Handler<Svc> {
    /// Checks that `service` can run as `cfg` says ([`Service::prepare`]: exec bound to a
    /// non-loopback address needs a token, files needs a directory) and starts the watchdog
    /// thread that enforces the timeouts. Only the connection settings of `cfg` are used,
    /// not `bind` or `backlog`.
    pub fn new(cfg: &ServerConfig, mut service: Svc) -> io::Result<Handler<Svc>> {
        service.prepare(cfg)?;
        let timeouts = Timeouts {
            idle: cfg.idle_timeout,
            frame: cfg.frame_timeout,
            min_rate: cfg.min_rate,
            write: cfg.write_timeout,
        };
        let shared = Arc::new(Shared::new(
            cfg.limits,
            cfg.buffer_size.max(64),
            timeouts,
            Arc::default(),
        ));
        let (stop, _) = watch::channel(false);
        Ok(Handler {
            service,
            shared,
            stop,
        })
    }

    /// The service's name ([`Service::name`]).
    pub fn service_name(&self) -> &str {
        self.service.name()
    }

    /// The counters of every connection served so far, live.
    pub fn stats(&self) -> Arc<ServerStats> {
        self.shared.stats.clone()
    }

    /// Serves one connection until it ends. `peer` names it in logs and chat notes.
    pub async fn serve<S: Transport>(&self, stream: S, peer: SocketAddr) {
        let mut conn = Connection::new(stream, peer, self.shared.clone(), self.stop.subscribe());
        let close = match self.service.serve(&mut conn).await {
            Ok(()) => Close::Quiet,
            Err(close) => close,
        };
        // Boxed: closing happens once, and its future (a drain buffer, a timer) would
        // otherwise be part of every idle connection's task.
        Box::pin(conn.close(close)).await;
    }

    /// Asks every connection to end once it sits between frames (with a `shutdown` error
    /// frame); frames in flight are finished first.
    pub fn shutdown(&self) {
        self.stop.send_replace(true);
    }
}

impl<Svc: Service> std::fmt::Debug for Handler<Svc> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Handler")
            .field("service", &self.service.name())
            .finish()
    }
}
