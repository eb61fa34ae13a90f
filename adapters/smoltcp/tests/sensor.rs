//! The example sensor service on a port (host harness): typed answers, typed errors, and
//! hostile requests.

use sockframe::{Decoder, Event, Header, Kind, encode_frame, header_check};
use sockframe_smoltcp::Port;
use sockframe_smoltcp::sensor::{ACK, READ, SET_RATE, Sensor, VALUE};
use sockframe_smoltcp::testing::MemPort;

fn req(kind: Kind, id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 64 + payload.len()];
    let header = Header::new(kind, id, payload.len() as u64)
        .with_crc_of(payload)
        .with_header_check();
    let n = encode_frame(&header, payload, &mut out).unwrap();
    out.truncate(n);
    out
}

fn exchange(
    link: &mut Port<256, 1024>,
    s: &mut Sensor,
    input: &[u8],
) -> Vec<(Kind, u32, Option<String>, Vec<u8>)> {
    let mut out = vec![0u8; 64 * 1024];
    let mut port = MemPort::new(input, &mut out, 5);
    while link.poll(&mut port, s).unwrap() {}
    let bytes = port.written();
    let mut dec = Decoder::new(vec![0u8; 64 * 1024]);
    dec.read_buf()[..bytes.len()].copy_from_slice(bytes);
    dec.commit(bytes.len());
    let mut frames = Vec::new();
    while let Some((Event::Frame(f), raw)) = dec.next_event_raw().unwrap() {
        let head = &raw[..raw.len() - f.payload.len()];
        assert!(header_check::verify(head).is_ok(), "an unchecked answer");
        frames.push((
            f.header.kind,
            f.header.id,
            f.header.meta("code").map(str::to_owned),
            f.payload.to_vec(),
        ));
    }
    frames
}

#[test]
fn reads_and_rate_changes_are_answered() {
    let (mut link, mut s) = (Port::new(), Sensor::new());
    let mut input = req(READ, 1, b"");
    input.extend(req(SET_RATE, 2, &5u32.to_le_bytes()));
    input.extend(req(READ, 3, b""));
    let got = exchange(&mut link, &mut s, &input);
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(
        (got[0].0, got[0].1, got[0].3.clone()),
        (VALUE, 1, 1u32.to_le_bytes().to_vec())
    );
    assert_eq!((got[1].0, got[1].1, got[1].3.len()), (ACK, 2, 0));
    assert_eq!(
        (got[2].0, got[2].1, got[2].3.clone()),
        (VALUE, 3, 6u32.to_le_bytes().to_vec())
    );
    assert_eq!(s.rate(), 5);
}

#[test]
fn bad_rates_are_typed_errors_and_the_link_goes_on() {
    let (mut link, mut s) = (Port::new(), Sensor::new());
    let mut input = req(SET_RATE, 1, &0u32.to_le_bytes());
    input.extend(req(SET_RATE, 2, &[1, 2]));
    input.extend(req(SET_RATE, 3, &u32::MAX.to_le_bytes()));
    input.extend(req(READ, 4, b""));
    let got = exchange(&mut link, &mut s, &input);
    assert_eq!(got.len(), 4, "{got:?}");
    for (i, id) in [1, 2, 3].into_iter().enumerate() {
        assert_eq!(
            (got[i].0, got[i].1, got[i].2.as_deref()),
            (Kind::ERROR, id, Some("bad-rate"))
        );
    }
    assert_eq!(
        String::from_utf8_lossy(&got[1].3),
        "rate is 2 bytes, expected 4"
    );
    assert_eq!((got[3].0, got[3].1), (VALUE, 4));
    assert_eq!(link.restarts(), 0);
    assert_eq!(s.rate(), 1);
}

#[test]
fn unknown_kinds_and_oversized_requests_end_the_connection() {
    let (mut link, mut s) = (Port::new(), Sensor::new());
    let got = exchange(&mut link, &mut s, &req(Kind(200), 9, b"?"));
    assert_eq!(
        (got[0].0, got[0].1, got[0].2.as_deref()),
        (Kind::ERROR, 9, Some("unknown-kind"))
    );
    assert_eq!(link.restarts(), 1);
    // A request larger than the decoder arrives as a stream: refused at its head.
    let got = exchange(&mut link, &mut s, &req(SET_RATE, 10, &[0u8; 600]));
    assert_eq!(
        (got[0].0, got[0].1, got[0].2.as_deref()),
        (Kind::ERROR, 10, Some("too-large"))
    );
    // A port cannot close: the refused stream's remaining payload bytes arrive after the
    // restart and are skipped as noise, unanswered.
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(link.restarts(), 2);
    assert_eq!(s.opened, link.restarts() + 1);
    // Noise: skipped, never a panic; a clean request afterwards is served.
    assert!(exchange(&mut link, &mut s, b"\xff\xfe noise \x00\x01").is_empty());
    let got = exchange(&mut link, &mut s, &req(READ, 11, b""));
    assert_eq!((got[0].0, got[0].1), (VALUE, 11));
}
