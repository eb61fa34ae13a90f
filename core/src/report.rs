//! What an error or an abort tells a program: the numbers of a [`DecodeError`] as metadata
//! (spec, section 7.4), and the ERROR, ABORT and END frames that carry them.
//!
//! ```
//! use sockframe::{DecodeError, Decoder, Event, encode_decode_error};
//!
//! let err = DecodeError::HeaderTooLarge { len: 9000, limit: 512 };
//! let mut out = [0u8; sockframe::ERROR_FRAME_MAX];
//! let n = encode_decode_error(0, &err, &mut out).unwrap();
//!
//! let mut dec = Decoder::new([0u8; 512]);
//! dec.feed(&out[..n]);
//! let Some(Event::Frame(f)) = dec.next_event().unwrap() else { panic!() };
//! assert_eq!(f.header.meta("code"), Some("header-too-large"));
//! assert_eq!(f.header.meta("size"), Some("9000"));
//! assert_eq!(f.header.meta("limit"), Some("512"));
//! // The message: a sentence, or with feature `terse` the code and numbers.
//! #[cfg(not(feature = "terse"))]
//! assert_eq!(f.payload, b"header is 9000 bytes, limit 512");
//! #[cfg(feature = "terse")]
//! assert_eq!(f.payload, b"header-too-large: size=9000 limit=512");
//! ```

use crate::decoder::Limits;
use crate::encoder::{Cut, Message, Shown};
use crate::encoder::{ERROR_MESSAGE_MAX, encode_frame, encode_head};
use crate::error::{DecodeError, EncodeError};
use crate::header::{Flags, Header, Kind};
use crate::metadata::MAX_META;
use crate::text::digits;
use core::fmt;

/// The longest message an ABORT trailer may carry (spec, section 4.1); a longer one is a
/// `bad-trailer` fault.
pub const ABORT_MESSAGE_MAX: usize = ERROR_MESSAGE_MAX;

/// Room for any frame [`encode_decode_error`] or [`encode_decode_abort`] writes (any id, any
/// error, the message cut at [`ERROR_MESSAGE_MAX`] bytes).
pub const ERROR_FRAME_MAX: usize = 320;

/// The most entries [`Details`] holds.
const MAX_DETAILS: usize = 4;

/// One value of an error's metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Detail {
    /// A number, sent in decimal.
    Number(u64),
    /// A word, such as a field or stage name.
    Text(&'static str),
}

/// The metadata an ERROR (or ABORT) frame carries after `code`: up to four named values, in
/// the order of the spec's section 7.4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Details {
    keys: &'static [&'static str],
    values: [Detail; MAX_DETAILS],
}

impl Details {
    /// No entries (the codes of services, such as `busy`).
    pub const NONE: Details = Details {
        keys: &[],
        values: [Detail::Number(0); MAX_DETAILS],
    };

    /// The entries, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Detail)> + '_ {
        self.keys.iter().copied().zip(self.values)
    }

    /// The value named `key`.
    pub fn get(&self, key: &str) -> Option<Detail> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }

    /// The values, in order (what a message template's marks refer to).
    pub(crate) fn values(&self) -> &[Detail] {
        &self.values[..self.keys.len().min(MAX_DETAILS)]
    }
}

/// What a decode error says, taken out of it once for its metadata and its message: the
/// [`Details`], which line of [`TEMPLATES`] its message is (see
/// [`text::render`](crate::text::render): `\x01` is the first value in decimal, `\x11` the
/// first in hex...), and the text its `\x0f` stands for (a bad header's problem).
pub(crate) struct Facts {
    pub(crate) details: Details,
    pub(crate) line: usize,
    pub(crate) extra: &'static str,
}

/// Every decode error's keys, in one table: each error's keys are a run of it (below), so
/// runs shared by several errors (`kind`, `id`, `size`; `size`, `limit`) are stored once.
const KEYS: &[&str] = &[
    "at",
    "got",
    "version",
    "supported",
    "field",
    "expected-id",
    "kind",
    "id",
    "size",
    "limit",
    "expected",
    "actual",
    "size",
    "need",
    "stage",
    "have",
    "need",
];

/// The `n` keys of [`KEYS`] from `from` on, as [`TEMPLATES`] stores them: two bytes
/// instead of a slice's eight (checked when the constants are built).
const fn keys(from: usize, n: usize) -> [u8; 2] {
    assert!(from + n <= KEYS.len());
    [from as u8, n as u8]
}

