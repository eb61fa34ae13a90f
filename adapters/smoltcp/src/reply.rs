//! The interface between the driver and what a connection does: [`Handler`] and [`Reply`].

use smoltcp::socket::tcp;
use sockframe::header_check::{self, HCHECK_LEN};
use sockframe::io::HEAD_SCRATCH;
use sockframe::{
    ERROR_FRAME_MAX, EncodeError, Event, Header, Limits, encode_error_frame, encode_head,
    encode_limits_pong,
};

/// Where a [`Reply`] puts its bytes: a transport's send buffer. The driver grants a
/// [`Reply`] only as many bytes as the sink has room for, so `put` always takes them all.
pub trait Sink {
    /// Queues all of `bytes` (the caller checked they fit).
    fn put(&mut self, bytes: &[u8]);
}

/// A TCP socket's send buffer.
impl Sink for tcp::Socket<'_> {
    fn put(&mut self, bytes: &[u8]) {
        // Cannot fall short: the driver checked that the bytes are free (and may_send).
        let queued = self.send_slice(bytes).unwrap_or(0);
        debug_assert_eq!(queued, bytes.len());
    }
}

/// A byte buffer filled from its start: what the port driver flushes to its port, and what
/// a host test reads back ([`filled`](Self::filled)).
#[derive(Debug)]
pub struct BufSink<'b> {
    buf: &'b mut [u8],
    len: usize,
}

impl<'b> BufSink<'b> {
    /// An empty sink over `buf`.
    pub fn new(buf: &'b mut [u8]) -> Self {
        BufSink { buf, len: 0 }
    }

    /// The bytes put so far.
    pub fn filled(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Bytes that can still be put.
    pub fn room(&self) -> usize {
        self.buf.len() - self.len
    }
}

impl Sink for BufSink<'_> {
    fn put(&mut self, bytes: &[u8]) {
        // Cut to the room: a Reply never asks for more than `room` (its budget).
        let n = bytes.len().min(self.room());
        self.buf[self.len..self.len + n].copy_from_slice(&bytes[..n]);
        self.len += n;
    }
}

/// What a [`Connection`](crate::Connection) does with each decoded event.
pub trait Handler {
    /// Handles one event, queueing any answer into `reply`.
    ///
    /// `reply` grants all the free send buffer ([`Reply::budget`]), at least
    /// [`reserve`](Self::reserve) of the bytes the event took on the wire. An error makes
    /// the driver abort the connection (a reset), because a half-written answer would
    /// corrupt the stream.
    fn on_event(&mut self, event: Event<'_>, reply: &mut Reply<'_, '_>) -> Result<(), ReplyError>;

    /// A connection begins (a TCP socket became established; on a port driver, the first
    /// poll and every restart after an error). Default: nothing.
    fn on_open(&mut self) {}

    /// The connection ended (TCP: closed, reset or timed out; port: an error frame was sent
    /// and the decoder restarts). Default: nothing. Reset per-connection state here.
    fn on_close(&mut self) {}

    /// The most bytes the answer to an event of `event_len` wire bytes can take. The driver
    /// takes an event from the decoder only when that much send buffer is free (an event
    /// cannot be put back), so the answer never has to be cut; the socket's send buffer must
    /// hold `reserve(N)`.
    ///
    /// The default, `event_len`, suits answers no larger than their requests: an echo, a
    /// PONG, a payload transformed in place.
    fn reserve(&self, event_len: usize) -> usize {
        event_len
    }

    /// The most bytes the answer to an event of `event_len` wire bytes inside a streamed
    /// frame (one larger than the decoder's buffer, or with a trailer) can take: an
    /// [`Event::Chunk`] of its payload, or its END or ABORT trailer. Between such a frame's
    /// head and its end the driver waits for this much free send buffer instead of
    /// [`reserve`](Self::reserve).
    ///
    /// The default is `reserve(event_len)`. A handler that forwards these events as they
    /// came (an echo, a relay) says `event_len`: then a large frame streams through with the
    /// send buffer as full as a plain byte echo keeps it, instead of holding each chunk back
    /// until `reserve`'s margin for other answers is free as well.
    fn reserve_streamed(&self, event_len: usize) -> usize {
        self.reserve(event_len)
    }

    /// Whether the handler forwards streamed frames cut-through, as an echo or a relay
    /// does. Then a fault, or the end of the input, inside a frame whose head it already
    /// forwarded is answered as the spec's section 6.1 says, not with a bare ERROR frame
    /// (which the peer would read as payload bytes): for a frame with a trailer, filler for
    /// the rest of the payload, an ABORT, then the ERROR frame; for a cut frame without one,
    /// a close without an ERROR frame (the peer sees `truncated`).
    fn forwards(&self) -> bool {
        false
    }
}

/// Why a [`Reply`] refused bytes. Nothing was queued when it did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyError {
    /// The answer is larger than the room granted for this event.
    OverBudget {
        /// Bytes the answer needed.
        need: usize,
        /// Bytes still granted.
        budget: usize,
    },
    /// The head could not be encoded (a header over the 512-byte scratch space).
    Encode(EncodeError),
    /// Not a failure: the handler queued its answer (typically an error frame, see
    /// [`Reply::error_then_close`]) and asks the driver to end the connection gracefully:
    /// on TCP, what was queued is sent, then the socket closes (FIN, not a reset); on a
    /// byte port, which cannot close, the answer is sent and the decoder and handler start
    /// afresh ([`Handler::on_close`], then [`Handler::on_open`]), dropping input bytes
    /// already received but not decoded.
    Close,
}

