//! Runs the application examples as they run, and checks what matters.

use sockframe_examples::{Log, kv_framed, kv_session, multiplexed};

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

#[test]
fn kv_store_every_operation_and_refusal_typed() {
    let out = kv_session::run(&Log::quiet()).unwrap();
    let step = |what: &str| out.result(what).unwrap_or_else(|| panic!("no step {what}"));
    assert_eq!(step("put color=blue"), "ok false");
    assert_eq!(step("put color=green"), "ok true");
    assert_eq!(step("get color"), "ok \"green\"");
    assert_eq!(step("put k0..k99 concurrently"), "all new: true");
    assert_eq!(step("get k0..k99"), "100 match");
    assert_eq!(step("delete color"), "ok ()");
    assert_eq!(step("get color again"), "NotFound(no key \"color\")");
    assert_eq!(step("delete nope"), "NotFound(no key \"nope\")");
    assert_eq!(
        step("put with no key"),
        "Refused[bad-request](no key: put it in the header's name)"
    );
    assert_eq!(
        step("put a 300-byte key"),
        "Refused[bad-request](key is 300 bytes, limit 256)"
    );
    assert_eq!(
        step("kind 120"),
        "Refused[unsupported](kind 120 is not GET (100), PUT (101) or DELETE (102))"
    );
    assert_eq!(
        step("put a 100 KB value"),
        "Refused[bad-request](value of 100000 bytes is larger than the server's buffer)"
    );
    // The refusals left the connection working.
    assert_eq!(step("get k7 after all that"), "ok \"v7\"");
    assert_eq!(out.keys_at_end, 100);
}

#[test]
fn kv_framed_reaches_the_same_service() {
    let got = kv_framed::run(&Log::quiet()).unwrap();
    let replies: Vec<(&str, u32, u32, &str)> = got
        .iter()
        .map(|e| (e.request.as_str(), e.id, e.reply_id, e.reply.as_str()))
        .collect();
    assert_eq!(
        replies,
        [
            ("PUT color", 10, 10, "DONE"),
            ("GET color", 11, 11, "VALUE green"),
            ("DELETE color", 12, 12, "DONE"),
            ("GET color", 13, 13, "ERROR not-found: no key \"color\""),
        ]
    );
}
