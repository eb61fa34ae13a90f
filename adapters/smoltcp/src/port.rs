//! The driver for a byte port (a UART, any [`embedded_io`] device): the same [`Handler`] as
//! on TCP, in poll style, so one firmware main loop serves sockets and a port together.

use crate::reply::{BufSink, Handler, Reply, ReplyError};
use embedded_io::{Read, ReadReady, Write, WriteReady};
use sockframe::{
    DecodeError, Decoder, ERROR_FRAME_MAX, Limits, encode_decode_error, encode_error_text,
};

/// The error code sent when a handler fails on a port (its partial answer is dropped).
pub const HANDLER_FAILED: &str = "handler-failed";

/// One sockframe link over a byte port: the core's decoder over an `N`-byte buffer, and an
/// `OUT`-byte output buffer the handler's answers go into before they are written out.
///
/// A port has no connection to close, so what ends a TCP connection restarts the link
/// here ([`Handler::on_close`], then [`Handler::on_open`], with an empty decoder, so
/// received bytes not yet decoded are dropped):
/// - bad input (a bad magic, a huge length, a bad checksum...): the core's ERROR frame
///   (id 0, its numbers as metadata) is sent, then the link restarts;
/// - [`ReplyError::Close`] (e.g. [`Reply::error_then_close`]): the answer is sent, then
///   the link restarts;
/// - any other handler error: its partial answer is dropped (it was only buffered), an
///   ERROR frame with code [`HANDLER_FAILED`] is sent, then the link restarts.
///
/// Until the core's resynchronising receiver exists, a restart resumes decoding at the
/// next byte received, which must be the start of a frame (a peer that saw the ERROR frame
/// starts over). A frame streamed cut-through by a forwarding handler ([`Handler::forwards`])
/// and cut by bad input is not finished with filler and an ABORT as on TCP: its reader
/// reads the ERROR frame as payload.
///
/// `OUT` must hold `handler.reserve(N)` and an ERROR frame
/// ([`ERROR_FRAME_MAX`](sockframe::ERROR_FRAME_MAX), 320 bytes); checked on every poll.
pub struct Port<const N: usize, const OUT: usize> {
    decoder: Decoder<[u8; N]>,
    out: [u8; OUT],
    /// `out[start..end]` waits to be written.
    start: usize,
    end: usize,
    opened: bool,
    restarts: u32,
    last_error: Option<DecodeError>,
}

impl<const N: usize, const OUT: usize> Default for Port<N, OUT> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const OUT: usize> Port<N, OUT> {
    /// A link with the core's default limits (headers capped at 512 bytes, as on TCP).
    pub fn new() -> Self {
        Self::with_limits(Limits::DEFAULT)
    }

    /// A link with the given limits (headers capped at 512 bytes).
    pub fn with_limits(limits: Limits) -> Self {
        let limits = crate::reply::capped(limits);
        Port {
            decoder: Decoder::with_limits([0; N], limits),
            out: [0; OUT],
            start: 0,
            end: 0,
            opened: false,
            restarts: 0,
            last_error: None,
        }
    }

    /// How many times the link restarted (bad input, a handler's close or failure).
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// The decoding error of the last restart caused by bad input (for logs).
    pub fn last_error(&self) -> Option<DecodeError> {
        self.last_error
    }

    /// Bytes of answers buffered, not yet written to the port.
    pub fn pending(&self) -> usize {
        self.end - self.start
    }

