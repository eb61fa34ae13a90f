//! State the client's handles and its two tasks share: the requests waiting for replies
//! (by id) and the bytes waiting to be written.

use super::error::AsyncClientError;
use crate::codec::{BytesFrame, FrameHead};
use bytes::{Bytes, BytesMut};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;
use tokio::sync::{Notify, mpsc, oneshot};

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

/// Who waits for the reply to one id.
pub(crate) enum Waiter {
    /// Wants the reply whole: fragments and streamed frames are collected (up to a limit).
    Whole {
        tx: oneshot::Sender<Delivery<BytesFrame>>,
        /// A reply in several pieces, collected so far (boxed: most replies come whole, and
        /// a small entry keeps the map of 1,000s of waiters compact).
        partial: Option<Box<(FrameHead, BytesMut)>>,
        /// When the sweeper gives up on it.
        deadline: Option<Deadline>,
    },
    /// Takes the reply piece by piece (backpressure: the reader waits for room).
    Stream { tx: mpsc::Sender<Delivery<Piece>> },
    /// Taken out by the sweeper (a placeholder while it is removed).
    Gone,
}

impl Waiter {
    fn fail(self, e: AsyncClientError) {
        // A receiver that is gone was cancelled: nobody to tell.
        match self {
            Waiter::Whole { tx, .. } => drop(tx.send(Err(e))),
            Waiter::Stream { tx } => drop(tx.try_send(Err(e))),
            Waiter::Gone => {}
        }
    }
}

/// A request's deadline on the sweeper's clock.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    /// The sweeper tick at which the request has surely waited `after`.
    tick: u64,
    /// The timeout the caller asked for (reported in the error).
    after: Duration,
}

/// The sweeper's resolution: a request times out between its timeout and its timeout plus
/// two ticks. One timer for the whole client instead of one per request (registering and
/// cancelling a tokio timer per request cost about a fifth of the client's time with 1,024
/// requests in flight).
pub(crate) const TICK: Duration = Duration::from_millis(10);

#[derive(Default)]
pub(crate) struct Pending {
    pub map: HashMap<u32, Waiter, BuildHasherDefault<IdHasher>>,
    next_id: u32,
    /// Set once the connection is gone: why.
    pub closed: Option<AsyncClientError>,
}

/// Bytes for the writer task; callers append whole frames.
#[derive(Default)]
pub(crate) struct Outbox {
    pub buf: BytesMut,
    pub closed: bool,
}

/// Above this many bytes waiting for the writer, senders wait for it to drain.
const HIGH_WATER: usize = 1 << 20;

pub(crate) struct Shared {
    pub pending: Mutex<Pending>,
    pub out: Mutex<Outbox>,
    /// Tells the writer task there is something to write (or that it should stop).
    pub wake_writer: Notify,
    /// Tells senders the writer took the outbox.
    pub drained: Notify,
    /// Reply frames that found no one waiting (timed out or cancelled requests).
    pub discarded: AtomicU64,
    /// Largest reply collected whole.
    pub max_reply: u64,
    /// The sweeper's clock: ticks of [`TICK`] counted while requests wait.
    tick: AtomicU64,
    /// Wakes the sweeper when the first request of a busy spell is registered.
    wake_sweeper: Notify,
}

