//! The Wireshark dissector (`adapters/wireshark/sockframe.lua`) against live traffic.
//!
//! One capture on loopback (tshark, as root) records conversations with the desktop
//! `sockframe serve` echo on the dissector's registered port, with a second one on a port
//! the dissector only finds by its heuristic, and with the board in QEMU (heuristic too).
//! The capture is then dissected by tshark with the script, and every frame each side sent
//! must be shown with every field as the Rust core decodes the same bytes: prefix, kind
//! (and its name), id, len, flags, name, crc, metadata, error code, unknown header bytes,
//! payload. Frames are sent whole, several to a segment, and cut into one segment per
//! piece; bad input must show the expert info a receiver's error code corresponds to.
//!
//! The traffic: the spec's vectors (all of them in one write), its conformance cases (each
//! on its own connection: faults, trailers, echo rules), frames covering every field sent
//! whole and cut into one TCP segment per few bytes, and faults after a good frame (so the
//! heuristic has claimed the conversation). The peers' replies (echoes, ERROR frames,
//! ABORT trailers) are checked the same way. The capture is dissected three times: as is,
//! without the heuristic (only the registered port may show frames), and in two passes
//! (as Wireshark's GUI revisits packets: it must show the same).
//!
//! A second test writes 600 damaged streams (the spec's vectors and cases with bytes
//! flipped, inserted or cut off, or random bytes appended, in random segments) straight
//! into a pcap file: the dissector must show each as the test's model of the spec does,
//! without a Lua error, the same on a second pass.
//!
//! Needs tshark with Lua and `qemu-system-arm` (`cargo xtask setup` installs both), and
//! root to capture. `SOCKFRAME_KEEP_CAPTURE=1` keeps the capture file for a look.

mod pcap;
mod pdml;
mod peers;
mod shown;
mod tshark;

use peers::{Client, desktop_on_unclaimed_port, free_unclaimed_port};
use shown::{Shown, core_fault, expected, from_pdml, matches, same_fault};
use sockframe::{Header, Kind, Limits, PREFIX_LEN};
use sockframe_tests::board::{Board, default_firmware};
use sockframe_tests::{frame, pattern};
use std::collections::HashSet;
use std::net::SocketAddr;

/// How the dissector finds a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Via {
    /// Its server port is the `sockframe.tcp_port` preference.
    Port,
    /// Only the heuristic (magic and version) can find it.
    Heuristic,
}

/// What the segments of a conversation must show besides the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// Nothing in particular.
    Any,
    /// Some packet carries two frames or more.
    Merged,
    /// Some frame was reassembled from two segments or more.
    Split,
}

/// One TCP connection of the test and what went over it.
struct Conversation {
    label: String,
    via: Via,
    shape: Shape,
    server_port: u16,
    client_port: u16,
    sent: Vec<u8>,
    received: Vec<u8>,
    /// The spec's verdict on `sent`, for its conformance cases (the error code).
    spec_fault: Option<Option<String>>,
    /// The receiver's limits for `sent`, and for `received`.
    limits: Limits,
    reply_limits: Limits,
}

