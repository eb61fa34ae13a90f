//! sockframe as a [`tokio_util::codec`]: `Framed<TcpStream, FrameCodec>` yields owned frames.
//!
//! Both codecs are driven by the core's one state machine, [`sockframe::Decoder`]: the bytes
//! tokio-util read are fed into it and its events come out as owned items. The same
//! [`Limits`] apply as everywhere else, and a decode error is the same [`DecodeError`], which
//! answers the peer with the same error frame ([`ErrorReply`]) every sockframe receiver sends.
//!
//! ```text
//! +------+------+---------+------------+--------------------+-------------------+
//! | 0xF5 | 0x46 | version | header_len |  header (postcard) |  payload          |
//! |      |      |  0x01   | u16 LE     |  header_len bytes  |  header.len bytes |
//! +------+------+---------+------------+--------------------+-------------------+
//!  `------------------------ BytesFrame.head --------------'  `- .payload (Bytes)
//! ```
//!
//! Two ways to meet a payload larger than you want in memory at once:
//!
//! **1. Refuse it: [`FrameCodec`]**, items are whole [`BytesFrame`]s. The codec's buffer
//! holds the largest frame its limits allow (`5 + max_header + max_payload` bytes, allocated
//! once), and a frame announcing more fails with [`DecodeError::PayloadTooLarge`] as soon as
//! its header is in, before any of its payload is awaited:
//!
//! ```text
//! limits: max_header 512, max_payload 64 KiB
//! | prefix | header len=1000 | payload .. |   -> Frame { .. payload: 1000 bytes }
//! | prefix | header len=1 MiB | ...           -> Err(PayloadTooLarge { len: 1048576, limit: 65536 })
//! ```
//!
//! ```
//! use bytes::BytesMut;
//! use sockframe::{DecodeError, Header, Limits};
//! use sockframe_std::codec::{BytesFrame, CodecError, FrameCodec};
//! use tokio_util::codec::{Decoder, Encoder};
//!
//! let mut codec = FrameCodec::with_limits(Limits { max_header: 512, max_payload: 1024 });
//! let mut wire = BytesMut::new();
//! codec.encode(BytesFrame::data(1, &b"hello"[..]), &mut wire).unwrap();
//! let frame = codec.decode(&mut wire).unwrap().unwrap();
//! assert_eq!((frame.head.id, &frame.payload[..]), (1, &b"hello"[..]));
//!
//! // A 2000-byte payload is refused from its header alone.
//! codec.encode(BytesFrame::data(2, vec![0u8; 2000]), &mut wire).unwrap();
//! wire.truncate(20);
//! match codec.decode(&mut wire) {
//!     Err(CodecError::Decode(DecodeError::PayloadTooLarge { len: 2000, limit: 1024 })) => {}
//!     other => panic!("{other:?}"),
//! }
//! ```
//!
//! **2. Stream it: [`StreamingFrameCodec`]**, items are [`FramePart`]s. Frames that fit the
//! buffer come out [`FramePart::Whole`]; a larger one comes out as its head, then its
//! payload in chunks as bytes arrive, then an end marker, in constant memory (the limit on
//! the payload then bounds time, not memory):
//!
//! ```text
//! buffer 64 KiB, max_payload 64 MiB
//! | prefix | header len=10 MiB | 10 MiB of payload ............................... |
//!   -> Start(FrameHead { len: 10485760, .. }), Chunk(..), Chunk(..), ..., End
//! ```
//!
//! ```
//! use bytes::BytesMut;
//! use sockframe::Kind;
//! use sockframe_std::codec::{BytesFrame, FrameHead, FramePart, StreamingFrameCodec};
//! use tokio_util::codec::{Decoder, Encoder};
//!
//! let mut codec = StreamingFrameCodec::new(1024); // frames up to 1 KiB arrive whole
//! let mut wire = BytesMut::new();
//! let mut head = FrameHead::new(Kind::DATA, 7);
//! head.len = 5000;
//! codec.encode(FramePart::Start(head), &mut wire).unwrap();
//! codec.encode(FramePart::Chunk(vec![1u8; 5000].into()), &mut wire).unwrap();
//! codec.encode(FramePart::End, &mut wire).unwrap();
//!
//! let mut got = 0;
//! while let Some(part) = codec.decode(&mut wire).unwrap() {
//!     match part {
//!         FramePart::Start(head) => assert_eq!((head.id, head.len), (7, 5000)),
//!         FramePart::Chunk(bytes) => got += bytes.len(),
//!         FramePart::End => break,
//!         FramePart::Whole(_) => unreachable!(),
//!     }
//! }
//! assert_eq!(got, 5000);
//! ```
//!
//! On a decode error, send the peer the error frame and close: every error is fatal for the
//! connection (the receiver no longer knows where the next frame starts).
//!
//! ```no_run
//! # async fn serve(stream: tokio::net::TcpStream) -> Result<(), sockframe_std::codec::CodecError> {
//! use futures_util::{SinkExt, StreamExt};
//! use sockframe_std::codec::FrameCodec;
//! use tokio_util::codec::Framed;
//!
//! let mut framed = Framed::new(stream, FrameCodec::new());
//! while let Some(item) = framed.next().await {
//!     match item {
//!         Ok(frame) => framed.send(frame).await?, // an echo
//!         Err(e) => {
//!             if let Some(reply) = e.reply() {
//!                 framed.send(reply).await?;
//!             }
//!             break;
//!         }
//!     }
//! }
//! # Ok(()) }
//! ```

