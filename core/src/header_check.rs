//! The header check (flag [`Flags::HCHECK`](crate::Flags::HCHECK), spec section 9): the last
//! 4 bytes of a header, CRC-32C little-endian over the 5-byte prefix and the header bytes
//! before them. A receiver on a link without connections (a UART) uses it to tell a real
//! frame start from a false magic in noise, or a header damaged in transit, before it trusts
//! `header_len` and `len`. v1 receivers skip those 4 bytes like any trailing header field.
//!
//! ```
//! use sockframe::{Header, encode_frame, header_check::verify};
//!
//! let mut out = [0u8; 32];
//! let n = encode_frame(&Header::data(1, b"hi").with_header_check(), b"hi", &mut out).unwrap();
//! let head = n - 2;
//! assert!(verify(&out[..head]).is_ok());
//! out[6] ^= 1; // a flipped bit in the header
//! assert!(verify(&out[..head]).is_err());
//! ```

use crate::prefix::PREFIX_LEN;

/// Bytes the header check takes at the end of the header.
pub const HCHECK_LEN: usize = 4;

/// The check value for `covered`: the prefix and the header bytes before the check.
pub fn compute(covered: &[u8]) -> u32 {
    crate::checksum::crc32c(covered)
}

/// Why a head (prefix and whole header) does not carry a valid header check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum CheckError {
    /// The head is shorter than a prefix, a minimal header and the check.
    TooShort {
        /// Bytes given.
        len: usize,
        /// The least a checked head has: prefix 5, seven fields 7, check 4.
        need: usize,
    },
    /// The check bytes do not match the bytes they cover.
    Mismatch {
        /// The check the head carries.
        carried: u32,
        /// The check of the covered bytes.
        computed: u32,
    },
}

impl core::fmt::Display for CheckError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            CheckError::TooShort { len, need } => {
                write!(f, "head is {len} bytes, a checked head has at least {need}")
            }
            CheckError::Mismatch { carried, computed } => {
                write!(f, "header check {carried:08x}, computed {computed:08x}")
            }
        }
    }
}

/// The least bytes a head with a header check has: prefix, the seven one-byte fields, check.
pub const MIN_CHECKED_HEAD: usize = PREFIX_LEN + 7 + HCHECK_LEN;

/// Verifies the header check of `head`: the prefix and exactly `header_len` header bytes,
/// the last [`HCHECK_LEN`] of them the check. Whether the flag is set is the caller's
/// question (the header must parse first); this checks only the bytes.
pub fn verify(head: &[u8]) -> Result<(), CheckError> {
    if head.len() < MIN_CHECKED_HEAD {
        return Err(CheckError::TooShort {
            len: head.len(),
            need: MIN_CHECKED_HEAD,
        });
    }
    let (covered, check) = head.split_at(head.len() - HCHECK_LEN);
    let mut carried = [0u8; HCHECK_LEN];
    carried.copy_from_slice(check);
    let carried = u32::from_le_bytes(carried);
    let computed = compute(covered);
    if carried == computed {
        Ok(())
    } else {
        Err(CheckError::Mismatch { carried, computed })
    }
}

/// Writes the check into the last [`HCHECK_LEN`] bytes of `head` (prefix and whole header),
/// over the bytes before them. `head` is at least [`HCHECK_LEN`] long (the encoder's
/// caller guarantees it).
pub(crate) fn seal(head: &mut [u8]) {
    let at = head.len().saturating_sub(HCHECK_LEN);
    let value = compute(&head[..at]);
    if let Some(dst) = head.get_mut(at..)
        && dst.len() == HCHECK_LEN
    {
        dst.copy_from_slice(&value.to_le_bytes());
    }
}

/// Adds a header check to the frame (or head) at the front of `buf[..len]`, written without
/// one: sets flag HCHECK, grows `header_len` by 4 and inserts the check after the header's
/// last byte, moving the bytes after it (payload bytes in `buf[..len]`) 4 bytes on. Bytes
/// the header holds beyond the fields this revision knows stay, before the check (section
/// 6). A head that already has the flag is left as it is. Returns the new length.
///
/// What a relay onto a link does to frames from a stream peer (spec section 9.1), and how a
/// driver checks a frame an encoder wrote without the flag:
///
/// ```
/// use sockframe::{Header, encode_frame, header_check};
///
/// let mut buf = [0u8; 64];
/// let n = encode_frame(&Header::data(1, b"hi"), b"hi", &mut buf).unwrap();
/// let n = header_check::add(&mut buf, n).unwrap();
/// let mut want = [0u8; 64];
/// let m = encode_frame(&Header::data(1, b"hi").with_header_check(), b"hi", &mut want).unwrap();
/// assert_eq!(&buf[..n], &want[..m]);
/// ```
pub fn add(buf: &mut [u8], len: usize) -> Result<usize, crate::EncodeError> {
    use crate::EncodeError;
    let (head, flags_at) =
        locate_flags(&buf[..len.min(buf.len())]).ok_or(EncodeError::BufferTooSmall {
            need: MIN_CHECKED_HEAD - HCHECK_LEN,
            have: len,
        })?;
    if buf[flags_at] & crate::Flags::HCHECK.0 != 0 {
        return Ok(len);
    }
    let header_len = head - PREFIX_LEN + HCHECK_LEN;
    let header_len = u16::try_from(header_len).map_err(|_| EncodeError::HeaderTooLarge {
        len: header_len,
        limit: usize::from(u16::MAX),
    })?;
    if buf.len() < len + HCHECK_LEN {
        return Err(EncodeError::BufferTooSmall {
            need: len + HCHECK_LEN,
            have: buf.len(),
        });
    }
    buf.copy_within(head..len, head + HCHECK_LEN);
    buf[3..PREFIX_LEN].copy_from_slice(&header_len.to_le_bytes());
    buf[flags_at] |= crate::Flags::HCHECK.0;
    seal(&mut buf[..head + HCHECK_LEN]);
    Ok(len + HCHECK_LEN)
}

