//! Memory of the watched processes: VmRSS samples from `/proc` and their spread.

use std::time::Duration;

/// Memory is sampled once a second. One sample is a poor figure: an exec server's RSS moves
/// by half a MiB with the commands running at that instant, so the first-minute and end
/// figures are each the median of ten samples: seconds 51-60, and the last ten seconds.
pub(super) const RSS_EVERY: Duration = Duration::from_secs(1);
const RSS_WINDOW: usize = 10;
/// Samples in the first minute.
pub(super) const FIRST_MINUTE: usize = 60;

/// A process whose memory is sampled (VmRSS, KiB).
pub(super) struct Watched {
    pub(super) label: String,
    pub(super) pid: u32,
    /// Whether its growth fails the soak (servers) or is information only (QEMU).
    pub(super) checked: bool,
    /// Before any client.
    pub(super) start: Option<u64>,
    /// Under load, one a second (`RSS_EVERY`).
    pub(super) samples: Vec<u64>,
    /// After the clients stopped.
    pub(super) idle: Option<u64>,
    /// VmHWM at the end: the most it ever held.
    pub(super) peak: Option<u64>,
}

impl Watched {
    pub(super) fn new(label: String, pid: u32, checked: bool) -> Watched {
        Watched {
            label,
            pid,
            checked,
            start: None,
            samples: Vec::new(),
            idle: None,
            peak: None,
        }
    }

    /// RSS after the first minute: seconds 51-60.
    pub(super) fn minute(&self) -> Option<Spread> {
        let s = self.samples.get(FIRST_MINUTE - RSS_WINDOW..FIRST_MINUTE)?;
        Spread::of(s)
    }

    /// RSS at the end: the last ten seconds under load.
    pub(super) fn end(&self) -> Option<Spread> {
        Spread::of(&self.samples[self.samples.len().saturating_sub(RSS_WINDOW)..])
    }
}

/// Median, lowest and highest of some RSS samples (KiB).
#[derive(Clone, Copy)]
pub(super) struct Spread {
    pub(super) median: u64,
    pub(super) min: u64,
    pub(super) max: u64,
}

impl Spread {
    pub(super) fn of(samples: &[u64]) -> Option<Spread> {
        let mut v = samples.to_vec();
        v.sort_unstable();
        Some(Spread {
            median: *v.get(v.len() / 2)?,
            min: v[0],
            max: v[v.len() - 1],
        })
    }

    pub(super) fn show(s: Option<Spread>) -> String {
        s.map_or("n/a".into(), |s| {
            format!(
                "{} ({:.1}-{:.1})",
                mib(Some(s.median)),
                kib_mib(s.min),
                kib_mib(s.max)
            )
        })
    }
}

pub(super) fn kib_mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

/// A `/proc/PID/status` field in kB.
pub(super) fn status_kib(pid: u32, field: &str) -> Option<u64> {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()?
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()
}

/// Records every watched process's VmRSS now into the slot `at` picks.
pub(super) fn sample(watched: &mut [Watched], at: fn(&mut Watched) -> &mut Option<u64>) {
    for w in watched {
        let rss = status_kib(w.pid, "VmRSS");
        *at(w) = rss;
    }
}

pub(super) fn mib(kib: Option<u64>) -> String {
    kib.map_or("n/a".into(), |k| format!("{:.1} MiB", k as f64 / 1024.0))
}
