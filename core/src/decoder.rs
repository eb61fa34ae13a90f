//! The frame state machine: bytes in, events out. No I/O, no allocation.
//!
//! The caller reads straight into [`Decoder::read_buf`] and reports how many bytes arrived
//! with [`Decoder::commit`]; [`Decoder::next_event`] then hands out events borrowed from that
//! buffer. A frame that fits the buffer comes out whole ([`Event::Frame`]); a larger one comes
//! out as [`Event::Start`], then [`Event::Chunk`]s as bytes arrive, then [`Event::End`]. A
//! frame with [`Flags::TRAILER`](crate::Flags::TRAILER) always comes out streamed, and ends
//! with [`Event::End`] once its END trailer is in, or [`Event::Abort`] if its sender aborted
//! it. [`Decoder::next_event_raw`] also gives each event's bytes as they were on the wire, for
//! byte-exact forwarding.
//!
//! ```
//! use sockframe::{Decoder, Event, Header, encode_frame};
//!
//! let mut wire = [0u8; 64];
//! let n = encode_frame(&Header::data(7, b"hi"), b"hi", &mut wire).unwrap();
//!
//! let mut dec = Decoder::new([0u8; 256]);
//! // Bytes may arrive in any pieces: here, one at a time.
//! for byte in &wire[..n - 1] {
//!     assert_eq!(dec.feed(core::slice::from_ref(byte)), 1);
//!     assert!(dec.next_event().unwrap().is_none());
//! }
//! dec.feed(&wire[n - 1..n]);
//! match dec.next_event().unwrap() {
//!     Some(Event::Frame(f)) => {
//!         assert_eq!(f.header.id, 7);
//!         assert_eq!(f.payload, b"hi");
//!     }
//!     other => panic!("{other:?}"),
//! }
//! assert!(dec.finish().is_ok()); // a clean end between frames
//! ```

use crate::checksum::Crc32c;
use crate::error::{DecodeError, Stage};
use crate::faults::{check_payload, checked_header, cut_short, header_len};
use crate::header::{Header, Kind};
use crate::prefix::PREFIX_LEN;

/// How much a receiver accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Limits {
    /// Largest header accepted, in bytes (also capped by the buffer size).
    pub max_header: usize,
    /// Largest payload accepted, in bytes. Payloads larger than the buffer are streamed,
    /// so this bounds time and disk, not memory.
    pub max_payload: u64,
}

