//! The resynchronising receiver (spec section 9.1) on arbitrary bytes, in arbitrary pieces.
//!
//! Input layout: `sockframe_fuzz::input` (buffer size 16..=2063 bytes, limits, read sizes,
//! the stream).
//!
//! Invariants checked (any failure is a panic, which libFuzzer reports as a crash):
//! - nothing panics, and the read loop never stalls (`read_buf()` is never empty while no
//!   event is waiting);
//! - every delivered frame verifies: flag HCHECK, its header check, its payload crc (whole,
//!   or over the chunks of a streamed one at its `End`); and the stream decoder reads its
//!   bytes as the same frame;
//! - `Start` .. `Chunk`* .. `End`/`Abort` nest, and a skipped run that ends a stream comes
//!   only inside one;
//! - every byte fed is in a delivered frame or in a skipped run, exactly once;
//! - the same bytes fed whole give the same frames and skipped runs as fed in pieces.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockframe::checksum::Crc32c;
use sockframe::resync::{Received, Resync};
use sockframe::{Decoder, Event, Flags, Limits, header_check};
use sockframe_fuzz::input::{Input, Pieces};

/// What came out, chunks of a stream merged: comparable across ways of feeding.
#[derive(Debug, PartialEq)]
enum Out {
    Frame(Vec<u8>),
    /// A streamed frame: its bytes (head, chunks, trailer) and whether it ended well.
    Stream(Vec<u8>, bool),
    Skip(u64),
}

#[derive(Default)]
struct Checker {
    out: Vec<Out>,
    /// The streamed frame in progress: its bytes so far, announced crc and digest.
    stream: Option<(Vec<u8>, Option<(u32, Crc32c)>)>,
    accounted: u64,
}

impl Checker {
    fn drain(&mut self, rx: &mut Resync<Vec<u8>>) {
        while let Some((r, raw)) = rx.next_event_raw() {
            match r {
                Received::Event(Event::Frame(f)) => {
                    assert!(self.stream.is_none(), "Frame inside a stream");
                    check_head(&raw[..raw.len() - f.payload.len()]);
                    if let Some(crc) = f.header.crc {
                        assert_eq!(sockframe::checksum::crc32c(f.payload), crc, "bad crc");
                    }
                    let mut dec = Decoder::new(vec![0u8; raw.len().max(5)]);
                    dec.feed(raw);
                    match dec.next_event() {
                        Ok(Some(Event::Frame(g))) => {
                            assert_eq!(g.header, f.header);
                            assert_eq!(g.payload, f.payload);
                        }
                        other => panic!("the stream decoder reads {other:?}"),
                    }
                    self.accounted += raw.len() as u64;
                    self.out.push(Out::Frame(raw.to_vec()));
                }
                Received::Event(Event::Start(h)) => {
                    assert!(self.stream.is_none(), "Start inside a stream");
                    check_head(raw);
                    self.stream = Some((raw.to_vec(), h.crc.map(|c| (c, Crc32c::new()))));
                }
                Received::Event(Event::Chunk(c)) => {
                    let (bytes, crc) = self.stream.as_mut().expect("Chunk outside a stream");
                    assert!(!c.is_empty(), "empty chunk");
                    bytes.extend_from_slice(c);
                    if let Some((_, d)) = crc {
                        d.update(c);
                    }
                }
                Received::Event(Event::End) | Received::Event(Event::Abort(_)) => {
                    let ended = matches!(r, Received::Event(Event::End));
                    let (mut bytes, crc) = self.stream.take().expect("End outside a stream");
                    if let (true, Some((want, d))) = (ended, crc) {
                        assert_eq!(d.value(), want, "End after a bad crc");
                    }
                    if !raw.is_empty() {
                        check_head(raw_head(raw));
                    }
                    bytes.extend_from_slice(raw);
                    self.accounted += bytes.len() as u64;
                    self.out.push(Out::Stream(bytes, ended));
                }
                Received::Skipped(s) => {
                    assert!(s.bytes > 0, "an empty skipped run");
                    assert_eq!(s.ends_stream, self.stream.is_some(), "ends_stream");
                    if let Some((bytes, _)) = self.stream.take() {
                        assert_eq!(s.bytes, bytes.len() as u64, "a dropped stream's bytes");
                    }
                    self.accounted += s.bytes;
                    self.out.push(Out::Skip(s.bytes));
                }
            }
        }
    }
}

/// The head of a trailer frame's bytes (prefix and header).
fn raw_head(frame: &[u8]) -> &[u8] {
    let header_len = usize::from(u16::from_le_bytes([frame[3], frame[4]]));
    &frame[..5 + header_len]
}

/// A delivered head carries HCHECK and a valid check.
fn check_head(head: &[u8]) {
    assert!(
        header_check::verify(head).is_ok(),
        "unverified head delivered"
    );
    let header = sockframe::Header::parse(&head[5..]).expect("a delivered head parses");
    assert!(
        header.flags.contains(Flags::HCHECK),
        "a head without HCHECK"
    );
}

fn run(stream: &[u8], cap: usize, limits: Limits, reads: &[usize]) -> Vec<Out> {
    let mut rx = Resync::with_limits(vec![0u8; cap], limits);
    let mut checker = Checker::default();
    let mut pieces = Pieces::new(stream, reads);
    loop {
        checker.drain(&mut rx);
        if pieces.is_done() {
            break;
        }
        let n = pieces.fill(rx.read_buf());
        rx.commit(n);
    }
    rx.finish();
    checker.drain(&mut rx);
    assert!(checker.stream.is_none(), "a stream left open after finish");
    assert_eq!(
        checker.accounted,
        stream.len() as u64,
        "bytes unaccounted for"
    );
    assert_eq!(
        rx.skipped_total(),
        checker
            .out
            .iter()
            .map(|o| match o {
                Out::Skip(n) => *n,
                _ => 0,
            })
            .sum::<u64>()
    );
    checker.out
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data, 16) else {
        return;
    };
    let (cap, limits) = (input.cap, input.limits);
    let pieces = run(input.stream, cap, limits, &input.reads);
    let whole = run(input.stream, cap, limits, &[usize::MAX]);
    assert_eq!(pieces, whole, "the output depends on the pieces");
});
