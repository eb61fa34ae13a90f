//! The same key/value store ([`crate::kv`]) reached without the async client: tokio-util's
//! `Framed<TcpStream, FrameCodec>` sends frames and yields owned replies
//! ([`BytesFrame`]). The application picks the ids itself and matches replies in order
//! (it has one request in flight at a time here; with more, match on `head.id`).

use crate::kv::{DELETE, GET, KvStore, PUT};
use crate::{Log, Result};
use futures_util::{SinkExt, StreamExt};
use sockframe::Kind;
use sockframe_std::codec::{BytesFrame, FrameCodec};
use sockframe_std::{Server, ServerConfig};
use tokio::net::TcpStream;
use tokio_util::codec::Framed;

/// One exchange: the request's kind and key, and the reply's kind, id and text (for an
/// error: its code and message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exchange {
    /// `GET color`, `PUT color`, ...
    pub request: String,
    /// The id the application gave the request.
    pub id: u32,
    /// The reply's id.
    pub reply_id: u32,
    /// `VALUE green`, `DONE`, `ERROR not-found: no key "color"`.
    pub reply: String,
}

/// Starts the store on a free loopback port and talks to it through `Framed`.
pub fn run(log: &Log) -> Result<Vec<Exchange>> {
    let cfg = ServerConfig {
        bind: "127.0.0.1:0".parse()?,
        ..ServerConfig::default()
    };
    let server = Server::spawn_thread(cfg, KvStore::default())?;
    log.say("server", format!("kv store on {}", server.local_addr()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let out = rt.block_on(session(server.local_addr(), log))?;
    server.stop()?;
    Ok(out)
}

async fn session(addr: std::net::SocketAddr, log: &Log) -> Result<Vec<Exchange>> {
    let mut framed = Framed::new(TcpStream::connect(addr).await?, FrameCodec::new());
    let requests = [
        (PUT, "color", "green"),
        (GET, "color", ""),
        (DELETE, "color", ""),
        (GET, "color", ""),
    ];
    let mut out = Vec::new();
    for (n, (kind, key, value)) in requests.into_iter().enumerate() {
        let id = 10 + n as u32;
        let request = BytesFrame::new(kind, id, value.as_bytes().to_vec()).with_name(key);
        framed.send(request).await?;
        let reply = framed
            .next()
            .await
            .ok_or("server closed the connection")??;
        let text = match reply.error() {
            Some((code, message)) => format!("ERROR {code}: {message}"),
            None if reply.head.kind == Kind(110) => format!("VALUE {}", reply.text()),
            None => "DONE".to_owned(),
        };
        let name = match kind {
            PUT => "PUT",
            GET => "GET",
            _ => "DELETE",
        };
        let exchange = Exchange {
            request: format!("{name} {key}"),
            id,
            reply_id: reply.head.id,
            reply: text,
        };
        log.say(
            "client",
            format!(
                "{} (id {id}) -> {} (id {})",
                exchange.request, exchange.reply, exchange.reply_id
            ),
        );
        out.push(exchange);
    }
    Ok(out)
}
