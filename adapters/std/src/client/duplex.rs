//! Requests written while the replies are read, and replies matched to their request by id.
//!
//! A client that writes a whole large request before reading deadlocks against any server
//! that answers as it reads (the echo does, cut-through): the server stops reading once its
//! replies wait unread, the client stops writing once the socket buffers are full. So a
//! request larger than [`INLINE_MAX`] is written by a second thread (on a clone of the
//! socket) while this one reads. And when a write fails because the server closed the
//! connection, what it sent before closing (an error frame naming the limit that was
//! exceeded) is read and returned, rather than the write's `Broken pipe`.

use super::{Client, ClientError};
use crate::owned::OwnedFrame;
use crate::wire::push_head;
use sockframe::{Event, Header, Kind};
use std::io::{self, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::time::Duration;

/// Requests up to this size are written by the calling thread before it reads: the socket
/// buffers take them whole, whatever the server does meanwhile.
pub(crate) const INLINE_MAX: u64 = 64 * 1024;

/// How long a client that failed to write waits for the server's reason.
const REASON_WAIT: Duration = Duration::from_secs(2);

/// Frames skipped while looking for the server's reason after a failed write (replies to
/// earlier requests may come first).
const REASON_SCAN: usize = 64;

/// A request body: bytes in memory, or a reader yielding exactly `len` bytes.
pub(crate) enum Body<'a> {
    Bytes(&'a [u8]),
    /// Only the `files` feature's uploads build one (and this module's tests).
    #[cfg_attr(not(feature = "files"), allow(dead_code))]
    Reader {
        reader: &'a mut (dyn Read + Send),
        len: u64,
        progress: &'a mut (dyn FnMut(u64, u64) + Send),
        /// The frame's id if its head has TRAILER: the body then ends with an END, or, when
        /// the reader fails, with filler and an ABORT (spec 4.1).
        trailer: Option<u32>,
    },
}

impl Body<'_> {
    fn len(&self) -> u64 {
        match self {
            Body::Bytes(b) => b.len() as u64,
            Body::Reader { len, .. } => *len,
        }
    }

    /// Writes the body: the reader's in pieces, reporting progress.
    fn write_to(self, out: &mut TcpStream) -> io::Result<()> {
        match self {
            Body::Bytes(b) => out.write_all(b),
            Body::Reader {
                reader,
                len,
                progress,
                trailer,
            } => {
                let mut buf = vec![0u8; 64 * 1024];
                let mut sent = 0u64;
                while sent < len {
                    let want = buf
                        .len()
                        .min(usize::try_from(len - sent).unwrap_or(usize::MAX));
                    let n = match reader.read(&mut buf[..want]) {
                        Ok(0) => Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("the body ended after {sent} of its {len} bytes"),
                        )),
                        other => other,
                    };
                    let n = match (n, trailer) {
                        (Ok(n), _) => n,
                        (Err(e), None) => return Err(e),
                        // The input failed: the frame is completed with filler and aborted,
                        // so the server drops it and the connection stays usable.
                        (Err(e), Some(id)) => {
                            buf.fill(0);
                            let mut left = len - sent;
                            while left > 0 {
                                let n = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
                                out.write_all(&buf[..n])?;
                                left -= n as u64;
                            }
                            let mut abort = [0u8; sockframe::ERROR_FRAME_MAX];
                            let n = sockframe::encode_abort(id, "input-error", &e, &mut abort)
                                .map_err(io::Error::other)?;
                            out.write_all(&abort[..n])?;
                            return Err(e);
                        }
                    };
                    out.write_all(&buf[..n])?;
                    sent += n as u64;
                    progress(sent, len);
                }
                if let Some(id) = trailer {
                    let mut end = [0u8; 32];
                    let n = sockframe::encode_end(id, &mut end).map_err(io::Error::other)?;
                    out.write_all(&end[..n])?;
                }
                Ok(())
            }
        }
    }
}

impl Client {
    /// Sends `header` with `body` (`header.len` is set from it) while `read` reads the
    /// replies: in this thread after the write for a small body, beside a writer thread for
    /// a large one. A failed write is explained by the server's error frame if it sent one.
    pub(crate) fn exchange<T>(
        &mut self,
        header: &Header<'_>,
        body: Body<'_>,
        read: impl FnOnce(&mut Client) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let len = body.len();
        let mut head = Vec::new();
        push_head(&mut head, header, len)?;
        if len <= INLINE_MAX {
            let out = self.io.inner_mut();
            if let Err(e) = out.write_all(&head).and_then(|()| body.write_to(out)) {
                return Err(self.reason_for(e));
            }
            return read(self);
        }
        let mut out = self.stream().try_clone()?;
        std::thread::scope(|scope| {
            let writer = scope.spawn(move || {
                out.write_all(&head)?;
                body.write_to(&mut out)
            });
            let replies = read(self);
            if replies.is_err() && !writer.is_finished() {
                // The writer may be blocked on a server that no longer reads: end the
                // connection so that its write returns.
                let _ = self.stream().shutdown(Shutdown::Both);
            }
            let written = writer
                .join()
                .unwrap_or_else(|_| Err(io::Error::other("the writer thread panicked")));
            match (replies, written) {
                (Ok(t), Ok(())) => Ok(t),
                (Ok(_), Err(e)) => Err(ClientError::Io(e)),
                // The server's account (an error frame, a protocol error) comes first; a
                // connection closed without one is told by the failed write, if any.
                (Err(ClientError::Closed), Err(e)) => Err(ClientError::Io(e)),
                // The body's input failed and the frame was aborted: the server's answer
                // ("aborted") is the echo of our own reason, which the I/O error tells.
                (Err(ClientError::Remote { code, .. }), Err(e)) if code == "aborted" => {
                    Err(ClientError::Io(e))
                }
                (Err(e), _) => Err(e),
            }
        })
    }

