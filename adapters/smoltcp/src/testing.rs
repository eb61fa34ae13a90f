//! Host-test helpers: run a [`Handler`] without sockets or hardware.
//!
//! [`MemPort`] is an in-memory byte port (input bytes to read, an output buffer written),
//! taking at most a given number of bytes per read and write, to drive a
//! [`Port`](crate::Port) the way a slow UART would:
//!
//! ```
//! use sockframe_smoltcp::testing::MemPort;
//! use sockframe_smoltcp::{Echo, Port};
//!
//! let mut wire = [0u8; 64];
//! let header = sockframe::Header::data(1, b"hi").with_header_check(); // a link's frame
//! let n = sockframe::encode_frame(&header, b"hi", &mut wire).unwrap();
//! let mut out = [0u8; 256];
//! let mut port = MemPort::new(&wire[..n], &mut out, 3);
//! let mut link = Port::<512, 1024>::new();
//! while link.poll(&mut port, &mut Echo).unwrap() {}
//! assert_eq!(port.written(), &wire[..n]);
//! ```

use core::convert::Infallible;
use embedded_io::{ErrorType, Read, ReadReady, Write, WriteReady};

#[allow(unused_imports)] // for the docs
use crate::Handler;

/// An in-memory byte port: reads come from `input`, writes go into `output`, at most
/// `chunk` bytes per call. It is never ready to write once `output` is full.
#[derive(Debug)]
pub struct MemPort<'a> {
    input: &'a [u8],
    read: usize,
    output: &'a mut [u8],
    written: usize,
    chunk: usize,
}

impl<'a> MemPort<'a> {
    /// A port that will deliver `input`, and write into `output`, `chunk` bytes at a time
    /// (at least 1).
    pub fn new(input: &'a [u8], output: &'a mut [u8], chunk: usize) -> Self {
        MemPort {
            input,
            read: 0,
            output,
            written: 0,
            chunk: chunk.max(1),
        }
    }

    /// The bytes written so far.
    pub fn written(&self) -> &[u8] {
        &self.output[..self.written]
    }

    /// Input bytes not read yet.
    pub fn unread(&self) -> usize {
        self.input.len() - self.read
    }

    /// Replaces the input still to deliver (the next bytes "arriving").
    pub fn feed(&mut self, input: &'a [u8]) {
        self.input = input;
        self.read = 0;
    }
}

impl ErrorType for MemPort<'_> {
    type Error = Infallible;
}

impl Read for MemPort<'_> {
    fn read(&mut self, buf: &mut [u8]) -> Result<usize, Infallible> {
        let n = buf.len().min(self.chunk).min(self.unread());
        buf[..n].copy_from_slice(&self.input[self.read..self.read + n]);
        self.read += n;
        Ok(n)
    }
}

impl ReadReady for MemPort<'_> {
    fn read_ready(&mut self) -> Result<bool, Infallible> {
        Ok(self.unread() > 0)
    }
}

impl Write for MemPort<'_> {
    fn write(&mut self, buf: &[u8]) -> Result<usize, Infallible> {
        let n = buf
            .len()
            .min(self.chunk)
            .min(self.output.len() - self.written);
        self.output[self.written..self.written + n].copy_from_slice(&buf[..n]);
        self.written += n;
        Ok(n)
    }

    fn flush(&mut self) -> Result<(), Infallible> {
        Ok(())
    }
}

impl WriteReady for MemPort<'_> {
    fn write_ready(&mut self) -> Result<bool, Infallible> {
        Ok(self.written < self.output.len())
    }
}
