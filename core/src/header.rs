//! The header ("dict header"): what a frame is and how large its payload is.
//!
//! Encoded with postcard after the [prefix](crate::prefix), fields in this order:
//!
//! ```text
//! +------+-----------+------------+-------+------------------+-----------------+---------------------------+
//! | kind | id        | len        | flags | name             | crc             | meta                      |
//! | u8   | varint u32| varint u64 | u8    | 00 | 01 str      | 00 | 01 varint  | varint n, n x (str, str)  |
//! +------+-----------+------------+-------+------------------+-----------------+---------------------------+
//! ```
//!
//! `str` is a varint byte length then UTF-8 bytes. A receiver ignores any bytes after `meta`
//! that the prefix's header length still covers: that is where later versions add fields.

use crate::error::DecodeError;
use crate::metadata::{MAX_META, Metadata};
use serde::{Deserialize, Serialize, Serializer, ser::SerializeTuple};

/// What a frame is. Numbers 0..=63 are reserved for sockframe; applications use 64..=255.
///
/// A v1 receiver hands kinds it does not know to the application unchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(transparent)]
pub struct Kind(pub u8);

impl Kind {
    /// An ordinary message.
    pub const DATA: Kind = Kind(0);
    /// An error report: the payload is a UTF-8 message, metadata `code` names the error.
    pub const ERROR: Kind = Kind(1);
    /// A liveness probe; the peer answers with [`Kind::PONG`] carrying the same id.
    pub const PING: Kind = Kind(2);
    /// The answer to [`Kind::PING`].
    pub const PONG: Kind = Kind(3);
    /// The first kind number free for applications.
    pub const APP_MIN: u8 = 64;
}

/// Frame flags. Bits a receiver does not know are ignored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
#[serde(transparent)]
pub struct Flags(pub u8);

impl Flags {
    /// More fragments of this message follow in later frames with the same id.
    pub const MORE: Flags = Flags(0x01);

    /// Whether all bits of `other` are set.
    pub fn contains(self, other: Flags) -> bool {
        self.0 & other.0 == other.0
    }
}

/// The header of one frame, borrowed from the bytes it was decoded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Header<'a> {
    /// What the frame is.
    pub kind: Kind,
    /// Message id, for matching replies to requests (and fragments to each other).
    pub id: u32,
    /// Payload length in bytes. Encoders that take a payload set it from the payload.
    pub len: u64,
    /// Flags, such as [`Flags::MORE`].
    pub flags: Flags,
    /// An optional name (a file name, a command, a topic).
    pub name: Option<&'a str>,
    /// Optional CRC-32C (Castagnoli) of the payload, checked by the receiver.
    pub crc: Option<u32>,
    /// Up to [`MAX_META`] key/value pairs.
    pub meta: Metadata<'a>,
}

impl<'a> Header<'a> {
    /// A header with the given kind, id and payload length, and nothing else.
    pub fn new(kind: Kind, id: u32, len: u64) -> Self {
        Header {
            kind,
            id,
            len,
            flags: Flags::default(),
            name: None,
            crc: None,
            meta: Metadata::new(),
        }
    }

    /// A [`Kind::DATA`] header for `payload`, with its length set.
    pub fn data(id: u32, payload: &[u8]) -> Self {
        Header::new(Kind::DATA, id, payload.len() as u64)
    }

    /// Sets the name.
    pub fn with_name(mut self, name: &'a str) -> Self {
        self.name = Some(name);
        self
    }

    /// Sets the CRC-32C of `payload` (and nothing else: `len` is left as it is).
    pub fn with_crc_of(mut self, payload: &[u8]) -> Self {
        self.crc = Some(crate::checksum::crc32c(payload));
        self
    }

    /// Sets [`Flags::MORE`]: more fragments of this message follow.
    pub fn with_more(mut self) -> Self {
        self.flags.0 |= Flags::MORE.0;
        self
    }

    /// Adds a metadata entry; gives the entry back if [`MAX_META`] are already there.
    pub fn push_meta(&mut self, key: &'a str, value: &'a str) -> Result<(), (&'a str, &'a str)> {
        self.meta.push(key, value)
    }