impl Limits {
    /// 512-byte headers, 64 MiB payloads.
    pub const DEFAULT: Limits = Limits {
        max_header: 512,
        max_payload: 64 << 20,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

/// A frame delivered whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Frame<'a> {
    /// The decoded header (`header.len == payload.len()`).
    pub header: Header<'a>,
    /// The payload, borrowed from the decoder's buffer; its checksum, if any, has been verified.
    pub payload: &'a [u8],
}

/// What the decoder has found in the bytes given so far.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Event<'a> {
    /// A whole frame.
    Frame(Frame<'a>),
    /// The header of a frame too large for the buffer, or of a frame with
    /// [`Flags::TRAILER`](crate::Flags::TRAILER): its payload follows as chunks.
    Start(Header<'a>),
    /// The next piece of the streamed payload. Treat it as unverified until [`Event::End`]:
    /// it may still be aborted.
    Chunk(&'a [u8]),
    /// The streamed payload is complete (and its checksum, if any, matched; for a frame with
    /// a trailer, its END has arrived).
    End,
    /// The streamed payload (of a frame with a trailer) is aborted: discard it, and the whole
    /// message if it is a fragment. The ABORT trailer itself: `header.id` is the frame's id,
    /// metadata `code` (and the numbers) say why, `payload` is a message.
    Abort(Frame<'a>),
}

#[derive(Debug, Clone)]
enum State {
    /// Waiting for a prefix and a header.
    Head,
    /// Length known and header checked; the whole frame fits the buffer and is still arriving.
    /// `small` has no such state: a frame's body is waited for in [`State::Head`], whose step
    /// finds the whole frame again (the same rules, the same outcome) and whose end of stream
    /// reports the same cut.
    #[cfg(not(feature = "small"))]
    Body { header_len: usize, frame_len: usize },
    /// A payload larger than the buffer (or followed by a trailer) is passing through.
    Stream {
        len: u64,
        remaining: u64,
        crc: Option<(u32, Crc32c)>,
        /// The frame's id, if a trailer follows the payload.
        trailer: Option<u32>,
    },
    /// The payload of frame `id` has passed; its END or ABORT is due. `crc`: the checksum
    /// announced and the one computed, compared once the END is in.
    Trailer { id: u32, crc: Option<(u32, u32)> },
}

/// What one step of the state machine found, the event with its bytes as they were on the
/// wire: `None` if more bytes are needed. Steps update the state and the count of bytes the
/// event uses up themselves. (The bytes are given by the step, so that its result is the
/// caller's as it is: `small`, no copy of the event from one result into another.)
type Step<'a> = Option<(Event<'a>, &'a [u8])>;

/// The one frame state machine. `B` is the receive buffer: `[u8; N]`, `&mut [u8]`, `Vec<u8>`...
///
/// Its size decides which frames come out whole: a frame of up to `B`'s length (prefix,
/// header and payload) is delivered as one [`Event::Frame`]; larger ones are streamed.
#[repr(C)]
pub struct Decoder<B> {
    /// First byte not yet handed out: moved past an event's bytes as the event is handed
    /// out (the event borrows the decoder, so nothing touches them while it lives).
    start: usize,
    /// End of the bytes received.
    end: usize,
    /// Bytes of the frame a failure was found in that the failed step counted as taken (a
    /// frame whose checksum failed): not handed out, so `start` stays before them (for
    /// [`recover`](Self::recover)), yet counted out of [`buffered`](Self::buffered) and
    /// released by [`read_buf`](Self::read_buf) as an event's would be. Zero unless failed.
    failed_taken: usize,
    failed: Option<DecodeError>,
    limits: Limits,
    state: State,
    /// Last (`repr(C)`): the fields before it are at small offsets, which a 32-bit core
    /// reaches with short instructions, whatever the buffer's size.
    buf: B,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Decoder<B> {
    /// A decoder over `buf` with [`Limits::DEFAULT`].
    pub fn new(buf: B) -> Self {
        Self::with_limits(buf, Limits::DEFAULT)
    }

    /// A decoder over `buf` with the given limits.
    pub fn with_limits(buf: B, limits: Limits) -> Self {
        Decoder {
            buf,
            start: 0,
            end: 0,
            failed_taken: 0,
            state: State::Head,
            limits,
            failed: None,
        }
    }

    /// Gives the buffer back (for pooling), dropping any partial frame.
    pub fn into_inner(self) -> B {
        self.buf
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The limits a peer may rely on: [`limits`](Self::limits) with the header limit capped by
    /// the buffer. What a limits PONG announces ([`encode_limits_pong`](crate::encode_limits_pong)).
    pub fn accepted(&self) -> Limits {
        Limits {
            max_header: self
                .limits
                .max_header
                .min(self.capacity().saturating_sub(PREFIX_LEN)),
            ..self.limits
        }
    }

    /// The buffer size: the largest frame delivered whole.
    pub fn capacity(&self) -> usize {
        self.buf.as_ref().len()
    }

    /// Bytes received and not yet handed out.
    pub fn buffered(&self) -> usize {
        self.end - self.start - self.failed_taken
    }

    /// Whether the decoder sits between frames (nothing partial buffered).
    pub fn is_idle(&self) -> bool {
        matches!(self.state, State::Head) && self.buffered() == 0
    }

    /// The error the decoder failed with, if it did.
    pub fn error(&self) -> Option<DecodeError> {
        self.failed
    }

    /// Forgets everything: buffered bytes, partial frame and error.
    pub fn reset(&mut self) {
        self.start = 0;
        self.end = 0;
        self.failed_taken = 0;
        self.state = State::Head;
        self.failed = None;
    }

    /// Free space to read into; report what was written with [`commit`](Self::commit).
    ///
    /// Moves the unfinished tail of earlier reads to the front when the frame in progress
    /// would not fit otherwise (with feature `small`: once the buffer is full); a frame that
    /// arrived whole is never moved. Empty only while an event is waiting to be taken with
    /// [`next_event`](Self::next_event).
    pub fn read_buf(&mut self) -> &mut [u8] {
        self.release();
        let cap = self.capacity();
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.start > 0 && (self.end == cap || self.early_move(cap)) {
            self.buf.as_mut().copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let end = self.end;
        &mut self.buf.as_mut()[end..]
    }

    /// Whether the tail is moved before the buffer is full: when the part in progress would
    /// not fit otherwise, so that the next read is not a short one. `small` leaves this out
    /// (the tail moves once the buffer is full: a short read more, the same bytes in the
    /// end) and with it the look at the part in progress (about 400 B of flash).
    #[cfg(not(feature = "small"))]
    fn early_move(&self, cap: usize) -> bool {
        self.start + self.needed() > cap
    }

    #[cfg(feature = "small")]
    fn early_move(&self, _cap: usize) -> bool {
        false
    }

    /// Records that `n` bytes were written at the start of [`read_buf`](Self::read_buf).
    pub fn commit(&mut self, n: usize) {
        self.end = (self.end + n).min(self.capacity());
    }

    /// Copies as much of `bytes` as fits into the buffer; returns how many were taken.
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        let space = self.read_buf();
        let n = space.len().min(bytes.len());
        space[..n].copy_from_slice(&bytes[..n]);
        self.commit(n);
        n
    }

    /// The next event, or `None` if more bytes are needed.
    ///
    /// The event borrows the buffer; its bytes are released on the next call. A whole
    /// frame's header is decoded exactly once, here.
    #[cfg_attr(not(feature = "small"), inline)]
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, DecodeError> {
        #[cfg_attr(feature = "small", allow(unused_mut))]
        let mut at = self.at()?;
        #[cfg(not(feature = "small"))]
        if let Some((frame, _)) = at.whole_frame() {
            return Ok(Some(Event::Frame(frame)));
        }
        Ok(at.step()?.map(|(event, _)| event))
    }

    /// The next event with the bytes it was decoded from, exactly as they arrived: what a
    /// relay or echo forwards so that header bytes it does not understand pass unchanged.
    ///
    /// The bytes are: for [`Event::Frame`] the whole frame; for [`Event::Start`] the prefix
    /// and header; for [`Event::Chunk`] the chunk; for [`Event::End`] the END trailer (empty
    /// for a frame without one); for [`Event::Abort`] the ABORT trailer.
    ///
    /// ```
    /// use sockframe::{Decoder, Event};
    ///
    /// // A PING whose header has two bytes a later revision added (`ff 07`).
    /// let ping = [0xf5, 0x46, 1, 9, 0, 2, 7, 2, 0, 0, 0, 0, 0xff, 0x07, b'h', b'i'];
    /// let mut dec = Decoder::new([0u8; 64]);
    /// dec.feed(&ping);
    /// let Some((Event::Frame(f), raw)) = dec.next_event_raw().unwrap() else { panic!() };
    /// assert_eq!(f.payload, b"hi");
    /// assert_eq!(raw, &ping[..]); // everything, unknown bytes included
    /// ```
    pub fn next_event_raw(&mut self) -> Result<Option<(Event<'_>, &[u8])>, DecodeError> {
        #[cfg_attr(feature = "small", allow(unused_mut))]
        let mut at = self.at()?;
        #[cfg(not(feature = "small"))]
        if let Some((frame, raw)) = at.whole_frame() {
            return Ok(Some((Event::Frame(frame), raw)));
        }
        at.step()
    }

    /// Where the state machine stands, its parts borrowed apart (so that an event can borrow
    /// the buffer while the state moves on); fails if the decoder has failed.
    #[inline(always)]
    fn at(&mut self) -> Result<At<'_>, DecodeError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        Ok(At {
            cap: self.buf.as_ref().len(),
            data: &self.buf.as_ref()[self.start..self.end],
            state: &mut self.state,
            start: &mut self.start,
            limits: self.limits,
            failed: &mut self.failed,
            failed_taken: &mut self.failed_taken,
        })
    }

    /// Whether [`next_event`](Self::next_event) would return an event now,
    /// found without building it: lets a read loop decide whether to read before it holds a
    /// borrow of the decoder. Fails with the same error at the same byte as `next_event`:
    /// a bad header as soon as the header is in, even while its payload is still awaited.
    pub fn poll(&mut self) -> Result<bool, DecodeError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let ready = self.ready();
        if let Err(e) = ready {
            self.failed = Some(e);
        }
        ready
    }

    fn ready(&mut self) -> Result<bool, DecodeError> {
        let cap = self.capacity();
        let limits = self.limits;
        let data = &self.buf.as_ref()[self.start..self.end];
        Ok(match self.state {
            State::Head => {
                let Some(at) = locate(data, cap, limits)? else {
                    return Ok(false);
                };
                // Either streamed (the header is enough) or whole (all of it is needed).
                if !at.fits(cap) || data.len() >= at.frame_len() {
                    return Ok(true);
                }
                // The header is in, the payload is not: the header's faults are due now
                // (spec 7.5), and a frame with a trailer starts streaming at once. Checked
                // once: the decoder moves on to waiting for the body.
                let header = checked_header(&data[PREFIX_LEN..at.head()], limits, None)?;
                if header.has_trailer() {
                    return Ok(true);
                }
                #[cfg(not(feature = "small"))]
                {
                    self.state = State::Body {
                        header_len: at.header_len,
                        frame_len: at.frame_len(),
                    };
                }
                false
            }
            #[cfg(not(feature = "small"))]
            State::Body { frame_len, .. } => data.len() >= frame_len,
            State::Stream {
                remaining: 0,
                trailer: None,
                ..
            } => true,
            State::Stream {
                remaining: 0,
                trailer: Some(id),
                ..
            }
            | State::Trailer { id, .. } => {
                match crate::faults::locate_trailer(data, cap, limits, id)? {
                    Some((_, frame_len)) => data.len() >= frame_len,
                    None => false,
                }
            }
            State::Stream { .. } => !data.is_empty(),
        })
    }

    /// Tells the decoder the stream has ended. `Ok` if it ended cleanly between frames;
    /// otherwise the first fault in the bytes that arrived or, if they hold none, where the
    /// frame was cut (and the decoder fails).
    #[cfg_attr(feature = "small", inline(never))]
    pub fn finish(&mut self) -> Result<(), DecodeError> {
        if let Some(e) = self.failed {
            return Err(e);
        }
        let cap = self.capacity();
        let data = &self.buf.as_ref()[self.start..self.end];
        let have = data.len() as u64;
        let e = match self.state {
            State::Head if have == 0 => return Ok(()),
            #[cfg(not(feature = "small"))]
            State::Body {
                header_len,
                frame_len,
            } => {
                let head = (PREFIX_LEN + header_len) as u64;
                DecodeError::UnexpectedEof {
                    stage: Stage::Payload,
                    have: have - head,
                    need: frame_len as u64 - head,
                }
            }
            State::Stream {
                remaining: 0,
                trailer: None,
                ..
            } => return Ok(()),
            State::Stream {
                len,
                remaining: remaining @ 1..,
                ..
            } => DecodeError::UnexpectedEof {
                stage: Stage::Payload,
                have: len - remaining,
                need: len,
            },
            // A frame cut before its body, or a due trailer (one call for both).
            _ => cut_short(data, cap, self.limits, self.trailer_due()),
        };
        self.failed = Some(e);
        Err(e)
    }

    /// Drops the bytes a failed step counted as taken (see `failed_taken`).
    fn release(&mut self) {
        self.start += core::mem::take(&mut self.failed_taken);
    }

    /// The bytes received and not handed out (for the resynchronising receiver, which looks
    /// for a frame start among them before the state machine sees them).
    pub(crate) fn front(&mut self) -> &[u8] {
        self.release();
        &self.buf.as_ref()[self.start..self.end]
    }

    /// Drops the first `n` bytes of [`front`](Self::front) (they are not a frame).
    pub(crate) fn drop_front(&mut self, n: usize) {
        self.release();
        self.start = (self.start + n).min(self.end);
    }

    /// Forgets a failure and the frame it was found in, keeping every byte of it buffered
    /// (the resynchronising receiver rescans them): the state machine is between frames.
    pub(crate) fn recover(&mut self) {
        self.failed = None;
        self.failed_taken = 0;
        self.state = State::Head;
    }

    /// What the next step gives, found by taking it and putting the state back if it gave
    /// an event: `Ok(true)` an event is ready, `Ok(false)` more bytes are needed, `Err` the
    /// fault the step found (kept, as [`poll`](Self::poll) keeps it, until the caller
    /// [`recover`](Self::recover)s), a payload's checksum included. For the resynchronising receiver, which must know a frame is doomed before
    /// it takes the step that borrows the buffer. It is the step itself, so the look-ahead and
    /// the step cannot disagree (and the image holds one copy of the rules).
    pub(crate) fn look_ahead(&mut self) -> Result<bool, DecodeError> {
        let saved = (self.state.clone(), self.start);
        let at = self.at()?;
        // A chunk of a streamed payload cannot fail: no need to checksum it twice.
        if let State::Stream { remaining: 1.., .. } = at.state {
            return Ok(!at.data.is_empty());
        }
        let ready = at.step()?.is_some();
        if ready {
            // Only a step that gave nothing keeps its move (to a frame's body, or its trailer).
            (self.state, self.start) = saved;
        }
        Ok(ready)
    }

    /// Whether the state machine is between frames (its next event starts a frame).
    pub(crate) fn between_frames(&self) -> bool {
        matches!(self.state, State::Head)
    }

    /// The id of the frame whose trailer is due next, if one is.
    pub(crate) fn trailer_due(&self) -> Option<u32> {
        match self.state {
            State::Stream {
                remaining: 0,
                trailer: Some(id),
                ..
            }
            | State::Trailer { id, .. } => Some(id),
            _ => None,
        }
    }

    /// Prefix plus header length, once the prefix is here (and valid).
    #[cfg(not(feature = "small"))]
    fn head_len(&self) -> Option<usize> {
        match crate::prefix::Prefix::parse(&self.buf.as_ref()[self.start..self.end]) {
            Ok(Some(p)) => Some(PREFIX_LEN + usize::from(p.header_len)),
            _ => None,
        }
    }

    /// Bytes the part in progress needs contiguous in the buffer, counted from `start`.
    #[cfg(not(feature = "small"))]
    fn needed(&self) -> usize {
        let data = &self.buf.as_ref()[self.start..self.end];
        let (cap, limits) = (self.capacity(), self.limits);
        let head_or_prefix = || self.head_len().unwrap_or(PREFIX_LEN);
        match self.state {
            State::Head => match locate(data, cap, limits).ok().flatten() {
                Some(at) if at.fits(cap) => at.frame_len(),
                Some(at) => at.head(),
                None => head_or_prefix(),
            },
            State::Body { frame_len, .. } => frame_len,
            State::Stream {
                remaining: 0,
                trailer: Some(id),
                ..
            }
            | State::Trailer { id, .. } => {
                match crate::faults::locate_trailer(data, cap, limits, id) {
                    Ok(Some((_, frame_len))) => frame_len,
                    _ => head_or_prefix(),
                }
            }
            State::Stream { .. } => 1,
        }
    }
}

/// The state machine's parts for one step: the bytes not handed out yet, the state, where
/// they start (moved past the bytes of an event handed out), and where the step records its
/// error.
struct At<'d> {
    cap: usize,
    data: &'d [u8],
    state: &'d mut State,
    start: &'d mut usize,
    limits: Limits,
    failed: &'d mut Option<DecodeError>,
    failed_taken: &'d mut usize,
}

impl<'d> At<'d> {
    /// The fast path: between frames, a whole common frame at the front of the buffer
    /// ([`whole_frame`]), handed out with its bytes; `None` leaves everything to
    /// [`step`](Self::step). Speed bought with flash (about 420 B on the board): `small`
    /// leaves it out, and every frame takes the general path, which decodes the same frames.
    #[cfg(not(feature = "small"))]
    #[inline(always)]
    fn whole_frame(&mut self) -> Option<(Frame<'d>, &'d [u8])> {
        if !matches!(self.state, State::Head) {
            return None;
        }
        let (header, payload, end) = whole_frame(self.data, self.limits)?;
        *self.start += end;
        Some((
            Frame { header, payload },
            self.data.get(..end).unwrap_or(&[]),
        ))
    }

