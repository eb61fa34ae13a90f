//! Peer conformance: the spec's own bytes (`docs/wire-format.md` section 8: every golden
//! vector, every conformance case) driven through the desktop server (the real `sockframe
//! serve` binary) and the board in QEMU, over real sockets on 127.0.0.1, under several write
//! splits, every reply checked byte for byte.
//!
//! - A vector is echoed: each frame comes back exactly as sent, a PING as a PONG (its kind
//!   byte `02` becomes `03`, section 6.1); then the peer closes after our FIN. Each vector
//!   alone, then all of them back to back in one stream.
//! - A case is sent as its `send:` bytes. Without `error:`, the peer answers `reply:` and
//!   nothing more, then closes after our FIN. With `error: CODE N`, the first `N - 1` bytes
//!   get no ERROR frame (only, at most, a beginning of `reply:` that holds no frame made up by
//!   the peer, such as an ABORT), then byte `N` brings the rest of `reply:`, the ERROR frame
//!   (kind 1, id 0, `code`, the `meta:` entries, the `message:`) and the end of the stream;
//!   `error: CODE eof` the same at our FIN. One more run sends all of `send:` in one write,
//!   as a confused client would: the same code and metadata (the message of `bad-magic` shows
//!   whatever bytes arrived together, so it is not compared there).
//!
//! One board and one desktop server serve the whole file, in one test, both peers at once;
//! every divergence is collected and all are reported together. Needs `qemu-system-arm` and
//! the `thumbv7m-none-eabi` target (`cargo xtask setup`).
//!
//! "No answer yet" is observed as silence for [`QUIET`]: a peer that answered early but more
//! slowly than that would pass that step (never the byte-exact comparison that follows).

use sockframe::{Header, Kind, encode_frame};
use sockframe_tests::board::{Board, build_firmware, default_firmware};
use sockframe_tests::desktop::Desktop;
use sockframe_tests::pattern;
use sockframe_tests::spec::{self, At, End};
use std::io::{ErrorKind, Read as _, Write as _};
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// How long a peer must stay silent to count as "no answer yet".
const QUIET: Duration = Duration::from_millis(300);
/// How long a reply may take (the board's clock and QEMU run slow on a busy host).
const REPLY: Duration = Duration::from_secs(20);

/// How the test writes a case's bytes.
#[derive(Debug, Clone, Copy)]
enum Split {
    /// One write.
    Whole,
    /// One write per byte (TCP_NODELAY: each leaves as its own segment).
    Bytewise,
    /// Writes of 1 to 8 bytes, sizes from this seed.
    Random(u32),
}

const SPLITS: [Split; 3] = [Split::Whole, Split::Bytewise, Split::Random(7)];

impl Split {
    fn chunks<'a>(&self, bytes: &'a [u8]) -> Vec<&'a [u8]> {
        match *self {
            Split::Whole => vec![bytes],
            Split::Bytewise => bytes.chunks(1).collect(),
            Split::Random(seed) => {
                let sizes = pattern(bytes.len(), seed);
                let mut out = Vec::new();
                let mut rest = bytes;
                for size in sizes {
                    if rest.is_empty() {
                        break;
                    }
                    let n = (1 + usize::from(size % 8)).min(rest.len());
                    out.push(&rest[..n]);
                    rest = &rest[n..];
                }
                out
            }
        }
    }
}

/// The frames of a stream of whole frames, split by the spec's rules alone (section 2: the
/// prefix; section 3: `kind`, `id`, `len` lead the header; section 4.1: a trailer is a frame
/// of its own).
fn frames(mut stream: &[u8]) -> Result<Vec<&[u8]>, String> {
    let mut out = Vec::new();
    while !stream.is_empty() {
        let header_len = match stream {
            [0xF5, 0x46, 0x01, lo, hi, ..] => usize::from(u16::from_le_bytes([*lo, *hi])),
            _ => {
                return Err(format!(
                    "no v1 prefix at {}",
                    hex(&stream[..stream.len().min(5)])
                ));
            }
        };
        let header = stream.get(5..5 + header_len).ok_or("header cut short")?;
        let (_id, rest) = varint(header.get(1..).ok_or("no kind")?)?;
        let (len, _) = varint(rest)?;
        let frame_len = 5 + header_len + usize::try_from(len).map_err(|e| e.to_string())?;
        out.push(stream.get(..frame_len).ok_or("payload cut short")?);
        stream = &stream[frame_len..];
    }
    Ok(out)
}

