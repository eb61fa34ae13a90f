//! The key/value store ([`crate::kv`]) served by the desktop server and used through its
//! typed client: every operation, each refusal as a typed error, 100 concurrent writes on
//! the one connection, and a value too large for the server refused without ending the
//! connection.

use crate::kv::{KvClient, KvError, KvStore};
use crate::{Log, Result};
use sockframe::Kind;
use sockframe_std::async_client::AsyncClient;
use sockframe_std::codec::BytesFrame;
use sockframe_std::{Server, ServerConfig};

/// What the session saw: one line per step, `what -> result`.
#[derive(Debug, Default)]
pub struct Outcome {
    /// The steps in order.
    pub steps: Vec<(String, String)>,
    /// Keys in the store at the end.
    pub keys_at_end: usize,
}

impl Outcome {
    fn step(&mut self, log: &Log, what: &str, result: String) {
        log.say("client", format!("{what} -> {result}"));
        self.steps.push((what.to_owned(), result));
    }

    /// The result of the step named `what`.
    pub fn result(&self, what: &str) -> Option<&str> {
        self.steps
            .iter()
            .find(|(w, _)| w == what)
            .map(|(_, r)| r.as_str())
    }
}

fn show<T: std::fmt::Debug>(r: std::result::Result<T, KvError>) -> String {
    match r {
        Ok(v) => format!("ok {v:?}"),
        Err(KvError::NotFound(m)) => format!("NotFound({m})"),
        Err(KvError::Refused { code, message }) => format!("Refused[{code}]({message})"),
        Err(KvError::Client(e)) => format!("Client({e})"),
    }
}

/// Starts the store on a free loopback port and runs the session against it.
pub fn run(log: &Log) -> Result<Outcome> {
    let store = KvStore::default();
    let cfg = ServerConfig {
        bind: "127.0.0.1:0".parse()?,
        ..ServerConfig::default()
    };
    let server = Server::spawn_thread(cfg, store.clone())?;
    log.say("server", format!("kv store on {}", server.local_addr()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let mut out = rt.block_on(session(server.local_addr(), log))?;
    server.stop()?;
    out.keys_at_end = store.len();
    Ok(out)
}

async fn session(addr: std::net::SocketAddr, log: &Log) -> Result<Outcome> {
    let kv = KvClient::new(AsyncClient::connect(addr).await?);
    let mut out = Outcome::default();
    let utf8 = |v: Vec<u8>| String::from_utf8_lossy(&v).into_owned();

    out.step(log, "put color=blue", show(kv.put("color", b"blue").await));
    out.step(
        log,
        "put color=green",
        show(kv.put("color", b"green").await),
    );
    out.step(log, "get color", show(kv.get("color").await.map(utf8)));

    // 100 writes in flight at once over the one connection, then read back.
    let writes = (0..100).map(|i| {
        let kv = kv.clone();
        async move { kv.put(&format!("k{i}"), format!("v{i}").as_bytes()).await }
    });
    let written = futures_util::future::join_all(writes).await;
    let all_new = written.iter().all(|r| matches!(r, Ok(false)));
    out.step(
        log,
        "put k0..k99 concurrently",
        format!("all new: {all_new}"),
    );
    let mut read_back = 0;
    for i in 0..100 {
        if kv.get(&format!("k{i}")).await? == format!("v{i}").as_bytes() {
            read_back += 1;
        }
    }
    out.step(log, "get k0..k99", format!("{read_back} match"));

    out.step(log, "delete color", show(kv.delete("color").await));
    out.step(
        log,
        "get color again",
        show(kv.get("color").await.map(utf8)),
    );
    out.step(log, "delete nope", show(kv.delete("nope").await));
    out.step(log, "put with no key", show(kv.put("", b"x").await));
    let long_key = "k".repeat(300);
    out.step(
        log,
        "put a 300-byte key",
        show(kv.put(&long_key, b"x").await),
    );
    let odd = BytesFrame::new(Kind(120), 0, &b""[..]).with_name("color");
    out.step(
        log,
        "kind 120",
        show(kv.raw(odd).await.map(|f| f.head.kind.0)),
    );
    let big = vec![7u8; 100_000];
    out.step(log, "put a 100 KB value", show(kv.put("big", &big).await));
    out.step(
        log,
        "get k7 after all that",
        show(kv.get("k7").await.map(utf8)),
    );
    Ok(out)
}