    /// One step of the general path: the next event with its bytes, `None` if more bytes
    /// are needed, or the error (which the decoder keeps). Takes `self` by value, so that
    /// the fast path before it keeps the parts in registers.
    #[inline(never)]
    fn step(self) -> Result<Option<(Event<'d>, &'d [u8])>, DecodeError> {
        let (data, cap, limits) = (self.data, self.cap, self.limits);
        let (state, used) = (&mut *self.state, &mut 0);
        let step = match state {
            // `small`: a frame's body is waited for by the head's own step too, which finds
            // the whole frame again (the header is checked once more: the same rules, the
            // same outcome) instead of a second copy of the frame's delivery.
            State::Head => head_step(data, cap, limits, state, used),
            // `small`: a trailer is a frame at the front too; the head's step takes it (with
            // the trailer rules), one copy of the frame finding instead of two.
            #[cfg(feature = "small")]
            State::Trailer { .. } => head_step(data, cap, limits, state, used),
            #[cfg(not(feature = "small"))]
            State::Body {
                header_len,
                frame_len,
            } => {
                let (header_len, frame_len) = (*header_len, *frame_len);
                body_step(data, header_len, frame_len, state, used)
            }
            State::Stream { .. } => stream_step(data, cap, limits, state, used),
            #[cfg(not(feature = "small"))]
            State::Trailer { .. } => trailer_step(data, cap, limits, state, used),
        };
        // The step's result is handed on as it is (not rebuilt: no copy of the event).
        match &step {
            Ok(_) => *self.start += *used,
            Err(e) => {
                *self.failed = Some(*e);
                *self.failed_taken = *used;
            }
        }
        step
    }
}

/// A frame's position, known from its prefix and the first header fields.
#[derive(Debug, Clone, Copy)]
struct Located {
    header_len: usize,
    len: u64,
}

impl Located {
    /// Prefix plus header.
    fn head(&self) -> usize {
        PREFIX_LEN + self.header_len
    }

