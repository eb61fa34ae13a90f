//! The load generator behind `sockframe bench`: ping-pong or pipelined messages against an
//! echo server, every reply byte verified.
//!
//! Ping-pong: one message in flight per connection; all connections are driven from one
//! thread by a tokio current-thread runtime, one task each (an event loop, like the
//! servers: with a thread per connection, the load generator's thread switches cost more
//! than the server's work, and it measured itself rather than the server). Pipelined: up
//! to `window` messages in flight, written by one thread and read by another (so a window
//! of large messages cannot deadlock on full socket buffers); every batch of credits
//! returned by the reader leaves in one write.
//!
//! Two protocols share these code paths: sockframe `DATA` frames (against `sockframe
//! serve`), and a bare 4-byte big-endian length before each payload
//! ([`Protocol::LengthPrefix`]), which is what the baseline echo servers of the benchmark
//! speak (a thread-per-connection echo and a tokio-util `LengthDelimitedCodec` echo). Both
//! build each batch of requests in one buffer written at once, and read replies through a
//! 64 KiB buffer, so the load generator does the same work for either.

use embedded_io_adapters::tokio_1::FromTokio;
use sockframe::{Decoder, Event, Header, Kind, io_async};
use sockframe_std::wire::push_frame;
use sockframe_std::{Client, ClientError};
use std::collections::VecDeque;
use std::fmt;
use std::io::{BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, mpsc};
use std::time::{Duration, Instant};

/// How frames are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One request, wait for its reply, repeat.
    PingPong,
    /// Up to `window` requests in flight per connection.
    Pipelined,
}

/// What the load generator speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Protocol {
    /// sockframe `DATA` frames (the echo service of `sockframe serve`).
    #[default]
    Sockframe,
    /// A 4-byte big-endian payload length, then the payload; the reply must be the same
    /// bytes. For comparing with plain length-prefix echo servers.
    LengthPrefix,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct BenchConfig {
    /// The echo server.
    pub addr: SocketAddr,
    /// Ping-pong or pipelined.
    pub mode: Mode,
    /// The wire protocol.
    pub protocol: Protocol,
    /// Payload bytes per frame.
    pub size: usize,
    /// Connections (ping-pong: all on one event-loop thread; pipelined: two threads each).
    pub conns: usize,
    /// Frames in flight per connection (pipelined only).
    pub window: usize,
    /// How long to send for (replies still in flight are then awaited).
    pub duration: Duration,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Frames echoed and verified.
    pub messages: u64,
    /// Payload bytes echoed and verified (one direction).
    pub bytes: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Median round trip.
    pub p50: Duration,
    /// 99th-percentile round trip.
    pub p99: Duration,
}

impl BenchReport {
    /// Frames per second.
    pub fn msgs_per_sec(&self) -> f64 {
        self.messages as f64 / self.elapsed.as_secs_f64()
    }

    /// Payload MiB per second (one direction).
    pub fn mib_per_sec(&self) -> f64 {
        self.bytes as f64 / (1024.0 * 1024.0) / self.elapsed.as_secs_f64()
    }
}

impl fmt::Display for BenchReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} msgs in {:.2} s: {:.0} msgs/s, {:.2} MiB/s, latency p50 {:?} p99 {:?} (all bytes verified)",
            self.messages,
            self.elapsed.as_secs_f64(),
            self.msgs_per_sec(),
            self.mib_per_sec(),
            self.p50,
            self.p99
        )
    }
}

/// How long a connection may wait for a reply before the server counts as silent (the run
/// then ends with an error instead of waiting forever). A working echo answers in far less.
pub const SILENCE: Duration = Duration::from_secs(2);

/// The error of a run whose server stopped answering.
fn silent(after: Duration) -> ClientError {
    ClientError::Io(std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        format!(
            "no reply from the server for {:.1} s (is it an echo server that answers?)",
            after.as_secs_f64()
        ),
    ))
}

