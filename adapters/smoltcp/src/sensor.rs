//! An example firmware service written as a [`Handler`]: a small sensor, served the same
//! way on a TCP pool ([`Service`](crate::Service)) and a UART ([`Port`](crate::Port)).
//!
//! Requests are whole frames (streamed frames are refused):
//! - [`READ`]: answered with a [`VALUE`] frame of the same id whose payload is the
//!   current reading, a little-endian `u32` (a counter stepping by the rate here; a real
//!   firmware reads its ADC);
//! - [`SET_RATE`] with a 4-byte little-endian rate from 1 to [`MAX_RATE`]: answered with an
//!   empty [`ACK`]; an out-of-range or malformed rate gets an ERROR frame (`code` = `bad-rate`)
//!   for that id, and the connection goes on;
//! - any other kind: an ERROR frame (`code` = `unknown-kind`), then the connection ends
//!   ([`Reply::error_then_close`]; on a port, the link restarts).
//!
//! ```
//! use sockframe::{Header, Kind, encode_frame};
//! use sockframe_smoltcp::sensor::{READ, Sensor, VALUE};
//! use sockframe_smoltcp::{Port, testing::MemPort};
//!
//! let mut wire = [0u8; 32];
//! // On a link, every frame carries the header check (spec section 9).
//! let n = encode_frame(&Header::new(READ, 7, 0).with_header_check(), b"", &mut wire).unwrap();
//! let mut out = [0u8; 64];
//! let mut port = MemPort::new(&wire[..n], &mut out, 8);
//! let (mut link, mut sensor) = (Port::<256, 1024>::new(), Sensor::new());
//! while link.poll(&mut port, &mut sensor).unwrap() {}
//! let mut dec = sockframe::Decoder::new([0u8; 64]);
//! dec.read_buf()[..port.written().len()].copy_from_slice(port.written());
//! dec.commit(port.written().len());
//! let Some(sockframe::Event::Frame(f)) = dec.next_event().unwrap() else { panic!() };
//! assert_eq!((f.header.kind, f.header.id, f.payload), (VALUE, 7, &1u32.to_le_bytes()[..]));
//! ```

use crate::reply::{Handler, Reply, ReplyError};
use sockframe::{ERROR_FRAME_MAX, Event, Header, Kind};

/// Request: the current reading.
pub const READ: Kind = Kind(64);
/// Request: set the sampling rate (payload: `u32` little-endian).
pub const SET_RATE: Kind = Kind(65);
/// Answer to [`READ`]: the reading (`u32` little-endian).
pub const VALUE: Kind = Kind(66);
/// Answer to [`SET_RATE`]: empty.
pub const ACK: Kind = Kind(67);
/// The highest rate accepted.
pub const MAX_RATE: u32 = 1000;

/// The sensor service: its state is the device's (shared by all connections).
#[derive(Debug, Clone)]
pub struct Sensor {
    rate: u32,
    value: u32,
    /// Connections opened so far (for logs).
    pub opened: u32,
}

impl Default for Sensor {
    fn default() -> Self {
        Self::new()
    }
}

impl Sensor {
    /// A sensor sampling at rate 1.
    pub fn new() -> Self {
        Sensor {
            rate: 1,
            value: 0,
            opened: 0,
        }
    }

    /// The current rate.
    pub fn rate(&self) -> u32 {
        self.rate
    }
}

impl Handler for Sensor {
    fn on_open(&mut self) {
        self.opened = self.opened.wrapping_add(1);
    }

    /// Answers are at most an ERROR frame, whatever the request.
    fn reserve(&self, event_len: usize) -> usize {
        event_len.max(ERROR_FRAME_MAX + sockframe::header_check::HCHECK_LEN)
    }

    fn on_event(&mut self, event: Event<'_>, reply: &mut Reply<'_, '_>) -> Result<(), ReplyError> {
        let frame = match event {
            Event::Frame(f) => f,
            Event::Start(h) => {
                return Err(reply.error_then_close(
                    h.id,
                    "too-large",
                    &"requests are whole frames",
                ));
            }
            // The rest of a refused stream never comes: the connection ended.
            _ => return Ok(()),
        };
        let id = frame.header.id;
        match frame.header.kind {
            READ => {
                self.value = self.value.wrapping_add(self.rate);
                let value = self.value.to_le_bytes();
                reply.send_head(&Header::new(VALUE, id, 4), 4)?;
                reply.send(&value)
            }
            SET_RATE => match <[u8; 4]>::try_from(frame.payload).map(u32::from_le_bytes) {
                Ok(rate @ 1..=MAX_RATE) => {
                    self.rate = rate;
                    reply.send_head(&Header::new(ACK, id, 0), 0)
                }
                Ok(rate) => reply.send_error(
                    id,
                    "bad-rate",
                    &format_args!("rate {rate}, allowed 1 to {MAX_RATE}"),
                ),
                Err(_) => reply.send_error(
                    id,
                    "bad-rate",
                    &format_args!("rate is {} bytes, expected 4", frame.payload.len()),
                ),
            },
            // Spec: PING and other protocol kinds are the driver's business only for echo;
            // this service refuses everything it does not know.
            Kind(k) => Err(reply.error_then_close(
                id,
                "unknown-kind",
                &format_args!("kind {k} is not a sensor request"),
            )),
        }
    }
}
