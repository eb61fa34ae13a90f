//! sockframe-smoltcp's `EchoService` driven in memory: two smoltcp interfaces back to back
//! (IP medium, no loss), a clock that moves 1 ms per step, one client connection that writes
//! the fuzz input in chunks and reads everything that comes back.
//!
//! Input layout:
//!
//! ```text
//! byte 0..4  write sizes, used in turn (one chunk per step): b < 128: 1 + b bytes,
//!            b >= 128: (b - 127) * 64 bytes (64..=8192)
//! byte 4..   the stream the client sends, then FIN
//! ```
//!
//! The service runs with the board's sizes: a pool of 1 socket (so the last check proves it
//! listens again), 4 KiB receive / 3 KiB send buffers, a 1 KiB decoder buffer (frames larger
//! than that are echoed cut-through), the adapter's default limits.
//!
//! Invariants checked (any failure is a panic, which libFuzzer reports as a crash):
//! - nothing panics, in the adapter, the core or smoltcp;
//! - the connection ends (the service closes its side) within a bounded number of steps;
//! - what the client receives starts with exactly the echo a reference `Decoder` (same
//!   buffer size and limits) takes out of the whole input: every event before the first
//!   error echoed, head re-encoded, PING answered with PONG;
//! - if the input is a valid sequence of frames, that is all, the reply decodes to the same
//!   frames as the input with PING turned into PONG and nothing else changed, and, when the
//!   input's headers are canonical (as sockframe's encoder writes them), the reply is
//!   byte-identical to the input with the kind byte of each PING replaced;
//! - if the input is bad, the echo is followed by exactly one ERROR frame (id 0, `code` of
//!   the reference decoder's error; its message text is not compared: how many bytes the
//!   decoder had seen when it failed depends on how they arrived) and nothing else; the
//!   echo before it is whole echoes of the input's frames, except for a frame being echoed
//!   cut-through when the error struck;
//! - afterwards a fresh connection on the same (single) socket gets a frame echoed.
#![no_main]

use libfuzzer_sys::fuzz_target;
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Address};
use sockframe::{
    DecodeError, Decoder, Event, Header, Kind, Limits, PREFIX_LEN, encode_frame, encode_head,
};
use sockframe_smoltcp::EchoService;

/// The decoder buffer of each connection, as on the board.
const N: usize = 1024;
const POOL: usize = 1;
const SERVER_RX: usize = 4096;
const SERVER_TX: usize = 3072;
const CLIENT_BUF: usize = 64 * 1024;
const SERVER_IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
const CLIENT_IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
const PORT: u16 = 7;

/// Two smoltcp devices wired back to back in memory: the adapter's own test harness file,
/// shared rather than copied.
#[allow(dead_code)]
#[path = "../../adapters/smoltcp/tests/common/link.rs"]
mod link;

fn socket(rx: usize, tx: usize) -> tcp::Socket<'static> {
    let mut s = tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; rx]),
        tcp::SocketBuffer::new(vec![0; tx]),
    );
    s.set_ack_delay(None);
    s.set_nagle_enabled(false);
    s
}

fn iface(dev: &mut link::End, ip: Ipv4Address, now: Instant) -> Interface {
    let mut iface = Interface::new(Config::new(HardwareAddress::Ip), dev, now);
    iface.update_ip_addrs(|addrs| addrs.push(IpCidr::new(ip.into(), 24)).unwrap());
    iface
}

/// The echo service on 10.0.0.1:7, clients on 10.0.0.2.
struct World {
    now: Instant,
    server_iface: Interface,
    server_dev: link::End,
    server_sockets: SocketSet<'static>,
    service: EchoService<POOL, N>,
    server_handles: [SocketHandle; POOL],
    client_iface: Interface,
    client_dev: link::End,
    client_sockets: SocketSet<'static>,
    next_port: u16,
}

impl World {
    fn new() -> Self {
        let now = Instant::from_millis(0);
        let (mut server_dev, mut client_dev) = link::pair();
        let mut server_sockets = SocketSet::new(vec![]);
        let server_handles =
            std::array::from_fn(|_| server_sockets.add(socket(SERVER_RX, SERVER_TX)));
        let mut service = EchoService::new(PORT, server_handles);
        service.poll(&mut server_sockets);
        World {
            now,
            server_iface: iface(&mut server_dev, SERVER_IP, now),
            server_dev,
            server_sockets,
            service,
            server_handles,
            client_iface: iface(&mut client_dev, CLIENT_IP, now),
            client_dev,
            client_sockets: SocketSet::new(vec![]),
            next_port: 40000,
        }
    }

    fn step(&mut self) {
        self.now += Duration::from_millis(1);
        let now = self.now;
        self.client_iface
            .poll(now, &mut self.client_dev, &mut self.client_sockets);
        self.server_iface
            .poll(now, &mut self.server_dev, &mut self.server_sockets);
        for _ in 0..16 {
            if !self.service.poll(&mut self.server_sockets) {
                break;
            }
            self.server_iface
                .poll(now, &mut self.server_dev, &mut self.server_sockets);
        }
        self.client_iface
            .poll(now, &mut self.client_dev, &mut self.client_sockets);
    }