    /// Moves as much as possible between `port` and `handler` without blocking: reads only
    /// while the port is [`read_ready`](ReadReady::read_ready), writes only while it is
    /// [`write_ready`](WriteReady::write_ready). Call it from the main loop (on the port's
    /// interrupt, or every iteration). Returns true if anything moved; an error is the
    /// port's own (the link's state is kept, poll again when the port recovers).
    ///
    /// # Panics
    /// If `OUT` is smaller than `handler.reserve(N)` or than an ERROR frame.
    pub fn poll<P, H>(&mut self, port: &mut P, handler: &mut H) -> Result<bool, P::Error>
    where
        P: Read + ReadReady + Write + WriteReady,
        H: Handler,
    {
        assert!(
            OUT >= handler.reserve(N) && OUT >= ERROR_FRAME_MAX,
            "sockframe-smoltcp: port output buffer ({OUT} B) smaller than the answer to a \
             full decoder buffer ({} B) or an error frame ({ERROR_FRAME_MAX} B)",
            handler.reserve(N)
        );
        if !self.opened {
            self.opened = true;
            handler.on_open();
        }
        let mut moved = false;
        loop {
            let mut step = self.flush(port)?;
            step |= self.answer(handler);
            if self.decoder.read_buf().is_empty() || !port.read_ready()? {
                // Nothing to read now.
            } else {
                let n = port.read(self.decoder.read_buf())?;
                self.decoder.commit(n);
                step |= n > 0;
            }
            if !step {
                return Ok(moved);
            }
            moved = true;
        }
    }

    /// Writes buffered answers while the port takes them.
    fn flush<P: Write + WriteReady>(&mut self, port: &mut P) -> Result<bool, P::Error> {
        let mut moved = false;
        while self.start < self.end && port.write_ready()? {
            let n = port.write(&self.out[self.start..self.end])?;
            if n == 0 {
                break;
            }
            self.start += n;
            moved = true;
        }
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        Ok(moved)
    }

    /// Hands decoded events to the handler while the output buffer has room for their
    /// answers (an event cannot be put back).
    fn answer<H: Handler>(&mut self, handler: &mut H) -> bool {
        let mut moved = false;
        loop {
            let free = OUT - self.end;
            // Room for the answer, or for the ERROR frame that replaces it.
            if free
                < handler
                    .reserve(self.decoder.buffered())
                    .max(ERROR_FRAME_MAX)
            {
                return moved;
            }
            let limits = self.decoder.accepted();
            let outcome = match self.decoder.next_event_raw() {
                Ok(Some((event, raw))) => {
                    let mut sink = BufSink::new(&mut self.out[self.end..]);
                    let result =
                        handler.on_event(event, &mut Reply::new(&mut sink, free, raw, limits));
                    let written = sink.filled().len();
                    match result {
                        Ok(()) => {
                            self.end += written;
                            None
                        }
                        Err(ReplyError::Close) => {
                            self.end += written;
                            Some(None)
                        }
                        // The partial answer is dropped: it was never written out.
                        Err(_) => Some(Some(HANDLER_FAILED)),
                    }
                }
                Ok(None) => return moved,
                Err(err) => {
                    self.last_error = Some(err);
                    // Fits: `free` is at least an ERROR frame (checked above).
                    let n = encode_decode_error(0, &err, &mut self.out[self.end..]).unwrap_or(0);
                    self.end += n;
                    self.restart(handler);
                    return true;
                }
            };
            moved = true;
            match outcome {
                None => {}
                Some(code) => {
                    if let Some(code) = code {
                        // The handler's answer was dropped; `free` is at least an ERROR
                        // frame (checked above).
                        let n = encode_error_text(
                            0,
                            code,
                            "the handler failed",
                            &mut self.out[self.end..],
                        )
                        .unwrap_or(0);
                        self.end += n;
                    }
                    self.restart(handler);
                    return true;
                }
            }
        }
    }

    /// The port's "close": a fresh decoder and a fresh connection for the handler.
    fn restart<H: Handler>(&mut self, handler: &mut H) {
        self.decoder.reset();
        self.restarts = self.restarts.wrapping_add(1);
        handler.on_close();
        handler.on_open();
    }
}

impl<const N: usize, const OUT: usize> core::fmt::Debug for Port<N, OUT> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Port")
            .field("decoder", &self.decoder)
            .field("pending", &self.pending())
            .field("restarts", &self.restarts)
            .finish()
    }
}
