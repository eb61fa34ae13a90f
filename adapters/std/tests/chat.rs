//! The chat service: turn-taking with the operator, an empty reply ending the session, and
//! a second client queued (not refused) until its turn.

mod common;

use common::*;
use sockframe::Kind;
use sockframe_std::kinds;
use sockframe_std::services::{Chat, ChatNote};
use std::sync::mpsc;
use std::time::Duration;

/// What the operator saw, as owned strings.
#[derive(Debug, PartialEq, Eq)]
enum Seen {
    Joined,
    Message(String),
    Left,
}

#[test]
fn operator_replies_and_ends_sessions_in_turn() {
    let (reply_tx, reply_rx) = tokio::sync::mpsc::channel::<String>(4);
    let (seen_tx, seen_rx) = mpsc::channel::<Seen>();
    let chat = Chat::new(reply_rx, move |note| {
        let _ = seen_tx.send(match note {
            ChatNote::Joined(_) => Seen::Joined,
            ChatNote::Message(_, text) => Seen::Message(text.to_owned()),
            ChatNote::Left(_) => Seen::Left,
        });
    });
    let server = sockframe_std::Server::spawn_thread(loopback(), chat).unwrap();
    let addr = server.local_addr();
    let next_seen = || seen_rx.recv_timeout(Duration::from_secs(30)).unwrap();

    let mut first = connect(addr);
    first
        .send(&sockframe::Header::data(1, b"hi"), b"hi")
        .unwrap();
    assert_eq!(next_seen(), Seen::Joined);
    assert_eq!(next_seen(), Seen::Message("hi".into()));

    // A second client arrives while the first is served: it is accepted and waits.
    let mut second = connect(addr);
    second
        .send(&sockframe::Header::data(1, b"me next"), b"me next")
        .unwrap();

    reply_tx.blocking_send("hello there".into()).unwrap();
    let reply = first.expect_frame().unwrap();
    assert_eq!(
        (reply.kind, reply.text().as_str()),
        (Kind::DATA, "hello there")
    );

    first
        .send(&sockframe::Header::data(2, b"bye?"), b"bye?")
        .unwrap();
    assert_eq!(next_seen(), Seen::Message("bye?".into()));
    reply_tx.blocking_send(String::new()).unwrap();
    assert_eq!(first.expect_frame().unwrap().kind, kinds::CHAT_END);
    assert!(first.recv_frame().unwrap().is_none(), "session closed");
    assert_eq!(next_seen(), Seen::Left);

    // Now the queued client's turn, with the message it sent while waiting.
    assert_eq!(next_seen(), Seen::Joined);
    assert_eq!(next_seen(), Seen::Message("me next".into()));
    reply_tx.blocking_send("your turn".into()).unwrap();
    assert_eq!(second.expect_frame().unwrap().text(), "your turn");
}

#[test]
fn a_client_leaving_before_the_reply_frees_the_operator() {
    let (reply_tx, reply_rx) = tokio::sync::mpsc::channel::<String>(4);
    let (seen_tx, seen_rx) = mpsc::channel::<Seen>();
    let chat = Chat::new(reply_rx, move |note| {
        let _ = seen_tx.send(match note {
            ChatNote::Joined(_) => Seen::Joined,
            ChatNote::Message(_, text) => Seen::Message(text.to_owned()),
            ChatNote::Left(_) => Seen::Left,
        });
    });
    let server = sockframe_std::Server::spawn_thread(loopback(), chat).unwrap();
    let addr = server.local_addr();
    let next_seen = || seen_rx.recv_timeout(Duration::from_secs(30)).unwrap();

    let mut gone = connect(addr);
    gone.send(&sockframe::Header::data(1, b"brb"), b"brb")
        .unwrap();
    assert_eq!(next_seen(), Seen::Joined);
    assert_eq!(next_seen(), Seen::Message("brb".into()));
    drop(gone);
    // The operator is not left waiting to answer someone who left.
    assert_eq!(next_seen(), Seen::Left);

    let mut next = connect(addr);
    next.send(&sockframe::Header::data(1, b"hi"), b"hi")
        .unwrap();
    assert_eq!(next_seen(), Seen::Joined);
    assert_eq!(next_seen(), Seen::Message("hi".into()));
    reply_tx.blocking_send("hello".into()).unwrap();
    assert_eq!(next.expect_frame().unwrap().text(), "hello");
}
