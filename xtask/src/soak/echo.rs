//! Echo clients (desktop and board): a session's plan of requests, written by one thread
//! and checked reply by reply by another.

use super::clients::{IO_TIMEOUT, Load, compare, set_timeouts};
use super::plan::{Rng, echo_size};
use sockframe::{Header, Kind, encode_head};
use sockframe_std::{Client, OwnedFrame};
use std::io::Write;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How one echo client behaves.
pub(super) struct EchoRole {
    /// Requests in flight: 1 is ping-pong.
    pub(super) window: usize,
    /// The client's receive buffer: replies larger than it stream.
    pub(super) buffer: usize,
    pub(super) max_len: usize,
    /// Requests per session, lowest and highest.
    pub(super) session: (usize, usize),
    /// The board: connections are retried while its socket pool is full.
    pub(super) board: bool,
}

/// One request of an echo session, as both the writer and the reader see it.
struct Msg {
    ping: bool,
    off: usize,
    len: usize,
    crc: bool,
    named: bool,
}

impl Msg {
    fn next(rng: &mut Rng, max_len: usize, pool: usize) -> Msg {
        let ping = rng.below(50) == 0;
        let len = if ping { 0 } else { echo_size(rng, max_len) };
        Msg {
            ping,
            off: rng.below(pool - len + 1),
            len,
            crc: !ping && rng.below(3) == 0,
            named: !ping && rng.below(5) == 0,
        }
    }

    fn name(&self, id: u32) -> Option<String> {
        self.named.then(|| format!("soak-{id}"))
    }
}

/// One echo session: a connection, a writer thread sending the plan (at most `window`
/// ahead), this thread checking each reply against the same plan, then a half-close after
/// which the server must have answered everything and closed cleanly.
pub(super) fn echo_session(
    load: &Load,
    service: usize,
    pool: &[u8],
    addr: SocketAddr,
    role: &EchoRole,
    seed: u64,
) -> Result<(), String> {
    let (stream, mut client) = open(load, addr, role)?;
    let mut rng = Rng::new(seed);
    let count = rng.range(role.session.0, role.session.1);
    let (credit_tx, credit_rx) = mpsc::sync_channel(role.window);
    for _ in 0..role.window {
        let _ = credit_tx.send(());
    }
    std::thread::scope(|s| {
        let writer = s.spawn(|| {
            let sent = write_echoes(load, &stream, pool, rng.clone(), count, role, credit_rx);
            if sent.is_err() {
                let _ = stream.shutdown(Shutdown::Both);
            }
            sent
        });
        let got = read_echoes(
            load,
            service,
            &mut client,
            pool,
            rng.clone(),
            role,
            credit_tx,
        );
        if got.is_err() {
            // Unblocks the writer.
            let _ = stream.shutdown(Shutdown::Both);
        }
        let sent = writer.join().map_err(|_| "writer panicked".to_string())?;
        let (got, sent) = (got?, sent?);
        if got != sent {
            return Err(format!(
                "{sent} requests sent, {got} answered before the server closed: replies lost"
            ));
        }
        Ok(())
    })
}

