//! The resynchronising receiver on noisy streams (spec section 9.1): random checked frames
//! with noise between them (random bytes, text lines, false frame starts, frames without a
//! header check) and damage inside them (bits flipped, bytes dropped or inserted, frames cut
//! short) at random positions, prefixes and headers included, fed in random pieces.
//!
//! - every frame that arrives intact is delivered exactly once, byte-exact, in order, and no
//!   damaged frame is delivered (the sender set the header check and a payload crc);
//! - it is delivered no later than its own end, or the claimed end of an earlier frame whose
//!   head arrived intact, whichever is later (section 9.1's waiting bound);
//! - every byte of the stream is either in a delivered frame or in a skipped run;
//! - nothing panics, nothing stalls.

use proptest::prelude::*;
use sockframe::resync::{Received, Resync};
use sockframe::{Header, Kind, encode_frame};

/// What may stand between two frames.
#[derive(Debug, Clone)]
enum Noise {
    /// Random bytes.
    Bytes(Vec<u8>),
    /// A line of text, as a booting board prints.
    Text(String),
    /// `F5 46 01` and a random `header_len`, then random bytes: a false frame start.
    FalseStart(u16, Vec<u8>),
    /// A whole, valid frame without the header check (a v1 sender on the link).
    Unchecked(Vec<u8>),
}

/// What happens to a frame on the way.
#[derive(Debug, Clone)]
enum Damage {
    None,
    /// Flip bit `bit` of byte `at` (modulo the frame's length).
    Flip {
        at: usize,
        bit: u8,
    },
    /// Drop `n` bytes from `at`.
    Drop {
        at: usize,
        n: usize,
    },
    /// Insert bytes at `at`.
    Insert {
        at: usize,
        bytes: Vec<u8>,
    },
    /// Only the first `keep` bytes arrive.
    Cut {
        keep: usize,
    },
}

#[derive(Debug, Clone)]
struct Item {
    noise: Vec<Noise>,
    id: u32,
    kind: u8,
    name: Option<String>,
    payload: Vec<u8>,
    damage: Damage,
}

fn noise() -> impl Strategy<Value = Noise> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..48).prop_map(Noise::Bytes),
        "[ -~]{0,40}\r?\n".prop_map(Noise::Text),
        (any::<u16>(), prop::collection::vec(any::<u8>(), 0..24))
            .prop_map(|(len, rest)| Noise::FalseStart(len, rest)),
        (0u16..600, prop::collection::vec(any::<u8>(), 0..24))
            .prop_map(|(len, rest)| Noise::FalseStart(len, rest)),
        prop::collection::vec(any::<u8>(), 0..16).prop_map(|p| {
            let mut out = vec![0u8; 64];
            let n = encode_frame(&Header::data(1, &p).with_crc_of(&p), &p, &mut out).unwrap();
            out.truncate(n);
            Noise::Unchecked(out)
        }),
    ]
}

fn damage() -> impl Strategy<Value = Damage> {
    prop_oneof![
        6 => Just(Damage::None),
        1 => (any::<usize>(), 0u8..8).prop_map(|(at, bit)| Damage::Flip { at, bit }),
        1 => (any::<usize>(), 1usize..8).prop_map(|(at, n)| Damage::Drop { at, n }),
        1 => (any::<usize>(), prop::collection::vec(any::<u8>(), 1..8))
            .prop_map(|(at, bytes)| Damage::Insert { at, bytes }),
        1 => any::<usize>().prop_map(|keep| Damage::Cut { keep }),
    ]
}

fn item() -> impl Strategy<Value = Item> {
    (
        prop::collection::vec(noise(), 0..3),
        any::<u32>(),
        prop_oneof![Just(0u8), Just(2u8), 64u8..=255],
        prop::option::of("[a-z.]{1,12}"),
        prop::collection::vec(any::<u8>(), 0..300),
        damage(),
    )
        .prop_map(|(noise, id, kind, name, payload, damage)| Item {
            noise,
            id,
            kind,
            name,
            payload,
            damage,
        })
}

/// The stream as received, and what the test expects of it.
struct Plan {
    wire: Vec<u8>,
    /// Intact frames: their bytes and where they end in `wire`.
    intact: Vec<(Vec<u8>, usize)>,
    /// For each intact frame, the offset in `wire` by which it must have been delivered.
    bound: Vec<usize>,
}

