//! The errors a receiver or a sender can meet, each carrying the numbers that explain it.

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
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stage::Prefix => "prefix",
            Stage::Header => "header",
            Stage::Payload => "payload",
        })
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
    /// The payload's CRC-32C does not match the one in the header.
    BadChecksum {
        /// The checksum the header announced.
        expected: u32,
        /// The checksum of the bytes received.
        actual: u32,
    },
    /// The decoder's buffer is smaller than the fixed prefix, so no frame can ever fit
    /// (a configuration mistake, reported instead of waiting forever).
    BufferTooSmall {
        /// The buffer's size in bytes.
        capacity: usize,
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

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::BadMagic { seen, seen_len } => {
                let seen = &seen[..usize::from(seen_len).min(seen.len())];
                write!(f, "not a sockframe stream: expected magic f5 46, got")?;
                for b in seen {
                    write!(f, " {b:02x}")?;
                }
                write!(f, " (")?;
                for &b in seen {
                    let c = if b.is_ascii_graphic() || b == b' ' {
                        b as char
                    } else {
                        '.'
                    };
                    write!(f, "{c}")?;
                }
                write!(f, "), {}", guess_protocol(seen))
            }
            DecodeError::UnsupportedVersion { version } => {
                write!(
                    f,
                    "unsupported wire-format version {version}, this peer speaks 1"
                )
            }
            DecodeError::HeaderTooLarge { len, limit } => {
                write!(f, "header is {len} bytes, limit {limit}")
            }
            DecodeError::PayloadTooLarge { len, limit } => {
                write!(f, "payload is {len} bytes, limit {limit}")
            }
            DecodeError::BadHeader { field, problem } => {
                write!(f, "bad header: field `{field}`: {problem}")
            }
            DecodeError::TooMuchMetadata { count, limit } => {
                write!(f, "header has {count} metadata entries, limit {limit}")
            }
            DecodeError::BadChecksum { expected, actual } => write!(
                f,
                "payload checksum mismatch: header says crc32c {expected:08x}, payload has {actual:08x}"
            ),
            DecodeError::BufferTooSmall { capacity } => write!(
                f,
                "receive buffer is {capacity} bytes, smaller than the {} byte prefix",
                crate::PREFIX_LEN
            ),
            DecodeError::UnexpectedEof { stage, have, need } => {
                write!(f, "stream ended mid-{stage}: got {have} of {need} bytes")
            }
        }
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
        match *self {
            EncodeError::BufferTooSmall { need, have } => {
                write!(f, "frame needs {need} bytes, buffer has {have}")
            }
            EncodeError::HeaderTooLarge { len, limit } => {
                write!(f, "header is {len} bytes, limit {limit}")
            }
            EncodeError::TooMuchMetadata { count, limit } => {
                write!(f, "header has {count} metadata entries, limit {limit}")
            }
        }
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
