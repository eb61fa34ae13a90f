//! The driver: one sockframe connection over one smoltcp TCP socket, in smoltcp's poll style.

use crate::reply::{Handler, Reply, ReplyError};
use smoltcp::socket::tcp;
use sockframe::{
    DecodeError, Decoder, ERROR_FRAME_MAX, Ending, Forwarding, Limits, encode_decode_abort,
    encode_decode_error,
};

/// Where the connection is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Decoding and answering.
    Open,
    /// The input was bad or cut: what is owed to the peer (an [`Ending`]) is being queued,
    /// `sent` bytes of it so far. Its frames are encoded again from the decoder's error on
    /// every poll, so they take no RAM.
    Failing { sent: u64 },
    /// Our side is closed (or aborted); input is discarded until the socket is done.
    Closing,
}

/// Whether a step moved anything.
enum Step {
    Progress,
    Wait,
}

/// The state of one connection: the core's decoder over an `N`-byte buffer, and a phase.
///
/// `N` is the largest frame (prefix, header, payload) delivered whole; larger frames pass
/// through as chunks. An event is handed out only when the send buffer has room for the
/// answer to everything buffered in the decoder ([`Handler::reserve`]; inside a streamed
/// frame, [`Handler::reserve_streamed`]), so the socket's send buffer must hold at least the
/// answer to `N` bytes (`N` + 61 for the echo; checked on every poll).
///
/// Reset it with [`reset`](Self::reset) whenever its socket listens for a new connection.
#[repr(C)]
pub struct Connection<const N: usize> {
    /// Whether [`Handler::on_open`] was called and [`Handler::on_close`] is owed.
    opened: bool,
    phase: Phase,
    /// The streamed frame in progress, to end it as the spec says if the input fails.
    forwarding: Forwarding,
    /// Last (`repr(C)`): the fields before it, and the decoder's own (its buffer is its
    /// last), are at small offsets, which a 32-bit core reaches with short instructions.
    decoder: Decoder<[u8; N]>,
}

impl<const N: usize> Default for Connection<N> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize> Connection<N> {
    /// A connection with the core's default limits (512-byte headers, 64 MiB payloads).
    pub fn new() -> Self {
        Self::with_limits(Limits::DEFAULT)
    }

    /// A connection with the given limits. Headers are capped at 512 bytes whatever
    /// `limits` says, because answers' heads are encoded in a 512-byte stack scratch.
    pub fn with_limits(limits: Limits) -> Self {
        let limits = crate::reply::capped(limits);
        Connection {
            decoder: Decoder::with_limits([0; N], limits),
            phase: Phase::Open,
            forwarding: Forwarding::default(),
            opened: false,
        }
    }

    /// Forgets the previous connection; call when the socket listens again. The handler's
    /// [`on_close`](Handler::on_close) for it, if owed, comes on the next
    /// [`poll_socket`](Self::poll_socket).
    pub fn reset(&mut self) {
        self.decoder.reset();
        self.phase = Phase::Open;
        self.forwarding = Forwarding::default();
    }

    /// The decoding error that ended this connection, if one did (for logs).
    pub fn error(&self) -> Option<sockframe::DecodeError> {
        self.decoder.error()
    }

    /// Moves as much as possible between `socket` and `handler`; call after every
    /// `Interface::poll`. Returns true if anything moved (then poll the interface again
    /// before sleeping, to send what was queued).
    ///
    /// Ends the connection by itself: after the peer's FIN and the last answer it closes
    /// the socket; after bad input it queues the error frame (for a handler that
    /// [`forwards`](Handler::forwards), what the spec's section 6.1 says), then closes. It
    /// never calls `listen`: the owner does that once the socket is no longer open.
    ///
    /// # Panics
    /// If the socket's send buffer is smaller than `handler.reserve(N)` (`N` + 61 for the
    /// echo): the connection could stall.
    pub fn poll_socket<H: Handler>(
        &mut self,
        socket: &mut tcp::Socket<'_>,
        handler: &mut H,
    ) -> bool {
        assert!(
            socket.send_capacity() >= handler.reserve(N),
            "sockframe-smoltcp: socket send buffer ({} B) smaller than the answer to a full \
             decoder buffer ({} B)",
            socket.send_capacity(),
            handler.reserve(N)
        );
        let mut moved = false;
        if self.opened && !socket.may_send() {
            self.opened = false;
            handler.on_close();
        }
        if !self.opened && socket.may_send() && self.phase == Phase::Open {
            self.opened = true;
            handler.on_open();
        }
        // Every step either moves bytes (finitely many are there) or returns Wait.
        loop {
            let step = match self.phase {
                Phase::Open => self.step_open(socket, handler),
                Phase::Failing { sent } => self.step_failing(socket, sent, handler.forwards()),
                Phase::Closing => discard_input(socket),
            };
            match step {
                Step::Progress => moved = true,
                Step::Wait => return moved,
            }
        }
    }

