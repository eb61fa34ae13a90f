//! The interface between the driver and what a connection does: [`Handler`] and [`Reply`].

use smoltcp::socket::tcp;
use sockframe::io::HEAD_SCRATCH;
use sockframe::{EncodeError, Event, Header, Limits, encode_head, encode_limits_pong};

/// What a [`Connection`](crate::Connection) does with each decoded event.
pub trait Handler {
    /// Handles one event, queueing any answer into `reply`.
    ///
    /// `reply` grants all the free send buffer ([`Reply::budget`]), at least
    /// [`reserve`](Self::reserve) of the bytes the event took on the wire. An error makes
    /// the driver abort the connection (a reset), because a half-written answer would
    /// corrupt the stream.
    fn on_event(&mut self, event: Event<'_>, reply: &mut Reply<'_, '_>) -> Result<(), ReplyError>;

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
}

/// The room in a socket's send buffer granted to the answer to one event.
///
/// Everything written here is queued whole, in order: the driver checked the room before
/// handing out the event.
pub struct Reply<'s, 'a> {
    socket: &'s mut tcp::Socket<'a>,
    budget: usize,
    raw: &'s [u8],
    limits: Limits,
}

impl<'s, 'a> Reply<'s, 'a> {
    /// Grants `budget` bytes of `socket`'s send buffer (the caller checked they are free)
    /// to the answer to the event decoded from `raw`, on a connection with `limits`.
    pub(crate) fn new(
        socket: &'s mut tcp::Socket<'a>,
        budget: usize,
        raw: &'s [u8],
        limits: Limits,
    ) -> Self {
        Reply {
            socket,
            budget,
            raw,
            limits,
        }
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
        // Cannot fall short: the driver checked that `budget` bytes are free (and may_send).
        let queued = self.socket.send_slice(bytes).unwrap_or(0);
        debug_assert_eq!(queued, bytes.len());
        self.budget -= queued;
        Ok(())
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
        let mut scratch = [0u8; HEAD_SCRATCH];
        let n = encode(&mut scratch).map_err(ReplyError::Encode)?;
        self.send(&scratch[..n])
    }
}
