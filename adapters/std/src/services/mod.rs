//! The services a [`Server`](crate::Server) can run, one per server.
//!
//! Each service is a loop over one connection's frames; the frame kinds each uses are
//! listed in the crate documentation and in [`kinds`](crate::kinds).

pub mod chat;
pub(crate) mod echo;
#[cfg(feature = "exec")]
pub mod exec;
#[cfg(feature = "files")]
pub mod files;
#[cfg(feature = "files")]
pub(crate) mod safe_path;

pub use chat::{Chat, ChatNote};
#[cfg(feature = "exec")]
pub use exec::ExecConfig;
#[cfg(feature = "files")]
pub use files::FilesConfig;

use crate::ServerConfig;
use crate::conn::Conn;
use crate::transport::Transport;
use std::io;

/// What a server does with its connections.
pub enum Service {
    /// Every frame back unchanged: the same service as the board.
    Echo,
    /// Turn-taking conversation with an operator; one client at a time, others queue.
    Chat(Chat),
    /// Remote commands. Off unless chosen; see [`ExecConfig`]. Cargo feature `exec`.
    #[cfg(feature = "exec")]
    Exec(ExecConfig),
    /// Upload and download inside one directory; see [`FilesConfig`]. Cargo feature
    /// `files`.
    #[cfg(feature = "files")]
    Files(FilesConfig),
}

impl Service {
    /// The service's name as the command line spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Service::Echo => "echo",
            Service::Chat(_) => "chat",
            #[cfg(feature = "exec")]
            Service::Exec(_) => "exec",
            #[cfg(feature = "files")]
            Service::Files(_) => "files",
        }
    }

    /// Checks that the service can run with `server` and settles what it needs (the
    /// canonical files root), before anything is bound.
    #[cfg_attr(not(feature = "exec"), allow(unused_variables))]
    pub(crate) fn prepare(self, server: &ServerConfig) -> io::Result<Service> {
        Ok(match self {
            #[cfg(feature = "exec")]
            Service::Exec(cfg) => Service::Exec(cfg.prepare(server.bind)?),
            #[cfg(feature = "files")]
            Service::Files(cfg) => Service::Files(cfg.prepare()?),
            other => other,
        })
    }

    /// Serves one connection until it ends.
    pub(crate) async fn serve<S: Transport>(&self, conn: Conn<S>) {
        // Only echo runs unboxed: it is the service that holds 10,000 idle connections, and
        // a task's size is its largest future, so the others must not inflate it.
        match self {
            Service::Echo => echo::serve(conn).await,
            Service::Chat(chat) => Box::pin(chat.serve(conn)).await,
            #[cfg(feature = "exec")]
            Service::Exec(cfg) => Box::pin(exec::serve(cfg, conn)).await,
            #[cfg(feature = "files")]
            Service::Files(cfg) => Box::pin(files::serve(cfg, conn)).await,
        }
    }
}

impl std::fmt::Debug for Service {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conn::{Shared, Timeouts};
    use std::sync::Arc;

    /// An idle connection's memory is mostly its task, and a task is as large as its
    /// future: keep the echo connection's future small (the target is 8 KiB per idle
    /// connection, sockets and bookkeeping included).
    #[test]
    fn echo_connection_future_is_small() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (stream, peer) = listener.accept().await.unwrap();
            let timeouts = Timeouts {
                idle: None,
                frame: None,
                min_rate: 0,
                write: None,
            };
            let shared = Arc::new(Shared::new(
                sockframe::Limits::DEFAULT,
                4096,
                timeouts,
                Arc::default(),
            ));
            let (_tx, rx) = tokio::sync::watch::channel(false);
            let service = Service::Echo;
            let fut = service.serve(Conn::new(stream, peer, shared, rx));
            let size = std::mem::size_of_val(&fut);
            eprintln!("echo connection future: {size} bytes");
            assert!(size <= 2048, "echo connection future is {size} bytes");
        });
    }
}
