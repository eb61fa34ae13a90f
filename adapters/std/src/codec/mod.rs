//! sockframe as a [`tokio_util::codec`]: `Framed<TcpStream, FrameCodec>` yields owned frames.
//!
//! Both codecs are driven by the core's one state machine: a whole frame is found in
//! tokio-util's read buffer by the core's [`Splitter`] (the [`sockframe::Decoder`]'s own
//! rules, read in place) and cut out of it without a copy (the payload is
//! `src.split_to(..).freeze()`, as `LengthDelimitedCodec` does); a frame to stream is fed
//! to a [`sockframe::Decoder`], whose events come out as owned items. The same [`Limits`]
//! apply as everywhere else, and a decode error is the same [`DecodeError`], which answers
//! the peer with the same error frame ([`ErrorReply`]) every sockframe receiver sends.
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
//! its header is in, before any of its payload is awaited. A frame with a trailer (flag
//! TRAILER, which the core always streams) is refused the same way, with
//! [`CodecError::TrailerRefused`]:
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
//!     Err(e) => assert_eq!(
//!         e.decode_error(),
//!         Some(&DecodeError::PayloadTooLarge { len: 2000, limit: 1024 })
//!     ),
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
//!   -> Start { head, len: 10485760 }, Chunk(..), Chunk(..), ..., End
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
//! let head = FrameHead::new(Kind::DATA, 7);
//! codec.encode(FramePart::Start { head, len: 5000 }, &mut wire).unwrap();
//! codec.encode(FramePart::Chunk(vec![1u8; 5000].into()), &mut wire).unwrap();
//! codec.encode(FramePart::End, &mut wire).unwrap();
//!
//! let mut got = 0;
//! while let Some(part) = codec.decode(&mut wire).unwrap() {
//!     match part {
//!         FramePart::Start { head, len } => assert_eq!((head.id, len), (7, 5000)),
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
    DecodeError, Decoder as CoreDecoder, EncodeError, Event, Found, Limits, PREFIX_LEN, Splitter,
    encode_decode_error, encode_error_frame,
};
use std::fmt;
use tokio_util::codec::{Decoder, Encoder};

/// Why a codec call failed.
///
/// Every part larger than a word is boxed (errors are rare, and fatal for the connection):
/// it is 16 bytes, so the `Result`s tokio-util and futures move on every frame stay the
/// size of the item (`Result<BytesFrame, CodecError>`: 48 bytes) or fit two registers
/// (`Result<(), CodecError>`, what every `feed` and `start_send` returns).
#[derive(Debug, thiserror::Error)]
pub enum CodecError {
    /// The peer's bytes are not valid frames (fatal for the connection).
    /// [`decode_error`](CodecError::decode_error) lends it unboxed.
    #[error("{0}")]
    Decode(#[source] Box<DecodeError>),
    /// A frame could not be encoded (boxed, see above).
    #[error("cannot encode frame: {0}")]
    Encode(#[source] Box<EncodeError>),
    /// The parts given to [`StreamingFrameCodec`]'s encoder do not make a frame: what is
    /// wrong, with the numbers (boxed, see above).
    #[error("frame parts out of order: {0}")]
    Parts(Box<String>),
    /// A frame with a trailer (flag TRAILER, wire-format section 4.1) reached
    /// [`FrameCodec`], which delivers whole frames only and refuses it from its header
    /// (use [`StreamingFrameCodec`] for peers that send trailers). Fatal for the
    /// connection; [`reply`](CodecError::reply) answers with code `unsupported`.
    #[error(
        "frame {id} announces a trailer (flag TRAILER) after its {len} payload bytes; \
         this receiver takes whole frames without trailers"
    )]
    TrailerRefused {
        /// The refused frame's id.
        id: u32,
        /// The payload length its header announced.
        len: u64,
    },
    /// The connection failed.
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The peer aborted a streamed frame (an ABORT trailer): the parts of it already
    /// decoded are void.
    #[error("{0}")]
    Aborted(Box<PeerAbort>),
}

/// A streamed frame the peer aborted ([`CodecError::Aborted`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("frame {id} aborted by the peer: {code}: {message}")]
pub struct PeerAbort {
    /// The aborted frame's id.
    pub id: u32,
    /// The ABORT's `code`.
    pub code: String,
    /// The ABORT's message.
    pub message: String,
}

impl From<DecodeError> for CodecError {
    fn from(e: DecodeError) -> Self {
        CodecError::Decode(Box::new(e))
    }
}

