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
use crate::metadata::Metadata;
use crate::reader::{Field, Problem, Reader};
use serde::{Deserialize, Serialize};

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
    /// Trailer: the frame before it (which had [`Flags::TRAILER`]) is complete.
    pub const END: Kind = Kind(4);
    /// Trailer: the frame before it (which had [`Flags::TRAILER`]) is aborted; metadata
    /// `code` says why, the payload is a message.
    pub const ABORT: Kind = Kind(5);
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
    /// A trailer frame ([`Kind::END`] or [`Kind::ABORT`], same id) follows the payload and
    /// says whether it is complete: what lets a sender abort a frame it has started.
    pub const TRAILER: Flags = Flags(0x02);
    /// The header ends with a 4-byte header check (CRC-32C over prefix and header before
    /// it; spec section 9): what a resynchronising receiver on a serial link trusts. The
    /// encoder writes the check when this flag is set; v1 receivers skip it.
    pub const HCHECK: Flags = Flags(0x04);

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
    /// Up to [`MAX_META`](crate::MAX_META) key/value pairs.
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
            meta: Metadata::EMPTY,
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

    /// Sets [`Flags::TRAILER`]: the payload will be followed by an END (complete) or an ABORT
    /// trailer ([`encode_end`](crate::encode_end), [`encode_abort`](crate::encode_abort)).
    /// Only for a receiver known to support trailers (spec, section 4.1).
    pub fn with_trailer(mut self) -> Self {
        self.flags.0 |= Flags::TRAILER.0;
        self
    }

    /// Sets [`Flags::HCHECK`]: the encoder ends the header with its header check (spec
    /// section 9), for links without connections (serial). Pair it with
    /// [`with_crc_of`](Self::with_crc_of) so a damaged payload is caught too.
    pub fn with_header_check(mut self) -> Self {
        self.flags.0 |= Flags::HCHECK.0;
        self
    }

    /// Whether a trailer (END or ABORT) follows this frame's payload.
    pub fn has_trailer(&self) -> bool {
        self.flags.contains(Flags::TRAILER)
    }

    /// Whether this is a limits request: a [`Kind::PING`] with a `limits` metadata entry,
    /// answered with [`encode_limits_pong`](crate::encode_limits_pong).
    pub fn asks_limits(&self) -> bool {
        self.kind == Kind::PING && self.meta.get("limits").is_some()
    }

    /// Sets the metadata from a slice of pairs the caller keeps alive while encoding.
    ///
    /// ```
    /// use sockframe::Header;
    /// let pairs = [("size", "3"), ("type", "text")];
    /// let h = Header::data(1, b"xyz").with_meta(&pairs);
    /// assert_eq!(h.meta("type"), Some("text"));
    /// ```
    pub fn with_meta(self, pairs: &'a [(&'a str, &'a str)]) -> Self {
        Header {
            meta: Metadata::from_pairs(pairs),
            ..self
        }
    }

    /// The value of the first metadata entry named `key`.
    pub fn meta(&self, key: &str) -> Option<&'a str> {
        self.meta.get(key)
    }

    /// The header an echo sends back: [`Kind::PONG`] for a [`Kind::PING`] (same id, and the
    /// payload comes back too), every other frame unchanged.
    pub fn echo_reply(self) -> Self {
        match self.kind {
            Kind::PING => Header {
                kind: Kind::PONG,
                ..self
            },
            _ => self,
        }
    }

    /// Whether more fragments of this message follow.
    pub fn more(&self) -> bool {
        self.flags.contains(Flags::MORE)
    }

    /// Decodes a v1 header from exactly the bytes the prefix announced.
    ///
    /// Strings borrow from `bytes`. Bytes after the last known field are ignored (forward
    /// compatibility). Never panics.
    #[inline(always)]
    pub fn parse(bytes: &'a [u8]) -> Result<Self, DecodeError> {
        // The fast path is speed bought with flash: `small` leaves it out.
        #[cfg(not(feature = "small"))]
        if let Some(header) = Self::parse_common(bytes) {
            return Ok(header);
        }
        Self::read_ruled(bytes, None)
    }

    /// Decodes a header as [`parse`](Self::parse) does, holding its first three fields to
    /// `rules` (the payload limit, and the trailer rules for the id whose trailer is due, if
    /// one is) as soon as they are read: the first fault in wire order (spec 7.5), with one
    /// walk of the fields (a whole header or the part of one that arrived). `None`: no rules
    /// (what `parse` is).
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline(never))]
    pub(crate) fn read_ruled(
        bytes: &'a [u8],
        rules: Option<(u64, Option<u32>)>,
    ) -> Result<Self, DecodeError> {
        let mut r = Reader::new(bytes);
        // Each error built where it is returned (`small`: not built aside and copied).
        let (kind, id, len) = match Self::first(&mut r) {
            Ok(first) => first,
            Err(problem) => return Err(r.error(problem)),
        };
        if let Some((max_payload, expected)) = rules {
            crate::faults::check_first(kind, id, len, max_payload, expected)?;
        }
        Self::rest(&mut r, kind, id, len).map_err(|problem| r.error(problem))
    }

    /// The common header, read straight without recording which field each read is for:
    /// no name, no metadata, a checksum or none (`kind id len flags 00 00 00` or
    /// `kind id len flags 00 01 crc 00`, then whatever later versions add). `None` for every
    /// other header, valid or not: [`read_ruled`](Self::read_ruled) then decodes it or names
    /// its fault, so this path never decides an error. `core/tests/header_equivalence.rs`
    /// holds both to postcard.
    #[cfg(not(feature = "small"))]
    #[inline(always)]
    pub(crate) fn parse_common(bytes: &[u8]) -> Option<Header<'static>> {
        Self::common_at(bytes, 0, Flags(0)).map(|(header, _)| header)
    }

    /// [`parse_common`](Self::parse_common) of the header that starts at `at` in `w`, and
    /// where it ends in `w`. Fields are read by position in `w`, so that a `w` whose length
    /// is known at compile time (a window of at least `at +` [`COMMON_MAX`] bytes) costs no
    /// bounds check per field: the decoder's fast path reads the header that way, and checks
    /// the end against the header length the prefix announced once. Also `None` for a
    /// header with any of the `refused` flags (tested with the zero bytes after `flags`, for
    /// free).
    #[cfg(not(feature = "small"))]
    #[inline(always)]
    pub(crate) fn common_at(
        w: &[u8],
        at: usize,
        refused: Flags,
    ) -> Option<(Header<'static>, usize)> {
        use crate::reader::varint_from;
        let kind = *w.get(at)?;
        let (id, at) = varint_from(w, at + 1, 5, 0x0F).ok()?;
        let (len, at) = varint_from(w, at, 10, 0x01).ok()?;
        // `flags 00 00 00` (no name, no checksum, no metadata) or `flags 00 01` (a checksum):
        // one 4-byte look.
        let four = u32::from_le_bytes(*w.get(at..)?.first_chunk::<4>()?);
        let refused = u32::from(refused.0);
        let (crc, end) = if four & (0xFFFF_FF00 | refused) == 0 {
            (None, at + 4)
        } else if four & (0x00FF_FF00 | refused) == 0x0001_0000 {
            let (crc, at) = varint_from(w, at + 3, 5, 0x0F).ok()?;
            // The metadata count after it: none.
            if *w.get(at)? != 0 {
                return None;
            }
            (Some(crc as u32), at + 1)
        } else {
            return None;
        };
        let header = Header {
            kind: Kind(kind),
            id: id as u32,
            len,
            flags: Flags(four as u8),
            name: None,
            crc,
            meta: Metadata::EMPTY,
        };
        Some((header, end))
    }

    /// The first three fields (`kind`, `id`, `len`); on error, `r` knows which failed.
    #[inline(always)]
    fn first(r: &mut Reader<'a>) -> Result<(Kind, u32, u64), Problem> {
        Ok((
            Kind(r.field(Field::Kind).byte()?),
            r.field(Field::Id).varint_u32()?,
            r.field(Field::Len).varint_u64()?,
        ))
    }

    /// The fields after [`first`](Self::first), in wire order.
    #[inline(always)]
    fn rest(r: &mut Reader<'a>, kind: Kind, id: u32, len: u64) -> Result<Self, Problem> {
        Ok(Header {
            kind,
            id,
            len,
            flags: Flags(r.field(Field::Flags).byte()?),
            name: match r.field(Field::Name).option()? {
                true => Some(r.str()?),
                false => None,
            },
            crc: match r.field(Field::Crc).option()? {
                true => Some(r.varint_u32()?),
                false => None,
            },
            meta: Metadata::read(r.field(Field::Meta))?,
        })
    }

    /// The payload length a header announces, read from its first three fields only: what a
    /// receiver needs to know where the frame ends before the rest of the header is decoded.
    #[cfg_attr(not(feature = "small"), inline(always))]
    #[cfg_attr(feature = "small", inline(never))]
    pub fn peek_len(bytes: &[u8]) -> Result<u64, DecodeError> {
        Self::peek(bytes).map(|(_, _, len)| len)
    }

    /// The first three fields (`kind`, `id`, `len`), without the rest of the header.
    #[inline(always)]
    pub(crate) fn peek(bytes: &[u8]) -> Result<(Kind, u32, u64), DecodeError> {
        let mut r = Reader::new(bytes);
        Header::first(&mut r).map_err(|p| r.error(p))
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

/// The longest header [`Header::common_at`] reads: kind, a 5-byte id, a 10-byte len, flags,
/// no name, a 5-byte checksum, no metadata.
#[cfg(not(feature = "small"))]
pub(crate) const COMMON_MAX: usize = 1 + 5 + 10 + 1 + 1 + 1 + 5 + 1;

/// Whether `kind` is a trailer's (END or ABORT).
#[inline(always)]
pub(crate) fn is_trailer_kind(kind: u8) -> bool {
    kind.wrapping_sub(Kind::END.0) <= Kind::ABORT.0 - Kind::END.0
}

pub(crate) fn encoded_len(header: &Header<'_>, len: u64) -> usize {
    crate::writer::write(header, len, &mut [])
}

pub(crate) fn emit(
    header: &Header<'_>,
    len: u64,
    out: &mut [u8],
) -> Result<usize, crate::EncodeError> {
    let need = crate::writer::write(header, len, out);
    if need > out.len() {
        return Err(crate::EncodeError::BufferTooSmall {
            need,
            have: out.len(),
        });
    }
    Ok(need)
}
