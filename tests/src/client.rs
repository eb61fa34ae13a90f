//! A small blocking client over the core's I/O helpers, for tests and the demo.

use embedded_io_adapters::std::FromStd;
use sockframe::{Decoder, Event, Header, io};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// A connection to an echo service.
pub struct EchoClient {
    stream: FromStd<TcpStream>,
    dec: Decoder<Vec<u8>>,
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
            dec: Decoder::new(vec![0u8; 8192]),
        })
    }

    /// The underlying stream (to send raw bytes, or shut it down).
    pub fn stream(&mut self) -> &mut TcpStream {
        self.stream.inner_mut()
    }

    /// Sends one frame.
    pub fn send(&mut self, header: &Header<'_>, payload: &[u8]) -> Result<(), String> {
        io::write_frame(&mut self.stream, header, payload).map_err(|e| e.to_string())
    }

    /// Receives one whole message (reassembling a streamed payload); `None` at a clean end.
    /// An aborted frame is an error that says why.
    pub fn recv(&mut self) -> Result<Option<Reply>, String> {
        let mut reply: Option<Reply> = None;
        loop {
            let ev = io::read_event(&mut self.stream, &mut self.dec).map_err(|e| e.to_string())?;
            match ev {
                None => return Ok(None),
                Some(Event::Frame(f)) => return Ok(Some(reply_of(&f.header, f.payload.to_vec()))),
                Some(Event::Start(h)) => {
                    reply = Some(reply_of(&h, Vec::with_capacity(h.len as usize)))
                }
                Some(Event::Chunk(c)) => reply
                    .as_mut()
                    .ok_or("chunk without start")?
                    .payload
                    .extend_from_slice(c),
                Some(Event::End) => {
                    return reply
                        .take()
                        .map(Some)
                        .ok_or_else(|| "end without start".into());
                }
                Some(Event::Abort(a)) => {
                    return Err(format!(
                        "frame {} aborted: {}: {}",
                        a.header.id,
                        a.header.meta("code").unwrap_or("?"),
                        String::from_utf8_lossy(a.payload)
                    ));
                }
            }
        }
    }

    /// Sends `payload` as one frame and checks the echo is byte-exact.
    ///
    /// Writes from a second thread while reading, so payloads larger than all the buffers on
    /// the way do not deadlock.
    pub fn echo(&mut self, id: u32, payload: &[u8]) -> Result<(), String> {
        let header = Header::data(id, payload);
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
