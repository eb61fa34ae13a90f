//! Byte-exact forwarding (spec, section 6.1): every frame comes back as it arrived, header
//! bytes the echo does not understand included; a PING as a PONG (the kind byte only); a
//! limits request with the limits PONG.

mod common;

use common::world::{ServerConfig, World};
use common::{echo_until_fin, frame};
use sockframe::{Decoder, Event, Header, Kind, Limits, encode_limits_pong};
use sockframe_smoltcp::{Echo, Handler};

const N: usize = 1024;

/// `frame` with `extra` appended to its header (bytes of a later revision): `header_len`
/// grows, the payload follows them.
fn with_trailing_header_bytes(frame: &[u8], extra: &[u8]) -> Vec<u8> {
    let header_len = usize::from(u16::from_le_bytes([frame[3], frame[4]]));
    let head = 5 + header_len;
    let mut out = frame[..3].to_vec();
    out.extend_from_slice(&((header_len + extra.len()) as u16).to_le_bytes());
    out.extend_from_slice(&frame[5..head]);
    out.extend_from_slice(extra);
    out.extend_from_slice(&frame[head..]);
    out
}

/// DATA with id 1 written non-shortest (`81 00`) and reserved flag bit 7 set.
fn odd_frame(payload: &[u8]) -> Vec<u8> {
    let mut header = vec![0x00, 0x81, 0x00];
    let mut len = payload.len() as u64;
    while len >= 0x80 {
        header.push(len as u8 | 0x80);
        len >>= 7;
    }
    header.push(len as u8);
    header.extend_from_slice(&[0x80, 0x00, 0x00, 0x00]); // flags, no name, no crc, 0 meta
    let mut out = vec![0xF5, 0x46, 0x01];
    out.extend_from_slice(&(header.len() as u16).to_le_bytes());
    out.extend(header);
    out.extend_from_slice(payload);
    out
}

#[test]
fn frames_with_bytes_of_a_later_revision_come_back_unchanged() {
    let mut world = World::<1, N>::new(ServerConfig::BOARD);
    let small = b"hi".to_vec();
    let large = common::Prng::new(5).bytes(5000); // streamed through the 1 KiB buffer
    let mut sent = Vec::new();
    for (i, payload) in [&small, &large].into_iter().enumerate() {
        let plain = frame(&Header::data(i as u32, payload), payload);
        // Unknown trailing header bytes.
        sent.extend(with_trailing_header_bytes(&plain, &[0xFF, 0x07, 0x00]));
        sent.extend(odd_frame(payload));
    }
    let back = echo_until_fin(&mut world, sent.clone(), 700);
    assert!(
        back == sent,
        "echo differs from what was sent ({} vs {} bytes)",
        back.len(),
        sent.len()
    );
}

#[test]
fn a_ping_comes_back_as_a_pong_with_its_unknown_bytes() {
    let mut world = World::<1, N>::new(ServerConfig::BOARD);
    for payload in [b"hi".to_vec(), vec![9; 3000]] {
        let ping = with_trailing_header_bytes(
            &frame(&Header::new(Kind::PING, 7, payload.len() as u64), &payload),
            &[0xFF, 0x07],
        );
        let mut pong = ping.clone();
        pong[5] = Kind::PONG.0;
        assert_eq!(
            echo_until_fin(&mut world, ping, 700),
            pong,
            "{} bytes",
            payload.len()
        );
    }
}

#[test]
fn a_limits_request_gets_the_limits_pong_then_its_payload() {
    let mut world = World::<1, N>::new(ServerConfig::BOARD);
    let pairs = [("limits", "")];
    let request = Header::new(Kind::PING, 8, 3).with_meta(&pairs);
    let back = echo_until_fin(&mut world, frame(&request, b"abc"), 700);

    let mut dec = Decoder::new([0u8; N]);
    dec.feed(&back);
    let Ok(Some(Event::Frame(pong))) = dec.next_event() else {
        panic!("not one frame: {back:02x?}")
    };
    assert_eq!(
        (pong.header.kind, pong.header.id, pong.payload),
        (Kind::PONG, 8, &b"abc"[..])
    );
    let meta: Vec<_> = pong.header.meta.iter().collect();
    assert_eq!(
        meta,
        [
            ("max-header", "512"),
            ("max-payload", "67108864"),
            ("max-meta", "8"),
            ("trailer", "1")
        ]
    );
}

/// The echo's `reserve` covers the longest limits PONG, so its answer always fits the room
/// the driver waits for.
#[test]
fn the_longest_limits_pong_fits_the_echo_reserve() {
    let pairs = [("limits", "")];
    let request = Header::new(Kind::PING, u32::MAX, 0).with_meta(&pairs);
    let request_len = frame(&request, &[]).len();
    let widest = Limits {
        max_header: 512,
        max_payload: u64::MAX,
    };
    let mut out = [0u8; 600];
    let pong_len = encode_limits_pong(&request, widest, &mut out).unwrap();
    assert!(
        pong_len <= Echo.reserve(request_len),
        "limits PONG {pong_len} B, request {request_len} B, reserve {}",
        Echo.reserve(request_len)
    );
}
