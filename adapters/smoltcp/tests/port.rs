//! The byte-port driver over an in-memory port: the same handlers as on TCP, answers
//! written as the port takes them, and hostile input (noise, huge lengths, cut frames,
//! failing handlers) answered with an ERROR frame and a restart, never a panic.

use sockframe::{Decoder, Event, Header, Kind, encode_frame};
use sockframe_smoltcp::testing::MemPort;
use sockframe_smoltcp::{Echo, HANDLER_FAILED, Handler, Port, Reply, ReplyError};

fn frame(id: u32, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![0u8; 64 + payload.len()];
    let n = encode_frame(&Header::data(id, payload), payload, &mut out).unwrap();
    out.truncate(n);
    out
}

/// The frames in `bytes` as (kind, id, code metadata, payload).
fn frames(bytes: &[u8]) -> Vec<(Kind, u32, Option<String>, Vec<u8>)> {
    let mut decoder = Decoder::new(vec![0u8; 4096]);
    decoder.read_buf()[..bytes.len()].copy_from_slice(bytes);
    decoder.commit(bytes.len());
    let mut out = Vec::new();
    while let Some(event) = decoder.next_event().unwrap() {
        let Event::Frame(f) = event else {
            panic!("unexpected {event:?}")
        };
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
    }
}

#[test]
fn noise_gets_an_error_frame_then_the_link_serves_again() {
    let mut link = Port::<512, 1024>::new();
    let out = run(&mut link, b"\x00garbage that is no frame", 5, &mut Echo);
    // Without the core's resynchronising receiver, each restart reads the next bytes as a
    // frame start: one ERROR frame per restart, never a panic.
    let got = frames(&out);
    assert!(!got.is_empty());
    for (kind, id, code, _) in &got {
        assert_eq!(
            (*kind, *id, code.as_deref()),
            (Kind::ERROR, 0, Some("bad-magic"))
        );
    }
    assert_eq!(link.restarts() as usize, got.len());
    assert!(link.last_error().is_some());
    // Once the peer starts over, frames are served again.
    let good = frame(9, b"after");
    assert_eq!(run(&mut link, &good, 4, &mut Echo), good);
}

#[test]
fn a_huge_length_is_refused_with_its_numbers() {
    let mut head = vec![0u8; 64];
    let n = sockframe::encode_head(
        &Header::new(Kind::DATA, 1, u64::MAX >> 1),
        u64::MAX >> 1,
        &mut head,
    )
    .unwrap();
    let mut link = Port::<512, 1024>::new();
    let out = run(&mut link, &head[..n], 2, &mut Echo);
    let got = frames(&out);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].0, Kind::ERROR);
    let text = String::from_utf8(got[0].3.clone()).unwrap();
    assert!(text.chars().any(|c| c.is_ascii_digit()), "{text}");
    assert_eq!(link.restarts(), 1);
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
