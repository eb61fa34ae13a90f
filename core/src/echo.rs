//! What an echo sends back for one event (spec, section 6.1): one copy of the rule for the
//! desktop echo, the board's echo and the fuzz echo model.
//!
//! ```
//! use sockframe::{Decoder, EchoReply, Header, Kind, Limits, echo_reply, encode_frame};
//!
//! let mut wire = [0u8; 64];
//! let n = encode_frame(&Header::new(Kind::PING, 7, 2), b"hi", &mut wire).unwrap();
//! let mut dec = Decoder::new([0u8; 64]);
//! dec.feed(&wire[..n]);
//! let (event, raw) = dec.next_event_raw().unwrap().unwrap();
//! let mut scratch = [0u8; sockframe::ECHO_SCRATCH];
//! let reply = echo_reply(&event, raw, Limits::DEFAULT, &mut scratch);
//! assert!(matches!(reply, EchoReply::Pong(_)));
//! let out: Vec<u8> = reply.pieces().concat();
//! assert_eq!(out[5], Kind::PONG.0);
//! assert_eq!(out[..5], wire[..5]);
//! assert_eq!(out[6..], wire[6..n]);
//! ```

use crate::checksum::Crc32c;
use crate::decoder::{Event, Limits};
use crate::header::{Flags, Kind};
use crate::header_check::{HCHECK_LEN, MIN_CHECKED_HEAD};
use crate::prefix::PREFIX_LEN;
use crate::report::encode_limits_pong;

/// Scratch space that always holds a limits PONG's head (prefix and header): the PONG keeps
/// only the PING's id, length, flags and crc, and adds four short metadata entries.
pub const ECHO_SCRATCH: usize = 256;

/// The PONG kind byte that replaces a PING's.
const PONG_BYTE: &[u8] = &[Kind::PONG.0];

