//! The resynchronising receiver (spec section 9.1), for links without connections: a UART, a
//! serial port, a radio. After noise, a damaged frame or lost bytes it reports what it
//! skipped ([`Skipped`]: how many bytes, why) and resumes at the next intact frame, where the
//! stream [`Decoder`] would fail the link.
//!
//! It accepts only frames with the header check ([`Flags::HCHECK`]): a frame start is a
//! `F5 46 01` whose header check verifies and whose header keeps every rule, so a false
//! magic in noise, or a damaged `header_len` or `len`, is never trusted. While a frame start's
//! head is still arriving, a later start whose head verifies proves it false: noise never
//! makes the receiver wait for a phantom header. Once a head verified, the frame is committed:
//! its payload is not searched for frame starts (a frame carried inside a payload stays
//! payload). A payload whose `crc` does not match is dropped and the search resumes right
//! after its head, over the payload bytes already buffered.
//!
//! The same state machine as the [`Decoder`] does the rest (this wraps one): frames that fit
//! the buffer come out whole, larger ones streamed, with every check of the stream decoder.
//! A streamed payload cannot be searched again: bytes lost inside it cost the frames its
//! claimed length covers.
//!
//! ```
//! use sockframe::resync::{Received, Resync, SkipReason};
//! use sockframe::{Event, Header, encode_frame};
//!
//! let mut frame = [0u8; 64];
//! let header = Header::data(7, b"hi").with_crc_of(b"hi").with_header_check();
//! let n = encode_frame(&header, b"hi", &mut frame).unwrap();
//!
//! let mut rx = Resync::new([0u8; 256]);
//! rx.feed(b"boot: v1.2 ok\r\n"); // text on the line before the first frame
//! rx.feed(&frame[..n]);
//! match rx.next_event() {
//!     Some(Received::Skipped(s)) => {
//!         assert_eq!(s.bytes, 15);
//!         assert_eq!(s.reason, SkipReason::Noise);
//!     }
//!     other => panic!("{other:?}"),
//! }
//! match rx.next_event() {
//!     Some(Received::Event(Event::Frame(f))) => assert_eq!(f.payload, b"hi"),
//!     other => panic!("{other:?}"),
//! }
//! assert_eq!(rx.next_event(), None);
//! ```

use crate::decoder::{Decoder, Event, Limits};
use crate::error::DecodeError;
use crate::faults::{self, checked_header};
use crate::header::{Flags, Header};
use crate::header_check::{self, CheckError};
use crate::prefix::{MAGIC, PREFIX_LEN, VERSION};

/// The bytes every frame starts with: the magic and version 1.
const START: [u8; 3] = [MAGIC[0], MAGIC[1], VERSION];

/// Why bytes were skipped. When a run of skipped bytes has several causes, the first one
/// that is not [`Noise`](SkipReason::Noise) is given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum SkipReason {
    /// No frame start in them: line noise, boot text, another protocol.
    Noise,
    /// A frame start whose header check does not verify: a false magic in noise, or a head
    /// damaged in transit.
    HeaderCheck(CheckError),
    /// A frame without the header check: on a link it cannot be told from noise.
    Unchecked,
    /// A head whose check verified but which breaks a rule of the stream decoder (a limit,
    /// the trailer rules, a malformed field).
    Header(DecodeError),
    /// A frame whose payload checksum does not match: payload bytes damaged or lost.
    Payload(DecodeError),
    /// A frame cut short: its head or trailer never came whole before a later frame, or the
    /// stream ended inside it.
    Cut,
}

impl core::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SkipReason::Noise => f.write_str("no frame start"),
            SkipReason::HeaderCheck(e) => write!(f, "false frame start: {e}"),
            SkipReason::Unchecked => f.write_str("a frame without a header check"),
            SkipReason::Header(e) => write!(f, "bad header: {e}"),
            SkipReason::Payload(e) => write!(f, "damaged payload: {e}"),
            SkipReason::Cut => f.write_str("a frame cut short"),
        }
    }
}

/// A run of bytes that were not part of a good frame, dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub struct Skipped {
    /// How many bytes.
    pub bytes: u64,
    /// Why (the first cause in the run).
    pub reason: SkipReason,
    /// The run ends a streamed frame: its [`Event::Start`] and chunks were handed out, and
    /// it will not [`Event::End`]: discard what was received of it.
    pub ends_stream: bool,
}

