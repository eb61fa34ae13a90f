//! Serial links (cargo feature `serial`): a client or a server on a serial port, written
//! `serial:/dev/ttyUSB0` or `serial:/dev/pts/7,115200` (baud optional, default
//! [`DEFAULT_BAUD`]).
//!
//! The port is opened raw (8N1, no flow control) with the `serialport` crate and relayed to
//! a loopback TCP connection, so everything that runs on TCP runs unchanged on the link:
//! the blocking [`Client`], the [`AsyncClient`](crate::async_client::AsyncClient) and the
//! [`Server`](crate::Server) with its services, limits and error frames.
//!
//! - Client side, [`bridge`] listens on `127.0.0.1:0` and relays the first connection made
//!   to it to the port; [`Client::connect_serial`] is `bridge` + `connect`, and an
//!   [`AsyncClient`](crate::async_client::AsyncClient) connects to the address `bridge`
//!   returns.
//! - Server side, [`serve_link`] relays the port to a server's address. A serial port has
//!   no connections: the link is one session that lasts as long as the port. When the
//!   server closes the session (after a framing error, an idle timeout, `unauthorized`...,
//!   everywhere it would close a TCP connection) the close is the error frame it sent, and
//!   the link starts a fresh session at once: the server forgets the old one (its decoder
//!   state, its streamed frame in progress) and reads the next bytes as the start of a new
//!   stream. The peer cannot see a close on a wire, so it must treat every error frame
//!   whose code closes a TCP connection as the end of its session (drop what it had in
//!   flight), and resend.
//!
//! Framing: a link is not a stream (spec section 9.1). The relay decodes what the local
//! side (client or server) writes and gives every frame the header check (flag HCHECK)
//! before it goes out, and reads the port with the core's resynchronising receiver
//! ([`sockframe::resync`]): noise, a board's boot messages, damaged, cut and unchecked
//! frames are skipped (logged with their byte counts and why, at `warn`), and only intact
//! frames reach the local side, byte-exact. A frame that streamed through and then proved
//! damaged cannot be taken back: the relay ends the session (the local side sees it cut).
//! Frames keep the payload `crc` their sender gave them (or not): set one on a link, for
//! payload damage to be caught.

use crate::Client;
use embedded_io::Read as _;
use embedded_io_adapters::std::FromStd;
use serialport::TTYPort;
use sockframe::header_check::{self, HCHECK_LEN};
use sockframe::resync::{Received, Resync};
use sockframe::{Decoder, Event, Limits};
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// The baud rate of a spec that names none.
pub const DEFAULT_BAUD: u32 = 115_200;

/// The prefix that marks a serial spec where an address is expected.
pub const PREFIX: &str = "serial:";

/// How often a relay blocked on a silent port looks whether its other side ended.
const POLL: Duration = Duration::from_millis(100);

/// A serial port to open: its device path and baud rate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SerialSpec {
    /// The device, e.g. `/dev/ttyUSB0`.
    pub path: String,
    /// Bits per second.
    pub baud: u32,
}

impl SerialSpec {
    /// Parses `serial:PATH` or `serial:PATH,BAUD`. `None` if `addr` does not start with
    /// `serial:` (it is a network address); `Some(Err)` says what is wrong with a spec.
    pub fn parse(addr: &str) -> Option<Result<SerialSpec, String>> {
        let rest = addr.strip_prefix(PREFIX)?;
        let (path, baud) = match rest.rsplit_once(',') {
            Some((path, baud)) => match baud.parse::<u32>() {
                Ok(b) if b > 0 => (path, b),
                _ => {
                    return Some(Err(format!(
                        "{addr}: baud rate {baud:?} is not a positive number (serial:PATH[,BAUD], e.g. serial:/dev/ttyUSB0,115200)"
                    )));
                }
            },
            None => (rest, DEFAULT_BAUD),
        };
        if path.is_empty() {
            return Some(Err(format!(
                "{addr}: the device path is missing (serial:PATH[,BAUD], e.g. serial:/dev/ttyUSB0)"
            )));
        }
        Some(Ok(SerialSpec {
            path: path.to_owned(),
            baud,
        }))
    }