/// An echo's answer to one event, as byte slices to send in order ([`pieces`](Self::pieces)).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum EchoReply<'a> {
    /// Every other event: its own bytes, unchanged.
    Forward(&'a [u8]),
    /// A PING: its bytes before the kind byte, the PONG kind byte, the bytes after it. When
    /// the PING has a header check (spec section 9), the kind byte is covered by it: then
    /// the pieces are the bytes up to the check, the check recomputed for the PONG, and the
    /// bytes after the header.
    Pong([&'a [u8]; 5]),
    /// A limits request: the limits PONG's head, then the PING's payload (empty for a
    /// streamed PING, whose chunks and trailer are forwarded as they come).
    LimitsPong([&'a [u8]; 2]),
}

impl<'a> EchoReply<'a> {
    /// The bytes to send, in order (empty slices pad the shorter answers).
    pub fn pieces(&self) -> [&'a [u8]; 5] {
        match *self {
            EchoReply::Forward(raw) => [raw, &[], &[], &[], &[]],
            EchoReply::Pong(p) => p,
            EchoReply::LimitsPong([head, rest]) => [head, rest, &[], &[], &[]],
        }
    }
}

/// The echo's answer to `event`, decoded from `raw` (its bytes as they arrived, from
/// [`Decoder::next_event_raw`](crate::Decoder::next_event_raw)), on a connection that accepts
/// `limits` (what a limits PONG announces). `scratch` holds a limits PONG's head, or the
/// recomputed header check of a PONG; one of [`ECHO_SCRATCH`] bytes always does (a smaller
/// one that does not fit makes the limits request come back as an ordinary PONG).
pub fn echo_reply<'a>(
    event: &Event<'_>,
    raw: &'a [u8],
    limits: Limits,
    scratch: &'a mut [u8],
) -> EchoReply<'a> {
    let (header, head_len) = match event {
        Event::Frame(f) => (&f.header, raw.len() - f.payload.len()),
        Event::Start(h) => (h, raw.len()),
        // Chunks, END and ABORT trailers: their own bytes.
        _ => return EchoReply::Forward(raw),
    };
    if header.kind != Kind::PING {
        return EchoReply::Forward(raw);
    }
    // The head and what follows it (the payload of a whole frame), and the bytes around the
    // kind byte, the header's first (offset 5, after the prefix). Read with `get`: a PING's
    // bytes always hold its head, whose header has at least the kind byte (the `else` is
    // never taken, and no slice index can panic).
    let (Some((head, rest)), Some(before), Some(after)) = (
        raw.split_at_checked(head_len),
        raw.get(..PREFIX_LEN),
        raw.get(PREFIX_LEN + 1..),
    ) else {
        return EchoReply::Forward(raw);
    };
    if header.asks_limits()
        && let Ok(n) = encode_limits_pong(header, limits, scratch)
    {
        return EchoReply::LimitsPong([&scratch[..n], rest]);
    }
    // A header whose fields run into its last 4 bytes (a stream decoder, which does not
    // verify the check, reads it whole) has no check to recompute: rewriting those bytes
    // would change its fields. Its fields end before them exactly when the header without
    // them still decodes (the reader reads in order and ignores bytes after the fields).
    if header.flags.contains(Flags::HCHECK)
        && head_len >= MIN_CHECKED_HEAD
        && let Some(covered) = head.get(..head_len - HCHECK_LEN)
        && let Some(fields) = covered.get(PREFIX_LEN..)
        && crate::Header::parse(fields).is_ok()
        && let Some(check) = scratch.get_mut(..HCHECK_LEN)
        && let Some(mid) = covered.get(PREFIX_LEN + 1..)
    {
        // Spec section 9: the check covers the kind byte, so the PONG gets its own.
        let mut crc = Crc32c::new();
        crc.update(before);
        crc.update(PONG_BYTE);
        crc.update(mid);
        check.copy_from_slice(&crc.value().to_le_bytes());
        return EchoReply::Pong([before, PONG_BYTE, mid, check, rest]);
    }
    EchoReply::Pong([before, PONG_BYTE, after, &[], &[]])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header_check::verify;
    use crate::{Decoder, Header, encode_frame};

    /// Echoes the first event of `wire`, returning the reply's bytes.
    fn echo(wire: &[u8], scratch: &mut [u8]) -> ([u8; 512], usize) {
        let mut dec = Decoder::new([0u8; 512]);
        dec.feed(wire);
        let (event, raw) = dec.next_event_raw().unwrap().unwrap();
        let mut out = [0u8; 512];
        let mut n = 0;
        for piece in echo_reply(&event, raw, Limits::DEFAULT, scratch).pieces() {
            out[n..n + piece.len()].copy_from_slice(piece);
            n += piece.len();
        }
        (out, n)
    }

    /// The head (prefix and header) of the frame at the start of `frame`.
    fn head(frame: &[u8]) -> &[u8] {
        &frame[..PREFIX_LEN + usize::from(u16::from_le_bytes([frame[3], frame[4]]))]
    }

    /// Spec section 9: an echo that turns a checked PING into a PONG recomputes the check.
    #[test]
    fn pong_to_a_checked_ping_carries_its_own_check() {
        let payload = b"are you there";
        let ping = Header::new(Kind::PING, 9, payload.len() as u64)
            .with_name("probe")
            .with_crc_of(payload)
            .with_header_check();
        let mut wire = [0u8; 128];
        let n = encode_frame(&ping, payload, &mut wire).unwrap();
        let mut scratch = [0u8; ECHO_SCRATCH];
        let (out, m) = echo(&wire[..n], &mut scratch);
        assert_eq!(m, n, "same length as the PING");
        assert_eq!(out[PREFIX_LEN], Kind::PONG.0);
        verify(head(&out[..m])).expect("the PONG's header check verifies");
        // Everything but the kind byte and the check is the PING's.
        let h = head(&wire[..n]).len();
        assert_eq!(out[..PREFIX_LEN], wire[..PREFIX_LEN]);
        assert_eq!(
            out[PREFIX_LEN + 1..h - HCHECK_LEN],
            wire[PREFIX_LEN + 1..h - HCHECK_LEN]
        );
        assert_eq!(out[h..m], wire[h..n]);
        // And it decodes as a PONG with the PING's payload.
        let mut dec = Decoder::new([0u8; 128]);
        dec.feed(&out[..m]);
        match dec.next_event().unwrap().unwrap() {
            Event::Frame(f) => {
                assert_eq!(f.header.kind, Kind::PONG);
                assert_eq!(f.payload, payload);
            }
            other => panic!("expected a frame, got {other:?}"),
        }
    }

    /// A PING without the flag is answered byte for byte but the kind, as before.
    #[test]
    fn pong_to_an_unchecked_ping_keeps_every_other_byte() {
        let mut wire = [0u8; 64];
        let n = encode_frame(&Header::new(Kind::PING, 3, 2), b"hi", &mut wire).unwrap();
        let (out, m) = echo(&wire[..n], &mut [0u8; ECHO_SCRATCH]);
        assert_eq!(m, n);
        assert_eq!(out[PREFIX_LEN], Kind::PONG.0);
        assert_eq!(out[PREFIX_LEN + 1..m], wire[PREFIX_LEN + 1..n]);
    }

    /// A limits request with the flag gets a limits PONG whose check verifies (the limits
    /// PONG is re-encoded, and the encoder seals a header with the flag).
    #[test]
    fn limits_pong_to_a_checked_ping_is_checked() {
        let ping = Header::new(Kind::PING, 4, 0)
            .with_meta(&[("limits", "")])
            .with_header_check();
        let mut wire = [0u8; 64];
        let n = encode_frame(&ping, b"", &mut wire).unwrap();
        let (out, m) = echo(&wire[..n], &mut [0u8; ECHO_SCRATCH]);
        assert_eq!(out[PREFIX_LEN], Kind::PONG.0);
        verify(head(&out[..m])).expect("the limits PONG's header check verifies");
    }

    /// A scratch too small for the check: the PONG still comes, never a panic.
    #[test]
    fn checked_ping_with_no_scratch_is_answered() {
        let ping = Header::new(Kind::PING, 5, 0).with_header_check();
        let mut wire = [0u8; 64];
        let n = encode_frame(&ping, b"", &mut wire).unwrap();
        let (out, m) = echo(&wire[..n], &mut []);
        assert_eq!(m, n);
        assert_eq!(out[PREFIX_LEN], Kind::PONG.0);
    }

    /// Found by the `desktop_conn` fuzz target: a PING with HCHECK whose metadata string runs
    /// into the header's last 4 bytes (a stream decoder reads them as part of the string).
    /// Recomputing the check there rewrote the string, and the PONG's own header no longer
    /// decoded (`meta`: not valid UTF-8). Such a PING is answered kind byte only.
    #[test]
    fn a_checked_ping_whose_fields_run_into_its_check_keeps_its_fields() {
        // Prefix, then a 20-byte header: kind 2 (PING), id 451, len 2, flags MORE | HCHECK |
        // 0x10, no name, no crc, one metadata entry whose 9-byte key takes header bytes
        // 9..18 (the check is 16..20), an empty value (byte 18), one byte more; the payload.
        let wire = [
            0xf5, 0x46, 0x01, 20, 0, 0x02, 0xc3, 0x03, 0x02, 0x15, 0x00, 0x00, 0x01, 0x09, 0x00,
            0x00, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x68, b'h', b'i',
        ];
        let (out, m) = echo(&wire, &mut [0u8; ECHO_SCRATCH]);
        assert_eq!(m, wire.len());
        assert_eq!(out[PREFIX_LEN], Kind::PONG.0);
        assert_eq!(out[PREFIX_LEN + 1..m], wire[PREFIX_LEN + 1..]);
        let mut dec = Decoder::new([0u8; 512]);
        dec.feed(&out[..m]);
        let Some(crate::Event::Frame(f)) = dec.next_event().unwrap() else {
            panic!("the PONG decodes as a frame");
        };
        assert_eq!(
            (f.header.kind, f.header.id, f.payload),
            (Kind::PONG, 451, &b"hi"[..])
        );
    }
}