impl From<EncodeError> for CodecError {
    #[cold]
    fn from(e: EncodeError) -> Self {
        CodecError::Encode(Box::new(e))
    }
}

impl CodecError {
    fn aborted(abort: &sockframe::Frame<'_>) -> CodecError {
        CodecError::Aborted(Box::new(PeerAbort {
            id: abort.header.id,
            code: abort.header.meta("code").unwrap_or("unknown").to_owned(),
            message: String::from_utf8_lossy(abort.payload).into_owned(),
        }))
    }

    /// The framing fault, for a [`CodecError::Decode`].
    ///
    /// ```
    /// use bytes::BytesMut;
    /// use sockframe::DecodeError;
    /// use sockframe_std::codec::FrameCodec;
    /// use tokio_util::codec::Decoder;
    ///
    /// let e = FrameCodec::new().decode(&mut BytesMut::from(&b"GET / HTTP/1.1"[..])).unwrap_err();
    /// assert!(matches!(e.decode_error(), Some(DecodeError::BadMagic { .. })));
    /// ```
    pub fn decode_error(&self) -> Option<&DecodeError> {
        match self {
            CodecError::Decode(e) => Some(e),
            _ => None,
        }
    }

    /// The error frame to send the peer before closing, for errors in what it sent.
    pub fn reply(&self) -> Option<ErrorReply<'_>> {
        match self {
            CodecError::Decode(e) => Some(ErrorReply::from(&**e)),
            CodecError::TrailerRefused { .. } => Some(ErrorReply::new(0, "unsupported", self)),
            _ => None,
        }
    }
}

/// An error frame to send: [`Kind::ERROR`](sockframe::Kind::ERROR), metadata `code`, payload
/// the message (cut at [`ERROR_MESSAGE_MAX`](sockframe::ERROR_MESSAGE_MAX) bytes), encoded
/// by the core like every other sockframe error frame. One made from a [`DecodeError`]
/// (what [`CodecError::reply`] gives) also carries the fault's numbers as metadata after
/// `code` (`size`, `limit`, ...: the wire format's section 7.4), so the peer's program need
/// not parse the message.
///
/// ```
/// use futures_util::SinkExt;
/// use sockframe_std::codec::{ErrorReply, FrameCodec};
/// use tokio_util::codec::Framed;
///
/// # async fn demo(mut framed: Framed<tokio::net::TcpStream, FrameCodec>) -> std::io::Result<()> {
/// let message = format!("no key {:?} (0 of 3 keys match)", "color");
/// framed.send(ErrorReply::new(7, "not-found", &message)).await.ok();
/// # Ok(()) }
/// ```
#[derive(Clone, Copy)]
pub struct ErrorReply<'a> {
    /// The id of the request it answers; 0 for an error about the connection itself.
    pub id: u32,
    /// A short stable name (`bad-magic`, `not-found`, ...).
    pub code: &'a str,
    /// What went wrong, with the numbers.
    pub message: &'a (dyn fmt::Display + Sync),
    /// The framing fault it reports, whose numbers go into the metadata.
    fault: Option<&'a DecodeError>,
}

impl<'a> ErrorReply<'a> {
    /// An error frame of a service's own `code` for request `id` (0: about the connection).
    pub fn new(id: u32, code: &'a str, message: &'a (dyn fmt::Display + Sync)) -> Self {
        ErrorReply {
            id,
            code,
            message,
            fault: None,
        }
    }
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
            fault: Some(e),
        }
    }
}

/// Room for any error frame: prefix, a header with one short `code` entry, the message.
const ERROR_FRAME_MAX: usize = PREFIX_LEN + 128 + sockframe::ERROR_MESSAGE_MAX;
const _: () = assert!(ERROR_FRAME_MAX >= sockframe::ERROR_FRAME_MAX);

fn put_error(reply: ErrorReply<'_>, dst: &mut BytesMut) -> Result<(), CodecError> {
    let mut buf = [0u8; ERROR_FRAME_MAX];
    let n = match reply.fault {
        Some(fault) => encode_decode_error(reply.id, fault, &mut buf)?,
        None => encode_error_frame(reply.id, reply.code, reply.message, &mut buf)?,
    };
    dst.extend_from_slice(&buf[..n]);
    Ok(())
}

/// The core's [`Splitter`] over tokio-util's read buffer; fails for good at the first error,
/// as a [`sockframe::Decoder`] does (the stream no longer says where a frame starts).
#[derive(Debug)]
struct InPlaceReader {
    splitter: Splitter,
    failed: Option<Failed>,
}

