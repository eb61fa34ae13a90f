//! One test per class of bad input a confused or hostile peer can send. Each must give a
//! typed error with the numbers, never a panic, and leave the decoder failed.

use sockframe::{DecodeError, Decoder, Event, Header, Limits, MAX_META, Stage, encode_frame};

fn frame(header: &Header<'_>, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; 70_000];
    let n = encode_frame(header, payload, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

/// Feeds `bytes` and returns the first error from `next_event`.
fn first_error(bytes: &[u8], buf_size: usize) -> DecodeError {
    let mut dec = Decoder::new(vec![0u8; buf_size]);
    for chunk in bytes.chunks(7) {
        dec.feed(chunk);
        loop {
            match dec.next_event() {
                Ok(Some(_)) => continue,
                Ok(None) => break,
                Err(e) => return e,
            }
        }
    }
    dec.finish().expect_err("expected an error")
}

#[test]
fn http_request_is_rejected_on_its_first_byte() {
    let mut dec = Decoder::new([0u8; 64]);
    dec.feed(b"G");
    let err = dec.next_event().unwrap_err();
    assert!(matches!(err, DecodeError::BadMagic { seen_len: 1, .. }));
    let mut dec = Decoder::new([0u8; 64]);
    dec.feed(b"GET / HTTP/1.1\r\n");
    let msg = dec.next_event().unwrap_err().to_string();
    assert!(msg.contains("47 45 54 20"), "{msg}");
    assert!(msg.contains("HTTP"), "{msg}");
}

#[test]
fn telnet_line_is_rejected_as_text() {
    let msg = first_error(b"hello\r\n", 64).to_string();
    assert!(msg.contains("text"), "{msg}");
}

#[test]
fn bare_length_prefix_is_named() {
    let msg = first_error(&[0, 0, 0, 5, b'h', b'e', b'l', b'l', b'o'], 64).to_string();
    assert!(msg.contains("length prefix"), "{msg}");
}

#[test]
fn magic_checked_on_second_byte_too() {
    assert!(matches!(
        first_error(&[0xF5, 0x00], 64),
        DecodeError::BadMagic { seen_len: 2, .. }
    ));
}

#[test]
fn unknown_version_is_rejected() {
    let mut wire = frame(&Header::data(1, b"x"), b"x");
    wire[2] = 2;
    assert_eq!(
        first_error(&wire, 64),
        DecodeError::UnsupportedVersion { version: 2 }
    );
}

#[test]
fn header_over_the_limit_says_both_numbers() {
    let err = first_error(&[0xF5, 0x46, 0x01, 0x28, 0x23], 4096);
    assert_eq!(
        err,
        DecodeError::HeaderTooLarge {
            len: 9000,
            limit: 512
        }
    );
    assert_eq!(err.to_string(), "header is 9000 bytes, limit 512");
}

#[test]
fn header_limit_is_capped_by_the_buffer() {
    let err = first_error(&[0xF5, 0x46, 0x01, 0x00, 0x01], 100);
    assert_eq!(
        err,
        DecodeError::HeaderTooLarge {
            len: 256,
            limit: 95
        }
    );
}

#[test]
fn payload_over_the_limit_is_refused_before_it_arrives() {
    let limits = Limits {
        max_header: 512,
        max_payload: 1000,
    };
    let mut dec = Decoder::with_limits([0u8; 256], limits);
    // Announce 5000 bytes but send none of them: the error must come from the header alone.
    let mut head = vec![0u8; 64];
    let n = sockframe::encode_head(&Header::data(1, b""), 5000, &mut head).unwrap();
    dec.feed(&head[..n]);
    assert_eq!(
        dec.next_event().unwrap_err(),
        DecodeError::PayloadTooLarge {
            len: 5000,
            limit: 1000
        }
    );
}

#[test]
fn garbage_header_names_the_field() {
    // header_len 3: kind, id, then `len` is a varint that never ends.
    let err = first_error(&[0xF5, 0x46, 0x01, 0x03, 0x00, 0x00, 0x01, 0xFF], 64);
    assert!(
        matches!(err, DecodeError::BadHeader { field: "len", .. }),
        "{err:?}"
    );
    // An option tag that is neither 0 nor 1.
    let err = first_error(
        &[0xF5, 0x46, 0x01, 0x05, 0x00, 0x00, 0x01, 0x00, 0x00, 0x07],
        64,
    );
    assert!(
        matches!(err, DecodeError::BadHeader { field: "name", .. }),
        "{err:?}"
    );
    // A name that is not UTF-8.
    let bad = [
        0xF5, 0x46, 0x01, 0x09, 0x00, 0, 1, 0, 0, 1, 2, 0xC3, 0x28, 0, 0,
    ];
    let err = first_error(&bad, 64);
    assert_eq!(err.to_string(), "bad header: field `name`: not valid UTF-8");
}

#[test]
fn empty_header_is_bad() {
    let err = first_error(&[0xF5, 0x46, 0x01, 0x00, 0x00], 64);
    assert!(
        matches!(err, DecodeError::BadHeader { field: "kind", .. }),
        "{err:?}"
    );
}

#[test]
fn too_much_metadata_says_the_count() {
    // kind, id, len, flags, no name, no crc, meta count 200.
    let wire = [0xF5, 0x46, 0x01, 0x08, 0x00, 0, 1, 0, 0, 0, 0, 0xC8, 0x01];
    assert_eq!(
        first_error(&wire, 64),
        DecodeError::TooMuchMetadata {
            count: 200,
            limit: MAX_META
        }
    );
}

#[test]
fn bad_checksum_whole_frame() {
    let mut wire = frame(&Header::data(1, b"hello").with_crc_of(b"hello"), b"hello");
    *wire.last_mut().unwrap() ^= 1;
    assert!(matches!(
        first_error(&wire, 256),
        DecodeError::BadChecksum { .. }
    ));
}

#[test]
fn bad_checksum_streamed_frame_is_caught_at_the_end() {
    let payload = vec![7u8; 5000];
    let mut wire = frame(&Header::data(1, &payload).with_crc_of(&payload), &payload);
    *wire.last_mut().unwrap() ^= 1;
    let mut dec = Decoder::new([0u8; 256]);
    let mut chunks = 0;
    let mut fed = 0;
    let err = loop {
        match dec.next_event() {
            Ok(Some(Event::Chunk(_))) => chunks += 1,
            Ok(Some(Event::End)) => panic!("End despite a bad checksum"),
            Ok(Some(_)) => {}
            Ok(None) => fed += dec.feed(&wire[fed..]),
            Err(e) => break e,
        }
    };
    assert!(chunks > 1);
    assert!(matches!(err, DecodeError::BadChecksum { .. }));
}

#[test]
fn end_of_stream_mid_prefix() {
    let wire = frame(&Header::data(1, b"abc"), b"abc");
    let err = first_error(&wire[..3], 64);
    assert_eq!(
        err,
        DecodeError::UnexpectedEof {
            stage: Stage::Prefix,
            have: 3,
            need: 5
        }
    );
}

#[test]
fn end_of_stream_mid_header() {
    let wire = frame(&Header::data(1, b"abc").with_name("file"), b"abc");
    let err = first_error(&wire[..8], 64);
    assert_eq!(
        err,
        DecodeError::UnexpectedEof {
            stage: Stage::Header,
            have: 3,
            need: 12
        }
    );
}

#[test]
fn end_of_stream_mid_payload() {
    let wire = frame(&Header::data(1, b"abcdef"), b"abcdef");
    let err = first_error(&wire[..wire.len() - 2], 64);
    assert_eq!(
        err,
        DecodeError::UnexpectedEof {
            stage: Stage::Payload,
            have: 4,
            need: 6
        }
    );
    assert_eq!(
        err.to_string(),
        "stream ended mid-payload: got 4 of 6 bytes"
    );
}

/// Found by the `desktop_conn` fuzz target: a complete but malformed header followed by a
/// cut payload was reported as `truncated` by a reader that only polled (and so had not yet
/// decoded the header), but as `bad-header` by one that called `next_event`. `poll` now
/// checks a complete header at once (spec 7.5: when the header is in), and `finish` decodes
/// one too, so the answer does not depend on the read loop.
#[test]
fn end_of_stream_after_a_malformed_header_reports_the_header_not_the_cut() {
    // kind 0, id 2, len 16, flags 0, no name, no crc, meta count 1, key length 104 > rest.
    let mut wire = vec![0xF5, 0x46, 0x01, 0x0B, 0x00];
    wire.extend_from_slice(&[0, 2, 16, 0, 0, 0, 1, 104, b'a', b'b', b'c']);
    wire.extend_from_slice(b"xy"); // 2 of the 16 payload bytes, then the end
    // The polling read loop: poll() finds the fault before any payload is awaited.
    let mut polled = Decoder::new(vec![0u8; 256]);
    polled.feed(&wire);
    let by_poll = polled.poll().unwrap_err();
    assert_eq!(
        polled.finish().unwrap_err(),
        by_poll,
        "and finish says the same"
    );
    // A reader that takes no events before the end: finish decodes the header.
    let mut finished = Decoder::new(vec![0u8; 256]);
    finished.feed(&wire);
    assert_eq!(finished.finish().unwrap_err(), by_poll);
    // The next_event read loop decodes the header as soon as it is complete.
    let by_next = first_error(&wire, 256);
    assert!(
        matches!(by_poll, DecodeError::BadHeader { .. }),
        "{by_poll:?}"
    );
    assert_eq!(by_poll, by_next);
}

/// Found by the `desktop_conn` fuzz target: a header announcing a payload over the limit
/// *and* malformed further on was `payload-too-large` to a polling reader (which reads the
/// first three fields only) but `bad-header` to a `next_event` reader. Both now say
/// `payload-too-large`: errors come in wire order.
#[test]
fn oversized_payload_in_a_malformed_header_is_reported_as_too_large_either_way() {
    // kind 0, id 2, len 2^40 (varint), flags 0, no name, no crc, meta count 1, key length
    // 104 > rest of the header.
    let mut wire = vec![0xF5, 0x46, 0x01, 0x10, 0x00];
    wire.extend_from_slice(&[0, 2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x20, 0, 0, 0, 1, 104]);
    wire.extend_from_slice(b"abc");
    let mut polled = Decoder::new(vec![0u8; 256]);
    polled.feed(&wire);
    let by_poll = polled.poll().unwrap_err();
    let by_next = first_error(&wire, 256);
    assert!(
        matches!(by_poll, DecodeError::PayloadTooLarge { .. }),
        "{by_poll:?}"
    );
    assert_eq!(by_poll, by_next);
}

#[test]
fn end_of_stream_mid_streamed_payload() {
    let payload = vec![1u8; 10_000];
    let wire = frame(&Header::data(1, &payload), &payload);
    let err = first_error(&wire[..5000], 128);
    assert!(matches!(
        err,
        DecodeError::UnexpectedEof {
            stage: Stage::Payload,
            need: 10_000,
            ..
        }
    ));
}

#[test]
fn clean_end_between_frames_is_not_an_error() {
    let mut dec = Decoder::new([0u8; 64]);
    dec.feed(&frame(&Header::data(1, b"a"), b"a"));
    assert!(matches!(dec.next_event(), Ok(Some(Event::Frame(_)))));
    assert_eq!(dec.finish(), Ok(()));
}

#[test]
fn decoder_stays_failed_until_reset() {
    let mut dec = Decoder::new([0u8; 64]);
    dec.feed(b"garbage");
    let err = dec.next_event().unwrap_err();
    for _ in 0..3 {
        assert_eq!(dec.next_event().unwrap_err(), err);
        dec.feed(&frame(&Header::data(1, b"ok"), b"ok"));
    }
    assert_eq!(dec.finish(), Err(err));
    dec.reset();
    dec.feed(&frame(&Header::data(1, b"ok"), b"ok"));
    assert!(matches!(dec.next_event(), Ok(Some(Event::Frame(_)))));
}

#[test]
fn a_buffer_smaller_than_the_prefix_is_an_error_not_a_stall() {
    let mut dec = Decoder::new([0u8; 0]);
    assert_eq!(dec.feed(b"\xF5\x46"), 0);
    assert_eq!(
        dec.next_event(),
        Err(DecodeError::BufferTooSmall {
            capacity: 0,
            need: 5
        })
    );
    // Through the read loop: an error, not a false end of stream.
    let wire = frame(&Header::data(1, b"hi"), b"hi");
    let mut dec = Decoder::new([0u8; 4]);
    let mut r: &[u8] = &wire;
    let err = sockframe::io::read_event(&mut r, &mut dec).unwrap_err();
    assert!(matches!(
        err,
        sockframe::Error::Decode(DecodeError::BufferTooSmall {
            capacity: 4,
            need: 5
        })
    ));
}

#[test]
fn error_codes_are_stable() {
    let e = DecodeError::PayloadTooLarge { len: 1, limit: 0 };
    assert_eq!(e.code(), "payload-too-large");
}

#[test]
fn encoder_refuses_more_metadata_than_a_receiver_accepts() {
    let pairs = [("k", "v"); MAX_META + 1];
    let mut out = [0u8; 256];
    let err = encode_frame(&Header::data(1, b"").with_meta(&pairs), b"", &mut out).unwrap_err();
    assert_eq!(
        err,
        sockframe::EncodeError::TooMuchMetadata {
            count: MAX_META + 1,
            limit: MAX_META
        }
    );
}

/// Spec 2 and 7.5: the version is rejected when its byte arrives, before `header_len`.
#[test]
fn a_future_version_is_rejected_at_byte_3() {
    let mut dec = Decoder::new([0u8; 64]);
    dec.feed(&[0xF5, 0x46]);
    assert!(!dec.poll().unwrap());
    dec.feed(&[0x02]);
    assert_eq!(
        dec.poll().unwrap_err(),
        DecodeError::UnsupportedVersion { version: 2 }
    );
    // And a stream that ends there reports the version, not the cut.
    let mut dec = Decoder::new([0u8; 64]);
    dec.feed(&[0xF5, 0x46, 0x02]);
    assert_eq!(
        dec.finish().unwrap_err(),
        DecodeError::UnsupportedVersion { version: 2 }
    );
}

/// Spec 7.5: at the end of the stream, a fault in the header bytes that arrived comes
/// before `truncated` (a bad option tag; `len` over the limit); bytes that simply run out
/// are `truncated`.
#[test]
fn end_of_stream_inside_a_header_reports_a_fault_in_what_arrived() {
    let finish = |bytes: &[u8]| {
        let mut dec = Decoder::new([0u8; 256]);
        dec.feed(bytes);
        dec.finish().unwrap_err()
    };
    let tag = finish(&[0xF5, 0x46, 0x01, 0x14, 0x00, 0, 1, 0, 0, 5]);
    assert!(matches!(tag, DecodeError::BadHeader { field: "name", .. }));
    let len = finish(&[0xF5, 0x46, 0x01, 0x14, 0x00, 0, 1, 0x81, 0x80, 0x80, 0x20]);
    assert_eq!(
        len,
        DecodeError::PayloadTooLarge {
            len: 67_108_865,
            limit: 64 << 20
        }
    );
    let meta = finish(&[0xF5, 0x46, 0x01, 0x14, 0x00, 0, 1, 0, 0, 0, 0, 9]);
    assert!(matches!(
        meta,
        DecodeError::TooMuchMetadata { count: 9, .. }
    ));
    let ran_out = finish(&[0xF5, 0x46, 0x01, 0x14, 0x00, 0, 1, 0, 0, 1, 5, b'a']);
    assert_eq!(
        ran_out,
        DecodeError::UnexpectedEof {
            stage: Stage::Header,
            have: 7,
            need: 20
        }
    );
}

/// Spec 7.5 (issue 10, item 4): a bad header is found by `poll` as soon as the header is
/// in, before any payload byte, like `next_event` finds it.
#[test]
fn poll_finds_a_bad_header_when_the_header_is_in() {
    let wire = [0xF5, 0x46, 0x01, 0x07, 0x00, 0, 1, 4, 0, 7, 0, 0];
    let mut dec = Decoder::new([0u8; 256]);
    dec.feed(&wire[..wire.len() - 1]);
    assert!(!dec.poll().unwrap());
    dec.feed(&wire[wire.len() - 1..]);
    assert!(matches!(
        dec.poll().unwrap_err(),
        DecodeError::BadHeader { field: "name", .. }
    ));
}

/// Every error's numbers go into its ERROR frame as metadata (spec 7.4).
#[test]
fn every_error_carries_its_numbers_as_metadata() {
    use sockframe::Detail::{Number as N, Text as T};
    let cases = [
        (
            DecodeError::UnsupportedVersion { version: 2 },
            vec![("version", N(2)), ("supported", N(1))],
        ),
        (
            DecodeError::HeaderTooLarge {
                len: 9000,
                limit: 512,
            },
            vec![("size", N(9000)), ("limit", N(512))],
        ),
        (
            DecodeError::PayloadTooLarge {
                len: u64::MAX,
                limit: 1,
            },
            vec![("size", N(u64::MAX)), ("limit", N(1))],
        ),
        (
            DecodeError::BadHeader {
                field: "crc",
                problem: "x",
            },
            vec![("field", T("crc"))],
        ),
        (
            DecodeError::TooMuchMetadata {
                count: 12,
                limit: 8,
            },
            vec![("size", N(12)), ("limit", N(8))],
        ),
        (
            DecodeError::BadChecksum {
                expected: 1,
                actual: u32::MAX,
            },
            vec![("expected", N(1)), ("actual", N(u64::from(u32::MAX)))],
        ),
        (
            DecodeError::UnexpectedEof {
                stage: Stage::Header,
                have: 2,
                need: 7,
            },
            vec![("stage", T("header")), ("have", N(2)), ("need", N(7))],
        ),
    ];
    for (err, want) in cases {
        let got: Vec<_> = err.details().iter().collect();
        assert_eq!(got, want, "{err:?}");
        // And the frame carries them, in decimal, after `code`.
        let mut out = [0u8; sockframe::ERROR_FRAME_MAX];
        let n = sockframe::encode_decode_error(u32::MAX, &err, &mut out).unwrap();
        let mut dec = Decoder::new([0u8; 512]);
        dec.feed(&out[..n]);
        let Some(Event::Frame(f)) = dec.next_event().unwrap() else {
            panic!("a whole frame")
        };
        let meta: Vec<_> = f.header.meta.iter().collect();
        assert_eq!(meta[0], ("code", err.code()));
        for ((key, value), (k, v)) in want.iter().zip(&meta[1..]) {
            assert_eq!(key, k);
            match value {
                N(n) => assert_eq!(v.parse::<u64>().unwrap(), *n),
                T(t) => assert_eq!(v, t),
            }
        }
    }
    // Bad magic: the offset and value of the first byte that differs.
    let magic = DecodeError::BadMagic {
        seen: [0xF5, 0x47, 0, 0],
        seen_len: 2,
    };
    let got: Vec<_> = magic.details().iter().collect();
    assert_eq!(got, [("at", N(1)), ("got", N(0x47))]);
}

/// The longest ERROR frame fits [`ERROR_FRAME_MAX`](sockframe::ERROR_FRAME_MAX).
#[test]
fn the_largest_error_frame_fits_error_frame_max() {
    let worst = [
        DecodeError::BadTrailer {
            expected: Some(u32::MAX),
            kind: 255,
            id: u32::MAX,
            len: u64::MAX,
        },
        DecodeError::UnexpectedEof {
            stage: Stage::Trailer,
            have: u64::MAX,
            need: u64::MAX,
        },
        DecodeError::TooMuchMetadata {
            count: u64::MAX,
            limit: usize::MAX,
        },
    ];
    for err in worst {
        let mut out = [0u8; sockframe::ERROR_FRAME_MAX];
        sockframe::encode_decode_error(u32::MAX, &err, &mut out).unwrap();
        sockframe::encode_decode_abort(u32::MAX, &err, &mut out).unwrap();
    }
}