/// The room in a socket's send buffer granted to the answer to one event.
///
/// Everything written here is queued whole, in order: the driver checked the room before
/// handing out the event.
pub struct Reply<'s, 'a> {
    sink: &'s mut (dyn Sink + 'a),
    budget: usize,
    raw: &'s [u8],
    limits: Limits,
    checked: bool,
}

impl<'s, 'a> Reply<'s, 'a> {
    /// Grants `budget` bytes of `sink` (the caller checked they are free) to the answer to
    /// the event decoded from `raw`, on a connection with `limits`. Drivers build it; a
    /// host test builds it over a [`BufSink`] to call a [`Handler`] without sockets:
    ///
    /// ```
    /// use sockframe::{Decoder, Event};
    /// use sockframe_smoltcp::{BufSink, Echo, Handler, Reply};
    ///
    /// let mut wire = [0u8; 64];
    /// let n = sockframe::encode_frame(&sockframe::Header::data(1, &[]), b"hi", &mut wire).unwrap();
    /// let mut decoder = Decoder::new([0u8; 64]);
    /// decoder.read_buf()[..n].copy_from_slice(&wire[..n]);
    /// decoder.commit(n);
    /// let limits = decoder.accepted();
    /// let (event, raw) = decoder.next_event_raw().unwrap().unwrap();
    /// let mut out = [0u8; 128];
    /// let mut sink = BufSink::new(&mut out);
    /// Echo.on_event(event, &mut Reply::new(&mut sink, 128, raw, limits)).unwrap();
    /// assert_eq!(sink.filled(), &wire[..n]);
    /// ```
    pub fn new(
        sink: &'s mut (dyn Sink + 'a),
        budget: usize,
        raw: &'s [u8],
        limits: Limits,
    ) -> Self {
        Reply {
            sink,
            budget,
            raw,
            limits,
            checked: false,
        }
    }

    /// Every frame this reply encodes ([`send_head`](Self::send_head),
    /// [`send_error`](Self::send_error), [`error_then_close`](Self::error_then_close), a
    /// limits PONG) carries the header check (flag HCHECK, spec section 9): what a link
    /// needs. The [`Port`](crate::Port) driver sets it; frames a handler writes itself with
    /// [`send`](Self::send) are its own business ([`header_check`](Self::header_check) says
    /// whether to check them).
    pub fn with_header_check(mut self) -> Self {
        self.checked = true;
        self
    }

    /// Whether frames on this connection carry the header check (see
    /// [`with_header_check`](Self::with_header_check)).
    pub fn header_check(&self) -> bool {
        self.checked
    }

    /// Bytes that may still be queued.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The bytes the event was decoded from, exactly as they arrived (see
    /// [`Decoder::next_event_raw`](sockframe::Decoder::next_event_raw)): what a relay or an
    /// echo forwards, so that header bytes it does not understand pass unchanged.
    pub fn raw(&self) -> &'s [u8] {
        self.raw
    }

    /// The limits this connection accepts, as a peer may rely on them (what a limits PONG
    /// announces).
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// Queues the event's own bytes ([`raw`](Self::raw)) unchanged.
    pub fn forward(&mut self) -> Result<(), ReplyError> {
        self.send(self.raw)
    }

    /// Queues the head of the PONG answering the limits request `ping` (spec, section 7.2);
    /// the PING's payload goes after it with [`send`](Self::send).
    pub fn send_limits_pong(&mut self, ping: &Header<'_>) -> Result<(), ReplyError> {
        let limits = self.limits;
        self.send_encoded(|out| encode_limits_pong(ping, limits, out))
    }

    /// Queues `bytes`, all or nothing.
    pub fn send(&mut self, bytes: &[u8]) -> Result<(), ReplyError> {
        if bytes.len() > self.budget {
            return Err(ReplyError::OverBudget {
                need: bytes.len(),
                budget: self.budget,
            });
        }
        self.sink.put(bytes);
        self.budget -= bytes.len();
        Ok(())
    }

    /// Queues an ERROR frame for frame `id` (0: the connection) with the service's own
    /// `code` and `message` (cut at [`sockframe::ERROR_MESSAGE_MAX`] bytes), and returns
    /// [`ReplyError::Close`]: return it from [`Handler::on_event`] so the driver sends the
    /// frame, then ends the connection gracefully (see [`ReplyError::Close`]). If the frame
    /// does not fit the budget, the error says so and the driver resets the connection.
    pub fn error_then_close(
        &mut self,
        id: u32,
        code: &str,
        message: &dyn core::fmt::Display,
    ) -> ReplyError {
        match self.send_error(id, code, message) {
            Ok(()) => ReplyError::Close,
            Err(e) => e,
        }
    }

    /// Queues an ERROR frame for frame `id` with the service's own `code` and `message`
    /// (cut at [`sockframe::ERROR_MESSAGE_MAX`] bytes); the connection goes on: a typed
    /// error a client can act on.
    pub fn send_error(
        &mut self,
        id: u32,
        code: &str,
        message: &dyn core::fmt::Display,
    ) -> Result<(), ReplyError> {
        let mut frame = [0u8; ERROR_FRAME_MAX + HCHECK_LEN];
        let checked = self.checked;
        let n = encode_error_frame(id, code, message, &mut frame)
            .and_then(|n| match checked {
                true => header_check::add(&mut frame, n),
                false => Ok(n),
            })
            .map_err(ReplyError::Encode)?;
        self.send(&frame[..n])
    }

    /// Queues the head (prefix and header) of a frame of `payload_len` bytes; the payload
    /// goes after it with [`send`](Self::send), in as many pieces as the caller likes.
    pub fn send_head(&mut self, header: &Header<'_>, payload_len: u64) -> Result<(), ReplyError> {
        self.send_encoded(|out| encode_head(header, payload_len, out))
    }

    /// Queues what `encode` writes into a head-sized scratch on the stack: the ring
    /// buffer's free space may wrap, and the encoders want one slice.
    fn send_encoded(
        &mut self,
        encode: impl FnOnce(&mut [u8]) -> Result<usize, EncodeError>,
    ) -> Result<(), ReplyError> {
        let mut scratch = [0u8; HEAD_SCRATCH + HCHECK_LEN];
        let mut n = encode(&mut scratch[..HEAD_SCRATCH]).map_err(ReplyError::Encode)?;
        if self.checked {
            n = header_check::add(&mut scratch, n).map_err(ReplyError::Encode)?;
        }
        self.send(&scratch[..n])
    }
}

/// `limits` with headers capped at what an answer's head can hold: heads are encoded in a
/// [`HEAD_SCRATCH`]-byte stack scratch. Both drivers (TCP [`Connection`](crate::Connection)
/// and byte-port [`Port`](crate::Port)) decode with these limits.
pub(crate) fn capped(limits: Limits) -> Limits {
    Limits {
        max_header: limits.max_header.min(HEAD_SCRATCH - sockframe::PREFIX_LEN),
        ..limits
    }
}
