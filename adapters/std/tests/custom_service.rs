//! A user-defined service on the public [`Service`] trait, end to end on real loopback
//! sockets: whole frames, an upload larger than the receive buffer read chunk by chunk at
//! the service's own pace (the sender is held back meanwhile, nothing piles up in the
//! server), a streamed reply, and bad requests refused with error frames while the
//! connection goes on. Only the crate's public API is used, as a user would.

mod common;

use common::*;
use sockframe::{Event, Header, Kind};
use sockframe_std::{Close, Connection, ServerConfig, Service, Transport};
use std::io::{ErrorKind, Write};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Semaphore;

/// Upload: any payload; answered with [`SUMMED`] (metadata `bytes`, `sum`).
const UPLOAD: Kind = Kind(200);
const SUMMED: Kind = Kind(201);
/// Generate: payload = a byte count in decimal; answered with [`GENERATED`], that many
/// bytes of [`pattern`], streamed.
const GENERATE: Kind = Kind(202);
const GENERATED: Kind = Kind(203);

/// The test's service. Before each streamed upload's payload it waits for a permit from
/// `gate`, standing for a consumer that is slow to take its input.
struct Store {
    gate: Arc<Semaphore>,
}

impl Service for Store {
    fn name(&self) -> &str {
        "store"
    }

    async fn serve<S: Transport>(&self, conn: &mut Connection<S>) -> Result<(), Close> {
        while let Some(mut incoming) = conn.next_event().await? {
            match incoming.event {
                Event::Frame(f) if f.header.kind == UPLOAD => {
                    let (bytes, sum) = summed(f.payload);
                    answer_summed(&mut incoming.reply, f.header.id, bytes, sum);
                }
                Event::Frame(f) if f.header.kind == GENERATE => {
                    let id = f.header.id;
                    match parse_count(f.payload) {
                        Ok(n) => generate(conn, id, n).await?,
                        Err(message) => incoming.reply.error(id, "bad-request", message),
                    }
                }
                Event::Frame(f) if f.header.kind == Kind::PING => {
                    let pong = Header::new(Kind::PONG, f.header.id, 0);
                    let _ = incoming.reply.frame(&pong, f.payload);
                }
                Event::Frame(f) => incoming.reply.error(
                    f.header.id,
                    "unsupported",
                    format_args!("kind {} is not served here", f.header.kind.0),
                ),
                Event::Start(h) if h.kind == UPLOAD => {
                    let id = h.id;
                    let _ = self.gate.acquire().await.map(|p| p.forget());
                    receive_upload(conn, id).await?;
                }
                Event::Start(h) => {
                    let (id, kind, len) = (h.id, h.kind.0, h.len);
                    incoming.reply.error(
                        id,
                        "unsupported",
                        format_args!("kind {kind} with a {len}-byte payload is not served here"),
                    );
                    conn.skip_payload().await?;
                }
                // Chunks are taken by `receive_upload` and `skip_payload`.
                Event::Chunk(_) | Event::End | Event::Abort(_) => {}
            }
        }
        Ok(())
    }
}

/// Reads a streamed upload's chunks up to its end and answers with their count and sum.
async fn receive_upload<S: Transport>(conn: &mut Connection<S>, id: u32) -> Result<(), Close> {
    let (mut bytes, mut sum) = (0u64, 0u64);
    loop {
        let Some(incoming) = conn.next_event().await? else {
            return Err(Close::error(id, "truncated", "upload cut short"));
        };
        match incoming.event {
            Event::Chunk(piece) => {
                let (n, s) = summed(piece);
                bytes += n;
                sum = sum.wrapping_add(s);
            }
            Event::End => {
                answer_summed(&mut conn.replies(), id, bytes, sum);
                return Ok(());
            }
            _ => return Err(Close::error(id, "internal", "frame inside a payload")),
        }
    }
}

/// Streams `n` bytes of [`pattern`] as one [`GENERATED`] frame.
async fn generate<S: Transport>(conn: &mut Connection<S>, id: u32, n: u64) -> Result<(), Close> {
    let _ = conn.replies().head(&Header::new(GENERATED, id, n), n);
    let mut at = 0u64;
    let mut piece = vec![0u8; 10_000];
    while at < n {
        let len = piece.len().min((n - at) as usize);
        for (i, b) in piece[..len].iter_mut().enumerate() {
            *b = pattern(at + i as u64);
        }
        conn.write_body(&piece[..len]).await?;
        at += len as u64;
    }
    Ok(())
}

fn answer_summed(reply: &mut sockframe_std::Replies<'_>, id: u32, bytes: u64, sum: u64) {
    let (bytes, sum) = (bytes.to_string(), sum.to_string());
    let meta = [("bytes", bytes.as_str()), ("sum", sum.as_str())];
    let _ = reply.frame(&Header::new(SUMMED, id, 0).with_meta(&meta), &[]);
}

fn parse_count(payload: &[u8]) -> Result<u64, String> {
    std::str::from_utf8(payload)
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|n| *n <= 1 << 30)
        .ok_or_else(|| {
            format!(
                "a count is a decimal number up to 1073741824, got {} bytes: {:?}",
                payload.len(),
                String::from_utf8_lossy(&payload[..payload.len().min(32)])
            )
        })
}

fn summed(bytes: &[u8]) -> (u64, u64) {
    let sum = bytes
        .iter()
        .fold(0u64, |s, b| s.wrapping_add(u64::from(*b)));
    (bytes.len() as u64, sum)
}

