//! What `codec.rs` (criterion, wall clock) and `instructions.rs` (a driver for callgrind)
//! share: the wire images and the decoders/encoders under test.
#![allow(dead_code)] // each bench uses its own part

use bytes::{BufMut, Bytes, BytesMut};
use sockframe::{Decoder, Event, Header, encode_frame};
use tokio_util::codec::{Decoder as _, Encoder as _, LengthDelimitedCodec};

/// The largest simulated socket read.
pub const READ: usize = 64 * 1024;
/// Receive buffer of every implementation: a 64 KiB payload plus its head fits whole.
pub const BUF: usize = 128 * 1024;
/// Payload sizes measured.
pub const SIZES: [usize; 4] = [16, 64, 1024, 64 * 1024];

/// Frames per run: 1000, or fewer for large payloads (at most 4 MiB of payload per run).
pub fn frames_for(size: usize) -> usize {
    (4 << 20) / size.max(1)
}

pub fn count(size: usize) -> usize {
    frames_for(size).clamp(16, 1000)
}

pub fn label(size: usize) -> String {
    if size >= 1024 {
        format!("{}KiB", size / 1024)
    } else {
        format!("{size}B")
    }
}

pub fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 + 7) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// Wire images
// ---------------------------------------------------------------------------------------------

pub fn sockframe_wire(payload: &[u8], n: usize) -> Vec<u8> {
    let mut wire = vec![0u8; n * (payload.len() + 64)];
    let mut at = 0;
    for id in 0..n {
        at += encode_frame(&Header::data(id as u32, payload), payload, &mut wire[at..]).unwrap();
    }
    wire.truncate(at);
    wire
}

pub fn length_delimited_wire(payload: &[u8], n: usize) -> Vec<u8> {
    let mut codec = LengthDelimitedCodec::new();
    let mut wire = BytesMut::new();
    for _ in 0..n {
        codec
            .encode(Bytes::copy_from_slice(payload), &mut wire)
            .unwrap();
    }
    wire.to_vec()
}

pub fn plain_wire(payload: &[u8], n: usize) -> Vec<u8> {
    let mut wire = Vec::with_capacity(n * (payload.len() + 4));
    for _ in 0..n {
        wire.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        wire.extend_from_slice(payload);
    }
    wire
}

// ---------------------------------------------------------------------------------------------
// Decoders under test. Each returns (frames, payload bytes) so nothing is optimised away.
// ---------------------------------------------------------------------------------------------

pub fn decode_sockframe(dec: &mut Decoder<Vec<u8>>, mut src: &[u8]) -> (usize, usize) {
    dec.reset();
    let (mut frames, mut bytes) = (0, 0);
    loop {
        match dec.next_event() {
            Ok(Some(Event::Frame(f))) => {
                frames += 1;
                bytes += f.payload.len() + f.header.id as usize;
            }
            Ok(Some(other)) => panic!("unexpected event {other:?}"),
            Ok(None) => {
                if src.is_empty() {
                    break;
                }
                let buf = dec.read_buf();
                let n = buf.len().min(READ).min(src.len());
                buf[..n].copy_from_slice(&src[..n]);
                dec.commit(n);
                src = &src[n..];
            }
            Err(e) => panic!("{e}"),
        }
    }
    dec.finish().unwrap();
    (frames, bytes)
}

pub fn decode_length_delimited(
    codec: &mut LengthDelimitedCodec,
    buf: &mut BytesMut,
    mut src: &[u8],
) -> (usize, usize) {
    buf.clear();
    let (mut frames, mut bytes) = (0, 0);
    loop {
        match codec.decode(buf) {
            Ok(Some(frame)) => {
                frames += 1;
                bytes += frame.len();
            }
            Ok(None) => {
                if src.is_empty() {
                    break;
                }
                // What FramedRead does before a read: make room, then read into the spare
                // capacity (here: copy in).
                buf.reserve(READ);
                let n = READ.min(src.len());
                buf.put_slice(&src[..n]);
                src = &src[n..];
            }
            Err(e) => panic!("{e}"),
        }
    }
    assert!(buf.is_empty());
    (frames, bytes)
}

/// The baseline: `u32` little-endian length, then the payload; a fixed buffer, compacted
/// only when the frame in progress would not fit.
pub fn decode_plain(buf: &mut [u8], mut src: &[u8]) -> (usize, usize) {
    let (mut start, mut end) = (0usize, 0usize);
    let (mut frames, mut bytes) = (0, 0);
    loop {
        let data = &buf[start..end];
        if let Some(len) = data.first_chunk::<4>() {
            let len = u32::from_le_bytes(*len) as usize;
            if let Some(payload) = data.get(4..4 + len) {
                frames += 1;
                bytes += payload.len();
                start += 4 + len;
                continue;
            }
        }
        if src.is_empty() {
            break;
        }
        // Need more bytes: compact if the frame in progress would not fit, then read.
        if start == end {
            start = 0;
            end = 0;
        } else if end == buf.len() || start + frame_need(&buf[start..end]) > buf.len() {
            buf.copy_within(start..end, 0);
            end -= start;
            start = 0;
        }
        let n = (buf.len() - end).min(READ).min(src.len());
        buf[end..end + n].copy_from_slice(&src[..n]);
        end += n;
        src = &src[n..];
    }
    assert_eq!(start, end);
    (frames, bytes)
}

