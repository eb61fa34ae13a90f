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
