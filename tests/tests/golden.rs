//! The golden vectors of `docs/wire-format.md`, checked byte-exact in both directions.
//!
//! The hex is read from the spec itself, so the document and the code cannot drift apart.
//! Run with `GOLDEN_PRINT=1 cargo test -p sockframe-tests --test golden -- --nocapture` to
//! print the encoding of every vector (for writing the spec, never for passing the test).

use sockframe::{Decoder, Event, Flags, Header, Kind, encode_frame};

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
    ]
}

/// Finds the hex block that follows `<!-- vector: NAME -->` in the spec.
fn spec_hex(spec: &str, name: &str) -> Vec<u8> {
    let marker = format!("<!-- vector: {name} -->");
    let at = spec
        .find(&marker)
        .unwrap_or_else(|| panic!("spec has no vector `{name}`"));
    let block = spec[at..]
        .split("```")
        .nth(1)
        .expect("a fenced hex block after the marker");
    let digits: String = block
        .lines()
        .skip(1) // the fence's info string
        .flat_map(|l| l.split('#').next().unwrap_or("").chars())
        .filter(|c| c.is_ascii_hexdigit())
        .collect();
    assert_eq!(
        digits.len() % 2,
        0,
        "vector `{name}`: odd number of hex digits"
    );
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&digits[i..i + 2], 16).unwrap())
        .collect()
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
