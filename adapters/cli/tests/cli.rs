//! The `sockframe` binary end to end: every subcommand against a real `sockframe serve`,
//! exit codes, and --help.

mod bin;
#[path = "../../std/tests/common/mod.rs"]
mod common;

use bin::*;
use common::*;
use std::io::{Read, Write};
use std::process::{Output, Stdio};

fn run(args: &[&str]) -> Output {
    output(bin().args(args).stdin(Stdio::null()))
}

fn run_with_stdin(args: &[&str], input: &[u8]) -> Output {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(input).unwrap();
    finish(child)
}

/// A loopback port with nothing listening on it.
fn dead_port() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    drop(l);
    addr.to_string()
}

#[test]
fn help_exists_for_every_subcommand() {
    assert!(run(&["--help"]).status.success());
    for sub in ["serve", "send", "chat", "exec", "put", "get", "bench"] {
        let out = run(&[sub, "--help"]);
        assert!(out.status.success(), "{sub} --help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage"), "{sub} --help: {text}");
    }
    let top = String::from_utf8_lossy(&run(&["--help"]).stdout).into_owned();
    assert!(top.contains("Exit codes"), "exit codes documented: {top}");
}

#[test]
fn usage_errors_exit_2() {
    assert_eq!(run(&["send"]).status.code(), Some(2));
    assert_eq!(run(&["frobnicate"]).status.code(), Some(2));
    assert_eq!(run(&["serve", "--service", "nope"]).status.code(), Some(2));
}

