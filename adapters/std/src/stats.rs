//! Counters a server keeps, for tests and benchmarks (relaxed atomics: a few nanoseconds).

use std::sync::atomic::{AtomicU64, Ordering};

/// What a server has done so far. Shared with the server; read it at any time.
#[derive(Debug, Default)]
pub struct ServerStats {
    accepted: AtomicU64,
    refused_busy: AtomicU64,
    reads: AtomicU64,
    writes: AtomicU64,
    frames: AtomicU64,
    buffers: AtomicU64,
}

impl ServerStats {
    /// Connections accepted and served.
    pub fn accepted(&self) -> u64 {
        self.accepted.load(Ordering::Relaxed)
    }

    /// Connections refused with a `busy` error frame (max-conns reached).
    pub fn refused_busy(&self) -> u64 {
        self.refused_busy.load(Ordering::Relaxed)
    }

    /// Reads that returned bytes (or end of stream): all of echo's, and the first read
    /// after an idle wait for the other services (whose further reads happen inside the
    /// core's `io_async::read_event`).
    pub fn reads(&self) -> u64 {
        self.reads.load(Ordering::Relaxed)
    }

    /// Batched writes of replies (each one `write_all` of the output buffer).
    pub fn writes(&self) -> u64 {
        self.writes.load(Ordering::Relaxed)
    }

    /// Complete frames received (whole, or streamed to their end).
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Receive buffers held by connections right now (idle connections hold none).
    pub fn buffers_in_use(&self) -> u64 {
        self.buffers.load(Ordering::Relaxed)
    }

    pub(crate) fn buffer_taken(&self) {
        self.buffers.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn buffer_returned(&self) {
        self.buffers.fetch_sub(1, Ordering::Relaxed);
    }

    pub(crate) fn count_accepted(&self) {
        self.accepted.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_busy(&self) {
        self.refused_busy.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_read(&self) {
        self.reads.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_write(&self) {
        self.writes.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn count_frame(&self) {
        self.frames.fetch_add(1, Ordering::Relaxed);
    }
}
