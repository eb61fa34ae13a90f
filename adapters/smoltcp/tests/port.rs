//! The byte-port driver over an in-memory port: the same handlers as on TCP, answers
//! written as the port takes them, every frame it writes checked (HCHECK), and hostile
//! input (noise, boot text, huge lengths, damaged, cut and unchecked frames, failing
//! handlers) skipped or answered, never a panic, the link resuming at the next intact frame.

use sockframe::resync::SkipReason;
use sockframe::{Decoder, Event, Header, Kind, encode_error_text, encode_frame, header_check};
use sockframe_smoltcp::testing::MemPort;
use sockframe_smoltcp::{Echo, HANDLER_FAILED, Handler, Port, Reply, ReplyError};

/// A frame as a sender on a link writes it: header check and payload crc.
fn frame(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 64 + payload.len()];
    let header = Header::data(id, payload)
        .with_crc_of(payload)
        .with_header_check();
    let n = encode_frame(&header, payload, &mut out).unwrap();
    out.truncate(n);
    out
}

/// The frames in `bytes` as (kind, id, code metadata, payload); each must carry a valid
/// header check.
fn frames(bytes: &[u8]) -> Vec<(Kind, u32, Option<String>, Vec<u8>)> {
    let mut decoder = Decoder::new(vec![0u8; 4096]);
    decoder.read_buf()[..bytes.len()].copy_from_slice(bytes);
    decoder.commit(bytes.len());
    let mut out = Vec::new();
    while let Some((event, raw)) = decoder.next_event_raw().unwrap() {
        let Event::Frame(f) = event else {
            panic!("unexpected {event:?}")
        };
        let head = &raw[..raw.len() - f.payload.len()];
        assert!(
            header_check::verify(head).is_ok(),
            "unchecked frame {raw:x?}"
        );
        out.push((
            f.header.kind,
            f.header.id,
            f.header.meta("code").map(str::to_owned),
            f.payload.to_vec(),
        ));
    }
    decoder.finish().unwrap();
    out
}

/// Polls until nothing moves; returns what was written.
fn run<H: Handler>(link: &mut Port<512, 1024>, input: &[u8], chunk: usize, h: &mut H) -> Vec<u8> {
    let mut out = vec![0u8; 8192];
    let mut port = MemPort::new(input, &mut out, chunk);
    while link.poll(&mut port, h).unwrap() {}
    assert_eq!(port.unread(), 0, "the driver stopped reading");
    port.written().to_vec()
}

#[test]
fn echoes_frames_whatever_the_port_chunk() {
    let mut input = frame(1, b"hello");
    input.extend(frame(2, &[7u8; 900])); // larger than the decoder: streamed cut-through
    input.extend(frame(3, b""));
    for chunk in [1, 3, 64, 4096] {
        let mut link = Port::<512, 1024>::new();
        assert_eq!(
            run(&mut link, &input, chunk, &mut Echo),
            input,
            "chunk {chunk}"
        );
        assert_eq!(link.restarts(), 0);
        assert_eq!(link.pending(), 0);
        assert_eq!(link.skipped(), 0);
    }
}

#[test]
fn noise_and_boot_text_are_skipped_and_counted() {
    let mut input = b"\x00garbage \xf5\x46\x01\xff\x00 that is no frame".to_vec();
    let noise = input.len();
    input.extend(frame(1, b"one"));
    input.extend(b"U-Boot 2024.01 (Jan 01 2024)\r\n");
    input.extend(frame(2, b"two"));
    for chunk in [1, 5, 4096] {
        let mut link = Port::<512, 1024>::new();
        let got = frames(&run(&mut link, &input, chunk, &mut Echo));
        let ids: Vec<u32> = got.iter().map(|f| f.1).collect();
        assert_eq!(ids, [1, 2], "chunk {chunk}");
        assert_eq!(link.skipped(), (noise + 30) as u64);
        assert_eq!(link.restarts(), 0);
        assert_eq!(link.last_skip().unwrap().bytes, 30);
    }
}

