//! The files service: round trips, path refusals, and uploads that must leave nothing
//! behind when they fail.

mod common;

use common::*;
use sockframe::{Header, Kind};
use sockframe_std::services::{Files, FilesConfig};
use sockframe_std::{Client, ClientError, ServerHandle, kinds};
use std::time::Duration;

fn files_server(root: &TempDir) -> ServerHandle {
    let cfg = sockframe_std::ServerConfig {
        limits: sockframe::Limits {
            max_header: 512,
            max_payload: u64::MAX,
        },
        ..loopback()
    };
    start(cfg, Files(FilesConfig::new(root.path())))
}

fn content(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 253) as u8).collect()
}

fn remote_code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    match r {
        Err(ClientError::Remote { code, .. }) => code,
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[test]
fn put_then_get_round_trips_small_and_large_files() {
    let root = TempDir::new("root");
    let local = TempDir::new("local");
    let server = files_server(&root);
    let mut c = connect(server.local_addr());
    for (name, len) in [
        ("small.txt", 10),
        ("empty", 0),
        ("large.bin", 3 * 1024 * 1024 + 17),
    ] {
        let data = content(len);
        let src = local.path().join(name);
        std::fs::write(&src, &data).unwrap();
        let mut calls = 0;
        let stored = c.put_file(&src, name, &mut |_, _| calls += 1).unwrap();
        assert_eq!(stored, len as u64);
        assert_eq!(std::fs::read(root.path().join(name)).unwrap(), data);

        let back = local.path().join(format!("{name}.back"));
        let got = c.get_file(name, &back, &mut |_, _| {}).unwrap();
        assert_eq!(got, len as u64);
        assert!(std::fs::read(&back).unwrap() == data, "{name} differs");
    }
    // Nothing but the stored files: no temporary files left behind on either side.
    assert_eq!(root.entries(), ["empty", "large.bin", "small.txt"]);
}

#[test]
fn uploads_into_existing_subdirectories_and_overwrites() {
    let root = TempDir::new("root");
    std::fs::create_dir(root.path().join("sub")).unwrap();
    let server = files_server(&root);
    let mut c = connect(server.local_addr());
    let local = TempDir::new("local");
    let src = local.path().join("f");
    std::fs::write(&src, b"one").unwrap();
    c.put_file(&src, "sub/f", &mut |_, _| {}).unwrap();
    std::fs::write(&src, b"two!").unwrap();
    c.put_file(&src, "sub/f", &mut |_, _| {}).unwrap();
    assert_eq!(std::fs::read(root.path().join("sub/f")).unwrap(), b"two!");
    assert_eq!(
        remote_code(c.put_file(&src, "missing-dir/f", &mut |_, _| {})),
        "not-found"
    );
}

#[test]
fn names_escaping_the_root_are_refused() {
    let root = TempDir::new("root");
    let outside = TempDir::new("outside");
    std::fs::write(outside.path().join("secret"), b"secret").unwrap();
    std::os::unix::fs::symlink(outside.path(), root.path().join("link")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret"),
        root.path().join("secret-link"),
    )
    .unwrap();
    let server = files_server(&root);
    let mut c = connect(server.local_addr());
    let local = TempDir::new("local");
    let src = local.path().join("payload");
    std::fs::write(&src, b"evil").unwrap();
    let long = "x".repeat(300);
    let bad = [
        "../escape",
        "a/../../escape",
        "/tmp/escape",
        "./x",
        "a//b",
        "nul\0byte",
        "line\nbreak",
        "back\\slash",
        long.as_str(),
        "link/escape",
        "secret-link",
    ];
    for name in bad {
        let code = remote_code(c.put_file(&src, name, &mut |_, _| {}));
        assert!(
            code == "bad-path" || code == "not-found",
            "{name:?}: {code}"
        );
        let dest = local.path().join("got");
        let code = remote_code(c.get_file(name, &dest, &mut |_, _| {}));
        assert!(
            code == "bad-path" || code == "not-found",
            "get {name:?}: {code}"
        );
    }
    // Nothing was written outside, and the connection is still usable.
    assert_eq!(outside.entries(), ["secret"]);
    assert_eq!(
        std::fs::read(outside.path().join("secret")).unwrap(),
        b"secret"
    );
    c.ping().unwrap();
    assert_eq!(
        local.entries(),
        ["payload"],
        "failed downloads leave nothing locally"
    );
}

#[test]
fn missing_file_is_not_found() {
    let root = TempDir::new("root");
    let server = files_server(&root);
    let mut c = connect(server.local_addr());
    let local = TempDir::new("local");
    assert_eq!(
        remote_code(c.get_file("nope", &local.path().join("nope"), &mut |_, _| {})),
        "not-found"
    );
}

/// Starts an upload of `len` bytes and sends only `sent` of them.
fn partial_upload(c: &mut Client, name: &str, len: usize, sent: usize) {
    let data = content(len);
    let mut h = Header::new(kinds::PUT, 1, len as u64).with_name(name);
    h.crc = Some(sockframe::checksum::crc32c(&data));
    c.send_head(&h).unwrap();
    c.send_raw(&data[..sent]).unwrap();
}

#[test]
fn interrupted_upload_leaves_nothing() {
    let root = TempDir::new("root");
    let server = files_server(&root);
    let addr = server.local_addr();
    // Cut by a clean close: the server answers "truncated" and removes the partial file.
    let mut c = connect(addr);
    partial_upload(&mut c, "cut.bin", 1 << 20, 300 * 1024);
    c.shutdown_write().unwrap();
    assert_eq!(expect_error(&mut c).meta("code"), Some("truncated"));
    assert!(root.entries().is_empty(), "{:?}", root.entries());

    // Cut by a reset mid-payload: nothing to tell the client, still nothing left.
    let mut c = connect(addr);
    partial_upload(&mut c, "reset.bin", 1 << 20, 300 * 1024);
    // Wait until the server has created its temporary file, so the reset cuts a real
    // upload in progress.
    eventually("upload in progress", || !root.entries().is_empty());
    socket2::SockRef::from(c.stream())
        .set_linger(Some(Duration::ZERO))
        .unwrap();
    drop(c);
    eventually("partial upload removed", || root.entries().is_empty());
}

#[test]
fn upload_with_wrong_checksum_is_not_stored() {
    let root = TempDir::new("root");
    let server = files_server(&root);
    let mut c = connect(server.local_addr());
    let data = content(200_000);
    let mut h = Header::new(kinds::PUT, 1, data.len() as u64).with_name("bad.bin");
    h.crc = Some(sockframe::checksum::crc32c(&data) ^ 1);
    c.send_head(&h).unwrap();
    c.send_raw(&data).unwrap();
    assert_eq!(expect_error(&mut c).meta("code"), Some("bad-checksum"));
    assert!(root.entries().is_empty(), "{:?}", root.entries());
}

#[test]
fn upload_without_checksum_is_refused_and_skipped() {
    let root = TempDir::new("root");
    let server = files_server(&root);
    let mut c = connect(server.local_addr());
    let data = content(100_000);
    let h = Header::new(kinds::PUT, 3, data.len() as u64).with_name("nocrc");
    c.send(&h, &data).unwrap();
    assert_eq!(expect_error(&mut c).meta("code"), Some("bad-request"));
    // The refused payload was skipped: the connection is still in step.
    let pong = c.request_with(&Header::new(Kind::PING, 0, 0), &[]).unwrap();
    assert_eq!(pong.kind, Kind::PONG);
    assert!(root.entries().is_empty());
}
