//! Security review (issue 5, item 4): the exec token never reaches a log, arguments are
//! never interpreted, file names cannot leave the served directory, every service decodes
//! within the server's limits, and requests cannot make a connection hold more than its
//! buffer.

mod bin;
#[path = "../../std/tests/common/mod.rs"]
mod common;

use bin::*;
use common::*;
use sockframe::{Header, Kind, Limits, encode_frame};
use sockframe_std::services::{Chat, Echo, Exec, ExecConfig, Files, FilesConfig};
use sockframe_std::{Client, ClientError, ServerConfig, ServerHandle, Service, kinds};
use std::io::{Read, Write};
use std::net::Shutdown;
use std::process::Stdio;

fn remote<T: std::fmt::Debug>(r: Result<T, ClientError>) -> (String, String) {
    match r {
        Err(ClientError::Remote { code, message, .. }) => (code, message),
        other => panic!("expected a remote error, got {other:?}"),
    }
}

/// `sockframe -vvv serve ARGS` with `RUST_LOG=trace` and `env`; returns the guard, the
/// address, and a thread that collects everything the server writes on stderr.
fn logging_server(
    args: &[&str],
    env: &[(&str, &str)],
) -> (ChildGuard, String, std::thread::JoinHandle<Vec<u8>>) {
    let mut child = bin()
        .args(["-vvv", "serve", "--bind", "127.0.0.1:0"])
        .args(args)
        .env("RUST_LOG", "trace")
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn sockframe serve");
    let mut stderr = child.stderr.take().unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let guard = ChildGuard(child);
    // The first line with an address is the "listening on" line.
    let mut seen = Vec::new();
    let mut byte = [0u8; 1];
    let addr = loop {
        assert_eq!(
            stderr.read(&mut byte).unwrap(),
            1,
            "server ended: {}",
            String::from_utf8_lossy(&seen)
        );
        seen.push(byte[0]);
        if byte[0] == b'\n' {
            let text = String::from_utf8_lossy(&seen);
            let last = text.lines().last().unwrap_or("");
            if last.starts_with("sockframe: ") && last.contains(" listening on ") {
                break last.rsplit(' ').next().unwrap().trim().to_owned();
            }
        }
    };
    let collector = std::thread::spawn(move || {
        let mut out = Vec::new();
        let _ = stdout.read_to_end(&mut out);
        let mut rest = Vec::new();
        let _ = stderr.read_to_end(&mut rest);
        seen.extend(out);
        seen.extend(rest);
        seen
    });
    (guard, addr, collector)
}

#[test]
fn the_exec_token_appears_in_no_log_at_trace_level() {
    const TOKEN: &str = "tok-9f2c41d7e5-SECRET";
    const WRONG: &str = "tok-9f2c41d7e5-GUESS";
    let (mut server, addr, logs) = logging_server(
        &["--service", "exec", "--shell"],
        &[("SOCKFRAME_TOKEN", TOKEN)],
    );
    let mut client_logs = Vec::new();
    // Wrong token (a near miss), on the command line and from the environment; no token;
    // then the right one both ways; and a shell request.
    let cases: [(&[&str], Option<&str>, Option<i32>); 5] = [
        (&["--token", WRONG, "--", "true"], None, Some(1)),
        (&["--", "true"], Some(WRONG), Some(1)),
        (&["--", "true"], None, Some(1)),
        (&["--token", TOKEN, "--", "echo", "ran"], None, Some(0)),
        (&["--shell", "--", "echo", "ran"], Some(TOKEN), Some(0)),
    ];
    for (args, env, code) in cases {
        let mut cmd = bin();
        cmd.args(["-vvv", "exec", &addr])
            .args(args)
            .env("RUST_LOG", "trace")
            .env_remove("SOCKFRAME_TOKEN");
        if let Some(t) = env {
            cmd.env("SOCKFRAME_TOKEN", t);
        }
        let out = output(&mut cmd);
        assert_eq!(out.status.code(), code, "{args:?}: {out:?}");
        if code == Some(1) {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("unauthorized"), "{err}");
        } else {
            assert_eq!(out.stdout, b"ran\n");
        }
        client_logs.extend(out.stdout);
        client_logs.extend(out.stderr);
    }
    signal_int(&server);
    let status = server.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    let logs = String::from_utf8_lossy(&logs.join().unwrap()).into_owned();
    // The logs are really there, at trace level...
    assert!(logs.contains("unauthorized"), "{logs}");
    assert!(logs.contains("exec done"), "{logs}");
    // ...and neither the token nor the wrong guess is in them, nor in the client's.
    for secret in [TOKEN, WRONG, "9f2c41d7e5"] {
        assert!(!logs.contains(secret), "server log shows {secret}:\n{logs}");
        let client = String::from_utf8_lossy(&client_logs);
        assert!(!client.contains(secret), "client output shows {secret}");
    }
}

