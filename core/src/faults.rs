//! Which fault the head of a frame shows, in the spec's order (section 7.5): the prefix, then
//! `kind`, `id` and `len` (with `len` against the payload limit), then the trailer rules, then
//! the rest of the header. Every way of driving the decoder (`next_event`, `poll`, `finish`)
//! asks these functions, so a peer gets the same code at the same byte from all of them.

use crate::decoder::Limits;
use crate::error::{DecodeError, Stage};
use crate::header::{Header, Kind, is_trailer_kind};
use crate::prefix::{PREFIX_LEN, Prefix};
use crate::report::ABORT_MESSAGE_MAX;

/// Checks the prefix and the header limit; `None` until the prefix has arrived.
#[cfg_attr(not(feature = "small"), inline(always))]
#[cfg_attr(feature = "small", inline(never))]
pub(crate) fn header_len(
    data: &[u8],
    cap: usize,
    limits: Limits,
) -> Result<Option<usize>, DecodeError> {
    let Some(prefix) = Prefix::parse(data)? else {
        if cap < PREFIX_LEN && data.len() == cap {
            return Err(DecodeError::BufferTooSmall {
                capacity: cap,
                need: PREFIX_LEN,
            });
        }
        return Ok(None);
    };
    let header_len = usize::from(prefix.header_len);
    let limit = limits.max_header.min(cap.saturating_sub(PREFIX_LEN));
    if header_len > limit {
        return Err(DecodeError::HeaderTooLarge {
            len: header_len,
            limit,
        });
    }
    Ok(Some(header_len))
}

/// Decodes a complete header and applies every rule to it: the payload limit and the trailer
/// rules (`expected`: the id whose trailer is due, if one is). On a fault, the first one in
/// wire order: a fault the first three fields show (`len` over the limit, a trailer rule)
/// comes before one further on.
#[inline(always)]
pub(crate) fn checked_header<'a>(
    bytes: &'a [u8],
    limits: Limits,
    expected: Option<u32>,
) -> Result<Header<'a>, DecodeError> {
    // The common header, read straight; it is held to the rules after it is read (its
    // fields can have no fault of their own).
    #[cfg(not(feature = "small"))]
    if let Some(header) = Header::parse_common(bytes) {
        check_first(
            header.kind,
            header.id,
            header.len,
            limits.max_payload,
            expected,
        )?;
        return Ok(header);
    }
    Header::read_ruled(bytes, Some((limits.max_payload, expected)))
}

/// The rules for a header's first three fields, in wire order: `len` against the payload
/// limit (`max_payload`), then the trailer rules.
#[inline(always)]
pub(crate) fn check_first(
    kind: Kind,
    id: u32,
    len: u64,
    max_payload: u64,
    expected: Option<u32>,
) -> Result<(), DecodeError> {
    if len > max_payload || !trailer_ok(kind, id, len, expected) {
        return Err(first_fields_error(kind, id, len, max_payload, expected));
    }
    Ok(())
}

/// The fault of a header's first fields: `len` over the limit first. (`small`: inlined into
/// its one caller, `Header::read_ruled`: 80 B less flash than a call.)
#[cold]
#[cfg_attr(not(feature = "small"), inline(never))]
fn first_fields_error(
    kind: Kind,
    id: u32,
    len: u64,
    max_payload: u64,
    expected: Option<u32>,
) -> DecodeError {
    if len > max_payload {
        return DecodeError::PayloadTooLarge {
            len,
            limit: max_payload,
        };
    }
    DecodeError::BadTrailer {
        expected,
        kind: kind.0,
        id,
        len,
    }
}

#[inline(always)]
pub(crate) fn check_payload(len: u64, limits: Limits) -> Result<(), DecodeError> {
    if len > limits.max_payload {
        return Err(DecodeError::PayloadTooLarge {
            len,
            limit: limits.max_payload,
        });
    }
    Ok(())
}