    /// Whether the whole frame fits a buffer of `cap` bytes (else it is streamed).
    fn fits(&self, cap: usize) -> bool {
        self.len <= cap.saturating_sub(self.head()) as u64
    }

    /// The whole frame's length; meaningful when it [`fits`](Self::fits).
    fn frame_len(&self) -> usize {
        self.head()
            .saturating_add(usize::try_from(self.len).unwrap_or(usize::MAX))
    }
}

/// Where the frame at the front of `data` ends, from its prefix and the first header fields
/// (the header is not built): `None` until the prefix and the whole header have arrived.
fn locate(data: &[u8], cap: usize, limits: Limits) -> Result<Option<Located>, DecodeError> {
    let Some(header_len) = header_len(data, cap, limits)? else {
        return Ok(None);
    };
    let Some(header_bytes) = data.get(PREFIX_LEN..PREFIX_LEN + header_len) else {
        return Ok(None);
    };
    let len = Header::peek_len(header_bytes)?;
    check_payload(len, limits)?;
    Ok(Some(Located { header_len, len }))
}

/// Between frames: a whole frame if it is all here, the start of a streamed one, or a wait.
/// The header is decoded once, as soon as it is complete. `small`: also a due trailer (the
/// state says whose), and out of line (the stream's step calls it for its trailer).
#[cfg_attr(not(feature = "small"), inline(always))]
#[cfg_attr(feature = "small", inline(never))]
fn head_step<'a>(
    data: &'a [u8],
    cap: usize,
    limits: Limits,
    state: &mut State,
    used: &mut usize,
) -> Result<Step<'a>, DecodeError> {
    let header_len = match header_len(data, cap, limits) {
        Ok(Some(n)) => n,
        Ok(None) => return Ok(None),
        Err(e) => return Err(e),
    };
    let head = PREFIX_LEN + header_len;
    let Some(header_bytes) = data.get(PREFIX_LEN..head) else {
        return Ok(None);
    };
    // `small`: the trailer due, if one is (one call of the header's checks for both).
    #[cfg(feature = "small")]
    let expected = match *state {
        State::Trailer { id, .. } => Some(id),
        _ => None,
    };
    #[cfg(not(feature = "small"))]
    let expected = None;
    // Used where it was read (`small`: not moved out of the result first).
    let read = checked_header(header_bytes, limits, expected);
    let header = match &read {
        Ok(header) => header,
        Err(e) => return Err(*e),
    };
    #[cfg(feature = "small")]
    if let State::Trailer { crc, .. } = *state {
        return trailer_event(data, cap, head, header, crc, state, used);
    }
    let at = Located {
        header_len,
        len: header.len,
    };
    // A streamed frame's head, or a whole frame: one delivery for both.
    let (end, what) = if !at.fits(cap) || header.has_trailer() {
        *state = State::Stream {
            len: at.len,
            remaining: at.len,
            crc: header.crc.map(|c| (c, Crc32c::new())),
            trailer: header.has_trailer().then_some(header.id),
        };
        (head, Deliver::Start)
    } else {
        (at.frame_len(), Deliver::Frame)
    };
    match data.get(..end) {
        Some(frame) => {
            *used = end;
            deliver(header, frame, head, what)
        }
        // Only a whole frame can be missing bytes (the head is in).
        None => {
            #[cfg(not(feature = "small"))]
            if what == Deliver::Frame {
                *state = State::Body {
                    header_len,
                    frame_len: end,
                };
            }
            Ok(None)
        }
    }
}