/// Why an [`InPlaceReader`] failed (kept, and reported again on every later call).
#[derive(Debug, Clone, Copy)]
enum Failed {
    /// The peer's bytes broke a framing rule.
    Decode(DecodeError),
    /// [`CodecError::TrailerRefused`].
    Trailer { id: u32, len: u64 },
}

impl From<Failed> for CodecError {
    fn from(failed: Failed) -> Self {
        match failed {
            Failed::Decode(e) => e.into(),
            Failed::Trailer { id, len } => CodecError::TrailerRefused { id, len },
        }
    }
}

impl InPlaceReader {
    fn new(capacity: usize, limits: Limits) -> Self {
        InPlaceReader {
            splitter: Splitter::new(capacity, limits),
            failed: None,
        }
    }

    /// The whole frame at the front of `src`, found by the core's [`Splitter`] where
    /// tokio-util read it and cut out of `src` (the bytes before its payload dropped, the
    /// payload split off and frozen: no copy); `None` if more bytes are needed. The head of a frame the core would stream goes to `streamed`,
    /// which says what to return. An empty `src` (tokio-util asks once more after every
    /// frame it takes, and finds the buffer empty whenever that frame was the last one
    /// read) needs more bytes: said without asking the splitter.
    ///
    /// Returns what [`FrameCodec::decode`] returns, so that a frame is written once, where
    /// tokio-util takes it.
    #[inline(always)]
    fn take(
        &mut self,
        src: &mut BytesMut,
        streamed: impl FnOnce(&mut Self, Streamed) -> Result<Option<BytesFrame>, CodecError>,
    ) -> Result<Option<BytesFrame>, CodecError> {
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        if src.is_empty() {
            return Ok(None);
        }
        // The common frame by the core's fast path alone, its answer kept in registers;
        // `next` decides everything else (and finds the same frame if asked).
        if let Some((frame, end)) = self.splitter.whole(src) {
            let h = &frame.header;
            debug_assert!(h.name.is_none() && h.meta.is_empty(), "a common header");
            let head = FrameHead::common(h.kind, h.flags, h.id, h.crc);
            return Ok(Some(cut_out(src, head, frame.payload.len(), end)));
        }
        let need = match self.splitter.next(src) {
            Ok(Found::Frame { frame, end }) => {
                let (head, payload_len) =
                    (FrameHead::from_header(&frame.header), frame.payload.len());
                return Ok(Some(cut_out(src, head, payload_len, end)));
            }
            Ok(Found::Start { header, .. }) => {
                let start = Streamed {
                    id: header.id,
                    len: header.len,
                    trailer: header.has_trailer(),
                };
                return streamed(self, start);
            }
            Ok(Found::Need(need)) => need,
            Err(e) => return Err(self.fail(Failed::Decode(e))),
        };
        // What `LengthDelimitedCodec` does: room for the whole frame once its length is
        // known, so it arrives in as few reads as it can.
        src.reserve(need.saturating_sub(src.len()));
        Ok(None)
    }

    /// At the end of the stream: `Ok` between frames, the truncation error otherwise.
    fn finish(&mut self, src: &BytesMut) -> Result<(), CodecError> {
        if let Some(e) = self.failed {
            return Err(e.into());
        }
        self.splitter
            .finish(src)
            .map_err(|e| self.fail(Failed::Decode(e)))
    }

    /// Fails from now on with `e`.
    #[cold]
    fn fail(&mut self, e: Failed) -> CodecError {
        (*self.failed.get_or_insert(e)).into()
    }
}

/// Takes the whole frame of `head` that ends at `end` off the front of `src`, without a
/// copy: the frame split off and frozen, then its head skipped in the frozen [`Bytes`]
/// (a pointer moved), which is cheaper than skipping it in the `BytesMut` (what
/// `LengthDelimitedCodec` does: `BytesMut::advance` then `split_to`; about 20 instructions
/// fewer a frame).
///
/// [`Bytes`]: bytes::Bytes
#[inline(always)]
fn cut_out(src: &mut BytesMut, head: FrameHead, payload_len: usize, end: usize) -> BytesFrame {
    let mut payload = src.split_to(end).freeze();
    payload.advance(end - payload_len);
    BytesFrame { head, payload }
}

/// The head of a frame the core streams (larger than the capacity, or with a trailer),
/// at the front of the read buffer; nothing taken.
struct Streamed {
    id: u32,
    /// Payload bytes announced.
    len: u64,
    /// Flag TRAILER: a trailer follows the payload.
    trailer: bool,
}

