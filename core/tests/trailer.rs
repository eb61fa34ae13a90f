//! The TRAILER flag and its END / ABORT trailers (spec, section 4.1): a frame its sender can
//! abort, delivered streamed and ended by its trailer; and every way a trailer can be wrong.

use sockframe::{
    ABORT_MESSAGE_MAX, DecodeError, Decoder, Event, Header, Kind, Stage, encode_abort, encode_end,
    encode_frame,
};

fn frame(header: &Header<'_>, payload: &[u8]) -> Vec<u8> {
    let mut buf = vec![0u8; payload.len() + 1024];
    let n = encode_frame(header, payload, &mut buf).unwrap();
    buf.truncate(n);
    buf
}

fn end(id: u32) -> Vec<u8> {
    let mut buf = [0u8; 64];
    let n = encode_end(id, &mut buf).unwrap();
    buf[..n].to_vec()
}

fn abort(id: u32, message: &str) -> Vec<u8> {
    let mut buf = [0u8; 512];
    let n = encode_abort(id, "input-error", &message, &mut buf).unwrap();
    buf[..n].to_vec()
}

/// DATA `id`, TRAILER, `payload`.
fn with_trailer(id: u32, payload: &[u8]) -> Vec<u8> {
    frame(&Header::data(id, payload).with_trailer(), payload)
}

/// What the decoder makes of `wire`, fed whole: events as text, or the error.
fn events(wire: &[u8], buf: usize) -> Result<Vec<String>, DecodeError> {
    let mut dec = Decoder::new(vec![0u8; buf]);
    let mut out = Vec::new();
    let mut rest = wire;
    loop {
        rest = &rest[dec.feed(rest)..];
        while let Some(ev) = dec.next_event()? {
            out.push(match ev {
                Event::Frame(f) => format!("frame {}", f.header.id),
                Event::Start(h) => format!("start {} len {}", h.id, h.len),
                Event::Chunk(c) => format!("chunk {}", c.len()),
                Event::End => "end".to_string(),
                Event::Abort(a) => format!(
                    "abort {} {} {}",
                    a.header.id,
                    a.header.meta("code").unwrap(),
                    String::from_utf8_lossy(a.payload)
                ),
            });
        }
        if rest.is_empty() {
            dec.finish()?;
            return Ok(out);
        }
    }
}

#[test]
fn a_small_frame_with_a_trailer_is_streamed_and_ends_with_its_end() {
    let mut wire = with_trailer(6, b"abc");
    wire.extend(end(6));
    wire.extend(frame(&Header::data(7, b"x"), b"x"));
    assert_eq!(
        events(&wire, 1024).unwrap(),
        ["start 6 len 3", "chunk 3", "end", "frame 7"]
    );
}

#[test]
fn an_aborted_frame_ends_with_abort_and_the_reason() {
    let mut wire = frame(&Header::new(Kind::DATA, 6, 4).with_trailer(), b"ab\0\0");
    wire.extend(abort(6, "stdin: broken pipe"));
    assert_eq!(
        events(&wire, 1024).unwrap(),
        [
            "start 6 len 4",
            "chunk 4",
            "abort 6 input-error stdin: broken pipe"
        ]
    );
}

#[test]
fn a_large_frame_is_aborted_after_its_chunks() {
    let payload = vec![7u8; 5000];
    let mut wire = with_trailer(1, &payload);
    wire.extend(abort(1, "cancelled"));
    let got = events(&wire, 512).unwrap();
    assert_eq!(got.first().unwrap(), "start 1 len 5000");
    assert_eq!(got.last().unwrap(), "abort 1 input-error cancelled");
    assert!(!got.contains(&"end".to_string()));
}

#[test]
fn the_checksum_is_checked_at_the_end_and_not_for_an_abort() {
    let bad = Header::data(6, b"abc").with_trailer().with_crc_of(b"xyz");
    let mut ended = frame(&bad, b"abc");
    ended.extend(end(6));
    assert!(matches!(
        events(&ended, 1024),
        Err(DecodeError::BadChecksum { .. })
    ));
    let mut aborted = frame(&bad, b"abc");
    aborted.extend(abort(6, "filler does not match"));
    assert_eq!(events(&aborted, 1024).unwrap().len(), 3);
}

#[test]
fn an_abort_for_a_different_id_is_a_fault() {
    let mut wire = with_trailer(6, b"abc");
    wire.extend(abort(7, "not mine"));
    assert_eq!(
        events(&wire, 1024).unwrap_err(),
        DecodeError::BadTrailer {
            expected: Some(6),
            kind: Kind::ABORT.0,
            id: 7,
            len: 8
        }
    );
}

#[test]
fn an_abort_without_a_started_frame_is_a_fault() {
    let err = events(&abort(3, "nothing to abort"), 1024).unwrap_err();
    assert_eq!(err.code(), "bad-trailer");
    assert!(matches!(
        err,
        DecodeError::BadTrailer {
            expected: None,
            id: 3,
            ..
        }
    ));
    assert_eq!(
        err.to_string(),
        "trailer (kind 5) for frame 3, but no frame announced one"
    );
}