/// An unsigned LEB128 varint and what follows it.
fn varint(bytes: &[u8]) -> Result<(u64, &[u8]), String> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(10) {
        value |= u64::from(b & 0x7F) << (7 * i);
        if b & 0x80 == 0 {
            return Ok((value, &bytes[i + 1..]));
        }
    }
    Err("varint runs past the header".into())
}

/// Whether `frame` is a limits request (section 7.2), whose echo is the receiver's limits,
/// not derived from the frame's bytes (case `echo-limits` checks it).
fn is_limits_request(frame: &[u8]) -> bool {
    frame[5] == Kind::PING.0 && Header::parse(&frame[5..]).is_ok_and(|h| h.meta("limits").is_some())
}

/// A stream run against every peer, and what it must get back.
#[derive(Debug, Clone)]
struct Run {
    name: String,
    send: Vec<u8>,
    end: End,
    reply: Vec<u8>,
    /// The ERROR frame, when the stream has a fault, and when it is due.
    error: Option<(Vec<u8>, At)>,
    /// Write splits to run it under.
    splits: Vec<Split>,
    /// Only the code and metadata of the ERROR frame are compared, not its message.
    loose_message: bool,
}

/// The ERROR frame of a case: kind 1, id 0, no flags, no name, no crc, `code` then the
/// case's metadata, payload the message (section 8, "Conformance cases"), or for a peer
/// built with the core's `terse` feature the terse message of section 7.3.
fn error_frame(e: &spec::Error, terse: bool) -> Vec<u8> {
    let pairs: Vec<(&str, &str)> = [("code", e.code.as_str())]
        .into_iter()
        .chain(e.meta.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .collect();
    let terse_message = terse_message(e);
    let message = if terse {
        terse_message.as_bytes()
    } else {
        e.message.as_deref().unwrap_or("").as_bytes()
    };
    let header = Header::new(Kind::ERROR, 0, message.len() as u64).with_meta(&pairs);
    let mut out = vec![0u8; 1024];
    let n = encode_frame(&header, message, &mut out).expect("an ERROR frame encodes");
    out.truncate(n);
    out
}

/// The terse message (spec section 7.3, "this implementation"): `code: key=value ...`, then
/// for `bad-header` the problem, which the case's sentence ends with (after its last `: `).
fn terse_message(e: &spec::Error) -> String {
    let mut m = e.code.clone();
    for (i, (k, v)) in e.meta.iter().enumerate() {
        m += if i == 0 { ": " } else { " " };
        m += &format!("{k}={v}");
    }
    if e.code == "bad-header"
        && let Some(problem) = e.message.as_deref().and_then(|s| s.rsplit(": ").next())
    {
        m += ", ";
        m += problem;
    }
    m
}

/// `reply` as a peer with terse messages sends it: each ABORT that reports a fault (section
/// 6.1: the same code, numbers and message as the ERROR frame) carries the terse message.
fn terse_reply(reply: &[u8], error: Option<&spec::Error>) -> Vec<u8> {
    let (Some(error), Ok(frames)) = (error, frames(reply)) else {
        return reply.to_vec();
    };
    let mut out = Vec::new();
    for frame in frames {
        let header_len = usize::from(u16::from_le_bytes([frame[3], frame[4]]));
        match Header::parse(&frame[5..5 + header_len]) {
            Ok(h) if h.kind == Kind::ABORT && h.meta("code") == Some(error.code.as_str()) => {
                let message = terse_message(error);
                let pairs: Vec<(&str, &str)> = h.meta.iter().collect();
                let abort = Header::new(Kind::ABORT, h.id, message.len() as u64).with_meta(&pairs);
                let mut buf = vec![0u8; 1024];
                let n = encode_frame(&abort, message.as_bytes(), &mut buf).expect("ABORT encodes");
                out.extend_from_slice(&buf[..n]);
            }
            _ => out.extend_from_slice(frame),
        }
    }
    out
}

/// Every run the spec holds: each vector echoed, all vectors back to back, each case under
/// each split, each case with a fault sent whole. `terse`: the ERROR frames a peer with
/// terse messages sends.
fn runs(spec_text: &str, terse: bool) -> Result<Vec<Run>, String> {
    let mut runs = Vec::new();
    let mut all = Vec::new();
    for name in spec::vector_names(spec_text) {
        let bytes = spec::vector(spec_text, &name)?;
        let frames = frames(&bytes).map_err(|e| format!("vector `{name}`: {e}"))?;
        if frames.iter().any(|f| is_limits_request(f)) {
            continue;
        }
        let mut reply = bytes.clone();
        let mut at = 0;
        for frame in frames {
            if frame[5] == Kind::PING.0 {
                reply[at + 5] = Kind::PONG.0;
            }
            at += frame.len();
        }
        all.extend_from_slice(&bytes);
        runs.push(Run {
            name: format!("vector `{name}`"),
            send: bytes,
            end: End::Eof,
            reply,
            error: None,
            splits: SPLITS.to_vec(),
            loose_message: false,
        });
    }
    runs.push(Run {
        name: "every vector back to back".into(),
        reply: runs.iter().flat_map(|r| r.reply.clone()).collect(),
        send: all,
        end: End::Eof,
        error: None,
        splits: SPLITS.to_vec(),
        loose_message: false,
    });
    for case in spec::cases(spec_text)? {
        let error = case.error.as_ref().map(|e| (error_frame(e, terse), e.at));
        let reply = if terse {
            terse_reply(&case.reply, case.error.as_ref())
        } else {
            case.reply.clone()
        };
        let whole_differs =
            matches!(case.error, Some(spec::Error { at: At::Byte(n), .. }) if n < case.send.len());
        runs.push(Run {
            name: format!("case `{}`", case.name),
            send: case.send.clone(),
            end: case.end,
            reply: reply.clone(),
            error: error.clone(),
            splits: SPLITS.to_vec(),
            loose_message: false,
        });
        if whole_differs {
            runs.push(Run {
                name: format!("case `{}`, all its bytes at once", case.name),
                send: case.send,
                end: case.end,
                reply,
                error: error.map(|(frame, _)| (frame, At::Byte(1))),
                splits: vec![Split::Whole],
                loose_message: true,
            });
        }
    }
    Ok(runs)
}

fn connect(addr: SocketAddr) -> Result<TcpStream, String> {
    let s = TcpStream::connect_timeout(&addr, REPLY).map_err(|e| format!("connect: {e}"))?;
    s.set_nodelay(true).map_err(|e| e.to_string())?;
    s.set_read_timeout(Some(REPLY)).map_err(|e| e.to_string())?;
    s.set_write_timeout(Some(REPLY))
        .map_err(|e| e.to_string())?;
    Ok(s)
}

fn write_split(s: &mut TcpStream, bytes: &[u8], split: Split) -> Result<(), String> {
    for chunk in split.chunks(bytes) {
        s.write_all(chunk).map_err(|e| format!("write: {e}"))?;
    }
    Ok(())
}

/// Everything until the peer ends the stream, appended to `got`; a reset is an error.
fn read_to_end(s: &mut TcpStream, got: &mut Vec<u8>) -> Result<(), String> {
    s.read_to_end(got).map(drop).map_err(|e| {
        let e = match e.kind() {
            ErrorKind::WouldBlock | ErrorKind::TimedOut => {
                format!("then nothing for {REPLY:?}, the stream still open")
            }
            _ => e.to_string(),
        };
        format!("after {} bytes ({}): {e}", got.len(), hex(got))
    })
}

/// Reads until nothing more arrives for [`QUIET`]; false if the peer closed meanwhile.
fn read_until_quiet(s: &mut TcpStream, got: &mut Vec<u8>) -> Result<bool, String> {
    s.set_read_timeout(Some(QUIET)).map_err(|e| e.to_string())?;
    let mut buf = [0u8; 4096];
    let open = loop {
        match s.read(&mut buf) {
            Ok(0) => break Ok(false),
            Ok(n) => got.extend_from_slice(&buf[..n]),
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                break Ok(true);
            }
            Err(e) => break Err(format!("after {} bytes: {e}", got.len())),
        }
    };
    s.set_read_timeout(Some(REPLY)).map_err(|e| e.to_string())?;
    open
}