/// The head's length (prefix and header) and the offset of its `flags` byte, if `bytes`
/// hold a whole prefix and header with `kind`, `id`, `len` and `flags`.
fn locate_flags(bytes: &[u8]) -> Option<(usize, usize)> {
    let [_, _, _, lo, hi, ..] = *bytes else {
        return None;
    };
    let head = PREFIX_LEN + usize::from(u16::from_le_bytes([lo, hi]));
    let header = bytes.get(PREFIX_LEN..head)?;
    // kind (1 byte), then two varints (id, len): the flags byte follows the second's end.
    let mut at = 1;
    for _ in 0..2 {
        at += header.get(at..)?.iter().position(|b| b & 0x80 == 0)? + 1;
    }
    (at < header.len()).then_some((head, PREFIX_LEN + at))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decoder, Event, Flags, Header, encode_frame, encode_head};

    /// A checked minimal frame: header_len counts the check, the flag is set, it verifies.
    #[test]
    fn golden_bytes() {
        let mut out = [0u8; 64];
        let n = encode_frame(&Header::data(1, b"hi").with_header_check(), b"hi", &mut out).unwrap();
        let head = n - 2;
        assert_eq!(out[3], 11, "header_len: seven fields and the check");
        assert_eq!(out[8], Flags::HCHECK.0);
        assert!(verify(&out[..head]).is_ok());
    }

    /// Every single flipped bit of the head is caught; a v1 decoder still decodes the
    /// frame and hands over the same fields.
    #[test]
    fn every_bit_flip_caught_and_v1_decodes() {
        let payload = b"payload";
        let header = Header::data(300, payload)
            .with_name("n")
            .with_crc_of(payload)
            .with_header_check();
        let mut out = [0u8; 64];
        let n = encode_frame(&header, payload, &mut out).unwrap();
        let head = n - payload.len();
        for byte in 0..head {
            for bit in 0..8 {
                let mut bad = out;
                bad[byte] ^= 1 << bit;
                assert!(verify(&bad[..head]).is_err(), "byte {byte} bit {bit}");
            }
        }
        let mut buf = [0u8; 64];
        let mut d = Decoder::new(&mut buf[..]);
        assert_eq!(d.feed(&out[..n]), n);
        let mut seen = false;
        if let Ok(Some(Event::Frame(f))) = d.next_event() {
            assert_eq!(f.header.id, 300);
            assert_eq!(f.header.name, Some("n"));
            assert!(f.header.flags.contains(Flags::HCHECK));
            assert_eq!(f.payload, payload);
            seen = true;
        }
        assert!(seen);
    }

    /// A head written in two steps (head, then payload) carries the same check.
    #[test]
    fn head_equals_frame_head() {
        let header = Header::data(5, b"abc").with_header_check();
        let mut a = [0u8; 64];
        let mut b = [0u8; 64];
        let n = encode_frame(&header, b"abc", &mut a).unwrap();
        let h = encode_head(&header, 3, &mut b).unwrap();
        assert_eq!(&a[..h], &b[..h]);
        assert_eq!(n, h + 3);
    }

    /// `add` gives the encoder's own bytes for frames with every field, keeps bytes a later
    /// revision added, and refuses what it cannot do with the numbers.
    #[test]
    fn add_matches_the_encoder() {
        let meta = [("k", "v")];
        let payload = b"payload";
        let header = Header::data(300, payload)
            .with_name("n")
            .with_crc_of(payload)
            .with_meta(&meta);
        let mut buf = [0u8; 128];
        let n = encode_frame(&header, payload, &mut buf).unwrap();
        let n = add(&mut buf, n).unwrap();
        let mut want = [0u8; 128];
        let m = encode_frame(&header.with_header_check(), payload, &mut want).unwrap();
        assert_eq!(&buf[..n], &want[..m]);
        // Already checked: unchanged.
        assert_eq!(add(&mut buf, n), Ok(n));
        // A head alone (no payload bytes yet).
        let h = encode_head(&header, 7, &mut buf).unwrap();
        assert_eq!(add(&mut buf, h), Ok(h + 4));
        assert_eq!(&buf[..h + 4], &want[..m - 7]);
        // Unknown header bytes (vector 8.10) stay before the check.
        let mut future = [0u8; 32];
        let v = [
            0xf5, 0x46, 1, 9, 0, 0, 1, 2, 0, 0, 0, 0, 0xff, 0x07, b'h', b'i',
        ];
        future[..16].copy_from_slice(&v);
        assert_eq!(add(&mut future, 16), Ok(20));
        assert_eq!(&future[12..14], &[0xff, 0x07]);
        assert!(verify(&future[..18]).is_ok());
        assert_eq!(&future[18..20], b"hi");
        // No room, or no whole head.
        let mut tight = [0u8; 14];
        tight.copy_from_slice(&v[..14]);
        assert_eq!(
            add(&mut tight, 14),
            Err(crate::EncodeError::BufferTooSmall { need: 18, have: 14 })
        );
        assert!(add(&mut [0xf5, 0x46, 1, 9, 0, 0], 6).is_err());
        assert!(add(&mut [0u8; 3], 3).is_err());
    }

    /// Hostile lengths never panic.
    #[test]
    fn short_heads() {
        for len in 0..MIN_CHECKED_HEAD {
            assert!(matches!(
                verify(&[0xF5; 32][..len]),
                Err(CheckError::TooShort { .. })
            ));
        }
        let mut tiny = [0u8; 2];
        seal(&mut tiny);
    }
}
