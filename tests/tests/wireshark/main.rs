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

mod check;
mod damaged;
mod pcap;
mod pdml;
mod peers;
mod shown;
mod traffic;
mod tshark;

use check::{check_direction, shown_in};
use peers::{desktop_on_unclaimed_port, free_unclaimed_port};
use shown::{Shown, core_fault, expected, same_fault};
use sockframe::{Header, Kind};
use sockframe_tests::board::{Board, default_firmware};
use sockframe_tests::frame;
use std::net::SocketAddr;
use traffic::{
    Shape, Via, converse, cuts, faults_after_a_frame, limits_then_a_large_header, varied_frames,
};

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
    // Each conversation is found in the capture by its two ports (see
    // `Conversation::carried`): they must name one connection only.
    let mut pairs = std::collections::HashSet::new();
    for c in &convs {
        if !pairs.insert((c.client_port, c.server_port)) {
            problems.push(format!(
                "{}: port {} to {} was used by an earlier conversation too",
                c.label, c.client_port, c.server_port
            ));
        }
    }
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
            .filter(|p| c.carried(p))
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
            .filter(|p| c.carried(p))
            .filter(|p| p.segments >= 2 && !p.sockframes.is_empty())
            .count();
        let ours = packets
            .iter()
            .filter(|p| p.src_port == c.client_port && p.dst_port == server);
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