/// Runs the benchmark; fails on the first connection error or wrong byte, and ends at most
/// [`SILENCE`] after `cfg.duration` however the server behaves.
pub fn run(cfg: &BenchConfig) -> Result<BenchReport, ClientError> {
    let start = Instant::now();
    let mut latencies = match cfg.mode {
        Mode::PingPong => ping_pong_all(cfg)?,
        Mode::Pipelined => {
            let threads: Vec<_> = (0..cfg.conns.max(1))
                .map(|_| {
                    let cfg = cfg.clone();
                    std::thread::spawn(move || pipelined(&cfg))
                })
                .collect();
            let mut latencies = Vec::new();
            for t in threads {
                let mut lat = t
                    .join()
                    .map_err(|_| ClientError::Unexpected("bench thread panicked".into()))??;
                latencies.append(&mut lat);
            }
            latencies
        }
    };
    let elapsed = start.elapsed();
    latencies.sort_unstable();
    let pct = |p: f64| {
        latencies
            .get(((latencies.len() as f64 * p) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    Ok(BenchReport {
        messages: latencies.len() as u64,
        bytes: latencies.len() as u64 * cfg.size as u64,
        elapsed,
        p50: pct(0.50),
        p99: pct(0.99),
    })
}

/// Opens `n` connections for measuring what idle connections cost the server (hold the
/// returned sockets, then read the server's RSS), for either protocol: each connection first has one 64-byte message
/// echoed and verified (a `PING` for sockframe), then is held open, silent.
pub fn open_idle_with(
    addr: SocketAddr,
    n: usize,
    protocol: Protocol,
) -> Result<Vec<TcpStream>, ClientError> {
    if protocol == Protocol::Sockframe {
        // One client (and its 64 KiB buffer) at a time; only the socket is kept.
        return (0..n)
            .map(|_| {
                let mut c = Client::connect(addr)?;
                c.ping()?;
                Ok(c.stream().try_clone()?)
            })
            .collect();
    }
    let mut payload = [0u8; 64];
    let mut verify = Verifier::new(payload.len());
    (0..n)
        .map(|i| {
            let (mut writer, mut replies) = connect(addr, protocol)?;
            let id = u32::try_from(i).unwrap_or(u32::MAX).wrapping_add(1);
            fill(id, &mut payload);
            verify.expect(id);
            let mut out = Vec::new();
            push_request(protocol, &mut out, id, &payload)?;
            writer.write_all(&out)?;
            replies.read_reply(&mut verify)?;
            Ok(writer)
        })
        .collect()
}

/// The payload of message `id`: a pattern that differs per message and per byte.
fn fill(id: u32, buf: &mut [u8]) {
    let seed = id.wrapping_mul(2_654_435_761);
    for (i, b) in buf.iter_mut().enumerate() {
        *b = (seed >> ((i & 3) * 8)) as u8 ^ i as u8;
    }
}

/// Appends request `id` carrying `payload` in `protocol`'s framing.
fn push_request(
    protocol: Protocol,
    out: &mut Vec<u8>,
    id: u32,
    payload: &[u8],
) -> Result<(), ClientError> {
    match protocol {
        Protocol::Sockframe => push_frame(out, &Header::data(id, payload), payload)?,
        Protocol::LengthPrefix => {
            let len = u32::try_from(payload.len()).map_err(|_| {
                ClientError::Unexpected("payload too large for a 4-byte length".into())
            })?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(payload);
        }
    }
    Ok(())
}

/// Connects (TCP_NODELAY), returning the writing half and the reply reader.
fn connect(addr: SocketAddr, protocol: Protocol) -> Result<(TcpStream, Replies), ClientError> {
    let stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let writer = stream.try_clone()?;
    let replies = match protocol {
        Protocol::Sockframe => Replies::Frames(Client::from_stream(stream)),
        Protocol::LengthPrefix => Replies::Prefixed(
            BufReader::with_capacity(Client::DEFAULT_BUFFER, stream),
            Vec::new(),
        ),
    };
    Ok((writer, replies))
}

/// The reading side of a bench connection.
enum Replies {
    /// sockframe frames, through the client's decoder.
    Frames(Client),
    /// Length-prefixed messages, through a buffer; the `Vec` holds one payload.
    Prefixed(BufReader<TcpStream>, Vec<u8>),
}

impl Replies {
    /// Reads the reply `verify` expects and checks every byte of it.
    fn read_reply(&mut self, verify: &mut Verifier) -> Result<(), ClientError> {
        match self {
            Replies::Frames(client) => loop {
                let ev = client.recv()?.ok_or(ClientError::Closed)?;
                if verify.check(ev)? {
                    return Ok(());
                }
            },
            Replies::Prefixed(reader, payload) => {
                let mut len = [0u8; 4];
                read_exact(reader, &mut len)?;
                verify.check_len(u32::from_be_bytes(len))?;
                payload.resize(verify.size, 0);
                read_exact(reader, payload)?;
                verify.check_payload(payload)
            }
        }
    }

    fn stream(&self) -> &TcpStream {
        match self {
            Replies::Frames(client) => client.stream(),
            Replies::Prefixed(reader, _) => reader.get_ref(),
        }
    }

    fn shutdown_write(&self) -> std::io::Result<()> {
        self.stream().shutdown(std::net::Shutdown::Write)
    }

    fn set_read_timeout(&self, timeout: Duration) -> std::io::Result<()> {
        self.stream().set_read_timeout(Some(timeout))
    }
}

/// `read_exact`, with the peer closing reported as [`ClientError::Closed`].
fn read_exact(r: &mut impl Read, buf: &mut [u8]) -> Result<(), ClientError> {
    r.read_exact(buf).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof => ClientError::Closed,
        _ => e.into(),
    })
}

/// Checks replies as events arrive, streamed or whole.
struct Verifier {
    size: usize,
    id: u32,
    offset: usize,
    expected: Vec<u8>,
}

impl Verifier {
    fn new(size: usize) -> Self {
        Verifier {
            size,
            id: 0,
            offset: 0,
            expected: vec![0; size],
        }
    }

    fn expect(&mut self, id: u32) {
        self.id = id;
        self.offset = 0;
        fill(id, &mut self.expected);
    }

    /// `Ok(true)` when the expected reply is complete and correct.
    fn check(&mut self, ev: Event<'_>) -> Result<bool, ClientError> {
        let bad = |what: String| Err(ClientError::Unexpected(what));
        match ev {
            Event::Frame(f) => {
                self.check_header(&f.header)?;
                if f.payload != self.expected.as_slice() {
                    return bad(format!("payload of message {} differs", self.id));
                }
                Ok(true)
            }
            Event::Start(h) => self.check_header(&h).map(|_| false),
            Event::Chunk(bytes) => {
                let end = self.offset + bytes.len();
                if self.expected.get(self.offset..end) != Some(bytes) {
                    return bad(format!("payload of message {} differs", self.id));
                }
                self.offset = end;
                Ok(false)
            }
            Event::End if self.offset == self.size => Ok(true),
            Event::End => bad(format!("message {} ended short", self.id)),
            Event::Abort(_) => bad(format!("message {} was aborted", self.id)),
        }
    }

    /// A length-prefixed reply's length.
    fn check_len(&self, len: u32) -> Result<(), ClientError> {
        if len as usize != self.size {
            return Err(ClientError::Unexpected(format!(
                "reply to message {} has length {len}, expected {}",
                self.id, self.size
            )));
        }
        Ok(())
    }

    /// A length-prefixed reply's payload.
    fn check_payload(&self, payload: &[u8]) -> Result<(), ClientError> {
        if payload != self.expected.as_slice() {
            return Err(ClientError::Unexpected(format!(
                "payload of message {} differs",
                self.id
            )));
        }
        Ok(())
    }

    fn check_header(&self, h: &Header<'_>) -> Result<(), ClientError> {
        if h.kind == Kind::ERROR {
            return Err(ClientError::Unexpected(
                "error frame from the server".into(),
            ));
        }
        if h.kind != Kind::DATA || h.id != self.id || h.len != self.size as u64 {
            return Err(ClientError::Unexpected(format!(
                "reply kind {} id {} len {}, expected DATA id {} len {}",
                h.kind.0, h.id, h.len, self.id, self.size
            )));
        }
        Ok(())
    }
}

/// Every connection's ping-pong, on one thread.
fn ping_pong_all(cfg: &BenchConfig) -> Result<Vec<Duration>, ClientError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()?;
    rt.block_on(async {
        // One deadline per connection, not a timer per message: a task still waiting for a
        // reply this long after the run ended has a silent server.
        let cut = tokio::time::Instant::now() + cfg.duration + SILENCE;
        let tasks: Vec<_> = (0..cfg.conns.max(1))
            .map(|_| {
                let cfg = cfg.clone();
                tokio::spawn(async move {
                    tokio::time::timeout_at(cut, ping_pong(cfg))
                        .await
                        .unwrap_or(Err(silent(SILENCE)))
                })
            })
            .collect();
        let mut latencies = Vec::new();
        for t in tasks {
            let mut lat = t
                .await
                .map_err(|_| ClientError::Unexpected("bench task panicked".into()))??;
            latencies.append(&mut lat);
        }
        Ok(latencies)
    })
}