#[test]
fn an_end_without_a_started_frame_is_a_fault() {
    let err = events(&end(3), 1024).unwrap_err();
    assert!(matches!(
        err,
        DecodeError::BadTrailer {
            expected: None,
            kind: 4,
            ..
        }
    ));
}

#[test]
fn an_ordinary_frame_where_the_trailer_is_due_is_a_fault() {
    let mut wire = with_trailer(6, b"abc");
    wire.extend(frame(&Header::data(6, b"hi"), b"hi"));
    assert!(matches!(
        events(&wire, 1024).unwrap_err(),
        DecodeError::BadTrailer {
            expected: Some(6),
            kind: 0,
            ..
        }
    ));
}

#[test]
fn an_end_with_a_payload_and_a_long_abort_are_faults() {
    let mut wire = with_trailer(6, b"abc");
    wire.extend(frame(&Header::new(Kind::END, 6, 1), b"x"));
    let err = events(&wire, 1024).unwrap_err();
    assert_eq!(
        err.to_string(),
        "END of frame 6 has a 1-byte payload, must be empty"
    );

    let long = vec![b'x'; ABORT_MESSAGE_MAX + 1];
    let mut wire = with_trailer(6, b"abc");
    wire.extend(frame(&Header::new(Kind::ABORT, 6, 0), &long));
    let err = events(&wire, 1024).unwrap_err();
    assert_eq!(
        err.to_string(),
        "ABORT of frame 6 has a 201-byte message, limit 200"
    );
}

#[test]
fn a_trailer_fault_is_found_when_its_header_is_in_by_poll_too() {
    let mut wire = with_trailer(6, b"abc");
    let wrong = frame(&Header::new(Kind::ABORT, 9, 5), b"hello");
    let header_end = wire.len() + wrong.len() - 5;
    wire.extend(&wrong);
    let mut dec = Decoder::new(vec![0u8; 1024]);
    for (i, b) in wire.iter().enumerate() {
        dec.feed(std::slice::from_ref(b));
        match dec.poll() {
            Err(e) => {
                assert_eq!(i + 1, header_end, "found at byte {}", i + 1);
                assert_eq!(e.code(), "bad-trailer");
                return;
            }
            Ok(true) => {
                dec.next_event().unwrap();
            }
            Ok(false) => {}
        }
    }
    panic!("no fault found");
}

#[test]
fn a_stream_that_ends_before_or_inside_the_trailer_is_truncated() {
    let wire = with_trailer(6, b"abc");
    assert_eq!(
        events(&wire, 1024).unwrap_err(),
        DecodeError::UnexpectedEof {
            stage: Stage::Trailer,
            have: 0,
            need: 5
        }
    );
    let mut wire = with_trailer(6, b"abc");
    let trailer = abort(6, "gone");
    wire.extend(&trailer[..trailer.len() - 2]);
    assert_eq!(
        events(&wire, 1024).unwrap_err(),
        DecodeError::UnexpectedEof {
            stage: Stage::Trailer,
            have: trailer.len() as u64 - 2,
            need: trailer.len() as u64
        }
    );
}

#[test]
fn an_abort_larger_than_a_tiny_buffer_says_so() {
    let mut wire = with_trailer(6, b"abc");
    wire.extend(abort(6, &"x".repeat(ABORT_MESSAGE_MAX)));
    assert!(matches!(
        events(&wire, 100).unwrap_err(),
        DecodeError::BufferTooSmall { capacity: 100, .. }
    ));
}

#[test]
fn a_limits_request_is_answered_with_the_decoders_limits() {
    let pairs = [("limits", "")];
    let ping = Header::new(Kind::PING, 3, 2).with_meta(&pairs);
    assert!(ping.asks_limits());
    assert!(!Header::new(Kind::PING, 3, 2).asks_limits());
    let dec = Decoder::new(vec![0u8; 300]);
    let mut out = [0u8; 128];
    let n = sockframe::encode_limits_pong(&ping, dec.accepted(), &mut out).unwrap();
    out[n..n + 2].copy_from_slice(b"hi");
    let mut rx = Decoder::new([0u8; 256]);
    rx.feed(&out[..n + 2]);
    let Some(Event::Frame(pong)) = rx.next_event().unwrap() else {
        panic!("a whole frame")
    };
    assert_eq!((pong.header.kind, pong.header.id), (Kind::PONG, 3));
    assert_eq!(pong.payload, b"hi");
    // The header limit is capped by the 300-byte buffer.
    assert_eq!(pong.header.meta("max-header"), Some("295"));
    assert_eq!(pong.header.meta("max-payload"), Some("67108864"));
    assert_eq!(pong.header.meta("max-meta"), Some("8"));
    assert_eq!(pong.header.meta("trailer"), Some("1"));
}