#[test]
fn a_huge_length_is_skipped_with_its_numbers() {
    let mut head = vec![0u8; 64];
    let n = sockframe::encode_head(
        &Header::new(Kind::DATA, 1, u64::MAX >> 1).with_header_check(),
        u64::MAX >> 1,
        &mut head,
    )
    .unwrap();
    head.truncate(n);
    head.extend(frame(2, b"next"));
    let mut link = Port::<512, 1024>::new();
    let got = frames(&run(&mut link, &head, 2, &mut Echo));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!((got[0].1, got[0].3.as_slice()), (2, &b"next"[..]));
    let skip = link.last_skip().unwrap();
    assert_eq!(skip.bytes, n as u64);
    let SkipReason::Header(e) = skip.reason else {
        panic!("{skip:?}")
    };
    assert!(e.to_string().contains("67108864"), "{e}");
}

#[test]
fn damaged_and_unchecked_frames_are_not_answered() {
    let mut damaged = frame(1, b"payload");
    let last = damaged.len() - 1;
    damaged[last] ^= 0x20;
    let mut unchecked = vec![0u8; 64];
    let n = encode_frame(&Header::data(2, b"v1"), b"v1", &mut unchecked).unwrap();
    unchecked.truncate(n);
    let mut input = damaged.clone();
    input.extend(&unchecked);
    input.extend(frame(3, b"good"));
    let mut link = Port::<512, 1024>::new();
    let got = frames(&run(&mut link, &input, 3, &mut Echo));
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].1, 3);
    assert_eq!(link.skipped(), (damaged.len() + unchecked.len()) as u64);
    assert!(matches!(
        link.last_skip().unwrap().reason,
        SkipReason::Payload(_)
    ));
}

/// A streamed frame whose checksum fails at its end: the echo forwarded it cut-through
/// (the peer's own check drops it), the handler restarts, the next frame is served.
#[test]
fn a_damaged_stream_restarts_the_handler_and_the_link_goes_on() {
    let mut big = frame(4, &[9u8; 900]);
    let last = big.len() - 1;
    big[last] ^= 1;
    let mut input = big.clone();
    input.extend(frame(5, b"after"));
    let mut h = Counting::default();
    let mut link = Port::<512, 1024>::new();
    let out = run(&mut link, &input, 64, &mut h);
    assert_eq!(out, input, "forwarded byte-exact, the damaged frame too");
    assert_eq!((h.opened, h.closed), (2, 1));
    assert_eq!(link.restarts(), 1);
    assert!(link.last_skip().unwrap().ends_stream);
}

#[test]
fn a_peer_vanishing_mid_frame_leaves_the_link_waiting() {
    let whole = frame(4, b"cut short");
    let mut link = Port::<512, 1024>::new();
    let out = run(&mut link, &whole[..whole.len() - 3], 1, &mut Echo);
    assert!(out.is_empty());
    assert_eq!(link.restarts(), 0);
    // The rest arrives later: the frame completes.
    assert_eq!(
        run(&mut link, &whole[whole.len() - 3..], 1, &mut Echo),
        whole
    );
}

/// The echo, counting its hooks.
#[derive(Default)]
struct Counting {
    opened: u32,
    closed: u32,
}

impl Handler for Counting {
    fn on_open(&mut self) {
        self.opened += 1;
    }

    fn on_close(&mut self) {
        self.closed += 1;
    }

    fn forwards(&self) -> bool {
        true
    }

    fn on_event(&mut self, event: Event<'_>, reply: &mut Reply<'_, '_>) -> Result<(), ReplyError> {
        Echo.on_event(event, reply)
    }
}

/// Counts hooks; answers "ok", refuses id 13 with an error then close, fails on id 66
/// after a partial answer.
#[derive(Default)]
struct Picky {
    opened: u32,
    closed: u32,
}

impl Handler for Picky {
    fn on_open(&mut self) {
        self.opened += 1;
    }

    fn on_close(&mut self) {
        self.closed += 1;
    }

