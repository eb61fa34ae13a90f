//! The tokio codec: any split of the stream (proptest, with the core's frame generator),
//! bad input, and `Framed` over real loopback sockets against the library's server.

mod common;

#[path = "../../../core/tests/common/frames.rs"]
mod frames;

use bytes::{Bytes, BytesMut};
use futures_util::{SinkExt, StreamExt};
use proptest::prelude::*;
use sockframe::{DecodeError, Decoder as CoreDecoder, Event, Kind, Limits, Stage};
use sockframe_std::codec::{
    BytesFrame, CodecError, FrameCodec, FrameHead, FramePart, StreamingFrameCodec,
};
use std::io::{Read, Write};
use tokio_util::codec::{Decoder, Encoder, Framed};

/// What one frame should come out as: header fields and payload.
fn expected(s: &frames::Spec) -> (FrameHead, Vec<u8>) {
    let pairs: Vec<(&str, &str)> = s
        .meta
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    (FrameHead::from_header(&s.header(&pairs)), s.payload.clone())
}

/// Feeds `wire` in pieces of the given sizes (cycled), the way reads fill tokio-util's
/// buffer, and collects every item until the end of the stream.
fn run<C: Decoder<Error = CodecError>>(codec: &mut C, wire: &[u8], cuts: &[usize]) -> Vec<C::Item> {
    let mut src = BytesMut::new();
    let mut items = Vec::new();
    let mut cut = cuts.iter().cycle();
    let mut at = 0;
    while at < wire.len() {
        let n = (*cut.next().unwrap()).min(wire.len() - at);
        src.extend_from_slice(&wire[at..at + n]);
        at += n;
        while let Some(item) = codec.decode(&mut src).unwrap() {
            items.push(item);
        }
    }
    while let Some(item) = codec.decode_eof(&mut src).unwrap() {
        items.push(item);
    }
    items
}

