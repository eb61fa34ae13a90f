//! Appending frames to a growable output buffer, so that many replies leave in one write.
//!
//! Thin wrappers over the core encoders ([`encode_head`], [`encode_error_frame`]): the
//! buffer grows by exactly what the head needs, then the payload is copied after it.

use sockframe::{
    ERROR_MESSAGE_MAX, EncodeError, Flags, Header, Kind, MAGIC, PREFIX_LEN, VERSION,
    encode_error_frame, encode_head,
};
use std::fmt;

/// The stack array a head is first written into: every head without name, checksum or
/// metadata (at most 25 bytes, the room the core's fast path asks for) and a few more fit.
pub(crate) const HEAD_ROOM: usize = 32;

/// A growable byte buffer frames are appended to: the services' `Vec<u8>` and the codec's
/// and async client's `BytesMut`, so one head writer serves all three.
pub(crate) trait Grow: std::ops::DerefMut<Target = [u8]> {
    /// Appends `bytes`.
    fn append(&mut self, bytes: &[u8]);
    /// Sets the length, zero-filling what is added.
    fn set_len_zeroed(&mut self, len: usize);
    /// Shortens to `len` bytes.
    fn truncate_to(&mut self, len: usize);

    /// Appends the first `n` bytes of `head`: all of it copied (a copy of a known size,
    /// inlined), then cut back, which beats a copy of `n` bytes through `memcpy`.
    #[inline(always)]
    fn append_head(&mut self, head: &[u8; HEAD_ROOM], n: usize) {
        let end = self.len() + n;
        self.append(head);
        self.truncate_to(end);
    }
}

