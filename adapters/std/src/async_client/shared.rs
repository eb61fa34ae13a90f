//! State the client's handles and its tasks share, under one lock: the requests waiting for
//! replies (a table of slots by id) and the bytes waiting to be written.
//!
//! Per request this costs two lock round trips on the caller's side (register and append
//! the frame; take the reply) and none of its own on the reader's and writer's side: the
//! reader hands out every reply of a read under one lock and wakes their callers after it,
//! the writer takes every frame appended since its last write under one lock. A caller is
//! woken once, by its reply (or its timeout, or the connection's end).

use super::error::AsyncClientError;
use super::slots::{Slot, Slots};
use crate::codec::{BytesFrame, FrameHead};
use bytes::{Bytes, BytesMut};
use sockframe::{Flags, Header, Kind};
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::Duration;
use tokio::sync::{Notify, mpsc};

/// One piece of a reply received as a stream.
#[derive(Debug)]
pub(crate) struct Piece {
    /// The head of the frame this piece starts (the first piece of each frame).
    pub head: Option<FrameHead>,
    pub data: Bytes,
    /// The last piece of the reply.
    pub last: bool,
}

pub(crate) type Delivery<T> = Result<T, AsyncClientError>;

/// How far a request got (what its [`Waiter`] holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
enum Stage {
    /// No outcome yet (pieces of a reply may be collected in [`Extra::Partial`]).
    #[default]
    Waiting,
    /// A whole reply with a plain head (no name, checksum or metadata: nearly all):
    /// its kind, flags and payload are in the waiter itself.
    Replied,
    /// Any other outcome, in [`Extra::Outcome`].
    Settled,
    /// The sweeper gave up on it (the caller knows its timeout).
    TimedOut,
}

/// Who waits for the reply to one id: a slot of [`Slots`], filled and emptied in place.
///
/// 72 bytes: what the common request needs (its id, waker, deadline and, once replied, a
/// plain reply's kind, flags and payload) is inline; the rest (a streaming receiver, a
/// reply collected from pieces, an error, a reply whose head has a name, checksum or
/// metadata) is boxed in `extra`. With 1,024 requests in flight the table is 2,048 slots:
/// 144 KiB (it was 168 bytes a slot, 336 KiB, with the whole outcome inline).
pub(crate) struct Waiter {
    /// A plain reply's payload ([`Stage::Replied`]).
    payload: Bytes,
    /// Wakes the caller.
    waker: Option<Waker>,
    /// What the common case does without (see above).
    extra: Option<Box<Extra>>,
    /// The sweeper tick at which the request has surely waited its timeout; 0: none.
    deadline: u64,
    /// The request in this slot; 0 when vacant.
    id: u32,
    stage: Stage,
    /// A plain reply's kind and flags ([`Stage::Replied`]).
    kind: Kind,
    flags: Flags,
}

/// The size the table's memory is figured with (above).
const _: () = assert!(std::mem::size_of::<Waiter>() == 72);

/// The rare parts of a [`Waiter`], boxed.
enum Extra {
    /// A receiver that takes the reply piece by piece (backpressure: the reader waits for
    /// room); else the reply is collected whole (fragments and streamed frames too, up to
    /// a limit).
    Stream(mpsc::Sender<Delivery<Piece>>),
    /// A reply in several pieces, collected so far.
    Partial(FrameHead, BytesMut),
    /// The outcome ([`Stage::Settled`]); later frames for the id are discarded.
    Outcome(Delivery<BytesFrame>),
}

impl Default for Waiter {
    fn default() -> Self {
        Waiter {
            payload: Bytes::new(),
            waker: None,
            extra: None,
            deadline: 0,
            id: 0,
            stage: Stage::Waiting,
            kind: Kind::DATA,
            flags: Flags::default(),
        }
    }
}

impl Slot for Waiter {
    fn id(&self) -> u32 {
        self.id
    }

    fn set_id(&mut self, id: u32) {
        self.id = id;
    }

    fn vacate(&mut self) {
        *self = Waiter::default();
    }
}

impl Waiter {
    /// Fills a vacant slot for a request that wants its reply whole.
    #[inline]
    pub fn whole(&mut self, waker: &Waker, deadline: Option<Deadline>) {
        // A released slot may still say how its last request ended.
        self.stage = Stage::Waiting;
        self.waker = Some(waker.clone());
        self.deadline = deadline.map_or(0, |d| d.tick);
    }