/// Reads exactly `n` more bytes into `got`.
fn read_n(s: &mut TcpStream, got: &mut Vec<u8>, n: usize) -> Result<(), String> {
    let deadline = Instant::now() + REPLY;
    let want = got.len() + n;
    let mut buf = [0u8; 4096];
    while got.len() < want && Instant::now() < deadline {
        let room = (want - got.len()).min(buf.len());
        match s.read(&mut buf[..room]) {
            Ok(0) => return Err(format!("the peer closed after {} bytes", got.len())),
            Ok(k) => got.extend_from_slice(&buf[..k]),
            Err(e) => return Err(format!("after {} bytes: {e}", got.len())),
        }
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    let shown: Vec<String> = bytes.iter().take(96).map(|b| format!("{b:02x}")).collect();
    let more = if bytes.len() > 96 { " ..." } else { "" };
    format!("{}{more}", shown.join(" "))
}

/// Where two byte strings first differ, for the report.
fn diff(want: &[u8], got: &[u8]) -> String {
    let at = want.iter().zip(got).take_while(|(a, b)| a == b).count();
    format!(
        "{} bytes expected, {} received, first difference at byte {at}\n    expected {}\n    received {}",
        want.len(),
        got.len(),
        hex(&want[at.min(want.len())..]),
        hex(&got[at.min(got.len())..])
    )
}

/// What a peer may have sent before the byte that makes it report a fault: a beginning of
/// `reply` whose whole frames are all forwarded from `sent` (an ABORT it makes up belongs to
/// the fault, section 6.1).
fn early_answer(got: &[u8], reply: &[u8], sent: &[u8]) -> Option<String> {
    if !reply.starts_with(got) {
        return Some(format!(
            "not a beginning of the reply: {}",
            diff(reply, got)
        ));
    }
    let mut rest = got;
    while let Ok([frame, ..]) = frames(rest).as_deref() {
        if !sent.windows(frame.len()).any(|w| w == *frame) {
            return Some(format!("a frame of its own: {}", hex(frame)));
        }
        rest = &rest[frame.len()..];
    }
    None
}

/// Runs `run` under `split` against the peer at `addr`.
fn run_one(addr: SocketAddr, run: &Run, split: Split) -> Result<(), String> {
    let mut s = connect(addr)?;
    let mut got = Vec::new();
    let Some((error, at)) = &run.error else {
        write_split(&mut s, &run.send, split)?;
        match run.end {
            End::Eof => {
                s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
                read_to_end(&mut s, &mut got)?;
            }
            End::Open => {
                read_n(&mut s, &mut got, run.reply.len())?;
                if !read_until_quiet(&mut s, &mut got)? {
                    return Err(format!(
                        "closed while the client kept it open, after {}",
                        hex(&got)
                    ));
                }
                // Then a clean end after ours.
                s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?;
                read_to_end(&mut s, &mut got)?;
            }
        }
        if got != run.reply {
            return Err(format!("reply: {}", diff(&run.reply, &got)));
        }
        return Ok(());
    };
    // Up to the byte before the fault's: no ERROR frame.
    let before = match at {
        At::Byte(n) => n - 1,
        At::Eof => run.send.len(),
    };
    write_split(&mut s, &run.send[..before], split)?;
    if !run.loose_message {
        let open = read_until_quiet(&mut s, &mut got)?;
        let early = early_answer(&got, &run.reply, &run.send[..before])
            .or_else(|| (!open).then(|| "closed".to_string()));
        if let Some(early) = early {
            return Err(format!(
                "answered after {before} bytes, before the fault's byte: {early}"
            ));
        }
    }
    // The byte of the fault (or our FIN), then the rest of the reply, the ERROR frame, the end.
    match at {
        At::Byte(_) => {
            let rest = if run.loose_message {
                &run.send[before..]
            } else {
                &run.send[before..before + 1]
            };
            s.write_all(rest).map_err(|e| format!("write: {e}"))?;
        }
        At::Eof => s.shutdown(Shutdown::Write).map_err(|e| e.to_string())?,
    }
    read_to_end(&mut s, &mut got)?;
    let want = [&run.reply[..], error].concat();
    if run.loose_message {
        let ok = got.starts_with(&run.reply) && same_error_head(&got[run.reply.len()..], error);
        if !ok {
            return Err(format!(
                "reply and ERROR frame (message aside): {}",
                diff(&want, &got)
            ));
        }
    } else if got != want {
        return Err(format!("reply, ERROR frame, end: {}", diff(&want, &got)));
    }
    Ok(())
}

/// Whether `got` is one whole frame with the kind, id and metadata of the ERROR frame
/// `want`, whatever its message.
fn same_error_head(got: &[u8], want: &[u8]) -> bool {
    // What is compared (kind, id, metadata) as text, and the frame's length.
    let parse = |bytes: &[u8]| -> Option<(String, usize)> {
        let header_len = usize::from(u16::from_le_bytes([*bytes.get(3)?, *bytes.get(4)?]));
        let h = Header::parse(bytes.get(5..5 + header_len)?).ok()?;
        let meta: Vec<_> = h.meta.iter().collect();
        let len = 5 + header_len + usize::try_from(h.len).ok()?;
        Some((format!("{:?} {} {meta:?}", h.kind, h.id), len))
    };
    match (parse(got), parse(want)) {
        (Some(g), Some(w)) => g.0 == w.0 && g.1 == got.len(),
        _ => false,
    }
}

/// Runs every run under its splits against one peer; returns the count and the divergences.
fn run_all(peer: &str, addr: SocketAddr, runs: &[Run]) -> (usize, Vec<String>) {
    let mut count = 0;
    let mut failures = Vec::new();
    for run in runs {
        for &split in &run.splits {
            count += 1;
            if let Err(e) = run_one(addr, run, split) {
                failures.push(format!("{peer}: {} ({split:?}): {e}", run.name));
            }
        }
    }
    (count, failures)
}

/// Every run on the desktop server, the board, and the board built with terse error
/// messages (core feature `terse`: the same frames, codes and numbers, another message).
#[test]
fn every_spec_vector_and_case_on_every_peer() {
    let text = spec::text();
    let runs = runs(&text, false).unwrap_or_else(|e| panic!("reading the spec: {e}"));
    let terse_runs = self::runs(&text, true).unwrap_or_else(|e| panic!("reading the spec: {e}"));
    let board = Board::boot(&default_firmware().expect("firmware")).expect("board boots");
    let terse_elf = build_firmware(&["terse"]).expect("terse firmware");
    let terse_board = Board::boot(&terse_elf).expect("terse board boots");
    let desktop = Desktop::start(&[]).expect("desktop server starts");
    let peers = [
        ("desktop", desktop.addr(), &runs),
        ("board", board.addr(), &runs),
        ("board (terse)", terse_board.addr(), &terse_runs),
    ];
    let results: Vec<(usize, Vec<String>)> = std::thread::scope(|s| {
        let handles: Vec<_> = peers
            .iter()
            .map(|&(peer, addr, runs)| s.spawn(move || run_all(peer, addr, runs)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("runner"))
            .collect()
    });
    let count: usize = results.iter().map(|r| r.0).sum();
    let failures: Vec<&String> = results.iter().flat_map(|r| &r.1).collect();
    eprintln!(
        "{} streams from the spec, {count} runs on {} peers (splits: {SPLITS:?}), {} divergences",
        runs.len(),
        peers.len(),
        failures.len()
    );
    for f in &failures {
        eprintln!("- {f}");
    }
    assert!(
        failures.is_empty(),
        "{} of {count} runs diverge from the spec (listed above)",
        failures.len()
    );
}
