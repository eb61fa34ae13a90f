//! The `sockframe` command on a serial link: `serve serial:A` and the clients on
//! `serial:B`, where A and B are the slaves of two pty pairs whose masters this test relays
//! to each other (a null-modem cable with no hardware).

mod bin;
#[path = "../../std/tests/common/mod.rs"]
mod common;

use bin::*;
use nix::pty::openpty;
use nix::sys::termios::{SetArg, cfmakeraw, tcgetattr, tcsetattr};
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::process::{Output, Stdio};

/// One pty pair: the master (the relay's end) and the slave's path, its fd kept open so
/// the master never sees a hang-up between clients.
struct Pty {
    master: File,
    path: String,
    _slave: OwnedFd,
}

fn pty() -> Pty {
    let p = openpty(None, None).expect("openpty");
    // Raw from the start: no echo or line editing before a client opens it.
    let mut t = tcgetattr(&p.slave).unwrap();
    cfmakeraw(&mut t);
    tcsetattr(&p.slave, SetArg::TCSANOW, &t).unwrap();
    let path = std::fs::read_link(format!("/proc/self/fd/{}", p.slave.as_raw_fd()))
        .unwrap()
        .to_string_lossy()
        .into_owned();
    Pty {
        master: File::from(p.master),
        path,
        _slave: p.slave,
    }
}

/// Copies `from` to `to` until either fails (the test process ends the threads).
fn pump(mut from: File, mut to: File) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = from.read(&mut buf) {
            if n == 0 || to.write_all(&buf[..n]).is_err() {
                return;
            }
        }
    });
}

/// A link: the server's end and the client's end, relayed both ways.
struct Link {
    server: Pty,
    client: Pty,
}

fn link() -> Link {
    let (server, client) = (pty(), pty());
    pump(
        server.master.try_clone().unwrap(),
        client.master.try_clone().unwrap(),
    );
    pump(
        client.master.try_clone().unwrap(),
        server.master.try_clone().unwrap(),
    );
    Link { server, client }
}

/// `sockframe serve serial:PATH ARGS...`, ready once a client exchanged a message on it.
fn serve_link(link: &Link, args: &[&str]) -> ChildGuard {
    serve_link_with(link, args, Stdio::null(), Stdio::null())
}

/// [`serve_link`] with the server's stdin and stdout as given (the chat operator's).
fn serve_link_with(link: &Link, args: &[&str], stdin: Stdio, stdout: Stdio) -> ChildGuard {
    let mut child = bin()
        .arg("serve")
        .arg(format!("serial:{}", link.server.path))
        .args(args)
        .stdin(stdin)
        .stdout(stdout)
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sockframe serve");
    let mut lines = BufReader::new(child.stderr.take().unwrap());
    let guard = ChildGuard(child);
    let mut line = String::new();
    lines.read_line(&mut line).unwrap();
    assert!(line.contains("serving serial:"), "{line}");
    std::thread::spawn(move || {
        let mut sink = String::new();
        while lines.read_line(&mut sink).map(|n| n > 0).unwrap_or(false) {
            sink.clear();
        }
    });
    // Ready once it answered a ping, through the library's own serial client.
    let mut c = sockframe_std::Client::connect_serial(&format!("serial:{}", link.client.path))
        .expect("open the client end");
    c.ping().expect("the link is served");
    // Closing the client closes the port (opened exclusively) for the next one.
    c.shutdown_write().unwrap();
    assert!(c.recv_frame().unwrap().is_none());
    guard
}

/// A client subcommand on the link's client end.
fn client(link: &Link, sub: &[&str], rest: &[&str]) -> Output {
    let addr = format!("serial:{}", link.client.path);
    output(bin().args(sub).arg(&addr).args(rest).stdin(Stdio::null()))
}

fn client_stdin(link: &Link, args: &[&str], input: &[u8]) -> Output {
    let addr = format!("serial:{},115200", link.client.path);
    output_with_stdin(
        bin().args(&args[..1]).arg(&addr).args(&args[1..]),
        input.to_vec(),
    )
}

#[test]
fn send_small_and_large_byte_exact() {
    let link = link();
    let _server = serve_link(&link, &[]);
    let big: Vec<u8> = (0..3 * 1024 * 1024 + 7u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let out = client_stdin(&link, &["send", "-"], &big);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.stdout == big, "3 MiB echoed byte-exact");
    let out = client(&link, &["send"], &["after"]);
    assert_eq!(out.stdout, b"after", "{out:?}");
}

