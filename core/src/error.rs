//! The errors a receiver or a sender can meet, each carrying the numbers that explain it.

use crate::report::Detail::Number as N;
use crate::text::{self, Sink};
use core::fmt;

/// Where in a frame the stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Stage {
    /// Inside the fixed prefix.
    Prefix,
    /// Inside the postcard header.
    Header,
    /// Inside the payload.
    Payload,
    /// Inside (or before) the trailer (END or ABORT) a frame with the TRAILER flag announced.
    Trailer,
}

impl Stage {
    /// The part's name, as messages and error metadata print it.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stage::Prefix => "prefix",
            Stage::Header => "header",
            Stage::Payload => "payload",
            Stage::Trailer => "trailer",
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Why a received byte stream is not a valid sockframe stream.
///
/// Every variant is final for the connection: the decoder stays failed until
/// [`Decoder::reset`](crate::Decoder::reset), because after a framing error the receiver no
/// longer knows where the next frame starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum DecodeError {
    /// The first bytes are not the magic `F5 46`: the peer speaks another protocol.
    BadMagic {
        /// Up to four of the bytes that were seen, from the start of the frame.
        seen: [u8; 4],
        /// How many bytes of `seen` are valid.
        seen_len: u8,
    },
    /// The prefix names a version this receiver does not speak.
    UnsupportedVersion {
        /// The version byte that was received.
        version: u8,
    },
    /// The announced header is larger than this receiver accepts.
    HeaderTooLarge {
        /// Announced header length in bytes.
        len: usize,
        /// The receiver's limit in bytes.
        limit: usize,
    },
    /// The announced payload is larger than this receiver accepts.
    PayloadTooLarge {
        /// Announced payload length in bytes.
        len: u64,
        /// The receiver's limit in bytes.
        limit: u64,
    },
    /// The header bytes are not a valid v1 header.
    BadHeader {
        /// The field that could not be decoded.
        field: &'static str,
        /// What was wrong with it.
        problem: &'static str,
    },
    /// The header carries more metadata entries than fit.
    TooMuchMetadata {
        /// Announced number of entries.
        count: u64,
        /// The most this build accepts ([`MAX_META`](crate::MAX_META)).
        limit: usize,
    },
    /// A trailer rule is broken: a frame other than END/ABORT (or one for another id) where
    /// a trailer is due, an END/ABORT where none is due, an END with a payload, or an ABORT
    /// message over [`ABORT_MESSAGE_MAX`](crate::ABORT_MESSAGE_MAX) bytes.
    BadTrailer {
        /// The id of the frame whose trailer was due, if one was.
        expected: Option<u32>,
        /// The offending frame's kind.
        kind: u8,
        /// The offending frame's id.
        id: u32,
        /// The offending frame's payload length.
        len: u64,
    },
    /// The payload's CRC-32C does not match the one in the header.
    BadChecksum {
        /// The checksum the header announced.
        expected: u32,
        /// The checksum of the bytes received.
        actual: u32,
    },
    /// The decoder's buffer cannot hold what must be in it whole: the fixed prefix, or an
    /// ABORT trailer (a configuration mistake, reported instead of waiting forever).
    BufferTooSmall {
        /// The buffer's size in bytes.
        capacity: usize,
        /// The bytes that had to fit.
        need: usize,
    },
    /// The stream ended inside a frame.
    UnexpectedEof {
        /// The part of the frame that was cut.
        stage: Stage,
        /// Bytes of that part received.
        have: u64,
        /// Bytes of that part announced.
        need: u64,
    },
}

impl DecodeError {
    pub(crate) fn bad_magic(bytes: &[u8]) -> Self {
        let mut seen = [0u8; 4];
        let n = bytes.len().min(seen.len());
        seen[..n].copy_from_slice(&bytes[..n]);
        DecodeError::BadMagic {
            seen,
            seen_len: n as u8,
        }
    }

    /// A short stable name for the error, sent in error frames as the `code` metadata entry.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::BadMagic { .. } => "bad-magic",
            DecodeError::UnsupportedVersion { .. } => "bad-version",
            DecodeError::HeaderTooLarge { .. } => "header-too-large",
            DecodeError::PayloadTooLarge { .. } => "payload-too-large",
            DecodeError::BadHeader { .. } => "bad-header",
            DecodeError::TooMuchMetadata { .. } => "too-much-metadata",
            DecodeError::BadTrailer { .. } => "bad-trailer",
            DecodeError::BadChecksum { .. } => "bad-checksum",
            DecodeError::BufferTooSmall { .. } => "buffer-too-small",
            DecodeError::UnexpectedEof { .. } => "truncated",
        }
    }
}

