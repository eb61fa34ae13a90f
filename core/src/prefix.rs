//! The fixed-size prefix that opens every frame.
//!
//! ```text
//!  byte 0      1       2          3       4
//!  +-------+-------+---------+-----------------+
//!  | 0xF5  | 0x46  | version | header_len (LE) |
//!  +-------+-------+---------+-----------------+
//!    magic           0x01      u16, 1..=65535
//! ```
//!
//! The magic is checked byte by byte as it arrives, so a peer speaking another protocol
//! (`GET / HTTP/1.1`, a telnet line, a bare 4-byte length) is rejected on its first byte.
//! `0xF5` never starts an ASCII or UTF-8 text, nor a small big-endian length.

use crate::error::DecodeError;

/// The two bytes every frame starts with.
pub const MAGIC: [u8; 2] = [0xF5, 0x46];
/// The wire-format version this crate speaks.
pub const VERSION: u8 = 1;
/// Size of the fixed prefix in bytes.
pub const PREFIX_LEN: usize = 5;

// Field offsets, named once.
const MAGIC_AT: usize = 0;
const VERSION_AT: usize = 2;
const HEADER_LEN_AT: usize = 3;

/// The largest header the prefix can announce.
pub const MAX_HEADER_LEN: usize = u16::MAX as usize;

/// A parsed prefix: just the length of the header that follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Prefix {
    /// Length of the postcard header that follows the prefix, in bytes.
    pub header_len: u16,
}

impl Prefix {
    /// Checks the magic bytes present so far (`bytes` may be shorter than the prefix).
    ///
    /// Lets a receiver reject a foreign protocol on its very first byte.
    #[inline(always)]
    pub fn check_magic(bytes: &[u8]) -> Result<(), DecodeError> {
        // Byte by byte (not a slice compare): this runs once per frame.
        let ok = match bytes {
            [] => true,
            [a] => *a == MAGIC[0],
            [a, b, ..] => *a == MAGIC[0] && *b == MAGIC[1],
        };
        if ok {
            Ok(())
        } else {
            Err(DecodeError::bad_magic(bytes))
        }
    }

    /// Parses a prefix from the start of `bytes`; `Ok(None)` if fewer than
    /// [`PREFIX_LEN`] bytes are there yet. A wrong magic or version byte is an error as soon
    /// as it is in `bytes`.
    #[inline(always)]
    pub fn parse(bytes: &[u8]) -> Result<Option<Prefix>, DecodeError> {
        Self::check_magic(bytes)?;
        // The version is checked as soon as it arrives, before `header_len` (spec 2).
        if let Some(&version) = bytes.get(VERSION_AT)
            && version != VERSION
        {
            return Err(DecodeError::UnsupportedVersion { version });
        }
        let Some(p) = bytes.get(..PREFIX_LEN) else {
            return Ok(None);
        };
        let header_len = u16::from_le_bytes([p[HEADER_LEN_AT], p[HEADER_LEN_AT + 1]]);
        Ok(Some(Prefix { header_len }))
    }

    /// Writes the prefix into the first [`PREFIX_LEN`] bytes of `out`.
    #[inline]
    pub fn emit(&self, out: &mut [u8; PREFIX_LEN]) {
        out[MAGIC_AT..VERSION_AT].copy_from_slice(&MAGIC);
        out[VERSION_AT] = VERSION;
        out[HEADER_LEN_AT..].copy_from_slice(&self.header_len.to_le_bytes());
    }
}
