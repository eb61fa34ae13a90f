//! `Header::parse` on arbitrary bytes, and the round trip of what it accepts.
//!
//! Invariants checked:
//! - `Header::parse` never panics;
//! - an accepted header re-emits (`encoded_len()` bytes exactly) and parses back equal;
//! - emitting is canonical: emit(parse(emit(h))) gives the same bytes as emit(h);
//! - the re-emitted header in a whole frame (`encode_frame` with a payload of `len` bytes when
//!   that is small) decodes to the same header through the `Decoder`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockframe::{Decoder, Event, Header, Limits, encode_frame};

fuzz_target!(|data: &[u8]| {
    let Ok(header) = Header::parse(data) else {
        return;
    };

    let len = header.encoded_len();
    let mut out = vec![0u8; len];
    let written = header.emit(&mut out).expect("emit into encoded_len() bytes");
    assert_eq!(written, len, "emit() wrote a different length than encoded_len()");
    if len > 0 {
        assert!(header.emit(&mut out[..len - 1]).is_err(), "emit() into too few bytes");
    }

    let again = Header::parse(&out).expect("re-parse of an emitted header");
    assert_eq!(again, header, "parse -> emit -> parse changed the header");

    let mut out2 = vec![0u8; again.encoded_len()];
    let n2 = again.emit(&mut out2).expect("emit of the re-parsed header");
    assert_eq!(&out2[..n2], &out[..], "emit is not canonical");

    // Through a whole frame and the decoder, when the payload is small enough to build.
    if header.len <= 4096 {
        let payload = vec![0xA5u8; header.len as usize];
        // encode_frame sets len from the payload (the same here); the CRC stays as parsed,
        // so only a matching one may be delivered.
        let mut wire = vec![0u8; 5 + len + payload.len()];
        let n = encode_frame(&header, &payload, &mut wire).expect("encode_frame");
        assert_eq!(n, wire.len());
        let limits = Limits {
            max_header: 1 << 16,
            max_payload: 1 << 20,
        };
        let mut dec = Decoder::with_limits(vec![0u8; n], limits);
        assert_eq!(dec.feed(&wire), n);
        let crc_ok = header
            .crc
            .is_none_or(|c| c == sockframe::checksum::crc32c(&payload));
        match dec.next_event() {
            Ok(Some(Event::Frame(f))) => {
                assert!(crc_ok, "frame with a wrong CRC delivered");
                assert_eq!(f.header, header, "header changed through a frame");
                assert_eq!(f.payload, &payload[..]);
            }
            Err(sockframe::DecodeError::BadChecksum { .. }) => assert!(!crc_ok),
            other => panic!("a valid frame decoded as {other:?}"),
        }
    }
});
