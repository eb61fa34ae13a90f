//! The hand-written header reader agrees with postcard's own deserializer on any bytes:
//! same values when both succeed, an error from both otherwise. The hand-written header
//! writer produces exactly postcard's serializer's bytes for any header.

use proptest::prelude::*;
use sockframe::{
    DecodeError, EncodeError, Flags, Header, Kind, MAX_META, Metadata, PREFIX_LEN, encode_head,
};

#[path = "common/postcard_mirror.rs"]
mod postcard_mirror;
use postcard_mirror::Mirror;

fn check(bytes: &[u8]) {
    let ours = Header::parse(bytes);
    let theirs = postcard::take_from_bytes::<Mirror<'_>>(bytes);
    match (ours, theirs) {
        (Ok(h), Ok((m, _))) => {
            assert_eq!(
                (h.kind.0, h.id, h.len, h.flags.0, h.name, h.crc),
                (m.kind, m.id, m.len, m.flags, m.name, m.crc)
            );
            assert_eq!(h.meta.iter().collect::<Vec<_>>(), m.meta);
        }
        (Err(DecodeError::TooMuchMetadata { count, .. }), Ok((m, _))) => {
            assert_eq!(count as usize, m.meta.len());
            assert!(m.meta.len() > MAX_META);
        }
        (Err(DecodeError::TooMuchMetadata { .. }), Err(_)) => {}
        (Err(_), Err(_)) => {}
        (ours, theirs) => panic!("disagree on {bytes:02x?}: ours {ours:?}, postcard {theirs:?}"),
    }
}

/// Bytes shaped like headers (so the interesting paths are reached), with noise.
fn headerish() -> impl Strategy<Value = Vec<u8>> {
    let varint = prop_oneof![
        any::<u8>().prop_map(|b| vec![b & 0x7F]),
        proptest::collection::vec(any::<u8>(), 1..12),
        Just(vec![0x80, 0x00]),
        Just(vec![0xFF, 0xFF, 0xFF, 0xFF, 0x0F]),
        Just(vec![0xFF, 0xFF, 0xFF, 0xFF, 0x10]),
        Just(vec![0xFF; 9].into_iter().chain([0x01]).collect()),
        Just(vec![0xFF; 9].into_iter().chain([0x02]).collect()),
    ];
    let string = prop_oneof![
        "[a-z]{0,5}".prop_map(|s| [vec![s.len() as u8], s.into_bytes()].concat()),
        proptest::collection::vec(any::<u8>(), 0..6),
    ];
    (
        any::<u8>(),
        varint.clone(),
        varint.clone(),
        any::<u8>(),
        prop_oneof![
            Just(vec![0]),
            string.clone().prop_map(|s| [vec![1], s].concat()),
            any::<u8>().prop_map(|b| vec![b])
        ],
        prop_oneof![
            Just(vec![0]),
            varint.clone().prop_map(|v| [vec![1], v].concat()),
            any::<u8>().prop_map(|b| vec![b])
        ],
        (0u8..11).prop_flat_map(move |n| {
            proptest::collection::vec((string.clone(), string.clone()), n as usize..=n as usize)
                .prop_map(move |entries| {
                    let mut out = vec![n];
                    for (k, v) in entries {
                        out.extend(k);
                        out.extend(v);
                    }
                    out
                })
        }),
        0usize..40,
    )
        .prop_map(|(kind, id, len, flags, name, crc, meta, cut)| {
            let mut b = vec![kind];
            b.extend(id);
            b.extend(len);
            b.push(flags);
            b.extend(name);
            b.extend(crc);
            b.extend(meta);
            let keep = b.len().saturating_sub(cut % 3 * cut);
            b.truncate(keep);
            b
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(20_000))]

    #[test]
    fn reader_agrees_with_postcard_on_headerish_bytes(bytes in headerish()) {
        check(&bytes);
    }

    #[test]
    fn reader_agrees_with_postcard_on_random_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
        check(&bytes);
    }
}

/// A varint-sized number: values on every byte-length boundary, and anything.
fn number(max_bits: u32) -> impl Strategy<Value = u64> {
    let top = if max_bits == 64 {
        u64::MAX
    } else {
        (1u64 << max_bits) - 1
    };
    prop_oneof![
        (0u32..max_bits).prop_map(move |b| (1u64 << b).min(top)),
        (1u32..=max_bits).prop_map(move |b| (1u64 << (b - 1)) - 1 + (1u64 << (b - 1))),
        (0u32..=(max_bits / 7), any::<bool>()).prop_map(move |(k, below)| {
            let edge = 1u64.checked_shl(7 * k).unwrap_or(0);
            if below {
                edge.saturating_sub(1).min(top)
            } else {
                edge.min(top)
            }
        }),
        any::<u64>().prop_map(move |v| v & top),
        0u64..300,
    ]
}

