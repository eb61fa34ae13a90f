//! What a sender on a link writes, and the noise a link carries (spec section 9.1): shared by
//! the board's UART tests and `cargo xtask bench-uart`.

use crate::pattern;
use sockframe::{Header, encode_frame};

/// A frame's bytes, with the header check if `checked`.
pub fn frame_bytes(header: &Header<'_>, payload: &[u8], checked: bool) -> Vec<u8> {
    let header = match checked {
        true => header.with_header_check(),
        false => *header,
    };
    let mut out = vec![0u8; 64 + payload.len()];
    let n = encode_frame(&header, payload, &mut out).expect("a test frame encodes");
    out.truncate(n);
    out
}

/// A DATA frame as a sender on a link writes it: payload crc and header check.
pub fn checked_data(id: u32, payload: &[u8]) -> Vec<u8> {
    frame_bytes(
        &Header::data(id, payload).with_crc_of(payload),
        payload,
        true,
    )
}

/// Noise a link carries between frames, each with what it is: 1 KiB of random bytes, a
/// 64-byte boot message, a false frame start claiming a 400-byte header, a checked frame
/// whose payload was damaged (86 bytes).
pub fn noises() -> Vec<(&'static str, Vec<u8>)> {
    let burst = (0..1024u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let mut damaged = checked_data(1000, &pattern(64, 9));
    let last = damaged.len() - 1;
    damaged[last] ^= 1;
    vec![
        ("1 KiB of random bytes", burst),
        (
            "a 64-byte boot message",
            b"\r\nU-Boot 2024.01 (Jan 01 2024 - 00:00:00 +0000)\r\nDRAM:  64 KiB\r\n".to_vec(),
        ),
        (
            "a false frame start claiming a 400-byte header",
            vec![0xF5, 0x46, 0x01, 0x90, 0x01, 0x00, 0x07],
        ),
        ("a frame with a damaged payload", damaged),
    ]
}
