//! Postcard's primitive encodings, read by hand.
//!
//! Headers are *encoded* with postcard's serde serializer. They are *decoded* here instead,
//! because decoding runs once per frame on every receiver: going through
//! `postcard::take_from_bytes` field by field cost about 320 instructions per minimal header,
//! 2-3x what the rest of the decoder costs (see docs/benchmarks.md). The rules are postcard
//! 1.x's exactly (including its acceptance of non-shortest varints), and
//! `core/tests/header_equivalence.rs` checks this reader against postcard on arbitrary bytes.

use crate::error::DecodeError;

/// A cursor over header bytes. It remembers which field it is reading, so that the
/// per-read error can stay small (cheap to return) and still name the field at the end.
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
    field: Field,
    /// The metadata count a [`Problem::TooMuchMetadata`] refers to (kept here, so that a
    /// problem is one byte and a read's result small).
    count: u64,
}

/// The header fields, for error messages.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Field {
    Kind,
    Id,
    Len,
    Flags,
    Name,
    Crc,
    Meta,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Kind => "kind",
            Field::Id => "id",
            Field::Len => "len",
            Field::Flags => "flags",
            Field::Name => "name",
            Field::Crc => "crc",
            Field::Meta => "meta",
        }
    }
}

/// The problem of a field the header's bytes end before.
pub(crate) const ENDED: &str = "header ended before the field";

/// What went wrong in one read.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Problem {
    Ended,
    BadVarint,
    BadTag,
    BadUtf8,
    /// A metadata count over [`MAX_META`](crate::MAX_META) (the count: [`Reader::too_many`]).
    TooMuchMetadata,
}

impl Problem {
    fn describe(self) -> &'static str {
        match self {
            Problem::Ended => ENDED,
            Problem::BadVarint => "bad varint (too long or overflowing)",
            Problem::BadTag => "bad option tag (not 0 or 1)",
            Problem::BadUtf8 => "not valid UTF-8",
            Problem::TooMuchMetadata => "too many entries",
        }
    }
}

/// The unsigned LEB128 varint at the start of `bytes`, of at most `max_bytes` bytes, whose
/// last byte may carry at most `last_max` (so the value fits the type): its value and its
/// length. What [`Reader`] reads varints with.
#[cfg_attr(not(feature = "small"), inline(always))]
pub(crate) fn varint_at(
    bytes: &[u8],
    max_bytes: usize,
    last_max: u8,
) -> Result<(u64, usize), Problem> {
    varint_from(bytes, 0, max_bytes, last_max)
}

/// [`varint_at`] of the varint at position `at` in `bytes`: its value and where it ends.
/// Read by position, so that a `bytes` of a length known at compile time needs no bounds
/// checks (the header's fast path reads a window of the receive buffer so).
#[cfg_attr(not(feature = "small"), inline(always))]
pub(crate) fn varint_from(
    bytes: &[u8],
    at: usize,
    max_bytes: usize,
    last_max: u8,
) -> Result<(u64, usize), Problem> {
    #[cfg(feature = "small")]
    return varint_back(bytes, at, max_bytes, last_max);
    #[cfg(not(feature = "small"))]
    {
        // Most header numbers (kinds, small ids and lengths, counts) fit one byte.
        if let Some(&b) = bytes.get(at)
            && b < 0x80
        {
            return Ok((u64::from(b), at + 1));
        }
        let mut out = 0u64;
        for i in 0..max_bytes {
            let &b = bytes.get(at + i).ok_or(Problem::Ended)?;
            out |= u64::from(b & 0x7F) << (7 * i);
            if b & 0x80 == 0 {
                if i == max_bytes - 1 && b > last_max {
                    return Err(Problem::BadVarint);
                }
                return Ok((out, at + i + 1));
            }
        }
        Err(Problem::BadVarint)
    }
}

