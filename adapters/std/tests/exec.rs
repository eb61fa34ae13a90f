//! The exec service: token and shell refusals, limits, and large output arriving whole.

mod common;

use common::*;
use sockframe::Header;
use sockframe_std::services::ExecConfig;
use sockframe_std::{ClientError, Server, ServerConfig, Service, kinds};
use std::io::{self, Write};
use std::time::Duration;

fn exec_server(cfg: ExecConfig) -> sockframe_std::ServerHandle {
    start(loopback(), Service::Exec(cfg))
}

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

/// Runs a command, collecting its output.
fn run(
    addr: std::net::SocketAddr,
    words: &[&str],
    shell: bool,
    token: Option<&str>,
) -> (Result<i32, ClientError>, Vec<u8>, Vec<u8>) {
    let mut c = connect(addr);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let r = c
        .exec(&argv(words), shell, token, &mut out, &mut err)
        .map(|o| o.status());
    (r, out, err)
}

fn remote_code(r: Result<i32, ClientError>) -> String {
    match r {
        Err(ClientError::Remote { code, .. }) => code,
        other => panic!("expected a remote error, got {other:?}"),
    }
}

#[test]
fn command_output_and_status_come_back() {
    let server = exec_server(ExecConfig::default());
    let (status, out, err) = run(
        server.local_addr(),
        &["sh", "-c", "echo out; echo err >&2; exit 7"],
        false,
        None,
    );
    assert_eq!(status.unwrap(), 7);
    assert_eq!(out, b"out\n");
    assert_eq!(err, b"err\n");
}

#[test]
fn arguments_are_not_interpreted_by_a_shell() {
    let server = exec_server(ExecConfig::default());
    let (status, out, _) = run(
        server.local_addr(),
        &["echo", "$HOME; rm -rf x"],
        false,
        None,
    );
    assert_eq!(status.unwrap(), 0);
    assert_eq!(out, b"$HOME; rm -rf x\n");
}

#[test]
fn shell_requests_are_refused_unless_allowed() {
    let server = exec_server(ExecConfig::default());
    let (status, _, _) = run(server.local_addr(), &["echo", "hi"], true, None);
    assert_eq!(remote_code(status), "shell-disabled");

    let allowing = exec_server(ExecConfig {
        allow_shell: true,
        ..ExecConfig::default()
    });
    let (status, out, _) = run(
        allowing.local_addr(),
        &["echo", "a", "|", "tr", "a", "b"],
        true,
        None,
    );
    assert_eq!(status.unwrap(), 0);
    assert_eq!(out, b"b\n");
}

#[test]
fn token_is_required_when_set() {
    let server = exec_server(ExecConfig {
        token: Some("s3cret".into()),
        ..ExecConfig::default()
    });
    let addr = server.local_addr();
    assert_eq!(
        remote_code(run(addr, &["true"], false, None).0),
        "unauthorized"
    );
    assert_eq!(
        remote_code(run(addr, &["true"], false, Some("wrong")).0),
        "unauthorized"
    );
    assert_eq!(
        remote_code(run(addr, &["true"], false, Some("s3cre")).0),
        "unauthorized"
    );
    assert_eq!(run(addr, &["true"], false, Some("s3cret")).0.unwrap(), 0);
}

#[test]
fn non_loopback_bind_without_token_refuses_to_start() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    // Refused before any socket is bound: no traffic leaves loopback.
    let cfg = ServerConfig {
        bind: "0.0.0.0:0".parse().unwrap(),
        ..ServerConfig::default()
    };
    let err = rt
        .block_on(Server::bind(cfg, Service::Exec(ExecConfig::default())))
        .unwrap_err();
    assert_eq!(err.kind(), io::ErrorKind::PermissionDenied);
    assert!(err.to_string().contains("token"), "{err}");
}