    /// After a write failed with `e`: the server's error frame, if it sent one before
    /// closing (waiting up to 2 s for it), else `e`.
    pub(crate) fn reason_for(&mut self, e: io::Error) -> ClientError {
        let before = self.stream().read_timeout().ok().flatten();
        let _ = self.stream().set_read_timeout(Some(REASON_WAIT));
        let mut reason = ClientError::Io(e);
        for _ in 0..REASON_SCAN {
            match self.recv_frame() {
                Ok(Some(f)) if f.kind == Kind::ERROR => {
                    reason = ClientError::from_error_frame(&f);
                    break;
                }
                Ok(Some(_)) => continue,
                _ => break,
            }
        }
        let _ = self.stream().set_read_timeout(before);
        reason
    }

    /// The reply to request `id`, owned: replies to other ids (late answers to a request
    /// given up on) are skipped; an error frame for `id` or for the whole connection
    /// (id 0) is the error.
    pub(crate) fn reply_to(&mut self, id: u32) -> Result<OwnedFrame, ClientError> {
        loop {
            let f = self.recv_frame()?.ok_or(ClientError::Closed)?;
            if f.kind == Kind::ERROR && (f.id == id || f.id == 0) {
                return Err(ClientError::from_error_frame(&f));
            }
            if f.id == id {
                return Ok(f);
            }
            tracing::debug!(
                id = f.id,
                kind = f.kind.0,
                "skipping a reply to another request"
            );
        }
    }

    /// The reply to request `id` with its payload written to `sink` as it arrives (a reply
    /// larger than the receive buffer is never held whole); returns the reply's header
    /// fields with an empty payload. Replies to other ids are skipped, as by `reply_to`.
    pub(crate) fn reply_into(
        &mut self,
        id: u32,
        sink: &mut dyn Write,
    ) -> Result<OwnedFrame, ClientError> {
        // The head of the streamed frame in progress, and whether it is ours.
        let mut streaming: Option<(OwnedFrame, bool)> = None;
        loop {
            match self.recv()?.ok_or(ClientError::Closed)? {
                Event::Frame(f)
                    if f.header.kind == Kind::ERROR && (f.header.id == id || f.header.id == 0) =>
                {
                    return Err(ClientError::from_error_frame(&OwnedFrame::new(
                        &f.header, f.payload,
                    )));
                }
                Event::Frame(f) if f.header.id == id => {
                    sink.write_all(f.payload)?;
                    return Ok(OwnedFrame::new(&f.header, &[]));
                }
                Event::Frame(_) => {}
                Event::Start(h) => streaming = Some((OwnedFrame::new(&h, &[]), h.id == id)),
                Event::Chunk(bytes) => {
                    if let Some((_, true)) = streaming {
                        sink.write_all(bytes)?;
                    }
                }
                Event::End => {
                    if let Some((head, true)) = streaming.take() {
                        return Ok(head);
                    }
                }
                // Our reply was aborted by its sender: what reached `sink` is void.
                Event::Abort(a) => {
                    if let Some((_, true)) = streaming.take() {
                        return Err(ClientError::from_error_frame(&OwnedFrame::new(
                            &a.header, a.payload,
                        )));
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Body;
    use sockframe::{Decoder, Event};
    use std::io::{self, Read};
    use std::net::{TcpListener, TcpStream};

    /// Gives three bytes, then fails.
    struct Failing(usize);

    impl Read for Failing {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0 >= 3 {
                return Err(io::Error::other("disk gone"));
            }
            buf[0] = b'x';
            self.0 += 1;
            Ok(1)
        }
    }

    /// A body whose reader fails is completed with filler and aborted (spec 4.1): the
    /// receiver sees an ABORT with code `input-error`, never a complete payload.
    #[test]
    fn a_body_whose_input_fails_is_aborted() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let mut out = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (mut peer, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let header = sockframe::Header::new(sockframe::Kind::DATA, 5, 10).with_trailer();
        crate::wire::push_head(&mut head, &header, 10).unwrap();
        io::Write::write_all(&mut out, &head).unwrap();
        let body = Body::Reader {
            reader: &mut Failing(0),
            len: 10,
            progress: &mut |_, _| {},
            trailer: Some(5),
        };
        let err = body.write_to(&mut out).unwrap_err();
        assert_eq!(err.to_string(), "disk gone");
        drop(out);

        let mut wire = Vec::new();
        peer.read_to_end(&mut wire).unwrap();
        let mut dec = Decoder::new(vec![0u8; 256]);
        dec.feed(&wire);
        let mut payload = Vec::new();
        let abort = loop {
            match dec.next_event().unwrap().expect("an event") {
                Event::Start(h) => assert_eq!((h.id, h.len), (5, 10)),
                Event::Chunk(c) => payload.extend_from_slice(c),
                Event::Abort(a) => {
                    let code = a.header.meta("code").unwrap().to_owned();
                    break (a.header.id, code, a.payload.to_vec());
                }
                other => panic!("{other:?}"),
            }
        };
        assert_eq!(payload, b"xxx\0\0\0\0\0\0\0");
        assert_eq!(abort, (5, "input-error".to_owned(), b"disk gone".to_vec()));
        dec.finish().unwrap();
    }
}