fn signal_int(child: &ChildGuard) {
    let ok = std::process::Command::new("kill")
        .args(["-INT", &child.0.id().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

/// Arguments a shell would act on; each must reach the command as one literal argument.
fn hostile_args(dir: &std::path::Path) -> Vec<String> {
    let x = |n: &str| dir.join(n).display().to_string();
    vec![
        format!("; touch {}", x("semicolon")),
        format!("$(touch {})", x("dollar")),
        format!("`touch {}`", x("backtick")),
        format!("&& touch {}", x("and")),
        format!("| touch {}", x("pipe")),
        format!("> {}", x("redirect")),
        format!("\ntouch {}", x("newline")),
        "*".into(),
        "~".into(),
        "$HOME".into(),
        "a b".into(),
        "|".into(),
        "'quoted'".into(),
        "\"double\"".into(),
        "back\\slash".into(),
        "line\nbreak".into(),
        String::new(),
        "-n".into(),
    ]
}

#[test]
fn arguments_reach_the_command_literally() {
    let dir = TempDir::new("inject");
    let server = start(loopback(), Exec(ExecConfig::default()));
    let addr = server.local_addr();
    let mut c = connect(addr);
    for arg in hostile_args(dir.path()) {
        // Through the library...
        let argv = ["printf".to_owned(), "%s".to_owned(), arg.clone()];
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let done = c.exec(&argv, false, None, &mut out, &mut err).unwrap();
        assert_eq!(
            done.status(),
            0,
            "{arg:?}: {}",
            String::from_utf8_lossy(&err)
        );
        assert_eq!(String::from_utf8_lossy(&out), arg, "library: {arg:?}");
        // ...and through the command line, which must not re-split either.
        let got = output(bin().args(["exec", &addr.to_string(), "--", "printf", "%s", &arg]));
        assert_eq!(got.status.code(), Some(0), "{arg:?}: {got:?}");
        assert_eq!(String::from_utf8_lossy(&got.stdout), arg, "cli: {arg:?}");
    }
    assert!(dir.entries().is_empty(), "created: {:?}", dir.entries());
    // The program name is not split at spaces or looked up by a shell either.
    let argv = [format!(
        "printf hi; touch {}",
        dir.path().join("p").display()
    )];
    let (code, message) = remote(c.exec(&argv, false, None, &mut Vec::new(), &mut Vec::new()));
    assert_eq!(code, "spawn-failed", "{message}");
    assert!(dir.entries().is_empty(), "created: {:?}", dir.entries());
    // A NUL inside an argument would split it in two on the server: the client refuses it.
    let argv = ["printf".to_owned(), "%s|".to_owned(), "a\0b".to_owned()];
    match c.exec(&argv, false, None, &mut Vec::new(), &mut Vec::new()) {
        Err(ClientError::Io(e)) => {
            assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
            assert!(e.to_string().contains("NUL"), "{e}");
        }
        other => panic!("a NUL inside an argument was sent: {other:?}"),
    }
    // The connection is still usable after the refusal (nothing was sent).
    let mut out = Vec::new();
    let argv = ["printf".to_owned(), "ok".to_owned()];
    c.exec(&argv, false, None, &mut out, &mut Vec::new())
        .unwrap();
    assert_eq!(out, b"ok");
}

#[test]
fn a_shell_line_is_refused_by_a_server_without_shell_through_the_binary() {
    // The library refusal is in tests/exec.rs; this is the command line end to end, and
    // the shell line must not have run.
    let dir = TempDir::new("noshell");
    let (_server, addr) = serve_bin(&["--service", "exec"]);
    let line = format!("touch {}", dir.path().join("ran").display());
    let out = output(bin().args(["exec", &addr.to_string(), "--shell", "--", &line]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("shell-disabled"), "{err}");
    assert!(dir.entries().is_empty());
}

fn files_server(root: &TempDir) -> ServerHandle {
    let cfg = ServerConfig {
        limits: Limits {
            max_header: 2048,
            max_payload: u64::MAX,
        },
        ..loopback()
    };
    start(cfg, Files(FilesConfig::new(root.path())))
}

#[test]
fn file_names_are_refused_with_the_reason_and_nothing_lands_outside() {
    let base = TempDir::new("fsbase");
    let root = base.path().join("root");
    let outside = base.path().join("outside");
    std::fs::create_dir_all(root.join("sub")).unwrap();
    std::fs::create_dir_all(&outside).unwrap();
    std::fs::write(outside.join("secret"), b"secret").unwrap();
    std::os::unix::fs::symlink(&outside, root.join("dirlink")).unwrap();
    std::os::unix::fs::symlink(outside.join("secret"), root.join("filelink")).unwrap();
    // Dangling: an upload through it would create a file outside.
    std::os::unix::fs::symlink(outside.join("created"), root.join("dangling")).unwrap();
    // A link to a directory that leads back out through `..` of its own.
    std::os::unix::fs::symlink("sub/../..", root.join("updir")).unwrap();
    let root = TempDir(root.canonicalize().unwrap());
    let server = files_server(&root);
    let mut c = connect(server.local_addr());
    let local = TempDir::new("fslocal");
    let src = local.path().join("payload");
    std::fs::write(&src, b"evil").unwrap();

    let comp = "c".repeat(200);
    let long_path = [comp.as_str(); 6].join("/"); // 1205 bytes, every component fine
    let long_comp = "x".repeat(256);
    let cases: Vec<(String, &str)> = vec![
        ("..".into(), "`.` or `..`"),
        ("../outside/x".into(), "`.` or `..`"),
        ("sub/../../outside/x".into(), "`.` or `..`"),
        ("/etc/passwd".into(), "absolute path"),
        (outside.join("x").display().to_string(), "absolute path"),
        ("tab\there".into(), "control character"),
        ("esc\x1b[31m".into(), "control character"),
        ("del\x7f".into(), "control character"),
        ("cr\rx".into(), "control character"),
        ("nul\0x".into(), "control character or NUL"),
        ("nel\u{85}x".into(), "control character"),
        (long_comp.clone(), "component too long"),
        (format!("sub/{long_comp}"), "component too long"),
        (long_path, "name too long"),
        ("dirlink/x".into(), "outside the served directory"),
        ("dirlink/secret".into(), "outside the served directory"),
        ("updir/outside/x".into(), "outside the served directory"),
        ("updir/x".into(), "outside the served directory"),
    ];
    for (name, why) in &cases {
        for get in [false, true] {
            let r = if get {
                c.get_file(name, &local.path().join("got"), &mut |_, _| {})
            } else {
                c.put_file(&src, name, &mut |_, _| {})
            };
            let (code, message) = remote(r);
            let op = if get { "get" } else { "put" };
            assert_eq!(code, "bad-path", "{op} {name:?}: {message}");
            assert!(message.contains(why), "{op} {name:?}: {message}");
        }
    }
    // Symlinks: an upload never replaces or follows one; a download follows one only if
    // it stays inside the root.
    for name in ["filelink", "dangling"] {
        let (code, message) = remote(c.put_file(&src, name, &mut |_, _| {}));
        assert_eq!(code, "bad-path", "put {name}: {message}");
        assert!(message.contains("symlink"), "put {name}: {message}");
        let (code, message) = remote(c.get_file(name, &local.path().join("g"), &mut |_, _| {}));
        assert_eq!(code, "bad-path", "get {name}: {message}");
        assert!(message.contains("outside"), "get {name}: {message}");
    }
    // Nothing was written outside, nothing was read from there.
    let mut outside_now: Vec<_> = std::fs::read_dir(&outside)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    outside_now.sort();
    assert_eq!(outside_now, ["secret"]);
    assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"secret");
    assert_eq!(local.entries(), ["payload"]);
    // The longest accepted component (255 bytes) works both ways.
    let longest = "y".repeat(255);
    assert_eq!(c.put_file(&src, &longest, &mut |_, _| {}).unwrap(), 4);
    let back = local.path().join("back");
    assert_eq!(c.get_file(&longest, &back, &mut |_, _| {}).unwrap(), 4);
    assert_eq!(std::fs::read(&back).unwrap(), b"evil");
    assert_eq!(
        root.entries(),
        [
            "dangling",
            "dirlink",
            "filelink",
            "sub",
            "updir",
            longest.as_str()
        ]
    );
    // A name beyond the header limit is a framing error: the connection ends.
    let huge = "z".repeat(3000);
    let r = c.put_file(&src, &huge, &mut |_, _| {});
    let (code, message) = remote(r);
    assert_eq!(code, "header-too-large", "{message}");
    assert!(message.contains("limit 2048"), "{message}");
}

/// A frame head whose header has `entries` metadata pairs (`k`=`v`), hand-made because
/// the encoder refuses more than a receiver accepts.
fn head_with_meta(entries: u8) -> Vec<u8> {
    // kind DATA, id 1, len 0, flags 0, no name, no crc, then the count and the pairs.
    let mut header = vec![0, 1, 0, 0, 0, 0, entries];
    for _ in 0..entries {
        header.extend_from_slice(&[1, b'k', 1, b'v']);
    }
    let mut wire = vec![0xF5, 0x46, 0x01];
    wire.extend_from_slice(&(header.len() as u16).to_le_bytes());
    wire.extend(header);
    wire
}

#[test]
fn every_service_decodes_within_the_server_limits() {
    // Eight entries are accepted (the echo answers them); nine are refused.
    let server = start(loopback(), Echo);
    let mut s = raw(server.local_addr());
    s.write_all(&head_with_meta(8)).unwrap();
    let mut c = Client::from_stream(s);
    assert_eq!(c.recv_frame().unwrap().unwrap().meta.len(), 8);
    drop(server);

    let root = TempDir::new("limits");
    let (_operator, replies) = tokio::sync::mpsc::channel(1);
    enforces_the_limits(Echo);
    enforces_the_limits(Exec(ExecConfig {
        token: Some("t".into()),
        ..ExecConfig::default()
    }));
    enforces_the_limits(Files(FilesConfig::new(root.path())));
    enforces_the_limits(Chat::new(replies, |_| {}));
}

/// Over-limit metadata, header and payload each get the error frame naming the limit from
/// `service`, which goes on serving.
fn enforces_the_limits<Svc: Service>(service: Svc) {
    let name = service.name().to_owned();
    let cfg = ServerConfig {
        limits: Limits {
            max_header: 512,
            max_payload: 1000,
        },
        ..loopback()
    };
    let server = start(cfg, service);
    let addr = server.local_addr();
    let over_payload = {
        let mut b = vec![0u8; 64];
        let n = sockframe::encode_head(&Header::new(Kind::DATA, 1, 0), 1001, &mut b).unwrap();
        b.truncate(n);
        b
    };
    let cases: [(&str, Vec<u8>, &str); 3] = [
        (
            "9 metadata entries",
            head_with_meta(9),
            "9 metadata entries, limit 8",
        ),
        (
            "1000-byte header",
            vec![0xF5, 0x46, 0x01, 0xE8, 0x03],
            "header is 1000 bytes, limit 512",
        ),
        (
            "1001-byte payload",
            over_payload,
            "payload is 1001 bytes, limit 1000",
        ),
    ];
    for (case, bytes, says) in cases {
        let mut s = raw(addr);
        s.write_all(&bytes).unwrap();
        let mut c = Client::from_stream(s);
        let err = expect_error(&mut c);
        assert!(err.text().contains(says), "{name}, {case}: {}", err.text());
        assert!(c.recv_frame().unwrap().is_none(), "{name}, {case}: closed");
        // The server goes on serving (a fresh client: chat serves one at a time).
        let pong = connect(addr)
            .request_with(&Header::new(Kind::PING, 0, 0), b"still here")
            .unwrap();
        assert_eq!(
            (pong.kind, pong.payload.as_slice()),
            (Kind::PONG, &b"still here"[..])
        );
    }
}

#[test]
fn requests_larger_than_the_buffer_are_not_gathered_in_memory() {
    // exec and chat copy each request out of the decoder: one larger than the server's
    // buffer is refused at its head, before its payload arrives, so a connection never
    // holds more than its buffer for a request. (The files service streams uploads to
    // disk; the echo streams replies cut-through.)
    let (_operator, replies) = tokio::sync::mpsc::channel(1);
    refuses_a_request_larger_than_the_buffer(Exec(ExecConfig::default()));
    refuses_a_request_larger_than_the_buffer(Chat::new(replies, |_| {}));
    // The files service refuses a streamed PING (unsupported) and skips its payload
    // without keeping it: the connection stays in step and is served.
    let root = TempDir::new("bigping");
    let cfg = ServerConfig {
        buffer_size: 4096,
        ..loopback()
    };
    let server = start(cfg, Files(FilesConfig::new(root.path())));
    let mut c = connect(server.local_addr());
    let big = vec![7u8; 100_000];
    c.send(&Header::new(Kind::PING, 9, 0), &big).unwrap();
    let err = expect_error(&mut c);
    assert_eq!(err.meta("code"), Some("unsupported"), "{}", err.text());
    c.ping().unwrap();
    let mut s = c.stream().try_clone().unwrap();
    s.shutdown(Shutdown::Write).unwrap();
    let mut rest = Vec::new();
    s.read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty());
    // A small PING is answered with its payload, as every service does.
    let mut c = connect(server.local_addr());
    let mut wire = vec![0u8; 256];
    let n = encode_frame(&Header::new(Kind::PING, 3, 0), b"tiny", &mut wire).unwrap();
    c.send_raw(&wire[..n]).unwrap();
    let pong = c.recv_frame().unwrap().unwrap();
    assert_eq!(
        (pong.kind, pong.payload.as_slice()),
        (Kind::PONG, &b"tiny"[..])
    );
}

#[test]
fn a_program_name_cannot_forge_log_lines() {
    let (mut server, addr, logs) = logging_server(&["--service", "exec"], &[]);
    let forged = "nope\nFORGED 2026 INFO all is well \u{1b}[31m";
    let out = output(bin().args(["exec", &addr, "--", forged]));
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.contains("spawn-failed"), "{said}");
    assert!(
        said.contains("nope\\nFORGED"),
        "escaped in the message: {said}"
    );
    signal_int(&server);
    assert_eq!(server.0.wait().unwrap().code(), Some(0));
    let logs = String::from_utf8_lossy(&logs.join().unwrap()).into_owned();
    assert!(logs.contains("nope\\nFORGED"), "{logs}");
    assert!(
        !logs.lines().any(|l| l.starts_with("FORGED")),
        "a forged log line: {logs}"
    );
    assert!(
        !logs.contains("\u{1b}[31m"),
        "a raw escape sequence: {logs}"
    );
}

/// A request announced larger than the server's buffer is refused at its head by `service`
/// (`bad-request`, the connection closed), before its payload arrives.
fn refuses_a_request_larger_than_the_buffer<Svc: Service>(service: Svc) {
    let name = service.name().to_owned();
    let cfg = ServerConfig {
        buffer_size: 4096,
        ..loopback()
    };
    let server = start(cfg, service);
    let mut c = connect(server.local_addr());
    // 10 MiB announced, only the head sent: the refusal does not wait for the payload.
    let kind = if name == "exec" {
        kinds::EXEC
    } else {
        Kind::DATA
    };
    c.send_head(&Header::new(kind, 5, 10 << 20)).unwrap();
    let err = expect_error(&mut c);
    assert_eq!(
        err.meta("code"),
        Some("bad-request"),
        "{name}: {}",
        err.text()
    );
    assert!(err.text().contains("larger than the server's"), "{name}");
    assert_eq!(err.id, 5, "{name}");
    let mut rest = Vec::new();
    let _ = c.stream().try_clone().unwrap().read_to_end(&mut rest);
    assert!(rest.is_empty(), "{name}: closed after the error");
}