/// Locks ignoring poison: the state stays consistent at every unlock (no panics inside).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl Shared {
    pub fn new(max_reply: u64) -> Arc<Shared> {
        Arc::new(Shared {
            pending: Mutex::new(Pending {
                next_id: 1,
                ..Pending::default()
            }),
            out: Mutex::default(),
            wake_writer: Notify::new(),
            drained: Notify::new(),
            discarded: AtomicU64::new(0),
            max_reply,
            tick: AtomicU64::new(0),
            wake_sweeper: Notify::new(),
        })
    }

    /// Registers `waiter` under a fresh id: never 0 (connection errors use it), never one
    /// in flight. The id is released when the returned guard drops.
    pub fn register(self: &Arc<Self>, waiter: Waiter) -> Result<Registration, AsyncClientError> {
        let mut p = lock(&self.pending);
        if let Some(e) = &p.closed {
            return Err(e.clone());
        }
        // At most `map.len() + 1` tries: ids in flight are skipped.
        let id = loop {
            let id = p.next_id;
            p.next_id = p.next_id.wrapping_add(1).max(1);
            if !p.map.contains_key(&id) {
                break id;
            }
        };
        if p.map.is_empty() {
            self.wake_sweeper.notify_one();
        }
        p.map.insert(id, waiter);
        Ok(Registration {
            shared: self.clone(),
            id,
            answered: false,
        })
    }

    /// The deadline for a request that waits at most `after` from now (`None`: forever).
    pub fn deadline(&self, after: Option<Duration>) -> Option<Deadline> {
        let after = after?;
        let ticks = after.as_nanos().div_ceil(TICK.as_nanos()) as u64;
        // +1: the tick in progress may be nearly over.
        let tick = self.tick.load(Ordering::Relaxed).saturating_add(ticks + 1);
        Some(Deadline { tick, after })
    }

    /// Starts the clock of request `id` (registered without a deadline) now.
    pub fn arm(&self, id: u32, after: Option<Duration>) {
        let deadline = self.deadline(after);
        if let Some(Waiter::Whole { deadline: d, .. }) = lock(&self.pending).map.get_mut(&id) {
            *d = deadline;
        }
    }

    /// One tick of the sweeper: advances the clock and fails the requests whose deadline
    /// has come. Returns whether requests still wait (else the sweeper sleeps).
    pub fn sweep(&self) -> bool {
        let now = self.tick.fetch_add(1, Ordering::Relaxed) + 1;
        let mut expired = Vec::new();
        let busy = {
            let mut p = lock(&self.pending);
            p.map.retain(|_, w| match w {
                Waiter::Whole {
                    deadline: Some(d), ..
                } if d.tick <= now => {
                    expired.push((d.after, std::mem::replace(w, Waiter::Gone)));
                    false
                }
                _ => true,
            });
            !p.map.is_empty()
        };
        for (after, w) in expired {
            w.fail(AsyncClientError::Timeout(after));
        }
        busy
    }

    /// Waits until a request is registered (the sweeper's rest between busy spells).
    pub async fn idle(&self) {
        let woken = self.wake_sweeper.notified();
        if lock(&self.pending).map.is_empty() {
            woken.await;
        }
    }

    /// Appends bytes for the writer (waiting while it is far behind).
    pub async fn send(
        &self,
        put: impl Fn(&mut BytesMut) -> Result<(), sockframe::EncodeError>,
    ) -> Result<(), AsyncClientError> {
        loop {
            let mut drained = pin!(self.drained.notified());
            {
                let mut out = lock(&self.out);
                if out.closed {
                    return Err(self.closed_error());
                }
                if out.buf.len() < HIGH_WATER {
                    put(&mut out.buf)?;
                    drop(out);
                    self.wake_writer.notify_one();
                    return Ok(());
                }
                // Registered before the lock is released: a drain in between is not missed.
                drained.as_mut().enable();
            }
            drained.await;
        }
    }

    /// The error new requests get once the connection is gone.
    pub fn closed_error(&self) -> AsyncClientError {
        lock(&self.pending)
            .closed
            .clone()
            .unwrap_or_else(|| AsyncClientError::ConnectionLost("the client was closed".into()))
    }

    /// The connection is gone: every waiter gets `e`, new requests fail with it.
    pub fn fail_all(&self, e: AsyncClientError) {
        let waiters: Vec<Waiter> = {
            let mut p = lock(&self.pending);
            p.closed.get_or_insert(e.clone());
            p.map.drain().map(|(_, w)| w).collect()
        };
        for w in waiters {
            w.fail(e.clone());
        }
        lock(&self.out).closed = true;
        self.drained.notify_waiters();
        self.wake_writer.notify_one();
    }

    /// Hands one piece of the reply to `id` to whoever waits for it.
    ///
    /// `head` is set on the first piece of each frame; `last` ends the reply (the last
    /// piece of a frame without MORE). Waits only for a streaming receiver's room.
    pub async fn deliver(&self, id: u32, head: Option<FrameHead>, data: &[u8], last: bool) {
        let stream_tx = {
            let mut p = lock(&self.pending);
            let Some(waiter) = p.map.get_mut(&id) else {
                if head.is_some() {
                    self.discarded.fetch_add(1, Ordering::Relaxed);
                }
                return;
            };
            match waiter {
                Waiter::Gone => return,
                Waiter::Stream { tx } => {
                    let tx = tx.clone();
                    if last {
                        p.map.remove(&id);
                    }
                    tx
                }
                Waiter::Whole { partial: None, .. }
                    if last && head.is_some() && data.len() as u64 <= self.max_reply =>
                {
                    // The common case: a reply in one whole frame.
                    let Some(Waiter::Whole { tx, .. }) = p.map.remove(&id) else {
                        return;
                    };
                    drop(p);
                    let mut head = head.unwrap_or_default_head(id);
                    head.len = data.len() as u64;
                    let _ = tx.send(Ok(BytesFrame {
                        head,
                        payload: Bytes::copy_from_slice(data),
                    }));
                    return;
                }
                Waiter::Whole { partial, .. } => {
                    let (_, body) = &mut **partial.get_or_insert_with(|| {
                        Box::new((head.clone().unwrap_or_default_head(id), BytesMut::new()))
                    });
                    let got = (body.len() + data.len()) as u64;
                    if got > self.max_reply {
                        let limit = self.max_reply;
                        if let Some(w) = p.map.remove(&id) {
                            w.fail(AsyncClientError::ReplyTooLarge { got, limit });
                        }
                        return;
                    }
                    body.extend_from_slice(data);
                    if last {
                        let Some(Waiter::Whole {
                            tx,
                            partial: Some(collected),
                            ..
                        }) = p.map.remove(&id)
                        else {
                            return;
                        };
                        drop(p);
                        let (mut head, body) = *collected;
                        head.len = body.len() as u64;
                        head.flags.0 &= !sockframe::Flags::MORE.0;
                        let _ = tx.send(Ok(BytesFrame {
                            head,
                            payload: body.freeze(),
                        }));
                    }
                    return;
                }
            }
        };
        let piece = Piece {
            head,
            data: Bytes::copy_from_slice(data),
            last,
        };
        // A receiver that is gone was cancelled: the rest of its reply is dropped.
        let _ = stream_tx.send(Ok(piece)).await;
    }

    /// An error frame for request `id`: its waiter gets it as a typed error.
    pub fn deliver_error(&self, id: u32, code: String, message: String) {
        let waiter = lock(&self.pending).map.remove(&id);
        match waiter {
            Some(w) => w.fail(AsyncClientError::Remote { id, code, message }),
            None => {
                self.discarded.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

trait OrDefaultHead {
    fn unwrap_or_default_head(self, id: u32) -> FrameHead;
}

impl OrDefaultHead for Option<FrameHead> {
    /// Chunks always follow a head; should one not, the reply still gets a plain head.
    fn unwrap_or_default_head(self, id: u32) -> FrameHead {
        self.unwrap_or_else(|| FrameHead::new(sockframe::Kind::DATA, id))
    }
}

/// Hashes the client's own ids (sequential u32s, never chosen by the peer) with one
/// multiplication (Fibonacci hashing) instead of SipHash: the map is looked up twice per
/// request, and a peer cannot pick the keys to make it collide.
#[derive(Default)]
pub(crate) struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u32(&mut self, id: u32) {
        self.0 = u64::from(id).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    }
}

/// An id in flight; dropping it (a finished, timed-out or cancelled request) frees the id,
/// so a late reply finds no one and is discarded.
pub(crate) struct Registration {
    shared: Arc<Shared>,
    pub id: u32,
    /// The reader already took the waiter out of the map (its reply came whole).
    answered: bool,
}

impl Registration {
    /// The reply arrived: nothing left to remove (saves a lock per request).
    pub fn answered(mut self) {
        self.answered = true;
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if !self.answered {
            lock(&self.shared.pending).map.remove(&self.id);
        }
    }
}