/// The keys most size errors share.
const SIZE_LIMIT: [u8; 2] = keys(8, 2);

impl DecodeError {
    /// The error's numbers, as the metadata its ERROR frame carries after `code`.
    ///
    /// ```
    /// use sockframe::{DecodeError, Detail};
    /// let err = DecodeError::PayloadTooLarge { len: 100, limit: 10 };
    /// assert_eq!(err.details().get("limit"), Some(Detail::Number(10)));
    /// ```
    pub fn details(&self) -> Details {
        self.facts().details
    }

    /// The details and the message template, from one match: every message number is one of
    /// the details, so the numbers are taken out of the error once for both (less flash than
    /// a message writer and a details builder side by side). The match gives only the values
    /// and which line of [`KEY_RUNS`] and [`TEMPLATES`] applies: tables, not constants
    /// loaded in every arm.
    pub(crate) fn facts(&self) -> Facts {
        use Detail::{Number as N, Text as T};
        let (line, values, extra): (usize, [Detail; MAX_DETAILS], &'static str) = match *self {
            DecodeError::BadMagic { seen, seen_len } => {
                // The first byte that differs: byte 1 only if byte 0 was right.
                let at = usize::from(seen_len > 1 && seen[0] == crate::MAGIC[0]);
                let got = u64::from(seen[at]);
                (0, [N(at as u64), N(got), N(0), N(0)], "")
            }
            DecodeError::UnsupportedVersion { version } => (
                1,
                [N(version.into()), N(crate::VERSION.into()), N(0), N(0)],
                "",
            ),
            DecodeError::HeaderTooLarge { len, limit } => {
                (2, [N(len as u64), N(limit as u64), N(0), N(0)], "")
            }
            DecodeError::PayloadTooLarge { len, limit } => (3, [N(len), N(limit), N(0), N(0)], ""),
            DecodeError::BadHeader { field, problem } => (4, [T(field), N(0), N(0), N(0)], problem),
            DecodeError::TooMuchMetadata { count, limit } => {
                (5, [N(count), N(limit as u64), N(0), N(0)], "")
            }
            DecodeError::BadTrailer {
                expected,
                kind,
                id,
                len,
            } => {
                let (kind_n, id_n, len_n) = (N(kind.into()), N(id.into()), N(len));
                match expected {
                    None => (6, [kind_n, id_n, len_n, N(0)], ""),
                    Some(e) => {
                        let line = if e != id || !crate::header::is_trailer_kind(kind) {
                            7
                        } else if kind == Kind::END.0 {
                            // The right trailer, too long: an END carries nothing, an ABORT a
                            // short message.
                            8
                        } else {
                            9
                        };
                        (line, [N(e.into()), kind_n, id_n, len_n], "")
                    }
                }
            }
            DecodeError::BadChecksum { expected, actual } => {
                (10, [N(expected.into()), N(actual.into()), N(0), N(0)], "")
            }
            DecodeError::BufferTooSmall { capacity, need } => {
                (11, [N(capacity as u64), N(need as u64), N(0), N(0)], "")
            }
            DecodeError::UnexpectedEof { stage, have, need } => {
                (12, [T(stage.name()), N(have), N(need), N(0)], "")
            }
        };
        let [from, n] = KEY_RUNS.get(line).copied().unwrap_or([0, 0]);
        let (from, n) = (usize::from(from), usize::from(n));
        let keys = KEYS.get(from..from + n).unwrap_or(&[]);
        Facts {
            details: Details { keys, values },
            line,
            extra,
        }
    }
}

/// The keys of each decode error's details (their run of [`KEYS`]), by the line
/// [`DecodeError::facts`] picks.
const KEY_RUNS: [[u8; 2]; 13] = [
    keys(0, 2),
    keys(2, 2),
    SIZE_LIMIT,
    SIZE_LIMIT,
    keys(4, 1),
    SIZE_LIMIT,
    keys(6, 3),
    TRAILER_DUE,
    TRAILER_DUE,
    TRAILER_DUE,
    keys(10, 2),
    keys(12, 2),
    keys(14, 3),
];

