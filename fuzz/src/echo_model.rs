//! What an echo service must send back for a given input, and the check that what it did
//! send is that: shared by the fuzz targets of the smoltcp echo service and the desktop
//! server's echo, which must behave the same (one wire format, one echo rule).

use sockframe::{
    DecodeError, Decoder, EchoReply, Ending, Event, Forwarding, Header, Kind, Limits, PREFIX_LEN,
    echo_reply, encode_decode_abort,
};

/// What the echo service must send back for `input` (followed by FIN), as the spec's
/// section 6.1 says: every event's bytes as they arrived (a PING's kind byte made PONG, a
/// limits request answered with the limits PONG), then, if the decoder fails, the end of a
/// frame that was going out cut-through (filler and an ABORT with a trailer; nothing, and no
/// error frame, without one when its payload was cut) and the error frame.
pub struct Model {
    /// Everything the service echoes before its error frame (all of it for valid input).
    pub echo: Vec<u8>,
    pub error: Option<DecodeError>,
    /// The frames of the echo as the reference decoder reads them (header as text,
    /// payload).
    pub frames: Vec<(String, Vec<u8>)>,
    /// Whether the echo is the input with PING->PONG (no limits request was answered).
    pub canonical: bool,
    /// Whether a frame was being streamed (Start seen, no End) when the error struck.
    pub open_at_error: bool,
    /// Whether the service ends without an error frame: a frame without a trailer was cut
    /// inside its payload after its head went out (an error frame would read as payload).
    pub quiet_close: bool,
    /// Where the ABORT for the frame in progress starts in `echo`, if one is owed: its
    /// message text, like the error frame's, depends on how many bytes the service had
    /// seen when it failed, so only its kind, id and code are compared.
    pub abort_at: Option<usize>,
}

pub fn model(input: &[u8], buffer: usize, limits: Limits) -> Model {
    let mut dec = Decoder::with_limits(vec![0u8; buffer], limits);
    let accepted = dec.accepted();
    let mut m = Model {
        echo: Vec::new(),
        error: None,
        frames: Vec::new(),
        canonical: true,
        open_at_error: false,
        quiet_close: false,
        abort_at: None,
    };
    let mut rest = input;
    let mut fwd = Forwarding::default();
    let err = loop {
        match dec.poll() {
            Err(e) => break e,
            Ok(true) => match dec.next_event_raw() {
                Err(e) => break e,
                Ok(None) => unreachable!("poll() said an event is ready"),
                Ok(Some((event, raw))) => {
                    fwd.track(&event);
                    let mut scratch = [0u8; sockframe::ECHO_SCRATCH];
                    let reply = echo_reply(&event, raw, accepted, &mut scratch);
                    m.canonical &= !matches!(reply, EchoReply::LimitsPong(_));
                    m.echo.extend(reply.pieces().concat());
                }
            },
            Ok(false) if rest.is_empty() => match dec.finish() {
                Ok(()) => {
                    m.frames = decode_all(&m.echo).0;
                    return m;
                }
                Err(e) => break e,
            },
            Ok(false) => {
                let n = dec.feed(rest);
                rest = &rest[n..];
            }
        }
    };
    match fwd.ending() {
        Ending::Abort { id, filler } => {
            m.echo
                .extend(std::iter::repeat_n(0u8, usize::try_from(filler).unwrap()));
            m.abort_at = Some(m.echo.len());
            let mut abort = [0u8; sockframe::ERROR_FRAME_MAX];
            let n = encode_decode_abort(id, &err, &mut abort).expect("fits");
            m.echo.extend_from_slice(&abort[..n]);
        }
        Ending::Close => {
            m.quiet_close = true;
            m.open_at_error = true;
        }
        // A streamed frame whose payload is all out (a bad checksum at its end).
        Ending::Error => m.open_at_error = fwd.in_frame(),
    }
    m.frames = decode_all(&m.echo).0;
    m.error = Some(err);
    m
}

/// The frames in `bytes` (header with the payload length, as text; payload), and whether
/// the bytes end between frames. Error frames are kept as frames.
fn decode_all(bytes: &[u8]) -> (Vec<(String, Vec<u8>)>, bool) {
    let mut dec = Decoder::new(vec![0u8; 4096]);
    let mut frames = Vec::new();
    let mut rest = bytes;
    let mut open: Option<(String, Vec<u8>)> = None;
    loop {
        match dec.poll() {
            Err(_) => return (frames, false),
            Ok(false) if rest.is_empty() => return (frames, dec.finish().is_ok()),
            Ok(false) => rest = &rest[dec.feed(rest)..],
            Ok(true) => match dec.next_event() {
                Err(_) => return (frames, false),
                Ok(None) => unreachable!("poll() said an event is ready"),
                Ok(Some(Event::Frame(f))) => {
                    frames.push((format!("{:?}", f.header), f.payload.to_vec()))
                }
                Ok(Some(Event::Start(h))) => open = Some((format!("{h:?}"), Vec::new())),
                Ok(Some(Event::Chunk(c))) => open.as_mut().expect("start").1.extend_from_slice(c),
                Ok(Some(Event::End)) => frames.push(open.take().expect("start")),
                Ok(Some(Event::Abort(a))) => {
                    open.take().expect("start");
                    frames.push((format!("{:?}", a.header), a.payload.to_vec()))
                }
            },
        }
    }
}

/// The input with the kind byte of every PING header replaced by PONG (only meaningful for
/// canonical input: kind is the first header field, one byte for kinds below 128).
fn ping_to_pong(input: &[u8]) -> Option<Vec<u8>> {
    let mut out = input.to_vec();
    let mut at = 0;
    while at < out.len() {
        let header_len = u16::from_le_bytes([out[at + 3], out[at + 4]]) as usize;
        let header = Header::parse(&out[at + PREFIX_LEN..at + PREFIX_LEN + header_len]).ok()?;
        let payload = usize::try_from(header.len).ok()?;
        if header.kind == Kind::PING {
            out[at + PREFIX_LEN] = Kind::PONG.0;
        }
        at += PREFIX_LEN + header_len + payload;
    }
    Some(out)
}