mod frame;

pub use frame::{BytesFrame, FrameHead, FramePart};

use bytes::{Buf, BytesMut};
use sockframe::{
    DecodeError, Decoder as CoreDecoder, EncodeError, Event, Limits, PREFIX_LEN, encode_error_frame,
};
use std::fmt;
use tokio_util::codec::{Decoder, Encoder};

/// Why a codec call failed.
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The peer's bytes are not valid frames (fatal for the connection).
    #[error("{0}")]
    Decode(#[from] DecodeError),
    /// A frame could not be encoded.
    #[error("cannot encode frame: {0}")]
    Encode(#[from] EncodeError),
    /// The parts given to [`StreamingFrameCodec`]'s encoder do not make a frame.
    #[error("frame parts out of order: {0}")]
    Parts(String),
    /// The connection failed.
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The peer aborted the streamed frame `id` (an ABORT trailer): the parts of it already
    /// decoded are void.
    #[error("frame {id} aborted by the peer: {code}: {message}")]
    Aborted {
        /// The aborted frame's id.
        id: u32,
        /// The ABORT's `code`.
        code: String,
        /// The ABORT's message.
        message: String,
    },
}

impl CodecError {
    fn aborted(abort: &sockframe::Frame<'_>) -> CodecError {
        CodecError::Aborted {
            id: abort.header.id,
            code: abort.header.meta("code").unwrap_or("unknown").to_owned(),
            message: String::from_utf8_lossy(abort.payload).into_owned(),
        }
    }

    /// The error frame to send the peer before closing, for errors in what it sent.
    pub fn reply(&self) -> Option<ErrorReply<'_>> {
        match self {
            CodecError::Decode(e) => Some(ErrorReply::from(e)),
            _ => None,
        }
    }
}

/// An error frame to send: [`Kind::ERROR`](sockframe::Kind::ERROR), metadata `code`, payload
/// the message (cut at [`ERROR_MESSAGE_MAX`](sockframe::ERROR_MESSAGE_MAX) bytes), encoded
/// by the core's [`encode_error_frame`] like every other sockframe error frame.
#[derive(Clone, Copy)]
pub struct ErrorReply<'a> {
    /// The id of the request it answers; 0 for an error about the connection itself.
    pub id: u32,
    /// A short stable name (`bad-magic`, `not-found`, ...).
    pub code: &'a str,
    /// What went wrong, with the numbers.
    pub message: &'a (dyn fmt::Display + Sync),
}

impl fmt::Debug for ErrorReply<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ErrorReply({}, {}: {})",
            self.id, self.code, self.message
        )
    }
}

impl<'a> From<&'a DecodeError> for ErrorReply<'a> {
    fn from(e: &'a DecodeError) -> Self {
        ErrorReply {
            id: 0,
            code: e.code(),
            message: e,
        }
    }
}

/// Room for any error frame: prefix, a header with one short `code` entry, the message.
const ERROR_FRAME_MAX: usize = PREFIX_LEN + 128 + sockframe::ERROR_MESSAGE_MAX;

