//! The golden vectors of `docs/wire-format.md`, checked byte-exact in both directions.
//!
//! The hex is read from the spec itself, so the document and the code cannot drift apart.
//! Run with `GOLDEN_PRINT=1 cargo test -p sockframe-tests --test golden -- --nocapture` to
//! print the encoding of every vector (for writing the spec, never for passing the test).

use sockframe::{DecodeError, Decoder, Event, Flags, Header, Kind, encode_frame};
use sockframe_tests::spec::At;

/// One golden vector: its name in the spec and the frames it holds, in order.
struct Vector {
    name: &'static str,
    frames: Vec<(Header<'static>, Vec<u8>)>,
}

fn vectors() -> Vec<Vector> {
    let meta = Header::data(4, b"xyz").with_meta(&[("size", "3"), ("type", "text")]);
    let error = Header::new(Kind::ERROR, 0, 0).with_meta(&[("code", "bad-magic")]);
    let error_msg = b"not a sockframe stream".to_vec();

    let all = Header::new(Kind(64), 5, 4)
        .with_name("log")
        .with_crc_of(b"data")
        .with_more()
        .with_meta(&[("k", "v")]);

    vec![
        Vector {
            name: "minimal",
            frames: vec![(Header::data(1, b"hi"), b"hi".to_vec())],
        },
        Vector {
            name: "empty-payload",
            frames: vec![(Header::new(Kind::PING, 7, 0), vec![])],
        },
        Vector {
            name: "name",
            frames: vec![(Header::data(2, b"abc").with_name("a.txt"), b"abc".to_vec())],
        },
        Vector {
            name: "checksum",
            frames: vec![(
                Header::data(3, b"123456789").with_crc_of(b"123456789"),
                b"123456789".to_vec(),
            )],
        },
        Vector {
            name: "metadata",
            frames: vec![(meta, b"xyz".to_vec())],
        },
        Vector {
            name: "multi-byte-varints",
            frames: vec![(Header::new(Kind::DATA, 300, 200), vec![0xAB; 200])],
        },
        Vector {
            name: "error-frame",
            frames: vec![(error, error_msg)],
        },
        Vector {
            name: "fragments",
            frames: vec![
                (
                    Header::new(Kind::DATA, 9, 6).with_more(),
                    b"hello ".to_vec(),
                ),
                (Header::new(Kind::DATA, 9, 5), b"world".to_vec()),
            ],
        },
        Vector {
            name: "all-fields",
            frames: vec![(all, b"data".to_vec())],
        },
        Vector {
            name: "header-check",
            frames: vec![(
                Header::data(1, b"hi")
                    .with_crc_of(b"hi")
                    .with_header_check(),
                b"hi".to_vec(),
            )],
        },
    ]
}

/// The bytes of the spec's vector `name`.
fn spec_hex(spec: &str, name: &str) -> Vec<u8> {
    sockframe_tests::spec::vector(spec, name).unwrap()
}

fn spec() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../docs/wire-format.md"
    ))
    .expect("docs/wire-format.md")
}