/// A guess at what a foreign peer speaks, from its first bytes.
fn guess_protocol(seen: &[u8]) -> &'static str {
    let printable = |b: &u8| b.is_ascii_graphic() || *b == b' ';
    match seen {
        [0x16, 0x03, ..] => "looks like a TLS handshake",
        [0, ..] => "looks like a bare big-endian length prefix",
        [a, ..] if a.is_ascii_uppercase() && seen.iter().all(printable) => {
            "looks like an HTTP request or a text command"
        }
        _ if !seen.is_empty() && seen.iter().all(|b| printable(b) || b.is_ascii_whitespace()) => {
            "looks like a line of text (telnet?)"
        }
        _ => "unknown protocol",
    }
}

// The messages are written with `write_str` and the `text` helpers, not with `write!` and
// `{n}`: that keeps `core::fmt`'s integer formatting and a 64-bit division out of a board's
// flash (see `text`). The words are the same as `{}` would give.
impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_message(f)
    }
}

impl DecodeError {
    /// Writes the message (what `Display` shows) into `f`. Error frames call this straight,
    /// without `write!`, which keeps `core::fmt::write` out of a firmware.
    ///
    /// The message is the template of [`facts`](Self::facts) with the error's metadata
    /// values written in: the numbers a peer reads in the message are the ones in the
    /// frame's metadata, from one place.
    pub(crate) fn write_message(&self, f: &mut dyn Sink) -> fmt::Result {
        if let DecodeError::BadMagic { seen, seen_len } = *self {
            let seen = &seen[..usize::from(seen_len).min(seen.len())];
            f.put("not a sockframe stream: expected magic f5 46, got")?;
            let mut shown = [b'.'; 4];
            for (&b, c) in seen.iter().zip(&mut shown) {
                f.put(" ")?;
                text::hex(f, u32::from(b), 2)?;
                if b.is_ascii_graphic() || b == b' ' {
                    *c = b;
                }
            }
            f.put(" (")?;
            text::ascii(f, &shown[..seen.len()])?;
            f.put("), ")?;
            return f.put(guess_protocol(seen));
        }
        let facts = self.facts();
        let template = crate::report::TEMPLATES
            .get(facts.line)
            .copied()
            .unwrap_or("");
        text::render(f, template, facts.details.values(), facts.extra)
    }
}

impl core::error::Error for DecodeError {}

/// Why a frame could not be encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EncodeError {
    /// The output buffer is too small.
    BufferTooSmall {
        /// Bytes needed.
        need: usize,
        /// Bytes available.
        have: usize,
    },
    /// The header carries more metadata entries than a v1 receiver accepts.
    TooMuchMetadata {
        /// Entries given.
        count: usize,
        /// The limit ([`MAX_META`](crate::MAX_META)).
        limit: usize,
    },
    /// The encoded header is larger than the prefix can announce or the scratch space holds.
    HeaderTooLarge {
        /// Encoded header length in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The same templates as the decode errors' (`text::render`).
        let (template, a, b) = match *self {
            EncodeError::BufferTooSmall { need, have } => {
                ("frame needs \x01 bytes, buffer has \x02", need, have)
            }
            EncodeError::HeaderTooLarge { len, limit } => {
                ("header is \x01 bytes, limit \x02", len, limit)
            }
            EncodeError::TooMuchMetadata { count, limit } => {
                ("header has \x01 metadata entries, limit \x02", count, limit)
            }
        };
        text::render(f, template, &[N(a as u64), N(b as u64)], "")
    }
}

impl core::error::Error for EncodeError {}

/// An error from the I/O helpers: the transport failed, or the frames did.
#[derive(Debug)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Error<E> {
    /// The underlying reader or writer failed.
    Io(E),
    /// The received bytes are not valid frames.
    Decode(DecodeError),
    /// A frame could not be encoded.
    Encode(EncodeError),
}

impl<E> From<DecodeError> for Error<E> {
    fn from(e: DecodeError) -> Self {
        Error::Decode(e)
    }
}