#[test]
fn exec_put_get_and_bench() {
    let link = link();
    let dir = std::env::temp_dir().join(format!("sockframe-serial-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    {
        let _server = serve_link(&link, &["--service", "exec"]);
        let out = client(&link, &["exec"], &["--", "printf", "a\\nb"]);
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        assert_eq!(out.stdout, b"a\nb");
        let out = client(&link, &["exec"], &["--", "sh", "-c", "exit 7"]);
        assert_eq!(out.status.code(), Some(7), "{out:?}");
    }
    let srv = dir.join("srv");
    std::fs::create_dir_all(&srv).unwrap();
    let src = dir.join("up.bin");
    let content: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&src, &content).unwrap();
    {
        let _server = serve_link(
            &link,
            &["--service", "files", "--root", srv.to_str().unwrap()],
        );
        let out = client(&link, &["put"], &[src.to_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(std::fs::read(srv.join("up.bin")).unwrap(), content);
        let dest = dir.join("down.bin");
        let out = client(&link, &["get"], &["up.bin", "-o", dest.to_str().unwrap()]);
        assert!(out.status.success(), "{out:?}");
        assert_eq!(std::fs::read(&dest).unwrap(), content);
    }
    {
        let _server = serve_link(&link, &[]);
        let out = client(&link, &["bench"], &["--duration", "0.3", "--size", "1000"]);
        assert!(out.status.success(), "{out:?}");
        let out = client(&link, &["bench"], &["--conns", "2"]);
        assert_eq!(out.status.code(), Some(2), "{out:?}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn hostile_devices_and_silence() {
    let out = output(bin().args(["send", "serial:/dev/no-such-tty", "x"]));
    assert_eq!(out.status.code(), Some(3));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("serial:/dev/no-such-tty: No such file or directory"),
        "{err}"
    );
    let out = output(bin().args(["send", "serial:/dev/null", "x"]));
    assert_eq!(out.status.code(), Some(3));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("serial:/dev/null: "),
        "{out:?}"
    );
    let out = output(bin().args(["send", "serial:/dev/x,fast", "x"]));
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let out = output(bin().args(["serve", "serial:/dev/no-such-tty"]));
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    // Nothing serves the link: the client gives up after --timeout and says so.
    let link = link();
    let out = client(&link, &["send"], &["--timeout", "1", "anyone?"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.is_empty(), "{out:?}");
    eprintln!("silence: {err}");
}

/// Noise on the line, as a board's boot messages or a loose cable give: toward the server
/// before a client's request, and toward the client before its reply. Both relays skip it
/// (spec section 9.1) and the exchanges go through byte-exact.
#[test]
fn noise_on_the_line_is_skipped_both_ways() {
    let link = link();
    let _server = serve_link(&link, &[]);
    let mut to_server = link.server.master.try_clone().unwrap();
    let mut to_client = link.client.master.try_clone().unwrap();
    let boot = b"\r\nU-Boot 2024.01\r\nDRAM: 64 KiB\r\n\xf5\x46\x01\x90\x01\x00 noise \xff\xfe";
    to_server.write_all(boot).unwrap();
    let out = client(&link, &["send"], &["after noise toward the server"]);
    assert_eq!(out.stdout, b"after noise toward the server", "{out:?}");
    // Bytes queued on the client's port before it opens: what it reads first.
    to_client.write_all(boot).unwrap();
    let out = client(&link, &["send"], &["after noise toward the client"]);
    // The client's relay says what it skipped: all of it, in one run.
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("skipped {} bytes", boot.len())),
        "{said}"
    );
    assert_eq!(out.stdout, b"after noise toward the client", "{out:?}");
    // A frame without the header check (a v1 sender on the link) is not taken either.
    let mut v1 = vec![0u8; 64];
    let n = sockframe::encode_frame(&sockframe::Header::data(5, b"v1"), b"v1", &mut v1).unwrap();
    to_server.write_all(&v1[..n]).unwrap();
    let out = client(&link, &["send"], &["after an unchecked frame"]);
    assert_eq!(out.stdout, b"after an unchecked frame", "{out:?}");
}

/// `chat` on the link: a line goes to the server's operator, whose empty answer ends the
/// session; the client hears the end.
#[test]
fn chat_over_the_link() {
    let link = link();
    let mut server = serve_link_with(
        &link,
        &["--service", "chat"],
        Stdio::piped(),
        Stdio::piped(),
    );
    let out = chat_with_operator(
        &mut server.0,
        &format!("serial:{}", link.client.path),
        b"hello over the wire\n",
        "hello over the wire",
    );
    assert!(out.status.success(), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("ended the session"),
        "{out:?}"
    );
}