impl core::fmt::Display for Skipped {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "skipped {} bytes: {}", self.bytes, self.reason)?;
        if self.ends_stream {
            f.write_str(" (the streamed frame is dropped)")?;
        }
        Ok(())
    }
}

/// What the resynchronising receiver found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "defmt", derive(defmt::Format))]
pub enum Received<'a> {
    /// An event of a frame that passed every check, as the stream [`Decoder`] gives it.
    Event(Event<'a>),
    /// Bytes that were dropped; reported before the next frame's first event, or by
    /// [`Resync::finish`].
    Skipped(Skipped),
}

/// The resynchronising receiver over a buffer `B` (as [`Decoder`]'s). It never fails: every
/// fault in the stream is a [`Skipped`] run.
pub struct Resync<B> {
    dec: Decoder<B>,
    /// Head length of the verified frame start at the front of the decoder's bytes.
    verified: Option<usize>,
    /// The run of skipped bytes not reported yet (counted in `skipped_total` once reported),
    /// and its cause.
    run: u64,
    reason: SkipReason,
    /// Bytes of the streamed frame in progress handed out so far (head and chunks).
    streamed: Option<u64>,
    skipped_total: u64,
    /// The stream has ended ([`finish`](Resync::finish)): nothing is waited for.
    ending: bool,
    /// The run is complete and handed out next; whether it ends a streamed frame. (The run
    /// stays in `run` and `reason`: a `Skipped` is built once, where it is handed out.)
    ready: Option<bool>,
    /// [`next_skipped`](Resync::next_skipped) found the state machine's next step ready: the
    /// event [`next_decoded`](Resync::next_decoded) takes.
    stepping: bool,
}

/// What comes next, found by [`Resync::prepare`].
enum Prepared {
    /// A skipped run to report (`ready`).
    Skipped,
    /// The state machine's next step gives an event.
    Step,
    /// More bytes are needed.
    Wait,
}

impl<B: AsRef<[u8]> + AsMut<[u8]>> Resync<B> {
    /// A receiver over `buf` with [`Limits::DEFAULT`].
    pub fn new(buf: B) -> Self {
        Self::with_limits(buf, Limits::DEFAULT)
    }

    /// A receiver over `buf` with the given limits.
    pub fn with_limits(buf: B, limits: Limits) -> Self {
        Resync {
            dec: Decoder::with_limits(buf, limits),
            verified: None,
            run: 0,
            reason: SkipReason::Noise,
            streamed: None,
            skipped_total: 0,
            ending: false,
            ready: None,
            stepping: false,
        }
    }

    /// The limits in force.
    pub fn limits(&self) -> Limits {
        self.dec.limits()
    }

    /// The buffer size: the largest frame delivered whole.
    pub fn capacity(&self) -> usize {
        self.dec.capacity()
    }

    /// The limits a peer may rely on (see [`Decoder::accepted`]).
    pub fn accepted(&self) -> Limits {
        self.dec.accepted()
    }

    /// Bytes received and not yet handed out or skipped.
    pub fn buffered(&self) -> usize {
        self.dec.buffered()
    }

    /// Drops everything buffered and any frame in progress (counted as skipped, not
    /// reported): for a link that starts a new session.
    pub fn reset(&mut self) {
        let left = self.dec.front().len() as u64 + self.streamed.unwrap_or(0);
        self.skipped_total += self.run + left;
        self.dec.reset();
        self.verified = None;
        self.run = 0;
        self.reason = SkipReason::Noise;
        self.streamed = None;
        self.ending = false;
        self.ready = None;
        self.stepping = false;
    }

    /// Every byte skipped so far, reported or not.
    pub fn skipped_total(&self) -> u64 {
        self.skipped_total + self.run
    }

    /// Free space to read into; report what was written with [`commit`](Self::commit).
    pub fn read_buf(&mut self) -> &mut [u8] {
        self.dec.read_buf()
    }

    /// Records that `n` bytes were written at the start of [`read_buf`](Self::read_buf).
    pub fn commit(&mut self, n: usize) {
        self.dec.commit(n)
    }

    /// Records a read of `n` bytes into [`read_buf`](Self::read_buf), a read of 0 being the
    /// end of the stream ([`finish`](Self::finish)); returns whether the stream ended. What a
    /// read loop calls after each read.
    pub fn commit_read(&mut self, n: usize) -> bool {
        if n == 0 {
            self.finish();
        }
        self.commit(n);
        n == 0
    }

