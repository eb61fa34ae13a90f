//! An application on the async client: 1,000 requests in flight at once over one
//! connection, each reply matched to its request by id (the header's `id`, allocated by the
//! client), against the library's echo server.
//!
//! ```text
//!   1,000 futures ──> AsyncClient ══ one TCP connection ══> echo server (sockframe-std)
//!   reply id 17 <─────────┘  (replies come back in any order; the id finds the waiter)
//! ```

use crate::{Log, Result};
use sockframe_std::async_client::{AsyncClient, AsyncClientError};
use sockframe_std::codec::BytesFrame;
use sockframe_std::services::Echo;
use sockframe_std::{Server, ServerConfig};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

/// Requests fired at once.
pub const REQUESTS: usize = 1_000;

/// What the run saw.
#[derive(Debug)]
pub struct Outcome {
    /// Replies whose payload was their own request's.
    pub matched: usize,
    /// The most requests seen waiting for their reply at one moment.
    pub peak_in_flight: usize,
    /// The ping's round trip, after the burst.
    pub ping: Duration,
    /// Time for the whole burst.
    pub elapsed: Duration,
}

/// Starts an echo server on a free loopback port and runs [`fire`] against it.
pub fn run(log: &Log) -> Result<Outcome> {
    let cfg = ServerConfig {
        bind: "127.0.0.1:0".parse()?,
        ..ServerConfig::default()
    };
    let server = Server::spawn_thread(cfg, Echo)?;
    log.say("server", format!("echo on {}", server.local_addr()));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let outcome = rt.block_on(fire(server.local_addr(), log))?;
    server.stop()?;
    Ok(outcome)
}

/// One connection, [`REQUESTS`] requests in flight at once, every reply checked.
pub async fn fire(addr: SocketAddr, log: &Log) -> Result<Outcome> {
    let client = AsyncClient::connect(addr).await?;
    log.say(
        "client",
        format!("connected to {addr}; firing {REQUESTS} requests"),
    );
    let started = Instant::now();
    // Every request is its own task, as in an application where many tasks share the one
    // connection; the client interleaves them and hands each its own reply.
    let tasks: Vec<_> = (0..REQUESTS)
        .map(|i| {
            let client = client.clone();
            tokio::spawn(async move {
                let body = format!("request {i}");
                let reply = client.request(BytesFrame::data(0, body.clone())).await?;
                Ok::<_, AsyncClientError>(reply.text() == body)
            })
        })
        .collect();
    // Meanwhile, look at how many wait for their reply at once.
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (client, done) = (client.clone(), done.clone());
        tokio::spawn(async move {
            let mut peak = 0;
            while !done.load(Ordering::Relaxed) {
                peak = peak.max(client.in_flight());
                tokio::task::yield_now().await;
            }
            peak
        })
    };
    let mut matched = 0;
    for task in tasks {
        matched += usize::from(task.await??);
    }
    done.store(true, Ordering::Relaxed);
    let peak_in_flight = sampler.await?;
    let elapsed = started.elapsed();
    log.say(
        "client",
        format!("{matched} of {REQUESTS} replies matched their request in {elapsed:.2?}"),
    );
    let ping = client.ping().await?;
    log.say("client", format!("ping: {ping:.2?}"));
    Ok(Outcome {
        matched,
        peak_in_flight,
        ping,
        elapsed,
    })
}