    /// Opens the port raw, 8N1, no flow control. The error names the spec and what failed:
    /// `serial:/dev/pts/9: No such file or directory`.
    pub fn open(&self) -> io::Result<TTYPort> {
        let port = serialport::new(&self.path, self.baud)
            .timeout(POLL)
            .open_native()
            .map_err(|e| {
                let kind = match e.kind() {
                    serialport::ErrorKind::Io(kind) => kind,
                    serialport::ErrorKind::NoDevice => io::ErrorKind::NotFound,
                    serialport::ErrorKind::InvalidInput => io::ErrorKind::InvalidInput,
                    serialport::ErrorKind::Unknown => io::ErrorKind::Other,
                };
                io::Error::new(kind, format!("{self}: {}", e.description))
            })?;
        Ok(port)
    }
}

impl std::fmt::Display for SerialSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{PREFIX}{}", self.path)
    }
}

/// Relays frames both ways between `port` (a link) and `tcp` (a stream) until the TCP side
/// closes (`Ok`) or the port fails (`Err`, named by `spec`); see the module docs. Bytes the
/// port receives while no one reads them are relayed to this connection only.
fn relay(spec: &SerialSpec, port: &TTYPort, tcp: &TcpStream) -> io::Result<()> {
    let tcp_done = Arc::new(AtomicBool::new(false));
    let to_port = port.try_clone_native().map_err(|e| named(spec, e.into()))?;
    let from_tcp = tcp.try_clone()?;
    let done = tcp_done.clone();
    let writer_spec = spec.clone();
    let writer = std::thread::Builder::new()
        .name("sockframe-serial-tx".into())
        .spawn(move || {
            let result = to_link(&writer_spec, from_tcp, to_port);
            done.store(true, Ordering::Release);
            result
        })?;
    let from_port = port.try_clone_native().map_err(|e| named(spec, e.into()))?;
    let read_result = from_link(spec, from_port, tcp, &tcp_done);
    // Ends the writer thread's read (Linux: a blocked read returns 0). The caller closes
    // the connection, after the port: a client that saw it close can open the port again.
    let _ = tcp.shutdown(Shutdown::Read);
    let write_result = writer
        .join()
        .unwrap_or_else(|_| Err(io::Error::other("the serial writer thread panicked")));
    read_result.and(write_result).map_err(|e| named(spec, e))
}

/// The receiver's limits on a relay: the header limit of every peer, any payload length
/// (the local side applies its own; a false length in noise fails the header check).
const RELAY_LIMITS: Limits = Limits {
    max_header: Limits::DEFAULT.max_header,
    max_payload: u64::MAX,
};

/// Frames from the local side to the port, each head given the header check. Ends when
/// the local side closes (`Ok`), writes something that is not sockframe (`Ok`, logged:
/// the link stays clean), or the port fails.
fn to_link(spec: &SerialSpec, tcp: TcpStream, mut port: TTYPort) -> io::Result<()> {
    let mut tcp = FromStd::new(tcp);
    let mut dec = Decoder::with_limits(vec![0u8; 64 * 1024], RELAY_LIMITS);
    let mut checked = Vec::new();
    loop {
        let ready = loop {
            match dec.poll() {
                Ok(true) => break true,
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!("{spec}: the local side sent what is not a frame: {e}");
                    break false;
                }
            }
            match tcp.read(dec.read_buf()) {
                Ok(0) | Err(_) => break false,
                Ok(n) => dec.commit(n),
            }
        };
        if !ready {
            return Ok(());
        }
        let Ok(Some((event, raw))) = dec.next_event_raw() else {
            return Ok(());
        };
        let out = match event {
            Event::Chunk(_) => raw,
            _ if raw.is_empty() => continue,
            // A whole frame, a streamed frame's head, a trailer: each starts with a head.
            _ => {
                checked.clear();
                checked.extend_from_slice(raw);
                checked.extend_from_slice(&[0; HCHECK_LEN]);
                let n = header_check::add(&mut checked, raw.len()).map_err(io::Error::other)?;
                &checked[..n]
            }
        };
        port.write_all(out)?;
        port.flush()?;
    }
}