/// Frames covering every field and value range, built with the core's encoder.
fn varied_frames() -> Vec<u8> {
    let big = pattern(100_000, 3);
    let meta = [
        ("size", "3"),
        ("type", "text"),
        ("empty", ""),
        ("ключ", "値"),
    ];
    let app = [("k", "v")];
    let cancelled = [("code", "cancelled")];
    let with_trailer = |mut h: Header<'static>| {
        h.flags.0 |= 0x02; // TRAILER: an END or ABORT follows the payload
        h
    };
    let frames: Vec<(Header<'_>, &[u8])> = vec![
        (Header::data(1, b"hi"), b"hi"),
        (Header::new(Kind::PING, 7, 1), b"p"),
        (Header::new(Kind::PONG, 8, 0), b""),
        (
            Header::data(70_000, b"xyz")
                .with_name("café ✓")
                .with_crc_of(b"xyz")
                .with_meta(&meta),
            b"xyz",
        ),
        (Header::data(2, b"").with_name(""), b""),
        (
            Header::new(Kind(64), 5, 4)
                .with_name("log")
                .with_crc_of(b"data")
                .with_more()
                .with_meta(&app),
            b"data",
        ),
        (Header::new(Kind(9), 9, 6).with_more(), b"hello "),
        (Header::new(Kind(9), 9, 5), b"world"),
        (Header::new(Kind(255), 10, 1), b"!"),
        (with_trailer(Header::data(11, b"abc")), b"abc"),
        (Header::new(Kind(4), 11, 0), b""),
        // Two bytes and a byte of filler, then aborted.
        (with_trailer(Header::data(12, b"ab\0")), b"ab\0"),
        (
            Header::new(Kind(5), 12, 23).with_meta(&cancelled),
            b"cancelled by the sender",
        ),
        (Header::data(u32::MAX, &big).with_crc_of(&big), &big),
    ];
    frames.iter().flat_map(|(h, p)| frame(h, p)).collect()
}

/// Cut points: one segment per few bytes through the small frames (inside prefixes, inside
/// headers, one frame's end with the next one's start), then the large payload in three.
fn cuts(stream: &[u8]) -> Vec<usize> {
    let small_end = stream.len() - 100_000;
    let mut cuts: Vec<usize> = (1..small_end).step_by(7).collect();
    cuts.extend([small_end + 1000, small_end + 70_000]);
    cuts
}

/// Bad input after a good frame, each on its own connection (every fault is fatal), so
/// that the heuristic has claimed the conversation before the fault (the spec's cases cover
/// faults from the first byte): what they are, and the bytes.
fn faults_after_a_frame() -> Vec<(&'static str, Vec<u8>)> {
    let good = frame(&Header::data(1, b"ok"), b"ok");
    let bad_utf8_name = [
        0xF5, 0x46, 1, 0x0A, 0, 0, 2, 2, 0, 1, 2, 0xFF, 0xFE, 0, 0, b'h', b'i',
    ];
    vec![
        ("a telnet line", [&good[..], b"hello\r\n"].concat()),
        (
            "a name of invalid UTF-8",
            [&good[..], &bad_utf8_name[..]].concat(),
        ),
        (
            "a future version",
            [&good[..], &[0xF5, 0x46, 0x02, 7, 0][..]].concat(),
        ),
    ]
}

/// Runs one conversation: sends `bytes` cut at `cuts`, and collects the replies.
fn converse(
    label: impl Into<String>,
    addr: SocketAddr,
    via: Via,
    shape: Shape,
    bytes: Vec<u8>,
    cuts: &[usize],
    claimed: &HashSet<u16>,
) -> Conversation {
    let label = label.into();
    let attempt = || -> Result<(u16, Vec<u8>), String> {
        let mut c = Client::connect(addr, claimed)?;
        let port = c.port();
        c.send_cut(&bytes, cuts)?;
        let received = c.finish()?;
        match received.is_empty() {
            true => Err("the peer sent nothing back".into()),
            false => Ok((port, received)),
        }
    };
    // The board resets a newcomer while all four of its sockets are still closing: that
    // attempt's traffic stays in the capture under its own port, and is not looked at.
    let mut tries = 0;
    let (client_port, received) = loop {
        tries += 1;
        match attempt() {
            Ok(done) => break done,
            Err(e) if tries == 5 => panic!("{label}: {e} ({tries} tries)"),
            Err(_) => std::thread::sleep(std::time::Duration::from_millis(200)),
        }
    };
    Conversation {
        label,
        via,
        shape,
        server_port: addr.port(),
        client_port,
        sent: bytes,
        received,
        spec_fault: None,
        limits: Limits::default(),
        reply_limits: Limits::default(),
    }
}

