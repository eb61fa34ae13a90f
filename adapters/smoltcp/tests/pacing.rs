//! Random pacing, many seeds: random frames (some PING, some with a CRC, on both sides of
//! the decoder size), written in random chunks, read by a client that stops and resumes
//! reading at random, over several buffer sizes; some streams end in garbage. The echo
//! must be exact, and a bad tail must give exactly one error frame after it.

mod common;

use common::peer::{Peer, decode_all};
use common::world::{ServerConfig, World};
use common::{Prng, expected_error, frame};
use sockframe::{Header, Kind};
use sockframe_smoltcp::{Echo, Handler};

fn run<const N: usize>(seed: u64, config: ServerConfig) {
    let mut prng = Prng::new(seed);
    let mut sent = Vec::new();
    let max_chunk = [1, 50, 700, 5000][prng.range(0, 3)];
    // One-byte writes take a simulated millisecond each: fewer frames for those.
    let frames = prng.range(5, if max_chunk == 1 { 12 } else { 60 });
    for id in 0..frames as u32 {
        let payload = prng.payload(0, 3 * N);
        let mut header = Header::data(id, &payload);
        if prng.range(0, 3) == 0 {
            header = header.with_crc_of(&payload);
        }
        if prng.range(0, 4) == 0 {
            header.kind = Kind::PING;
        }
        sent.extend(frame(&header, &payload));
    }
    let expected = echo_of(&sent);
    // The error's code is fixed by the bytes; its message may not be (a bad magic quotes
    // the bytes that had arrived when it was seen, which depends on segmentation).
    let mut error_code = None;
    if prng.range(0, 2) == 0 {
        let bad = prng.payload(1, 500);
        sent.extend(&bad);
        error_code = Some(expected_error::<N>(&sent).code());
    }

    let mut world = World::<1, N>::new(config);
    let handle = world.connect();
    let mut peer = Peer::new(handle, sent.clone())
        .chunked(seed, max_chunk)
        .closing();
    let limit = 100_000 + 2 * sent.len() as u64; // one-byte writes take a step each
    world.run_until(&format!("seed {seed}: the echo"), limit, |w| {
        if prng.range(0, 30) == 0 {
            peer.reading = !peer.reading;
        }
        peer.pump(&mut w.client_sockets);
        peer.at_eof(&w.client_sockets) && (peer.all_written() || error_code.is_some())
    });
    if let Some(code) = error_code {
        let tail = peer
            .received
            .split_off(expected.len().min(peer.received.len()));
        assert_eq!(
            decode_all(&tail),
            [(Kind::ERROR, 0, code.as_bytes().to_vec())],
            "seed {seed}: error frame"
        );
    }
    if peer.received != expected {
        let at = peer
            .received
            .iter()
            .zip(&expected)
            .take_while(|(a, b)| a == b)
            .count();
        panic!(
            "seed {seed}: echo differs at byte {at} of {} (got {} bytes; sent {}, max chunk {max_chunk})\n\
             got  {:02x?}\nwant {:02x?}",
            expected.len(),
            peer.received.len(),
            sent.len(),
            &peer.received[at.saturating_sub(8)..(at + 40).min(peer.received.len())],
            &expected[at.saturating_sub(8)..(at + 40).min(expected.len())],
        );
    }
    assert!(peer.received == expected, "seed {seed}: echo differs");
}

/// The echo of `sent` frame by frame (PING -> PONG), from the core's decoder.
fn echo_of(sent: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut dec = sockframe::Decoder::new(vec![0u8; 1 << 20]);
    let mut rest = sent;
    loop {
        while !dec.poll().unwrap() {
            if rest.is_empty() {
                return out;
            }
            let n = dec.feed(rest);
            rest = &rest[n..];
        }
        let Some(sockframe::Event::Frame(f)) = dec.next_event().unwrap() else {
            panic!("test frames fit 1 MiB");
        };
        let mut h = f.header;
        if h.kind == Kind::PING {
            h.kind = Kind::PONG;
        }
        out.extend(frame(&h, f.payload));
    }
}

#[test]
fn random_pacing_small_decoder() {
    for seed in 1..=25 {
        let config = ServerConfig {
            rx: 512,
            tx: Echo.reserve(256),
            ..ServerConfig::BOARD
        };
        run::<256>(seed, config);
    }
}

#[test]
fn random_pacing_board_sizes() {
    for seed in 100..=125 {
        run::<1024>(seed, ServerConfig::BOARD);
    }
}

#[test]
fn random_pacing_smallest_send_buffer_allowed() {
    for seed in 200..=225 {
        let config = ServerConfig {
            rx: 4096,
            tx: Echo.reserve(1024),
            ..ServerConfig::BOARD
        };
        run::<1024>(seed, config);
    }
}