    fn run_until(&mut self, what: &str, max_steps: u32, mut done: impl FnMut(&mut Self) -> bool) {
        for _ in 0..max_steps {
            if done(self) {
                return;
            }
            self.step();
        }
        let servers: Vec<_> = self
            .server_handles
            .iter()
            .map(|h| self.server_sockets.get::<tcp::Socket>(*h))
            .map(|s| (s.state(), s.recv_queue(), s.send_queue()))
            .collect();
        let conns: Vec<_> = self
            .service
            .connections()
            .map(|(_, c)| format!("{c:?}"))
            .collect();
        panic!(
            "timed out after {max_steps} steps waiting for {what}\n\
             server sockets (state, rx, tx): {servers:?}\nconnections: {conns:#?}"
        );
    }

    fn listening(&self) -> bool {
        self.server_handles
            .iter()
            .any(|h| self.server_sockets.get::<tcp::Socket>(*h).is_listening())
    }

    /// A client connection, once a server socket listens (smoltcp resets a SYN that finds
    /// none).
    fn connect(&mut self) -> SocketHandle {
        self.run_until("a listening server socket", 1_000, |w| w.listening());
        let mut s = socket(CLIENT_BUF, CLIENT_BUF);
        self.next_port += 1;
        let remote = (IpAddress::from(SERVER_IP), PORT);
        s.connect(self.client_iface.context(), remote, self.next_port)
            .expect("connect");
        self.client_sockets.add(s)
    }
}

/// Writes `out` in the chunk sizes given, reads everything, sends FIN when all is written.
struct Peer {
    handle: SocketHandle,
    out: Vec<u8>,
    written: usize,
    received: Vec<u8>,
    sizes: [usize; 4],
    turn: usize,
}

impl Peer {
    fn pump(&mut self, sockets: &mut SocketSet<'_>) {
        let socket = sockets.get_mut::<tcp::Socket>(self.handle);
        if socket.may_send() && self.written < self.out.len() {
            let rest = &self.out[self.written..];
            let len = self.sizes[self.turn % 4].min(rest.len());
            self.turn += 1;
            self.written += socket.send_slice(&rest[..len]).unwrap_or(0);
        }
        if self.written == self.out.len() {
            socket.close();
        }
        while socket.can_recv() {
            socket
                .recv(|bytes| {
                    self.received.extend_from_slice(bytes);
                    (bytes.len(), ())
                })
                .expect("recv");
        }
    }

    /// The server closed its side (FIN or reset) and everything before it was read.
    fn at_eof(&self, sockets: &SocketSet<'_>) -> bool {
        let socket = sockets.get::<tcp::Socket>(self.handle);
        matches!(
            socket.state(),
            State::CloseWait | State::LastAck | State::Closing | State::TimeWait | State::Closed
        ) && socket.recv_queue() == 0
    }
}

fn head(header: &Header<'_>, len: u64) -> Vec<u8> {
    let mut out = [0u8; PREFIX_LEN + 1024];
    let n = encode_head(header, len, &mut out).expect("a decoded header re-encodes");
    out[..n].to_vec()
}

/// What the echo service must send back for `input` (followed by FIN): the echo of every
/// event a decoder with the service's buffer and limits takes out of it, then the error
/// frame if it fails. Also returns the error, and the input's frames as the echo should
/// reproduce them (header with PING->PONG, payload).
struct Model {
    /// Everything the service echoes before its error frame (all of it for valid input).
    echo: Vec<u8>,
    error: Option<DecodeError>,
    /// Per frame of the input, in order: its echo's head re-encoded, and its payload.
    frames: Vec<(String, Vec<u8>)>,
    /// Whether every input header is canonical (re-encoding gives back the input's bytes).
    canonical: bool,
    /// Whether a frame was being streamed (Start seen, no End) when the error struck.
    open_at_error: bool,
}

