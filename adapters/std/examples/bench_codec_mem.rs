//! Instruction-count harness for the codec echoes, without sockets: the echo loops of
//! `bench_codec_echo` (`Framed<_, FrameCodec>`) and `bench_tokio_echo`
//! (`Framed<_, LengthDelimitedCodec>`), the same functions (`bench_support::echo`), run on a
//! current-thread tokio runtime over an in-memory stream that delivers `burst` pipelined
//! 64-byte requests per read readiness (then `Pending` once, woken at once) and swallows the
//! replies. `adapters/std/benches/codec_mem_instructions.sh` runs it under callgrind at two
//! frame counts: the difference per frame is the per-message cost of codec, `Framed` and the
//! echo task at a fixed batching, with no kernel, epoll or scheduler in it.
//!
//! `bench_codec_mem sockframe|length-prefix FRAMES BURST` prints `FRAMES frames, W writes`.

mod bench_support;

use bench_support::echo::{codec_echo, tokio_echo};
use sockframe::Header;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Requests arrive a burst at a time; replies are counted and dropped.
struct Mem {
    input: Vec<u8>,
    at: usize,
    /// Where each burst ends in `input`.
    bursts: Vec<usize>,
    burst: usize,
    /// The burst was read up: the next read is `Pending` (woken at once).
    drained: bool,
    written: usize,
    writes: usize,
}

impl AsyncRead for Mem {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let me = &mut *self;
        if me.drained {
            me.drained = false;
            me.burst += 1;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let end = me.bursts.get(me.burst).copied().unwrap_or(me.input.len());
        let n = (end - me.at).min(buf.remaining());
        buf.put_slice(&me.input[me.at..me.at + n]);
        me.at += n;
        me.drained = me.at == end && end < me.input.len();
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Mem {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        self.poll_write_vectored(cx, &[IoSlice::new(b)])
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let n = bufs.iter().map(|b| b.len()).sum();
        self.written += n;
        self.writes += 1;
        Poll::Ready(Ok(n))
    }
    fn is_write_vectored(&self) -> bool {
        true
    }
    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let usage = "usage: bench_codec_mem sockframe|length-prefix FRAMES BURST";
    let [_, protocol, frames, burst] = &args[..] else {
        panic!("{usage}");
    };
    let (frames, burst): (usize, usize) =
        (frames.parse().expect(usage), burst.parse().expect(usage));
    let payload = [0x5au8; 64];
    let mut input = Vec::new();
    let mut bursts = Vec::new();
    for id in 0..frames as u32 {
        match protocol.as_str() {
            "sockframe" => {
                sockframe_std::wire::push_frame(&mut input, &Header::data(id, &payload), &payload)
                    .unwrap()
            }
            "length-prefix" => {
                input.extend_from_slice(&(payload.len() as u32).to_be_bytes());
                input.extend_from_slice(&payload);
            }
            _ => panic!("{usage}"),
        }
        if (id as usize + 1).is_multiple_of(burst) {
            bursts.push(input.len());
        }
    }
    let mut mem = Mem {
        input,
        at: 0,
        bursts,
        burst: 0,
        drained: false,
        written: 0,
        writes: 0,
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    match protocol.as_str() {
        "sockframe" => rt.block_on(codec_echo(&mut mem)).unwrap(),
        _ => rt.block_on(tokio_echo(&mut mem)).unwrap(),
    }
    assert_eq!(mem.written, mem.input.len(), "every request echoed");
    println!("{frames} frames, {} writes", mem.writes);
}