#[test]
fn connection_failure_exits_3() {
    let out = run(&["send", &dead_port(), "hi"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot connect"));
}

#[test]
fn send_prints_the_echo() {
    let (_server, addr) = serve_bin(&[]);
    let addr = addr.to_string();
    let out = run(&["send", &addr, "hello world"]);
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"hello world");

    let out = run_with_stdin(&["send", &addr, "-"], b"from\nstdin\n");
    assert!(out.status.success(), "{out:?}");
    assert_eq!(out.stdout, b"from\nstdin\n");
}

#[test]
fn exec_prints_remote_output_and_exits_with_its_status() {
    let (_server, addr) = serve_bin(&["--service", "exec"]);
    let addr = addr.to_string();
    let out = run(&[
        "exec",
        &addr,
        "--",
        "sh",
        "-c",
        "echo out; echo err >&2; exit 5",
    ]);
    assert_eq!(out.status.code(), Some(5), "{out:?}");
    assert_eq!(out.stdout, b"out\n");
    assert!(String::from_utf8_lossy(&out.stderr).contains("err"));

    // Shell mode is refused by a server without --shell: a remote error, exit 1.
    let out = run(&["exec", &addr, "--shell", "--", "echo", "hi"]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("shell-disabled"));
}

#[test]
fn exec_token_from_the_environment() {
    let (_server, addr) = {
        // The server reads SOCKFRAME_TOKEN too; set it for the server only.
        let mut child = bin()
            .args(["serve", "--bind", "127.0.0.1:0", "--service", "exec"])
            .env("SOCKFRAME_TOKEN", "tok-123")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let mut err = child.stderr.take().unwrap();
        let guard = ChildGuard(child);
        let mut line = Vec::new();
        let mut byte = [0u8; 1];
        while err.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
            line.push(byte[0]);
        }
        let line = String::from_utf8(line).unwrap();
        let addr: std::net::SocketAddr = line.rsplit(' ').next().unwrap().parse().unwrap();
        (guard, addr)
    };
    let addr = addr.to_string();
    let out = output(
        bin()
            .args(["exec", &addr, "--", "true"])
            .env_remove("SOCKFRAME_TOKEN"),
    );
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("unauthorized"));
    let out = output(
        bin()
            .args(["exec", &addr, "--", "true"])
            .env("SOCKFRAME_TOKEN", "tok-123"),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn exec_on_a_public_address_without_token_refuses_to_start() {
    // Refused before binding: nothing listens beyond loopback.
    let out = output(
        bin()
            .args(["serve", "--bind", "0.0.0.0:0", "--service", "exec"])
            .env_remove("SOCKFRAME_TOKEN")
            .stdin(Stdio::null()),
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("token"));
}

#[test]
fn put_and_get_through_the_binary() {
    let root = TempDir::new("cli-root");
    let work = TempDir::new("cli-work");
    let root_arg = root.path().to_str().unwrap().to_owned();
    let (_server, addr) = serve_bin(&["--service", "files", "--root", &root_arg]);
    let addr = addr.to_string();
    let data: Vec<u8> = (0..500_000u32).map(|i| (i % 241) as u8).collect();
    let src = work.path().join("upload.bin");
    std::fs::write(&src, &data).unwrap();

    let out = run(&["put", &addr, src.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert!(
        out.stderr.is_empty() || !String::from_utf8_lossy(&out.stderr).contains('\r'),
        "no progress bar when stderr is not a terminal"
    );
    assert_eq!(std::fs::read(root.path().join("upload.bin")).unwrap(), data);

    let dest = work.path().join("download.bin");
    let out = run(&["get", &addr, "upload.bin", "-o", dest.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    assert!(std::fs::read(&dest).unwrap() == data);

    // Several files on one connection, into the current directory.
    let second = work.path().join("second.txt");
    std::fs::write(&second, b"two").unwrap();
    let out = run(&[
        "put",
        &addr,
        src.to_str().unwrap(),
        second.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{out:?}");
    let fetch = TempDir::new("cli-fetch");
    let out = output(
        bin()
            .args(["get", &addr, "upload.bin", "second.txt"])
            .current_dir(fetch.path()),
    );
    assert!(out.status.success(), "{out:?}");
    assert_eq!(fetch.entries(), ["second.txt", "upload.bin"]);
    assert_eq!(
        std::fs::read(fetch.path().join("second.txt")).unwrap(),
        b"two"
    );

    // A remote refusal is exit 1.
    let out = run(&["get", &addr, "../etc/passwd", "-o", dest.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    // A missing local file is a usage error.
    let out = run(&["put", &addr, work.path().join("nope").to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

#[test]
fn listen_backlog_is_set_from_the_flag() {
    let (_server, addr) = serve_bin(&["--backlog", "37"]);
    // For a listening socket, `ss` shows the backlog in the Send-Q column.
    let out = std::process::Command::new("ss")
        .args(["-ltnH", &format!("sport = :{}", addr.port())])
        .output();
    let Ok(out) = out else {
        eprintln!("ss not installed: backlog not checked");
        return;
    };
    let text = String::from_utf8_lossy(&out.stdout);
    let send_q = text.split_whitespace().nth(2);
    assert_eq!(send_q, Some("37"), "ss says: {text}");
}

#[test]
fn bench_verifies_and_reports() {
    let (_server, addr) = serve_bin(&[]);
    let addr = addr.to_string();
    for mode in ["pingpong", "pipelined"] {
        let out = run(&[
            "bench",
            &addr,
            "--mode",
            mode,
            "--duration",
            "0.3",
            "--conns",
            "2",
        ]);
        assert!(out.status.success(), "{out:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        for needle in ["msgs/s", "MiB/s", "p50", "p99", "verified"] {
            assert!(text.contains(needle), "{mode}: {text}");
        }
    }
    let out = run(&[
        "bench",
        &addr,
        "--mode",
        "idle",
        "--conns",
        "5",
        "--duration",
        "0.1",
    ]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("holding 5 idle connections"));
}

#[test]
fn chat_client_sends_lines_and_hears_the_end() {
    let (mut server, addr) = serve_bin(&["--service", "chat"]);
    // The empty line is not sent; "hello" is, and the operator ends the session.
    let out = chat_with_operator(&mut server.0, &addr.to_string(), b"\nhello\n", "hello");
    assert!(out.status.success(), "{out:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("empty input is not sent"), "{text}");
    assert!(text.contains("ended the session"), "{text}");
}

#[test]
fn ctrl_c_stops_the_server_with_status_0() {
    let (mut server, addr) = serve_bin(&[]);
    let mut c = connect(addr);
    assert_echo(&mut c, b"before");
    drop(c);
    let pid = server.0.id().to_string();
    assert!(
        std::process::Command::new("kill")
            .args(["-INT", &pid])
            .status()
            .unwrap()
            .success()
    );
    let status = server.0.wait().unwrap();
    assert_eq!(status.code(), Some(0));
}

#[test]
fn exec_commands_do_not_see_the_server_token() {
    let mut child = bin()
        .args(["serve", "--bind", "127.0.0.1:0", "--service", "exec"])
        .env("SOCKFRAME_TOKEN", "hidden-tok")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut err = child.stderr.take().unwrap();
    let _guard = ChildGuard(child);
    let mut line = Vec::new();
    let mut byte = [0u8; 1];
    while err.read(&mut byte).unwrap() == 1 && byte[0] != b'\n' {
        line.push(byte[0]);
    }
    let addr = String::from_utf8(line)
        .unwrap()
        .rsplit(' ')
        .next()
        .unwrap()
        .to_owned();
    let out = output(
        bin()
            .args(["exec", &addr, "--", "env"])
            .env("SOCKFRAME_TOKEN", "hidden-tok"),
    );
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("hidden-tok"));
}

#[test]
fn send_to_a_silent_server_gives_up_with_exit_3() {
    // Accepts (the kernel does, from the backlog) and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let out = run(&["send", &addr, "anyone?", "--timeout", "0.3"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no reply"),
        "{out:?}"
    );
}