    /// One move while the input is good: hand out an event, or read, or see the end.
    /// Out of line: less flash in the board's TCP echo than inlined into its main loop.
    #[inline(never)]
    fn step_open<H: Handler>(&mut self, socket: &mut tcp::Socket<'_>, handler: &mut H) -> Step {
        if !socket.may_send() {
            // Not yet established (or already gone, which the owner sees as !is_open).
            return Step::Wait;
        }
        let free = socket.send_capacity() - socket.send_queue();
        // An event is at most the buffered bytes, and the handler says how large its answer
        // to that many bytes can be. Asking for an event only when that much is free means
        // the answer is never cut, and the event never has to be kept (it borrows the
        // decoder and is gone on the next call). Inside a streamed frame the next event is
        // a chunk or the trailer, so the handler's bound for those applies: for an echo
        // exactly the event, which the reads below keep within `free`. (With the echo's
        // 61-byte margin for a limits PONG there, each read that filled the send room
        // waited for 61 more bytes of ACKs before it went out: the send buffer filled in
        // uneven pieces and the bulk echo sent short TCP segments.)
        //
        // `next_event`, not `poll`, decides: it decodes a header as soon as the header is
        // in, so a fault after `len` is answered at the same byte as on the desktop, not
        // only once a payload byte or the end of the stream arrives.
        let buffered = self.decoder.buffered();
        let need = if self.forwarding.in_frame() {
            handler.reserve_streamed(buffered)
        } else {
            handler.reserve(buffered)
        };
        let asked = free >= need;
        if asked {
            let limits = self.decoder.accepted();
            match self.decoder.next_event_raw() {
                Ok(Some((event, raw))) => {
                    self.forwarding.track(&event);
                    match handler.on_event(event, &mut Reply::new(socket, free, raw, limits)) {
                        Ok(()) => {}
                        // The handler's answer is complete: send it, then FIN.
                        Err(ReplyError::Close) => self.close(socket),
                        Err(_) => {
                            // A partial answer may be queued: only a reset keeps the peer
                            // from reading a corrupt stream.
                            socket.abort();
                            self.phase = Phase::Closing;
                        }
                    }
                    return Step::Progress;
                }
                Ok(None) => {}
                Err(_) => return self.fail(),
            }
        }
        if socket.recv_queue() > 0 {
            // Read only what could be answered now: what the decoder holds plus what is
            // read must fit the free send space. The rest stays in the socket, and the
            // TCP window tells the peer to wait.
            let room = free.saturating_sub(self.decoder.buffered());
            let buf = self.decoder.read_buf();
            let want = buf.len().min(room);
            if want == 0 {
                return Step::Wait;
            }
            return match take_input(socket, Some(&mut buf[..want])) {
                0 => Step::Wait,
                n => {
                    self.decoder.commit(n);
                    Step::Progress
                }
            };
        }
        if asked && !socket.may_recv() {
            // The peer sent FIN and everything before it was decoded (the decoder had no
            // event left).
            return match self.decoder.finish() {
                Ok(()) => {
                    self.close(socket); // the FIN follows the answers already queued
                    Step::Progress
                }
                Err(_) => self.fail(),
            };
        }
        Step::Wait
    }

    /// Out of line: one copy for its two callers (less flash in the board's TCP echo).
    #[inline(never)]
    fn fail(&mut self) -> Step {
        self.phase = Phase::Failing { sent: 0 };
        Step::Progress
    }

    /// What the peer is owed after the decoder's fault: for a handler that forwards (an
    /// echo), the spec's section 6.1 ([`Forwarding::ending`]); for others, the ERROR frame.
    fn ending(&self, forwards: bool) -> Ending {
        if forwards {
            self.forwarding.ending()
        } else {
            Ending::Error
        }
    }