    /// Fills a vacant slot for a request that takes its reply piece by piece from `tx`.
    pub fn stream(&mut self, tx: mpsc::Sender<Delivery<Piece>>) {
        self.stage = Stage::Waiting;
        self.deadline = 0;
        self.extra = Some(Box::new(Extra::Stream(tx)));
    }

    /// The streaming receiver's channel, for a request that takes its reply piece by piece.
    fn sender(&self) -> Option<&mpsc::Sender<Delivery<Piece>>> {
        match self.extra.as_deref() {
            Some(Extra::Stream(tx)) => Some(tx),
            _ => None,
        }
    }

    /// Settles the request (unless it already is) and queues its caller's wake-up.
    fn finish(&mut self, outcome: Delivery<BytesFrame>, wakers: &mut Vec<Waker>) {
        if self.stage == Stage::Waiting {
            self.stage = Stage::Settled;
            self.extra = Some(Box::new(Extra::Outcome(outcome)));
            self.wake(wakers);
        }
    }

    /// Queues the caller's wake-up (it was settled).
    #[inline]
    fn wake(&mut self, wakers: &mut Vec<Waker>) {
        if let Some(waker) = self.waker.take() {
            wakers.push(waker);
        }
    }
}

/// A request's deadline on the sweeper's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    /// The sweeper tick at which the request has surely waited `after`.
    tick: u64,
    /// The timeout the caller asked for (reported in the error).
    pub after: Duration,
}

/// A timeout and the sweeper ticks it lasts (rounded up).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Timeout {
    after: Duration,
    ticks: u64,
}

impl Timeout {
    pub fn new(after: Duration) -> Timeout {
        const PER_SECOND: u64 = 1_000_000_000 / TICK.as_nanos() as u64;
        let ticks = after
            .as_secs()
            .saturating_mul(PER_SECOND)
            .saturating_add(u64::from(after.subsec_nanos()).div_ceil(TICK.as_nanos() as u64));
        Timeout { after, ticks }
    }
}

/// The sweeper's resolution: a request times out between its timeout and its timeout plus
/// two ticks. One timer for the whole client instead of one per request (registering and
/// cancelling a tokio timer per request cost about a fifth of the client's time with 1,024
/// requests in flight).
pub(crate) const TICK: Duration = Duration::from_millis(10);

/// Above this many bytes waiting for the writer, senders wait for it to drain.
const HIGH_WATER: usize = 1 << 20;

/// Everything under the one lock.
pub(crate) struct State {
    /// The requests in flight.
    pub slots: Slots<Waiter>,
    /// Bytes for the writer task; callers append whole frames.
    pub out: BytesMut,
    /// Set once the connection is gone: why.
    pub closed: Option<AsyncClientError>,
    /// No request in flight has a deadline before this tick (`u64::MAX`: none has one):
    /// the sweeper looks at the table only once a deadline may have come.
    next_due: u64,
}

pub(crate) struct Shared {
    state: Mutex<State>,
    /// Tells the writer task there is something to write (or that it should stop).
    pub wake_writer: Notify,
    /// Tells senders the writer took the outbox.
    pub drained: Notify,
    /// Reply frames that found no one waiting (timed out or cancelled requests).
    pub discarded: AtomicU64,
    /// Largest reply collected whole.
    max_reply: u64,
    /// The sweeper's clock: ticks of [`TICK`] counted while requests wait.
    tick: AtomicU64,
    /// Wakes the sweeper when the first request of a busy spell is registered.
    wake_sweeper: Notify,
}

/// Locks ignoring poison: the state stays consistent at every unlock (no panics inside).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

/// Wakes the callers whose requests were settled (after the lock is released).
fn wake(wakers: &mut Vec<Waker>) {
    for w in wakers.drain(..) {
        w.wake();
    }
}

impl Shared {
    /// `first_id`: the first id handed out (tests start near the top to see ids wrap).
    pub fn new(max_reply: u64, first_id: u32) -> Arc<Shared> {
        Arc::new(Shared {
            state: Mutex::new(State {
                slots: Slots::starting_at(first_id),
                out: BytesMut::new(),
                closed: None,
                next_due: u64::MAX,
            }),
            wake_writer: Notify::new(),
            drained: Notify::new(),
            discarded: AtomicU64::new(0),
            max_reply,
            tick: AtomicU64::new(0),
            wake_sweeper: Notify::new(),
        })
    }

    #[inline]
    pub fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Requests in flight.
    pub fn in_flight(&self) -> usize {
        self.state().slots.len()
    }

