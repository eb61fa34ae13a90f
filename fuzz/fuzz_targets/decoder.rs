//! The decoder on arbitrary bytes, arriving in arbitrary pieces.
//!
//! Input layout: `sockframe_fuzz::input` (buffer size 5..=2052 bytes, limits, read sizes,
//! the stream).
//!
//! Invariants checked (any failure is a panic, which libFuzzer reports as a crash):
//! - nothing in the decoder panics;
//! - `poll()` says `true` exactly when `next_event()` then returns an event;
//! - a `Frame`'s payload is `header.len` bytes, fits the buffer, and matches its CRC if any;
//! - `Start` .. `Chunk`* .. `End` nest properly, chunks are non-empty and add up to exactly
//!   the `Start` header's `len` (and its CRC), and nothing else comes between them;
//! - payloads never exceed `Limits::max_payload`;
//! - `read_buf()` is never empty while no event is waiting (the read loop cannot stall);
//! - `finish()` is `Ok` only between frames, leaving the decoder idle;
//! - after an error, `poll`, `next_event`, `finish` and `error` all keep giving that same
//!   error, even when more bytes are fed; `reset()` clears it.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockframe::checksum::{Crc32c, crc32c};
use sockframe::{DecodeError, Decoder, Event, Limits, PREFIX_LEN};
use sockframe_fuzz::input::{Input, Pieces};

struct Stream {
    len: u64,
    seen: u64,
    crc: Option<(u32, Crc32c)>,
}

#[derive(Default)]
struct Checker {
    stream: Option<Stream>,
    frames: usize,
}

impl Checker {
    /// Takes every event that is ready; the decoder's error if it fails.
    fn drain(
        &mut self,
        dec: &mut Decoder<Vec<u8>>,
        limits: Limits,
        cap: usize,
    ) -> Result<(), DecodeError> {
        loop {
            let ready = dec.poll()?;
            let event = dec.next_event()?;
            assert_eq!(ready, event.is_some(), "poll() disagrees with next_event()");
            let Some(event) = event else {
                return Ok(());
            };
            match event {
                Event::Frame(f) => {
                    assert!(self.stream.is_none(), "Frame inside Start..End");
                    assert_eq!(f.payload.len() as u64, f.header.len, "Frame payload length");
                    assert!(f.payload.len() <= cap, "whole frame larger than the buffer");
                    assert!(f.header.len <= limits.max_payload, "payload over the limit");
                    if let Some(crc) = f.header.crc {
                        assert_eq!(crc32c(f.payload), crc, "Frame with a wrong CRC");
                    }
                    self.frames += 1;
                }
                Event::Start(h) => {
                    assert!(self.stream.is_none(), "Start inside Start..End");
                    assert!(h.len <= limits.max_payload, "payload over the limit");
                    self.stream = Some(Stream {
                        len: h.len,
                        seen: 0,
                        crc: h.crc.map(|c| (c, Crc32c::new())),
                    });
                }
                Event::Chunk(bytes) => {
                    let s = self.stream.as_mut().expect("Chunk outside Start..End");
                    assert!(!bytes.is_empty(), "empty Chunk");
                    s.seen += bytes.len() as u64;
                    assert!(s.seen <= s.len, "chunks exceed the announced length");
                    if let Some((_, digest)) = &mut s.crc {
                        digest.update(bytes);
                    }
                }
                Event::Abort(a) => {
                    let s = self.stream.take().expect("Abort without Start");
                    assert_eq!(s.seen, s.len, "Abort before the payload's end");
                    assert_eq!(
                        a.header.kind,
                        sockframe::Kind::ABORT,
                        "Abort of another kind"
                    );
                    assert!(
                        a.payload.len() <= sockframe::ABORT_MESSAGE_MAX,
                        "long Abort"
                    );
                    self.frames += 1;
                }
                Event::End => {
                    let s = self.stream.take().expect("End without Start");
                    assert_eq!(s.seen, s.len, "chunks between Start and End != header.len");
                    if let Some((crc, digest)) = s.crc {
                        assert_eq!(digest.value(), crc, "End after a wrong CRC");
                    }
                    self.frames += 1;
                }
            }
        }
    }
}

fn assert_failed(dec: &mut Decoder<Vec<u8>>, e: DecodeError) {
    assert_eq!(dec.error(), Some(e), "error() after a failure");
    assert_eq!(dec.poll(), Err(e), "poll() after a failure");
    assert!(
        matches!(dec.next_event(), Err(x) if x == e),
        "next_event() after a failure"
    );
    assert_eq!(dec.finish(), Err(e), "finish() after a failure");
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data, PREFIX_LEN) else {
        return;
    };
    let (cap, limits) = (input.cap, input.limits);
    let mut dec = Decoder::with_limits(vec![0u8; cap], limits);
    let mut checker = Checker::default();
    let mut pieces = Pieces::new(input.stream, &input.reads);
    let failed = loop {
        if let Err(e) = checker.drain(&mut dec, limits, cap) {
            break Some(e);
        }
        if pieces.is_done() {
            break None;
        }
        let n = pieces.fill(dec.read_buf());
        dec.commit(n);
    };

    let failed = match failed {
        Some(e) => Some(e),
        None => match dec.finish() {
            Ok(()) => {
                assert!(checker.stream.is_none(), "finish() Ok inside Start..End");
                assert!(dec.is_idle(), "finish() Ok with bytes buffered");
                assert_eq!(dec.error(), None);
                None
            }
            Err(e) => {
                // The cut, or (spec 7.5) a fault the bytes of a partial header already show.
                assert!(
                    matches!(
                        e,
                        DecodeError::UnexpectedEof { .. }
                            | DecodeError::BadHeader { .. }
                            | DecodeError::TooMuchMetadata { .. }
                            | DecodeError::PayloadTooLarge { .. }
                            | DecodeError::BadTrailer { .. }
                    ),
                    "finish() failed with {e:?}"
                );
                Some(e)
            }
        },
    };

    if let Some(e) = failed {
        assert_failed(&mut dec, e);
        // More bytes change nothing.
        let _ = dec.feed(&[
            0xF5, 0x46, 0x01, 0x07, 0x00, 0, 1, 2, 0, 0, 0, 0, b'h', b'i',
        ]);
        assert_failed(&mut dec, e);
        dec.reset();
        assert_eq!(dec.error(), None, "reset() keeps the error");
        assert!(dec.is_idle(), "reset() keeps bytes");
        assert_eq!(dec.poll(), Ok(false));
    }
});