impl Grow for Vec<u8> {
    #[inline]
    fn append(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn set_len_zeroed(&mut self, len: usize) {
        self.resize(len, 0);
    }
    #[inline]
    fn truncate_to(&mut self, len: usize) {
        self.truncate(len);
    }
}

impl Grow for bytes::BytesMut {
    #[inline]
    fn append(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn set_len_zeroed(&mut self, len: usize) {
        self.resize(len, 0);
    }
    #[inline]
    fn truncate_to(&mut self, len: usize) {
        self.truncate(len);
    }
}

/// Whether a head is plain: no name, checksum or metadata, no header check. Most frames'
/// heads are; [`append_plain_head`] writes them.
#[inline(always)]
pub(crate) fn is_plain(header: &Header<'_>) -> bool {
    header.name.is_none()
        && header.crc.is_none()
        && header.meta.is_empty()
        && !header.flags.contains(Flags::HCHECK)
}

/// Appends the head of a frame whose header has only `kind`, `id`, the payload length
/// `len` and `flags` (no name, checksum, metadata or [`Flags::HCHECK`]): the bytes the
/// core's [`encode_head`] writes for it (test `plain_heads_are_the_cores_bytes`), with
/// the varints unrolled and the head appended in one fixed-size copy. The codec's, the
/// async client's and the services' common frame: about 40 instructions fewer than
/// building a core [`Header`] and going through [`encode_head`] into a stack array.
#[inline(always)]
pub(crate) fn append_plain_head<B: Grow>(out: &mut B, kind: Kind, id: u32, len: u64, flags: Flags) {
    let mut head = [0u8; HEAD_ROOM];
    let (prefix, header) = head.split_at_mut(PREFIX_LEN);
    header[0] = kind.0;
    let mut at = 1 + varint(u64::from(id), &mut header[1..6]);
    at += varint(len, &mut header[at..at + 10]);
    // flags, then name, crc and metadata each empty (00 00 00, already there).
    header[at] = flags.0;
    let header_len = at + 4;
    let [lo, hi] = (header_len as u16).to_le_bytes();
    prefix.copy_from_slice(&[MAGIC[0], MAGIC[1], VERSION, lo, hi]);
    out.append_head(&head, PREFIX_LEN + header_len);
}

/// A varint (postcard's: 7 bits a byte, least significant first) into `out`, which has
/// room for it; returns its length. The first three bytes are unrolled (ids and lengths
/// below 2 Mi), the rest a loop.
#[inline(always)]
fn varint(v: u64, out: &mut [u8]) -> usize {
    let [b0, b1, b2, rest @ ..] = out else {
        return varint_loop(v, out);
    };
    if v < 1 << 7 {
        *b0 = v as u8;
        return 1;
    }
    *b0 = v as u8 | 0x80;
    if v < 1 << 14 {
        *b1 = (v >> 7) as u8;
        return 2;
    }
    *b1 = (v >> 7) as u8 | 0x80;
    if v < 1 << 21 {
        *b2 = (v >> 14) as u8;
        return 3;
    }
    *b2 = (v >> 14) as u8 | 0x80;
    3 + varint_loop(v >> 21, rest)
}

/// [`varint`], a byte at a time.
#[inline(always)]
fn varint_loop(mut v: u64, out: &mut [u8]) -> usize {
    for (i, slot) in out.iter_mut().enumerate() {
        if v < 0x80 {
            *slot = v as u8;
            return i + 1;
        }
        *slot = v as u8 | 0x80;
        v >>= 7;
    }
    out.len()
}

/// Appends the head (prefix and header) of a frame with a `payload_len`-byte payload
/// (which replaces `header.len`).
#[inline]
pub fn push_head(
    out: &mut Vec<u8>,
    header: &Header<'_>,
    payload_len: u64,
) -> Result<(), EncodeError> {
    append_head(out, header, payload_len)
}

/// [`push_head`] into any [`Grow`] buffer. Most heads fit a small array, where the core's
/// fast path for plain heads can write them (it wants room for the longest plain head,
/// which an exact-size slice lacks), and are appended; a longer one says how long it is and
/// is written once more, straight into `out`.
#[inline(always)]
pub(crate) fn append_head<B: Grow>(
    out: &mut B,
    header: &Header<'_>,
    payload_len: u64,
) -> Result<(), EncodeError> {
    if is_plain(header) {
        append_plain_head(out, header.kind, header.id, payload_len, header.flags);
        return Ok(());
    }
    append_any_head(out, header, payload_len)
}

/// [`append_head`] for a head with a name, checksum, metadata or header check.
#[inline(never)]
fn append_any_head<B: Grow>(
    out: &mut B,
    header: &Header<'_>,
    payload_len: u64,
) -> Result<(), EncodeError> {
    let mut head = [0u8; HEAD_ROOM];
    let need = match encode_head(header, payload_len, &mut head) {
        Ok(n) => {
            out.append(&head[..n]);
            return Ok(());
        }
        Err(EncodeError::BufferTooSmall { need, .. }) => need,
        Err(e) => return Err(e),
    };
    append_long_head(out, header, payload_len, need)
}

/// [`append_head`] for a head longer than [`HEAD_ROOM`]: `need` bytes, written in place.
#[inline(never)]
fn append_long_head<B: Grow>(
    out: &mut B,
    header: &Header<'_>,
    payload_len: u64,
    need: usize,
) -> Result<(), EncodeError> {
    let at = out.len();
    out.set_len_zeroed(at + need);
    let written = encode_head(header, payload_len, &mut out[at..]);
    out.set_len_zeroed(at + *written.as_ref().unwrap_or(&0));
    written.map(|_| ())
}

/// Appends a whole frame; `header.len` is replaced by the payload length.
#[inline]
pub fn push_frame(
    out: &mut Vec<u8>,
    header: &Header<'_>,
    payload: &[u8],
) -> Result<(), EncodeError> {
    // Room for a common head and the payload at once: one allocation (or none), not one
    // for the head and another for the payload (an empty output, as a connection's is
    // after it waited idle, would otherwise grow twice for every reply).
    out.reserve(HEAD_ROOM + payload.len());
    push_head(out, header, payload.len() as u64)?;
    out.extend_from_slice(payload);
    Ok(())
}

/// Appends a [`Kind::ERROR`](sockframe::Kind::ERROR) frame (metadata `code`, payload = `message`, cut at
/// [`ERROR_MESSAGE_MAX`] bytes), built by the core's [`encode_error_frame`].
pub fn push_error(out: &mut Vec<u8>, id: u32, code: &str, message: &dyn fmt::Display) {
    let mut buf = [0u8; PREFIX_LEN + 128 + ERROR_MESSAGE_MAX];
    // The code is one of this crate's short names and the message is cut by the core, so
    // the frame always fits; if it somehow did not, sending nothing beats sending garbage.
    if let Ok(n) = encode_error_frame(id, code, message, &mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The core's bytes for a head, written through [`encode_head`] alone.
    fn core_head(header: &Header<'_>, len: u64) -> Vec<u8> {
        let mut out = vec![0u8; 64];
        let n = encode_head(header, len, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// Every varint length of id and payload length, at its edges.
    fn edges() -> Vec<u64> {
        (0..64)
            .flat_map(|bits| {
                let at = 1u64 << bits;
                [at - 1, at, at + 1]
            })
            .chain([u64::MAX])
            .collect()
    }

    fn check(kind: u8, id: u32, len: u64, flags: u8) {
        let header = Header {
            flags: Flags(flags),
            ..Header::new(Kind(kind), id, len)
        };
        let mut vec = b"before".to_vec();
        append_plain_head(&mut vec, Kind(kind), id, len, Flags(flags));
        assert_eq!(&vec[..6], b"before");
        assert_eq!(vec[6..], core_head(&header, len), "{header:?}");
        let mut bytes = bytes::BytesMut::new();
        append_head(&mut bytes, &header, len).unwrap();
        assert_eq!(bytes[..], vec[6..]);
    }

    /// The plain head writer writes the core's bytes, at every varint length's edges.
    #[test]
    fn plain_heads_are_the_cores_bytes() {
        for &id in &edges() {
            let Ok(id) = u32::try_from(id) else { continue };
            for &len in &edges() {
                check(0x10, id, len, 0);
            }
        }
        for flags in [0, 1, 2, 3, 0x80, 0xFB] {
            check(0xFF, 1, 64, flags);
        }
    }

    proptest! {
        #[test]
        fn random_plain_heads_are_the_cores_bytes(
            kind: u8,
            id: u32,
            len: u64,
            flags in any::<u8>().prop_map(|f| f & !Flags::HCHECK.0),
        ) {
            check(kind, id, len, flags);
        }
    }
}
