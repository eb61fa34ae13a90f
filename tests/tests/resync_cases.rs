//! The resynchronising receiver's cases of `docs/wire-format.md` section 8.21, read from the
//! spec: the same frames and skipped runs whatever pieces the bytes arrive in.

use sockframe::Event;
use sockframe::resync::{Received, Resync};
use sockframe_tests::spec::{self, ResyncOut};

/// What the receiver gives for `bytes` fed in pieces of `piece` bytes, whole stream.
fn receive(bytes: &[u8], piece: usize) -> Vec<ResyncOut> {
    let mut rx = Resync::new(vec![0u8; 512]);
    let mut out = Vec::new();
    let mut take = |rx: &mut Resync<Vec<u8>>| {
        while let Some((r, raw)) = rx.next_event_raw() {
            out.push(match r {
                Received::Event(Event::Frame(_)) => ResyncOut::Frame(raw.to_vec()),
                Received::Skipped(s) => ResyncOut::Skip(s.bytes),
                other => panic!("unexpected {other:?}"),
            });
        }
    };
    for chunk in bytes.chunks(piece) {
        assert_eq!(rx.feed(chunk), chunk.len());
        take(&mut rx);
    }
    rx.finish();
    take(&mut rx);
    out
}

#[test]
fn every_resync_case_in_any_pieces() {
    let cases = spec::resync_cases(&spec::text()).unwrap();
    assert!(
        cases.len() >= 10,
        "the spec has {} resync cases",
        cases.len()
    );
    for case in &cases {
        for piece in [case.send.len().max(1), 1, 3] {
            assert_eq!(
                receive(&case.send, piece),
                case.out,
                "case `{}` in pieces of {piece}",
                case.name
            );
        }
    }
}

/// Every delivered frame of the cases is one the stream decoder reads too (a v1 receiver
/// decodes checked frames), and every byte is accounted for.
#[test]
fn cases_are_consistent() {
    for case in spec::resync_cases(&spec::text()).unwrap() {
        let mut total = 0;
        for out in &case.out {
            match out {
                ResyncOut::Frame(f) => {
                    let mut dec = sockframe::Decoder::new(vec![0u8; 512]);
                    dec.feed(f);
                    assert!(
                        matches!(dec.next_event(), Ok(Some(Event::Frame(_)))),
                        "case `{}`",
                        case.name
                    );
                    total += f.len() as u64;
                }
                ResyncOut::Skip(n) => total += n,
            }
        }
        assert_eq!(total, case.send.len() as u64, "case `{}`", case.name);
    }
}