fn model(input: &[u8]) -> Model {
    let limits = Limits {
        max_header: Limits::DEFAULT
            .max_header
            .min(sockframe::io::HEAD_SCRATCH - PREFIX_LEN),
        ..Limits::DEFAULT
    };
    let mut dec = Decoder::with_limits([0u8; N], limits);
    let mut m = Model {
        echo: Vec::new(),
        error: None,
        frames: Vec::new(),
        canonical: true,
        open_at_error: false,
    };
    let mut rest = input;
    // Where the current frame starts in `input`, to compare its head bytes.
    let mut frame_start = 0usize;
    let mut open: Option<(String, Vec<u8>)> = None;
    let err = loop {
        match dec.poll() {
            Err(e) => break e,
            Ok(true) => match dec.next_event() {
                Err(e) => break e,
                Ok(None) => unreachable!("poll() said an event is ready"),
                Ok(Some(event)) => match event {
                    Event::Frame(f) => {
                        let h = head(&f.header.echo_reply(), f.payload.len() as u64);
                        let raw = head(&f.header, f.payload.len() as u64);
                        if input.get(frame_start..frame_start + raw.len()) != Some(&raw[..]) {
                            m.canonical = false;
                        }
                        // The frame's true extent on the wire is its prefix-announced header
                        // length plus payload; re-derive it from the input's prefix.
                        let wire_header =
                            u16::from_le_bytes([input[frame_start + 3], input[frame_start + 4]])
                                as usize;
                        frame_start += PREFIX_LEN + wire_header + f.payload.len();
                        m.echo.extend_from_slice(&h);
                        m.echo.extend_from_slice(f.payload);
                        m.frames
                            .push((format!("{:?}", f.header.echo_reply()), f.payload.to_vec()));
                    }
                    Event::Start(header) => {
                        let h = head(&header.echo_reply(), header.len);
                        let raw = head(&header, header.len);
                        if input.get(frame_start..frame_start + raw.len()) != Some(&raw[..]) {
                            m.canonical = false;
                        }
                        let wire_header =
                            u16::from_le_bytes([input[frame_start + 3], input[frame_start + 4]])
                                as usize;
                        frame_start += PREFIX_LEN + wire_header + header.len as usize;
                        m.echo.extend_from_slice(&h);
                        open = Some((format!("{:?}", header.echo_reply()), Vec::new()));
                    }
                    Event::Chunk(bytes) => {
                        m.echo.extend_from_slice(bytes);
                        open.as_mut()
                            .expect("chunk after start")
                            .1
                            .extend_from_slice(bytes);
                    }
                    Event::End => m.frames.push(open.take().expect("end after start")),
                },
            },
            Ok(false) if rest.is_empty() => match dec.finish() {
                Ok(()) => return m,
                Err(e) => break e,
            },
            Ok(false) => {
                let n = dec.feed(rest);
                rest = &rest[n..];
            }
        }
    };
    m.error = Some(err);
    m.open_at_error = open.is_some();
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

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let sizes = std::array::from_fn(|i| match data[i] {
        b @ 0..128 => 1 + b as usize,
        b => (b as usize - 127) * 64,
    });
    let input = &data[4..];
    let expected = model(input);

    let mut world = World::new();
    let handle = world.connect();
    let mut peer = Peer {
        handle,
        out: input.to_vec(),
        written: 0,
        received: Vec::new(),
        sizes,
        turn: 0,
    };
    // Each step moves at least a segment while data flows; the bound only catches a hang.
    let max_steps = 5_000 + 4 * input.len() as u32;
    world.run_until("the service to close the connection", max_steps, |w| {
        peer.pump(&mut w.client_sockets);
        peer.at_eof(&w.client_sockets)
    });
    // Let our FIN go out and the close finish, so the socket is free for the next client.
    // (After an early error the rest of the input is still written, one chunk per step,
    // and discarded by the service.)
    world.run_until("the first connection to finish closing", max_steps, |w| {
        peer.pump(&mut w.client_sockets);
        w.listening()
    });

    // 1. The echoes, byte-exact against the reference decoder.
    let echoed = expected.echo.len().min(peer.received.len());
    if peer.received[..echoed] != expected.echo[..echoed] || echoed < expected.echo.len() {
        let at = peer
            .received
            .iter()
            .zip(&expected.echo)
            .position(|(a, b)| a != b)
            .unwrap_or(echoed);
        panic!(
            "echo differs from the model at byte {at} (got {} bytes, expected {} before any \
             error frame; error {:?})\ngot      {:02x?}\nexpected {:02x?}",
            peer.received.len(),
            expected.echo.len(),
            expected.error,
            &peer.received[at.saturating_sub(16)..peer.received.len().min(at + 48)],
            &expected.echo[at.saturating_sub(16)..expected.echo.len().min(at + 48)],
        );
    }
    let after = &peer.received[expected.echo.len()..];

    // 2. Frame by frame.
    match &expected.error {
        None => {
            assert!(
                after.is_empty(),
                "valid input: {} bytes after the echo",
                after.len()
            );
            let (got, clean) = decode_all(&peer.received);
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
                    peer.received == want,
                    "canonical valid input: the echo is not the input with PING->PONG"
                );
            }
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

    // 3. The (only) socket serves a fresh connection.
    let probe_payload = b"still serving";
    let mut probe = vec![0u8; 64];
    let n = encode_frame(&Header::data(42, probe_payload), probe_payload, &mut probe).unwrap();
    probe.truncate(n);
    let handle = world.connect();
    let mut fresh = Peer {
        handle,
        out: probe.clone(),
        written: 0,
        received: Vec::new(),
        sizes: [64; 4],
        turn: 0,
    };
    world.run_until("the fresh connection's echo and close", 2_000, |w| {
        fresh.pump(&mut w.client_sockets);
        fresh.at_eof(&w.client_sockets)
    });
    assert_eq!(
        fresh.received, probe,
        "a fresh connection after the fuzz input"
    );
});