/// One connection's ping-pong.
async fn ping_pong(cfg: BenchConfig) -> Result<Vec<Duration>, ClientError> {
    let stream = tokio::net::TcpStream::connect(cfg.addr).await?;
    stream.set_nodelay(true)?;
    let mut conn = AsyncConn::new(cfg.protocol, stream);
    let mut verify = Verifier::new(cfg.size);
    let mut payload = vec![0u8; cfg.size];
    let mut out = Vec::new();
    let mut latencies = Vec::new();
    let mut next_id: u32 = 1;
    let end = Instant::now() + cfg.duration;
    while Instant::now() < end {
        let id = next_id;
        next_id = next_id.wrapping_add(1).max(1);
        fill(id, &mut payload);
        verify.expect(id);
        out.clear();
        push_request(cfg.protocol, &mut out, id, &payload)?;
        let sent = Instant::now();
        conn.write_all(&out).await?;
        conn.read_reply(&mut verify).await?;
        latencies.push(sent.elapsed());
    }
    Ok(latencies)
}

/// A ping-pong connection on the event loop.
enum AsyncConn {
    /// sockframe frames, through the core's async path and a 64 KiB decoder buffer.
    Frames(FromTokio<tokio::net::TcpStream>, Decoder<Vec<u8>>),
    /// Length-prefixed messages, through a 64 KiB buffer; the `Vec` holds one payload.
    Prefixed(tokio::io::BufReader<tokio::net::TcpStream>, Vec<u8>),
}

