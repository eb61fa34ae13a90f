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

use crate::decoder::{Event, Limits};
use crate::header::Kind;
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
    /// A PING: its bytes before the kind byte, the PONG kind byte, the bytes after it.
    Pong([&'a [u8]; 3]),
    /// A limits request: the limits PONG's head, then the PING's payload (empty for a
    /// streamed PING, whose chunks and trailer are forwarded as they come).
    LimitsPong([&'a [u8]; 2]),
}

impl<'a> EchoReply<'a> {
    /// The bytes to send, in order (empty slices pad the shorter answers).
    pub fn pieces(&self) -> [&'a [u8]; 3] {
        match *self {
            EchoReply::Forward(raw) => [raw, &[], &[]],
            EchoReply::Pong(p) => p,
            EchoReply::LimitsPong([head, rest]) => [head, rest, &[]],
        }
    }
}

/// The echo's answer to `event`, decoded from `raw` (its bytes as they arrived, from
/// [`Decoder::next_event_raw`](crate::Decoder::next_event_raw)), on a connection that accepts
/// `limits` (what a limits PONG announces). `scratch` holds a limits PONG's head; one of
/// [`ECHO_SCRATCH`] bytes always does (a smaller one that does not fit makes the limits
/// request come back as an ordinary PONG).
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
    if header.asks_limits()
        && let Ok(n) = encode_limits_pong(header, limits, scratch)
    {
        return EchoReply::LimitsPong([&scratch[..n], &raw[head_len..]]);
    }
    // The kind byte is the header's first (offset 5, after the prefix).
    EchoReply::Pong([&raw[..PREFIX_LEN], PONG_BYTE, &raw[PREFIX_LEN + 1..]])
}