/// Joins streamed parts back into (head, payload) pairs; a streamed payload is as long as
/// its start said.
fn join(parts: Vec<FramePart>) -> Vec<(FrameHead, Vec<u8>)> {
    let mut out = Vec::new();
    let mut open: Option<(FrameHead, Vec<u8>, u64)> = None;
    for part in parts {
        match part {
            FramePart::Whole(f) => out.push((f.head, f.payload.to_vec())),
            FramePart::Start { head, len } => open = Some((head, Vec::new(), len)),
            FramePart::Chunk(c) => open.as_mut().unwrap().1.extend_from_slice(&c),
            FramePart::End => {
                let (head, payload, len) = open.take().unwrap();
                assert_eq!(payload.len() as u64, len, "streamed payload vs its start");
                out.push((head, payload));
            }
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn whole_frames_survive_any_split(
        specs in proptest::collection::vec(frames::spec(), 1..6),
        cuts in proptest::collection::vec(1usize..2000, 1..8),
    ) {
        let wire = frames::wire(&specs);
        let got: Vec<_> = run(&mut FrameCodec::new(), &wire, &cuts)
            .into_iter()
            .map(|f| (f.head, f.payload.to_vec()))
            .collect();
        prop_assert_eq!(got, specs.iter().map(expected).collect::<Vec<_>>());
    }

    #[test]
    fn streamed_frames_survive_any_split(
        specs in proptest::collection::vec(frames::spec(), 1..6),
        cuts in proptest::collection::vec(1usize..2000, 1..8),
        buffer in 200usize..3000,
    ) {
        let wire = frames::wire(&specs);
        let parts = run(&mut StreamingFrameCodec::new(buffer), &wire, &cuts);
        prop_assert_eq!(join(parts), specs.iter().map(expected).collect::<Vec<_>>());
    }
}

fn encode<I>(codec: &mut impl Encoder<I, Error = CodecError>, item: I) -> BytesMut {
    let mut dst = BytesMut::new();
    codec.encode(item, &mut dst).unwrap();
    dst
}

/// The error frame a codec error answers with, read back by the core decoder.
fn reply_of(e: &CodecError) -> (String, String) {
    let wire = encode(
        &mut FrameCodec::new(),
        e.reply().expect("a reply for a decode error"),
    );
    let mut dec = CoreDecoder::new(vec![0u8; 1024]);
    dec.feed(&wire);
    let Some(Event::Frame(f)) = dec.next_event().unwrap() else {
        panic!("no frame")
    };
    assert_eq!((f.header.kind, f.header.id), (Kind::ERROR, 0));
    (
        f.header.meta("code").unwrap().to_owned(),
        String::from_utf8(f.payload.to_vec()).unwrap(),
    )
}

#[test]
fn foreign_protocol_is_refused_on_its_first_byte() {
    let mut codec = FrameCodec::new();
    let mut src = BytesMut::from(&b"G"[..]);
    let e = codec.decode(&mut src).unwrap_err();
    assert!(
        matches!(e.decode_error(), Some(DecodeError::BadMagic { .. })),
        "{e}"
    );
    let (code, message) = reply_of(&e);
    assert_eq!(code, "bad-magic");
    assert!(
        message.starts_with("not a sockframe stream: expected magic f5 46, got 47"),
        "{message}"
    );
    // The codec stays failed: the next call reports the same error.
    let again = codec.decode(&mut BytesMut::from(&b"ET /"[..])).unwrap_err();
    assert_eq!(again.to_string(), e.to_string());
}

#[test]
fn oversized_payload_refused_from_the_header_with_the_limit() {
    let mut codec = FrameCodec::with_limits(Limits {
        max_header: 512,
        max_payload: 1000,
    });
    let mut wire = encode(&mut FrameCodec::new(), BytesFrame::data(3, vec![0u8; 5000]));
    wire.truncate(16); // the header alone
    let e = codec.decode(&mut wire).unwrap_err();
    assert!(
        matches!(
            e.decode_error(),
            Some(DecodeError::PayloadTooLarge {
                len: 5000,
                limit: 1000
            })
        ),
        "{e}"
    );
    assert_eq!(
        reply_of(&e),
        (
            "payload-too-large".into(),
            "payload is 5000 bytes, limit 1000".into()
        )
    );
}

#[test]
fn oversized_header_and_bad_checksum_are_refused() {
    let mut codec = FrameCodec::new();
    let mut src = BytesMut::from(&[0xF5, 0x46, 0x01, 0x28, 0x23][..]);
    let e = codec.decode(&mut src).unwrap_err();
    assert_eq!(e.to_string(), "header is 9000 bytes, limit 512");

    let mut frame = BytesFrame::data(1, &b"123456789"[..]);
    frame.head.set_crc(Some(0));
    let mut wire = encode(&mut FrameCodec::new(), frame);
    let e = FrameCodec::new().decode(&mut wire).unwrap_err();
    assert_eq!(reply_of(&e).0, "bad-checksum");
}

/// A frame with a trailer (flag TRAILER, then its END), as the core writes it: `FrameCodec`
/// refuses it from its header with its own error and error frame, with the numbers;
/// `StreamingFrameCodec` delivers it.
#[test]
fn trailer_frames_are_refused_whole_and_streamed_in_parts() {
    let payload = b"abc";
    let mut wire = vec![0u8; 64];
    let n = sockframe::encode_frame(
        &sockframe::Header::data(9, payload).with_trailer(),
        payload,
        &mut wire,
    )
    .unwrap();
    let end = sockframe::encode_end(9, &mut wire[n..]).unwrap();
    wire.truncate(n + end);

    let mut codec = FrameCodec::new();
    let e = codec.decode(&mut BytesMut::from(&wire[..])).unwrap_err();
    assert!(
        matches!(e, CodecError::TrailerRefused { id: 9, len: 3 }),
        "{e:?}"
    );
    assert_eq!(
        reply_of(&e),
        (
            "unsupported".into(),
            "frame 9 announces a trailer (flag TRAILER) after its 3 payload bytes; \
             this receiver takes whole frames without trailers"
                .into()
        )
    );

    let parts = run(&mut StreamingFrameCodec::new(1024), &wire, &[wire.len()]);
    let got = join(parts);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0.id, &got[0].1[..]), (9, &payload[..]));
}

#[test]
fn stream_ending_mid_frame_is_truncated_with_numbers() {
    let wire = encode(&mut FrameCodec::new(), BytesFrame::data(1, vec![9u8; 100]));
    let mut src = BytesMut::from(&wire[..wire.len() - 40]);
    let mut codec = FrameCodec::new();
    assert!(codec.decode(&mut src).unwrap().is_none());
    let e = codec.decode_eof(&mut src).unwrap_err();
    assert!(
        matches!(
            e.decode_error(),
            Some(DecodeError::UnexpectedEof {
                stage: Stage::Payload,
                have: 60,
                need: 100
            })
        ),
        "{e}"
    );
    // A stream that ends between frames ends cleanly.
    let mut codec = FrameCodec::new();
    let mut whole = wire.clone();
    assert!(codec.decode_eof(&mut whole).unwrap().is_some());
    assert!(codec.decode_eof(&mut whole).unwrap().is_none());
}

