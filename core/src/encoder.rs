//! Turning headers and payloads into frames, in a caller's buffer.
//!
//! ```text
//! +--------------------+---------------------------+----------------------+
//! | prefix (5 bytes)   | header (header_len bytes) | payload (len bytes)  |
//! +--------------------+---------------------------+----------------------+
//! ```
//!
//! ```
//! use sockframe::{Header, encode_frame};
//!
//! let mut out = [0u8; 32];
//! let n = encode_frame(&Header::data(1, b"hi"), b"hi", &mut out).unwrap();
//! assert_eq!(&out[..n], &[0xF5, 0x46, 0x01, 0x07, 0x00, 0, 1, 2, 0, 0, 0, 0, b'h', b'i']);
//! ```

use crate::error::EncodeError;
use crate::header::{Flags, Header, Kind};
use crate::header_check::{self, HCHECK_LEN};
use crate::metadata::MAX_META;
use crate::prefix::{MAX_HEADER_LEN, PREFIX_LEN, Prefix};
use crate::report::Details;
use crate::writer;
use core::fmt::{self, Write as _};

/// Writes prefix and header ("the head") into `out` for a payload of `payload_len` bytes
/// (which replaces `header.len`); returns the bytes written. The payload goes after it.
///
/// Head and payload can leave as two slices, so a payload is never copied to be framed:
/// vectored output where the transport has it.
///
/// ```
/// use std::io::{IoSlice, Write};
/// use sockframe::{Header, encode_head};
///
/// let payload = b"hello";
/// let mut head = [0u8; 32];
/// let n = encode_head(&Header::data(7, payload), payload.len() as u64, &mut head).unwrap();
/// let mut wire = Vec::new();
/// let sent = wire.write_vectored(&[IoSlice::new(&head[..n]), IoSlice::new(payload)]).unwrap();
/// assert_eq!(sent, n + payload.len());
/// assert!(wire.ends_with(b"hello"));
/// ```
#[inline]
pub fn encode_head(
    header: &Header<'_>,
    payload_len: u64,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    match writer::plain_head(header, payload_len, out) {
        Some(n) => Ok(n),
        None => encode_any_head(header, payload_len, out),
    }
}

/// [`encode_head`] for every header, with its checks.
#[inline(never)]
fn encode_any_head(
    header: &Header<'_>,
    payload_len: u64,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    if header.meta.len() > MAX_META {
        return Err(EncodeError::TooMuchMetadata {
            count: header.meta.len(),
            limit: MAX_META,
        });
    }
    let have = out.len();
    let check = if header.flags.contains(Flags::HCHECK) {
        HCHECK_LEN
    } else {
        0
    };
    // The header after the prefix's room (none if `out` has less: the writer measures it).
    let header_len = writer::write(
        header,
        payload_len,
        out.get_mut(PREFIX_LEN..).unwrap_or(&mut []),
    ) + check;
    let need = PREFIX_LEN + header_len;
    let Some(prefix) = out.first_chunk_mut::<PREFIX_LEN>().filter(|_| need <= have) else {
        return Err(EncodeError::BufferTooSmall { need, have });
    };
    let Ok(announced) = u16::try_from(header_len) else {
        return Err(EncodeError::HeaderTooLarge {
            len: header_len,
            limit: MAX_HEADER_LEN,
        });
    };
    Prefix {
        header_len: announced,
    }
    .emit(prefix);
    if check != 0 {
        header_check::seal(&mut out[..PREFIX_LEN + header_len]);
    }
    Ok(PREFIX_LEN + header_len)
}

/// Writes a whole frame (head and `payload`) into `out`; `header.len` is set from the
/// payload. Returns the bytes written.
///
/// The common frame's path (no name, checksum or metadata, room for the longest such head)
/// is inlined into the caller, where a header built in place folds its checks away; every
/// other frame takes one out-of-line call. `small` keeps it a call.
#[cfg_attr(not(feature = "small"), inline)]
pub fn encode_frame(
    header: &Header<'_>,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    if let Some(n) = writer::plain_frame(header, payload, out) {
        return Ok(n);
    }
    encode_any_frame(header, payload, out)
}

/// [`encode_frame`] for every header and buffer, with its checks.
#[cfg_attr(not(feature = "small"), inline(never))]
fn encode_any_frame(
    header: &Header<'_>,
    payload: &[u8],
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    let head = encode_any_head(header, payload.len() as u64, out)?;
    let have = out.len();
    let Some(dst) = out.get_mut(head..head + payload.len()) else {
        return Err(EncodeError::BufferTooSmall {
            need: head + payload.len(),
            have,
        });
    };
    dst.copy_from_slice(payload);
    Ok(head + payload.len())
}