fn put_error(reply: ErrorReply<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
    let mut buf = [0u8; ERROR_FRAME_MAX];
    let n = encode_error_frame(reply.id, reply.code, reply.message, &mut buf)?;
    dst.extend_from_slice(&buf[..n]);
    Ok(())
}

/// The core decoder over a heap buffer, fed from tokio-util's read buffer.
struct Feeder {
    dec: CoreDecoder<Box<[u8]>>,
}

impl Feeder {
    fn new(buffer: usize, limits: Limits) -> Self {
        Feeder {
            dec: CoreDecoder::with_limits(vec![0u8; buffer].into_boxed_slice(), limits),
        }
    }

    /// The next event, moving bytes from `src` into the decoder as it needs them.
    fn next<'a>(&'a mut self, src: &mut BytesMut) -> Result<Option<Event<'a>>, DecodeError> {
        loop {
            if self.dec.poll()? {
                return self.dec.next_event();
            }
            if src.is_empty() {
                return Ok(None);
            }
            let n = self.dec.feed(src);
            src.advance(n);
        }
    }

    /// At the end of the stream: `Ok` between frames, the truncation error otherwise.
    fn finish(&mut self, src: &BytesMut) -> Result<(), DecodeError> {
        debug_assert!(
            src.is_empty(),
            "next() takes all of src before returning None"
        );
        self.dec.finish()
    }
}

/// Whole frames only: a frame larger than the limits is refused with
/// [`DecodeError::PayloadTooLarge`]. See the [module docs](self) for the layout and an
/// example; memory: one buffer of `5 + max_header + max_payload` bytes.
pub struct FrameCodec {
    feeder: Feeder,
}

impl FrameCodec {
    /// The largest payload of [`FrameCodec::new`]: 64 KiB.
    pub const DEFAULT_MAX_PAYLOAD: u64 = 64 * 1024;

    /// Headers up to 512 bytes, payloads up to [`FrameCodec::DEFAULT_MAX_PAYLOAD`].
    pub fn new() -> Self {
        FrameCodec::with_limits(Limits {
            max_header: Limits::DEFAULT.max_header,
            max_payload: Self::DEFAULT_MAX_PAYLOAD,
        })
    }

    /// The given limits; the buffer is sized so every frame within them arrives whole.
    /// Panics if that buffer cannot be addressed (`max_payload` near `usize::MAX`): a
    /// configuration mistake, never the peer's doing. Use [`StreamingFrameCodec`] for large
    /// payloads.
    pub fn with_limits(limits: Limits) -> Self {
        let buffer = usize::try_from(limits.max_payload)
            .ok()
            .and_then(|p| p.checked_add(PREFIX_LEN + limits.max_header))
            .expect("FrameCodec: max_payload too large for one buffer, use StreamingFrameCodec");
        FrameCodec {
            feeder: Feeder::new(buffer, limits),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.feeder.dec.limits()
    }
}

impl Default for FrameCodec {
    fn default() -> Self {
        FrameCodec::new()
    }
}

impl fmt::Debug for FrameCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameCodec")
            .field("decoder", &self.feeder.dec)
            .finish()
    }
}

impl Decoder for FrameCodec {
    type Item = BytesFrame;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesFrame>, CodecError> {
        let limit = self.feeder.dec.limits().max_payload;
        match self.feeder.next(src)? {
            None => Ok(None),
            Some(Event::Frame(f)) => Ok(Some(BytesFrame::from_parts(&f.header, f.payload))),
            // The buffer holds every frame within the limits, so nothing streams; if a
            // frame ever did, it is over the limit all the same.
            Some(Event::Start(h)) => Err(DecodeError::PayloadTooLarge { len: h.len, limit }.into()),
            Some(Event::Abort(a)) => Err(CodecError::aborted(&a)),
            Some(Event::Chunk(_) | Event::End) => Err(DecodeError::PayloadTooLarge {
                len: limit.saturating_add(1),
                limit,
            }
            .into()),
        }
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesFrame>, CodecError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        self.feeder.finish(src)?;
        Ok(None)
    }
}

impl Encoder<BytesFrame> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: BytesFrame, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(frame.put(dst)?)
    }
}

impl Encoder<&BytesFrame> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: &BytesFrame, dst: &mut BytesMut) -> Result<(), CodecError> {
        Ok(frame.put(dst)?)
    }
}

