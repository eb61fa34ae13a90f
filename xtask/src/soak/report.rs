//! The report at the end of a target: errors, bytes verified, memory and the RSS check,
//! throughput over time.

use super::clients::{Load, MAX_ERROR_TEXTS};
use super::drive::Interval;
use super::memory::{FIRST_MINUTE, Spread, Watched, kib_mib, mib};
use super::{INTERRUPTED, Params};
use std::sync::atomic::Ordering::Relaxed;

/// Allowed RSS growth from the first minute to the end.
const RSS_GROWTH_LIMIT: f64 = 0.10;
/// Runs shorter than this are too short for the RSS check.
const RSS_CHECK_MIN_MINUTES: f64 = 2.0;

/// Prints the target's report; returns why it failed ("" if it passed).
pub(super) fn conclude(
    target: &str,
    p: &Params,
    load: &Load,
    watched: &[Watched],
    series: &[Interval],
    logs: &[String],
) -> String {
    let mut failures = Vec::new();
    let ran = series.last().map_or(0.0, |iv| iv.at);
    println!();
    println!(
        "== {target} soak: {ran:.0} s of {:.0} s ==",
        p.minutes * 60.0
    );
    if INTERRUPTED.load(Relaxed) {
        println!("interrupted (Ctrl-C): the figures cover the time before it");
        failures.push("interrupted".to_string());
    }
    failures.extend(print_errors(load, logs));
    print_verified(target, load);
    failures.extend(print_memory(p, watched));
    print_throughput(p, series);
    failures.join("; ")
}

/// Errors (count and texts), board retries and what the servers printed; the failure if
/// there were errors.
fn print_errors(load: &Load, logs: &[String]) -> Option<String> {
    let errors = load.error_count.load(Relaxed);
    println!("errors: {errors}");
    for e in load.errors.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        println!("  - {e}");
    }
    if errors as usize > MAX_ERROR_TEXTS {
        println!("  ({} more not shown)", errors as usize - MAX_ERROR_TEXTS);
    }
    let ignored = load.ignored.load(Relaxed);
    if ignored > 0 {
        println!("({ignored} errors after Ctrl-C not counted: it also reaches QEMU)");
    }
    let retries = load.retries.load(Relaxed);
    if retries > 0 {
        println!("board connections retried (socket pool full while a socket closed): {retries}");
    }
    if !logs.is_empty() {
        println!("last lines printed by the servers:");
        for l in logs {
            println!("  {l}");
        }
    }
    (errors > 0).then(|| format!("{errors} errors"))
}

/// Requests and bytes verified, per service.
fn print_verified(target: &str, load: &Load) {
    let gib = |b: u64| b as f64 / (1u64 << 30) as f64;
    let (mut total_msgs, mut total_bytes) = (0, 0);
    println!("verified:");
    for (k, (name, m)) in load.meters.iter().enumerate() {
        let (msgs, bytes) = (m.msgs.load(Relaxed), m.bytes.load(Relaxed));
        let unit = match (target, k) {
            ("desktop", 1) => "transfers (put or get)",
            ("desktop", 2) => "commands",
            _ => "echoes",
        };
        println!(
            "  {name}: {msgs} {unit}, {bytes} payload bytes ({:.2} GiB) compared byte for byte",
            gib(bytes)
        );
        total_msgs += msgs;
        total_bytes += bytes;
    }
    println!(
        "  all: {total_msgs} requests, {total_bytes} bytes ({:.2} GiB)",
        gib(total_bytes)
    );
}

