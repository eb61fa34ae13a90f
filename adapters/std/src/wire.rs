//! Appending frames to a growable output buffer, so that many replies leave in one write.
//!
//! Thin wrappers over the core encoders ([`encode_head`], [`encode_error_frame`]): the
//! buffer grows by exactly what the head needs, then the payload is copied after it.

use sockframe::{
    ERROR_MESSAGE_MAX, EncodeError, Header, PREFIX_LEN, encode_error_frame, encode_head,
};
use std::fmt;

/// Appends the head (prefix and header) of a frame with a `payload_len`-byte payload.
pub fn push_head(
    out: &mut Vec<u8>,
    header: &Header<'_>,
    payload_len: u64,
) -> Result<(), EncodeError> {
    let mut sized = *header;
    sized.len = payload_len;
    // Most heads fit a small array, where the core's fast path for plain heads can write
    // them (it wants room for the longest plain head, which an exact-size slice lacks).
    let mut head = [0u8; 32];
    if let Ok(n) = encode_head(&sized, payload_len, &mut head) {
        out.extend_from_slice(&head[..n]);
        return Ok(());
    }
    let at = out.len();
    out.resize(at + PREFIX_LEN + sized.encoded_len(), 0);
    match encode_head(&sized, payload_len, &mut out[at..]) {
        Ok(n) => {
            out.truncate(at + n);
            Ok(())
        }
        Err(e) => {
            out.truncate(at);
            Err(e)
        }
    }
}

/// Appends a whole frame; `header.len` is replaced by the payload length.
pub fn push_frame(
    out: &mut Vec<u8>,
    header: &Header<'_>,
    payload: &[u8],
) -> Result<(), EncodeError> {
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