#[test]
fn time_limit_kills_the_command() {
    let server = exec_server(ExecConfig {
        time_limit: Duration::from_millis(300),
        ..ExecConfig::default()
    });
    let (status, _, _) = run(server.local_addr(), &["sleep", "30"], false, None);
    assert_eq!(remote_code(status), "timeout");
}

#[test]
fn output_cap_kills_the_command() {
    let server = exec_server(ExecConfig {
        output_limit: 10_000,
        ..ExecConfig::default()
    });
    let (status, out, _) = run(
        server.local_addr(),
        &["head", "-c", "10000000", "/dev/zero"],
        false,
        None,
    );
    assert_eq!(remote_code(status), "output-limit");
    assert!(out.len() <= 10_000);
}

#[test]
fn unknown_program_is_reported() {
    let server = exec_server(ExecConfig::default());
    let (status, _, _) = run(server.local_addr(), &["/nonexistent/program"], false, None);
    assert_eq!(remote_code(status), "spawn-failed");
}

#[test]
fn connection_serves_several_commands_and_pings() {
    let server = exec_server(ExecConfig::default());
    let mut c = connect(server.local_addr());
    for i in 0..3 {
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let o = c
            .exec(
                &argv(&["echo", &i.to_string()]),
                false,
                None,
                &mut out,
                &mut err,
            )
            .unwrap();
        assert_eq!(o.status(), 0);
        assert_eq!(out, format!("{i}\n").as_bytes());
        c.ping().unwrap();
    }
    // A kind the service does not handle is refused without closing.
    let reply = c.request_with(&Header::new(kinds::PUT, 0, 0), b"x");
    assert!(matches!(reply, Err(ClientError::Remote { ref code, .. }) if code == "unsupported"));
    c.ping().unwrap();
}

/// Checks streamed output against `seq 1 N` without holding it in memory.
struct SeqChecker {
    next: u64,
    line: Vec<u8>,
    bytes: u64,
}

impl Write for SeqChecker {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        for &b in buf {
            if b == b'\n' {
                let expected = self.next.to_string();
                assert_eq!(
                    self.line,
                    expected.as_bytes(),
                    "line {} out of order",
                    self.next
                );
                self.next += 1;
                self.line.clear();
            } else {
                self.line.push(b);
            }
        }
        self.bytes += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn hundred_mib_of_output_arrives_complete_and_in_order() {
    let server = exec_server(ExecConfig::default());
    let mut c = connect(server.local_addr());
    // `seq 1 13000000` prints 102,888,897 bytes (over 100 MiB).
    let mut out = SeqChecker {
        next: 1,
        line: Vec::new(),
        bytes: 0,
    };
    let mut err = Vec::new();
    let o = c
        .exec(
            &argv(&["seq", "1", "13000000"]),
            false,
            None,
            &mut out,
            &mut err,
        )
        .unwrap();
    assert_eq!(o.status(), 0);
    assert!(out.line.is_empty());
    assert_eq!(out.next, 13_000_001);
    assert!(out.bytes > 100 << 20, "{} bytes", out.bytes);
}

#[test]
fn a_client_that_leaves_stops_its_command() {
    let dir = TempDir::new("exec-gone");
    let pid_file = dir.path().join("pid");
    let server = exec_server(ExecConfig {
        allow_shell: true,
        ..ExecConfig::default()
    });
    let mut c = connect(server.local_addr());
    // A silent command that would run for 30 s; it tells us its pid first.
    let line = format!(
        "echo $$ > {}.tmp; mv {0}.tmp {0}; exec sleep 30",
        pid_file.display()
    );
    let header = sockframe::Header::new(kinds::EXEC, 1, 0).with_meta(&[("shell", "1")]);
    c.send(&header, line.as_bytes()).unwrap();
    eventually("command started", || pid_file.exists());
    let pid = std::fs::read_to_string(&pid_file).unwrap();
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", pid.trim()));
    assert!(proc_dir.exists());
    drop(c);
    // Killed and reaped well before its 30 s are up.
    eventually("command killed after its client left", || {
        !proc_dir.exists()
    });
}