/// Checks what an echo service sent back (`received`, up to its end of stream) for
/// `input` against `expected = model(input, ..)`; panics on any difference.
///
/// - the echoes are byte-exact against the reference decoder's;
/// - valid input: nothing else, the reply decodes to the input's frames with PING->PONG,
///   and canonical input comes back byte-identical but for the PING kind bytes;
/// - bad input: exactly one error frame after the echoes, id 0, with the model's code, and
///   nothing after it.
pub fn check_echo(input: &[u8], received: &[u8], expected: &Model) {
    // 1. The echoes, byte-exact against the reference decoder (up to an owed ABORT).
    let exact = expected.abort_at.unwrap_or(expected.echo.len());
    let echoed = exact.min(received.len());
    if received[..echoed] != expected.echo[..echoed] || echoed < exact {
        let at = received
            .iter()
            .zip(&expected.echo)
            .position(|(a, b)| a != b)
            .unwrap_or(echoed);
        panic!(
            "echo differs from the model at byte {at} (got {} bytes, expected {} before any \
             error frame; error {:?})\ngot      {:02x?}\nexpected {:02x?}",
            received.len(),
            expected.echo.len(),
            expected.error,
            &received[at.saturating_sub(16)..received.len().min(at + 48)],
            &expected.echo[at.saturating_sub(16)..expected.echo.len().min(at + 48)],
        );
    }
    let after = match expected.abort_at {
        None => &received[expected.echo.len()..],
        Some(at) => &received[at + check_abort(&received[at..], &expected.echo[at..])..],
    };

    // 2. Frame by frame.
    match &expected.error {
        None => {
            assert!(
                after.is_empty(),
                "valid input: {} bytes after the echo",
                after.len()
            );
            let (got, clean) = decode_all(&received);
            assert!(
                clean,
                "valid input: the echo is not a clean sequence of frames"
            );
            assert_eq!(
                got, expected.frames,
                "valid input: the echo has other frames"
            );
            if expected.canonical {
                let want = ping_to_pong(input).expect("valid input re-parses");
                assert!(
                    received == want,
                    "canonical valid input: the echo is not the input with PING->PONG"
                );
            }
        }
        Some(_) if expected.quiet_close => {
            assert!(
                after.is_empty(),
                "a frame without a trailer cut inside its payload: {} bytes after it (an \
                 error frame there would be read as payload)",
                after.len()
            );
        }
        Some(err) => {
            // Then exactly one error frame, id 0, with the error's code (its message text
            // may differ from the model's: how many bytes the decoder had seen when it
            // failed depends on how they arrived), and nothing after: the service closed.
            let mut dec = Decoder::new(vec![0u8; 1024]);
            let n = dec.feed(after);
            assert_eq!(
                n,
                after.len(),
                "bad input: {} bytes after the echo",
                after.len()
            );
            let error = match dec.next_event() {
                Ok(Some(Event::Frame(f))) => (
                    f.header.kind,
                    f.header.id,
                    f.header.meta("code").map(str::to_owned),
                ),
                other => panic!("bad input ({err:?}): no error frame after the echo: {other:?}"),
            };
            assert_eq!(
                error,
                (Kind::ERROR, 0, Some(err.code().to_owned())),
                "bad input ({err:?}): the error frame"
            );
            assert!(
                matches!(dec.next_event(), Ok(None)) && dec.finish().is_ok(),
                "bad input ({err:?}): bytes after the error frame"
            );
            let (echoes, clean) = decode_all(&expected.echo);
            // Before it: whole echoes of the input's frames; a frame being echoed
            // cut-through when the error struck (bad checksum at its end, or cut by FIN)
            // leaves its head and chunks unfinished.
            assert!(
                clean || expected.open_at_error,
                "bad input ({err:?}): the echoes before the error frame are cut"
            );
            assert!(
                echoes.len() <= expected.frames.len() + usize::from(expected.open_at_error),
                "bad input: more echoes than frames decoded from the input"
            );
            let whole = echoes.len().min(expected.frames.len());
            assert_eq!(
                &echoes[..whole],
                &expected.frames[..whole],
                "bad input: the echoes are not a prefix of the input's frames"
            );
        }
    }
}

/// Checks that `got` starts with an ABORT frame of the same id and code as `want`'s (the
/// message text may differ, see `Model::abort_at`); returns the length of the one in `got`.
fn check_abort(got: &[u8], want: &[u8]) -> usize {
    let parse = |bytes: &[u8]| {
        assert!(bytes.len() >= PREFIX_LEN, "the ABORT owed is missing");
        let header_len = usize::from(u16::from_le_bytes([bytes[3], bytes[4]]));
        let end = PREFIX_LEN + header_len;
        assert!(bytes.len() >= end, "the ABORT owed is cut short");
        let header = Header::parse(&bytes[PREFIX_LEN..end]).expect("an ABORT header");
        let len = usize::try_from(header.len).expect("a small ABORT");
        assert!(bytes.len() >= end + len, "the ABORT owed is cut short");
        (
            header.kind,
            header.id,
            header.meta("code").map(str::to_owned),
            end + len,
        )
    };
    let (kind, id, code, n) = parse(got);
    let (want_kind, want_id, want_code, _) = parse(want);
    assert_eq!(
        (kind, id, code),
        (want_kind, want_id, want_code),
        "the ABORT owed: kind, id or code differs from the model's"
    );
    n
}
