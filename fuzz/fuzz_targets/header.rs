//! `Header::parse` on arbitrary bytes, and the round trip of what it accepts.
//!
//! Invariants checked:
//! - `Header::parse` never panics;
//! - it agrees with postcard's own serde deserializer of the v1 field list (the wire format's
//!   definition): same values when both accept, both refuse otherwise (more than `MAX_META`
//!   entries are refused by sockframe alone);
//! - an accepted header re-emits (`encoded_len()` bytes exactly), byte for byte what
//!   postcard's serde serializer writes for the same fields (the hand-written writer against
//!   the wire format's definition), and parses back equal;
//! - emitting is canonical: emit(parse(emit(h))) gives the same bytes as emit(h);
//! - the re-emitted header in a whole frame (`encode_frame` with a payload of `len` bytes when
//!   that is small) decodes to the same header through the `Decoder`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sockframe::{DecodeError, Decoder, Event, Header, Kind, Limits, MAX_META, encode_frame};

#[path = "../../core/tests/common/postcard_mirror.rs"]
mod postcard_mirror;
use postcard_mirror::Mirror;

fuzz_target!(|data: &[u8]| {
    let parsed = Header::parse(data);
    match (&parsed, postcard::take_from_bytes::<Mirror<'_>>(data)) {
        (Ok(h), Ok((m, _))) => {
            assert_eq!(
                (h.kind.0, h.id, h.len, h.flags.0, h.name, h.crc),
                (m.kind, m.id, m.len, m.flags, m.name, m.crc),
                "sockframe and postcard read different values"
            );
            assert_eq!(
                h.meta.iter().collect::<Vec<_>>(),
                m.meta,
                "metadata differs"
            );
        }
        (Err(DecodeError::TooMuchMetadata { count, .. }), Ok((m, _))) => {
            assert_eq!(*count as usize, m.meta.len());
            assert!(m.meta.len() > MAX_META);
        }
        (Err(_), Err(_)) => {}
        (ours, theirs) => panic!("sockframe says {ours:?}, postcard says {theirs:?}"),
    }
    let Ok(header) = parsed else {
        return;
    };

    let len = header.encoded_len();
    let mut out = vec![0u8; len];
    let written = header
        .emit(&mut out)
        .expect("emit into encoded_len() bytes");
    assert_eq!(
        written, len,
        "emit() wrote a different length than encoded_len()"
    );
    if len > 0 {
        assert!(
            header.emit(&mut out[..len - 1]).is_err(),
            "emit() into too few bytes"
        );
    }

    let postcard_bytes = postcard::to_allocvec(&Mirror {
        kind: header.kind.0,
        id: header.id,
        len: header.len,
        flags: header.flags.0,
        name: header.name,
        crc: header.crc,
        meta: header.meta.iter().collect(),
    })
    .expect("postcard serializes any header");
    assert_eq!(
        out, postcard_bytes,
        "emit() differs from postcard's serializer"
    );

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
        // HCHECK: the encoder ends the header with the 4-byte header check (spec 9).
        let check = if header.flags.contains(sockframe::Flags::HCHECK) {
            4
        } else {
            0
        };
        let mut wire = vec![0u8; 5 + len + check + payload.len()];
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
            // A frame with TRAILER is always delivered streamed (spec 4.1): its head
            // first, its checksum judged at the END that must follow.
            Ok(Some(Event::Start(h))) if header.flags.contains(sockframe::Flags::TRAILER) => {
                assert_eq!(h, header, "header changed through a streamed frame");
            }
            // END and ABORT are trailers: where none is due they are `bad-trailer` (4.1).
            Err(sockframe::DecodeError::BadTrailer { .. })
                if header.kind == Kind::END || header.kind == Kind::ABORT => {}
            other => panic!("a valid frame decoded as {other:?}"),
        }
    }
});
