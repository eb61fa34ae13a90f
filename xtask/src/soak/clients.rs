//! What every client shares: the counters and errors the reporter reads, the client thread
//! and its session loop, socket timeouts and the byte comparison.

use super::INTERRUPTED;
use std::net::TcpStream;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::Relaxed};
use std::thread::JoinHandle;
use std::time::Duration;

/// A socket read or write that takes longer than this is a hang, reported as an error.
pub(super) const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// Error texts kept (all are counted).
pub(super) const MAX_ERROR_TEXTS: usize = 200;

/// Counters of one service, read by the reporter.
#[derive(Default)]
pub(super) struct Meter {
    /// Requests answered and verified.
    pub(super) msgs: AtomicU64,
    /// Payload bytes that came back and were compared.
    pub(super) bytes: AtomicU64,
}

impl Meter {
    pub(super) fn add(&self, msgs: u64, bytes: usize) {
        self.msgs.fetch_add(msgs, Relaxed);
        self.bytes.fetch_add(bytes as u64, Relaxed);
    }
}

/// What the clients of one target share with the reporter.
pub(super) struct Load {
    pub(super) stop: AtomicBool,
    /// Per service: name and counters.
    pub(super) meters: Vec<(&'static str, Meter)>,
    pub(super) error_count: AtomicU64,
    pub(super) errors: Mutex<Vec<String>>,
    /// Errors seen after Ctrl-C (which also reaches QEMU): not counted.
    pub(super) ignored: AtomicU64,
    /// Board connections that had to be retried (pool full while a socket closed).
    pub(super) retries: AtomicU64,
}

impl Load {
    pub(super) fn new(services: &[&'static str]) -> Load {
        Load {
            stop: AtomicBool::new(false),
            meters: services.iter().map(|s| (*s, Meter::default())).collect(),
            error_count: AtomicU64::new(0),
            errors: Mutex::new(Vec::new()),
            ignored: AtomicU64::new(0),
            retries: AtomicU64::new(0),
        }
    }

    pub(super) fn meter(&self, service: usize) -> &Meter {
        &self.meters[service].1
    }

    pub(super) fn error(&self, text: String) {
        if INTERRUPTED.load(Relaxed) {
            self.ignored.fetch_add(1, Relaxed);
            return;
        }
        eprintln!("ERROR {text}");
        self.error_count.fetch_add(1, Relaxed);
        let mut errors = self.errors.lock().unwrap_or_else(|e| e.into_inner());
        if errors.len() < MAX_ERROR_TEXTS {
            errors.push(text);
        }
    }

    pub(super) fn stopping(&self) -> bool {
        self.stop.load(Relaxed)
    }
}

pub(super) fn spawn(
    who: String,
    f: impl FnOnce() + Send + 'static,
) -> Result<(String, JoinHandle<()>), String> {
    let handle = std::thread::Builder::new()
        .name(who.clone())
        .spawn(f)
        .map_err(|e| format!("cannot start {who}: {e}"))?;
    Ok((who, handle))
}

/// Runs sessions until told to stop. A failed session is recorded, and after a pause (so a
/// lasting failure does not spin) the client starts afresh on a new connection.
pub(super) fn client_loop(
    load: &Load,
    who: &str,
    mut session: impl FnMut(u64) -> Result<(), String>,
) {
    // Distinct sessions, distinct plans; the seed is in the error so a failure can be replayed.
    let base = who.bytes().fold(0xC0FFEE_u64, |h, b| {
        h.wrapping_mul(0x100_0000_01B3) ^ u64::from(b)
    });
    let mut n = 0u64;
    while !load.stopping() {
        n += 1;
        let seed = base.wrapping_add(n);
        if let Err(e) = session(seed) {
            load.error(format!("{who}, session {n} (seed {seed:#x}): {e}"));
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

pub(super) fn set_timeouts(stream: &TcpStream, t: Duration) -> Result<(), String> {
    stream
        .set_read_timeout(Some(t))
        .map_err(|e| e.to_string())?;
    stream.set_write_timeout(Some(t)).map_err(|e| e.to_string())
}

/// Equal bytes, or where they first differ.
pub(super) fn compare(got: &[u8], want: &[u8]) -> Result<(), String> {
    if got == want {
        return Ok(());
    }
    let at = got.iter().zip(want).position(|(a, b)| a != b);
    Err(match at {
        Some(i) => format!(
            "{} B, expected {} B; first difference at byte {i} ({:#04x}, expected {:#04x})",
            got.len(),
            want.len(),
            got[i],
            want[i]
        ),
        None => format!(
            "{} B, expected {} B (same up to the shorter)",
            got.len(),
            want.len()
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compare_says_where() {
        assert!(compare(b"abc", b"abc").is_ok());
        assert!(compare(b"abd", b"abc").unwrap_err().contains("byte 2"));
        assert!(compare(b"ab", b"abc").unwrap_err().contains("shorter"));
    }
}
