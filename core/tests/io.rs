//! The blocking and async helpers over real streams: loopback TCP and tokio's in-memory pipe.

use embedded_io_adapters::{std::FromStd, tokio_1::FromTokio};
use sockframe::{DecodeError, Decoder, Error, Event, Header, Stage, io, io_async};
use std::io::Write as _;
use std::net::{TcpListener, TcpStream};

fn encoded(frames: &[(&Header<'_>, &[u8])]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut w = FromStd::new(&mut wire);
    for (h, p) in frames {
        io::write_frame(&mut w, h, p).unwrap();
    }
    wire
}

/// A loopback pair: the server side is returned for the test to write raw bytes to.
fn tcp_pair() -> (TcpStream, TcpStream) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = TcpStream::connect(listener.local_addr().unwrap()).unwrap();
    let (server, _) = listener.accept().unwrap();
    (server, client)
}

#[test]
fn blocking_reads_frames_sent_byte_by_byte_over_tcp() {
    let big = vec![0x5Au8; 100_000];
    let wire = encoded(&[
        (&Header::data(1, b"one"), b"one"),
        (&Header::data(2, &big).with_crc_of(&big), &big),
        (&Header::data(3, b"three"), b"three"),
    ]);
    let (mut server, client) = tcp_pair();
    server.set_nodelay(true).unwrap();
    let writer = std::thread::spawn(move || {
        // Small frames a byte at a time, the rest in odd-sized pieces.
        for (i, piece) in wire.chunks(997).enumerate() {
            if i == 0 {
                for b in piece {
                    server.write_all(&[*b]).unwrap();
                }
            } else {
                server.write_all(piece).unwrap();
            }
        }
    });
    let mut r = FromStd::new(client);
    let mut dec = Decoder::new([0u8; 1024]);
    let mut got = Vec::new();
    let mut streamed = Vec::new();
    while let Some(ev) = io::read_event(&mut r, &mut dec).unwrap() {
        match ev {
            Event::Frame(f) => got.push((f.header.id, f.payload.to_vec())),
            Event::Start(h) => assert_eq!(h.len, 100_000),
            Event::Chunk(c) => streamed.extend_from_slice(c),
            Event::End => got.push((2, std::mem::take(&mut streamed))),
            Event::Abort(a) => panic!("nothing was aborted: {a:?}"),
        }
    }
    writer.join().unwrap();
    assert_eq!(
        got,
        vec![(1, b"one".to_vec()), (2, big), (3, b"three".to_vec())]
    );
}

#[test]
fn blocking_reports_a_peer_that_closes_mid_frame() {
    let wire = encoded(&[(&Header::data(1, b"abcdef"), b"abcdef")]);
    let (mut server, client) = tcp_pair();
    server.write_all(&wire[..wire.len() - 3]).unwrap();
    drop(server);
    let mut r = FromStd::new(client);
    let mut dec = Decoder::new([0u8; 64]);
    match io::read_event(&mut r, &mut dec) {
        Err(Error::Decode(DecodeError::UnexpectedEof {
            stage: Stage::Payload,
            have: 3,
            need: 6,
        })) => {}
        other => panic!("{other:?}"),
    }
}

#[test]
fn write_frame_refuses_a_header_over_the_scratch_space() {
    let long = "n".repeat(600);
    let mut sink = Vec::new();
    let err = io::write_frame(
        &mut FromStd::new(&mut sink),
        &Header::data(1, b"").with_name(&long),
        b"",
    )
    .unwrap_err();
    assert!(matches!(
        err,
        Error::Encode(sockframe::EncodeError::HeaderTooLarge { limit: 512, .. })
    ));
    assert!(sink.is_empty(), "nothing half-written");
}

/// `io_async::read_event` dropped by a timeout in the middle of a frame loses nothing.
#[tokio::test(flavor = "current_thread")]
async fn async_read_is_cancel_safe() {
    use tokio::io::AsyncWriteExt;
    let wire = encoded(&[
        (&Header::data(1, b"first"), b"first"),
        (&Header::data(2, b"second"), b"second"),
    ]);
    let (client, mut server) = tokio::io::duplex(64);
    let (half, rest) = wire.split_at(wire.len() / 2 + 3);
    let (rest_tx, rest_rx) = tokio::sync::oneshot::channel::<()>();
    let writer = tokio::spawn({
        let (half, rest) = (half.to_vec(), rest.to_vec());
        async move {
            server.write_all(&half).await.unwrap();
            // Send the rest only after the reader has given up at least once mid-frame.
            rest_rx.await.unwrap();
            server.write_all(&rest).await.unwrap();
        }
    });
    let mut r = FromTokio::new(client);
    let mut dec = Decoder::new([0u8; 256]);
    let mut ids = Vec::new();
    let mut timeouts = 0;
    let mut rest_tx = Some(rest_tx);
    while ids.len() < 2 {
        tokio::select! {
            ev = io_async::read_event(&mut r, &mut dec) => match ev.unwrap() {
                Some(Event::Frame(f)) => ids.push((f.header.id, f.payload.to_vec())),
                other => panic!("{other:?}"),
            },
            _ = tokio::time::sleep(std::time::Duration::from_millis(5)) => {
                timeouts += 1;
                if let Some(tx) = rest_tx.take() {
                    tx.send(()).unwrap();
                }
            }
        }
    }
    writer.await.unwrap();
    assert!(timeouts >= 1, "the read was never cancelled mid-frame");
    assert_eq!(ids, vec![(1, b"first".to_vec()), (2, b"second".to_vec())]);
}

#[tokio::test(flavor = "current_thread")]
async fn async_write_then_read_round_trip() {
    let (client, server) = tokio::io::duplex(1 << 16);
    let mut w = FromTokio::new(server);
    let payload = vec![9u8; 3000];
    io_async::write_frame(&mut w, &Header::data(5, &payload).with_name("x"), &payload)
        .await
        .unwrap();
    io_async::write_head(&mut w, &Header::data(6, b"ab"))
        .await
        .unwrap();
    embedded_io_async::Write::write_all(&mut w, b"ab")
        .await
        .unwrap();
    drop(w);
    let mut r = FromTokio::new(client);
    let mut dec = Decoder::new([0u8; 4096]);
    let Some(Event::Frame(f)) = io_async::read_event(&mut r, &mut dec).await.unwrap() else {
        panic!()
    };
    assert_eq!(
        (f.header.id, f.header.name, f.payload),
        (5, Some("x"), &payload[..])
    );
    let Some(Event::Frame(f)) = io_async::read_event(&mut r, &mut dec).await.unwrap() else {
        panic!()
    };
    assert_eq!(f.payload, b"ab");
    assert!(
        io_async::read_event(&mut r, &mut dec)
            .await
            .unwrap()
            .is_none()
    );
}

/// A link over tokio's in-memory pipe: boot text, a frame in pieces, noise, a frame, then the
/// end: the async reader hands out the skipped runs and the frames, then `None`.
#[tokio::test(flavor = "current_thread")]
async fn async_link_reader_skips_noise() {
    use sockframe::resync::{Received, Resync};
    use tokio::io::AsyncWriteExt;
    let (client, mut server) = tokio::io::duplex(16);
    let mut wire = b"boot ok\r\n".to_vec();
    for (id, p) in [(1u32, &b"one"[..]), (2, &b"two"[..])] {
        let mut out = [0u8; 64];
        let h = Header::data(id, p).with_crc_of(p).with_header_check();
        let n = sockframe::encode_frame(&h, p, &mut out).unwrap();
        wire.extend_from_slice(&out[..n]);
        wire.extend_from_slice(b"\xff\x00");
    }
    let writer = tokio::spawn(async move {
        for piece in wire.chunks(5) {
            server.write_all(piece).await.unwrap();
        }
    });
    let mut r = FromTokio::new(client);
    let mut rx = Resync::new([0u8; 128]);
    let mut got = Vec::new();
    while let Some(ev) = sockframe::io_async::read_received(&mut r, &mut rx)
        .await
        .unwrap()
    {
        got.push(match ev {
            Received::Skipped(s) => format!("skip {}", s.bytes),
            Received::Event(sockframe::Event::Frame(f)) => {
                String::from_utf8_lossy(f.payload).into_owned()
            }
            other => panic!("{other:?}"),
        });
    }
    writer.await.unwrap();
    assert_eq!(got, ["skip 9", "one", "skip 2", "two", "skip 2"]);
}
