//! chat: the lesson's turn-taking conversation between one client and the operator.
//!
//! The client sends a [`Kind::DATA`] line; the operator sees it and types a reply, sent
//! back as `DATA` with the same id. An empty reply ends the session ([`kinds::CHAT_END`])
//! and the next client gets its turn. Clients arriving meanwhile are accepted and wait in
//! a first-come first-served queue; they are not refused.

use crate::conn::{Close, Connection, shutdown_close};
use crate::kinds;
use crate::service::Service;
use crate::transport::Transport;
use sockframe::{Header, Kind};
use std::net::SocketAddr;
use tokio::sync::{Mutex, mpsc};

/// What the operator is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChatNote<'a> {
    /// A client's session begins.
    Joined(SocketAddr),
    /// The client said this; a reply is expected.
    Message(SocketAddr, &'a str),
    /// The session is over.
    Left(SocketAddr),
}

/// The operator's side: replies come in on a channel, notes go out to a callback.
type Notes = Box<dyn FnMut(ChatNote<'_>) + Send>;

struct Operator {
    replies: mpsc::Receiver<String>,
    notes: Notes,
}

/// The chat service. The operator holds the other ends: it sends one reply per message
/// (an empty one ends the session) and is told what happens through `notes`.
pub struct Chat {
    /// tokio's mutex is fair, so its wait list is the queue of clients.
    operator: Mutex<Operator>,
}

impl Chat {
    /// A chat fed by `replies` (one per client message; empty, or the channel closing,
    /// ends the session) that reports to `notes`.
    pub fn new(
        replies: mpsc::Receiver<String>,
        notes: impl FnMut(ChatNote<'_>) + Send + 'static,
    ) -> Chat {
        Chat {
            operator: Mutex::new(Operator {
                replies,
                notes: Box::new(notes),
            }),
        }
    }
}

impl Service for Chat {
    fn name(&self) -> &str {
        "chat"
    }

    /// Serves one connection: waits for its turn, then converses until either side ends.
    async fn serve<S: Transport>(&self, conn: &mut Connection<S>) -> Result<(), Close> {
        let peer = conn.peer();
        let mut op = match self.operator.try_lock() {
            Ok(op) => op,
            Err(_) => {
                // The operator is busy with the current session: only the log hears of it.
                tracing::info!(%peer, "chat client queued");
                tokio::select! {
                    op = self.operator.lock() => op,
                    _ = conn.shutdown_requested() => return Err(shutdown_close()),
                }
            }
        };
        (op.notes)(ChatNote::Joined(peer));
        let result = converse(&mut op, conn).await;
        (op.notes)(ChatNote::Left(peer));
        // The session's turn ends (the lock is dropped on return) before the goodbye is
        // written, so the next client waits for nothing but the operator.
        result
    }
}

/// One client's session with the operator, until either side ends it.
async fn converse<S: Transport>(op: &mut Operator, conn: &mut Connection<S>) -> Result<(), Close> {
    let peer = conn.peer();
    while let Some(frame) = conn.read_request().await? {
        let mut out = conn.replies();
        match frame.kind {
            Kind::PING => {
                let _ = out.frame(&Header::new(Kind::PONG, frame.id, 0), &frame.payload);
            }
            Kind::DATA => {
                // Lines typed while nobody was asking belong to no one.
                while op.replies.try_recv().is_ok() {}
                (op.notes)(ChatNote::Message(peer, &frame.text()));
                let replies = &mut op.replies;
                let reply = tokio::select! {
                    r = replies.recv() => r,
                    _ = conn.client_gone() => return Ok(()),
                };
                let mut out = conn.replies();
                match reply {
                    Some(reply) if !reply.is_empty() => {
                        let _ = out.frame(&Header::new(Kind::DATA, frame.id, 0), reply.as_bytes());
                    }
                    _ => {
                        let end = Header::new(kinds::CHAT_END, frame.id, 0);
                        let _ = out.frame(&end, b"session ended by the server");
                        return Ok(());
                    }
                }
            }
            other => out.error(
                frame.id,
                "unsupported",
                format_args!("the chat service does not handle kind {}", other.0),
            ),
        }
        conn.flush().await?;
    }
    Ok(())
}

impl std::fmt::Debug for Chat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Chat")
    }
}