    /// The deadline for a request that waits at most `after` from now (`None`: forever).
    pub fn deadline(&self, after: Option<Duration>) -> Option<Deadline> {
        self.deadline_in(after.map(Timeout::new))
    }

    /// [`deadline`](Self::deadline) for a timeout converted once.
    pub fn deadline_in(&self, after: Option<Timeout>) -> Option<Deadline> {
        let after = after?;
        // +1: the tick in progress may be nearly over.
        let tick = self
            .tick
            .load(Ordering::Relaxed)
            .saturating_add(after.ticks.saturating_add(1));
        Some(Deadline {
            tick,
            after: after.after,
        })
    }

    /// Registers the waiter `fill` makes under a fresh id (never 0, never one in flight)
    /// and appends what `put` writes for that id to the outbox, under one lock; waits while
    /// the writer is far behind. The id is released when the returned ticket drops.
    pub async fn submit(
        &self,
        fill: impl Fn(&mut Waiter, &Waker),
        mut put: impl FnMut(u32, &mut BytesMut) -> Result<(), sockframe::EncodeError>,
    ) -> Result<Ticket<'_>, AsyncClientError> {
        loop {
            match poll_fn(|cx| Poll::Ready(self.try_submit(cx.waker(), &fill, &mut put))).await {
                Some(done) => return done,
                None => self.room().await,
            }
        }
    }

    /// One try of [`submit`](Self::submit), with the caller's waker: `None` while the
    /// outbox is full (then wait for [`room`](Self::room)).
    pub fn try_submit(
        &self,
        waker: &Waker,
        fill: impl FnOnce(&mut Waiter, &Waker),
        put: impl FnOnce(u32, &mut BytesMut) -> Result<(), sockframe::EncodeError>,
    ) -> Option<Result<Ticket<'_>, AsyncClientError>> {
        let id = self.try_with_room(waker, |st, waker| {
            if st.slots.is_empty() {
                self.wake_sweeper.notify_one();
            }
            let (id, w) = st.slots.insert(|w| fill(w, waker));
            let due = w.deadline;
            if due != 0 && due < st.next_due {
                st.next_due = due;
            }
            let at = st.out.len();
            if let Err(e) = put(id, &mut st.out) {
                st.out.truncate(at);
                st.slots.discard(id);
                return Err(e.into());
            }
            Ok(id)
        })?;
        Some(id.map(|id| Ticket {
            shared: self,
            id,
            live: true,
            after: Duration::ZERO,
        }))
    }

    /// Appends what `put` writes to the outbox (waiting while the writer is far behind).
    pub async fn send(
        &self,
        mut put: impl FnMut(&mut BytesMut) -> Result<(), sockframe::EncodeError>,
    ) -> Result<(), AsyncClientError> {
        loop {
            let step = poll_fn(|cx| {
                Poll::Ready(self.try_with_room(cx.waker(), |st, _| {
                    let at = st.out.len();
                    put(&mut st.out).map_err(|e| {
                        st.out.truncate(at);
                        e.into()
                    })
                }))
            })
            .await;
            match step {
                Some(done) => return done,
                None => self.room().await,
            }
        }
    }

    /// Runs `f` on the state if the outbox has room (else `None`) and wakes the writer if
    /// `f` gave it its first bytes. `f` gets the caller's waker.
    fn try_with_room<T>(
        &self,
        waker: &Waker,
        f: impl FnOnce(&mut State, &Waker) -> Result<T, AsyncClientError>,
    ) -> Option<Result<T, AsyncClientError>> {
        let mut st = self.state();
        if let Some(e) = &st.closed {
            return Some(Err(e.clone()));
        }
        if st.out.len() >= HIGH_WATER {
            return None;
        }
        let was_empty = st.out.is_empty();
        let done = f(&mut st, waker);
        // Else the writer was woken for the bytes already there and takes these too.
        let first = was_empty && !st.out.is_empty();
        drop(st);
        if first {
            self.wake_writer.notify_one();
        }
        Some(done)
    }

    /// Waits until the writer took the outbox (or the connection is gone).
    pub async fn room(&self) {
        let mut drained = pin!(self.drained.notified());
        drained.as_mut().enable();
        // Looked at once registered: a drain since the caller looked is not missed.
        let full = {
            let st = self.state();
            st.out.len() >= HIGH_WATER && st.closed.is_none()
        };
        if full {
            drained.await;
        }
    }

    /// Starts the clock of request `id` (registered without a deadline) now.
    pub fn arm(&self, id: u32, after: Option<Duration>) {
        let Some(due) = self.deadline(after).map(|d| d.tick) else {
            return;
        };
        let mut st = self.state();
        let st = &mut *st;
        if let Some(w) = st.slots.get_mut(id) {
            w.deadline = due;
            st.next_due = st.next_due.min(due);
        }
    }

    /// One tick of the sweeper: advances the clock and fails the requests whose deadline
    /// has come. Returns whether requests still wait (else the sweeper sleeps).
    pub fn sweep(&self) -> bool {
        let now = self.tick.fetch_add(1, Ordering::Relaxed) + 1;
        let mut wakers = Vec::new();
        let busy = {
            let mut st = self.state();
            let st = &mut *st;
            if now >= st.next_due {
                let mut next = u64::MAX;
                st.slots.retain(|w| {
                    match w.deadline {
                        0 => {}
                        due if due <= now => {
                            w.deadline = 0;
                            if w.stage == Stage::Waiting {
                                w.stage = Stage::TimedOut;
                                w.extra = None;
                                w.wake(&mut wakers);
                            }
                        }
                        due => next = next.min(due),
                    }
                    true
                });
                st.next_due = next;
            }
            !st.slots.is_empty()
        };
        wake(&mut wakers);
        busy
    }

    /// Waits until a request is registered (the sweeper's rest between busy spells).
    pub async fn idle(&self) {
        let woken = self.wake_sweeper.notified();
        if self.state().slots.is_empty() {
            woken.await;
        }
    }

    /// The error new requests get once the connection is gone.
    pub fn closed_error(&self) -> AsyncClientError {
        closed_error(&self.state())
    }

    /// The connection is gone: every waiter gets `e`, new requests fail with it.
    pub fn fail_all(&self, e: AsyncClientError) {
        let mut wakers = Vec::new();
        {
            let mut st = self.state();
            st.closed.get_or_insert(e.clone());
            st.slots.retain(|w| match w.sender() {
                // Its receiver gets the error, or (if full) sees the channel close.
                Some(tx) => {
                    let _ = tx.try_send(Err(e.clone()));
                    false
                }
                None => {
                    w.finish(Err(e.clone()), &mut wakers);
                    true
                }
            });
        }
        wake(&mut wakers);
        self.drained.notify_waiters();
        self.wake_writer.notify_one();
    }
}

