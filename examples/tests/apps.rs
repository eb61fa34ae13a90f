//! Runs the application examples as they run, and checks what matters.

use sockframe_examples::{Log, multiplexed};

#[test]
fn async_multiplexed_matches_every_reply() {
    let log = Log::quiet();
    let out = multiplexed::run(&log).unwrap();
    assert_eq!(out.matched, multiplexed::REQUESTS);
    // Requests really were in flight together (not one after another).
    assert!(
        out.peak_in_flight > 1,
        "peak in flight {}",
        out.peak_in_flight
    );
    assert!(
        log.lines()
            .iter()
            .any(|l| l.contains("1000 of 1000 replies matched"))
    );
}
