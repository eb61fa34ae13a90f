//! Numbers as text for error messages, without `core::fmt`'s integer formatting.
//!
//! `write!(f, "{n}")` pulls `core::fmt`'s padding and, for a `u64`, a 64-bit division
//! routine into a Cortex-M3 image: about 1.5 KiB of flash, for messages a board sends
//! rarely. These write the same digits with 32-bit arithmetic only and hand them to
//! [`fmt::Write::write_str`], so a message carries the same numbers for less flash. They
//! take `&mut dyn Sink`: one copy in flash, whatever they write into.

use crate::report::Detail;
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

/// Writes a message template: its text as it is, except the marks (bytes below `0x20`,
/// which no message has otherwise), each replaced by a value of `values`:
///
/// - `\x01`..`\x04`: value 1..4, a number in decimal (`{n}`) or a text as it is;
/// - `\x11`..`\x14`: value 1..4, a number as 8 lower-case hex digits (`{n:08x}`);
/// - `\x0f`: `extra`.
///
/// One template string and one walk for every message take less flash than a call
/// sequence (or an array of pieces built on the stack) per message, and the numbers come
/// from the same values the error frame's metadata carries. A mark without a value writes
/// nothing.
pub(crate) fn render(
    w: &mut dyn Sink,
    template: &str,
    values: &[Detail],
    extra: &str,
) -> fmt::Result {
    let mut rest = template;
    loop {
        let at = rest.bytes().position(|b| b < 0x20).unwrap_or(rest.len());
        // Marks are ASCII, so both halves are whole characters.
        let (text, tail) = rest.split_at_checked(at).ok_or(fmt::Error)?;
        w.put(text)?;
        let Some(&mark) = tail.as_bytes().first() else {
            return Ok(());
        };
        rest = tail.get(1..).unwrap_or("");
        if mark == 0x0f {
            w.put(extra)?;
            continue;
        }
        let value = usize::from(mark & 0x0f)
            .checked_sub(1)
            .and_then(|i| values.get(i));
        match value {
            Some(Detail::Text(t)) => w.put(t)?,
            Some(&Detail::Number(n)) if mark & 0x10 != 0 => hex(w, n as u32, 8)?,
            Some(&Detail::Number(n)) => decimal(w, n)?,
            None => {}
        }
    }
}

/// Whether `a` and `b` hold the same bytes (`a == b`). `small`: compared byte by byte, so
/// that a firmware needs no `memcmp` (116 B on a Cortex-M3) for its few short comparisons
/// (a metadata key, a reader's problem, the frame start).
#[cfg(feature = "small")]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

#[cfg(not(feature = "small"))]
#[inline(always)]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    a == b
}

/// Writes `v` in decimal (as `{v}` would).
pub(crate) fn decimal(w: &mut dyn Sink, v: u64) -> fmt::Result {
    w.put(digits(v, &mut [0; 20]))
}

/// `v` in decimal (as `{v}` would), written at the end of `buf` (20 digits hold any u64).
pub(crate) fn digits(v: u64, buf: &mut [u8; 20]) -> &str {
    // Long division by 10 over three pieces of at most 28 bits, most significant first:
    // each step divides a number below 10 x 2^28 (< 2^32), which 32-bit arithmetic does,
    // so no 64-bit division routine is needed. One loop for every size of number (a
    // second, 32-bit loop for the common small numbers would be faster and larger;
    // messages are rare, flash is not).
    const MASK: u64 = (1 << 28) - 1;
    let mut pieces = [
        (v >> 56) as u32,
        ((v >> 28) & MASK) as u32,
        (v & MASK) as u32,
    ];
    let mut at = buf.len();
    while let Some(d) = buf[..at].last_mut() {
        let mut r = 0;
        for piece in &mut pieces {
            let cur = (r << 28) | *piece;
            *piece = cur / 10;
            r = cur % 10;
        }
        *d = b'0' + r as u8;
        at -= 1;
        if pieces.iter().all(|&p| p == 0) {
            break;
        }
    }
    // Only ASCII digits were written.
    core::str::from_utf8(&buf[at..]).unwrap_or("")
}

/// Writes the low `digits` hex digits of `v`, lower case, zero-padded (as `{v:08x}` for 8).
pub(crate) fn hex(w: &mut dyn Sink, v: u32, digits: usize) -> fmt::Result {
    const HEX: &str = "0123456789abcdef";
    // One digit at a time, most significant first (messages are rare: no buffer).
    for i in (0..digits.min(8)).rev() {
        let d = (v >> (4 * i)) as usize & 0xF;
        w.put(HEX.get(d..d + 1).unwrap_or("0"))?;
    }
    Ok(())
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
    fn templates_write_their_values() {
        use Detail::{Number as N, Text as T};
        let mut s = String::new();
        let values = [N(7), T("name"), N(0xE306_9283), N(u64::MAX)];
        render(&mut s, "a\x01b\x02c\x13d\x04e\x0f\x05", &values, "x").unwrap();
        assert_eq!(s, std::format!("a7bnamece3069283d{}ex", u64::MAX));
        let mut s = String::new();
        render(&mut s, "\x01", &[], "").unwrap();
        assert_eq!(s, "");
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