/// The core decoder over a heap buffer, fed from tokio-util's read buffer: for frames
/// streamed in parts.
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
/// example. Frames are read where tokio-util's buffer holds them, so the codec has no
/// buffer of its own; the read buffer grows to hold the largest frame that arrives (at most
/// `5 + max_header + max_payload` bytes).
pub struct FrameCodec {
    reader: InPlaceReader,
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
            reader: InPlaceReader::new(buffer, limits),
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.reader.splitter.limits()
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
            .field("reader", &self.reader)
            .finish()
    }
}

impl Decoder for FrameCodec {
    type Item = BytesFrame;
    type Error = CodecError;

    #[inline]
    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<BytesFrame>, CodecError> {
        // The capacity holds every frame within the limits, so only a frame with a trailer
        // streams: refused from its header.
        self.reader
            .take(src, |reader, Streamed { id, len, trailer }| {
                let limit = reader.splitter.limits().max_payload;
                Err(reader.fail(match trailer {
                    true => Failed::Trailer { id, len },
                    false => Failed::Decode(DecodeError::PayloadTooLarge { len, limit }),
                }))
            })
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<BytesFrame>, CodecError> {
        if let Some(frame) = self.decode(src)? {
            return Ok(Some(frame));
        }
        self.reader.finish(src)?;
        Ok(None)
    }
}

impl Encoder<BytesFrame> for FrameCodec {
    type Error = CodecError;

    #[inline]
    fn encode(&mut self, frame: BytesFrame, dst: &mut BytesMut) -> Result<(), CodecError> {
        // Dropping it is dropping the payload's reference and, for most heads, nothing else.
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
    /// Whole frames, read in place while the decoder is idle.
    reader: InPlaceReader,
    /// Frames streamed in parts (and whatever it took in after one).
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
            reader: InPlaceReader::new(buffer, limits),
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
            Some(left) => Err(CodecError::Parts(
                format!("{what} while {left} payload bytes of the streamed frame are still owed")
                    .into(),
            )),
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
        // Between frames, with nothing left in the decoder: a whole frame is cut out of
        // `src`; only a frame to stream goes through the decoder (which then starts it).
        if self.feeder.dec.is_idle() {
            let mut streamed = false;
            let frame = self.reader.take(src, |_, _| {
                streamed = true;
                Ok(None)
            })?;
            if !streamed {
                return Ok(frame.map(FramePart::Whole));
            }
        }
        let Some(event) = self.feeder.next(src)? else {
            return Ok(None);
        };
        Ok(Some(match event {
            Event::Frame(f) => FramePart::Whole(BytesFrame::from_parts(&f.header, f.payload)),
            Event::Start(h) => FramePart::Start {
                head: FrameHead::from_header(&h),
                len: h.len,
            },
            Event::Chunk(c) => FramePart::Chunk(bytes::Bytes::copy_from_slice(c)),
            Event::End => FramePart::End,
            Event::Abort(a) => return Err(CodecError::aborted(&a)),
        }))
    }