fn closed_error(st: &State) -> AsyncClientError {
    st.closed
        .clone()
        .unwrap_or_else(|| AsyncClientError::ConnectionLost("the client was closed".into()))
}

/// The reader's side of the state, held for a burst of replies: it hands each to its
/// request and collects the wake-ups for after the lock.
pub(crate) struct Handout<'a> {
    pub shared: &'a Shared,
    pub st: MutexGuard<'a, State>,
    pub wakers: &'a mut Vec<Waker>,
}

impl Handout<'_> {
    /// Hands one piece of the reply to `id` to whoever waits for it. Returns the piece and
    /// the channel when it goes to a streaming receiver (sent by the caller, after the
    /// lock: the reader waits for its room).
    ///
    /// `head` is set on the first piece of each frame; `last` ends the reply (the last
    /// piece of a frame without MORE).
    pub fn deliver(
        &mut self,
        id: u32,
        head: Option<&Header<'_>>,
        data: Bytes,
        last: bool,
    ) -> Option<(mpsc::Sender<Delivery<Piece>>, Piece)> {
        let w = match self.st.slots.get_mut(id) {
            Some(w) if w.stage == Stage::Waiting => w,
            // Not in flight (cancelled) or settled (timed out, failed, answered twice). A
            // reply counts as discarded once, at its first piece.
            _ => {
                if head.is_some() {
                    self.shared.discarded.fetch_add(1, Ordering::Relaxed);
                }
                return None;
            }
        };
        let max_reply = self.shared.max_reply;
        if let Some(head) = head
            && last
            && w.extra.is_none()
            && data.len() as u64 <= max_reply
        {
            // A reply in one whole frame: nothing to collect.
            if head.name.is_none() && head.crc.is_none() && head.meta.is_empty() {
                // The common case, a plain head: kept in the slot as it is.
                w.stage = Stage::Replied;
                w.kind = head.kind;
                w.flags = head.flags;
                w.payload = data;
                w.wake(self.wakers);
            } else {
                let reply = BytesFrame {
                    head: FrameHead::from_header(head),
                    payload: data,
                };
                w.finish(Ok(reply), self.wakers);
            }
            return None;
        }
        // Pieces of a reply, for a streaming receiver or to collect.
        if let Some(tx) = w.sender() {
            let tx = tx.clone();
            if last {
                self.st.slots.discard(id);
            }
            let head = head.map(FrameHead::from_header);
            return Some((tx, Piece { head, data, last }));
        }
        let extra = w.extra.get_or_insert_with(|| {
            let head = head.map_or_else(|| FrameHead::new(Kind::DATA, id), FrameHead::from_header);
            Box::new(Extra::Partial(head, BytesMut::new()))
        });
        let Extra::Partial(_, body) = &mut **extra else {
            // Only a streaming receiver or an outcome is anything else: both seen above.
            return None;
        };
        let got = (body.len() + data.len()) as u64;
        if got > max_reply {
            let limit = max_reply;
            w.finish(
                Err(AsyncClientError::ReplyTooLarge { got, limit }),
                self.wakers,
            );
            return None;
        }
        body.extend_from_slice(&data);
        if last && let Some(Extra::Partial(mut head, body)) = w.extra.take().map(|b| *b) {
            head.flags.0 &= !Flags::MORE.0;
            let reply = BytesFrame {
                head,
                payload: body.freeze(),
            };
            w.finish(Ok(reply), self.wakers);
        }
        None
    }

    /// An error frame (or ABORT) for request `id`: its waiter gets it as a typed error.
    pub fn deliver_error(&mut self, id: u32, code: String, message: String) {
        let e = AsyncClientError::Remote { id, code, message };
        match self.st.slots.get_mut(id) {
            Some(w) if w.sender().is_some() => {
                if let Some(tx) = w.sender() {
                    let _ = tx.try_send(Err(e));
                }
                self.st.slots.discard(id);
            }
            Some(w) if w.stage == Stage::Waiting => w.finish(Err(e), self.wakers),
            _ => {
                self.shared.discarded.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// An id in flight; dropping it before its reply is taken (a cancelled request) frees the
/// id, so a late reply finds no one and is discarded.
pub(crate) struct Ticket<'a> {
    shared: &'a Shared,
    pub id: u32,
    /// Still holds its slot.
    live: bool,
    /// The request's timeout, for the error if the sweeper gives up on it.
    pub after: Duration,
}

impl<'a> Ticket<'a> {
    /// Takes the outcome if the request is settled; else keeps `cx`'s waker to be woken.
    pub fn poll_reply(&mut self, cx: &mut Context<'_>) -> Poll<Delivery<BytesFrame>> {
        let mut st = self.shared.state();
        let stage = match st.slots.get_mut(self.id) {
            Some(w) if w.stage == Stage::Replied => {
                // Settling took the waker: the slot holds nothing else to drop.
                let payload = std::mem::take(&mut w.payload);
                let (kind, flags) = (w.kind, w.flags);
                st.slots.release(self.id);
                drop(st);
                self.live = false;
                let mut head = FrameHead::new(kind, self.id);
                head.flags = flags;
                return Poll::Ready(Ok(BytesFrame { head, payload }));
            }
            Some(w) if w.stage == Stage::Waiting && w.sender().is_none() => {
                match &w.waker {
                    Some(old) if old.will_wake(cx.waker()) => {}
                    _ => w.waker = Some(cx.waker().clone()),
                }
                return Poll::Pending;
            }
            Some(w) => (w.stage, w.extra.take()),
            None => (Stage::Waiting, None),
        };
        let outcome = match stage {
            (Stage::TimedOut, _) => Err(AsyncClientError::Timeout(self.after)),
            (_, extra) => match extra.map(|b| *b) {
                Some(Extra::Outcome(outcome)) => outcome,
                // Not a whole waiter (cannot happen): the connection's state says what is
                // left.
                _ => Err(closed_error(&st)),
            },
        };
        st.slots.discard(self.id);
        self.live = false;
        drop(st);
        Poll::Ready(outcome)
    }

    /// Waits for the whole reply, the error frame, the sweeper's timeout or the
    /// connection's end, whichever settles the request first.
    pub fn reply(self) -> Reply<'a> {
        Reply { ticket: self }
    }
}

impl Drop for Ticket<'_> {
    fn drop(&mut self) {
        if self.live {
            self.shared.state().slots.discard(self.id);
        }
    }
}

/// The future of [`Ticket::reply`].
pub(crate) struct Reply<'a> {
    ticket: Ticket<'a>,
}

impl Future for Reply<'_> {
    type Output = Delivery<BytesFrame>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().ticket.poll_reply(cx)
    }
}