    /// Copies as much of `bytes` as fits into the buffer; returns how many were taken.
    pub fn feed(&mut self, bytes: &[u8]) -> usize {
        self.dec.feed(bytes)
    }

    /// Gives the buffer back, dropping everything buffered.
    pub fn into_inner(self) -> B {
        self.dec.into_inner()
    }

    /// The next event or skipped run, or `None` if more bytes are needed.
    pub fn next_event(&mut self) -> Option<Received<'_>> {
        self.next_event_raw().map(|(r, _)| r)
    }

    /// Whether [`next_event`](Self::next_event) would return something now, found without
    /// borrowing the buffer: lets a read loop decide whether to read (see
    /// [`io::read_received`](crate::io::read_received)).
    pub fn poll(&mut self) -> bool {
        !matches!(self.prepare(), Prepared::Wait)
    }

    /// Everything up to the state machine's next step: what to hand out first. A skipped
    /// run is marked `ready` (a `Skipped` is not copied back through every caller).
    fn prepare(&mut self) -> Prepared {
        loop {
            if self.ready.is_some() || self.advance() {
                return Prepared::Skipped;
            }
            if self.verified.is_none() && self.dec.between_frames() {
                return if self.ended() {
                    Prepared::Skipped
                } else {
                    Prepared::Wait
                };
            }
            // The front is a verified head, or a frame is in progress. Every fault the state
            // machine could find in a verified head was found by `advance`; what is left is a
            // payload checksum, found here by the step itself (its look-ahead) before the
            // step is taken, so that the search goes on at once.
            let e = match self.dec.look_ahead() {
                Ok(true) => return Prepared::Step,
                Ok(false) if !self.ending => return Prepared::Wait,
                Ok(false) => DecodeError::UnexpectedEof {
                    stage: crate::Stage::Payload,
                    have: 0,
                    need: 0,
                },
                Err(e) => e,
            };
            self.failed(e);
        }
    }

    /// The next event with the bytes it was decoded from, exactly as they arrived (see
    /// [`Decoder::next_event_raw`]); a skipped run comes with no bytes.
    pub fn next_event_raw(&mut self) -> Option<(Received<'_>, &[u8])> {
        if let Some(skipped) = self.next_skipped() {
            return Some((Received::Skipped(skipped), &[][..]));
        }
        self.next_decoded()
            .map(|(event, bytes)| (Received::Event(event), bytes))
    }

    /// [`next_event_raw`](Self::next_event_raw) in two halves, for a driver that handles
    /// skipped runs and events apart: the skipped run to report now, if one is due. When
    /// none is, [`next_decoded`](Self::next_decoded) gives the next event, if one is ready.
    ///
    /// ```
    /// use sockframe::resync::{Resync, SkipReason};
    /// use sockframe::{Event, Header, encode_frame};
    ///
    /// let mut frame = [0u8; 64];
    /// let n = encode_frame(&Header::data(7, b"hi").with_header_check(), b"hi", &mut frame).unwrap();
    /// let mut rx = Resync::new([0u8; 256]);
    /// rx.feed(b"noise");
    /// rx.feed(&frame[..n]);
    /// assert_eq!(rx.next_skipped().map(|s| (s.bytes, s.reason)), Some((5, SkipReason::Noise)));
    /// assert!(rx.next_skipped().is_none());
    /// let Some((Event::Frame(f), raw)) = rx.next_decoded() else { panic!() };
    /// assert_eq!((f.payload, raw), (&b"hi"[..], &frame[..n]));
    /// assert!(rx.next_skipped().is_none() && rx.next_decoded().is_none());
    /// ```
    pub fn next_skipped(&mut self) -> Option<Skipped> {
        let prepared = self.prepare();
        // Only what this call found counts: an earlier `Step` not taken is found again.
        self.stepping = matches!(prepared, Prepared::Step);
        if !matches!(prepared, Prepared::Skipped) {
            return None;
        }
        let skipped = Skipped {
            bytes: self.run,
            reason: self.reason,
            ends_stream: self.ready.take().unwrap_or(false),
        };
        self.skipped_total += self.run;
        self.run = 0;
        self.reason = SkipReason::Noise;
        Some(skipped)
    }

    /// The event [`next_skipped`](Self::next_skipped) found ready (when it gave no run), with
    /// the bytes it was decoded from, handed on as the decoder gives it; `None` if none is
    /// ready (more bytes are needed, or `next_skipped` was not asked first).
    pub fn next_decoded(&mut self) -> Option<(Event<'_>, &[u8])> {
        if !core::mem::take(&mut self.stepping) {
            return None;
        }
        let Ok(Some((event, bytes))) = self.dec.next_event_raw() else {
            return None;
        };
        // Bytes of a streamed frame handed out so far: its head, then its chunks.
        self.streamed = match event {
            Event::Start(_) => Some(0),
            Event::Chunk(_) => self.streamed,
            Event::Frame(_) | Event::End | Event::Abort(_) => None,
        }
        .map(|n| n + bytes.len() as u64);
        self.verified = None;
        Some((event, bytes))
    }

    /// Tells the receiver the stream has ended. Go on calling [`next_event`](Self::next_event)
    /// until it returns `None`: frames still buffered behind one cut short come out, and what
    /// is left (the frame cut short, noise) is the last skipped run. The receiver is then
    /// ready for a new stream.
    pub fn finish(&mut self) {
        self.ending = true;
    }

    /// Nothing more can be found: at the end of a stream, everything left is the last run.
    /// Whether a run is ready.
    fn ended(&mut self) -> bool {
        if !self.ending {
            return false;
        }
        // What is left starts with a frame start still incomplete, if anything.
        let left = self.dec.front().len();
        self.dec.drop_front(left);
        self.skip(left as u64, SkipReason::Cut);
        self.dec.reset();
        self.ending = false;
        self.take_run(false)
    }

    /// Everything before the state machine's next step: finds the next verified frame start
    /// (dropping what comes before it), or checks a due trailer. A skipped run to report
    /// first, if one is complete (then true).
    #[cfg_attr(feature = "small", inline(never))]
    fn advance(&mut self) -> bool {
        let due = self.dec.trailer_due();
        if due.is_none() && (!self.dec.between_frames() || self.verified.is_some()) {
            return false;
        }
        let (cap, limits) = (self.dec.capacity(), self.dec.limits());
        // One search for both (the trailer rules apply at the front when a trailer is due).
        // The reason goes straight into the run's (a due trailer's search names none).
        let mut unused = SkipReason::Noise;
        let reason = if due.is_some() {
            &mut unused
        } else {
            &mut self.reason
        };
        let found = scan(self.dec.front(), cap, limits, due, reason);
        if due.is_some() {
            // The trailer must be a verified head at the front (or may still become one). A
            // later verified start, or a rejected one at the front, means it is lost: the
            // streamed frame is dropped.
            if found.at == 0 && (found.head.is_some() || !self.ending) {
                return false;
            }
            self.dec.recover();
            let streamed = self.streamed.take().unwrap_or(0);
            self.skip(streamed, SkipReason::Cut);
            return self.take_run(true);
        }
        self.dec.drop_front(found.at);
        self.run += found.at as u64;
        self.verified = found.head;
        self.verified.is_some() && self.take_run(false)
    }

    /// The frame of a verified head failed (its payload checksum, or the stream ended inside
    /// it): drop it. A run is ready if the frame had been streamed.
    fn failed(&mut self, e: DecodeError) {
        let reason = match e {
            DecodeError::BadChecksum { .. } => SkipReason::Payload(e),
            DecodeError::UnexpectedEof { .. } => SkipReason::Cut,
            _ => SkipReason::Header(e),
        };
        self.dec.recover();
        if let Some(streamed) = self.streamed.take() {
            // The payload has been handed out: the frame is dropped, the search resumes after.
            self.skip(streamed, reason);
            self.take_run(true);
            return;
        }
        // A whole frame, still buffered: resume the search right after its head.
        let head = self.verified.take().unwrap_or(1);
        self.dec.drop_front(head);
        self.skip(head as u64, reason);
    }

    /// Adds `bytes` to the run not reported yet.
    #[cfg_attr(feature = "small", inline(never))]
    fn skip(&mut self, bytes: u64, reason: SkipReason) {
        if bytes == 0 {
            return;
        }
        self.run += bytes;
        // `matches!`, not `==`: a comparison of whole reasons would compare their errors.
        if matches!(self.reason, SkipReason::Noise) {
            self.reason = reason;
        }
    }

    /// The run so far, if there is one, made the report handed out next (then true).
    #[cfg_attr(feature = "small", inline(never))]
    fn take_run(&mut self, ends_stream: bool) -> bool {
        if self.run == 0 {
            return false;
        }
        self.ready = Some(ends_stream);
        true
    }
}

