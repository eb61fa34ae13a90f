//! Aborted frames (spec 4.1) on the desktop: an upload whose sender aborts it is dropped and
//! answered, and the connection goes on; the server tells a client it supports trailers.

mod common;

use common::{TempDir, connect, expect_error, loopback, start};
use sockframe::{Header, encode_abort, encode_head};
use sockframe_std::kinds;
use sockframe_std::services::{Files, FilesConfig};

#[test]
fn an_aborted_upload_is_dropped_answered_and_the_connection_goes_on() {
    let root = TempDir::new("abort-upload");
    let server = start(loopback(), Files(FilesConfig::new(root.path())));
    let mut c = connect(server.local_addr());
    assert!(
        c.peer_supports_trailers().unwrap(),
        "the files server has trailers"
    );
    let limits = c.peer_limits().unwrap();
    assert_eq!(limits.meta("max-meta"), Some("8"));

    // PUT id 7 announcing 10 bytes: 4 arrive, then 6 of filler and the ABORT.
    let header = Header::new(kinds::PUT, 7, 10)
        .with_name("cut.bin")
        .with_crc_of(b"abcdefghij")
        .with_trailer();
    let mut wire = vec![0u8; 512];
    let mut n = encode_head(&header, 10, &mut wire).unwrap();
    wire[n..n + 10].copy_from_slice(b"abcd\0\0\0\0\0\0");
    n += 10;
    n += encode_abort(7, "input-error", &"disk gone", &mut wire[n..]).unwrap();
    c.send_raw(&wire[..n]).unwrap();

    let answer = expect_error(&mut c);
    assert_eq!(answer.id, 7);
    assert_eq!(answer.meta("code"), Some("aborted"));
    assert!(answer.text().contains("input-error"), "{}", answer.text());
    assert!(
        root.entries().is_empty(),
        "nothing stored: {:?}",
        root.entries()
    );
    c.ping().expect("the connection goes on");
}