/// Each decode error's message template (marks as [`render`](crate::text::render) reads
/// them), by the same line as [`KEY_RUNS`]. A table apart from the keys: only the message
/// writer refers to it, so a firmware that sends terse messages (feature `terse`) and does
/// not `Display` decode errors has none of this text in its flash. A bad magic's message is
/// written by its own code (it shows the bytes seen): its template is empty.
pub(crate) const TEMPLATES: [&str; 13] = [
    "",
    "unsupported wire-format version \x01, this peer speaks \x02",
    "header is \x01 bytes, limit \x02",
    "payload is \x01 bytes, limit \x02",
    "bad header: field `\x01`: \x0f",
    "header has \x01 metadata entries, limit \x02",
    "trailer (kind \x01) for frame \x02, but no frame announced one",
    "frame \x01 announced a trailer, got kind \x02 for frame \x03",
    "END of frame \x03 has a \x04-byte payload, must be empty",
    "ABORT of frame \x03 has a \x04-byte message, limit 200",
    "payload checksum mismatch: header says crc32c \x11, payload has \x12",
    "receive buffer is \x01 bytes, a \x02-byte part of a frame must fit it",
    "stream ended mid-\x01: got \x02 of \x03 bytes",
];

/// The keys of a trailer fault when a trailer was due.
const TRAILER_DUE: [u8; 2] = keys(5, 4);

// The ABORT template above says the limit as a literal.
const _: () = assert!(ABORT_MESSAGE_MAX == 200);

/// Writes the ERROR frame for a decode error into `out`: metadata `code` then the error's
/// [`details`](DecodeError::details), payload its message. Every adapter answers a bad peer
/// with this; [`ERROR_FRAME_MAX`] bytes always suffice.
pub fn encode_decode_error(
    id: u32,
    err: &DecodeError,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    encode_decoded(Kind::ERROR, id, err, out)
}

/// The ERROR or ABORT frame of a decode error: one copy for both (and one of the error's
/// code and facts in a firmware that sends both). Its message is the sentence, or with
/// feature `terse` the terse message ([`Terse`]).
#[inline(never)]
fn encode_decoded(
    kind: Kind,
    id: u32,
    err: &DecodeError,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    decoded_frame::<{ cfg!(feature = "terse") }>(kind, id, err, out)
}

/// [`encode_decoded`], with the sentence or the terse message as `TERSE` says (both are
/// tested whatever the features; a firmware has one copy).
fn decoded_frame<const TERSE: bool>(
    kind: Kind,
    id: u32,
    err: &DecodeError,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let facts = err.facts();
    let terse = Terse(facts.extra);
    let message: &dyn Message = if TERSE { &terse } else { err };
    report(
        kind,
        Flags::default(),
        id,
        err.code(),
        facts.details.keys,
        facts.details.values(),
        message,
        out,
    )
}