/// The common case, checked in one pass: a good prefix, a common header (no name, no
/// metadata: [`Header::parse_common`]) within the limit, a frame without a trailer whose
/// checksum (if any) matches, all of it in `data` (no longer than the buffer).
/// Returns its header, its payload and where it ends. `None` sends everything else (a
/// fault, a frame still arriving or streamed) down [`head_step`]'s general path, which finds
/// the same fault at the same byte: this path never decides an error.
#[cfg(not(feature = "small"))]
#[inline(always)]
fn whole_frame(data: &[u8], limits: Limits) -> Option<(Header<'static>, &[u8], usize)> {
    // Read through a window of a length known at compile time where `data` is long enough
    // (one length test for all the fields of prefix and header, not one per field), else
    // through `data` itself: the same reads, the same answer (the window holds every byte
    // the reads can reach).
    match data.first_chunk::<WINDOW>() {
        Some(window) => whole_frame_in(data, window, limits),
        None => whole_frame_in(data, data, limits),
    }
}

/// Prefix and the longest header the fast path reads.
#[cfg(not(feature = "small"))]
const WINDOW: usize = PREFIX_LEN + crate::header::COMMON_MAX;

/// [`whole_frame`], prefix and header read from `w`, the start of `data`.
#[cfg(not(feature = "small"))]
#[inline(always)]
fn whole_frame_in<'a>(
    data: &'a [u8],
    w: &[u8],
    limits: Limits,
) -> Option<(Header<'static>, &'a [u8], usize)> {
    use crate::header::is_trailer_kind;
    use crate::prefix::{MAGIC, VERSION};
    // Magic and version in one look (the fourth byte is `header_len`'s).
    let first = u32::from_le_bytes(*w.first_chunk::<4>()?);
    if first & 0x00FF_FFFF != u32::from_le_bytes([MAGIC[0], MAGIC[1], VERSION, 0]) {
        return None;
    }
    let header_len = usize::from(u16::from_le_bytes(*w.get(3..)?.first_chunk::<2>()?));
    // The buffer's own bound on the header (`cap - PREFIX_LEN`) needs no test: `data` is in
    // the buffer, so a header over it is not all in `data`.
    if header_len > limits.max_header {
        return None;
    }
    let head = PREFIX_LEN + header_len;
    // Read past the header's end if `w` goes on: it counts only if it ends within it.
    let (header, end) = Header::common_at(w, PREFIX_LEN, crate::Flags::TRAILER)?;
    if end - PREFIX_LEN > header_len
        || header.len > limits.max_payload
        || is_trailer_kind(header.kind.0)
    {
        return None;
    }
    // A payload that is all in `data` fits the buffer.
    let payload = data.get(head..)?.get(..usize::try_from(header.len).ok()?)?;
    if let Some(expected) = header.crc
        && expected != crate::checksum::crc32c(payload)
    {
        return None;
    }
    Some((header, payload, head + payload.len()))
}

/// Waiting for the rest of a frame that fits the buffer (its header is decoded again: this
/// path is taken only by frames split across reads).
#[cfg(not(feature = "small"))]
fn body_step<'a>(
    data: &'a [u8],
    header_len: usize,
    frame_len: usize,
    state: &mut State,
    used: &mut usize,
) -> Result<Step<'a>, DecodeError> {
    let Some(frame) = data.get(..frame_len) else {
        return Ok(None);
    };
    *state = State::Head;
    let head = PREFIX_LEN + header_len;
    let header = Header::parse(frame.get(PREFIX_LEN..head).unwrap_or(&[]))?;
    *used = frame_len;
    deliver(&header, frame, head, Deliver::Frame)
}

/// A streamed payload: the next chunk, or the end once all of it has passed (for a frame
/// with a trailer: once its trailer is in).
fn stream_step<'a>(
    data: &'a [u8],
    cap: usize,
    limits: Limits,
    state: &mut State,
    used: &mut usize,
) -> Result<Step<'a>, DecodeError> {
    let State::Stream {
        remaining,
        crc,
        trailer,
        ..
    } = state
    else {
        return Ok(None);
    };
    if *remaining == 0 {
        if let Some(id) = *trailer {
            let crc = crc
                .as_ref()
                .map(|(expected, digest)| (*expected, digest.value()));
            *state = State::Trailer { id, crc };
            #[cfg(not(feature = "small"))]
            return trailer_step(data, cap, limits, state, used);
            #[cfg(feature = "small")]
            return head_step(data, cap, limits, state, used);
        }
        if let Some((expected, digest)) = crc {
            verify(*expected, digest.value())?;
        }
        *state = State::Head;
        return Ok(Some((Event::End, &[])));
    }
    if data.is_empty() {
        return Ok(None);
    }
    let len = data
        .len()
        .min(usize::try_from(*remaining).unwrap_or(usize::MAX));
    if let Some((_, digest)) = crc {
        digest.update(&data[..len]);
    }
    *remaining -= len as u64;
    *used = len;
    let chunk = data.get(..len).unwrap_or(&[]);
    Ok(Some((Event::Chunk(chunk), chunk)))
}

/// The trailer of a streamed payload: [`Event::End`] (once the checksum matched) or
/// [`Event::Abort`], when the whole trailer is in.
#[cfg(not(feature = "small"))]
fn trailer_step<'a>(
    data: &'a [u8],
    cap: usize,
    limits: Limits,
    state: &mut State,
    used: &mut usize,
) -> Result<Step<'a>, DecodeError> {
    let State::Trailer { id, crc } = *state else {
        return Ok(None);
    };
    let Some((header, frame_len)) = crate::faults::locate_trailer(data, cap, limits, id)? else {
        return Ok(None);
    };
    trailer_event(
        data,
        cap,
        frame_len - header.len as usize,
        &header,
        crc,
        state,
        used,
    )
}

