//! The hand-written header reader agrees with postcard's own deserializer on any bytes:
//! same values when both succeed, an error from both otherwise.

use proptest::prelude::*;
use serde::Deserialize;
use sockframe::{DecodeError, Header, MAX_META};

/// The v1 header as postcard's serde deserializer reads it.
#[derive(Deserialize, Debug)]
struct Mirror<'a> {
    kind: u8,
    id: u32,
    len: u64,
    flags: u8,
    #[serde(borrow)]
    name: Option<&'a str>,
    crc: Option<u32>,
    #[serde(borrow)]
    meta: Vec<(&'a str, &'a str)>,
}

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