    fn reserve(&self, event_len: usize) -> usize {
        event_len + 64
    }

    fn on_event(&mut self, event: Event<'_>, reply: &mut Reply<'_, '_>) -> Result<(), ReplyError> {
        let Event::Frame(f) = event else {
            return Ok(());
        };
        match f.header.id {
            13 => Err(reply.error_then_close(13, "unlucky", &format_args!("id {} refused", 13))),
            66 => {
                reply.send(b"half an answer")?;
                Err(ReplyError::OverBudget { need: 1, budget: 0 })
            }
            id => {
                assert!(reply.header_check(), "a port's replies are checked");
                reply.send_head(&Header::data(id, b"ok"), 2)?;
                reply.send(b"ok")
            }
        }
    }
}

#[test]
fn error_then_close_sends_the_error_and_restarts() {
    let mut h = Picky::default();
    let mut link = Port::<512, 1024>::new();
    let mut input = frame(1, b"a");
    input.extend(frame(13, b"b"));
    let out = run(&mut link, &input, 3, &mut h);
    let got = frames(&out);
    assert_eq!(got.len(), 2, "{got:?}");
    assert_eq!(
        (got[0].0, got[0].1, got[0].3.as_slice()),
        (Kind::DATA, 1, &b"ok"[..])
    );
    assert_eq!((got[1].0, got[1].1), (Kind::ERROR, 13));
    assert_eq!(got[1].2.as_deref(), Some("unlucky"));
    assert_eq!(got[1].3, b"id 13 refused");
    assert_eq!((h.opened, h.closed), (2, 1));
    assert_eq!(link.restarts(), 1);
}

#[test]
fn a_failing_handler_is_reported_without_its_partial_answer() {
    let mut h = Picky::default();
    let mut link = Port::<512, 1024>::new();
    let mut input = frame(66, b"x");
    let out = run(&mut link, &input, 1000, &mut h);
    let got = frames(&out);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, Kind::ERROR);
    assert_eq!(got[0].2.as_deref(), Some(HANDLER_FAILED));
    // Byte for byte the unchecked frame with the check added, as a relay onto a link adds it.
    let mut want = [0u8; 512];
    let n = encode_error_text(0, HANDLER_FAILED, "the handler failed", &mut want).unwrap();
    let n = header_check::add(&mut want, n).unwrap();
    assert_eq!(out, &want[..n]);
    assert_eq!((h.opened, h.closed), (2, 1));
    // And the link goes on.
    input = frame(5, b"y");
    let got = frames(&run(&mut link, &input, 1, &mut h));
    assert_eq!((got[0].0, got[0].1), (Kind::DATA, 5));
}

#[test]
fn a_port_that_stops_writing_stops_the_reading() {
    // 200 small frames, an output of 100 bytes: the driver buffers what it can answer,
    // then waits; nothing is lost when the port drains.
    let one = frame(1, b"0123456789");
    let input: Vec<u8> = one.iter().copied().cycle().take(one.len() * 200).collect();
    let mut link = Port::<512, 1024>::new();
    let mut small = vec![0u8; 100];
    let mut port = MemPort::new(&input, &mut small, 7);
    while link.poll(&mut port, &mut Echo).unwrap() {}
    assert!(port.unread() > 0, "read everything without room to answer");
    let first = port.written().to_vec();
    // The port drains: a bigger output, the rest of the input.
    let rest = input.len() - port.unread();
    let mut big = vec![0u8; 8192];
    let mut port = MemPort::new(&input[rest..], &mut big, 7);
    while link.poll(&mut port, &mut Echo).unwrap() {}
    let mut all = first;
    all.extend_from_slice(port.written());
    assert_eq!(all, input);
}

#[test]
#[should_panic(expected = "port output buffer")]
fn an_output_smaller_than_an_answer_is_refused() {
    let mut link = Port::<512, 256>::new();
    let mut out = [0u8; 8];
    let mut port = MemPort::new(b"", &mut out, 1);
    let _ = link.poll(&mut port, &mut Echo);
}
