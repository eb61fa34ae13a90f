//! # sockframe
//!
//! Whole messages over a byte stream (TCP, a UART, anything with [`embedded_io`]), with one
//! wire format from a Cortex-M board to a desktop. `no_std`, no allocator.
//!
//! A frame is a fixed 5-byte [prefix] (magic, version, header length), a postcard-encoded
//! [`Header`] (kind, id, payload length, flags, optional name and CRC-32C, key/value
//! metadata), then the payload:
//!
//! ```text
//! +------+------+---------+------------+--------------------+-------------------+
//! | 0xF5 | 0x46 | version | header_len |  header (postcard) |  payload          |
//! |      |      |  0x01   | u16 LE     |  header_len bytes  |  header.len bytes |
//! +------+------+---------+------------+--------------------+-------------------+
//! ```
//!
//! The full specification, with golden vectors, is `docs/wire-format.md`.
//!
//! - Receive with the sans-IO [`Decoder`], or with [`io::read_event`] /
//!   [`io_async::read_event`] on top of it.
//! - Send with [`encode_frame`] / [`encode_head`] into a buffer, or [`io::write_frame`] /
//!   [`io_async::write_frame`].
//!
//! ```
//! use sockframe::{Decoder, Event, Header, encode_frame};
//!
//! let mut wire = [0u8; 64];
//! let header = Header::data(42, b"hello").with_name("greeting");
//! let n = encode_frame(&header, b"hello", &mut wire).unwrap();
//!
//! let mut dec = Decoder::new([0u8; 128]);
//! dec.feed(&wire[..n]);
//! let Some(Event::Frame(frame)) = dec.next_event().unwrap() else { panic!() };
//! assert_eq!(frame.header.name, Some("greeting"));
//! assert_eq!(frame.payload, b"hello");
//! ```
//!
//! ## Cargo features
//! - `std`: `std::io::Error` support in the embedded-io traits used by [`io`] and [`io_async`].
//! - `defmt`: derives `defmt::Format` on every public type, for logging on a board.
//! - `small`: trades speed for flash (a 64-byte CRC table, the header reader out of line).
//! - `terse`: error frames of decode errors carry `code: key=value ...` instead of a sentence
//!   (about 1.4 KiB less flash; the same numbers reach the peer; `Display` keeps the sentences).
#![no_std]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod checksum;
mod decoder;
mod echo;
mod encoder;
mod error;
mod faults;
mod forwarding;
mod header;
pub mod header_check;
pub mod io;
pub mod io_async;
mod metadata;
pub mod prefix;
mod reader;
mod report;
pub mod resync;
mod text;
mod writer;

pub use decoder::{Decoder, Event, Found, Frame, Limits, Splitter};
pub use echo::{ECHO_SCRATCH, EchoReply, echo_reply};
pub use encoder::{ERROR_MESSAGE_MAX, encode_error_frame, encode_frame, encode_head};
pub use error::{DecodeError, EncodeError, Error, Stage};
pub use forwarding::{Ending, Forwarding};
pub use header::{Flags, Header, Kind};
pub use metadata::{MAX_META, Metadata};
pub use prefix::{MAGIC, PREFIX_LEN, VERSION};
pub use report::{
    ABORT_MESSAGE_MAX, Detail, Details, ERROR_FRAME_MAX, encode_abort, encode_decode_abort,
    encode_decode_error, encode_end, encode_error_text, encode_error_text_with_check,
    encode_limits_pong,
};
