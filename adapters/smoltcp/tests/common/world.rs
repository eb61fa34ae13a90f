//! The simulated network: the echo service on 10.0.0.1, clients on 10.0.0.2.

use super::link::{self, End};
use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use smoltcp::time::{Duration, Instant};
use smoltcp::wire::{HardwareAddress, IpAddress, IpCidr, Ipv4Address};
use sockframe_smoltcp::EchoService;

pub const SERVER_IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 1);
pub const CLIENT_IP: Ipv4Address = Ipv4Address::new(10, 0, 0, 2);
pub const PORT: u16 = 7;
/// Client socket buffers: large, so the server is the bottleneck.
pub const CLIENT_BUF: usize = 64 * 1024;

/// Sizes of the server side.
#[derive(Clone, Copy)]
pub struct ServerConfig {
    pub rx: usize,
    pub tx: usize,
    /// smoltcp's default delayed ACK (10 ms) and Nagle, as on the board; off makes tests
    /// with much data faster.
    pub tcp_defaults: bool,
    /// smoltcp's inactivity timeout on the server sockets (the firmware sets 10 s).
    pub timeout: Option<Duration>,
}

impl ServerConfig {
    /// Like the firmware: 4 KiB socket buffers.
    pub const BOARD: ServerConfig = ServerConfig {
        rx: 4096,
        tx: 4096,
        tcp_defaults: false,
        timeout: None,
    };
}

/// What runs on the server sockets: the echo service, or a test's own.
pub trait Service {
    /// Serves the sockets once; true if anything moved.
    fn poll(&mut self, sockets: &mut SocketSet<'static>) -> bool;
    /// The per-connection state, for timeout messages.
    fn describe(&self) -> Vec<String>;
}

impl<H: sockframe_smoltcp::Handler, const POOL: usize, const N: usize> Service
    for sockframe_smoltcp::Service<H, POOL, N>
{
    fn poll(&mut self, sockets: &mut SocketSet<'static>) -> bool {
        sockframe_smoltcp::Service::poll(self, sockets)
    }

    fn describe(&self) -> Vec<String> {
        self.connections().map(|(_, c)| format!("{c:?}")).collect()
    }
}

pub struct World<const POOL: usize, const N: usize, S = EchoService<POOL, N>> {
    pub now: Instant,
    pub steps: u64,
    server_iface: Interface,
    server_dev: End,
    pub server_sockets: SocketSet<'static>,
    pub service: S,
    pub server_handles: [SocketHandle; POOL],
    client_iface: Interface,
    client_dev: End,
    pub client_sockets: SocketSet<'static>,
    next_port: u16,
}

fn iface(dev: &mut End, ip: Ipv4Address, now: Instant) -> Interface {
    let mut iface = Interface::new(Config::new(HardwareAddress::Ip), dev, now);
    iface.update_ip_addrs(|addrs| addrs.push(IpCidr::new(ip.into(), 24)).unwrap());
    iface
}

fn socket(rx: usize, tx: usize) -> tcp::Socket<'static> {
    tcp::Socket::new(
        tcp::SocketBuffer::new(vec![0; rx]),
        tcp::SocketBuffer::new(vec![0; tx]),
    )
}

impl<const POOL: usize, const N: usize> World<POOL, N> {
    /// The echo service on the server sockets.
    pub fn new(config: ServerConfig) -> Self {
        World::with_service(config, |handles| EchoService::new(PORT, handles))
    }
}

impl<const POOL: usize, const N: usize, S: Service> World<POOL, N, S> {
    /// `make`'s service on the server sockets.
    pub fn with_service(
        config: ServerConfig,
        make: impl FnOnce([SocketHandle; POOL]) -> S,
    ) -> Self {
        let now = Instant::from_millis(0);
        let (mut server_dev, mut client_dev) = link::pair();
        let mut server_sockets = SocketSet::new(vec![]);
        let server_handles = std::array::from_fn(|_| {
            let mut s = socket(config.rx, config.tx);
            s.set_timeout(config.timeout);
            if !config.tcp_defaults {
                s.set_ack_delay(None);
                s.set_nagle_enabled(false);
            }
            server_sockets.add(s)
        });
        let mut service = make(server_handles);
        service.poll(&mut server_sockets); // start listening
        World {
            now,
            steps: 0,
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

    /// Opens a client connection to the echo port (established after a few steps), once a
    /// server socket listens (smoltcp resets a SYN that finds none).
    pub fn connect(&mut self) -> SocketHandle {
        self.run_until("a listening server socket", 1_000, |w| w.listening() > 0);
        self.connect_now()
    }

    /// Opens a client connection without waiting for a listening server socket.
    pub fn connect_now(&mut self) -> SocketHandle {
        let mut s = socket(CLIENT_BUF, CLIENT_BUF);
        s.set_ack_delay(None);
        s.set_nagle_enabled(false);
        self.next_port = self.next_port.checked_add(1).unwrap_or(40000);
        let remote = (IpAddress::from(SERVER_IP), PORT);
        s.connect(self.client_iface.context(), remote, self.next_port)
            .expect("connect");
        self.client_sockets.add(s)
    }

    pub fn client(&mut self, handle: SocketHandle) -> &mut tcp::Socket<'static> {
        self.client_sockets.get_mut(handle)
    }

    /// One millisecond: both interfaces exchange packets, the service runs.
    pub fn step(&mut self) {
        self.steps += 1;
        self.now += Duration::from_millis(1);
        let now = self.now;
        self.client_iface
            .poll(now, &mut self.client_dev, &mut self.client_sockets);
        self.server_iface
            .poll(now, &mut self.server_dev, &mut self.server_sockets);
        // As the firmware does: while the service moves data, poll the interface again.
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

    /// Steps until `done` holds; fails the test after `max_steps` instead of hanging.
    pub fn run_until(
        &mut self,
        what: &str,
        max_steps: u64,
        mut done: impl FnMut(&mut Self) -> bool,
    ) {
        for _ in 0..max_steps {
            if done(self) {
                return;
            }
            self.step();
        }
        let servers: Vec<_> = self
            .server_handles
            .iter()
            .map(|h| self.server_sockets.get::<smoltcp::socket::tcp::Socket>(*h))
            .map(|s| (s.state(), s.recv_queue(), s.send_queue()))
            .collect();
        let conns = self.service.describe();
        panic!(
            "timed out after {max_steps} steps waiting for {what}\n\
             server sockets (state, rx, tx): {servers:?}\nconnections: {conns:#?}"
        );
    }

    /// Steps `n` times, running `each` before every step.
    pub fn run_for(&mut self, n: u64, mut each: impl FnMut(&mut Self)) {
        for _ in 0..n {
            each(self);
            self.step();
        }
    }

    /// Server sockets listening for a new connection.
    pub fn listening(&self) -> usize {
        self.server_handles
            .iter()
            .filter(|h| self.server_sockets.get::<tcp::Socket>(**h).is_listening())
            .count()
    }

    /// Packets in flight on the wire (both ways).
    pub fn in_flight(&self) -> usize {
        self.server_dev.pending() + self.client_dev.pending()
    }
}
