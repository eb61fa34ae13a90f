//! Running a target for its minutes: throughput intervals, RSS samples, stopping the clients.

use super::clients::Load;
use super::memory::{RSS_EVERY, Watched, mib, sample, status_kib};
use super::{INTERRUPTED, Params};
use std::sync::atomic::Ordering::Relaxed;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Clients must finish their session this long after being told to stop.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// Throughput of one reporting interval.
pub(super) struct Interval {
    /// Seconds since the start, at its end.
    pub(super) at: f64,
    pub(super) secs: f64,
    /// Per service: (messages, bytes).
    pub(super) per: Vec<(u64, u64)>,
}

impl Interval {
    pub(super) fn msgs_s(&self) -> f64 {
        self.per.iter().map(|p| p.0).sum::<u64>() as f64 / self.secs
    }

    pub(super) fn mib_s(&self) -> f64 {
        self.per.iter().map(|p| p.1).sum::<u64>() as f64 / self.secs / (1 << 20) as f64
    }
}

/// Lets the clients run for `--minutes`, printing a throughput line every `--report-every`
/// seconds and sampling memory at the first minute and the end; then stops the clients and
/// waits for them (a client that does not stop in time is a hang, reported as an error).
pub(super) fn drive(
    target: &str,
    p: &Params,
    load: &Load,
    watched: &mut [Watched],
    clients: Vec<(String, JoinHandle<()>)>,
    alive: &mut dyn FnMut() -> Result<(), String>,
) -> Vec<Interval> {
    let t0 = Instant::now();
    let duration = Duration::from_secs_f64(p.minutes * 60.0);
    let every = Duration::from_secs_f64(p.report_every);
    let totals = || -> Vec<(u64, u64)> {
        load.meters
            .iter()
            .map(|(_, m)| (m.msgs.load(Relaxed), m.bytes.load(Relaxed)))
            .collect()
    };
    let mut series = Vec::new();
    let (mut last, mut last_at) = (totals(), t0);
    let mut next_report = t0 + every;
    let mut next_rss = t0 + RSS_EVERY;
    let mut interval = |now: Instant| {
        let now_totals = totals();
        let per = now_totals
            .iter()
            .zip(&last)
            .map(|(n, l)| (n.0 - l.0, n.1 - l.1))
            .collect();
        let iv = Interval {
            at: (now - t0).as_secs_f64(),
            secs: (now - last_at).as_secs_f64().max(1e-3),
            per,
        };
        (last, last_at) = (now_totals, now);
        iv
    };
    loop {
        std::thread::sleep(Duration::from_millis(100));
        let now = Instant::now();
        if now >= next_rss {
            for w in watched.iter_mut() {
                w.samples.extend(status_kib(w.pid, "VmRSS"));
            }
            next_rss += RSS_EVERY;
        }
        if let Err(e) = alive() {
            load.error(e);
            break;
        }
        if now >= next_report {
            let iv = interval(now);
            print_interval(target, load, watched, &iv);
            series.push(iv);
            next_report += every;
        }
        if now - t0 >= duration || INTERRUPTED.load(Relaxed) {
            break;
        }
    }
    for w in watched.iter_mut() {
        w.peak = status_kib(w.pid, "VmHWM");
    }
    load.stop.store(true, Relaxed);
    let deadline = Instant::now() + STOP_GRACE;
    while clients.iter().any(|(_, h)| !h.is_finished()) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for (who, h) in clients {
        if h.is_finished() {
            if h.join().is_err() {
                load.error(format!("{who} panicked"));
            }
        } else {
            load.error(format!(
                "{who} did not finish its session within {STOP_GRACE:?} of the stop: a hang"
            ));
        }
    }
    // What the last, partial interval saw (skipped when too short to mean anything).
    let iv = interval(Instant::now());
    if iv.secs >= 0.5 {
        print_interval(target, load, watched, &iv);
        series.push(iv);
    }
    // Let the servers release what the last connections held.
    std::thread::sleep(Duration::from_secs(1));
    sample(watched, |w| &mut w.idle);
    series
}

fn print_interval(target: &str, load: &Load, watched: &[Watched], iv: &Interval) {
    let mut line = format!(
        "[{:6.0} s] {target}: {:8.0} msgs/s {:7.1} MiB/s",
        iv.at,
        iv.msgs_s(),
        iv.mib_s()
    );
    if load.meters.len() > 1 {
        for ((name, _), (msgs, bytes)) in load.meters.iter().zip(&iv.per) {
            line += &format!(
                " | {name} {:.0}/s {:.1} MiB/s",
                *msgs as f64 / iv.secs,
                *bytes as f64 / iv.secs / (1 << 20) as f64
            );
        }
    }
    line += &format!(" | errors {}", load.error_count.load(Relaxed));
    let rss: Vec<String> = watched
        .iter()
        .map(|w| {
            let name = w.label.split(' ').next().unwrap_or("?");
            format!("{name} {}", mib(status_kib(w.pid, "VmRSS")))
        })
        .collect();
    println!("{line} | RSS {}", rss.join(", "));
}