/// What [`scan`] found in the bytes between frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Found {
    /// Where the search stopped: every byte before it is skipped.
    at: usize,
    /// The head length of the verified frame start at `at`; `None`: wait for more bytes
    /// (`at` is then the first start that may still verify, or the end).
    head: Option<usize>,
}

/// How one position in the bytes looks as a frame start.
enum Verdict {
    /// Not `F5 46 01` (or its beginning at the very end of the bytes).
    NotStart,
    /// A start whose head has not arrived whole.
    Incomplete,
    /// A start that is not a frame (why: written where the caller said).
    Rejected,
    /// A verified head of this many bytes (prefix and header).
    Head(usize),
}

/// Searches `data` for the first verified frame start (spec section 9.1). A start whose head
/// is incomplete is waited for unless a later one verifies (it lies inside the earlier one's
/// claimed head, so the earlier one is false). `first`: the id whose trailer is due at
/// offset 0, if one is (the trailer rules apply there).
///
/// `reason`, if it is still [`SkipReason::Noise`] (a run keeps its first cause), is set to
/// why the bytes before the result's `at` are skipped: the first start rejected among them,
/// or [`SkipReason::Cut`] if a start still incomplete comes first and a later one verified.
/// Written in place: a reason is not carried through the loop and the result.
fn scan(
    data: &[u8],
    cap: usize,
    limits: Limits,
    first: Option<u32>,
    reason: &mut SkipReason,
) -> Found {
    let mut pending: Option<usize> = None;
    // No start rejected or pending met yet, and no cause in `reason`: the next one is it.
    let mut open = matches!(reason, SkipReason::Noise);
    let mut cut = false;
    let mut later = SkipReason::Noise;
    let mut from = 0;
    while let Some(off) = data
        .get(from..)
        .and_then(|d| d.iter().position(|&b| b == START[0]))
    {
        let at = from + off;
        from = at + 1;
        let expected = if at == 0 { first } else { None };
        let why = if open { &mut *reason } else { &mut later };
        match judge(&data[at..], cap, limits, expected, why) {
            Verdict::NotStart => {}
            Verdict::Incomplete => {
                // Skipped only if a later start verifies: then it was false, cut short.
                cut |= open;
                open = false;
                pending.get_or_insert(at);
            }
            Verdict::Rejected => open = false,
            Verdict::Head(head) => {
                if cut {
                    *reason = SkipReason::Cut;
                }
                return Found {
                    at,
                    head: Some(head),
                };
            }
        }
    }
    // Waiting at the first pending start (rejected ones after it are not skipped yet, and
    // did not write `reason`), or at the end.
    Found {
        at: pending.unwrap_or(data.len()),
        head: None,
    }
}

