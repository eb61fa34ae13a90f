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
use sockframe::{Header, Limits, PREFIX_LEN, encode_frame};
use sockframe_fuzz::echo_model::{check_echo, model};
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

/// The adapter's default limits, with the header limit the board's scratch allows.
fn limits() -> Limits {
    Limits {
        max_header: Limits::DEFAULT
            .max_header
            .min(sockframe::io::HEAD_SCRATCH - PREFIX_LEN),
        ..Limits::DEFAULT
    }
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
    let expected = model(input, N, limits());

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
    // What the service sends can be far more than the input: a cut frame with a trailer is
    // completed with filler up to its announced `len` (64 MiB at the default limit), which
    // goes out about a send buffer (3 KiB) per step; allow a step per KiB of it.
    let owed = expected.echo.len() / 1024;
    let max_steps = 5_000 + 4 * input.len() as u32 + u32::try_from(owed).unwrap_or(u32::MAX);
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

    check_echo(input, &peer.received, &expected);

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