/// The trailer whose `header` (checked with the trailer rules) ends at `head`: the error if
/// the buffer cannot hold it whole, `None` until all of it is in, then [`Event::End`] (once
/// the payload's checksum `crc` matched) or [`Event::Abort`].
fn trailer_event<'a>(
    data: &'a [u8],
    cap: usize,
    head: usize,
    header: &Header<'a>,
    crc: Option<(u32, u32)>,
    state: &mut State,
    used: &mut usize,
) -> Result<Step<'a>, DecodeError> {
    // The rules bound `len` by ABORT_MESSAGE_MAX.
    let frame_len = head + header.len as usize;
    if frame_len > cap {
        return Err(DecodeError::BufferTooSmall {
            capacity: cap,
            need: frame_len,
        });
    }
    let Some(frame) = data.get(..frame_len) else {
        return Ok(None);
    };
    *state = State::Head;
    *used = frame_len;
    if header.kind == Kind::END {
        if let Some((expected, actual)) = crc {
            verify(expected, actual)?;
        }
        return Ok(Some((Event::End, frame)));
    }
    // An aborted payload's checksum is not verified: it holds filler.
    deliver(header, frame, head, Deliver::Abort)
}

/// What [`deliver`] hands out.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Deliver {
    /// [`Event::Start`]: the head of a streamed frame.
    Start,
    /// [`Event::Frame`]: a whole frame.
    Frame,
    /// [`Event::Abort`]: an ABORT trailer.
    Abort,
}

/// The event for `header`, whose bytes on the wire are `frame` (prefix and header up to
/// `head`, then the payload if any): the start of a streamed frame, or a whole frame or
/// ABORT trailer once its checksum (if any) matches. Gives the step's own result, so that a
/// step hands it on as it is; `small`: the one place a step's header goes (not copied into
/// three events), and no copy of the event from one result into another.
#[cfg_attr(not(feature = "small"), inline(always))]
#[cfg_attr(feature = "small", inline(never))]
fn deliver<'a>(
    header: &Header<'a>,
    frame: &'a [u8],
    head: usize,
    what: Deliver,
) -> Result<Step<'a>, DecodeError> {
    let payload = frame.get(head..).unwrap_or(&[]);
    if what != Deliver::Start
        && let Some(expected) = header.crc
    {
        verify(expected, crate::checksum::crc32c(payload))?;
    }
    let header = *header;
    let event = match what {
        Deliver::Start => Event::Start(header),
        Deliver::Frame => Event::Frame(Frame { header, payload }),
        Deliver::Abort => Event::Abort(Frame { header, payload }),
    };
    Ok(Some((event, frame)))
}

fn verify(expected: u32, actual: u32) -> Result<(), DecodeError> {
    if expected == actual {
        Ok(())
    } else {
        Err(DecodeError::BadChecksum { expected, actual })
    }
}

impl<B> core::fmt::Debug for Decoder<B> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Decoder")
            .field("start", &self.start)
            .field("end", &self.end)
            .field("state", &self.state)
            .field("limits", &self.limits)
            .field("failed", &self.failed)
            .finish()
    }
}

/// The decoder's rules for what starts a buffer the caller owns (a tokio `BytesMut`, a
/// DMA buffer), with offsets instead of a copy: the frame at the front of `buf` is found
/// exactly as a [`Decoder`] with a buffer of [`capacity`](Self::capacity) bytes would find
/// it (the same fast path, the same general path, the same fault at the same byte with the
/// same numbers), and the caller cuts the frame out of its own buffer. No state: the
/// caller drops the bytes of each frame it takes, and asks again when more have arrived.
///
/// ```
/// use sockframe::{DecodeError, Found, Header, Limits, Splitter, Stage, encode_frame};
///
/// let mut wire = [0u8; 64];
/// let n = encode_frame(&Header::data(7, b"hello"), b"hello", &mut wire).unwrap();
/// assert_eq!(n, 5 + 7 + 5); // prefix, header, payload
/// let splitter = Splitter::new(1024, Limits::DEFAULT);
///
/// // Not all there yet: how many bytes are needed, as far as is known.
/// assert_eq!(splitter.next(&wire[..3]).unwrap(), Found::Need(5)); // the prefix
/// assert_eq!(splitter.next(&wire[..8]).unwrap(), Found::Need(12)); // the head
/// assert_eq!(splitter.next(&wire[..12]).unwrap(), Found::Need(n)); // the frame
/// // All there: the frame, and where it ends (its payload is the bytes just before).
/// let Found::Frame { frame, end } = splitter.next(&wire[..n + 3]).unwrap() else {
///     panic!()
/// };
/// assert_eq!((frame.header.id, frame.payload, end), (7, &b"hello"[..], n));
/// assert_eq!(&wire[end - frame.payload.len()..end], b"hello");
/// // The stream ends mid-frame: the error a decoder gives.
/// let cut = DecodeError::UnexpectedEof { stage: Stage::Header, have: 3, need: 7 };
/// assert_eq!(splitter.finish(&wire[..8]), Err(cut));
/// assert_eq!(splitter.finish(&[]), Ok(()));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Splitter {
    capacity: usize,
    limits: Limits,
}

/// What [`Splitter::next`] found at the front of a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Found<'a> {
    /// A whole frame (checksum, if any, verified): the frame is `buf[..end]`, its payload
    /// the last `frame.payload.len()` bytes of it.
    Frame {
        /// Header and payload, borrowed from the buffer.
        frame: Frame<'a>,
        /// Where the frame ends in the buffer.
        end: usize,
    },
    /// The head of a frame a decoder of this capacity streams (its payload is larger than
    /// the capacity, or a trailer follows it): `buf[..end]` is its prefix and header.
    Start {
        /// The frame's header, borrowed from the buffer.
        header: Header<'a>,
        /// Where the head ends in the buffer.
        end: usize,
    },
    /// More bytes are needed: at least this many in all, counted from the front of the
    /// buffer (the prefix, then the head, then the whole frame, as they become known).
    Need(usize),
}

impl Splitter {
    /// The rules of a [`Decoder`] whose buffer holds `capacity` bytes, with `limits`.
    pub const fn new(capacity: usize, limits: Limits) -> Self {
        Splitter { capacity, limits }
    }

