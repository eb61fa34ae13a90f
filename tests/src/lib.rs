//! Shared by the cross-crate tests and `cargo xtask`: boot the QEMU board running the
//! firmware in `qemu/`, talk to it with the core's blocking client side, and always clean up.
#![warn(missing_docs)]

pub mod board;
pub mod child;
pub mod client;
pub mod desktop;
pub mod link;
pub mod spec;

use sockframe::{Header, encode_frame};

/// `payload` encoded as one whole frame under `header` (prefix, header, payload).
pub fn frame(header: &Header<'_>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0; payload.len() + 1024];
    let n = encode_frame(header, payload, &mut out).expect("encode");
    out.truncate(n);
    out
}

/// Deterministic pseudo-random bytes (xorshift), so that a shifted or mixed-up echo does not
/// compare equal the way a constant fill would.
pub fn pattern(len: usize, seed: u32) -> Vec<u8> {
    let mut x = seed.wrapping_mul(2_654_435_761).max(1);
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            x as u8
        })
        .collect()
}
