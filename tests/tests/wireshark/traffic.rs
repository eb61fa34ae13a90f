//! The traffic the live test sends: which frames, cut how, to whom, and what came back.

use crate::peers::Client;
use sockframe::{Header, Kind, Limits, PREFIX_LEN};
use sockframe_tests::{frame, pattern};
use std::collections::HashSet;
use std::net::SocketAddr;

/// How the dissector finds a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// Its server port is the `sockframe.tcp_port` preference.
    Port,
    /// Only the heuristic (magic and version) can find it.
    Heuristic,
}

/// What the segments of a conversation must show besides the frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// Nothing in particular.
    Any,
    /// Some packet carries two frames or more.
    Merged,
    /// Some frame was reassembled from two segments or more.
    Split,
}

/// One TCP connection of the test and what went over it.
pub struct Conversation {
    pub label: String,
    pub via: Via,
    pub shape: Shape,
    pub server_port: u16,
    pub client_port: u16,
    pub sent: Vec<u8>,
    pub received: Vec<u8>,
    /// The spec's verdict on `sent`, for its conformance cases (the error code).
    pub spec_fault: Option<Option<String>>,
    /// The receiver's limits for `sent`, and for `received`.
    pub limits: Limits,
    pub reply_limits: Limits,
}

impl Conversation {
    /// Whether `packet` belongs to this connection, by both its ports: Linux picks a
    /// client's port per destination, so connections to two servers (the registered port's
    /// and the board's, say) can have the same client port, in turn or even at once.
    pub fn carried(&self, packet: &crate::pdml::Packet) -> bool {
        let (client, server) = (self.client_port, self.server_port);
        (packet.src_port, packet.dst_port) == (client, server)
            || (packet.src_port, packet.dst_port) == (server, client)
    }
}

/// The payload of the last of the [`varied_frames`], the one larger than a TCP segment.
pub const LARGE_PAYLOAD: usize = 100_000;

/// Frames covering every field and value range, built with the core's encoder; the last
/// one's payload is [`LARGE_PAYLOAD`] bytes.
pub fn varied_frames() -> Vec<u8> {
    [small_frames(), large_frame()].concat()
}

/// The last of the [`varied_frames`].
fn large_frame() -> Vec<u8> {
    let large = pattern(LARGE_PAYLOAD, 3);
    frame(&Header::data(u32::MAX, &large).with_crc_of(&large), &large)
}

/// The [`varied_frames`] but the last.
pub fn small_frames() -> Vec<u8> {
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
    ];
    frames.iter().flat_map(|(h, p)| frame(h, p)).collect()
}

/// Cut points: one segment per few bytes through the small frames (inside prefixes, inside
/// headers, one frame's end with the next one's start), then the large payload in three.
pub fn cuts(stream: &[u8]) -> Vec<usize> {
    let large_payload_at = stream.len() - LARGE_PAYLOAD;
    let mut cuts: Vec<usize> = (1..large_payload_at).step_by(7).collect();
    cuts.extend([large_payload_at + 1000, large_payload_at + 70_000]);
    cuts
}

/// Bad input after a good frame, each on its own connection (every fault is fatal), so
/// that the heuristic has claimed the conversation before the fault (the spec's cases cover
/// faults from the first byte): what they are, and the bytes.
pub fn faults_after_a_frame() -> Vec<(&'static str, Vec<u8>)> {
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
pub fn converse(
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
pub fn announced_limits(frame: &[u8]) -> Limits {
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
pub fn limits_then_a_large_header(
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
