//! Deadlines for every connection of a server, enforced by one thread.
//!
//! Why not tokio's timers: a connection that waits with a timeout keeps a timer armed, and
//! a runtime with an armed timer parks in `epoll_wait` with a timeout. On a ping-pong
//! connection that is a timer set and cancelled for every message, measured at about 1 µs
//! of kernel time per message (docs/benchmarks.md, "Desktop server"). Here a connection
//! arms its deadline with two relaxed stores against a coarse clock, and the runtime has
//! no timers at all while busy: one `Watchdog` thread ticks the clock, scans the armed
//! deadlines and wakes the connections whose deadline has passed.
//!
//! Precision is one tick (an eighth of the shortest timeout, between 5 and 250 ms), which
//! is plenty for timeouts measured in seconds.

use atomic_waker::AtomicWaker;
use slab::Slab;
use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};

/// Deadline value meaning "not armed".
const DISARMED: u64 = u64::MAX;
/// Deadline value meaning "passed": set by the watchdog with a compare-and-swap on the
/// deadline it saw, so a connection that re-armed meanwhile is never fired by mistake.
const FIRED: u64 = u64::MAX - 1;

/// The clock and the registry of armed deadlines; shared by a server's connections and
/// its watchdog thread.
#[derive(Debug)]
pub(crate) struct Watchdog {
    start: Instant,
    /// Milliseconds since `start`, as of the last tick.
    now_ms: AtomicU64,
    timers: Mutex<Slab<Arc<TimerState>>>,
}

#[derive(Debug)]
struct TimerState {
    /// When the current wait expires (ms on the watchdog's clock), [`DISARMED`] or
    /// [`FIRED`].
    deadline: AtomicU64,
    waker: AtomicWaker,
}

impl Watchdog {
    /// A watchdog ticking often enough for `shortest` (the smallest configured timeout),
    /// with its thread started. The thread ends when the last `Arc` is dropped.
    pub fn start(shortest: Option<Duration>) -> Arc<Watchdog> {
        let tick = shortest
            .map(|d| d / 8)
            .unwrap_or(Duration::from_millis(250))
            .clamp(Duration::from_millis(5), Duration::from_millis(250));
        let dog = Arc::new(Watchdog {
            start: Instant::now(),
            now_ms: AtomicU64::new(0),
            timers: Mutex::new(Slab::new()),
        });
        let weak = Arc::downgrade(&dog);
        // If the thread cannot start, deadlines never fire; the server still serves.
        let spawned = std::thread::Builder::new()
            .name("sockframe-watchdog".into())
            .spawn(move || run(weak, tick));
        if let Err(e) = spawned {
            tracing::error!("cannot start the watchdog thread, timeouts are off: {e}");
        }
        dog
    }

    /// Milliseconds on the watchdog's clock (as of the last tick).
    pub fn now_ms(&self) -> u64 {
        self.now_ms.load(Ordering::Relaxed)
    }

    /// A timer for one connection, registered until dropped.
    pub fn timer(self: &Arc<Self>) -> Timer {
        let state = Arc::new(TimerState {
            deadline: AtomicU64::new(DISARMED),
            waker: AtomicWaker::new(),
        });
        let key = self
            .timers
            .lock()
            .map(|mut t| t.insert(state.clone()))
            .unwrap_or(usize::MAX);
        Timer {
            dog: self.clone(),
            state,
            key,
        }
    }

    /// One tick: advance the clock, fire every deadline that has passed.
    fn tick(&self) {
        let now = u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
        self.now_ms.store(now, Ordering::Relaxed);
        let Ok(timers) = self.timers.lock() else {
            return;
        };
        for (_, t) in timers.iter() {
            let deadline = t.deadline.load(Ordering::Relaxed);
            if deadline <= now
                && t.deadline
                    .compare_exchange(deadline, FIRED, Ordering::AcqRel, Ordering::Relaxed)
                    .is_ok()
            {
                t.waker.wake();
            }
        }
    }
}

/// The watchdog thread: ticks until the watchdog is gone.
fn run(dog: Weak<Watchdog>, tick: Duration) {
    loop {
        std::thread::sleep(tick);
        match dog.upgrade() {
            Some(dog) => dog.tick(),
            None => return,
        }
    }
}

/// A connection's deadline: armed before each wait, checked by the watchdog.
#[derive(Debug)]
pub(crate) struct Timer {
    dog: Arc<Watchdog>,
    state: Arc<TimerState>,
    key: usize,
}

/// A wait that ran past its deadline.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Expired;

impl Timer {
    /// Milliseconds on the watchdog's clock.
    pub fn now_ms(&self) -> u64 {
        self.dog.now_ms()
    }

    /// Sets the deadline of the waits that follow to `at_ms` (on the watchdog's clock).
    pub fn arm_at(&self, at_ms: u64) {
        self.state
            .deadline
            .store(at_ms.min(FIRED - 1), Ordering::Relaxed);
    }

    /// Sets the deadline to `after` from now; `None` disarms.
    pub fn arm(&self, after: Option<Duration>) {
        match after {
            Some(d) => self.arm_at(self.now_ms().saturating_add(millis(d))),
            None => self.disarm(),
        }
    }

    /// No deadline for the waits that follow.
    pub fn disarm(&self) {
        self.state.deadline.store(DISARMED, Ordering::Relaxed);
    }

    /// Runs `fut` until it completes or the armed deadline passes.
    pub async fn within<F: Future>(&self, fut: F) -> Result<F::Output, Expired> {
        let mut fut = pin!(fut);
        std::future::poll_fn(|cx| {
            // Register before checking, so a firing between the check and the poll below
            // still wakes this task.
            self.state.waker.register(cx.waker());
            if self.state.deadline.load(Ordering::Acquire) == FIRED {
                return Poll::Ready(Err(Expired));
            }
            fut.as_mut().poll(cx).map(Ok)
        })
        .await
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Ok(mut timers) = self.dog.timers.lock() {
            timers.try_remove(self.key);
        }
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    #[test]
    fn an_armed_wait_expires_and_a_disarmed_one_does_not() {
        let dog = Watchdog::start(Some(Duration::from_millis(80)));
        let timer = dog.timer();
        block_on(async {
            timer.arm(Some(Duration::from_millis(50)));
            let r = timer.within(std::future::pending::<()>()).await;
            assert_eq!(r, Err(Expired));
            // Re-arming replaces the fired deadline; a wait that completes returns its value.
            timer.arm(Some(Duration::from_secs(60)));
            assert_eq!(timer.within(async { 7 }).await, Ok(7));
            timer.disarm();
            assert_eq!(timer.within(async { 8 }).await, Ok(8));
        });
    }

    #[test]
    fn dropped_timers_leave_the_registry() {
        let dog = Watchdog::start(None);
        let timers: Vec<Timer> = (0..100).map(|_| dog.timer()).collect();
        assert_eq!(dog.timers.lock().unwrap().len(), 100);
        drop(timers);
        assert_eq!(dog.timers.lock().unwrap().len(), 0);
    }
}