impl Encoder<ErrorReply<'_>> for FrameCodec {
    type Error = CodecError;

    fn encode(&mut self, reply: ErrorReply<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        put_error(reply, dst)
    }
}

/// Frames of any size within the limits: those that fit the buffer whole, larger ones as
/// [`FramePart::Start`], [`FramePart::Chunk`]s and [`FramePart::End`]. See the
/// [module docs](self); memory: one buffer of the chosen size.
pub struct StreamingFrameCodec {
    feeder: Feeder,
    /// Payload bytes the frame being encoded still owes (after a `Start`).
    sending: Option<u64>,
}

impl StreamingFrameCodec {
    /// Frames up to `buffer` bytes (prefix, header, payload) arrive whole; the limits are
    /// [`Limits::DEFAULT`] (512-byte headers, 64 MiB payloads).
    pub fn new(buffer: usize) -> Self {
        StreamingFrameCodec::with_limits(buffer, Limits::DEFAULT)
    }

    /// A buffer of `buffer` bytes and the given limits.
    pub fn with_limits(buffer: usize, limits: Limits) -> Self {
        StreamingFrameCodec {
            feeder: Feeder::new(buffer, limits),
            sending: None,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.feeder.dec.limits()
    }

    fn check_idle(&self, what: &str) -> Result<(), CodecError> {
        match self.sending {
            None => Ok(()),
            Some(left) => Err(CodecError::Parts(format!(
                "{what} while {left} payload bytes of the streamed frame are still owed"
            ))),
        }
    }
}

impl fmt::Debug for StreamingFrameCodec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StreamingFrameCodec")
            .field("decoder", &self.feeder.dec)
            .field("sending", &self.sending)
            .finish()
    }
}

impl Decoder for StreamingFrameCodec {
    type Item = FramePart;
    type Error = CodecError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<FramePart>, CodecError> {
        let Some(event) = self.feeder.next(src)? else {
            return Ok(None);
        };
        Ok(Some(match event {
            Event::Frame(f) => FramePart::Whole(BytesFrame::from_parts(&f.header, f.payload)),
            Event::Start(h) => FramePart::Start(FrameHead::from_header(&h)),
            Event::Chunk(c) => FramePart::Chunk(bytes::Bytes::copy_from_slice(c)),
            Event::End => FramePart::End,
            Event::Abort(a) => return Err(CodecError::aborted(&a)),
        }))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<FramePart>, CodecError> {
        if let Some(part) = self.decode(src)? {
            return Ok(Some(part));
        }
        self.feeder.finish(src)?;
        Ok(None)
    }
}

impl Encoder<FramePart> for StreamingFrameCodec {
    type Error = CodecError;

    fn encode(&mut self, part: FramePart, dst: &mut BytesMut) -> Result<(), CodecError> {
        match part {
            FramePart::Whole(frame) => {
                self.check_idle("a whole frame")?;
                Ok(frame.put(dst)?)
            }
            FramePart::Start(head) => {
                self.check_idle("a new frame's start")?;
                head.put(head.len, dst)?;
                self.sending = Some(head.len);
                Ok(())
            }
            FramePart::Chunk(bytes) => {
                let left = self.sending.unwrap_or(0);
                if bytes.len() as u64 > left {
                    return Err(CodecError::Parts(format!(
                        "a chunk of {} bytes where the frame has {left} left",
                        bytes.len()
                    )));
                }
                self.sending = Some(left - bytes.len() as u64);
                dst.extend_from_slice(&bytes);
                Ok(())
            }
            FramePart::End => match self.sending.take() {
                Some(0) => Ok(()),
                Some(left) => Err(CodecError::Parts(format!(
                    "end of a frame that still owes {left} payload bytes"
                ))),
                None => Err(CodecError::Parts("end without a started frame".into())),
            },
        }
    }
}

impl Encoder<BytesFrame> for StreamingFrameCodec {
    type Error = CodecError;

    fn encode(&mut self, frame: BytesFrame, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.encode(FramePart::Whole(frame), dst)
    }
}

impl Encoder<ErrorReply<'_>> for StreamingFrameCodec {
    type Error = CodecError;

    fn encode(&mut self, reply: ErrorReply<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
        self.check_idle("an error frame")?;
        put_error(reply, dst)
    }
}
