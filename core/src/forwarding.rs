//! What a relay or an echo that forwards frames cut-through owes its peer when its input
//! fails (spec, section 6.1): once a frame's head has gone out, only that frame's own bytes
//! may follow, so the frame is finished with filler and an ABORT if it has a trailer, or
//! the connection is closed without an error frame (which would read as payload) if not.
//!
//! ```
//! use sockframe::{Decoder, Event, Header, Forwarding, Ending, encode_head};
//!
//! let mut wire = [0u8; 64];
//! let n = encode_head(&Header::data(6, b"").with_trailer(), 5, &mut wire).unwrap();
//! let mut dec = Decoder::new([0u8; 64]);
//! dec.feed(&wire[..n]);
//! dec.feed(b"ab"); // 2 of 5 payload bytes, then the input ends
//! let mut fwd = Forwarding::default();
//! while let Some(ev) = dec.next_event().unwrap() {
//!     fwd.track(&ev);
//! }
//! assert_eq!(fwd.ending(), Ending::Abort { id: 6, filler: 3 });
//! ```

use crate::decoder::Event;

/// Follows the events a forwarder has passed on, to know how to end the frame in progress.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Forwarding {
    /// The streamed frame whose head went out: id, trailer announced, payload bytes left.
    open: Option<(u32, bool, u64)>,
}

/// How a forwarder ends after its input failed (or ended) with an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Ending {
    /// Nothing of a frame is out: send the ERROR frame, then close.
    Error,
    /// Frame `id` (with a trailer) is out: send `filler` zero bytes, its ABORT
    /// ([`encode_decode_abort`](crate::encode_decode_abort)), the ERROR frame, then close.
    Abort {
        /// The frame's id.
        id: u32,
        /// Payload bytes still owed.
        filler: u64,
    },
    /// A frame without a trailer is out and cut inside its payload: close, sending nothing.
    Close,
}

impl Forwarding {
    /// Notes an event that was forwarded.
    pub fn track(&mut self, event: &Event<'_>) {
        match event {
            Event::Start(h) => self.open = Some((h.id, h.has_trailer(), h.len)),
            Event::Chunk(c) => {
                if let Some((_, _, left)) = self.open.as_mut() {
                    *left = left.saturating_sub(c.len() as u64);
                }
            }
            Event::End | Event::Abort(_) => self.open = None,
            Event::Frame(_) => {}
        }
    }

    /// Whether a streamed frame's head has gone out and its end has not.
    pub fn in_frame(&self) -> bool {
        self.open.is_some()
    }

    /// How to end if the input fails now.
    pub fn ending(&self) -> Ending {
        match self.open {
            Some((id, true, filler)) => Ending::Abort { id, filler },
            Some((_, false, left)) if left > 0 => Ending::Close,
            _ => Ending::Error,
        }
    }
}