/// The terse message of a decode error (feature `terse`): the frame's metadata as text,
/// `code: key=value key=value`, then a bad header's problem after a comma, e.g.
/// `header-too-large: size=9000 limit=512` or `bad-header: field=name, not valid UTF-8`.
/// The numbers a sentence shows, written from the metadata's own digits, without the
/// sentences in flash (a bad magic's guess at the foreign protocol is left out).
struct Terse(&'static str);

impl Message for Terse {
    fn write_to(&self, pairs: &[(&str, &str)], out: &mut Cut<'_, ERROR_MESSAGE_MAX>) {
        let _ = terse(pairs, self.0, out);
    }
}

fn terse(pairs: &[(&str, &str)], extra: &str, out: &mut Cut<'_, ERROR_MESSAGE_MAX>) -> fmt::Result {
    use fmt::Write as _;
    let mut sep = ": ";
    for (i, (key, value)) in pairs.iter().enumerate() {
        if i > 0 {
            out.write_str(sep)?;
            out.write_str(key)?;
            out.write_str("=")?;
            sep = " ";
        }
        out.write_str(value)?;
    }
    if !extra.is_empty() {
        out.write_str(", ")?;
        out.write_str(extra)?;
    }
    Ok(())
}

/// Writes a [`Kind::ERROR`] frame with a service's own `code` and a fixed `message` (cut at
/// [`ERROR_MESSAGE_MAX`] bytes): what [`encode_error_frame`](crate::encode_error_frame)
/// writes for a text, without going through `core::fmt` (whose `write` and string padding
/// cost a firmware about 1 KiB of flash when nothing else needs them).
///
/// ```
/// use sockframe::{Decoder, Event, encode_error_text};
///
/// let mut out = [0u8; sockframe::ERROR_FRAME_MAX];
/// let n = encode_error_text(0, "busy", "every slot is taken", &mut out).unwrap();
/// let mut dec = Decoder::new([0u8; 512]);
/// dec.feed(&out[..n]);
/// let Some(Event::Frame(f)) = dec.next_event().unwrap() else { panic!() };
/// assert_eq!(f.header.meta("code"), Some("busy"));
/// assert_eq!(f.payload, b"every slot is taken");
/// ```
pub fn encode_error_text(
    id: u32,
    code: &str,
    message: &str,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    encode_error_text_with_check(id, code, message, false, out)
}

/// [`encode_error_text`], with the header check (flag [`Flags::HCHECK`], spec section 9) if
/// `checked`: the ERROR frame a driver sends on a link without connections. The same bytes
/// as [`header_check::add`](crate::header_check::add) over [`encode_error_text`]'s frame,
/// written by the encoder in one pass (a firmware that sends only checked frames needs no
/// `add`).
///
/// ```
/// use sockframe::{encode_error_text, encode_error_text_with_check, header_check};
///
/// let mut want = [0u8; sockframe::ERROR_FRAME_MAX + 4];
/// let n = encode_error_text(0, "busy", "every slot is taken", &mut want).unwrap();
/// let n = header_check::add(&mut want, n).unwrap();
/// let mut out = [0u8; sockframe::ERROR_FRAME_MAX + 4];
/// let m = encode_error_text_with_check(0, "busy", "every slot is taken", true, &mut out).unwrap();
/// assert_eq!(out[..m], want[..n]);
/// ```
#[inline]
pub fn encode_error_text_with_check(
    id: u32,
    code: &str,
    message: &str,
    checked: bool,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let flags = match checked {
        true => Flags::HCHECK,
        false => Flags::default(),
    };
    report(Kind::ERROR, flags, id, code, &[], &[], &message, out)
}

/// A fixed text, written as it is.
impl Message for &str {
    fn write_to(&self, _: &[(&str, &str)], out: &mut Cut<'_, ERROR_MESSAGE_MAX>) {
        let _ = fmt::Write::write_str(out, self);
    }
}

/// Writes the ABORT trailer of frame `id` for a decode error that cut it (what a relay or
/// echo sends after the filler): the same code, details and message as its ERROR frame.
pub fn encode_decode_abort(
    id: u32,
    err: &DecodeError,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    encode_decoded(Kind::ABORT, id, err, out)
}

/// Writes the ABORT trailer of frame `id`: metadata `code` = `code`, payload = `message`
/// (cut at [`ABORT_MESSAGE_MAX`] bytes). The frame must have had [`Flags::TRAILER`](crate::Flags::TRAILER)
/// (crate::Flags::TRAILER), and its payload must have been completed (with filler).
///
/// ```
/// use sockframe::{Decoder, Event, Header, encode_abort, encode_head};
///
/// let mut wire = [0u8; 128];
/// let head = Header::data(6, b"").with_trailer();
/// let mut n = encode_head(&head, 5, &mut wire).unwrap();
/// wire[n..n + 5].copy_from_slice(b"ab\0\0\0"); // 2 bytes, then filler
/// n += 5;
/// n += encode_abort(6, "input-error", &"stdin: read failed", &mut wire[n..]).unwrap();
///
/// let mut dec = Decoder::new([0u8; 256]);
/// dec.feed(&wire[..n]);
/// assert!(matches!(dec.next_event(), Ok(Some(Event::Start(_)))));
/// assert!(matches!(dec.next_event(), Ok(Some(Event::Chunk(_)))));
/// let Ok(Some(Event::Abort(a))) = dec.next_event() else { panic!() };
/// assert_eq!(a.header.meta("code"), Some("input-error"));
/// assert_eq!(a.payload, b"stdin: read failed");
/// ```
pub fn encode_abort(
    id: u32,
    code: &str,
    message: &dyn fmt::Display,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    report(
        Kind::ABORT,
        Flags::default(),
        id,
        code,
        &[],
        &[],
        &Shown(message),
        out,
    )
}

/// Writes the END trailer of frame `id` (which had [`Flags::TRAILER`](crate::Flags::TRAILER)):
/// its payload is complete.
pub fn encode_end(id: u32, out: &mut [u8]) -> Result<usize, EncodeError> {
    encode_frame(&Header::new(Kind::END, id, 0), &[], out)
}

/// Writes the head of the PONG that answers a limits request `ping` (see
/// [`Header::asks_limits`]): the PING's id, flags, crc and `len`, and metadata `max-header`,
/// `max-payload`, `max-meta` and `trailer` = `1` (spec, section 7.2). The PING's payload (and
/// trailer) follow it unchanged. `limits` are the receiver's, as
/// [`Decoder::accepted`](crate::Decoder::accepted) gives them.
pub fn encode_limits_pong(
    ping: &Header<'_>,
    limits: Limits,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut bufs = [[0u8; 20]; 2];
    let [header, payload] = &mut bufs;
    let pairs = [
        ("max-header", digits(limits.max_header as u64, header)),
        ("max-payload", digits(limits.max_payload, payload)),
        ("max-meta", MAX_META_TEXT),
        ("trailer", "1"),
    ];
    let pong = Header {
        kind: Kind::PONG,
        name: None,
        ..*ping
    }
    .with_meta(&pairs);
    encode_head(&pong, ping.len, out)
}

/// [`MAX_META`] in decimal, as a limits PONG announces it (a constant, not written at run
/// time).
const MAX_META_TEXT: &str = "8";
const _: () = assert!(MAX_META == 8, "MAX_META_TEXT must say MAX_META");

/// One ERROR or ABORT frame: `code`, then `details`, then the message (cut to fit).
pub(crate) fn encode_report(
    kind: Kind,
    id: u32,
    code: &str,
    details: &Details,
    message: &dyn Message,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    report(
        kind,
        Flags::default(),
        id,
        code,
        details.keys,
        details.values(),
        message,
        out,
    )
}

/// [`encode_report`] with the details as keys and values: callers without details pass
/// empty slices rather than a [`Details::NONE`] (a 72-byte constant in flash).
#[allow(clippy::too_many_arguments)]
fn report(
    kind: Kind,
    flags: Flags,
    id: u32,
    code: &str,
    keys: &[&str],
    values: &[Detail],
    message: &dyn Message,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let mut bufs = [[0u8; 20]; MAX_DETAILS];
    let mut pairs = [("code", code); 1 + MAX_DETAILS];
    let mut n = 1;
    for ((pair, buf), (key, detail)) in pairs[1..]
        .iter_mut()
        .zip(&mut bufs)
        .zip(keys.iter().zip(values))
    {
        *pair = (
            key,
            match *detail {
                Detail::Number(v) => digits(v, buf),
                Detail::Text(t) => t,
            },
        );
        n += 1;
    }
    let pairs = &pairs[..n];
    let mut text = heapless::String::<ERROR_MESSAGE_MAX>::new();
    // A message too long for the buffer is cut, not dropped: keep what fit.
    message.write_to(pairs, &mut Cut(&mut text));
    let header = Header {
        flags,
        ..Header::new(kind, id, 0)
    }
    .with_meta(pairs);
    encode_frame(&header, text.as_bytes(), out)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use crate::header_check;

    /// The payload of the ERROR frame `err` gets with terse messages.
    fn terse(err: &DecodeError) -> std::string::String {
        let mut out = [0u8; ERROR_FRAME_MAX];
        let n = decoded_frame::<true>(Kind::ERROR, 0, err, &mut out).unwrap();
        let mut dec = crate::Decoder::new([0u8; 512]);
        dec.feed(&out[..n]);
        match dec.next_event() {
            Ok(Some(crate::Event::Frame(f))) => {
                std::string::String::from_utf8(f.payload.to_vec()).unwrap()
            }
            other => panic!("{other:?}"),
        }
    }

    /// The terse message (feature `terse`) is the code and the metadata as `key=value`, in
    /// the metadata's order, then a bad header's problem: the numbers a sentence shows.
    #[test]
    fn terse_messages_say_the_code_and_the_numbers() {
        use crate::Stage;
        let cases: [(DecodeError, &str); 8] = [
            (
                DecodeError::HeaderTooLarge {
                    len: 9000,
                    limit: 512,
                },
                "header-too-large: size=9000 limit=512",
            ),
            (
                DecodeError::PayloadTooLarge {
                    len: u64::MAX,
                    limit: 67_108_864,
                },
                "payload-too-large: size=18446744073709551615 limit=67108864",
            ),
            (
                DecodeError::BadHeader {
                    field: "name",
                    problem: "not valid UTF-8",
                },
                "bad-header: field=name, not valid UTF-8",
            ),
            (
                DecodeError::UnexpectedEof {
                    stage: Stage::Payload,
                    have: 2,
                    need: 5,
                },
                "truncated: stage=payload have=2 need=5",
            ),
            (
                DecodeError::BadMagic {
                    seen: *b"GET ",
                    seen_len: 1,
                },
                "bad-magic: at=0 got=71",
            ),
            (
                DecodeError::BadTrailer {
                    expected: Some(6),
                    kind: 0,
                    id: 1,
                    len: 3,
                },
                "bad-trailer: expected-id=6 kind=0 id=1 size=3",
            ),
            (
                DecodeError::BadChecksum {
                    expected: 0xe306_9283,
                    actual: 0,
                },
                "bad-checksum: expected=3808858755 actual=0",
            ),
            (
                DecodeError::UnsupportedVersion { version: 2 },
                "bad-version: version=2 supported=1",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(terse(&err), want, "{err:?}");
            // The same pairs as the frame's metadata, in order.
            let pairs: std::vec::Vec<std::string::String> = err
                .details()
                .iter()
                .map(|(k, v)| match v {
                    Detail::Number(n) => std::format!("{k}={n}"),
                    Detail::Text(t) => std::format!("{k}={t}"),
                })
                .collect();
            assert!(want.contains(&pairs.join(" ")), "{want} has {pairs:?}");
        }
    }

    /// With feature `terse`, the ERROR and ABORT frames of decode errors carry the terse
    /// message; the metadata is the same as without it.
    #[cfg(feature = "terse")]
    #[test]
    fn terse_error_frames_carry_the_terse_message() {
        use crate::{Decoder, Event};
        let err = DecodeError::HeaderTooLarge {
            len: 9000,
            limit: 512,
        };
        for abort in [false, true] {
            let mut out = [0u8; 16 + ERROR_FRAME_MAX];
            let n = if abort {
                // An ABORT ends a frame that announced a trailer: its head first.
                let head = Header::data(7, b"").with_trailer();
                let n = crate::encode_head(&head, 0, &mut out).unwrap();
                n + encode_decode_abort(7, &err, &mut out[n..]).unwrap()
            } else {
                encode_decode_error(0, &err, &mut out).unwrap()
            };
            let mut dec = Decoder::new([0u8; 512]);
            dec.feed(&out[..n]);
            if abort {
                assert!(matches!(dec.next_event(), Ok(Some(Event::Start(_)))));
            }
            let f = match dec.next_event() {
                Ok(Some(Event::Frame(f) | Event::Abort(f))) => f,
                other => panic!("{other:?}"),
            };
            assert_eq!(f.header.meta("code"), Some("header-too-large"));
            assert_eq!(f.header.meta("size"), Some("9000"));
            assert_eq!(f.header.meta("limit"), Some("512"));
            assert_eq!(f.payload, b"header-too-large: size=9000 limit=512");
        }
    }

    /// The checked ERROR frame is, byte for byte, the unchecked one with the check added, for
    /// any id, code and message length (a message over 127 bytes takes a 2-byte varint, one
    /// over [`ERROR_MESSAGE_MAX`] is cut).
    #[test]
    fn checked_error_text_is_the_unchecked_one_with_its_check() {
        let long = "x".repeat(300);
        for id in [0, 1, 300, u32::MAX] {
            for code in ["", "busy", "handler-failed"] {
                for len in [0, 1, 127, 128, 200, 300] {
                    let message = &long[..len];
                    let mut want = [0u8; ERROR_FRAME_MAX + 4];
                    let n = encode_error_text(id, code, message, &mut want).unwrap();
                    let n = header_check::add(&mut want, n).unwrap();
                    let mut out = [0u8; ERROR_FRAME_MAX + 4];
                    let m =
                        encode_error_text_with_check(id, code, message, true, &mut out).unwrap();
                    assert_eq!(out[..m], want[..n], "id {id} code {code} len {len}");
                }
            }
        }
    }
}
