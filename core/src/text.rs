//! Numbers as text for error messages, without `core::fmt`'s integer formatting.
//!
//! `write!(f, "{n}")` pulls `core::fmt`'s padding and, for a `u64`, a 64-bit division
//! routine into a Cortex-M3 image: about 1.5 KiB of flash, for messages a board sends
//! rarely. These write the same digits with 32-bit arithmetic only and hand them to
//! [`fmt::Write::write_str`], so a message carries the same numbers for less flash. They
//! take `&mut dyn Sink`: one copy in flash, whatever they write into.

use core::fmt;

/// Where message text goes. Only `write_str`: a `dyn fmt::Write` would bring its
/// `write_fmt` (and with it `core::fmt::write`) into the image through the vtable.
pub(crate) trait Sink {
    /// Appends `s`.
    fn put(&mut self, s: &str) -> fmt::Result;
}

impl<W: fmt::Write> Sink for W {
    fn put(&mut self, s: &str) -> fmt::Result {
        self.write_str(s)
    }
}

/// One piece of a message.
pub(crate) enum Piece<'a> {
    /// Text as it is.
    Str(&'a str),
    /// A number in decimal.
    Dec(u64),
    /// A number in lower-case hex, zero-padded to the given number of digits.
    Hex(u32, usize),
}

/// Writes a message given as pieces: one loop for every message, which takes less flash
/// than a call sequence per message.
pub(crate) fn write(w: &mut dyn Sink, pieces: &[Piece<'_>]) -> fmt::Result {
    for piece in pieces {
        match *piece {
            Piece::Str(s) => w.put(s)?,
            Piece::Dec(v) => decimal(w, v)?,
            Piece::Hex(v, digits) => hex(w, v, digits)?,
        }
    }
    Ok(())
}

/// Writes `v` in decimal (as `{v}` would).
pub(crate) fn decimal(w: &mut dyn Sink, v: u64) -> fmt::Result {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut v = v;
    // Above u32::MAX, peel digits off with a division done in 16-bit pieces: no 64-bit
    // division routine needed. At most ten rounds bring any u64 under u32::MAX.
    while v > u64::from(u32::MAX) {
        let (q, r) = div10(v);
        at -= 1;
        digits[at] = b'0' + r;
        v = q;
    }
    let mut v = v as u32;
    loop {
        at -= 1;
        digits[at] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    ascii(w, &digits[at..])
}

/// `v / 10` and `v % 10` by long division over four 16-bit pieces: each step divides a
/// number below 10 x 2^16 by 10, which 32-bit arithmetic does (by a multiplication).
fn div10(v: u64) -> (u64, u8) {
    let mut q = 0u64;
    let mut r = 0u32;
    for shift in [48, 32, 16, 0] {
        let cur = (r << 16) | ((v >> shift) as u32 & 0xFFFF);
        q |= u64::from(cur / 10) << shift;
        r = cur % 10;
    }
    (q, r as u8)
}

/// Writes the low `digits` hex digits of `v`, lower case, zero-padded (as `{v:08x}` for 8).
pub(crate) fn hex(w: &mut dyn Sink, v: u32, digits: usize) -> fmt::Result {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 8];
    let digits = digits.min(out.len());
    for (i, d) in out[..digits].iter_mut().enumerate() {
        let shift = 4 * (digits - 1 - i);
        *d = HEX[(v >> shift) as usize & 0xF];
    }
    ascii(w, &out[..digits])
}

/// Writes bytes known to be ASCII.
pub(crate) fn ascii(w: &mut dyn Sink, bytes: &[u8]) -> fmt::Result {
    w.put(core::str::from_utf8(bytes).map_err(|_| fmt::Error)?)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;

    fn dec(v: u64) -> String {
        let mut s = String::new();
        decimal(&mut s, v).unwrap();
        s
    }

    #[test]
    fn decimal_matches_core_fmt() {
        let mut cases = std::vec![0, 1, 9, 10, 99, 100, 4_294_967_295, 4_294_967_296];
        cases.extend([u64::MAX, u64::MAX - 1, 10_000_000_000_000_000_000, 1 << 63]);
        let mut x = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..10_000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            cases.push(x >> (x % 64));
        }
        for v in cases {
            assert_eq!(dec(v), std::format!("{v}"), "{v}");
        }
    }

    #[test]
    fn hex_matches_core_fmt() {
        for v in [0, 1, 0xF5, 0xE306_9283, u32::MAX] {
            let mut s = String::new();
            hex(&mut s, v, 8).unwrap();
            assert_eq!(s, std::format!("{v:08x}"));
            let mut s = String::new();
            hex(&mut s, v & 0xFF, 2).unwrap();
            assert_eq!(s, std::format!("{:02x}", v & 0xFF));
        }
    }
}
