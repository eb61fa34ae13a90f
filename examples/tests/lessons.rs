//! Runs every lesson exactly as its example does (quietly) and checks what matters.

use sockframe_examples::connection_loop::Ended;
use sockframe_examples::{
    Log, communication_loop, connection_loop, dict_header, one_message, sticky_packets,
};

#[test]
fn lesson_01_one_message_each_way() {
    let log = Log::quiet();
    let out = one_message::run(&log).unwrap();
    assert_eq!(out.server_got, one_message::REQUEST);
    assert_eq!(out.client_got, one_message::REPLY);
    let lines = log.lines();
    assert!(lines.iter().any(|l| l.contains("[client] -> frame id=1")));
    assert!(lines.iter().any(|l| l.contains("[server] <- frame id=1")));
}

#[test]
fn lesson_02_every_line_is_answered_in_order() {
    let out = communication_loop::run(&Log::quiet()).unwrap();
    assert_eq!(out.server_frames as usize, communication_loop::LINES.len());
    let expected: Vec<(String, String)> = (1..)
        .zip(communication_loop::LINES)
        .map(|(n, l)| (l.to_string(), communication_loop::answer(n, l)))
        .collect();
    assert_eq!(out.exchanges, expected);
}

#[test]
fn lesson_03_server_survives_vanishing_clients() {
    let out = connection_loop::run(&Log::quiet()).unwrap();
    assert_eq!(out.sessions.len(), connection_loop::CLIENTS);
    let [ann, bob, cy, dee] = &out.sessions[..] else {
        unreachable!()
    };
    // ann vanished in the middle of her second frame: the decoder says so.
    assert_eq!(ann.name.as_deref(), Some("ann"));
    assert_eq!(ann.frames, 1);
    assert!(
        matches!(&ann.ended, Ended::Failed(e) if e.contains("stream ended mid-")),
        "{:?}",
        ann.ended
    );
    // bob said nothing: a clean end with no frames.
    assert_eq!((bob.frames, &bob.ended), (0, &Ended::Clean));
    // cy's frame was read; whether its leaving looks clean or like a reset depends on timing.
    assert_eq!((cy.name.as_deref(), cy.frames), (Some("cy"), 1));
    // And the server still served dee completely.
    assert_eq!((dee.frames, &dee.ended), (2, &Ended::Clean));
    assert_eq!(
        out.last_client_got,
        ["dee, you sent \"dee\"", "dee, you sent \"still there?\""]
    );
}

#[test]
fn lesson_04_raw_tcp_merges_sends_sockframe_keeps_frames() {
    let out = sticky_packets::run(&Log::quiet()).unwrap();
    let sends = sticky_packets::MESSAGES.len();
    // Raw: fewer reads than sends, and the bytes glued together.
    assert!(
        out.raw_reads.len() < sends,
        "raw reads: {:?}",
        out.raw_reads
    );
    assert_eq!(
        out.raw_reads.concat(),
        sticky_packets::MESSAGES.concat().as_bytes()
    );
    // Sockframe: exactly three frames, whatever the number of reads.
    assert_eq!(out.frames, sticky_packets::MESSAGES);
    assert!(out.framed_reads >= 1);
}

#[test]
fn lesson_05_dict_header_and_streamed_payload() {
    let out = dict_header::run(&Log::quiet()).unwrap();
    let sent = dict_header::file();
    assert!(sent.len() > dict_header::SERVER_BUFFER);
    assert_eq!(out.name.as_deref(), Some(dict_header::NAME));
    assert_eq!(out.len, sent.len() as u64);
    assert_eq!(out.crc, Some(sockframe::checksum::crc32c(&sent)));
    assert_eq!(
        out.meta,
        [
            ("content-type".to_string(), "text/plain".to_string()),
            ("sender".to_string(), "lesson-05".to_string())
        ]
    );
    assert!(
        out.chunks > 1,
        "the payload came in {} chunk(s)",
        out.chunks
    );
    assert_eq!(out.received, sent);
    let reply: Vec<(&str, &str)> = out
        .reply_meta
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let chunks = out.chunks.to_string();
    let bytes = sent.len().to_string();
    assert_eq!(
        reply,
        [
            ("status", "stored"),
            ("bytes", bytes.as_str()),
            ("chunks", chunks.as_str())
        ]
    );
}