/// `tail`: noise after the last frame.
fn plan(items: &[Item], tail: &[Noise]) -> Plan {
    let mut wire = Vec::new();
    // Per frame: where it starts in `wire`, its bytes as sent, its head's length, and where
    // the damage starts (if any).
    let mut sent = Vec::new();
    for item in items {
        for n in &item.noise {
            match n {
                Noise::Bytes(b) | Noise::Unchecked(b) => wire.extend_from_slice(b),
                Noise::Text(t) => wire.extend_from_slice(t.as_bytes()),
                Noise::FalseStart(len, rest) => {
                    wire.extend_from_slice(&[0xF5, 0x46, 0x01]);
                    wire.extend_from_slice(&len.to_le_bytes());
                    wire.extend_from_slice(rest);
                }
            }
        }
        let mut header = Header::new(Kind(item.kind), item.id, item.payload.len() as u64)
            .with_crc_of(&item.payload)
            .with_header_check();
        if let Some(name) = &item.name {
            header = header.with_name(name);
        }
        let mut frame = vec![0u8; 400];
        let n = encode_frame(&header, &item.payload, &mut frame).unwrap();
        frame.truncate(n);
        let original = frame.clone();
        let head = n - item.payload.len();
        let start = wire.len();
        let damaged_at = match &item.damage {
            Damage::None => None,
            Damage::Flip { at, bit } => {
                let at = at % n;
                frame[at] ^= 1 << bit;
                Some(at)
            }
            Damage::Drop { at, n: k } => {
                let at = at % n;
                frame.drain(at..(at + k).min(n));
                Some(at)
            }
            Damage::Insert { at, bytes } => {
                // Strictly inside: bytes before or after a frame are noise, not damage.
                let at = 1 + at % (n - 1);
                frame.splice(at..at, bytes.iter().copied());
                Some(at)
            }
            Damage::Cut { keep } => {
                let keep = keep % n;
                frame.truncate(keep);
                Some(keep)
            }
        };
        wire.extend_from_slice(&frame);
        sent.push((start, frame.len(), original, head, damaged_at));
    }
    for n in tail {
        if let Noise::Bytes(b) = n {
            wire.extend_from_slice(b);
        }
    }
    // A frame is intact if its bytes stand unchanged and contiguous anywhere from the end of
    // the last intact frame to the end of what was written for it: damage can leave them so
    // (a byte inserted before an equal one, or an F5 inserted right after the first, is noise
    // beside a whole frame; a byte dropped at its end and the same byte next on the wire
    // complete it; its first byte dropped and the same byte just before it, the end of the
    // noise or of a damaged frame, start it early). Its end may lie past what was written for
    // it, in the bytes after it; those are then its own, not the next frame's.
    //
    // A damaged frame whose head stands whole the same way (its damage in the payload, or a
    // cut or drop whose bytes the next ones happen to replace) is verified and held by the
    // receiver: later frames wait for its claimed end (the waiting bound), and its head's
    // bytes are taken, so a frame starting inside them is lost (its crc failure or the end
    // of the stream skips the head and the search goes on after it).
    let (mut intact, mut bound) = (Vec::new(), Vec::new());
    // The furthest claimed end of a frame whose head arrived intact so far.
    let mut claimed = 0usize;
    // The end of the last intact frame or held head: the bytes before it are taken.
    let mut taken = 0usize;
    for (start, written, original, head, _damaged_at) in sent {
        let n = original.len();
        let whole = |len: usize| {
            (taken..start + written).find(|&at| wire.get(at..at + len) == Some(&original[..len]))
        };
        if let Some(at) = whole(n) {
            let end = at + n;
            taken = end;
            bound.push(end.max(claimed));
            intact.push((original, end));
        } else if let Some(at) = whole(head) {
            taken = at + head;
            claimed = claimed.max(at + n);
        }
    }
    Plan {
        wire,
        intact,
        bound,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 10_000, ..ProptestConfig::default() })]

    #[test]
    fn noisy_streams(
        items in prop::collection::vec(item(), 1..8),
        tail in prop::collection::vec(noise(), 0..2),
        pieces in prop::collection::vec(1usize..200, 1..16),
    ) {
        let plan = plan(&items, &tail);
        let wire = &plan.wire;
        let mut rx = Resync::new(vec![0u8; 2048]);
        let mut delivered: Vec<(Vec<u8>, usize)> = Vec::new();
        let mut skipped = 0u64;
        let mut fed = 0usize;
        // Every offset at which the test drained the receiver.
        let mut drains = Vec::new();
        let mut piece = pieces.iter().cycle();
        while fed < wire.len() {
            let want = (*piece.next().unwrap()).min(wire.len() - fed);
            let took = rx.feed(&wire[fed..fed + want]);
            fed += took;
            drains.push(fed);
            let mut any = false;
            while let Some((r, raw)) = rx.next_event_raw() {
                any = true;
                match r {
                    Received::Event(sockframe::Event::Frame(_)) => delivered.push((raw.to_vec(), fed)),
                    Received::Skipped(s) => {
                        prop_assert!(!s.ends_stream);
                        skipped += s.bytes;
                    }
                    other => prop_assert!(false, "unexpected {other:?}"),
                }
            }
            prop_assert!(took > 0 || any, "stalled at {fed} of {}", wire.len());
        }
        rx.finish();
        while let Some((r, raw)) = rx.next_event_raw() {
            match r {
                Received::Event(sockframe::Event::Frame(_)) => delivered.push((raw.to_vec(), fed)),
                Received::Skipped(s) => skipped += s.bytes,
                other => prop_assert!(false, "unexpected {other:?}"),
            }
        }
        let got: Vec<&[u8]> = delivered.iter().map(|(f, _)| &f[..]).collect();
        let want: Vec<&[u8]> = plan.intact.iter().map(|(f, _)| &f[..]).collect();
        prop_assert_eq!(got, want, "delivered frames differ from the intact ones");
        for (i, ((_, at), bound)) in delivered.iter().zip(&plan.bound).enumerate() {
            // Bytes arrive in pieces: due at the first drain once the bound's byte is in.
            let due = drains.iter().copied().find(|d| d >= bound).unwrap_or(fed);
            prop_assert!(*at <= due, "frame {i} delivered at {at}, due at {due} (bound {bound})");
        }
        let in_frames: usize = delivered.iter().map(|(f, _)| f.len()).sum();
        prop_assert_eq!(skipped + in_frames as u64, wire.len() as u64, "bytes unaccounted for");
    }
}