    /// Queues more of what the peer is owed ([`ending`](Self::ending)); once it is all
    /// queued, closes our side.
    ///
    /// Out of line: it runs once per bad peer, and inlined into the firmware's main loop it
    /// put its 640-byte frame buffer in that loop's stack frame (3,536 B against 2,960 B
    /// out of line) and cost flash in the board's TCP echo.
    #[inline(never)]
    fn step_failing(&mut self, socket: &mut tcp::Socket<'_>, sent: u64, forwards: bool) -> Step {
        let discarded = matches!(discard_input(socket), Step::Progress);
        if !socket.may_send() {
            // The peer is gone or has not connected: nobody to tell.
            self.close(socket);
            return Step::Progress;
        }
        let ending = self.ending(forwards);
        let filler = match ending {
            Ending::Abort { filler, .. } => filler,
            _ => 0,
        };
        // The filler goes out from `frames` before anything is encoded in it (zeros), then
        // the frames: one send per step (the driver steps again while bytes move).
        let mut frames = [0u8; 2 * ERROR_FRAME_MAX];
        let n = if sent < filler {
            let left = usize::try_from(filler - sent).unwrap_or(usize::MAX);
            socket.send_slice(frames.get(..left).unwrap_or(&frames))
        } else {
            let len = owed_frames(self.decoder.error(), ending, &mut frames);
            // Fits usize: what was sent past the filler is less than the frames' length.
            let at = (sent - filler) as usize;
            let n = match frames.get(at..len) {
                Some(rest) => socket.send_slice(rest).unwrap_or(0),
                None => 0,
            };
            if at + n >= len {
                self.close(socket);
                return Step::Progress;
            }
            Ok(n)
        }
        .unwrap_or(0);
        self.phase = Phase::Failing {
            sent: sent + n as u64,
        };
        if discarded || n > 0 {
            Step::Progress
        } else {
            Step::Wait
        }
    }

    /// Closes our side (FIN after what is queued). Out of line, and called for every close
    /// the driver decides (less flash in the board's TCP echo than inlined).
    #[inline(never)]
    fn close(&mut self, socket: &mut tcp::Socket<'_>) {
        socket.close();
        self.phase = Phase::Closing;
    }
}

/// Encodes the frames owed after `err` as `ending` says (an ABORT, the ERROR frame) into
/// `frames`; returns their length.
fn owed_frames(
    err: Option<DecodeError>,
    ending: Ending,
    frames: &mut [u8; 2 * ERROR_FRAME_MAX],
) -> usize {
    let mut len = 0;
    if let Some(err) = err {
        if let Ending::Abort { id, .. } = ending {
            len += encode_decode_abort(id, &err, frames).unwrap_or(0);
        }
        if ending != Ending::Close {
            // Id 0: the error belongs to the stream, not to a frame.
            len += encode_decode_error(0, &err, frames.get_mut(len..).unwrap_or_default())
                .unwrap_or(0);
        }
    }
    len
}

/// After an error or our close, input has no reader: drop it so a peer still writing is
/// not left blocked on a closed window.
fn discard_input(socket: &mut tcp::Socket<'_>) -> Step {
    match take_input(socket, None) {
        0 => Step::Wait,
        _ => Step::Progress,
    }
}

/// Takes the bytes at the front of the socket's receive ring, as many as fit `into` (read
/// into it), or all of them if there is no `into` (dropped): the contiguous part of the ring
/// only (a wrapped rest comes on the next call). Returns how many were taken. One reader
/// for both (one copy of smoltcp's receive path in the image).
#[inline(never)]
fn take_input(socket: &mut tcp::Socket<'_>, into: Option<&mut [u8]>) -> usize {
    socket
        .recv(|data| {
            let n = match into {
                Some(buf) => {
                    let n = data.len().min(buf.len());
                    buf[..n].copy_from_slice(&data[..n]);
                    n
                }
                None => data.len(),
            };
            (n, n)
        })
        .unwrap_or(0)
}

impl<const N: usize> core::fmt::Debug for Connection<N> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("decoder", &self.decoder)
            .field("phase", &self.phase)
            .finish()
    }
}
