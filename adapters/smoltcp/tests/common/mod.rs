//! Test harness: an echo service and client sockets on two smoltcp interfaces wired back
//! to back in memory, with a clock that only moves when a test steps it.
#![allow(dead_code)] // each test file uses its own part of the harness

pub mod link;
pub mod peer;
pub mod world;

use sockframe::{DecodeError, Decoder, Header, encode_decode_error, encode_frame};

/// A frame as bytes, from the core's encoder.
pub fn frame(header: &Header<'_>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0; payload.len() + 1024];
    let n = encode_frame(header, payload, &mut out).expect("encode");
    out.truncate(n);
    out
}

/// The error a receiver with the service's buffer and limits finds in `stream` (cut there
/// by the peer's FIN).
pub fn expected_error<const N: usize>(stream: &[u8]) -> DecodeError {
    let mut dec = Decoder::new([0u8; N]);
    let mut rest = stream;
    loop {
        match dec.poll() {
            Err(e) => return e,
            Ok(true) => {
                if let Err(e) = dec.next_event() {
                    return e;
                }
            }
            Ok(false) if rest.is_empty() => return dec.finish().expect_err("stream is bad"),
            Ok(false) => rest = &rest[dec.feed(rest)..],
        }
    }
}

/// The ERROR frame (id 0) reporting `err`, with its numbers as metadata.
pub fn error_frame(err: &DecodeError) -> Vec<u8> {
    let mut out = vec![0; sockframe::ERROR_FRAME_MAX];
    let n = encode_decode_error(0, err, &mut out).unwrap();
    out.truncate(n);
    out
}

/// Sends `sent` on a fresh connection in chunks of 1 to `max_chunk` bytes, half-closes, and
/// returns everything read until the echo's FIN; then closes and waits for the socket to
/// listen again.
pub fn echo_until_fin<const N: usize>(
    world: &mut world::World<1, N>,
    sent: Vec<u8>,
    max_chunk: usize,
) -> Vec<u8> {
    let handle = world.connect();
    let mut peer = peer::Peer::new(handle, sent)
        .chunked(max_chunk as u64, max_chunk)
        .closing();
    world.run_until("the echo and the FIN", 50_000, |w| {
        peer.pump(&mut w.client_sockets);
        peer.all_written() && peer.at_eof(&w.client_sockets)
    });
    world.client(handle).close();
    world.run_until("the socket listening again", 1_000, |w| w.listening() == 1);
    peer.received
}

/// A small deterministic PRNG (xorshift64*): tests repeat exactly.
pub struct Prng(u64);

impl Prng {
    pub fn new(seed: u64) -> Self {
        Prng(seed | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `lo..=hi`.
    pub fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }

    /// Random bytes, of a random length in `lo..=hi`.
    pub fn payload(&mut self, lo: usize, hi: usize) -> Vec<u8> {
        let n = self.range(lo, hi);
        self.bytes(n)
    }

    pub fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| (self.next() >> 32) as u8).collect()
    }
}