    /// The value of the first metadata entry named `key`.
    pub fn meta(&self, key: &str) -> Option<&'a str> {
        self.meta.get(key)
    }

    /// Whether more fragments of this message follow.
    pub fn more(&self) -> bool {
        self.flags.contains(Flags::MORE)
    }

    /// Decodes a v1 header from exactly the bytes the prefix announced.
    ///
    /// Strings borrow from `bytes`. Bytes after the last known field are ignored (forward
    /// compatibility). Never panics.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        let mut rest = bytes;
        let kind = Kind(take(&mut rest, "kind")?);
        let id = take(&mut rest, "id")?;
        let len = take(&mut rest, "len")?;
        let flags = Flags(take(&mut rest, "flags")?);
        let name = take(&mut rest, "name")?;
        let crc = take(&mut rest, "crc")?;
        let count: u64 = take(&mut rest, "meta")?;
        if count > MAX_META as u64 {
            return Err(DecodeError::TooMuchMetadata {
                count,
                limit: MAX_META,
            });
        }
        let mut meta = Metadata::new();
        for _ in 0..count {
            let (key, value) = take(&mut rest, "meta")?;
            // Cannot fail: count <= MAX_META was checked above.
            let _ = meta.push(key, value);
        }
        Ok(Header {
            kind,
            id,
            len,
            flags,
            name,
            crc,
            meta,
        })
    }

    /// The encoded length of this header in bytes.
    pub fn encoded_len(&self) -> usize {
        encoded_len(self, self.len)
    }

    /// Encodes the header (without prefix) into `out`; returns the bytes written.
    pub fn emit(&self, out: &mut [u8]) -> Result<usize, crate::EncodeError> {
        emit(self, self.len, out)
    }
}

/// Decodes one field with postcard and advances `rest` past it.
fn take<'a, T: Deserialize<'a>>(
    rest: &mut &'a [u8],
    field: &'static str,
) -> Result<T, DecodeError> {
    let (value, tail) = postcard::take_from_bytes(rest).map_err(|e| DecodeError::BadHeader {
        field,
        problem: describe(e),
    })?;
    *rest = tail;
    Ok(value)
}

fn describe(e: postcard::Error) -> &'static str {
    use postcard::Error as E;
    match e {
        E::DeserializeUnexpectedEnd => "header ended before the field",
        E::DeserializeBadVarint => "bad varint (too long or overflowing)",
        E::DeserializeBadBool | E::DeserializeBadOption => "bad option tag (not 0 or 1)",
        E::DeserializeBadUtf8 | E::DeserializeBadChar => "not valid UTF-8",
        _ => "malformed",
    }
}

/// The header as it goes on the wire, with `len` chosen by the encoder: one place that
/// lists the field order.
struct Wire<'h, 'a> {
    header: &'h Header<'a>,
    len: u64,
}

impl Serialize for Wire<'_, '_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let h = self.header;
        let mut t = s.serialize_tuple(7)?;
        t.serialize_element(&h.kind)?;
        t.serialize_element(&h.id)?;
        t.serialize_element(&self.len)?;
        t.serialize_element(&h.flags)?;
        t.serialize_element(&h.name)?;
        t.serialize_element(&h.crc)?;
        t.serialize_element(&h.meta)?;
        t.end()
    }
}

pub(crate) fn encoded_len(header: &Header<'_>, len: u64) -> usize {
    // The size flavor cannot fail.
    postcard::serialize_with_flavor(
        &Wire { header, len },
        postcard::ser_flavors::Size::default(),
    )
    .unwrap_or(0)
}

pub(crate) fn emit(
    header: &Header<'_>,
    len: u64,
    out: &mut [u8],
) -> Result<usize, crate::EncodeError> {
    let have = out.len();
    postcard::to_slice(&Wire { header, len }, out)
        .map(|used| used.len())
        .map_err(|_| crate::EncodeError::BufferTooSmall {
            need: encoded_len(header, len),
            have,
        })
}