/// Any string a sender might put in a header: empty, short, past one varint byte (>127).
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        proptest::collection::vec(any::<char>(), 1..8).prop_map(String::from_iter),
        (100usize..200, any::<char>()).prop_map(|(n, c)| std::iter::repeat_n(c, n).collect()),
    ]
}

type Fields = (
    u8,
    u64,
    u64,
    u8,
    Option<String>,
    Option<u64>,
    Vec<(String, String)>,
);

fn fields() -> impl Strategy<Value = Fields> {
    (
        any::<u8>(),
        number(32),
        number(64),
        any::<u8>(),
        proptest::option::of(text()),
        proptest::option::of(number(32)),
        prop_oneof![
            Just(vec![]),
            proptest::collection::vec((text(), text()), 0..=MAX_META),
        ],
    )
}

/// The header the fields describe, its bytes from postcard, and from sockframe (through
/// `Header::emit` and `encode_head`), compared; every too-small buffer is refused.
fn check_writer(f: &Fields, payload_len: u64) {
    let (kind, id, len, flags, name, crc, meta) = f;
    // HCHECK adds the header check after the fields (core/src/header_check.rs tests it).
    let flags = &(*flags & !Flags::HCHECK.0);
    let pairs: Vec<(&str, &str)> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let mut header = Header::new(Kind(*kind), *id as u32, *len);
    header.flags = Flags(*flags);
    header.name = name.as_deref();
    header.crc = crc.map(|c| c as u32);
    header.meta = Metadata::from_pairs(&pairs);
    let want = postcard::to_allocvec(&Mirror {
        kind: *kind,
        id: *id as u32,
        len: *len,
        flags: *flags,
        name: name.as_deref(),
        crc: crc.map(|c| c as u32),
        meta: pairs.clone(),
    })
    .unwrap();
    assert_eq!(header.encoded_len(), want.len());
    let mut out = vec![0xEEu8; want.len() + 30];
    let n = header.emit(&mut out).unwrap();
    assert_eq!(
        &out[..n],
        &want[..],
        "emit differs from postcard for {header:?}"
    );
    for short in [0, want.len() / 2, want.len().saturating_sub(1)] {
        if short < want.len() {
            assert_eq!(
                header.emit(&mut out[..short]),
                Err(EncodeError::BufferTooSmall {
                    need: want.len(),
                    have: short
                })
            );
        }
    }
    // encode_head: the prefix, then the header with `len` replaced by the payload's length.
    let want = postcard::to_allocvec(&Mirror {
        kind: *kind,
        id: *id as u32,
        len: payload_len,
        flags: *flags,
        name: name.as_deref(),
        crc: crc.map(|c| c as u32),
        meta: pairs.clone(),
    })
    .unwrap();
    let n = encode_head(&header, payload_len, &mut out).unwrap();
    assert_eq!(n, PREFIX_LEN + want.len());
    assert_eq!(&out[PREFIX_LEN..n], &want[..]);
    assert_eq!(&out[3..5], &(want.len() as u16).to_le_bytes());
    for short in [0, PREFIX_LEN - 1, PREFIX_LEN, n - 1] {
        assert_eq!(
            encode_head(&header, payload_len, &mut out[..short]),
            Err(EncodeError::BufferTooSmall {
                need: n,
                have: short
            })
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(40_000))]

    #[test]
    fn writer_agrees_with_postcard(f in fields(), payload_len in number(64)) {
        check_writer(&f, payload_len);
    }
}

/// A header too large for the prefix's u16 is refused with its size, and more metadata
/// than a receiver accepts with the count.
#[test]
fn writer_refuses_what_a_receiver_would() {
    let long = "x".repeat(70_000);
    let header = Header::data(1, b"").with_name(&long);
    let mut out = vec![0u8; 80_000];
    let need = header.encoded_len();
    assert_eq!(
        encode_head(&header, 0, &mut out),
        Err(EncodeError::HeaderTooLarge {
            len: need,
            limit: 65_535
        })
    );
    let pairs = [("k", "v"); MAX_META + 1];
    let header = Header::data(1, b"").with_meta(&pairs);
    assert_eq!(
        encode_head(&header, 0, &mut out),
        Err(EncodeError::TooMuchMetadata {
            count: MAX_META + 1,
            limit: MAX_META
        })
    );
}
