//! Async frame I/O over [`embedded_io_async`] readers and writers.
//!
//! [`read_event`] (and [`read_received`] on a link) is cancel-safe: all state lives in the
//! [`Decoder`] (the [`Resync`] receiver), and the only await
//! point is the read into the decoder's free space, so it can sit in a `select!` beside a
//! timeout and be called again after being dropped, losing nothing.

use crate::decoder::{Decoder, Event};
use crate::encoder::encode_head;
use crate::error::Error;
use crate::header::Header;
use crate::io::{HEAD_SCRATCH, layout, scratch_error};
use crate::resync::{Received, Resync};
use embedded_io_async::{Read, Write};

/// The next event from `r`; `Ok(None)` at a clean end of stream. Cancel-safe.
pub async fn read_event<'d, R: Read, B: AsRef<[u8]> + AsMut<[u8]>>(
    r: &mut R,
    dec: &'d mut Decoder<B>,
) -> Result<Option<Event<'d>>, Error<R::Error>> {
    while !dec.poll()? {
        let n = r.read(dec.read_buf()).await.map_err(Error::Io)?;
        if n == 0 {
            dec.finish()?;
            return Ok(None);
        }
        dec.commit(n);
    }
    Ok(dec.next_event()?)
}

/// The next event or skipped run from `r` on a link (see
/// [`io::read_received`](crate::io::read_received)); `Ok(None)` once the stream has ended
/// and everything left was handed out. Cancel-safe: all state lives in the receiver.
pub async fn read_received<'d, R: Read, B: AsRef<[u8]> + AsMut<[u8]>>(
    r: &mut R,
    rx: &'d mut Resync<B>,
) -> Result<Option<Received<'d>>, R::Error> {
    let mut ended = false;
    while !rx.poll() {
        if ended {
            return Ok(None);
        }
        let n = r.read(rx.read_buf()).await?;
        ended = rx.commit_read(n);
    }
    Ok(rx.next_event())
}

/// Writes a whole frame; `header.len` is set from `payload`.
pub async fn write_frame<W: Write>(
    w: &mut W,
    header: &Header<'_>,
    payload: &[u8],
) -> Result<(), Error<W::Error>> {
    let mut scratch = [0u8; HEAD_SCRATCH];
    let (first, rest) = layout(&mut scratch, header, payload)?;
    w.write_all(first).await.map_err(Error::Io)?;
    w.write_all(rest).await.map_err(Error::Io)
}

/// Writes only the head of a frame; the caller writes `header.len` payload bytes after it.
pub async fn write_head<W: Write>(w: &mut W, header: &Header<'_>) -> Result<(), Error<W::Error>> {
    let mut scratch = [0u8; HEAD_SCRATCH];
    let n = encode_head(header, header.len, &mut scratch).map_err(scratch_error)?;
    w.write_all(&scratch[..n]).await.map_err(Error::Io)
}
