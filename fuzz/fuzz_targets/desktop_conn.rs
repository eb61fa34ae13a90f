//! The desktop server's connection handler (`sockframe_std::Handler`, echo service) driven
//! over an in-memory stream (`MemStream`, a bounded pipe each way), the same checks as the
//! smoltcp echo target: both echo services must behave the same.
//!
//! Input layout:
//!
//! ```text
//! byte 0..4  write sizes, used in turn: b < 128: 1 + b bytes, b >= 128: (b - 127) * 64
//!            bytes (64..=8192); the writer yields to the server after every write
//! byte 4     bits 0-1: the server's receive buffer, 64 / 256 / 1024 / 16384 bytes (frames
//!            larger than it are echoed cut-through); bits 2-3: the pipe's capacity each
//!            way, 64 / 512 / 4096 / 65536 bytes (small ones make both sides wait)
//! byte 5..   the stream the client sends, then its end (shutdown of its write side)
//! ```
//!
//! Invariants (any failure is a panic, which libFuzzer reports as a crash):
//! - nothing panics in the handler, the core or tokio;
//! - the connection ends: the client reads to the end while it writes (the handler is
//!   never left waiting on a client that waits on it), and the runtime has no timers, so
//!   a hang shows as libFuzzer's timeout;
//! - what comes back passes `echo_model::check_echo` (byte-exact echo, PING -> PONG, one
//!   error frame with the reference decoder's code after bad input, nothing after it);
//! - the same handler (its buffer pool reused) then serves a fresh connection.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockframe::{Header, Limits, encode_frame};
use sockframe_fuzz::echo_model::{check_echo, model};
use sockframe_std::services::Echo;
use sockframe_std::{Handler, MemStream, ServerConfig};
use std::net::SocketAddr;
use std::sync::OnceLock;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const BUFFERS: [usize; 4] = [64, 256, 1024, 16384];
const PIPES: [usize; 4] = [64, 512, 4096, 65536];

/// One handler per receive buffer size, kept across inputs (as a server keeps its pool).
fn handler(buffer: usize) -> &'static Handler<Echo> {
    static HANDLERS: [OnceLock<Handler<Echo>>; 4] = [const { OnceLock::new() }; 4];
    let i = BUFFERS.iter().position(|b| *b == buffer).unwrap_or(0);
    HANDLERS[i].get_or_init(|| {
        let cfg = ServerConfig {
            buffer_size: buffer,
            limits: Limits::DEFAULT,
            // No deadlines: the fuzzer's own timeout catches a hang, and no input can then
            // depend on how fast the machine is.
            idle_timeout: None,
            frame_timeout: None,
            write_timeout: None,
            ..ServerConfig::default()
        };
        Handler::new(&cfg, Echo).expect("echo handler")
    })
}

/// Sends `input` in the given write sizes, then ends its side; returns all it received.
async fn exchange(
    handler: &'static Handler<Echo>,
    input: &[u8],
    sizes: [usize; 4],
    pipe: usize,
) -> Vec<u8> {
    let (client, server_end) = MemStream::pair(pipe);
    let peer: SocketAddr = "127.0.0.1:1".parse().unwrap();
    let serving = tokio::spawn(handler.serve(server_end, peer));
    let (mut rx, mut tx) = tokio::io::split(client);
    let out = input.to_vec();
    let writer = tokio::spawn(async move {
        let mut rest = &out[..];
        let mut turn = 0;
        while !rest.is_empty() {
            let n = sizes[turn % 4].min(rest.len());
            turn += 1;
            // After an error the handler stops reading once its drain limit is reached
            // and closes: a failed write is the end of this client's stream.
            if tx.write_all(&rest[..n]).await.is_err() {
                return;
            }
            rest = &rest[n..];
            tokio::task::yield_now().await;
        }
        let _ = tx.shutdown().await;
    });
    let mut received = Vec::new();
    rx.read_to_end(&mut received).await.expect("read the reply");
    serving.await.expect("the handler ends without a panic");
    writer.await.expect("the writer ends");
    received
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_time()
            .build()
            .expect("runtime")
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 5 {
        return;
    }
    let sizes = std::array::from_fn(|i| match data[i] {
        b @ 0..128 => 1 + b as usize,
        b => (b as usize - 127) * 64,
    });
    let buffer = BUFFERS[usize::from(data[4] & 3)];
    let pipe = PIPES[usize::from((data[4] >> 2) & 3)];
    let input = &data[5..];
    let handler = handler(buffer);
    let expected = model(input, buffer, Limits::DEFAULT);
    let received = runtime().block_on(exchange(handler, input, sizes, pipe));
    check_echo(input, &received, &expected);

    // The same handler serves a fresh connection.
    let payload = b"still serving";
    let mut probe = vec![0u8; 64];
    let n = encode_frame(&Header::data(42, payload), payload, &mut probe).unwrap();
    probe.truncate(n);
    let fresh = runtime().block_on(exchange(handler, &probe, [64; 4], 4096));
    assert_eq!(fresh, probe, "a fresh connection after the fuzz input");
});