    /// The capacity: the largest frame found whole.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    /// The frame at the front of `buf`. Bytes past `capacity` are not looked at (a decoder
    /// would not hold them yet).
    #[inline]
    pub fn next<'a>(&self, buf: &'a [u8]) -> Result<Found<'a>, DecodeError> {
        let data = buf.get(..self.capacity).unwrap_or(buf);
        #[cfg(not(feature = "small"))]
        if let Some((header, payload, end)) = whole_frame(data, self.limits) {
            let frame = Frame { header, payload };
            return Ok(Found::Frame { frame, end });
        }
        self.general(data)
    }

    /// Only the fast path of [`next`](Self::next): the common whole frame at the front of
    /// `buf` (no name or metadata, no trailer, all of it in `buf` and within the limits,
    /// checksum verified) and where it ends; `None` for anything else, which
    /// [`next`](Self::next) then decides (faults included: this never decides an error).
    ///
    /// Inlined, and its answer returned by value, so a caller's loop over many small
    /// frames keeps it in registers; `next` alone returns [`Found`] through memory. Under
    /// the `small` feature it is always `None`.
    ///
    /// ```
    /// use sockframe::{Header, Limits, Splitter, encode_frame};
    ///
    /// let mut wire = [0u8; 64];
    /// let n = encode_frame(&Header::data(7, b"hi"), b"hi", &mut wire).unwrap();
    /// let splitter = Splitter::new(1024, Limits::DEFAULT);
    /// if let Some((frame, end)) = splitter.whole(&wire[..n]) {
    ///     assert_eq!((frame.header.id, frame.payload, end), (7, &b"hi"[..], n));
    /// }
    /// ```
    #[inline]
    pub fn whole<'a>(&self, buf: &'a [u8]) -> Option<(Frame<'a>, usize)> {
        #[cfg(feature = "small")]
        {
            let _ = buf;
            None
        }
        #[cfg(not(feature = "small"))]
        {
            let data = buf.get(..self.capacity).unwrap_or(buf);
            let (header, payload, end) = whole_frame(data, self.limits)?;
            Some((Frame { header, payload }, end))
        }
    }

    /// [`next`](Self::next) by the decoder's general path.
    #[inline(never)]
    fn general<'a>(&self, data: &'a [u8]) -> Result<Found<'a>, DecodeError> {
        let (cap, limits) = (self.capacity, self.limits);
        let mut state = State::Head;
        let mut used = 0;
        Ok(match head_step(data, cap, limits, &mut state, &mut used)? {
            Some((Event::Frame(frame), _)) => Found::Frame { frame, end: used },
            Some((Event::Start(header), _)) => Found::Start { header, end: used },
            // Between frames the decoder gives only these two events, or waits.
            _ => {
                // The frame still arriving whole, if its header is in (`small` has no body
                // state: a whole header here is that of a frame that fits the buffer).
                #[cfg(not(feature = "small"))]
                let body = match state {
                    State::Body { frame_len, .. } => Some(frame_len),
                    _ => None,
                };
                #[cfg(feature = "small")]
                let body = locate(data, cap, limits)?.map(|at| at.frame_len());
                Found::Need(match body {
                    Some(frame_len) => frame_len,
                    None => match header_len(data, cap, limits)? {
                        Some(header_len) => PREFIX_LEN + header_len,
                        None => PREFIX_LEN,
                    },
                })
            }
        })
    }

    /// The stream ended with `buf` not taken (after [`next`](Self::next) asked for more):
    /// `Ok` if it is empty, otherwise the error a decoder gives at the end of its stream
    /// (the first fault in the bytes that arrived or, if they hold none, where the frame was
    /// cut).
    pub fn finish(&self, buf: &[u8]) -> Result<(), DecodeError> {
        if buf.is_empty() {
            return Ok(());
        }
        let data = buf.get(..self.capacity).unwrap_or(buf);
        Err(cut_short(data, self.capacity, self.limits, None))
    }
}

#[cfg(test)]
mod tests {
    //! The fast path and the [`Splitter`] against the general path, on streams of frames
    //! with faults written into them: the same events and the same errors, byte for byte.
    extern crate std;
    use super::*;
    use crate::{Flags, Metadata, encode_frame};
    use proptest::prelude::*;
    use std::{format, string::String, vec, vec::Vec};

    /// One frame's fields, for the generator.
    #[derive(Debug, Clone)]
    struct Spec {
        kind: u8,
        id: u32,
        flags: u8,
        name: Option<String>,
        crc: Option<bool>,
        meta: Vec<(String, String)>,
        payload: Vec<u8>,
    }

    fn spec() -> impl Strategy<Value = Spec> {
        (
            prop_oneof![Just(0u8), Just(2), Just(4), Just(5), any::<u8>()],
            prop_oneof![0u32..300, any::<u32>()],
            prop_oneof![Just(0u8), Just(Flags::TRAILER.0), any::<u8>()],
            proptest::option::weighted(0.2, "[a-z]{0,4}"),
            proptest::option::weighted(0.3, any::<bool>()),
            proptest::collection::vec(("[a-z]{0,3}", "[a-z]{0,3}"), 0..2),
            proptest::collection::vec(any::<u8>(), 0..40),
        )
            .prop_map(|(kind, id, flags, name, crc, meta, payload)| Spec {
                kind,
                id,
                flags,
                name,
                crc,
                meta,
                payload,
            })
    }