fn encode(v: &Vector) -> Vec<u8> {
    let mut out = Vec::new();
    for (header, payload) in &v.frames {
        let mut buf = vec![0u8; 1024];
        let n = encode_frame(header, payload, &mut buf).unwrap();
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn encoder_matches_every_spec_vector() {
    let spec = spec();
    for v in vectors() {
        let bytes = encode(&v);
        if std::env::var_os("GOLDEN_PRINT").is_some() {
            let hex: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
            println!("{}:\n{}\n", v.name, hex.join(" "));
            continue;
        }
        assert_eq!(bytes, spec_hex(&spec, v.name), "vector `{}`", v.name);
    }
}

#[test]
fn decoder_reads_every_spec_vector() {
    let spec = spec();
    if std::env::var_os("GOLDEN_PRINT").is_some() {
        return;
    }
    for v in vectors() {
        let wire = spec_hex(&spec, v.name);
        let mut dec = Decoder::new(vec![0u8; 1024]);
        assert_eq!(dec.feed(&wire), wire.len());
        for (header, payload) in &v.frames {
            match dec.next_event().unwrap() {
                Some(Event::Frame(f)) => {
                    // The encoder writes the payload's length whatever `header.len` said.
                    let expected = Header {
                        len: payload.len() as u64,
                        ..*header
                    };
                    assert_eq!(f.header, expected, "vector `{}`", v.name);
                    assert_eq!(f.payload, &payload[..], "vector `{}`", v.name);
                }
                other => panic!("vector `{}`: expected a frame, got {other:?}", v.name),
            }
        }
        assert!(dec.next_event().unwrap().is_none());
        dec.finish().unwrap();
    }
}

/// A v1 receiver skips header bytes after the fields it knows (room for later versions).
#[test]
fn decoder_skips_unknown_trailing_header_fields() {
    let wire = spec_hex(&spec(), "future-fields");
    let mut dec = Decoder::new([0u8; 64]);
    dec.feed(&wire);
    let Some(Event::Frame(f)) = dec.next_event().unwrap() else {
        panic!("expected a frame")
    };
    assert_eq!(f.header, Header::data(1, b"hi"));
    assert_eq!(f.payload, b"hi");
    assert!(!f.header.flags.contains(Flags::MORE));
}

/// How a test drives the decoder: events taken with `next_event`, or `poll` first (as the
/// blocking and smoltcp read loops do).
#[derive(Debug, Clone, Copy)]
enum Drive {
    Events,
    Poll,
}

/// Feeds `bytes` one at a time; the first error and how many bytes had been fed (`None`:
/// found by `finish` at the end of the stream).
fn first_fault(bytes: &[u8], drive: Drive) -> Option<(DecodeError, Option<usize>)> {
    let mut dec = Decoder::new(vec![0u8; 1024]);
    for (i, b) in bytes.iter().enumerate() {
        assert_eq!(dec.feed(std::slice::from_ref(b)), 1);
        loop {
            let ready = match drive {
                Drive::Events => true,
                Drive::Poll => match dec.poll() {
                    Ok(ready) => ready,
                    Err(e) => return Some((e, Some(i + 1))),
                },
            };
            if !ready {
                break;
            }
            match dec.next_event() {
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Some((e, Some(i + 1))),
            }
        }
    }
    dec.finish().err().map(|e| (e, None))
}

/// The ERROR frame a receiver sends for `err`: its code, metadata after `code`, message.
fn error_frame(err: &DecodeError) -> (String, Vec<(String, String)>, String) {
    let mut out = [0u8; sockframe::ERROR_FRAME_MAX];
    let n = sockframe::encode_decode_error(0, err, &mut out).unwrap();
    let mut dec = Decoder::new(vec![0u8; 1024]);
    dec.feed(&out[..n]);
    let Some(Event::Frame(f)) = dec.next_event().unwrap() else {
        panic!("an error frame decodes whole")
    };
    assert_eq!((f.header.kind, f.header.id), (Kind::ERROR, 0));
    let mut meta = f.header.meta.iter();
    let (_, code) = meta.next().expect("`code` comes first");
    (
        code.to_string(),
        meta.map(|(k, v)| (k.to_string(), v.to_string())).collect(),
        String::from_utf8(f.payload.to_vec()).unwrap(),
    )
}

/// Every case of sections 8.11 and 8.19, through the decoder byte by byte, driven both ways:
/// the fault the case names, at the byte it names (or none), and the ERROR frame the
/// receiver sends for it, metadata and message included.
#[test]
fn decoder_meets_every_conformance_case() {
    let cases = sockframe_tests::spec::cases(&spec()).unwrap();
    assert!(cases.len() >= 30, "only {} cases read", cases.len());
    for case in &cases {
        for drive in [Drive::Events, Drive::Poll] {
            let got = first_fault(&case.send, drive);
            let what = format!("case `{}` ({drive:?})", case.name);
            match (&case.error, got) {
                (None, None) => {}
                (None, Some((e, at))) => panic!("{what}: unexpected {e:?} at {at:?}"),
                (Some(want), None) => panic!("{what}: no `{}`", want.code),
                (Some(want), Some((e, found_at))) => {
                    let at = match want.at {
                        At::Byte(n) => Some(n),
                        At::Eof => None,
                    };
                    assert_eq!(
                        (e.code(), found_at),
                        (want.code.as_str(), at),
                        "{what}: {e:?}"
                    );
                    let (sent_code, meta, message) = error_frame(&e);
                    assert_eq!(sent_code, want.code, "{what}");
                    assert_eq!(meta, want.meta, "{what}");
                    assert_eq!(Some(message), want.message, "{what}");
                }
            }
        }
    }
}

/// The vectors of sections 8.12 to 8.18, written by the functions a sender uses for them.
#[test]
fn encoders_write_the_trailer_limits_and_error_vectors() {
    let spec = spec();
    let mut out = vec![0u8; 1024];
    let mut at = 0;

    // 8.12: a frame with TRAILER, then END.
    let n = encode_frame(&Header::data(6, b"abc").with_trailer(), b"abc", &mut out).unwrap();
    at += n;
    at += sockframe::encode_end(6, &mut out[at..]).unwrap();
    assert_eq!(out[..at], spec_hex(&spec, "trailer-end"));

    // 8.13: 2 of 5 bytes, filler, and the ABORT an echo sends for the cut.
    at = 0;
    let head = Header::new(Kind::DATA, 6, 5).with_trailer();
    at += encode_frame(&head, b"ab\0\0\0", &mut out).unwrap();
    let cut = DecodeError::UnexpectedEof {
        stage: sockframe::Stage::Payload,
        have: 2,
        need: 5,
    };
    at += sockframe::encode_decode_abort(6, &cut, &mut out[at..]).unwrap();
    assert_eq!(out[..at], spec_hex(&spec, "trailer-abort"));

    // 8.14: a message aborted between fragments.
    at = 0;
    let first = Header::data(9, b"hello ").with_more();
    at += encode_frame(&first, b"hello ", &mut out).unwrap();
    let empty = Header::data(9, b"").with_more().with_trailer();
    at += encode_frame(&empty, b"", &mut out[at..]).unwrap();
    let n = sockframe::encode_abort(9, "cancelled", &"cancelled by the sender", &mut out[at..]);
    at += n.unwrap();
    assert_eq!(out[..at], spec_hex(&spec, "abort-fragments"));

    // 8.15 and 8.16: the limits request, and the answer with the default limits.
    let pairs = [("limits", "")];
    let ping = Header::new(Kind::PING, 8, 0).with_meta(&pairs);
    let n = encode_frame(&ping, b"", &mut out).unwrap();
    assert_eq!(out[..n], spec_hex(&spec, "limits-request"));
    assert!(ping.asks_limits());
    let dec = Decoder::new(vec![0u8; 1024]);
    let n = sockframe::encode_limits_pong(&ping, dec.accepted(), &mut out).unwrap();
    assert_eq!(out[..n], spec_hex(&spec, "limits-reply"));

    // 8.17: an ERROR frame with its numbers.
    let err = DecodeError::HeaderTooLarge {
        len: 9000,
        limit: 512,
    };
    let n = sockframe::encode_decode_error(0, &err, &mut out).unwrap();
    assert_eq!(out[..n], spec_hex(&spec, "error-numbers"));
}

/// What the decoder makes of the trailer vectors: a streamed frame ended by END or ABORT, with
/// every byte accounted for in the events' raw bytes.
#[test]
fn decoder_reads_the_trailer_vectors() {
    let spec = spec();
    let events = |name: &str| -> Vec<String> {
        let wire = spec_hex(&spec, name);
        let mut dec = Decoder::new(vec![0u8; 1024]);
        dec.feed(&wire);
        let (mut seen, mut raw_total) = (Vec::new(), Vec::new());
        while let Some((ev, raw)) = dec.next_event_raw().unwrap() {
            raw_total.extend_from_slice(raw);
            seen.push(match ev {
                Event::Frame(f) => format!("frame {} {:?}", f.header.id, f.payload),
                Event::Start(h) => format!("start {} flags {:02x}", h.id, h.flags.0),
                Event::Chunk(c) => format!("chunk {c:?}"),
                Event::End => format!("end ({} raw bytes)", raw.len()),
                Event::Abort(a) => format!(
                    "abort {} {} {:?}",
                    a.header.id,
                    a.header.meta("code").unwrap(),
                    String::from_utf8_lossy(a.payload)
                ),
            });
        }
        dec.finish().unwrap();
        assert_eq!(raw_total, wire, "vector `{name}`: raw bytes");
        seen
    };
    assert_eq!(
        events("trailer-end"),
        [
            "start 6 flags 02",
            "chunk [97, 98, 99]",
            "end (12 raw bytes)"
        ]
    );
    assert_eq!(
        events("trailer-abort"),
        [
            "start 6 flags 02",
            "chunk [97, 98, 0, 0, 0]",
            "abort 6 truncated \"stream ended mid-payload: got 2 of 5 bytes\""
        ]
    );
    assert_eq!(
        events("abort-fragments"),
        [
            "frame 9 [104, 101, 108, 108, 111, 32]",
            "start 9 flags 03",
            "abort 9 cancelled \"cancelled by the sender\""
        ]
    );
    // 8.18: a later revision's PING: decoded as v1, forwarded whole.
    let wire = spec_hex(&spec, "forward-ping");
    let mut dec = Decoder::new(vec![0u8; 1024]);
    dec.feed(&wire);
    let Some((Event::Frame(f), raw)) = dec.next_event_raw().unwrap() else {
        panic!("a whole frame")
    };
    assert_eq!(
        (f.header.kind, f.header.id, f.payload),
        (Kind::PING, 7, &b"hi"[..])
    );
    assert_eq!(f.header.flags.0, 0x80);
    assert_eq!(raw, &wire[..]);
}