fn pattern(i: u64) -> u8 {
    (i % 251) as u8
}

/// A store server with a 4 KiB receive buffer; the gate starts closed.
fn store() -> (sockframe_std::ServerHandle, Arc<Semaphore>) {
    let gate = Arc::new(Semaphore::new(0));
    let cfg = ServerConfig {
        buffer_size: 4096,
        ..loopback()
    };
    let server = start(cfg, Store { gate: gate.clone() });
    (server, gate)
}

#[test]
fn whole_frames_and_a_streamed_reply() {
    let (server, _gate) = store();
    let mut c = connect(server.local_addr());
    let reply = c
        .request_with(&Header::new(UPLOAD, 1, 0), b"small upload")
        .unwrap();
    assert_eq!(reply.kind, SUMMED);
    assert_eq!(reply.meta("bytes"), Some("12"));
    assert_eq!(
        reply.meta("sum"),
        Some(&*summed(b"small upload").1.to_string())
    );

    // 3 MiB generated: larger than the client's buffer, so it arrives as a stream.
    let n: u64 = 3 << 20;
    c.send(&Header::new(GENERATE, 2, 0), n.to_string().as_bytes())
        .unwrap();
    let mut got = 0u64;
    loop {
        match c.recv().unwrap().expect("a reply") {
            Event::Start(h) => assert_eq!((h.kind, h.id, h.len), (GENERATED, 2, n)),
            Event::Chunk(piece) => {
                for (i, b) in piece.iter().enumerate() {
                    assert_eq!(*b, pattern(got + i as u64), "byte {}", got + i as u64);
                }
                got += piece.len() as u64;
            }
            Event::End => break,
            Event::Frame(f) => panic!("expected a streamed reply, got {:?}", f.header),
            Event::Abort(a) => panic!("the reply was aborted: {a:?}"),
        }
    }
    assert_eq!(got, n);
    // The connection goes on.
    c.ping().unwrap();
}

#[test]
fn bad_requests_are_refused_and_the_connection_goes_on() {
    let (server, gate) = store();
    let mut c = connect(server.local_addr());
    // Not a number.
    let err = c
        .request_with(&Header::new(GENERATE, 3, 0), b"lots\xff")
        .unwrap_err();
    match err {
        sockframe_std::ClientError::Remote { code, message, .. } => {
            assert_eq!(code, "bad-request");
            assert!(message.contains("got 5 bytes"), "{message}");
        }
        other => panic!("expected an error frame, got {other:?}"),
    }
    // A kind the service does not know, whole and streamed (its payload skipped).
    c.send(&Header::new(Kind(250), 4, 0), b"?").unwrap();
    let err = expect_error(&mut c);
    assert_eq!((err.id, err.meta("code")), (4, Some("unsupported")));
    c.send(&Header::new(Kind(250), 5, 0), &vec![7u8; 100_000])
        .unwrap();
    let err = expect_error(&mut c);
    assert_eq!((err.id, err.meta("code")), (5, Some("unsupported")));
    assert!(err.text().contains("100000-byte payload"), "{}", err.text());
    // Still in step: a streamed upload after the skipped payload is served.
    gate.add_permits(1);
    let payload = vec![9u8; 50_000];
    let reply = c
        .request_with(&Header::new(UPLOAD, 6, 0), &payload)
        .unwrap();
    assert_eq!(reply.meta("bytes"), Some("50000"));
    // A framing error ends the connection with its error frame, and the server lives on.
    c.send_raw(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(expect_error(&mut c).meta("code"), Some("bad-magic"));
    connect(server.local_addr()).ping().unwrap();
}

#[test]
fn a_slow_service_holds_the_sender_back() {
    const TOTAL: u64 = 48 << 20;
    let (server, gate) = store();
    let mut c = connect(server.local_addr());
    c.send_head(&Header::new(UPLOAD, 7, TOTAL)).unwrap();
    // The service waits at the gate before taking the payload: the sender must be held
    // back by TCP flow control once the socket buffers (a few MiB) and the server's 4 KiB
    // receive buffer are full, instead of the server buffering the 48 MiB.
    let piece = vec![1u8; 64 * 1024];
    let mut sent = 0u64;
    let mut raw = c.stream().try_clone().unwrap();
    raw.set_nonblocking(true).unwrap();
    let mut stuck = 0;
    while stuck < 5 && sent < TOTAL {
        match raw.write(&piece[..piece.len().min((TOTAL - sent) as usize)]) {
            Ok(n) => {
                sent += n as u64;
                stuck = 0;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                stuck += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("write failed: {e}"),
        }
    }
    assert!(
        sent < TOTAL / 2,
        "{sent} of {TOTAL} bytes taken while the service was not reading"
    );
    assert!(
        server.stats().buffers_in_use() <= 1,
        "one receive buffer at most"
    );
    // The service reads again: everything goes through, at its pace.
    gate.add_permits(1);
    raw.set_nonblocking(false).unwrap();
    while sent < TOTAL {
        let n = piece.len().min((TOTAL - sent) as usize);
        raw.write_all(&piece[..n]).unwrap();
        sent += n as u64;
    }
    let reply = c.expect_frame().unwrap();
    assert_eq!(reply.kind, SUMMED);
    assert_eq!(reply.meta("bytes"), Some(&*TOTAL.to_string()));
    assert_eq!(reply.meta("sum"), Some(&*TOTAL.to_string()));
}
