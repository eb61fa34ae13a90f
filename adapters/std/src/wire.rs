//! Appending frames to a growable output buffer, so that many replies leave in one write.
//!
//! Thin wrappers over the core encoders ([`encode_head`], [`encode_error_frame`]): the
//! buffer grows by exactly what the head needs, then the payload is copied after it.

use sockframe::{
    ERROR_MESSAGE_MAX, EncodeError, Header, PREFIX_LEN, encode_error_frame, encode_head,
};
use std::fmt;

/// The stack array a head is first written into: every head without name, checksum or
/// metadata (at most 25 bytes, the room the core's fast path asks for) and a few more fit.
pub(crate) const HEAD_ROOM: usize = 32;

/// A growable byte buffer frames are appended to: the services' `Vec<u8>` and the codec's
/// and async client's `BytesMut`, so one head writer serves all three.
pub(crate) trait Grow: std::ops::DerefMut<Target = [u8]> {
    /// Appends `bytes`.
    fn append(&mut self, bytes: &[u8]);
    /// Sets the length, zero-filling what is added.
    fn set_len_zeroed(&mut self, len: usize);
}

impl Grow for Vec<u8> {
    #[inline]
    fn append(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn set_len_zeroed(&mut self, len: usize) {
        self.resize(len, 0);
    }
}

impl Grow for bytes::BytesMut {
    #[inline]
    fn append(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
    fn set_len_zeroed(&mut self, len: usize) {
        self.resize(len, 0);
    }
}

/// Appends the head (prefix and header) of a frame with a `payload_len`-byte payload
/// (which replaces `header.len`).
#[inline]
pub fn push_head(
    out: &mut Vec<u8>,
    header: &Header<'_>,
    payload_len: u64,
) -> Result<(), EncodeError> {
    append_head(out, header, payload_len)
}

/// [`push_head`] into any [`Grow`] buffer. Most heads fit a small array, where the core's
/// fast path for plain heads can write them (it wants room for the longest plain head,
/// which an exact-size slice lacks), and are appended; a longer one says how long it is and
/// is written once more, straight into `out`.
#[inline(always)]
pub(crate) fn append_head<B: Grow>(
    out: &mut B,
    header: &Header<'_>,
    payload_len: u64,
) -> Result<(), EncodeError> {
    let mut head = [0u8; HEAD_ROOM];
    let need = match encode_head(header, payload_len, &mut head) {
        Ok(n) => {
            out.append(&head[..n]);
            return Ok(());
        }
        Err(EncodeError::BufferTooSmall { need, .. }) => need,
        Err(e) => return Err(e),
    };
    append_long_head(out, header, payload_len, need)
}

/// [`append_head`] for a head longer than [`HEAD_ROOM`]: `need` bytes, written in place.
#[inline(never)]
fn append_long_head<B: Grow>(
    out: &mut B,
    header: &Header<'_>,
    payload_len: u64,
    need: usize,
) -> Result<(), EncodeError> {
    let at = out.len();
    out.set_len_zeroed(at + need);
    let written = encode_head(header, payload_len, &mut out[at..]);
    out.set_len_zeroed(at + *written.as_ref().unwrap_or(&0));
    written.map(|_| ())
}

/// Appends a whole frame; `header.len` is replaced by the payload length.
#[inline]
pub fn push_frame(
    out: &mut Vec<u8>,
    header: &Header<'_>,
    payload: &[u8],
) -> Result<(), EncodeError> {
    // Room for a common head and the payload at once: one allocation (or none), not one
    // for the head and another for the payload (an empty output, as a connection's is
    // after it waited idle, would otherwise grow twice for every reply).
    out.reserve(HEAD_ROOM + payload.len());
    push_head(out, header, payload.len() as u64)?;
    out.extend_from_slice(payload);
    Ok(())
}

/// Appends a [`Kind::ERROR`](sockframe::Kind::ERROR) frame (metadata `code`, payload = `message`, cut at
/// [`ERROR_MESSAGE_MAX`] bytes), built by the core's [`encode_error_frame`].
pub fn push_error(out: &mut Vec<u8>, id: u32, code: &str, message: &dyn fmt::Display) {
    let mut buf = [0u8; PREFIX_LEN + 128 + ERROR_MESSAGE_MAX];
    // The code is one of this crate's short names and the message is cut by the core, so
    // the frame always fits; if it somehow did not, sending nothing beats sending garbage.
    if let Ok(n) = encode_error_frame(id, code, message, &mut buf) {
        out.extend_from_slice(&buf[..n]);
    }
}
