//! Blocking frame I/O over [`embedded_io`] readers and writers.
//!
//! ```
//! use sockframe::{Decoder, Event, Header, io};
//!
//! let mut wire = Vec::new();
//! let mut writer = embedded_io_adapters::std::FromStd::new(&mut wire);
//! io::write_frame(&mut writer, &Header::data(1, b"ping"), b"ping").unwrap();
//!
//! let mut reader: &[u8] = &wire;
//! let mut dec = Decoder::new([0u8; 128]);
//! let Some(Event::Frame(frame)) = io::read_event(&mut reader, &mut dec).unwrap() else {
//!     panic!("expected a frame");
//! };
//! assert_eq!(frame.payload, b"ping");
//! assert!(io::read_event(&mut reader, &mut dec).unwrap().is_none()); // clean end
//! ```

use crate::decoder::{Decoder, Event};
use crate::encoder::encode_head;
use crate::error::{EncodeError, Error};
use crate::header::Header;
use crate::prefix::PREFIX_LEN;
use crate::resync::{Received, Resync};
use embedded_io::{Read, Write};

/// Stack space the writers use for a frame's head; small payloads are copied in beside it
/// so that a small frame costs one write, not two.
pub const HEAD_SCRATCH: usize = PREFIX_LEN + 512;

/// The next event from `r`, reading only when the decoder needs bytes.
///
/// `Ok(None)` means the stream ended cleanly between frames; an end inside a frame is
/// [`DecodeError::UnexpectedEof`](crate::DecodeError::UnexpectedEof).
pub fn read_event<'d, R: Read, B: AsRef<[u8]> + AsMut<[u8]>>(
    r: &mut R,
    dec: &'d mut Decoder<B>,
) -> Result<Option<Event<'d>>, Error<R::Error>> {
    while !dec.poll()? {
        let n = r.read(dec.read_buf()).map_err(Error::Io)?;
        if n == 0 {
            dec.finish()?;
            return Ok(None);
        }
        dec.commit(n);
    }
    Ok(dec.next_event()?)
}

/// The next event or skipped run from `r` on a link, reading only when the resynchronising
/// receiver needs bytes (spec section 9.1). The end of the stream (a read of 0 bytes) is
/// told to the receiver, so frames behind a cut one and the last skipped run still come
/// out; then `Ok(None)`.
///
/// ```
/// use sockframe::resync::{Received, Resync};
/// use sockframe::{Event, Header, io};
///
/// let mut wire = b"boot\r\n".to_vec();
/// let mut writer = embedded_io_adapters::std::FromStd::new(&mut wire);
/// io::write_frame(&mut writer, &Header::data(1, b"ping").with_header_check(), b"ping").unwrap();
///
/// let mut reader: &[u8] = &wire;
/// let mut rx = Resync::new([0u8; 128]);
/// let Some(Received::Skipped(s)) = io::read_received(&mut reader, &mut rx).unwrap() else {
///     panic!("expected the boot text skipped");
/// };
/// assert_eq!(s.bytes, 6);
/// let Some(Received::Event(Event::Frame(f))) = io::read_received(&mut reader, &mut rx).unwrap()
/// else {
///     panic!("expected a frame");
/// };
/// assert_eq!(f.payload, b"ping");
/// assert!(io::read_received(&mut reader, &mut rx).unwrap().is_none());
/// ```
pub fn read_received<'d, R: Read, B: AsRef<[u8]> + AsMut<[u8]>>(
    r: &mut R,
    rx: &'d mut Resync<B>,
) -> Result<Option<Received<'d>>, R::Error> {
    let mut ended = false;
    while !rx.poll() {
        if ended {
            return Ok(None);
        }
        let n = r.read(rx.read_buf())?;
        ended = rx.commit_read(n);
    }
    Ok(rx.next_event())
}

/// Writes a whole frame; `header.len` is set from `payload`.
pub fn write_frame<W: Write>(
    w: &mut W,
    header: &Header<'_>,
    payload: &[u8],
) -> Result<(), Error<W::Error>> {
    let mut scratch = [0u8; HEAD_SCRATCH];
    let (first, rest) = layout(&mut scratch, header, payload)?;
    w.write_all(first).map_err(Error::Io)?;
    w.write_all(rest).map_err(Error::Io)
}

/// Writes only the head of a frame whose `header.len` payload bytes the caller then writes
/// with `write_all`, in as many pieces as it likes (a streamed payload).
pub fn write_head<W: Write>(w: &mut W, header: &Header<'_>) -> Result<(), Error<W::Error>> {
    let mut scratch = [0u8; HEAD_SCRATCH];
    let n = encode_head(header, header.len, &mut scratch).map_err(scratch_error)?;
    w.write_all(&scratch[..n]).map_err(Error::Io)
}

/// What to write for a frame: head and payload together when they fit the scratch space,
/// otherwise the head, then the payload in place.
pub(crate) fn layout<'s, 'p: 's>(
    scratch: &'s mut [u8; HEAD_SCRATCH],
    header: &Header<'_>,
    payload: &'p [u8],
) -> Result<(&'s [u8], &'s [u8]), EncodeError> {
    let head = encode_head(header, payload.len() as u64, scratch).map_err(scratch_error)?;
    match scratch.get_mut(head..head + payload.len()) {
        Some(tail) => {
            tail.copy_from_slice(payload);
            Ok((&scratch[..head + payload.len()], &[]))
        }
        None => Ok((&scratch[..head], payload)),
    }
}

/// A head that does not fit the scratch space is a header over the writer's limit.
pub(crate) fn scratch_error(e: EncodeError) -> EncodeError {
    match e {
        EncodeError::BufferTooSmall { need, .. } => EncodeError::HeaderTooLarge {
            len: need - PREFIX_LEN,
            limit: HEAD_SCRATCH - PREFIX_LEN,
        },
        other => other,
    }
}