/// [`varint_from`] under `small`: the last byte found first, then the 7-bit groups gathered
/// from it backwards (a shift by 7 each: no 64-bit shift by a variable, which a 32-bit core
/// does in many instructions). The same value, the same faults, no one-byte fast path.
#[cfg(feature = "small")]
fn varint_back(
    bytes: &[u8],
    at: usize,
    max_bytes: usize,
    last_max: u8,
) -> Result<(u64, usize), Problem> {
    let mut i = 0;
    loop {
        if i == max_bytes {
            return Err(Problem::BadVarint);
        }
        let &b = bytes.get(at + i).ok_or(Problem::Ended)?;
        if b & 0x80 == 0 {
            if i == max_bytes - 1 && b > last_max {
                return Err(Problem::BadVarint);
            }
            break;
        }
        i += 1;
    }
    let out = (bytes.get(at..=at + i).unwrap_or(&[]).iter().rev())
        .fold(0u64, |out, &b| out << 7 | u64::from(b & 0x7F));
    Ok((out, at + i + 1))
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Reader {
            rest: bytes,
            field: Field::Kind,
            count: 0,
        }
    }

    /// The problem of a metadata count over the limit, noting the count for the error.
    #[cold]
    pub(crate) fn too_many(&mut self, count: u64) -> Problem {
        self.count = count;
        Problem::TooMuchMetadata
    }

    /// Names the field the next reads are for.
    #[cfg_attr(not(feature = "small"), inline(always))]
    pub(crate) fn field(&mut self, field: Field) -> &mut Self {
        self.field = field;
        self
    }

    /// The error for `problem` in the current field.
    #[cold]
    pub(crate) fn error(&self, problem: Problem) -> DecodeError {
        match problem {
            Problem::TooMuchMetadata => DecodeError::TooMuchMetadata {
                count: self.count,
                limit: crate::MAX_META,
            },
            _ => DecodeError::BadHeader {
                field: self.field.name(),
                problem: problem.describe(),
            },
        }
    }

    /// One raw byte (postcard's `u8`).
    #[cfg_attr(not(feature = "small"), inline(always))]
    pub(crate) fn byte(&mut self) -> Result<u8, Problem> {
        let (&b, rest) = self.rest.split_first().ok_or(Problem::Ended)?;
        self.rest = rest;
        Ok(b)
    }

    /// An unsigned LEB128 varint of at most `max_bytes` bytes, whose last byte may carry at
    /// most `last_max` (so the value fits the type).
    #[cfg_attr(not(feature = "small"), inline(always))]
    fn varint(&mut self, max_bytes: usize, last_max: u8) -> Result<u64, Problem> {
        let (value, n) = varint_at(self.rest, max_bytes, last_max)?;
        self.rest = self.rest.get(n..).unwrap_or(&[]);
        Ok(value)
    }

    /// A varint `u32`: at most 5 bytes, the fifth at most `0x0F`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    pub(crate) fn varint_u32(&mut self) -> Result<u32, Problem> {
        // The bound on the last byte keeps the value within 32 bits.
        self.varint(5, 0x0F).map(|v| v as u32)
    }

    /// A varint `u64`: at most 10 bytes, the tenth at most `0x01`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    pub(crate) fn varint_u64(&mut self) -> Result<u64, Problem> {
        self.varint(10, 0x01)
    }

    /// An option tag: `false` for `00`, `true` for `01`.
    #[cfg_attr(not(feature = "small"), inline(always))]
    pub(crate) fn option(&mut self) -> Result<bool, Problem> {
        match self.byte()? {
            0 => Ok(false),
            1 => Ok(true),
            _ => Err(Problem::BadTag),
        }
    }

    /// A string: varint byte length, then UTF-8.
    #[cfg_attr(not(feature = "small"), inline(always))]
    pub(crate) fn str(&mut self) -> Result<&'a str, Problem> {
        let len = self.varint_u64()?;
        let len = usize::try_from(len).map_err(|_| Problem::Ended)?;
        if len > self.rest.len() {
            return Err(Problem::Ended);
        }
        let (bytes, rest) = self.rest.split_at(len);
        self.rest = rest;
        core::str::from_utf8(bytes).map_err(|_| Problem::BadUtf8)
    }

    /// The bytes not read yet.
    pub(crate) fn rest(&self) -> &'a [u8] {
        self.rest
    }
}
