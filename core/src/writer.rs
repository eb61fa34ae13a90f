//! The header writer: postcard's bytes for a [`Header`], written by hand.
//!
//! postcard's serde serializer defines the wire format and stays the reference (the tests
//! `core/tests/header_equivalence.rs` and the `header` fuzz target compare the two byte for
//! byte); this writer produces the same bytes without serde's machinery, which cost about
//! 200 instructions per frame and 1.5 KiB of flash on the board.
//!
//! Fields in order: kind (byte), id (varint), len (varint), flags (byte), name (option:
//! `00`, or `01` then varint length and bytes), crc (option: `00`, or `01` then varint),
//! meta (varint count, then each key and value as varint length and bytes).

use crate::header::Header;
use crate::prefix::{PREFIX_LEN, Prefix};

/// The longest header with no name, checksum or metadata: kind 1, id 5, len 10, flags 1,
/// three empty fields 3.
const PLAIN_MAX: usize = 20;

/// Writes the header (with `len` as its payload length) into `out` and returns its
/// encoded length. When that is more than `out.len()`, `out` holds only a part of it (the
/// caller reports the buffer as too small); the returned length is right either way, so
/// `write(h, len, &mut [])` measures a header.
pub(crate) fn write(h: &Header<'_>, len: u64, out: &mut [u8]) -> usize {
    write_any(h, len, out)
}

/// The fast path for the most common frame, a header with no name, checksum or metadata:
/// prefix and header written straight into `out` when it has room for the longest such
/// head. Returns the head's length, or `None` for every other case (then [`write()`] does it).
/// Left out with the `small` feature: it is a second copy of the work.
#[inline(always)]
pub(crate) fn plain_head(h: &Header<'_>, len: u64, out: &mut [u8]) -> Option<usize> {
    if cfg!(feature = "small")
        || h.name.is_some()
        || h.crc.is_some()
        || !h.meta.is_empty()
        || h.flags.contains(crate::header::Flags::HCHECK)
    {
        return None;
    }
    let out = out.first_chunk_mut::<{ PREFIX_LEN + PLAIN_MAX }>()?;
    let (prefix, header) = out.split_first_chunk_mut::<PREFIX_LEN>()?;
    header[0] = h.kind.0;
    let mut at = 1 + varint_into(u64::from(h.id), &mut header[1..6]);
    at += varint_into(len, &mut header[at..at + 10]);
    // flags, then name, crc and meta each empty: 00 00 00.
    header[at..at + 4].copy_from_slice(&[h.flags.0, 0, 0, 0]);
    let header_len = at + 4;
    Prefix {
        header_len: header_len as u16,
    }
    .emit(prefix);
    Some(PREFIX_LEN + header_len)
}

/// [`plain_head`] and the payload after it, when `out` has room for the longest such head
/// and the payload: one check for the whole frame.
#[inline(always)]
pub(crate) fn plain_frame(h: &Header<'_>, payload: &[u8], out: &mut [u8]) -> Option<usize> {
    if out.len() < PREFIX_LEN + PLAIN_MAX + payload.len() {
        return None;
    }
    let head = plain_head(h, payload.len() as u64, out)?;
    let end = head + payload.len();
    out.get_mut(head..end)?.copy_from_slice(payload);
    Some(end)
}

/// A varint into `out`, which has room for it; returns its length.
#[inline(always)]
fn varint_into(mut v: u64, out: &mut [u8]) -> usize {
    let mut at = 0;
    for slot in out.iter_mut() {
        at += 1;
        if v < 0x80 {
            *slot = v as u8;
            break;
        }
        *slot = v as u8 | 0x80;
        v >>= 7;
    }
    at
}

/// Any header, field by field.
fn write_any(h: &Header<'_>, len: u64, out: &mut [u8]) -> usize {
    let mut w = Out { out, at: 0 };
    w.byte(h.kind.0);
    w.varint(u64::from(h.id));
    w.varint(len);
    w.byte(h.flags.0);
    // An option: 00, or 01 and the value.
    w.byte(u8::from(h.name.is_some()));
    if let Some(name) = h.name {
        w.str(name);
    }
    w.byte(u8::from(h.crc.is_some()));
    if let Some(crc) = h.crc {
        w.varint(u64::from(crc));
    }
    w.varint(h.meta.len() as u64);
    for (key, value) in h.meta.iter() {
        w.str(key);
        w.str(value);
    }
    w.at
}

/// A position in the output that keeps counting past its end (what does not fit is not
/// written, and the count says how much room was needed).
struct Out<'o> {
    out: &'o mut [u8],
    at: usize,
}

impl Out<'_> {
    #[cfg_attr(feature = "small", inline(never))]
    fn byte(&mut self, b: u8) {
        if let Some(slot) = self.out.get_mut(self.at) {
            *slot = b;
        }
        self.at += 1;
    }

    /// `small`: one copy for the five varints of a header (each inlined was about 30 B).
    #[cfg_attr(feature = "small", inline(never))]
    fn varint(&mut self, mut v: u64) {
        while v >= 0x80 {
            self.byte(v as u8 | 0x80);
            v >>= 7;
        }
        self.byte(v as u8);
    }

    fn str(&mut self, s: &str) {
        self.varint(s.len() as u64);
        let end = self.at.saturating_add(s.len());
        if let Some(dst) = self.out.get_mut(self.at..end) {
            dst.copy_from_slice(s.as_bytes());
        }
        self.at = end;
    }
}