#[test]
fn encoder_refuses_parts_out_of_order_and_too_much_metadata() {
    let mut codec = StreamingFrameCodec::new(1024);
    let mut dst = BytesMut::new();
    let chunk = FramePart::Chunk(Bytes::from_static(b"abc"));
    assert_eq!(
        codec.encode(chunk, &mut dst).unwrap_err().to_string(),
        "frame parts out of order: a chunk of 3 bytes where the frame has 0 left"
    );
    let head = FrameHead::new(Kind::DATA, 1);
    codec
        .encode(FramePart::Start { head, len: 10 }, &mut dst)
        .unwrap();
    codec
        .encode(FramePart::Chunk(Bytes::from_static(b"abcd")), &mut dst)
        .unwrap();
    assert_eq!(
        codec
            .encode(FramePart::End, &mut dst)
            .unwrap_err()
            .to_string(),
        "frame parts out of order: end of a frame that still owes 6 payload bytes"
    );

    let mut frame = BytesFrame::data(1, &b"x"[..]);
    for i in 0..9 {
        frame = frame.with_meta(format!("k{i}"), "v");
    }
    let mut dst = BytesMut::new();
    let e = FrameCodec::new().encode(frame, &mut dst).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot encode frame: header has 9 metadata entries, limit 8"
    );
    assert!(dst.is_empty(), "nothing half-written");
}

#[tokio::test]
async fn framed_client_against_the_library_server() {
    let server = common::echo();
    let stream = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .unwrap();
    let mut framed = Framed::new(stream, StreamingFrameCodec::new(64 * 1024));
    // A burst of small frames, one large frame (streamed back by the server) and a ping.
    for i in 0..100u32 {
        framed
            .feed(BytesFrame::data(i + 1, i.to_string()).with_meta("n", i.to_string()))
            .await
            .unwrap();
    }
    let big: Vec<u8> = (0..1_000_000u32).map(|i| i as u8).collect();
    framed
        .feed(BytesFrame::data(1000, big.clone()).with_crc())
        .await
        .unwrap();
    framed
        .send(BytesFrame::new(Kind::PING, 1001, &b"p"[..]))
        .await
        .unwrap();
    for i in 0..100u32 {
        let Some(Ok(FramePart::Whole(f))) = framed.next().await else {
            panic!("reply {i}")
        };
        assert_eq!(
            (f.head.id, f.text(), f.meta("n")),
            (i + 1, i.to_string(), Some(i.to_string().as_str()))
        );
    }
    let mut parts = Vec::new();
    while parts.last() != Some(&FramePart::End) {
        parts.push(framed.next().await.unwrap().unwrap());
    }
    let got = join(parts);
    assert_eq!(got.len(), 1);
    assert_eq!((got[0].0.id, got[0].1.len()), (1000, big.len()));
    assert!(got[0].1 == big, "large frame differs");
    let Some(Ok(FramePart::Whole(pong))) = framed.next().await else {
        panic!("pong")
    };
    assert_eq!((pong.head.kind, pong.head.id), (Kind::PONG, 1001));
}

#[test]
fn framed_server_answers_bad_input_with_the_error_frame() {
    // A Framed<_, FrameCodec> echo on its own runtime; a raw std socket speaks HTTP to it.
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        rt.block_on(async move {
            let (stream, _) = listener.accept().await.unwrap();
            let mut framed = Framed::new(stream, FrameCodec::new());
            while let Some(item) = framed.next().await {
                match item {
                    Ok(f) => framed.send(f).await.unwrap(),
                    Err(e) => {
                        framed.send(e.reply().unwrap()).await.unwrap();
                        break;
                    }
                }
            }
        })
    });
    let mut raw = common::raw(addr);
    raw.write_all(b"GET / HTTP/1.1\r\n\r\n").unwrap();
    let mut answer = Vec::new();
    raw.read_to_end(&mut answer).unwrap();
    server.join().unwrap();
    let mut dec = CoreDecoder::new(vec![0u8; 1024]);
    dec.feed(&answer);
    let Some(Event::Frame(f)) = dec.next_event().unwrap() else {
        panic!("no error frame")
    };
    assert_eq!(f.header.meta("code"), Some("bad-magic"));
    // The numbers as metadata after `code` (spec 7.4): the first differing byte and its value.
    let meta: Vec<_> = f.header.meta.iter().collect();
    assert_eq!(meta, [("code", "bad-magic"), ("at", "0"), ("got", "71")]);
    assert_eq!(
        std::str::from_utf8(f.payload).unwrap(),
        "not a sockframe stream: expected magic f5 46, got 47 45 54 20 (GET ), looks like an HTTP request or a text command"
    );
}