/// Intact frames from the port to the local side, byte-exact; skipped runs logged. Ends
/// when the local side is done (`Ok`), a streamed frame proves damaged after part of it
/// went through (`Ok`, logged: the session ends), or the port fails or hangs up.
fn from_link(
    spec: &SerialSpec,
    port: TTYPort,
    tcp: &TcpStream,
    tcp_done: &AtomicBool,
) -> io::Result<()> {
    let mut port = port;
    let mut to_tcp = tcp;
    let mut rx = Resync::with_limits(vec![0u8; 64 * 1024], RELAY_LIMITS);
    loop {
        while !rx.poll() {
            if tcp_done.load(Ordering::Acquire) {
                return Ok(());
            }
            match port.read(rx.read_buf()) {
                Ok(0) => return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "hung up")),
                Ok(n) => rx.commit(n),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::TimedOut | io::ErrorKind::Interrupted
                    ) => {}
                Err(e) => return Err(e),
            }
        }
        let go_on = match rx.next_event_raw() {
            Some((Received::Event(_), raw)) => to_tcp.write_all(raw).is_ok(),
            Some((Received::Skipped(skipped), _)) => {
                tracing::warn!("{spec}: {skipped}");
                !skipped.ends_stream
            }
            None => true,
        };
        if !go_on {
            return Ok(());
        }
    }
}

/// `e`, its message prefixed with the spec.
fn named(spec: &SerialSpec, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{spec}: {e}"))
}

/// Opens the port now (failing here if it cannot) and listens on a free loopback port; a
/// thread relays the first connection made to that address to the port, and closes the
/// port when that connection closes (the port is opened exclusively: another process can
/// open it once this client is done). Returns the address to connect to.
pub fn bridge(spec: &SerialSpec) -> io::Result<SocketAddr> {
    let port = spec.open()?;
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let addr = listener.local_addr()?;
    let spec = spec.clone();
    std::thread::Builder::new()
        .name("sockframe-serial".into())
        .spawn(move || {
            let Ok((tcp, _)) = listener.accept() else {
                return;
            };
            drop(listener);
            let _ = tcp.set_nodelay(true);
            if let Err(e) = relay(&spec, &port, &tcp) {
                tracing::warn!("{e}");
            }
            drop(port);
            drop(tcp);
        })?;
    Ok(addr)
}

/// Serves the link: relays the port to the server at `server` (one session, see the
/// module docs), starting a fresh session whenever the server closes one. Returns only
/// when the port fails or the server cannot be reached, with an error naming the spec.
pub fn serve_link(spec: &SerialSpec, server: SocketAddr) -> io::Result<()> {
    let port = spec.open()?;
    tracing::info!("serving {spec} at {} baud", spec.baud);
    loop {
        let tcp = TcpStream::connect(server)?;
        tcp.set_nodelay(true)?;
        relay(spec, &port, &tcp)?;
        tracing::info!("{spec}: the server closed the session; a new one starts");
    }
}

impl Client {
    /// A client on a serial link, `serial:PATH[,BAUD]` (see [`crate::serial`]). The error
    /// names the device and what failed: `serial:/dev/pts/9: No such file or directory`.
    pub fn connect_serial(addr: &str) -> io::Result<Client> {
        let spec = SerialSpec::parse(addr)
            .unwrap_or_else(|| Err(format!("{addr}: not a serial spec (serial:PATH[,BAUD])")));
        let spec = spec.map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
        Client::connect(bridge(&spec)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_specs() {
        assert_eq!(SerialSpec::parse("127.0.0.1:9"), None);
        let s = SerialSpec::parse("serial:/dev/pts/7,9600")
            .unwrap()
            .unwrap();
        assert_eq!((s.path.as_str(), s.baud), ("/dev/pts/7", 9600));
        let s = SerialSpec::parse("serial:/dev/ttyUSB0").unwrap().unwrap();
        assert_eq!(s.baud, DEFAULT_BAUD);
        assert!(SerialSpec::parse("serial:").unwrap().is_err());
        let e = SerialSpec::parse("serial:/dev/x,fast")
            .unwrap()
            .unwrap_err();
        assert!(e.contains("\"fast\""), "{e}");
    }

    #[test]
    fn errors_name_the_device() {
        let e = Client::connect_serial("serial:/dev/no-such-tty-here").unwrap_err();
        assert_eq!(
            e.to_string(),
            "serial:/dev/no-such-tty-here: No such file or directory"
        );
        let e = Client::connect_serial("serial:/dev/null").unwrap_err();
        assert!(e.to_string().starts_with("serial:/dev/null: "), "{e}");
    }
}