pub fn frame_need(data: &[u8]) -> usize {
    match data.first_chunk::<4>() {
        Some(len) => 4 + u32::from_le_bytes(*len) as usize,
        None => 4,
    }
}

// ---------------------------------------------------------------------------------------------
// Encoders: n frames into one preallocated output, rewritten on every iteration.
// ---------------------------------------------------------------------------------------------

pub fn encode_sockframe(payload: &[u8], n: usize, out: &mut [u8]) -> usize {
    let mut at = 0;
    for id in 0..n {
        at += encode_frame(&Header::data(id as u32, payload), payload, &mut out[at..]).unwrap();
    }
    at
}

pub fn encode_length_delimited(
    codec: &mut LengthDelimitedCodec,
    payload: &Bytes,
    n: usize,
    out: &mut BytesMut,
) -> usize {
    out.clear();
    for _ in 0..n {
        // A `Bytes` over a `'static` slice: cloning it is a pointer copy, no refcount.
        codec.encode(payload.clone(), out).unwrap();
    }
    out.len()
}

pub fn encode_plain(payload: &[u8], n: usize, out: &mut [u8]) -> usize {
    let mut at = 0;
    for _ in 0..n {
        let frame = &mut out[at..at + 4 + payload.len()];
        frame[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        frame[4..].copy_from_slice(payload);
        at += frame.len();
    }
    at
}

// ---------------------------------------------------------------------------------------------
// One measured case, ready to run: what `instructions.rs` repeats under callgrind.
// ---------------------------------------------------------------------------------------------

/// Decode or encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Decode a buffer of frames.
    Decode,
    /// Encode frames into a buffer.
    Encode,
}

/// The implementation under test.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Impl {
    /// sockframe's `Decoder` / `encode_frame`.
    Sockframe,
    /// tokio-util's `LengthDelimitedCodec`.
    LengthDelimited,
    /// The hand-written 4-byte length baseline.
    Plain,
}

impl Impl {
    /// All of them, in table order.
    pub const ALL: [Impl; 3] = [Impl::Sockframe, Impl::LengthDelimited, Impl::Plain];

    /// The name used in bench ids and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Impl::Sockframe => "sockframe",
            Impl::LengthDelimited => "length_delimited",
            Impl::Plain => "plain",
        }
    }
}

/// Everything one (operation, implementation, payload size) needs, built once.
pub struct Case {
    op: Op,
    imp: Impl,
    frames: usize,
    payload: Vec<u8>,
    shared: Bytes,
    wire: Vec<u8>,
    dec: Decoder<Vec<u8>>,
    codec: LengthDelimitedCodec,
    bytes: BytesMut,
    buf: Vec<u8>,
}

impl Case {
    /// Prepares a case: the source wire image for decoding, the output buffer for encoding.
    pub fn new(op: Op, imp: Impl, size: usize) -> Case {
        let frames = count(size);
        let payload = payload(size);
        let wire = match imp {
            Impl::Sockframe => sockframe_wire(&payload, frames),
            Impl::LengthDelimited => length_delimited_wire(&payload, frames),
            Impl::Plain => plain_wire(&payload, frames),
        };
        let buf_len = match op {
            Op::Decode => BUF,
            Op::Encode => frames * (size + 64),
        };
        Case {
            op,
            imp,
            frames,
            shared: Bytes::from_static(Vec::leak(payload.clone())),
            payload,
            wire,
            dec: Decoder::new(vec![0u8; BUF]),
            codec: LengthDelimitedCodec::new(),
            bytes: BytesMut::with_capacity(buf_len.max(BUF)),
            buf: vec![0u8; buf_len],
        }
    }

    /// Frames per [`run`](Self::run).
    pub fn frames(&self) -> usize {
        self.frames
    }

    /// Decodes or encodes all the frames once; returns a number that depends on the work.
    pub fn run(&mut self) -> usize {
        match (self.op, self.imp) {
            (Op::Decode, Impl::Sockframe) => decode_sockframe(&mut self.dec, &self.wire).0,
            (Op::Decode, Impl::LengthDelimited) => {
                decode_length_delimited(&mut self.codec, &mut self.bytes, &self.wire).0
            }
            (Op::Decode, Impl::Plain) => decode_plain(&mut self.buf, &self.wire).0,
            (Op::Encode, Impl::Sockframe) => {
                encode_sockframe(&self.payload, self.frames, &mut self.buf)
            }
            (Op::Encode, Impl::LengthDelimited) => {
                encode_length_delimited(&mut self.codec, &self.shared, self.frames, &mut self.bytes)
            }
            (Op::Encode, Impl::Plain) => encode_plain(&self.payload, self.frames, &mut self.buf),
        }
    }
}