/// Memory of every watched process, and the RSS check; the failures it found.
fn print_memory(p: &Params, watched: &[Watched]) -> Vec<String> {
    println!(
        "memory (VmRSS): start / after 1 min / end / clients stopped; peak (VmHWM). \
         1 min and end: median (lowest-highest) of 1 s samples under load, seconds 51-60 and \
         the last 10 s"
    );
    let check = p.minutes >= RSS_CHECK_MIN_MINUTES && !INTERRUPTED.load(Relaxed);
    let mut failures = Vec::new();
    for w in watched {
        let (minute, end) = (w.minute(), w.end());
        let growth = match (minute, end) {
            (Some(m), Some(e)) if m.median > 0 => Some(e.median as f64 / m.median as f64 - 1.0),
            _ => None,
        };
        println!(
            "  {}: {} / {} / {} / {}; peak {}; end vs 1 min: {}",
            w.label,
            mib(w.start),
            Spread::show(minute),
            Spread::show(end),
            mib(w.idle),
            mib(w.peak),
            growth.map_or("n/a".into(), |g| format!("{:+.1}%", g * 100.0))
        );
        if w.samples.len() > FIRST_MINUTE {
            let per: Vec<String> = w
                .samples
                .chunks(FIRST_MINUTE)
                .filter_map(|c| Spread::of(c).map(|s| format!("{:.1}", kib_mib(s.median))))
                .collect();
            println!("    median RSS of each minute, MiB: {}", per.join(", "));
        }
        match growth {
            _ if !(w.checked && check) => {}
            Some(g) if g > RSS_GROWTH_LIMIT => failures.push(format!(
                "{} grew {:+.1}% from the first minute to the end (limit +{:.0}%)",
                w.label,
                g * 100.0,
                RSS_GROWTH_LIMIT * 100.0
            )),
            Some(_) => {}
            None => failures.push(format!("{}: no RSS figures", w.label)),
        }
    }
    if !watched.iter().any(|w| w.checked) {
        return failures;
    }
    if check {
        println!(
            "RSS check (end within +{:.0}% of the first minute): {}",
            RSS_GROWTH_LIMIT * 100.0,
            if failures.is_empty() {
                "passed"
            } else {
                "FAILED"
            }
        );
    } else {
        println!(
            "RSS check not applied: the run is shorter than {RSS_CHECK_MIN_MINUTES} minutes \
             (or was interrupted)"
        );
    }
    failures
}

/// Throughput over time: the spread of the intervals, and the average of each minute.
fn print_throughput(p: &Params, series: &[Interval]) {
    let full: Vec<&Interval> = series
        .iter()
        .filter(|iv| iv.secs >= p.report_every * 0.9)
        .collect();
    if !full.is_empty() {
        let spread = |f: fn(&Interval) -> f64| {
            let mut v: Vec<f64> = full.iter().map(|iv| f(iv)).collect();
            v.sort_by(f64::total_cmp);
            (v[0], v[v.len() / 2], v[v.len() - 1])
        };
        let (a, b, c) = spread(Interval::msgs_s);
        let (x, y, z) = spread(Interval::mib_s);
        println!(
            "throughput per {} s interval ({} intervals): msgs/s min {a:.0} / median {b:.0} / \
             max {c:.0}; MiB/s min {x:.1} / median {y:.1} / max {z:.1}",
            p.report_every,
            full.len()
        );
    }
    // Per minute: (messages, bytes, seconds).
    let mut minutes: Vec<(u64, u64, f64)> = Vec::new();
    for iv in series {
        // By its middle: the short last interval belongs to the last minute.
        let m = ((iv.at - iv.secs / 2.0) / 60.0).floor() as usize;
        if minutes.len() <= m {
            minutes.resize(m + 1, (0, 0, 0.0));
        }
        for (msgs, bytes) in &iv.per {
            minutes[m].0 += msgs;
            minutes[m].1 += bytes;
        }
        minutes[m].2 += iv.secs;
    }
    if minutes.len() > 1 {
        let per: Vec<String> = minutes
            .iter()
            .enumerate()
            .filter(|(_, m)| m.2 > 0.0)
            .map(|(i, m)| {
                format!(
                    "{}: {:.0} msgs/s {:.1} MiB/s",
                    i + 1,
                    m.0 as f64 / m.2,
                    m.1 as f64 / m.2 / (1 << 20) as f64
                )
            })
            .collect();
        println!("throughput per minute: {}", per.join("; "));
    }
}