impl<E> From<EncodeError> for Error<E> {
    fn from(e: EncodeError) -> Self {
        Error::Encode(e)
    }
}

impl<E: fmt::Debug> fmt::Display for Error<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Io(e) => write!(f, "i/o error: {e:?}"),
            Error::Decode(e) => e.fmt(f),
            Error::Encode(e) => e.fmt(f),
        }
    }
}

impl<E: fmt::Debug> core::error::Error for Error<E> {}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::{format, string::ToString};

    /// Each message, against what `write!` with `{}` / `{:x}` formats from the same numbers:
    /// the hand-written number formatting must not change a word the peer sees.
    #[test]
    fn messages_say_what_write_would() {
        let big = u64::MAX - 5;
        let cases = [
            (
                DecodeError::bad_magic(&[0x16, 0x03, 0x01, 0x02]),
                "not a sockframe stream: expected magic f5 46, got 16 03 01 02 (....), looks like a TLS handshake".to_string(),
            ),
            (
                DecodeError::bad_magic(b"GE"),
                "not a sockframe stream: expected magic f5 46, got 47 45 (GE), looks like an HTTP request or a text command".to_string(),
            ),
            (
                DecodeError::UnsupportedVersion { version: 200 },
                format!("unsupported wire-format version {}, this peer speaks 1", 200),
            ),
            (
                DecodeError::HeaderTooLarge { len: 9000, limit: 512 },
                "header is 9000 bytes, limit 512".to_string(),
            ),
            (
                DecodeError::PayloadTooLarge { len: big, limit: 1 << 26 },
                format!("payload is {big} bytes, limit {}", 1u64 << 26),
            ),
            (
                DecodeError::BadHeader { field: "name", problem: "not UTF-8" },
                "bad header: field `name`: not UTF-8".to_string(),
            ),
            (
                DecodeError::TooMuchMetadata { count: 4_294_967_296, limit: 8 },
                "header has 4294967296 metadata entries, limit 8".to_string(),
            ),
            (
                DecodeError::BadChecksum { expected: 0xE306_9283, actual: 0x0000_00AB },
                "payload checksum mismatch: header says crc32c e3069283, payload has 000000ab".to_string(),
            ),
            (
                DecodeError::BufferTooSmall { capacity: 3, need: 5 },
                "receive buffer is 3 bytes, a 5-byte part of a frame must fit it".to_string(),
            ),
            (
                DecodeError::BadTrailer { expected: None, kind: 4, id: 6, len: 0 },
                "trailer (kind 4) for frame 6, but no frame announced one".to_string(),
            ),
            (
                DecodeError::BadTrailer { expected: Some(6), kind: 0, id: 1, len: 2 },
                "frame 6 announced a trailer, got kind 0 for frame 1".to_string(),
            ),
            (
                DecodeError::BadTrailer { expected: Some(6), kind: 4, id: 7, len: 0 },
                "frame 6 announced a trailer, got kind 4 for frame 7".to_string(),
            ),
            (
                DecodeError::BadTrailer { expected: Some(6), kind: 4, id: 6, len: 1 },
                "END of frame 6 has a 1-byte payload, must be empty".to_string(),
            ),
            (
                DecodeError::BadTrailer { expected: Some(u32::MAX), kind: 5, id: u32::MAX, len: big },
                format!("ABORT of frame {} has a {big}-byte message, limit 200", u32::MAX),
            ),
            (
                DecodeError::UnexpectedEof { stage: Stage::Trailer, have: 3, need: 5 },
                "stream ended mid-trailer: got 3 of 5 bytes".to_string(),
            ),
            (
                DecodeError::UnexpectedEof { stage: Stage::Payload, have: 0, need: big },
                format!("stream ended mid-payload: got 0 of {big} bytes"),
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
        let enc = [
            (
                EncodeError::BufferTooSmall {
                    need: 70_000,
                    have: 64,
                },
                "frame needs 70000 bytes, buffer has 64",
            ),
            (
                EncodeError::HeaderTooLarge {
                    len: 65_536,
                    limit: 65_535,
                },
                "header is 65536 bytes, limit 65535",
            ),
            (
                EncodeError::TooMuchMetadata { count: 9, limit: 8 },
                "header has 9 metadata entries, limit 8",
            ),
        ];
        for (err, want) in enc {
            assert_eq!(err.to_string(), want);
        }
    }
}