impl AsyncConn {
    fn new(protocol: Protocol, stream: tokio::net::TcpStream) -> AsyncConn {
        match protocol {
            Protocol::Sockframe => AsyncConn::Frames(
                FromTokio::new(stream),
                Decoder::with_limits(vec![0u8; Client::DEFAULT_BUFFER], Client::LIMITS),
            ),
            Protocol::LengthPrefix => AsyncConn::Prefixed(
                tokio::io::BufReader::with_capacity(Client::DEFAULT_BUFFER, stream),
                Vec::new(),
            ),
        }
    }

    async fn write_all(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        use tokio::io::AsyncWriteExt;
        match self {
            AsyncConn::Frames(io, _) => io.inner_mut().write_all(bytes).await,
            AsyncConn::Prefixed(reader, _) => reader.get_mut().write_all(bytes).await,
        }
    }

    /// Reads the reply `verify` expects and checks every byte of it.
    async fn read_reply(&mut self, verify: &mut Verifier) -> Result<(), ClientError> {
        use tokio::io::AsyncReadExt;
        let closed = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::UnexpectedEof => ClientError::Closed,
            _ => e.into(),
        };
        match self {
            AsyncConn::Frames(io, dec) => loop {
                let ev = io_async::read_event(io, dec)
                    .await?
                    .ok_or(ClientError::Closed)?;
                if verify.check(ev)? {
                    return Ok(());
                }
            },
            AsyncConn::Prefixed(reader, payload) => {
                let mut len = [0u8; 4];
                reader.read_exact(&mut len).await.map_err(closed)?;
                verify.check_len(u32::from_be_bytes(len))?;
                payload.resize(verify.size, 0);
                reader.read_exact(payload).await.map_err(closed)?;
                verify.check_payload(payload)
            }
        }
    }
}

