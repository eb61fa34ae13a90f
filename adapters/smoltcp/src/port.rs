//! The driver for a byte port (a UART, any [`embedded_io`] device): the same [`Handler`] as
//! on TCP, in poll style, so one firmware main loop serves sockets and a port together.

use crate::reply::{BufSink, Handler, Reply, ReplyError};
use embedded_io::{Read, ReadReady, Write, WriteReady};
use sockframe::header_check::HCHECK_LEN;
use sockframe::resync::{Resync, Skipped};
use sockframe::{ERROR_FRAME_MAX, Limits, encode_error_text_with_check};

/// The error code sent when a handler fails on a port (its partial answer is dropped).
pub const HANDLER_FAILED: &str = "handler-failed";

/// The most an ERROR frame the driver writes takes: with its header check.
const ERROR_MAX: usize = ERROR_FRAME_MAX + HCHECK_LEN;

/// One sockframe link over a byte port: the core's resynchronising receiver
/// ([`sockframe::resync`], spec section 9.1) over an `N`-byte buffer, and an `OUT`-byte
/// output buffer the handler's answers go into before they are written out.
///
/// A link has no connection to close, so:
/// - noise, a board's boot text, damaged or cut frames and frames without the header check
///   are skipped: counted ([`skipped`](Self::skipped), [`last_skip`](Self::last_skip)),
///   never answered, and the link resumes at the next intact frame. A streamed frame
///   dropped midway (its checksum failed, its trailer was lost) restarts the handler
///   ([`Handler::on_close`], then [`Handler::on_open`]) so it forgets that frame;
/// - [`ReplyError::Close`] (e.g. [`Reply::error_then_close`]): the answer is sent, then the
///   link restarts: the handler's hooks, and received bytes not yet decoded are dropped;
/// - any other handler error: its partial answer is dropped (it was only buffered), an
///   ERROR frame with code [`HANDLER_FAILED`] is sent, then the link restarts.
///
/// Every frame the handler encodes through its [`Reply`] and every ERROR frame the driver
/// sends carries the header check (the spec's rule for links); forwarded frames keep their
/// sender's.
///
/// `OUT` must hold `handler.reserve(N)` and an ERROR frame with its check
/// ([`ERROR_FRAME_MAX`](sockframe::ERROR_FRAME_MAX) + 4 bytes); checked on every poll.
pub struct Port<const N: usize, const OUT: usize> {
    receiver: Resync<[u8; N]>,
    out: [u8; OUT],
    /// `out[start..end]` waits to be written.
    start: usize,
    end: usize,
    opened: bool,
    restarts: u32,
    last_skip: Option<Skipped>,
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
            receiver: Resync::with_limits([0; N], limits),
            out: [0; OUT],
            start: 0,
            end: 0,
            opened: false,
            restarts: 0,
            last_skip: None,
        }
    }

    /// How many times the link restarted (a handler's close or failure, a dropped stream).
    pub fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Bytes received and skipped so far: not part of an intact frame.
    pub fn skipped(&self) -> u64 {
        self.receiver.skipped_total()
    }

    /// The last run of skipped bytes reported, with why (for logs).
    pub fn last_skip(&self) -> Option<Skipped> {
        self.last_skip
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
            OUT >= handler.reserve(N) && OUT >= ERROR_MAX,
            "sockframe-smoltcp: port output buffer ({OUT} B) smaller than the answer to a \
             full decoder buffer ({} B) or a checked error frame ({ERROR_MAX} B)",
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
            if self.receiver.read_buf().is_empty() || !port.read_ready()? {
                // Nothing to read now.
            } else {
                let n = port.read(self.receiver.read_buf())?;
                self.receiver.commit(n);
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
    /// answers (an event cannot be put back). Not inlined: a call per poll, 24 B less flash.
    #[inline(never)]
    fn answer<H: Handler>(&mut self, handler: &mut H) -> bool {
        let mut moved = false;
        loop {
            let free = OUT - self.end;
            // Room for the answer, or for the ERROR frame that replaces it.
            if free < handler.reserve(self.receiver.buffered()).max(ERROR_MAX) {
                return moved;
            }
            let limits = self.receiver.accepted();
            if let Some(skipped) = self.receiver.next_skipped() {
                self.last_skip = Some(skipped);
                if skipped.ends_stream {
                    // The handler saw the frame's start: it must forget it.
                    self.restarts = self.restarts.wrapping_add(1);
                    handler.on_close();
                    handler.on_open();
                }
                moved = true;
                continue;
            }
            let Some((event, raw)) = self.receiver.next_decoded() else {
                return moved;
            };
            let mut sink = BufSink::new(&mut self.out[self.end..]);
            let mut reply = Reply::new(&mut sink, free, raw, limits).with_header_check();
            let result = handler.on_event(event, &mut reply);
            let written = sink.filled().len();
            let outcome = match result {
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
            };
            moved = true;
            if let Some(code) = outcome {
                if let Some(code) = code {
                    // The handler's answer was dropped; `free` is at least an ERROR frame
                    // with its check (checked above).
                    let out = &mut self.out[self.end..];
                    let n = encode_error_text_with_check(0, code, "the handler failed", true, out)
                        .unwrap_or(0);
                    self.end += n;
                }
                self.restart(handler);
                return true;
            }
        }
    }

    /// The port's "close": the receiver drops what it holds, the handler starts afresh.
    fn restart<H: Handler>(&mut self, handler: &mut H) {
        self.receiver.reset();
        self.restarts = self.restarts.wrapping_add(1);
        handler.on_close();
        handler.on_open();
    }
}

impl<const N: usize, const OUT: usize> core::fmt::Debug for Port<N, OUT> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Port")
            .field("skipped", &self.skipped())
            .field("pending", &self.pending())
            .field("restarts", &self.restarts)
            .finish()
    }
}
