//! The interface between the driver and what a connection does: [`Handler`] and [`Reply`].

use smoltcp::socket::tcp;
use sockframe::io::HEAD_SCRATCH;
use sockframe::{EncodeError, Event, Header, encode_head};

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
}

impl<'s, 'a> Reply<'s, 'a> {
    /// Grants `budget` bytes of `socket`'s send buffer; the caller checked they are free.
    pub(crate) fn new(socket: &'s mut tcp::Socket<'a>, budget: usize) -> Self {
        Reply { socket, budget }
    }

    /// Bytes that may still be queued.
    pub fn budget(&self) -> usize {
        self.budget
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
        // Encoded beside the stack, not in the socket buffer: the ring buffer's free space
        // may wrap, and encode_head wants one slice.
        let mut scratch = [0u8; HEAD_SCRATCH];
        let n = encode_head(header, payload_len, &mut scratch).map_err(ReplyError::Encode)?;
        self.send(&scratch[..n])
    }
}
