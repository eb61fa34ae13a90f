//! Benchmark: an echo written as a user writes a service, on the public
//! [`Service`](sockframe_std::Service) trait (`buffered_event` for what has arrived,
//! `read_more` when nothing has), run by the library's [`Server`] with the same settings as
//! `sockframe serve`. Compared with the built-in echo, it shows what the trait costs a
//! user.
//!
//! `cargo run --release -p sockframe-std --example bench_trait_echo -- --bind 127.0.0.1:0`
//! prints `bench_trait_echo: listening on ADDR` on stderr once bound; talk to it with
//! `sockframe bench ADDR`. Used by `cargo xtask bench-server`.

use clap::Parser;
use sockframe::Event;
use sockframe_std::{Close, Connection, Server, ServerConfig, Service, Transport};
use std::io;
use std::net::SocketAddr;

#[derive(Parser)]
#[command(about = "echo on the public Service trait (benchmark)")]
struct Args {
    /// Address to listen on (port 0 picks a free port; the real address is printed).
    #[arg(long, default_value = "127.0.0.1:9002")]
    bind: SocketAddr,
}

/// Every frame back, as the user writes it.
struct UserEcho;

impl Service for UserEcho {
    fn name(&self) -> &str {
        "user echo"
    }

    async fn serve<S: Transport>(&self, conn: &mut Connection<S>) -> Result<(), Close> {
        // Replies queue up while events are at hand; the connection writes them in one go
        // before it waits for more input.
        loop {
            let queued = conn.buffered_event()?.map(|mut incoming| {
                let _ = match incoming.event {
                    Event::Frame(f) => incoming.reply.frame(&f.header.echo_reply(), f.payload),
                    Event::Start(h) => incoming.reply.head(&h.echo_reply(), h.len),
                    Event::Chunk(bytes) => {
                        incoming.reply.body(bytes);
                        Ok(())
                    }
                    Event::End => Ok(()),
                    Event::Abort(a) => incoming.reply.frame(&a.header, a.payload),
                };
                incoming.reply.queued()
            });
            match queued {
                Some(q) if q >= Connection::<S>::FLUSH_AT => conn.flush().await?,
                Some(_) => {}
                None => {
                    if !conn.read_more().await? {
                        break;
                    }
                }
            }
        }
        Ok(())
    }
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let cfg = ServerConfig {
        bind: args.bind,
        // As `cargo xtask bench-server` starts `sockframe serve`.
        max_conns: 100_000,
        ..ServerConfig::default()
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let server = Server::bind(cfg, UserEcho).await?;
        eprintln!("bench_trait_echo: listening on {}", server.local_addr());
        server.run().await
    })
}
