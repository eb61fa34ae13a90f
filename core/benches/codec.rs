//! Decode and encode throughput: sockframe against tokio-util's `LengthDelimitedCodec` and a
//! plain hand-written 4-byte-length parser (the baseline: the least work a framing can do).
//!
//! Every decode run takes a source buffer holding many encoded frames (each implementation
//! its own encoding of the same payloads) and "reads" it in pieces of at most [`READ`] bytes,
//! copying from the source into the implementation's buffer the way a socket read would:
//! sockframe reads straight into `Decoder::read_buf`, the codec into the spare capacity of a
//! `BytesMut`, the plain parser into its own `Vec`. Throughput is in frames
//! (`Throughput::Elements`); docs/benchmarks.md turns it into MiB/s of payload.
//!
//! Run: `taskset -c 1 cargo bench -p sockframe --bench codec -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bytes::{BufMut, Bytes, BytesMut};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sockframe::{Decoder, Event, Header, encode_frame};
use tokio_util::codec::{Decoder as _, Encoder as _, LengthDelimitedCodec};

/// The largest simulated socket read.
const READ: usize = 64 * 1024;
/// Receive buffer of every implementation: a 64 KiB payload plus its head fits whole.
const BUF: usize = 128 * 1024;
/// Payload sizes measured.
const SIZES: [usize; 4] = [16, 64, 1024, 64 * 1024];

/// Frames per run: 1000, or fewer for large payloads (at most 4 MiB of payload per run).
fn frames_for(size: usize) -> usize {
    (4 << 20) / size.max(1)
}

fn count(size: usize) -> usize {
    frames_for(size).clamp(16, 1000)
}

fn label(size: usize) -> String {
    if size >= 1024 {
        format!("{}KiB", size / 1024)
    } else {
        format!("{size}B")
    }
}

fn payload(size: usize) -> Vec<u8> {
    (0..size).map(|i| (i * 31 + 7) as u8).collect()
}

// ---------------------------------------------------------------------------------------------
// Wire images
// ---------------------------------------------------------------------------------------------

fn sockframe_wire(payload: &[u8], n: usize) -> Vec<u8> {
    let mut wire = vec![0u8; n * (payload.len() + 64)];
    let mut at = 0;
    for id in 0..n {
        at += encode_frame(&Header::data(id as u32, payload), payload, &mut wire[at..]).unwrap();
    }
    wire.truncate(at);
    wire
}

fn length_delimited_wire(payload: &[u8], n: usize) -> Vec<u8> {
    let mut codec = LengthDelimitedCodec::new();
    let mut wire = BytesMut::new();
    for _ in 0..n {
        codec
            .encode(Bytes::copy_from_slice(payload), &mut wire)
            .unwrap();
    }
    wire.to_vec()
}

fn plain_wire(payload: &[u8], n: usize) -> Vec<u8> {
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

fn decode_sockframe(dec: &mut Decoder<Vec<u8>>, mut src: &[u8]) -> (usize, usize) {
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

fn decode_length_delimited(
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
fn decode_plain(buf: &mut [u8], mut src: &[u8]) -> (usize, usize) {
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

fn frame_need(data: &[u8]) -> usize {
    match data.first_chunk::<4>() {
        Some(len) => 4 + u32::from_le_bytes(*len) as usize,
        None => 4,
    }
}

fn bench_decode(c: &mut Criterion) {
    for size in SIZES {
        let n = count(size);
        let payload = payload(size);
        let sf = sockframe_wire(&payload, n);
        let ld = length_delimited_wire(&payload, n);
        let plain = plain_wire(&payload, n);

        let mut group = c.benchmark_group(format!("decode/{}", label(size)));
        group.throughput(Throughput::Elements(n as u64));

        let mut dec = Decoder::new(vec![0u8; BUF]);
        assert_eq!(decode_sockframe(&mut dec, &sf).0, n);
        group.bench_function(BenchmarkId::from_parameter("sockframe"), |b| {
            b.iter(|| black_box(decode_sockframe(&mut dec, black_box(&sf))))
        });

        let mut codec = LengthDelimitedCodec::new();
        let mut buf = BytesMut::with_capacity(BUF);
        assert_eq!(decode_length_delimited(&mut codec, &mut buf, &ld).0, n);
        group.bench_function(BenchmarkId::from_parameter("length_delimited"), |b| {
            b.iter(|| {
                black_box(decode_length_delimited(
                    &mut codec,
                    &mut buf,
                    black_box(&ld),
                ))
            })
        });

        let mut pbuf = vec![0u8; BUF];
        assert_eq!(decode_plain(&mut pbuf, &plain).0, n);
        group.bench_function(BenchmarkId::from_parameter("plain"), |b| {
            b.iter(|| black_box(decode_plain(&mut pbuf, black_box(&plain))))
        });

        group.finish();
    }
}

// ---------------------------------------------------------------------------------------------
// Encoders: n frames into one preallocated output, rewritten on every iteration.
// ---------------------------------------------------------------------------------------------

fn encode_sockframe(payload: &[u8], n: usize, out: &mut [u8]) -> usize {
    let mut at = 0;
    for id in 0..n {
        at += encode_frame(&Header::data(id as u32, payload), payload, &mut out[at..]).unwrap();
    }
    at
}

fn encode_length_delimited(
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

fn encode_plain(payload: &[u8], n: usize, out: &mut [u8]) -> usize {
    let mut at = 0;
    for _ in 0..n {
        let frame = &mut out[at..at + 4 + payload.len()];
        frame[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
        frame[4..].copy_from_slice(payload);
        at += frame.len();
    }
    at
}

fn bench_encode(c: &mut Criterion) {
    for size in SIZES {
        let n = count(size);
        let payload = payload(size);
        let mut group = c.benchmark_group(format!("encode/{}", label(size)));
        group.throughput(Throughput::Elements(n as u64));

        let mut out = vec![0u8; n * (size + 64)];
        group.bench_function(BenchmarkId::from_parameter("sockframe"), |b| {
            b.iter(|| black_box(encode_sockframe(black_box(&payload), n, &mut out)))
        });

        let mut codec = LengthDelimitedCodec::new();
        let shared = Bytes::from_static(Vec::leak(payload.clone()));
        let mut bout = BytesMut::with_capacity(n * (size + 4));
        group.bench_function(BenchmarkId::from_parameter("length_delimited"), |b| {
            b.iter(|| {
                black_box(encode_length_delimited(
                    &mut codec,
                    black_box(&shared),
                    n,
                    &mut bout,
                ))
            })
        });
        // The codec must not have reallocated: same conditions as the others.
        assert!(bout.capacity() >= n * (size + 4));

        group.bench_function(BenchmarkId::from_parameter("plain"), |b| {
            b.iter(|| black_box(encode_plain(black_box(&payload), n, &mut out)))
        });

        group.finish();
    }
}

criterion_group!(benches, bench_decode, bench_encode);
criterion_main!(benches);