/// The limits a limits reply (a PONG with `max-header`..., spec 7.2) announces, or the
/// defaults for what it does not say.
fn announced_limits(frame: &[u8]) -> Limits {
    let header = Header::parse(&frame[PREFIX_LEN..]).expect("a well-formed frame");
    let announced = |key: &str| header.meta(key).and_then(|v| v.parse::<u64>().ok());
    let mut limits = Limits::default();
    if let Some(v) = announced("max-header") {
        limits.max_header = v as usize;
    }
    if let Some(v) = announced("max-payload") {
        limits.max_payload = v;
    }
    limits
}

/// Sends `first` and waits for the frame it gets back, then sends a frame whose header is
/// 40 bytes, and reads the rest. A limits reply seen one way sets the limits for the frames
/// going the other way in later packets: the dissector must judge the 40-byte header by
/// them. (`addr` is a port only the heuristic finds.)
fn limits_then_a_large_header(
    label: String,
    addr: SocketAddr,
    first: Vec<u8>,
    claimed: &HashSet<u16>,
) -> Conversation {
    let name = "n".repeat(32);
    let large = frame(&Header::data(2, b"x").with_name(&name), b"x");
    assert_eq!(large[3], 40, "the large frame's header_len");
    let mut c = Client::connect(addr, claimed).unwrap_or_else(|e| panic!("{label}: {e}"));
    let client_port = c.port();
    c.send_cut(&first, &[])
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let answer = c.read_frame().unwrap_or_else(|e| panic!("{label}: {e}"));
    c.send_cut(&large, &[])
        .unwrap_or_else(|e| panic!("{label}: {e}"));
    let rest = c.finish().unwrap_or_else(|e| panic!("{label}: {e}"));
    Conversation {
        label,
        via: Via::Heuristic,
        shape: Shape::Any,
        server_port: addr.port(),
        client_port,
        limits: announced_limits(&answer),
        reply_limits: announced_limits(&first),
        sent: [first, large].concat(),
        received: [answer, rest].concat(),
        spec_fault: None,
    }
}

/// The frames the dissector showed in one direction of a conversation, in stream order
/// (segments after the stream was lost are left out, once that is checked).
fn shown_in(packets: &[pdml::Packet], from: u16, to: u16) -> Vec<Shown> {
    let mut lost = false;
    let mut out = Vec::new();
    for shown in packets
        .iter()
        .filter(|p| p.src_port == from && p.dst_port == to)
        .flat_map(|p| p.sockframes.iter().map(|f| from_pdml(f)))
    {
        match shown {
            Shown::NotFollowed if lost => continue,
            Shown::Lost { .. } => lost = true,
            _ => {}
        }
        out.push(shown);
    }
    out
}

/// Checks one direction; returns the problems found.
fn check_direction(label: &str, seen: &[Shown], want: &[Shown]) -> Vec<String> {
    let mut problems = Vec::new();
    if seen.len() != want.len() {
        problems.push(format!(
            "{label}: {} items shown, {} expected\n  shown: {seen:#?}\n  expected: {want:#?}",
            seen.len(),
            want.len()
        ));
        return problems;
    }
    for (i, (s, w)) in seen.iter().zip(want).enumerate() {
        if !matches(s, w) {
            problems.push(format!(
                "{label}, item {i}:\n  shown:    {s:?}\n  expected: {w:?}"
            ));
        }
    }
    problems
}