    fn decode_eof(&mut self, src: &mut BytesMut) -> Result<Option<FramePart>, CodecError> {
        if let Some(part) = self.decode(src)? {
            return Ok(Some(part));
        }
        if self.feeder.dec.is_idle() {
            self.reader.finish(src)?;
        } else {
            self.feeder.finish(src)?;
        }
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
            FramePart::Start { head, len } => {
                self.check_idle("a new frame's start")?;
                head.put(len, dst)?;
                self.sending = Some(len);
                Ok(())
            }
            FramePart::Chunk(bytes) => {
                let left = self.sending.unwrap_or(0);
                if bytes.len() as u64 > left {
                    return Err(CodecError::Parts(
                        format!(
                            "a chunk of {} bytes where the frame has {left} left",
                            bytes.len()
                        )
                        .into(),
                    ));
                }
                self.sending = Some(left - bytes.len() as u64);
                dst.extend_from_slice(&bytes);
                Ok(())
            }
            FramePart::End => match self.sending.take() {
                Some(0) => Ok(()),
                Some(left) => Err(CodecError::Parts(
                    format!("end of a frame that still owes {left} payload bytes").into(),
                )),
                None => Err(CodecError::Parts(Box::new(
                    "end without a started frame".into(),
                ))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;
    use sockframe::{Header, Kind, encode_frame};

    /// The core's bytes for `frame`.
    fn core_wire(frame: &BytesFrame) -> Vec<u8> {
        let pairs: Vec<(&str, &str)> = frame
            .head
            .metadata()
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let mut header = Header::new(frame.head.kind, frame.head.id, 0).with_meta(&pairs);
        header.flags = frame.head.flags;
        header.name = frame.head.name();
        header.crc = frame.head.crc();
        let mut out = vec![0u8; 1024];
        let n = encode_frame(&header, &frame.payload, &mut out).unwrap();
        out.truncate(n);
        out
    }

    /// The payload handed out is the read buffer's own bytes, not a copy; frames behind it
    /// stay in the buffer.
    #[test]
    fn whole_frames_are_cut_out_of_the_read_buffer() {
        let mut codec = FrameCodec::new();
        let mut src = BytesMut::new();
        codec
            .encode(BytesFrame::data(1, &b"first"[..]), &mut src)
            .unwrap();
        codec
            .encode(BytesFrame::data(2, &b"second"[..]), &mut src)
            .unwrap();
        let start = src.as_ptr() as usize;
        let first = codec.decode(&mut src).unwrap().unwrap();
        assert_eq!((first.head.id, &first.payload[..]), (1, &b"first"[..]));
        // Prefix (5) and header (7) before it.
        assert_eq!(first.payload.as_ptr() as usize, start + 12);
        let second = codec.decode(&mut src).unwrap().unwrap();
        assert_eq!(second.payload.as_ptr() as usize, start + 12 + 5 + 12);
        assert!(src.is_empty());
        assert!(codec.decode_eof(&mut src).unwrap().is_none());
    }

    /// Heads of every length (a common one, one longer than the first try's array) are the
    /// core's bytes, and read back the same.
    #[test]
    fn heads_are_the_cores_bytes() {
        let plain = BytesFrame::data(300, Bytes::from_static(b"payload"));
        let long = BytesFrame::new(Kind(70), u32::MAX, Bytes::from_static(b"xy"))
            .with_name("a-name-long-enough-to-need-a-second-try")
            .with_meta("code", "some-value")
            .with_meta("k", "v")
            .with_crc();
        for frame in [plain, long] {
            let mut dst = BytesMut::from(&b"before"[..]);
            FrameCodec::new().encode(&frame, &mut dst).unwrap();
            assert_eq!(&dst[..6], b"before");
            assert_eq!(&dst[6..], &core_wire(&frame)[..]);
            dst.advance(6);
            let back = FrameCodec::new().decode(&mut dst).unwrap().unwrap();
            assert_eq!(back, frame);
        }
    }

    /// A frame with a trailer is refused from its header with its own error (the codec
    /// delivers whole frames only), answered with an `unsupported` error frame; the codec
    /// stays failed with the same error.
    #[test]
    fn a_frame_with_a_trailer_is_refused_for_good() {
        let mut codec = FrameCodec::new();
        let mut src = BytesMut::new();
        let mut frame = BytesFrame::data(9, &b"abc"[..]);
        frame.head.flags = sockframe::Flags::TRAILER;
        codec.encode(frame, &mut src).unwrap();
        src.truncate(src.len() - 3); // the header is enough to refuse it
        let e = codec.decode(&mut src).unwrap_err();
        assert!(
            matches!(e, CodecError::TrailerRefused { id: 9, len: 3 }),
            "{e:?}"
        );
        assert_eq!(
            e.to_string(),
            "frame 9 announces a trailer (flag TRAILER) after its 3 payload bytes; \
             this receiver takes whole frames without trailers"
        );
        let reply = e.reply().expect("an error frame for the peer");
        assert_eq!((reply.id, reply.code), (0, "unsupported"));
        assert_eq!(reply.message.to_string(), e.to_string());
        let again = codec.decode(&mut BytesMut::new()).unwrap_err();
        assert!(
            matches!(again, CodecError::TrailerRefused { id: 9, len: 3 }),
            "{again:?}"
        );
    }

    /// The common item is small (tokio-util and futures move every item by value several
    /// times): the rarely used checksum, name and metadata are out of line, and so is an
    /// error (a `Result` of the item is no larger than the item).
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn items_are_small() {
        use std::mem::size_of;
        assert_eq!(size_of::<FrameHead>(), 16);
        assert_eq!(size_of::<BytesFrame>(), 48);
        assert_eq!(size_of::<CodecError>(), 16);
        assert_eq!(size_of::<Result<BytesFrame, CodecError>>(), 48);
    }
}
