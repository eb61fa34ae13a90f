//! The Rust core's decoder as a filter, for differential tests of other implementations
//! (the Python package's `tests/test_differential.py`): reads cases from stdin, prints the
//! events the core's `Decoder` makes of each.
//!
//! Input, repeated until the end: `u32` buffer capacity, `u32` number of pieces, then each
//! piece as a `u32` length and its bytes (all little-endian). The pieces are fed in order,
//! the events taken after each, then the end of the stream is signalled.
//!
//! Output, one line per event, then `.` after each case: `F kind id len flags name crc meta
//! payload` (a whole frame), `S kind id len flags name crc meta` (a streamed frame's header),
//! `C hex` (a chunk), `E` (its end), `A kind id len flags name crc meta payload` (its abort:
//! the ABORT trailer), then `OK` (a clean end) or `X code message` (the error
//! the stream ended with). Strings and bytes are in hex (`-` for none), so no value can
//! break a line.

use sockframe::{Decoder, Event, Header};
use std::io::{BufWriter, Read, Write};

fn hex(bytes: &[u8]) -> String {
    if bytes.is_empty() {
        return "-".into();
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn header(h: &Header<'_>) -> String {
    let meta: Vec<String> = h
        .meta
        .iter()
        .map(|(k, v)| format!("{}={}", hex(k.as_bytes()), hex(v.as_bytes())))
        .collect();
    format!(
        "{} {} {} {} {} {} {}",
        h.kind.0,
        h.id,
        h.len,
        h.flags.0,
        h.name
            .map_or("-".into(), |n| format!("n{}", hex(n.as_bytes()))),
        h.crc.map_or("-".into(), |c| c.to_string()),
        if meta.is_empty() {
            "-".into()
        } else {
            meta.join(",")
        }
    )
}

fn u32_at(input: &[u8], at: &mut usize) -> Option<u32> {
    let bytes = input.get(*at..*at + 4)?;
    *at += 4;
    Some(u32::from_le_bytes(bytes.try_into().ok()?))
}

/// Takes every event the decoder has; `Err` with the error line if it failed.
fn drain(dec: &mut Decoder<Vec<u8>>, out: &mut impl Write) -> Result<(), String> {
    loop {
        let line = match dec.next_event() {
            Ok(None) => return Ok(()),
            Ok(Some(Event::Frame(f))) => {
                format!("F {} {}", header(&f.header), hex(f.payload))
            }
            Ok(Some(Event::Start(h))) => format!("S {}", header(&h)),
            Ok(Some(Event::Chunk(c))) => format!("C {}", hex(c)),
            Ok(Some(Event::End)) => "E".into(),
            Ok(Some(Event::Abort(a))) => format!("A {} {}", header(&a.header), hex(a.payload)),
            Err(e) => return Err(format!("X {} {e}", e.code())),
        };
        let _ = writeln!(out, "{line}");
    }
}

fn main() {
    let mut input = Vec::new();
    std::io::stdin()
        .read_to_end(&mut input)
        .expect("read stdin");
    let stdout = std::io::stdout();
    let mut out = BufWriter::new(stdout.lock());
    let mut at = 0;
    while let Some(capacity) = u32_at(&input, &mut at) {
        let pieces = u32_at(&input, &mut at).expect("piece count");
        let mut dec = Decoder::new(vec![0u8; capacity as usize]);
        let mut result = Ok(());
        for _ in 0..pieces {
            let len = u32_at(&input, &mut at).expect("piece length") as usize;
            let mut piece = &input[at..at + len];
            at += len;
            while result.is_ok() && !piece.is_empty() {
                let taken = dec.feed(piece);
                piece = &piece[taken..];
                result = drain(&mut dec, &mut out);
                if taken == 0 && result.is_ok() && dec.read_buf().is_empty() {
                    result = Err("X stuck the buffer is full and no event is ready".into());
                }
            }
        }
        let end = result.and_then(|()| dec.finish().map_err(|e| format!("X {} {e}", e.code())));
        let _ = writeln!(out, "{}\n.", end.err().unwrap_or_else(|| "OK".into()));
    }
    let _ = out.flush();
}