/// The longest message an error frame carries; longer ones are cut.
pub const ERROR_MESSAGE_MAX: usize = 200;

/// Writes a [`Kind::ERROR`] frame into `out`: metadata `code` = `code`, payload = `message`
/// as UTF-8 (cut at [`ERROR_MESSAGE_MAX`] bytes), no numbers: for a service's own codes. A
/// [`DecodeError`](crate::DecodeError) is reported with
/// [`encode_decode_error`](crate::encode_decode_error), which adds its numbers.
///
/// ```
/// use sockframe::{DecodeError, encode_error_frame};
///
/// let err = DecodeError::HeaderTooLarge { len: 9000, limit: 512 };
/// let mut out = [0u8; 256];
/// let n = encode_error_frame(0, err.code(), &err, &mut out).unwrap();
/// assert!(out[..n].ends_with(b"header is 9000 bytes, limit 512"));
/// ```
pub fn encode_error_frame(
    id: u32,
    code: &str,
    message: &dyn fmt::Display,
    out: &mut [u8],
) -> Result<usize, EncodeError> {
    crate::report::encode_report(Kind::ERROR, id, code, &Details::NONE, &Shown(message), out)
}

/// The text of an ERROR or ABORT frame, written into its (cutting) buffer.
pub(crate) trait Message {
    /// Writes the text; what does not fit is cut. `pairs` are the frame's metadata, `code`
    /// first (what a terse message is written from).
    fn write_to(&self, pairs: &[(&str, &str)], out: &mut Cut<'_, ERROR_MESSAGE_MAX>);
}

/// A decoder's error writes its message straight, without `write!`: a firmware that only
/// reports those has no `core::fmt::write` in its image.
impl Message for crate::DecodeError {
    fn write_to(&self, _: &[(&str, &str)], out: &mut Cut<'_, ERROR_MESSAGE_MAX>) {
        let _ = self.write_message(out);
    }
}

/// Any other message, through `core::fmt`.
pub(crate) struct Shown<'m>(pub(crate) &'m dyn fmt::Display);

impl Message for Shown<'_> {
    fn write_to(&self, _: &[(&str, &str)], out: &mut Cut<'_, ERROR_MESSAGE_MAX>) {
        let _ = write!(out, "{}", self.0);
    }
}

/// A `fmt::Write` that keeps what fits and drops the rest, on a character boundary.
pub(crate) struct Cut<'s, const N: usize>(pub(crate) &'s mut heapless::String<N>);

impl<const N: usize> fmt::Write for Cut<'_, N> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        // All of `s` if it fits, else what fits up to a character boundary.
        let mut cut = s.len().min(N - self.0.len());
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        // Cannot fail: it fits.
        let _ = self.0.push_str(&s[..cut]);
        if cut < s.len() {
            return Err(fmt::Error);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Decoder, Event};

    /// A buffer too small for a head asks for the whole head, its header check included,
    /// however short it is (also shorter than the prefix).
    #[test]
    fn a_short_buffer_asks_for_the_whole_head() {
        let header = Header::data(7, b"").with_name("n").with_header_check();
        let mut out = [0u8; 64];
        let n = encode_head(&header, 0, &mut out).unwrap();
        for short in [0, 3, PREFIX_LEN, n - 1] {
            assert_eq!(
                encode_head(&header, 0, &mut out[..short]),
                Err(EncodeError::BufferTooSmall {
                    need: n,
                    have: short
                }),
                "{short}"
            );
        }
    }

    /// A message longer than [`ERROR_MESSAGE_MAX`] is cut on a character boundary, and the
    /// frame still decodes with its code.
    #[test]
    fn long_error_messages_are_cut_on_a_character_boundary() {
        struct Long;
        impl fmt::Display for Long {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a")?;
                for _ in 0..150 {
                    f.write_str("é")?; // two bytes: the limit falls inside one
                }
                Ok(())
            }
        }
        let mut out = [0u8; 512];
        let n = encode_error_frame(3, "x", &Long, &mut out).unwrap();
        let mut dec = Decoder::new([0u8; 512]);
        dec.feed(&out[..n]);
        let Ok(Some(Event::Frame(f))) = dec.next_event() else {
            panic!("no frame")
        };
        assert_eq!(f.header.kind, Kind::ERROR);
        assert_eq!(f.header.meta("code"), Some("x"));
        let text = core::str::from_utf8(f.payload).unwrap();
        assert_eq!(text.len(), ERROR_MESSAGE_MAX - 1);
        assert!(text.starts_with("aé"));
        assert_eq!(text.chars().count(), 100);
    }
}
