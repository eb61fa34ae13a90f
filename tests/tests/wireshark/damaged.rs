//! Streams no peer sends, written into a pcap file: the dissector against the model.

use crate::check::{check_direction, shown_in};
use crate::shown::expected;
use crate::traffic::small_frames;
use crate::{pcap, pdml, tshark};
use sockframe::Limits;
use sockframe_tests::pattern;

/// Byte streams no peer sends, written straight into a pcap file: the spec's vectors and
/// cases and the varied frames, damaged (bytes flipped, inserted, cut off) or followed by
/// random bytes, each cut into random TCP segments. The dissector must never fail (a Lua
/// error), and must show each stream as the test's model of the spec does.
#[test]
fn dissector_follows_damaged_streams_as_the_spec_says() {
    tshark::version().expect("tshark");
    let spec = sockframe_tests::spec::text();
    let mut bases: Vec<Vec<u8>> = sockframe_tests::spec::vector_names(&spec)
        .iter()
        .map(|name| sockframe_tests::spec::vector(&spec, name).expect("vector"))
        .collect();
    bases.extend(
        sockframe_tests::spec::cases(&spec)
            .expect("cases")
            .into_iter()
            .map(|c| c.send),
    );
    bases.push(small_frames());
    // Another seed explores other damage: SOCKFRAME_DAMAGE_SEED=N.
    let seed = std::env::var("SOCKFRAME_DAMAGE_SEED").map_or(77, |s| s.parse().expect("a number"));
    let mut rng = pattern(1 << 16, seed).into_iter().cycle();
    let mut next = |n: usize| -> usize {
        let v = usize::from(rng.next().unwrap()) << 8 | usize::from(rng.next().unwrap());
        v % n.max(1)
    };
    let mut pcap = pcap::Pcap::new();
    let mut streams = Vec::new();
    for i in 0..600u16 {
        let mut s = bases[next(bases.len())].clone();
        match next(4) {
            0 => {
                for _ in 0..1 + next(3) {
                    let at = next(s.len());
                    s[at] ^= 1 << next(8);
                }
            }
            1 => s.truncate(next(s.len()) + 1),
            2 => s.insert(next(s.len()), next(256) as u8),
            _ => s.extend((0..next(40)).map(|_| next(256) as u8)),
        }
        let mut cuts: Vec<usize> = (0..next(6)).map(|_| next(s.len())).collect();
        cuts.sort();
        cuts.dedup();
        let pieces: Vec<&[u8]> = [0]
            .iter()
            .chain(&cuts)
            .zip(cuts.iter().chain([&s.len()]))
            .filter(|(a, b)| a < b)
            .map(|(&a, &b)| &s[a..b])
            .collect();
        let port = 20_000 + i;
        pcap.conversation(port, 8080, &pieces);
        streams.push((port, s));
    }
    let file = tshark::CaptureFile::written(&pcap.into_bytes()).expect("pcap written");
    let packets = pdml::parse(&file.dissect(&[]).expect("dissection without a Lua error"));
    let two_pass = pdml::parse(
        &file
            .dissect(&["-2"])
            .expect("two passes without a Lua error"),
    );
    let mut problems = Vec::new();
    for (port, s) in &streams {
        let (want, _) = expected(s, Limits::default());
        let seen = shown_in(&packets, *port, 8080);
        problems.extend(check_direction(&format!("stream {}", hex(s)), &seen, &want));
    }
    if let Some((one, _)) = packets.iter().zip(&two_pass).find(|(a, b)| a != b) {
        problems.push(format!("packet {} differs on a second pass", one.number));
    }
    assert!(
        problems.is_empty(),
        "{} of {} streams:\n{}",
        problems.len(),
        streams.len(),
        problems.join("\n\n")
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