/// The trailer rules (spec, section 4.1): where a trailer of frame `expected` is due, an END
/// (empty) or ABORT (short message) with that id; elsewhere, no END or ABORT at all.
#[inline(always)]
fn trailer_ok(kind: Kind, id: u32, len: u64, expected: Option<u32>) -> bool {
    match expected {
        // One test on the hot path: an ordinary kind, no trailer due.
        None => !is_trailer_kind(kind.0),
        Some(e) if e != id => false,
        Some(_) if kind == Kind::END => len == 0,
        Some(_) if kind == Kind::ABORT => len <= ABORT_MESSAGE_MAX as u64,
        Some(_) => false,
    }
}

/// Where a trailer of frame `expected` at the front of `data` ends, once its prefix and
/// header are in and keep the rules. The whole trailer must fit the buffer: it is delivered
/// whole.
pub(crate) fn locate_trailer<'a>(
    data: &'a [u8],
    cap: usize,
    limits: Limits,
    expected: u32,
) -> Result<Option<(Header<'a>, usize)>, DecodeError> {
    let Some(header_len) = header_len(data, cap, limits)? else {
        return Ok(None);
    };
    let head = PREFIX_LEN + header_len;
    let Some(bytes) = data.get(PREFIX_LEN..head) else {
        return Ok(None);
    };
    let header = checked_header(bytes, limits, Some(expected))?;
    // The rules bound `len` by ABORT_MESSAGE_MAX.
    let frame_len = head + header.len as usize;
    if frame_len > cap {
        return Err(DecodeError::BufferTooSmall {
            capacity: cap,
            need: frame_len,
        });
    }
    Ok(Some((header, frame_len)))
}

/// The error for a stream that ended after `data`, the start of a frame (of the trailer of
/// frame `expected`, if one is due): a fault the bytes that arrived already show, or else
/// `truncated` with where the frame was cut.
///
/// (`small`: inlined into its one caller on a board, `Decoder::finish`: less flash.)
#[cfg_attr(not(feature = "small"), cold)]
#[cfg_attr(feature = "small", inline(always))]
pub(crate) fn cut_short(
    data: &[u8],
    cap: usize,
    limits: Limits,
    expected: Option<u32>,
) -> DecodeError {
    // The part that was cut: its stage, where it starts and its length.
    let (stage, part_at, part_len) = 'cut: {
        let header_len = match header_len(data, cap, limits) {
            Err(e) => return e,
            Ok(None) => break 'cut (Stage::Prefix, 0, PREFIX_LEN as u64),
            Ok(Some(n)) => n,
        };
        let head = PREFIX_LEN + header_len;
        // One read of the header bytes that arrived, whole or not, with every rule: a fault
        // they show comes first (spec 7.5). A header whose bytes merely ran out before a
        // field is cut, not faulty.
        let whole = data.get(PREFIX_LEN..head);
        let bytes = whole.or(data.get(PREFIX_LEN..)).unwrap_or(&[]);
        match Header::read_ruled(bytes, Some((limits.max_payload, expected))) {
            Ok(header) if whole.is_some() => (Stage::Payload, head, header.len),
            Err(e) if whole.is_some() || !ran_out(&e) => return e,
            _ => (Stage::Header, PREFIX_LEN, header_len as u64),
        }
    };
    // `have`/`need` count the part that was cut, or the whole trailer frame.
    match expected {
        Some(_) => DecodeError::UnexpectedEof {
            stage: Stage::Trailer,
            have: data.len() as u64,
            need: part_at as u64 + part_len,
        },
        None => DecodeError::UnexpectedEof {
            stage,
            have: (data.len() - part_at) as u64,
            need: part_len,
        },
    }
}

/// Whether `e` says only that a header's bytes ended before a field.
fn ran_out(e: &DecodeError) -> bool {
    matches!(e, DecodeError::BadHeader { problem, .. }
        if crate::text::same(problem.as_bytes(), crate::reader::ENDED.as_bytes()))
}
