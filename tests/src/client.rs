//! A small blocking client over the core's I/O helpers, for tests and the demo.

use embedded_io_adapters::std::FromStd;
use sockframe::resync::{Received, Resync};
use sockframe::{Decoder, Event, Header, io};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A connection to an echo service: over TCP, or over a link (a UART behind QEMU's
/// chardev), where frames carry the header check and a payload crc and replies are read
/// with the resynchronising receiver (spec section 9.1).
pub struct EchoClient {
    stream: FromStd<TcpStream>,
    rx: Receiver,
    /// Bytes the link's receiver skipped so far.
    skipped: u64,
}

/// How replies are read.
enum Receiver {
    Stream(Decoder<Vec<u8>>),
    Link(Box<Resync<Vec<u8>>>),
}

/// What came back for one request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// The reply's kind.
    pub kind: sockframe::Kind,
    /// The reply's id.
    pub id: u32,
    /// The `code` metadata entry (error frames).
    pub code: Option<String>,
    /// The whole payload, reassembled if it was streamed.
    pub payload: Vec<u8>,
}

impl EchoClient {
    /// Connects with a read/write timeout (a silent peer fails the call instead of hanging).
    pub fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, String> {
        let stream = TcpStream::connect_timeout(&addr, timeout)
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream
            .set_read_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        stream
            .set_write_timeout(Some(timeout))
            .map_err(|e| e.to_string())?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        Ok(EchoClient {
            stream: FromStd::new(stream),
            rx: Receiver::Stream(Decoder::new(vec![0u8; 8192])),
            skipped: 0,
        })
    }

    /// Connects to a link (a UART exposed on TCP by QEMU): frames sent carry the header
    /// check and a payload crc, replies are read with the resynchronising receiver.
    pub fn connect_link(addr: SocketAddr, timeout: Duration) -> Result<Self, String> {
        let mut c = Self::connect(addr, timeout)?;
        c.rx = Receiver::Link(Box::new(Resync::new(vec![0u8; 8192])));
        Ok(c)
    }

    /// Bytes the link's receiver skipped so far (always 0 over TCP).
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// `header` as this connection sends it: on a link, with a payload crc and the header
    /// check.
    fn outgoing<'h>(&self, header: &Header<'h>, payload: &[u8]) -> Header<'h> {
        match self.rx {
            Receiver::Stream(_) => *header,
            Receiver::Link(_) => header.with_crc_of(payload).with_header_check(),
        }
    }

    /// The underlying stream (to send raw bytes, or shut it down).
    pub fn stream(&mut self) -> &mut TcpStream {
        self.stream.inner_mut()
    }

    /// Sends one frame (on a link, with a payload crc and the header check).
    pub fn send(&mut self, header: &Header<'_>, payload: &[u8]) -> Result<(), String> {
        let header = self.outgoing(header, payload);
        io::write_frame(&mut self.stream, &header, payload).map_err(|e| e.to_string())
    }

    /// Receives one whole message (reassembling a streamed payload); `None` at a clean end.
    /// An aborted frame is an error that says why.
    pub fn recv(&mut self) -> Result<Option<Reply>, String> {
        let mut reply: Option<Reply> = None;
        loop {
            let ev = match &mut self.rx {
                Receiver::Stream(dec) => {
                    io::read_event(&mut self.stream, dec).map_err(|e| e.to_string())?
                }
                Receiver::Link(rx) => {
                    match io::read_received(&mut self.stream, rx).map_err(|e| e.to_string())? {
                        None => None,
                        Some(Received::Event(ev)) => Some(ev),
                        Some(Received::Skipped(s)) => {
                            self.skipped += s.bytes;
                            if s.ends_stream {
                                reply = None;
                            }
                            continue;
                        }
                    }
                }
            };
            let Some(ev) = ev else {
                return Ok(None);
            };
            if let Some(whole) = absorb(&mut reply, ev)? {
                return Ok(Some(whole));
            }
        }
    }

    /// Sends `payload` as one frame and checks the echo is byte-exact.
    ///
    /// Writes from a second thread while reading, so payloads larger than all the buffers on
    /// the way do not deadlock.
    pub fn echo(&mut self, id: u32, payload: &[u8]) -> Result<(), String> {
        let header = self.outgoing(&Header::data(id, payload), payload);
        let mut writer = FromStd::new(self.stream().try_clone().map_err(|e| e.to_string())?);
        let reply = std::thread::scope(|s| {
            let sent = s.spawn(|| {
                io::write_frame(&mut writer, &header, payload).map_err(|e| e.to_string())
            });
            let reply = self.recv();
            sent.join().map_err(|_| "writer panicked".to_string())??;
            reply
        })?;
        let reply = reply.ok_or("connection closed before the echo")?;
        if reply.id != id || reply.payload != payload {
            return Err(format!(
                "echo mismatch: sent id {id} with {} bytes, got id {} with {} bytes",
                payload.len(),
                reply.id,
                reply.payload.len()
            ));
        }
        Ok(())
    }
}

/// Adds `ev` to the message being received; the message once it is whole.
fn absorb(reply: &mut Option<Reply>, ev: Event<'_>) -> Result<Option<Reply>, String> {
    match ev {
        Event::Frame(f) => Ok(Some(reply_of(&f.header, f.payload.to_vec()))),
        Event::Start(h) => {
            *reply = Some(reply_of(&h, Vec::with_capacity(h.len as usize)));
            Ok(None)
        }
        Event::Chunk(c) => {
            reply
                .as_mut()
                .ok_or("chunk without start")?
                .payload
                .extend_from_slice(c);
            Ok(None)
        }
        Event::End => reply
            .take()
            .map(Some)
            .ok_or_else(|| "end without start".into()),
        Event::Abort(a) => Err(format!(
            "frame {} aborted: {}: {}",
            a.header.id,
            a.header.meta("code").unwrap_or("?"),
            String::from_utf8_lossy(a.payload)
        )),
    }
}

fn reply_of(h: &Header<'_>, payload: Vec<u8>) -> Reply {
    Reply {
        kind: h.kind,
        id: h.id,
        code: h.meta("code").map(str::to_owned),
        payload,
    }
}

/// Connects, echoes one small frame, and disconnects.
pub fn echo_once(addr: SocketAddr, payload: &[u8], timeout: Duration) -> Result<(), String> {
    EchoClient::connect(addr, timeout)?.echo(1, payload)
}

/// [`echo_once`] over a link ([`EchoClient::connect_link`]).
pub fn echo_once_link(addr: SocketAddr, payload: &[u8], timeout: Duration) -> Result<(), String> {
    EchoClient::connect_link(addr, timeout)?.echo(1, payload)
}
