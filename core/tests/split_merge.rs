//! Any sequence of frames, cut and glued at arbitrary points, decodes to exactly the frames
//! sent: the sticky-packet problem, solved for every split a stream can make. Frames with a
//! trailer (END or ABORT) included; and the raw bytes of the events, put back together, are
//! the stream itself (what byte-exact forwarding relies on).

use proptest::prelude::*;
use sockframe::{Decoder, Event, Flags, Header};

mod common;

use common::frames::{spec_with_trailers, wire_of};

/// What came out of the decoder for one frame: the header fields and the whole payload.
#[derive(Debug, PartialEq)]
struct Got {
    kind: u8,
    id: u32,
    flags: Flags,
    name: Option<String>,
    crc: Option<u32>,
    meta: Vec<(String, String)>,
    payload: Vec<u8>,
    /// The ABORT's code and message, if the frame was aborted.
    aborted: Option<(String, Vec<u8>)>,
}

impl Got {
    fn from_header(h: &Header<'_>) -> Self {
        Got {
            kind: h.kind.0,
            id: h.id,
            flags: h.flags,
            name: h.name.map(str::to_owned),
            crc: h.crc,
            meta: h
                .meta
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            payload: Vec::new(),
            aborted: None,
        }
    }
}

/// Decodes `wire`, fed in pieces of the given sizes (cycled), into frames; checks that the
/// raw bytes of the events add up to `wire`.
fn decode(wire: &[u8], cuts: &[usize], buf_size: usize) -> Vec<Got> {
    let mut dec = Decoder::new(vec![0u8; buf_size]);
    let mut out = Vec::new();
    let mut forwarded = Vec::new();
    let mut streaming: Option<Got> = None;
    let mut at = 0;
    let mut cut = cuts.iter().cycle();
    loop {
        loop {
            // `poll` (what read loops use) must agree with `next_event` at every step.
            let ready = dec.poll().unwrap();
            let Some((ev, raw)) = dec.next_event_raw().unwrap() else {
                assert!(!ready, "poll said ready, next_event found nothing");
                break;
            };
            assert!(ready, "next_event found an event poll did not see");
            forwarded.extend_from_slice(raw);
            match ev {
                Event::Frame(f) => {
                    let mut g = Got::from_header(&f.header);
                    g.payload = f.payload.to_vec();
                    out.push(g);
                }
                Event::Start(h) => streaming = Some(Got::from_header(&h)),
                Event::Chunk(c) => streaming.as_mut().unwrap().payload.extend_from_slice(c),
                Event::End => out.push(streaming.take().unwrap()),
                Event::Abort(a) => {
                    let mut g = streaming.take().unwrap();
                    let code = a.header.meta("code").unwrap().to_owned();
                    g.aborted = Some((code, a.payload.to_vec()));
                    out.push(g);
                }
            }
        }
        if at == wire.len() {
            break;
        }
        let want = (*cut.next().unwrap()).min(wire.len() - at);
        let space = dec.read_buf();
        let n = want.min(space.len());
        assert!(n > 0, "decoder offered no space while waiting for bytes");
        space[..n].copy_from_slice(&wire[at..at + n]);
        dec.commit(n);
        at += n;
    }
    dec.finish().unwrap();
    assert!(
        forwarded == wire,
        "the events' raw bytes are not the stream"
    );
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(10_000))]

    #[test]
    fn frames_survive_any_split_and_merge(
        frames in proptest::collection::vec(spec_with_trailers(), 1..6),
        cuts in proptest::collection::vec(1usize..2000, 1..8),
        one_byte_at_a_time in proptest::bool::weighted(0.1),
        buf_size in prop_oneof![Just(600usize), Just(4096usize), 200usize..3000],
    ) {
        let mut expected = Vec::new();
        for s in &frames {
            let pairs: Vec<(&str, &str)> = s.meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            let mut g = Got::from_header(&s.header(&pairs));
            g.payload = s.payload.clone();
            if let Some(Some(message)) = &s.trailer {
                g.aborted = Some((common::frames::ABORT_CODE.to_owned(), message.clone().into_bytes()));
            }
            expected.push(g);
        }
        let wire = wire_of(&frames);
        let cuts = if one_byte_at_a_time { vec![1] } else { cuts };
        prop_assert_eq!(decode(&wire, &cuts, buf_size), expected);
    }
}