/// Judges the frame start at the front of `tail`; why a rejected one is not a frame goes into
/// `why`.
fn judge(
    tail: &[u8],
    cap: usize,
    limits: Limits,
    expected: Option<u32>,
    why: &mut SkipReason,
) -> Verdict {
    let n = tail.len().min(START.len());
    if !crate::text::same(&tail[..n], &START[..n]) {
        return Verdict::NotStart;
    }
    // The stream decoder's own prefix check: `header_len` against the header limit.
    let header_len = match faults::header_len(tail, cap, limits) {
        Ok(Some(len)) => len,
        Ok(None) => return Verdict::Incomplete,
        Err(e) => return rejected(why, SkipReason::Header(e)),
    };
    // A head too short for a check is judged once whole all the same (its 15 bytes at most
    // end before any real head after it would), so that the reason does not depend on how
    // the bytes arrived.
    let Some(head) = tail.get(..PREFIX_LEN + header_len) else {
        return Verdict::Incomplete;
    };
    if let Err(e) = header_check::verify(head) {
        return rejected(why, unchecked_or(head, e));
    }
    match checked_header(&head[PREFIX_LEN..], limits, expected) {
        Err(e) => rejected(why, SkipReason::Header(e)),
        Ok(h) if !h.flags.contains(Flags::HCHECK) => rejected(why, SkipReason::Unchecked),
        Ok(_) => Verdict::Head(head.len()),
    }
}

/// A rejected start, its reason written into `why`.
#[cfg_attr(feature = "small", inline(never))]
fn rejected(why: &mut SkipReason, reason: SkipReason) -> Verdict {
    *why = reason;
    Verdict::Rejected
}

