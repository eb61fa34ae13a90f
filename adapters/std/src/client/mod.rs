//! The blocking client: a std `TcpStream` seen through `embedded_io_adapters::std::FromStd`,
//! with the core's blocking [`io`] functions doing all the framing.

use crate::kinds;
use crate::owned::OwnedFrame;
use duplex::Body;
use embedded_io_adapters::std::FromStd;
use sockframe::{DecodeError, Decoder, EncodeError, Event, Header, Kind, Limits, PREFIX_LEN, io};
use std::io::Write;
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

mod duplex;
#[cfg(feature = "files")]
mod files;
#[cfg(feature = "tls")]
mod tls;
#[cfg(feature = "files")]
pub(crate) use files::checksum_reader;

/// Why a client call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The connection could not be made or broke.
    #[error("connection failed: {0}")]
    Io(#[from] std::io::Error),
    /// The server's bytes are not valid frames.
    #[error("protocol error: {0}")]
    Decode(#[from] DecodeError),
    /// A frame could not be encoded (a header over the writer's limit).
    #[error("cannot encode frame: {0}")]
    Encode(#[from] EncodeError),
    /// The server answered with an error frame.
    #[error("server error [{code}]: {message}")]
    Remote {
        /// The id the error frame carried.
        id: u32,
        /// Metadata `code`: a short stable name.
        code: String,
        /// The payload: what went wrong.
        message: String,
    },
    /// The server closed the connection where a reply was expected.
    #[error("connection closed by the server")]
    Closed,
    /// The server answered with something this call did not expect.
    #[error("unexpected reply: {0}")]
    Unexpected(String),
}

impl ClientError {
    /// The `sockframe` command's exit code for this error: 3 for connection failures, 1
    /// for errors reported by or caused by the remote side.
    pub fn exit_code(&self) -> i32 {
        match self {
            ClientError::Io(_) | ClientError::Closed => 3,
            _ => 1,
        }
    }

    /// The error an error frame ([`Kind::ERROR`]) reports: its id, metadata `code` and
    /// message.
    pub fn from_error_frame(frame: &OwnedFrame) -> ClientError {
        ClientError::Remote {
            id: frame.id,
            code: frame.meta("code").unwrap_or("unknown").to_owned(),
            message: frame.text(),
        }
    }
}

impl From<sockframe::Error<std::io::Error>> for ClientError {
    fn from(e: sockframe::Error<std::io::Error>) -> Self {
        match e {
            sockframe::Error::Io(e) => ClientError::Io(e),
            sockframe::Error::Decode(e) => ClientError::Decode(e),
            sockframe::Error::Encode(e) => ClientError::Encode(e),
        }
    }
}

/// How a remote command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExecOutcome {
    /// Its exit code, if it exited.
    pub code: Option<i32>,
    /// The signal that killed it, if one did.
    pub signal: Option<i32>,
}

impl ExecOutcome {
    /// A shell-style status: the exit code, or 128 + the signal number.
    pub fn status(&self) -> i32 {
        match (self.code, self.signal) {
            (Some(code), _) => code,
            (None, Some(signal)) => 128 + signal,
            (None, None) => 1,
        }
    }
}

/// A blocking sockframe client over one TCP connection.
pub struct Client {
    io: FromStd<TcpStream>,
    dec: Decoder<Vec<u8>>,
    next_id: u32,
    /// The server's limits, once asked ([`Client::peer_limits`]).
    peer: Option<OwnedFrame>,
}

/// Whether the core writers' stack scratch holds this header's head.
fn fits_scratch(header: &Header<'_>) -> bool {
    PREFIX_LEN + header.encoded_len() <= io::HEAD_SCRATCH
}

impl Client {
    /// Receive buffer of [`Client::connect`]: replies up to this size arrive whole.
    pub const DEFAULT_BUFFER: usize = 64 * 1024;

    /// What the client accepts from a server it chose to talk to: any payload size (large
    /// ones stream), headers up to 4 KiB.
    pub const LIMITS: Limits = Limits {
        max_header: 4096,
        max_payload: u64::MAX,
    };

    /// Connects, with TCP_NODELAY (requests leave at once).
    pub fn connect(addr: impl ToSocketAddrs) -> std::io::Result<Client> {
        let stream = TcpStream::connect(addr)?;
        stream.set_nodelay(true)?;
        Ok(Client::from_stream(stream))
    }

    /// Connects, giving up after `timeout`.
    pub fn connect_timeout(addr: &SocketAddr, timeout: Duration) -> std::io::Result<Client> {
        let stream = TcpStream::connect_timeout(addr, timeout)?;
        stream.set_nodelay(true)?;
        Ok(Client::from_stream(stream))
    }

    /// A client over an existing connection, with the default buffer and limits.
    pub fn from_stream(stream: TcpStream) -> Client {
        Client::with_buffer(stream, Client::DEFAULT_BUFFER, Client::LIMITS)
    }

    /// A client with a receive buffer of `buffer_size` bytes and the given limits.
    pub fn with_buffer(stream: TcpStream, buffer_size: usize, limits: Limits) -> Client {
        Client {
            io: FromStd::new(stream),
            dec: Decoder::with_limits(vec![0u8; buffer_size], limits),
            next_id: 1,
            peer: None,
        }
    }

    /// The connection (for timeouts, shutdown, addresses).
    pub fn stream(&self) -> &TcpStream {
        self.io.inner()
    }

    /// A fresh message id (1, 2, 3, ...; never 0, which error frames about the connection
    /// itself use).
    pub fn next_id(&mut self) -> u32 {
        let id = self.next_id;
        self.next_id = self.next_id.checked_add(1).unwrap_or(1);
        id
    }

    /// Sends one whole frame; `header.len` is set from `payload`. If the server closed
    /// the connection, the error is the error frame it sent before closing, if any.
    pub fn send(&mut self, header: &Header<'_>, payload: &[u8]) -> Result<(), ClientError> {
        let mut sized = *header;
        sized.len = payload.len() as u64;
        let sent = if fits_scratch(&sized) {
            io::write_frame(&mut self.io, &sized, payload).map_err(ClientError::from)
        } else {
            self.send_head(&sized).and_then(|()| self.send_raw(payload))
        };
        sent.map_err(|e| self.explain(e))
    }

    /// Sends only the head of a frame; then send its `header.len` payload bytes with
    /// [`Client::send_raw`], in pieces of any size. (A payload larger than the socket
    /// buffers must be read back meanwhile, or the server may stop reading: the request
    /// methods do both at once.)
    pub fn send_head(&mut self, header: &Header<'_>) -> Result<(), ClientError> {
        if fits_scratch(header) {
            return io::write_head(&mut self.io, header).map_err(|e| self.explain(e.into()));
        }
        // A header larger than the core writers' stack scratch (a long file name: the
        // files service takes names up to 1024 bytes): encoded on the heap instead.
        let mut head = vec![0u8; PREFIX_LEN + header.encoded_len()];
        let n = sockframe::encode_head(header, header.len, &mut head)?;
        self.send_raw(&head[..n])
    }

    /// Writes bytes as they are: pieces of a payload after [`Client::send_head`] (or, in
    /// tests, anything at all).
    pub fn send_raw(&mut self, bytes: &[u8]) -> Result<(), ClientError> {
        self.io
            .inner_mut()
            .write_all(bytes)
            .map_err(|e| self.explain(e.into()))
    }

    /// A failed write is explained by the server's error frame, if it sent one.
    fn explain(&mut self, e: ClientError) -> ClientError {
        match e {
            ClientError::Io(e) => self.reason_for(e),
            other => other,
        }
    }

    /// The next event from the server; `Ok(None)` when it closed cleanly between frames.
    pub fn recv(&mut self) -> Result<Option<Event<'_>>, ClientError> {
        Ok(io::read_event(&mut self.io, &mut self.dec)?)
    }

    /// Whether a whole event is already buffered (so [`Client::recv`] will not block).
    pub fn has_buffered_event(&mut self) -> Result<bool, ClientError> {
        Ok(self.dec.poll()?)
    }

    /// The next frame, copied out; a streamed frame is gathered into memory first.
    /// `Ok(None)` when the server closed cleanly.
    pub fn recv_frame(&mut self) -> Result<Option<OwnedFrame>, ClientError> {
        let mut streamed: Option<OwnedFrame> = None;
        loop {
            match self.recv()? {
                None if streamed.is_none() => return Ok(None),
                None => return Err(ClientError::Closed),
                Some(Event::Frame(f)) => return Ok(Some(OwnedFrame::new(&f.header, f.payload))),
                Some(Event::Start(h)) => streamed = Some(OwnedFrame::new(&h, &[])),
                Some(Event::Chunk(bytes)) => {
                    if let Some(f) = streamed.as_mut() {
                        f.payload.extend_from_slice(bytes);
                    }
                }
                Some(Event::End) => return streamed.take().ok_or(ClientError::Closed).map(Some),
                // The peer aborted the streamed frame: what arrived of it is void.
                Some(Event::Abort(a)) => {
                    return Err(ClientError::from_error_frame(&OwnedFrame::new(
                        &a.header, a.payload,
                    )));
                }
            }
        }
    }

    /// The next frame, which must exist and not be an error frame.
    pub fn expect_frame(&mut self) -> Result<OwnedFrame, ClientError> {
        match self.recv_frame()? {
            None => Err(ClientError::Closed),
            Some(f) if f.kind == Kind::ERROR => Err(ClientError::from_error_frame(&f)),
            Some(f) => Ok(f),
        }
    }

    /// Sends `header` and `payload` with a fresh id and returns the reply with that id
    /// (replies to other ids, late answers to requests given up on, are skipped).
    ///
    /// Full duplex: a payload beyond 64 KiB is written by a second thread while this one
    /// reads, so a server that answers as it reads (the echo) never waits on a client that
    /// is still writing, whatever the size. If the server refuses the request and closes
    /// (a payload over its limit), the error is its error frame, not the failed write.
    pub fn request_with(
        &mut self,
        header: &Header<'_>,
        payload: &[u8],
    ) -> Result<OwnedFrame, ClientError> {
        let mut header = *header;
        header.id = self.next_id();
        let id = header.id;
        self.exchange(&header, Body::Bytes(payload), |c| c.reply_to(id))
    }

    /// [`Client::request_with`], with the reply's payload written to `sink` as it arrives
    /// rather than gathered: a reply of any size in constant memory. Returns the reply's
    /// header fields (its `payload` empty).
    pub fn request_into(
        &mut self,
        header: &Header<'_>,
        payload: &[u8],
        sink: &mut dyn Write,
    ) -> Result<OwnedFrame, ClientError> {
        let mut header = *header;
        header.id = self.next_id();
        let id = header.id;
        self.exchange(&header, Body::Bytes(payload), |c| c.reply_into(id, sink))
    }

    /// Sends `payload` as a `DATA` frame and returns the reply (see
    /// [`Client::request_with`]).
    pub fn request(&mut self, payload: &[u8]) -> Result<OwnedFrame, ClientError> {
        self.request_with(&Header::data(0, payload), payload)
    }

    /// Sends a `PING` and waits for its `PONG`; returns the round-trip time.
    pub fn ping(&mut self) -> Result<Duration, ClientError> {
        let start = Instant::now();
        let reply = self.request_with(&Header::new(Kind::PING, 0, 0), &[])?;
        if reply.kind != Kind::PONG {
            return Err(ClientError::Unexpected(format!(
                "kind {} to a ping",
                reply.kind.0
            )));
        }
        Ok(start.elapsed())
    }

    /// The server's answer to a limits request (spec 7.2), asked once per connection: a
    /// PONG whose metadata has `max-header`, `max-payload`, `max-meta` and `trailer`, or
    /// none of them from a server that predates them (then assume the contract's minimums).
    pub fn peer_limits(&mut self) -> Result<&OwnedFrame, ClientError> {
        if self.peer.is_none() {
            let pairs = [("limits", "")];
            let pong = self.request_with(&Header::new(Kind::PING, 0, 0).with_meta(&pairs), &[])?;
            self.peer = Some(pong);
        }
        Ok(self.peer.as_ref().expect("asked above"))
    }

    /// Whether the server implements trailers (END/ABORT): may a frame have TRAILER?
    pub fn peer_supports_trailers(&mut self) -> Result<bool, ClientError> {
        Ok(self.peer_limits()?.meta("trailer") == Some("1"))
    }

    /// Half-closes: tells the server nothing more will be sent.
    pub fn shutdown_write(&self) -> std::io::Result<()> {
        self.stream().shutdown(std::net::Shutdown::Write)
    }

    /// Runs `argv` on an exec server, copying its output to `stdout` / `stderr` as it
    /// arrives. With `shell`, `argv` is joined with spaces into one `sh -c` line.
    pub fn exec(
        &mut self,
        argv: &[String],
        shell: bool,
        token: Option<&str>,
        stdout: &mut dyn Write,
        stderr: &mut dyn Write,
    ) -> Result<ExecOutcome, ClientError> {
        // Arguments travel NUL-separated: one with a NUL inside would reach the command as
        // two (and no program can receive a NUL in an argument anyway).
        if !shell && let Some(i) = argv.iter().position(|a| a.contains('\0')) {
            return Err(ClientError::Io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                format!("argument {i} contains a NUL byte, which no command can receive"),
            )));
        }
        let payload = if shell {
            argv.join(" ").into_bytes()
        } else {
            argv.join("\0").into_bytes()
        };
        let id = self.next_id();
        let mut pairs = Vec::with_capacity(2);
        if let Some(token) = token {
            pairs.push(("token", token));
        }
        if shell {
            pairs.push(("shell", "1"));
        }
        let header = Header::new(kinds::EXEC, id, 0).with_meta(&pairs);
        self.send(&header, &payload)?;
        // Output frames larger than the buffer stream; remember which pipe they belong to.
        let mut streaming = None;
        loop {
            let ev = self.recv()?.ok_or(ClientError::Closed)?;
            let (kind, bytes) = match ev {
                Event::Frame(f) if f.header.kind == Kind::ERROR => {
                    return Err(ClientError::from_error_frame(&OwnedFrame::new(
                        &f.header, f.payload,
                    )));
                }
                Event::Frame(f) if f.header.kind == kinds::EXIT => {
                    let num = |k| f.header.meta(k).and_then(|v: &str| v.parse().ok());
                    return Ok(ExecOutcome {
                        code: num("code"),
                        signal: num("signal"),
                    });
                }
                Event::Frame(f) => (f.header.kind, f.payload),
                Event::Start(h) => {
                    streaming = Some(h.kind);
                    continue;
                }
                Event::Chunk(bytes) => (streaming.unwrap_or(kinds::STDOUT), bytes),
                Event::End => {
                    streaming = None;
                    continue;
                }
                Event::Abort(a) => {
                    return Err(ClientError::from_error_frame(&OwnedFrame::new(
                        &a.header, a.payload,
                    )));
                }
            };
            match kind {
                kinds::STDOUT => stdout.write_all(bytes)?,
                kinds::STDERR => stderr.write_all(bytes)?,
                other => {
                    return Err(ClientError::Unexpected(format!(
                        "kind {} from exec",
                        other.0
                    )));
                }
            }
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("peer", &self.stream().peer_addr().ok())
            .field("decoder", &self.dec)
            .finish()
    }
}