#[test]
fn dissector_shows_every_field_of_every_frame_sent() {
    let version = tshark::version().expect("tshark");
    eprintln!("{version}");
    let claimed = tshark::claimed_tcp_ports();
    let elf = default_firmware().expect("firmware");

    let registered = desktop_on_unclaimed_port(&claimed, &[]).expect("desktop server");
    let unregistered = desktop_on_unclaimed_port(&claimed, &[]).expect("desktop server");
    let limited =
        desktop_on_unclaimed_port(&claimed, &["--max-header", "32", "--max-frame", "1000"])
            .expect("desktop server with small limits");
    let board = Board::boot_on(&elf, free_unclaimed_port(&claimed)).expect("board boots");
    let (reg, heur, brd) = (registered.addr(), unregistered.addr(), board.addr());
    let small = limited.addr();

    let capture = tshark::Capture::start(&[reg.port(), heur.port(), brd.port(), small.port()])
        .expect("capture starts");

    let spec = sockframe_tests::spec::text();
    let vectors: Vec<u8> = sockframe_tests::spec::vector_names(&spec)
        .iter()
        .flat_map(|name| sockframe_tests::spec::vector(&spec, name).expect("vector"))
        .collect();
    let cases = sockframe_tests::spec::cases(&spec).expect("the spec's conformance cases");
    assert!(cases.len() >= 10, "{} conformance cases", cases.len());
    let varied = varied_frames();
    let mut convs = Vec::new();
    let peers = [
        ("desktop, registered port", reg, Via::Port),
        ("desktop, heuristic", heur, Via::Heuristic),
        ("board, heuristic", brd, Via::Heuristic),
    ];
    let via_of = |addr: SocketAddr| {
        if addr == reg {
            Via::Port
        } else {
            Via::Heuristic
        }
    };
    for (at, addr, via) in peers {
        convs.push(converse(
            format!("{at}: the spec's vectors in one write"),
            addr,
            via,
            Shape::Merged,
            vectors.clone(),
            &[],
            &claimed,
        ));
        convs.push(converse(
            format!("{at}: varied frames in one write"),
            addr,
            via,
            Shape::Merged,
            varied.clone(),
            &[],
            &claimed,
        ));
        convs.push(converse(
            format!("{at}: varied frames, one segment per piece"),
            addr,
            via,
            Shape::Split,
            varied.clone(),
            &cuts(&varied),
            &claimed,
        ));
    }
    // The spec's conformance cases, each on its own connection: to the desktop server, and
    // those the heuristic can see (they start with a prefix) to the board, but not the
    // board's error cases: after an error it drains for up to 10 s, holding one of its four
    // sockets, and newcomers would be reset.
    for case in &cases {
        for (at, addr, via) in peers {
            let board = addr == brd;
            if (via == Via::Heuristic && !case.send.starts_with(&[0xF5, 0x46, 0x01]))
                || (board && case.error.is_some())
            {
                continue;
            }
            let mut conv = converse(
                format!("{at}: case `{}`", case.name),
                addr,
                via,
                Shape::Any,
                case.send.clone(),
                &[],
                &claimed,
            );
            conv.spec_fault = Some(case.error.as_ref().map(|e| e.code.clone()));
            convs.push(conv);
        }
    }
    for (i, (what, bytes)) in faults_after_a_frame().into_iter().enumerate() {
        for (at, addr, _) in peers {
            // The board once (see above).
            if addr == brd && i > 0 {
                continue;
            }
            convs.push(converse(
                format!("{at}: a frame, then {what}"),
                addr,
                via_of(addr),
                Shape::Any,
                bytes.clone(),
                &[],
                &claimed,
            ));
        }
    }

    // A server with a 32-byte header limit asked for its limits (spec 7.2; while the server
    // does not announce them, its PONG has no `max-header` and the defaults stay in force,
    // for the dissector and the test alike).
    convs.push(limits_then_a_large_header(
        format!("desktop with small limits {small}: limits request, then a large header"),
        small,
        sockframe_tests::spec::vector(&spec, "limits-request").expect("vector"),
        &claimed,
    ));
    // The client announces a 25-byte header limit itself, and the echo sends it back: each
    // direction then has a limit from the other.
    // (Its own header, 21 bytes, is within it: the test's model applies a conversation's
    // limits to all its frames.)
    let limits = [("max-header", "25")];
    convs.push(limits_then_a_large_header(
        format!("desktop, heuristic {heur}: a limits reply both ways, then a large header"),
        heur,
        frame(&Header::new(Kind::PONG, 8, 0).with_meta(&limits), b""),
        &claimed,
    ));

    let capture = capture.stop().expect("capture stops");
    let port_pref = format!("sockframe.tcp_port:{}", reg.port());
    let packets = pdml::parse(&capture.dissect(&["-o", &port_pref]).expect("dissection"));
    // Without the heuristic, only the registered port is sockframe: what the other
    // conversations showed came from the heuristic.
    let port_only = pdml::parse(
        &capture
            .dissect(&["-o", &port_pref, "--disable-heuristic", "sockframe_tcp"])
            .expect("dissection without the heuristic"),
    );
    // Wireshark's GUI dissects packets again, in any order: a second pass must show the
    // same (the trailer and fault bookkeeping is kept per packet).
    let two_pass = pdml::parse(
        &capture
            .dissect(&["-o", &port_pref, "-2"])
            .expect("two-pass dissection"),
    );
    drop(board);

    let mut problems = Vec::new();
    let (mut frames, mut faults, mut reassembled) = (0, 0, 0);
    for c in &convs {
        let server = c.server_port;
        let sent = shown_in(&packets, c.client_port, server);
        let replies = shown_in(&packets, server, c.client_port);
        let (want_sent, fault) = expected(&c.sent, c.limits);
        let (want_replies, _) = expected(&c.received, c.reply_limits);
        // The test's model of the spec must agree with the spec's own verdict on its cases,
        // and with the Rust core's on everything else (the core follows the spec's
        // trailers only once it implements them).
        let reference = match &c.spec_fault {
            Some(code) => code.clone(),
            None => core_fault(&c.sent, c.limits).map(str::to_string),
        };
        let core_predates_trailers =
            c.spec_fault.is_none() && fault.as_deref() == Some("bad-trailer");
        if !same_fault(fault.as_deref(), reference.as_deref()) && !core_predates_trailers {
            problems.push(format!(
                "{}: the test's model finds {fault:?}, the reference {reference:?}",
                c.label
            ));
        }
        for item in want_sent.iter().chain(&want_replies) {
            match item {
                Shown::Frame(_) => frames += 1,
                Shown::Lost { .. } => faults += 1,
                Shown::NotFollowed => {}
            }
        }
        problems.extend(check_direction(
            &format!("{} (sent)", c.label),
            &sent,
            &want_sent,
        ));
        problems.extend(check_direction(
            &format!("{} (replies)", c.label),
            &replies,
            &want_replies,
        ));
        let without_heuristic = port_only
            .iter()
            .filter(|p| p.src_port == c.client_port || p.dst_port == c.client_port)
            .map(|p| p.sockframes.len())
            .sum::<usize>();
        match c.via {
            Via::Port if without_heuristic != want_sent.len() + want_replies.len() => problems
                .push(format!(
                    "{}: {without_heuristic} items without the heuristic, expected all",
                    c.label
                )),
            Via::Heuristic if without_heuristic != 0 => problems.push(format!(
                "{}: {without_heuristic} items shown without the heuristic",
                c.label
            )),
            _ => {}
        }
        reassembled += packets
            .iter()
            .filter(|p| p.src_port == c.client_port || p.dst_port == c.client_port)
            .filter(|p| p.segments >= 2 && !p.sockframes.is_empty())
            .count();
        let ours = packets.iter().filter(|p| p.src_port == c.client_port);
        match c.shape {
            Shape::Merged if !ours.clone().any(|p| p.sockframes.len() >= 2) => {
                problems.push(format!("{}: no segment carried two frames", c.label))
            }
            Shape::Split
                if !ours
                    .clone()
                    .any(|p| p.segments >= 2 && !p.sockframes.is_empty()) =>
            {
                problems.push(format!("{}: no frame was reassembled", c.label))
            }
            _ => {}
        }
    }
    if let Some((one, two)) = packets.iter().zip(&two_pass).find(|(a, b)| a != b) {
        problems.push(format!(
            "packet {} differs on a second pass:\n  first: {:?}\n  second: {:?}",
            one.number, one.sockframes, two.sockframes
        ));
    }
    assert!(problems.is_empty(), "{}", problems.join("\n\n"));
    eprintln!(
        "{} conversations: {frames} frames shown with every field as sent, {faults} faults \
         with their expert info; {reassembled} packets held frames reassembled from several \
         segments",
        convs.len(),
    );
}

