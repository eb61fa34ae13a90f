//! Good input: every byte comes back, in order, whatever the sizes and the pace.

mod common;

use common::peer::{Peer, decode_all};
use common::world::{ServerConfig, World};
use common::{Prng, frame};
use smoltcp::socket::tcp::{self, State};
use sockframe::{Header, Kind};
use sockframe_smoltcp::{Echo, Handler};

/// `frames` as the client sends them, and as the echo must return them (PING -> PONG).
fn stream(frames: &[(Header<'_>, Vec<u8>)]) -> (Vec<u8>, Vec<u8>) {
    let (mut sent, mut echoed) = (Vec::new(), Vec::new());
    for (header, payload) in frames {
        sent.extend(frame(header, payload));
        let mut answer = *header;
        if answer.kind == Kind::PING {
            answer.kind = Kind::PONG;
        }
        echoed.extend(frame(&answer, payload));
    }
    (sent, echoed)
}

/// Sends `sent` through a fresh connection, reads until the server's FIN; returns what came
/// back.
fn echo_through<const POOL: usize, const N: usize>(
    world: &mut World<POOL, N>,
    peer: Peer,
    max_steps: u64,
) -> Vec<u8> {
    let mut peer = peer.closing();
    world.run_until("the whole echo and the server's FIN", max_steps, |w| {
        peer.pump(&mut w.client_sockets);
        assert!(
            peer.all_written() || peer.state(&w.client_sockets) != State::Closed,
            "connection closed after {} of {} bytes",
            peer.written,
            peer.len()
        );
        peer.all_written() && peer.at_eof(&w.client_sockets)
    });
    peer.received
}

#[test]
fn small_frames_echo_unchanged() {
    let mut world = World::<2, 1024>::new(ServerConfig::BOARD);
    let payloads: Vec<Vec<u8>> = vec![vec![], b"x".to_vec(), vec![7; 64], vec![1; 1000]];
    let mut frames: Vec<(Header, Vec<u8>)> = payloads
        .iter()
        .enumerate()
        .map(|(i, p)| (Header::data(i as u32, p), p.clone()))
        .collect();
    // (Metadata rides on the error frames of tests/errors.rs.)
    let named = b"with a name and a crc".to_vec();
    let h = Header::data(99, &named)
        .with_name("file.txt")
        .with_crc_of(&named);
    frames.push((h, named));
    let (sent, expected) = stream(&frames);

    let handle = world.connect();
    let got = echo_through(&mut world, Peer::new(handle, sent), 2_000);
    assert_eq!(got, expected);
    assert_eq!(decode_all(&got).len(), 5);
}

#[test]
fn ping_is_answered_with_pong_same_id() {
    let mut world = World::<1, 1024>::new(ServerConfig::BOARD);
    let frames = vec![
        (Header::new(Kind::PING, 41, 0), vec![]),
        (Header::new(Kind::PING, 42, 4), b"beat".to_vec()),
        // A PING too large for the buffer is answered cut-through, still as PONG.
        (Header::new(Kind::PING, 43, 5000), vec![3; 5000]),
    ];
    let (sent, expected) = stream(&frames);
    let handle = world.connect();
    let got = echo_through(&mut world, Peer::new(handle, sent), 2_000);
    assert_eq!(got, expected);
    let kinds: Vec<(Kind, u32)> = decode_all(&got).iter().map(|f| (f.0, f.1)).collect();
    assert_eq!(
        kinds,
        [(Kind::PONG, 41), (Kind::PONG, 42), (Kind::PONG, 43)]
    );
}

#[test]
fn huge_frame_streams_through_a_1k_buffer_byte_exact() {
    const LEN: usize = 16 << 20;
    let mut world = World::<1, 1024>::new(ServerConfig::BOARD);
    let payload = Prng::new(16).bytes(LEN);
    let header = Header::data(16, &payload).with_crc_of(&payload);
    let (sent, expected) = stream(&[(header, payload)]);
    let handle = world.connect();
    let mut peer = Peer::new(handle, sent).closing();
    let mut echoed_while_sending = 0;
    world.run_until("the 16 MiB echo", 200_000, |w| {
        peer.pump(&mut w.client_sockets);
        if !peer.all_written() {
            echoed_while_sending = peer.received.len();
        }
        peer.all_written() && peer.at_eof(&w.client_sockets)
    });
    // Cut-through: all but about the client's 64 KiB send buffer came back before the
    // client had queued its last byte.
    assert!(
        echoed_while_sending >= LEN - 128 * 1024,
        "{echoed_while_sending}"
    );
    assert_eq!(peer.received.len(), expected.len());
    assert!(peer.received == expected, "16 MiB echo differs");
    println!("16 MiB echoed in {} simulated ms", world.steps);
}

#[test]
fn split_and_merged_writes() {
    let mut world = World::<1, 1024>::new(ServerConfig::BOARD);
    let mut prng = Prng::new(7);
    // Sizes on both sides of the 1 KiB buffer: some frames whole, some streamed.
    let frames: Vec<(Header, Vec<u8>)> = (0..300)
        .map(|i| {
            let payload = prng.payload(0, 3000);
            let mut h = Header::data(i, &payload);
            if i % 3 == 0 {
                h = h.with_crc_of(&payload);
            }
            if i % 5 == 0 {
                h.kind = Kind::PING;
            }
            (h, payload)
        })
        .collect();
    let (sent, expected) = stream(&frames);
    for (seed, max_chunk) in [(1, 1), (2, 7), (3, 300), (4, 5000)] {
        // One-byte writes over the whole stream would take long: use a prefix for those.
        let take = if max_chunk == 1 { 20_000 } else { sent.len() };
        let cut = frames_prefix(&sent, take);
        let handle = world.connect();
        let peer = Peer::new(handle, sent[..cut].to_vec()).chunked(seed, max_chunk);
        let got = echo_through(&mut world, peer, 400_000);
        assert!(
            got == expected[..cut],
            "chunks up to {max_chunk}: echo differs"
        );
    }
}

/// The length of the longest run of whole frames in `sent` not longer than `limit`.
fn frames_prefix(sent: &[u8], limit: usize) -> usize {
    let mut end = 0;
    let mut dec = sockframe::Decoder::new(vec![0u8; 1 << 16]);
    let mut at = 0;
    while at < sent.len() {
        let n = dec.feed(&sent[at..]);
        at += n;
        while let Some(ev) = dec.next_event().unwrap() {
            if matches!(ev, sockframe::Event::Frame(_) | sockframe::Event::End) {
                let consumed = at - dec.buffered();
                if consumed > limit {
                    return end;
                }
                end = consumed;
            }
        }
    }
    end
}

#[test]
fn full_send_buffers_lose_nothing() {
    let mut world = World::<1, 1024>::new(ServerConfig::BOARD);
    let mut prng = Prng::new(99);
    let frames: Vec<(Header, Vec<u8>)> = (0..400)
        .map(|i| {
            let payload = prng.payload(0, 2500);
            (Header::data(i, &payload), payload)
        })
        .collect();
    let (sent, expected) = stream(&frames);
    assert!(sent.len() > 400_000);

    let handle = world.connect();
    let mut peer = Peer::new(handle, sent).chunked(5, 4000).paused().closing();
    // Not reading: the echo fills the client's receive buffer, then the server's send
    // buffer; the server stops reading, its window closes, the client's writes stop.
    world.run_for(3_000, |w| peer.pump(&mut w.client_sockets));
    let stalled_at = peer.written;
    assert!(!peer.all_written(), "the client should be blocked");
    world.run_for(500, |w| peer.pump(&mut w.client_sockets));
    assert_eq!(peer.written, stalled_at, "writes should stay blocked");
    assert!(peer.received.is_empty());

    peer.reading = true;
    world.run_until("the rest of the echo", 100_000, |w| {
        peer.pump(&mut w.client_sockets);
        peer.all_written() && peer.at_eof(&w.client_sockets)
    });
    assert!(peer.received == expected, "echo after the stall differs");
}

#[test]
fn the_smallest_send_buffer_allowed() {
    // The answer to a full decoder buffer (a limits PONG is longer than its request):
    // frames of exactly N (whole) and N +- 1.
    const N: usize = 2048;
    let config = ServerConfig {
        rx: 1024,
        tx: Echo.reserve(N),
        ..ServerConfig::BOARD
    };
    let mut world = World::<1, N>::new(config);
    let head = frame(&Header::new(Kind::DATA, 1, 2000), &[0; 2000]).len() - 2000;
    let mut frames = Vec::new();
    for (i, len) in [N - head - 1, N - head, N - head + 1, N - head, 10, N * 3]
        .into_iter()
        .enumerate()
    {
        let payload = vec![i as u8; len];
        frames.push((Header::data(1, &payload), payload));
    }
    let (sent, expected) = stream(&frames);
    let handle = world.connect();
    let mut peer = Peer::new(handle, sent).paused().closing();
    world.run_for(300, |w| peer.pump(&mut w.client_sockets));
    peer.reading = true;
    world.run_until("the echo", 10_000, |w| {
        peer.pump(&mut w.client_sockets);
        peer.all_written() && peer.at_eof(&w.client_sockets)
    });
    assert!(peer.received == expected);
}

#[test]
fn with_delayed_acks_and_nagle_as_on_the_board() {
    let config = ServerConfig {
        tcp_defaults: true,
        ..ServerConfig::BOARD
    };
    let mut world = World::<1, 512>::new(config);
    let mut prng = Prng::new(3);
    let frames: Vec<(Header, Vec<u8>)> = (0..50)
        .map(|i| {
            let payload = prng.payload(0, 1500);
            (Header::data(i, &payload), payload)
        })
        .collect();
    let (sent, expected) = stream(&frames);
    let handle = world.connect();
    let got = echo_through(&mut world, Peer::new(handle, sent).chunked(8, 700), 50_000);
    assert!(got == expected);
}

#[test]
fn a_streamed_frame_fills_the_send_buffer_to_the_last_byte() {
    // Inside a frame larger than the decoder's buffer the echo's answer to a chunk is the
    // chunk (`Echo::reserve_streamed`), so the driver does not keep `reserve`'s 61 bytes
    // for a limits PONG free there: the send buffer fills as a plain byte echo's does.
    // (With the margin, each chunk that filled the room waited for 61 more bytes of ACKs,
    // and the board's bulk echo went out in uneven, short TCP segments.)
    let mut world = World::<1, 1024>::new(ServerConfig::BOARD);
    let payload = Prng::new(12).bytes(256 * 1024);
    let (sent, expected) = stream(&[(Header::data(1, &payload), payload.clone())]);
    let handle = world.connect();
    // The client does not read: its receive buffer fills, then the server's send buffer.
    let mut peer = Peer::new(handle, sent).paused().closing();
    world.run_for(3_000, |w| peer.pump(&mut w.client_sockets));
    assert!(!peer.all_written(), "the client should be blocked");
    let server = world
        .server_sockets
        .get::<tcp::Socket>(world.server_handles[0]);
    assert_eq!(
        (server.send_queue(), server.state()),
        (server.send_capacity(), State::Established),
        "the server's send buffer should be full mid-frame"
    );

    peer.reading = true;
    world.run_until("the rest of the echo", 100_000, |w| {
        peer.pump(&mut w.client_sockets);
        peer.all_written() && peer.at_eof(&w.client_sockets)
    });
    assert!(peer.received == expected, "echo differs");
}