/// Connects (with I/O timeouts). On the board a connection is proven with a PING first and
/// retried for up to 10 s: with all 4 of its sockets in use, or one still closing, QEMU
/// accepts and the guest then resets the connection.
fn open(load: &Load, addr: SocketAddr, role: &EchoRole) -> Result<(TcpStream, Client), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let attempt = (|| {
            let stream = TcpStream::connect_timeout(&addr, IO_TIMEOUT)
                .map_err(|e| format!("connect {addr}: {e}"))?;
            stream.set_nodelay(true).map_err(|e| e.to_string())?;
            set_timeouts(&stream, IO_TIMEOUT)?;
            let reader = stream.try_clone().map_err(|e| e.to_string())?;
            let mut client = Client::with_buffer(reader, role.buffer, Client::LIMITS);
            if role.board {
                client.ping().map_err(|e| format!("probe: {e}"))?;
            }
            Ok((stream, client))
        })();
        match attempt {
            Err(e) if role.board && Instant::now() < deadline => {
                let _ = e;
                load.retries.fetch_add(1, Relaxed);
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Sends up to `count` requests of the plan, each when a credit allows; then half-closes.
/// Returns how many were sent (fewer when the soak is stopping or the reader gave up).
fn write_echoes(
    load: &Load,
    mut stream: &TcpStream,
    pool: &[u8],
    mut plan: Rng,
    count: usize,
    role: &EchoRole,
    credits: mpsc::Receiver<()>,
) -> Result<usize, String> {
    let mut head = [0u8; 128];
    let mut small = Vec::new();
    let mut sent = 0;
    while sent < count {
        // No credit: the reader has stopped (its error is the one reported).
        if load.stopping() || credits.recv().is_err() {
            break;
        }
        let id = sent as u32 + 1;
        let m = Msg::next(&mut plan, role.max_len, pool.len());
        let payload = &pool[m.off..m.off + m.len];
        let name = m.name(id);
        let mut h = if m.ping {
            Header::new(Kind::PING, id, 0)
        } else {
            Header::data(id, payload)
        };
        if let Some(n) = &name {
            h = h.with_name(n);
        }
        if m.crc {
            h = h.with_crc_of(payload);
        }
        let n = encode_head(&h, payload.len() as u64, &mut head).map_err(|e| e.to_string())?;
        let written = if payload.len() <= 64 << 10 {
            // Head and payload in one write, as a real client would.
            small.clear();
            small.extend_from_slice(&head[..n]);
            small.extend_from_slice(payload);
            stream.write_all(&small)
        } else {
            stream
                .write_all(&head[..n])
                .and_then(|()| stream.write_all(payload))
        };
        written.map_err(|e| format!("sending request {id} ({} B): {e}", m.len))?;
        sent += 1;
    }
    stream
        .shutdown(Shutdown::Write)
        .map_err(|e| format!("half-close after {sent} requests: {e}"))?;
    Ok(sent)
}

/// Reads replies until the server closes, checking each against the plan and returning a
/// credit for it. Returns how many came back.
fn read_echoes(
    load: &Load,
    service: usize,
    client: &mut Client,
    pool: &[u8],
    mut plan: Rng,
    role: &EchoRole,
    credits: mpsc::SyncSender<()>,
) -> Result<usize, String> {
    let mut got = 0;
    loop {
        let frame = client
            .recv_frame()
            .map_err(|e| format!("after {got} verified replies: {e}"))?;
        let Some(frame) = frame else {
            return Ok(got);
        };
        let id = got as u32 + 1;
        let m = Msg::next(&mut plan, role.max_len, pool.len());
        check_echo(&frame, id, &m, pool).map_err(|e| format!("reply {id}: {e}"))?;
        load.meter(service).add(1, m.len);
        got += 1;
        // The writer may have finished: then nobody needs the credit.
        let _ = credits.send(());
    }
}

/// Whether `f` is exactly the echo of request `id` planned as `m`.
fn check_echo(f: &OwnedFrame, id: u32, m: &Msg, pool: &[u8]) -> Result<(), String> {
    if f.kind == Kind::ERROR {
        return Err(format!(
            "error frame [{}]: {}",
            f.meta("code").unwrap_or("?"),
            f.text()
        ));
    }
    let kind = if m.ping { Kind::PONG } else { Kind::DATA };
    if f.kind != kind || f.id != id {
        return Err(format!(
            "expected kind {} id {id}, got kind {} id {} ({} B)",
            kind.0,
            f.kind.0,
            f.id,
            f.payload.len()
        ));
    }
    compare(&f.payload, &pool[m.off..m.off + m.len])?;
    if f.name != m.name(id) {
        return Err(format!("name {:?} came back as {:?}", m.name(id), f.name));
    }
    // The decoder has checked a present CRC against the payload; it must be there.
    if f.crc.is_some() != m.crc {
        return Err(format!(
            "CRC-32C sent: {}, in the reply: {}",
            m.crc,
            f.crc.is_some()
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writer_and_reader_draw_the_same_plan() {
        let mut a = Rng::new(42);
        let mut b = a.clone();
        for _ in 0..1000 {
            let (x, y) = (
                Msg::next(&mut a, 1 << 20, 2 << 20),
                Msg::next(&mut b, 1 << 20, 2 << 20),
            );
            assert_eq!(
                (x.ping, x.off, x.len, x.crc, x.named),
                (y.ping, y.off, y.len, y.crc, y.named)
            );
            assert!(x.off + x.len <= 2 << 20);
        }
    }
}
