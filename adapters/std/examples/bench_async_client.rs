//! Benchmark load generator: the [`AsyncClient`] over one connection with `--in-flight`
//! requests outstanding at all times (that many tasks, each sending its next request as
//! soon as its reply is in), every reply checked byte for byte against its request.
//! Payloads are made with `sockframe bench`'s recipe and latencies sorted as it sorts them,
//! so the two load generators do the same work around each request: each payload is
//! filled into a buffer and copied once into the client's outbox
//! ([`AsyncClient::request_with`], as `sockframe bench` copies it into its output), and
//! each latency takes one clock read (the reply's time is the next request's start, as
//! `sockframe bench` stamps a burst of requests with one clock read).
//!
//! `cargo run --release -p sockframe-std --example bench_async_client -- ADDR --in-flight 64`
//! prints one line in `sockframe bench`'s format (`N msgs in T s: X msgs/s, ...`), so
//! `cargo xtask bench-apps` reads both alike. Runs on a current-thread runtime: one
//! thread, pinned by the caller.

use clap::Parser;
use sockframe::{Header, Kind};
use sockframe_std::async_client::{AsyncClient, AsyncClientConfig};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
#[command(about = "async client load generator (benchmark)")]
struct Args {
    /// Server address (any sockframe echo).
    addr: String,
    /// Payload bytes per request.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Requests outstanding at once on the one connection.
    #[arg(long, default_value_t = 64)]
    in_flight: usize,
    /// Per-request timeout in seconds (0: none). The client's default is 30 s.
    #[arg(long, default_value_t = 30.0)]
    timeout: f64,
    /// Seconds to run.
    #[arg(long, default_value_t = 5.0)]
    duration: f64,
    /// Connect over TLS, trusting the server whose certificate has this SHA-256
    /// fingerprint (`sockframe serve --tls-self-signed` prints it).
    #[arg(long, value_name = "SHA256")]
    tls_fingerprint: Option<String>,
}

/// The payload of request `n` of task `task`, into `buf`: one that differs per request, so
/// a reply matched to the wrong request shows (`sockframe bench`'s `fill`, seeded by both).
fn fill(task: usize, n: u64, buf: &mut [u8]) {
    let seed = ((task as u32) << 22 ^ n as u32).wrapping_mul(2_654_435_761);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (seed >> ((i & 3) * 8)) as u8 ^ i as u8;
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args = Args::parse();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let config = AsyncClientConfig {
            timeout: (args.timeout > 0.0).then(|| Duration::from_secs_f64(args.timeout)),
            ..AsyncClientConfig::default()
        };
        let client = match &args.tls_fingerprint {
            Some(fp) => {
                let tls = sockframe_std::tls::TlsClientConfig::pinned(fp)?;
                AsyncClient::connect_tls_with(&args.addr, &tls, config).await?
            }
            None => {
                let stream = tokio::net::TcpStream::connect(&args.addr).await?;
                stream.set_nodelay(true)?;
                AsyncClient::with_config(stream, config)
            }
        };
        let start = Instant::now();
        // One timer stops every task (rather than a clock read per request).
        let stop = Arc::new(AtomicBool::new(false));
        tokio::spawn({
            let stop = stop.clone();
            async move {
                tokio::time::sleep(Duration::from_secs_f64(args.duration)).await;
                stop.store(true, Ordering::Relaxed);
            }
        });
        let tasks: Vec<_> = (0..args.in_flight.max(1))
            .map(|task| {
                let (client, stop) = (client.clone(), stop.clone());
                tokio::spawn(async move {
                    // Room for the first latencies: with 1,024 tasks, a few dozen requests
                    // each under valgrind, growing 1,024 vectors from empty is a realloc
                    // every few requests (`sockframe bench` grows one vector).
                    let mut latencies = Vec::with_capacity(256);
                    let mut sent = vec![0u8; args.size];
                    let header = Header::new(Kind::DATA, 0, sent.len() as u64);
                    let mut n = 0u64;
                    let mut t0 = Instant::now();
                    while !stop.load(Ordering::Relaxed) {
                        fill(task, n, &mut sent);
                        let reply = client.request_with(&header, &sent).await?;
                        if reply.payload != sent {
                            return Err(format!("request {n} of task {task}: wrong reply").into());
                        }
                        let t1 = Instant::now();
                        latencies.push(t1 - t0);
                        t0 = t1;
                        n += 1;
                    }
                    Ok::<_, Box<dyn std::error::Error + Send + Sync>>(latencies)
                })
            })
            .collect();
        let mut each = Vec::with_capacity(tasks.len());
        for t in tasks {
            each.push(t.await?.map_err(|e| e.to_string())?);
        }
        let mut latencies = each.concat();
        let elapsed = start.elapsed();
        latencies.sort_unstable();
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
        let msgs = latencies.len();
        println!(
            "AsyncClient{} size {} in-flight {}: {} msgs in {:.2} s: {:.0} msgs/s, {:.2} MiB/s, latency p50 {:?} p99 {:?} (all bytes verified)",
            if args.tls_fingerprint.is_some() { " over TLS" } else { "" },
            args.size,
            args.in_flight,
            msgs,
            elapsed.as_secs_f64(),
            msgs as f64 / elapsed.as_secs_f64(),
            (msgs * args.size) as f64 / (1024.0 * 1024.0) / elapsed.as_secs_f64(),
            at(0.5),
            at(0.99)
        );
        Ok(())
    })
}