/// The reason a head without a valid check is rejected: [`SkipReason::Unchecked`] if it is
/// whole and a valid header without the flag (a v1 frame from a sender that does not check),
/// else the check's failure.
#[cold]
fn unchecked_or(head: &[u8], e: CheckError) -> SkipReason {
    match Header::parse(&head[PREFIX_LEN..]) {
        Ok(h) if !h.flags.contains(Flags::HCHECK) => SkipReason::Unchecked,
        _ => SkipReason::HeaderCheck(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Kind, encode_frame};

    /// A checked frame with a payload crc, as a sender on a link writes it.
    fn frame(id: u32, payload: &[u8]) -> ([u8; 256], usize) {
        let mut out = [0u8; 256];
        let header = Header::data(id, payload)
            .with_crc_of(payload)
            .with_header_check();
        let n = encode_frame(&header, payload, &mut out).unwrap();
        (out, n)
    }

    /// What came out, owned: frames by (id, payload), skipped runs by (bytes, reason).
    #[derive(Debug, PartialEq)]
    enum Out {
        Frame(u32, [u8; 64], usize),
        Skip(u64, SkipReason),
    }

    fn run(rx: &mut Resync<[u8; 512]>, out: &mut heapless::Vec<Out, 32>) {
        while let Some(r) = rx.next_event() {
            let o = match r {
                Received::Event(Event::Frame(f)) => {
                    let mut p = [0u8; 64];
                    p[..f.payload.len()].copy_from_slice(f.payload);
                    Out::Frame(f.header.id, p, f.payload.len())
                }
                Received::Skipped(s) => Out::Skip(s.bytes, s.reason),
                other => panic!("{other:?}"),
            };
            out.push(o).unwrap();
        }
    }

    /// Feeds `bytes` one at a time (and then all at once): the same events either way.
    fn both_ways(bytes: &[u8]) -> heapless::Vec<Out, 32> {
        let mut one = heapless::Vec::new();
        let mut rx = Resync::new([0u8; 512]);
        for b in bytes {
            assert_eq!(rx.feed(core::slice::from_ref(b)), 1);
            run(&mut rx, &mut one);
        }
        rx.finish();
        run(&mut rx, &mut one);
        let mut all = heapless::Vec::new();
        let mut rx = Resync::new([0u8; 512]);
        assert_eq!(rx.feed(bytes), bytes.len());
        run(&mut rx, &mut all);
        rx.finish();
        run(&mut rx, &mut all);
        assert_eq!(one, all, "byte by byte vs all at once");
        one
    }

    fn frame_out(id: u32, payload: &[u8]) -> Out {
        let mut p = [0u8; 64];
        p[..payload.len()].copy_from_slice(payload);
        Out::Frame(id, p, payload.len())
    }

    fn stream(parts: &[&[u8]]) -> heapless::Vec<u8, 1024> {
        let mut s = heapless::Vec::new();
        for p in parts {
            s.extend_from_slice(p).unwrap();
        }
        s
    }

    #[test]
    fn clean_frames_pass_without_skips() {
        let (a, na) = frame(1, b"one");
        let (b, nb) = frame(2, b"");
        let got = both_ways(&stream(&[&a[..na], &b[..nb]]));
        assert_eq!(&got[..], &[frame_out(1, b"one"), frame_out(2, b"")]);
    }

    #[test]
    fn boot_text_and_noise_are_counted() {
        let (a, na) = frame(1, b"one");
        let (b, nb) = frame(2, b"two");
        let got = both_ways(&stream(&[
            b"U-Boot 2024\r\n",
            &a[..na],
            &[0xF5, 0x00, 0xFF, 0x46],
            &b[..nb],
            b"tail",
        ]));
        assert_eq!(
            &got[..],
            &[
                Out::Skip(13, SkipReason::Noise),
                frame_out(1, b"one"),
                Out::Skip(4, SkipReason::Noise),
                frame_out(2, b"two"),
                Out::Skip(4, SkipReason::Noise),
            ]
        );
    }

    /// Every skipped byte is counted once: while its run waits to be handed out, after it
    /// was, and when a reset drops it unreported.
    #[test]
    fn skipped_bytes_are_counted_once() {
        let (a, na) = frame(1, b"one");
        let mut rx = Resync::new([0u8; 512]);
        rx.feed(b"noise");
        rx.feed(&a[..na]);
        assert!(rx.poll());
        assert_eq!(rx.skipped_total(), 5);
        assert!(matches!(rx.next_event(), Some(Received::Skipped(s)) if s.bytes == 5));
        assert_eq!(rx.skipped_total(), 5);
        assert!(matches!(
            rx.next_event(),
            Some(Received::Event(Event::Frame(_)))
        ));
        rx.feed(b"more");
        rx.finish();
        assert!(rx.poll());
        assert_eq!(rx.skipped_total(), 9);
        rx.reset();
        assert_eq!(rx.skipped_total(), 9);
        assert_eq!(rx.next_event(), None);
        rx.feed(b"xy");
        rx.reset();
        assert_eq!(rx.skipped_total(), 11);
    }

    /// A false magic claiming a 400-byte header just before a frame: the frame comes out as
    /// soon as it is in, not after 400 bytes.
    #[test]
    fn false_start_never_makes_it_wait() {
        let (a, na) = frame(1, b"one");
        let bytes = stream(&[&[0xF5, 0x46, 0x01, 0x90, 0x01, 0xAA], &a[..na]]);
        let mut rx = Resync::new([0u8; 512]);
        let mut got = heapless::Vec::new();
        for b in &bytes[..] {
            rx.feed(core::slice::from_ref(b));
            run(&mut rx, &mut got);
        }
        assert_eq!(
            &got[..],
            &[Out::Skip(6, SkipReason::Cut), frame_out(1, b"one")]
        );
    }

    /// A damaged payload is dropped; the frame after it comes out whole.
    #[test]
    fn damaged_payload_is_dropped() {
        let (mut a, na) = frame(1, b"payload");
        let (b, nb) = frame(2, b"next");
        a[na - 2] ^= 0x10;
        let got = both_ways(&stream(&[&a[..na], &b[..nb]]));
        assert!(
            matches!(got[0], Out::Skip(n, SkipReason::Payload(DecodeError::BadChecksum { .. })) if n == na as u64)
        );
        assert_eq!(got[1], frame_out(2, b"next"));
        assert_eq!(got.len(), 2);
    }

    /// Bytes lost inside a payload: the frame claims bytes of the next one; once its checksum
    /// fails, the next frame is found among the bytes already buffered.
    #[test]
    fn lost_payload_bytes_cost_only_their_frame() {
        let (a, na) = frame(1, b"a longer payload");
        let (b, nb) = frame(2, b"next");
        let (c, nc) = frame(3, b"third");
        let cut = stream(&[&a[..na - 9], &a[na - 5..na], &b[..nb], &c[..nc]]);
        let got = both_ways(&cut);
        assert_eq!(got[1], frame_out(2, b"next"));
        assert_eq!(got[2], frame_out(3, b"third"));
        assert!(matches!(got[0], Out::Skip(n, SkipReason::Payload(_)) if n == na as u64 - 4));
    }

    /// Every single bit flipped in a frame's head: never delivered, the next frame is.
    #[test]
    fn any_flipped_head_bit_is_caught() {
        let (a, na) = frame(300, b"data");
        let (b, nb) = frame(2, b"next");
        let head = na - 4;
        for byte in 0..head {
            for bit in 0..8 {
                let mut bad = a;
                bad[byte] ^= 1 << bit;
                let got = both_ways(&stream(&[&bad[..na], &b[..nb]]));
                assert_eq!(
                    got.last(),
                    Some(&frame_out(2, b"next")),
                    "byte {byte} bit {bit}"
                );
                assert!(
                    got.iter().all(|o| !matches!(o, Out::Frame(300, ..))),
                    "byte {byte} bit {bit}: {got:?}"
                );
            }
        }
    }

    /// A frame without the header check is not taken for a frame on a link.
    #[test]
    fn unchecked_frames_are_skipped() {
        let mut v1 = [0u8; 64];
        let n = encode_frame(&Header::data(1, b"hi"), b"hi", &mut v1).unwrap();
        let (b, nb) = frame(2, b"next");
        let got = both_ways(&stream(&[&v1[..n], &b[..nb]]));
        assert_eq!(
            &got[..],
            &[
                Out::Skip(n as u64, SkipReason::Unchecked),
                frame_out(2, b"next")
            ]
        );
    }

    /// A run's reason is its first cause: a rejected start before a false one still waiting
    /// for its head, or the false one (cut short) before a rejected one.
    #[test]
    fn a_run_is_named_by_its_first_cause() {
        let mut v1 = [0u8; 64];
        let n = encode_frame(&Header::data(1, b"hi"), b"hi", &mut v1).unwrap();
        let false_start = [0xF5, 0x46, 0x01, 0x90, 0x01, 0xAA];
        let (b, nb) = frame(2, b"next");
        let got = both_ways(&stream(&[&v1[..n], &false_start, &b[..nb]]));
        assert_eq!(
            &got[..],
            &[
                Out::Skip(n as u64 + 6, SkipReason::Unchecked),
                frame_out(2, b"next")
            ]
        );
        let got = both_ways(&stream(&[&false_start, &v1[..n], &b[..nb]]));
        assert_eq!(
            &got[..],
            &[
                Out::Skip(6 + n as u64, SkipReason::Cut),
                frame_out(2, b"next")
            ]
        );
    }

    /// A frame inside a payload stays payload.
    #[test]
    fn a_frame_in_a_payload_is_not_delivered() {
        let (inner, ni) = frame(9, b"in");
        let (outer, no) = frame(1, &inner[..ni]);
        let got = both_ways(&outer[..no]);
        assert_eq!(&got[..], &[frame_out(1, &inner[..ni])]);
    }

    /// A stream that ends inside a frame: the rest is a cut frame.
    #[test]
    fn end_inside_a_frame() {
        let (a, na) = frame(1, b"payload");
        let got = both_ways(&a[..na - 3]);
        assert_eq!(&got[..], &[Out::Skip(na as u64 - 3, SkipReason::Cut)]);
    }

    /// A frame larger than the buffer streams; one whose checksum fails at the end is
    /// reported as a dropped stream, and the next frame comes out.
    #[test]
    fn streamed_frames() {
        let payload = [0x5Au8; 1000];
        let mut big = [0u8; 1100];
        let header = Header::data(4, &payload)
            .with_crc_of(&payload)
            .with_header_check();
        let n = encode_frame(&header, &payload, &mut big).unwrap();
        let (b, nb) = frame(2, b"next");
        for damage in [false, true] {
            let mut wire = big;
            if damage {
                wire[n - 1] ^= 1;
            }
            let mut rx = Resync::new([0u8; 512]);
            let (mut chunks, mut ended, mut dropped, mut next) = (0usize, false, None, false);
            for piece in [&wire[..n], &b[..nb]] {
                let mut rest = piece;
                while !rest.is_empty() {
                    let k = rx.feed(rest);
                    rest = &rest[k..];
                    while let Some(r) = rx.next_event() {
                        match r {
                            Received::Event(Event::Start(h)) => assert_eq!(h.len, 1000),
                            Received::Event(Event::Chunk(c)) => chunks += c.len(),
                            Received::Event(Event::End) => ended = true,
                            Received::Event(Event::Frame(f)) => next = f.header.id == 2,
                            Received::Skipped(s) => dropped = Some(s),
                            other => panic!("{other:?}"),
                        }
                    }
                }
            }
            assert_eq!(chunks, 1000);
            assert!(next);
            assert_eq!(ended, !damage);
            match dropped {
                None => assert!(!damage),
                Some(s) => {
                    assert!(damage && s.ends_stream && s.bytes == n as u64, "{s:?}");
                    assert!(matches!(s.reason, SkipReason::Payload(_)));
                }
            }
        }
    }

    /// A header too large for the limit, an END where no trailer is due: skipped with the
    /// stream decoder's own error.
    #[test]
    fn rules_of_the_stream_decoder_hold() {
        let mut end = [0u8; 64];
        let n = encode_frame(
            &Header::new(Kind::END, 1, 0).with_header_check(),
            &[],
            &mut end,
        )
        .unwrap();
        let (b, nb) = frame(2, b"next");
        let got = both_ways(&stream(&[&end[..n], &b[..nb]]));
        assert!(
            matches!(
                got[0],
                Out::Skip(_, SkipReason::Header(DecodeError::BadTrailer { .. }))
            ),
            "{got:?}"
        );
        assert_eq!(got[1], frame_out(2, b"next"));
        let got = both_ways(&stream(&[&[0xF5, 0x46, 0x01, 0xFF, 0x7F], &b[..nb]]));
        assert!(matches!(
            got[0],
            Out::Skip(
                5,
                SkipReason::Header(DecodeError::HeaderTooLarge {
                    len: 0x7FFF,
                    limit: 507
                })
            )
        ));
    }
}