fn pipelined(cfg: &BenchConfig) -> Result<Vec<Duration>, ClientError> {
    let (mut writer, mut replies) = connect(cfg.addr, cfg.protocol)?;
    // A read that waits this long means a silent server: the reader fails, which stops the
    // writer too.
    replies.set_read_timeout(SILENCE)?;
    let in_flight: Arc<Mutex<VecDeque<(u32, Instant)>>> = Arc::default();
    let done = Arc::new(AtomicBool::new(false));
    let (credit_tx, credit_rx) = mpsc::channel::<()>();
    for _ in 0..cfg.window.max(1) {
        let _ = credit_tx.send(());
    }
    let write_thread = {
        let (in_flight, done, cfg) = (in_flight.clone(), done.clone(), cfg.clone());
        std::thread::spawn(move || -> Result<(), ClientError> {
            let result = write_loop(&cfg, &mut writer, &credit_rx, &in_flight);
            done.store(true, Ordering::Release);
            result
        })
    };
    let mut verify = Verifier::new(cfg.size);
    let mut latencies = Vec::new();
    let result = loop {
        let next = in_flight.lock().map(|q| q.front().copied()).unwrap_or(None);
        let Some((id, sent)) = next else {
            if done.load(Ordering::Acquire)
                && in_flight.lock().map(|q| q.is_empty()).unwrap_or(true)
            {
                break Ok(());
            }
            std::thread::yield_now();
            continue;
        };
        verify.expect(id);
        if let Err(e) = replies.read_reply(&mut verify) {
            break Err(match e {
                ClientError::Io(e)
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) =>
                {
                    silent(SILENCE)
                }
                other => other,
            });
        }
        latencies.push(sent.elapsed());
        if let Ok(mut q) = in_flight.lock() {
            q.pop_front();
        }
        let _ = credit_tx.send(());
    };
    // Unblocks the writer if it waits for credits after an error.
    drop(credit_tx);
    let _ = replies.shutdown_write();
    let written = write_thread
        .join()
        .map_err(|_| ClientError::Unexpected("bench writer panicked".into()))?;
    result?;
    // A write error after the reader finished cleanly cannot happen; report it if it did.
    written.map(|_| latencies)
}

fn write_loop(
    cfg: &BenchConfig,
    writer: &mut TcpStream,
    credits: &mpsc::Receiver<()>,
    in_flight: &Mutex<VecDeque<(u32, Instant)>>,
) -> Result<(), ClientError> {
    let end = Instant::now() + cfg.duration;
    let mut payload = vec![0u8; cfg.size];
    let mut out = Vec::new();
    let mut next_id: u32 = 1;
    while Instant::now() < end {
        if credits.recv().is_err() {
            return Ok(());
        }
        let mut n = 1;
        while credits.try_recv().is_ok() {
            n += 1;
        }
        out.clear();
        let now = Instant::now();
        let mut q = in_flight
            .lock()
            .map_err(|_| ClientError::Unexpected("bench lock poisoned".into()))?;
        for _ in 0..n {
            let id = next_id;
            next_id = next_id.wrapping_add(1).max(1);
            fill(id, &mut payload);
            push_request(cfg.protocol, &mut out, id, &payload)?;
            q.push_back((id, now));
        }
        drop(q);
        writer.write_all(&out)?;
    }
    Ok(())
}