    /// Frames one after the other, then faults written over them and the end cut off.
    fn stream() -> impl Strategy<Value = Vec<u8>> {
        (
            proptest::collection::vec(spec(), 1..4),
            proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 0..3),
            any::<prop::sample::Index>(),
            prop_oneof![3 => Just(false), 1 => Just(true)],
        )
            .prop_map(|(specs, faults, cut, cutting)| {
                let mut wire = Vec::new();
                for s in &specs {
                    let pairs: Vec<(&str, &str)> = s
                        .meta
                        .iter()
                        .map(|(k, v)| (k.as_str(), v.as_str()))
                        .collect();
                    let mut h = Header::new(Kind(s.kind), s.id, s.payload.len() as u64);
                    h.flags = Flags(s.flags);
                    h.name = s.name.as_deref();
                    h.meta = Metadata::from_pairs(&pairs);
                    h.crc = s
                        .crc
                        .map(|right| crate::checksum::crc32c(&s.payload) ^ u32::from(!right));
                    let mut out = vec![0u8; 256];
                    if let Ok(n) = encode_frame(&h, &s.payload, &mut out) {
                        wire.extend_from_slice(&out[..n]);
                    }
                }
                if !wire.is_empty() {
                    for (at, byte) in faults {
                        let at = at.index(wire.len());
                        wire[at] = byte;
                    }
                    if cutting {
                        wire.truncate(cut.index(wire.len()));
                    }
                }
                wire
            })
    }

    fn limits() -> impl Strategy<Value = (usize, Limits)> {
        (0usize..120, 0usize..40, 0u64..64).prop_map(|(cap, max_header, max_payload)| {
            (
                cap,
                Limits {
                    max_header,
                    max_payload,
                },
            )
        })
    }

    /// Everything a decoder gives for `wire` (fed as far as it fits whenever it waits),
    /// each event with its raw bytes, until the first error or the end; `general` takes
    /// only the general path.
    fn run(wire: &[u8], cap: usize, limits: Limits, general: bool) -> Vec<String> {
        let mut dec = Decoder::with_limits(vec![0u8; cap], limits);
        let mut src = wire;
        let mut out = Vec::new();
        loop {
            let got = if general {
                dec.at().and_then(|at| at.step())
            } else {
                dec.next_event_raw()
            };
            match got.map(|event| event.map(|event| format!("{event:?}"))) {
                Ok(Some(event)) => out.push(event),
                Ok(None) if !src.is_empty() && !dec.read_buf().is_empty() => {
                    let n = dec.feed(src);
                    src = &src[n..];
                }
                Ok(None) => {
                    out.push(format!("end {:?}", dec.finish()));
                    return out;
                }
                Err(e) => {
                    out.push(format!("error {e:?}"));
                    return out;
                }
            }
        }
    }

    /// A frame whose checksum failed counts as taken, as an event's bytes would (what
    /// `buffered` and `read_buf` see), yet stays in the buffer for `recover`.
    #[test]
    fn a_failed_frame_counts_as_taken_and_recover_keeps_it() {
        let payload = b"payload";
        let mut h = Header::data(3, payload);
        h.crc = Some(crate::checksum::crc32c(payload) ^ 1);
        let mut wire = vec![0u8; 64];
        let n = encode_frame(&h, payload, &mut wire).unwrap();
        wire.truncate(n);
        wire.extend_from_slice(&[0xF5, 0x46]);
        let mut dec = Decoder::new(vec![0u8; 128]);
        assert_eq!(dec.feed(&wire), wire.len());
        assert!(matches!(
            dec.next_event(),
            Err(DecodeError::BadChecksum { .. })
        ));
        assert_eq!(dec.buffered(), 2);
        assert_eq!(dec.front(), &wire[n..]);
        // `front` released the frame; a decoder recovered before that keeps it.
        let mut dec = Decoder::new(vec![0u8; 128]);
        dec.feed(&wire);
        assert!(dec.next_event().is_err());
        dec.recover();
        assert_eq!((dec.buffered(), dec.front()), (wire.len(), &wire[..]));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(20_000))]

        /// The fast path decides nothing the general path would decide otherwise.
        #[test]
        fn fast_path_agrees_with_the_general_path(wire in stream(), (cap, limits) in limits()) {
            prop_assert_eq!(run(&wire, cap, limits, false), run(&wire, cap, limits, true));
        }

        /// The fast path reads prefix and header through a window of the buffer where the
        /// bytes are long enough, else through the bytes themselves: the same answer at
        /// every length of the bytes.
        #[cfg(not(feature = "small"))]
        #[test]
        fn the_window_reads_as_the_bytes(wire in stream(), (_, limits) in limits()) {
            for end in 0..=wire.len() {
                let data = &wire[..end];
                prop_assert_eq!(whole_frame(data, limits), whole_frame_in(data, data, limits));
            }
        }

        /// The same on heads of any bytes (long, overflowing and cut varints, odd tags, a
        /// header length shorter or longer than the fields), and the fast path against the
        /// general path on them.
        #[cfg(not(feature = "small"))]
        #[test]
        fn the_window_reads_odd_heads_as_the_bytes(
            header_len in prop_oneof![0u16..40, any::<u16>()],
            rest in proptest::collection::vec(
                prop_oneof![any::<u8>(), Just(0u8), Just(1), Just(0x80), Just(0xFF)],
                0..64,
            ),
            (cap, limits) in limits(),
        ) {
            let mut wire = vec![0xF5, 0x46, 1];
            wire.extend_from_slice(&header_len.to_le_bytes());
            wire.extend_from_slice(&rest);
            for end in 0..=wire.len() {
                let data = &wire[..end];
                prop_assert_eq!(whole_frame(data, limits), whole_frame_in(data, data, limits));
            }
            prop_assert_eq!(run(&wire, cap, limits, false), run(&wire, cap, limits, true));
        }

        /// A [`Splitter`] over the caller's buffer finds what a decoder with a buffer of
        /// its capacity finds in the same bytes: the same frame, where it would start
        /// streaming, the same error, the same end of stream; and asks for more bytes
        /// exactly when it waits.
        #[test]
        fn splitter_agrees_with_the_decoder(wire in stream(), (cap, limits) in limits()) {
            let splitter = Splitter::new(cap, limits);
            let mut buf = &wire[..];
            loop {
                let mut dec = Decoder::with_limits(vec![0u8; cap], limits);
                dec.feed(buf);
                let decoded = format!("{:?}", dec.next_event_raw());
                let whole = splitter.whole(buf).map(|(frame, end)| format!("{frame:?} {end}"));
                if let Some(whole) = &whole {
                    let Ok(Found::Frame { frame, end }) = splitter.next(buf) else {
                        return Err(TestCaseError::fail(format!("whole {whole}, next did not")));
                    };
                    prop_assert_eq!(whole, &format!("{frame:?} {end}"));
                }
                let (found, end) = match splitter.next(buf) {
                    Ok(Found::Frame { frame, end }) => {
                        prop_assert_eq!(&buf[end - frame.payload.len()..end], frame.payload);
                        (Ok(Some((Event::Frame(frame), &buf[..end]))), Some(end))
                    }
                    Ok(Found::Start { header, end }) => {
                        (Ok(Some((Event::Start(header), &buf[..end]))), None)
                    }
                    Ok(Found::Need(n)) => {
                        prop_assert!(n > buf.len().min(cap) && n <= cap.max(PREFIX_LEN));
                        prop_assert_eq!(splitter.finish(buf), dec.finish());
                        (Ok(None), None)
                    }
                    Err(e) => (Err(e), None),
                };
                prop_assert_eq!(format!("{found:?}"), decoded);
                match end {
                    Some(end) => buf = &buf[end..],
                    None => break,
                }
            }
        }
    }
}