/// Byte streams no peer sends, written straight into a pcap file: the spec's vectors and
/// cases and the varied frames, damaged (bytes flipped, inserted, cut off) or followed by
/// random bytes, each cut into random TCP segments. The dissector must never fail (a Lua
/// error), and must show each stream as the test's model of the spec does.
#[test]
fn dissector_follows_damaged_streams_as_the_spec_says() {
    tshark::version().expect("tshark");
    let spec = sockframe_tests::spec::text();
    let mut bases: Vec<Vec<u8>> = sockframe_tests::spec::vector_names(&spec)
        .iter()
        .map(|name| sockframe_tests::spec::vector(&spec, name).expect("vector"))
        .collect();
    bases.extend(
        sockframe_tests::spec::cases(&spec)
            .expect("cases")
            .into_iter()
            .map(|c| c.send),
    );
    let varied = varied_frames();
    bases.push(varied[..varied.len() - 100_000 - 100].to_vec());
    // Another seed explores other damage: SOCKFRAME_DAMAGE_SEED=N.
    let seed = std::env::var("SOCKFRAME_DAMAGE_SEED").map_or(77, |s| s.parse().expect("a number"));
    let mut rng = pattern(1 << 16, seed).into_iter().cycle();
    let mut next = |n: usize| -> usize {
        let v = usize::from(rng.next().unwrap()) << 8 | usize::from(rng.next().unwrap());
        v % n.max(1)
    };
    let mut pcap = pcap::Pcap::new();
    let mut streams = Vec::new();
    for i in 0..600u16 {
        let mut s = bases[next(bases.len())].clone();
        match next(4) {
            0 => {
                for _ in 0..1 + next(3) {
                    let at = next(s.len());
                    s[at] ^= 1 << next(8);
                }
            }
            1 => s.truncate(next(s.len()) + 1),
            2 => s.insert(next(s.len()), next(256) as u8),
            _ => s.extend((0..next(40)).map(|_| next(256) as u8)),
        }
        let mut cuts: Vec<usize> = (0..next(6)).map(|_| next(s.len())).collect();
        cuts.sort();
        cuts.dedup();
        let pieces: Vec<&[u8]> = [0]
            .iter()
            .chain(&cuts)
            .zip(cuts.iter().chain([&s.len()]))
            .filter(|(a, b)| a < b)
            .map(|(&a, &b)| &s[a..b])
            .collect();
        let port = 20_000 + i;
        pcap.conversation(port, 8080, &pieces);
        streams.push((port, s));
    }
    let file = tshark::CaptureFile::written(&pcap.into_bytes()).expect("pcap written");
    let packets = pdml::parse(&file.dissect(&[]).expect("dissection without a Lua error"));
    let two_pass = pdml::parse(
        &file
            .dissect(&["-2"])
            .expect("two passes without a Lua error"),
    );
    let mut problems = Vec::new();
    for (port, s) in &streams {
        let (want, _) = expected(s, Limits::default());
        let seen = shown_in(&packets, *port, 8080);
        problems.extend(check_direction(&format!("stream {}", hex(s)), &seen, &want));
    }
    if let Some((one, _)) = packets.iter().zip(&two_pass).find(|(a, b)| a != b) {
        problems.push(format!("packet {} differs on a second pass", one.number));
    }
    assert!(
        problems.is_empty(),
        "{} of {} streams:\n{}",
        problems.len(),
        streams.len(),
        problems.join("\n\n")
    );
}

fn hex(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ")
}
