//! Running commands and finding things.

use std::path::PathBuf;
use std::process::Command;

/// The workspace root.
pub fn root() -> PathBuf {
    sockframe_tests::board::workspace_root()
}

/// The cargo that runs us.
pub fn cargo() -> Command {
    let mut c = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    c.current_dir(root());
    c
}

/// Builds the `sockframe` command and the given `sockframe-std` examples (the benchmarks'
/// servers and load generators) in release mode; finds each by name.
pub fn build_sockframe_with(
    examples: &[&str],
) -> Result<impl Fn(&str) -> Result<PathBuf, String> + use<>, String> {
    let mut args = vec![
        "-p",
        "sockframe-cli",
        "--bin",
        "sockframe",
        "-p",
        "sockframe-std",
    ];
    for e in examples {
        args.extend(["--example", e]);
    }
    build_release(&args)
}

/// `cargo build --release ARGS`, echoed first; returns a lookup from an executable's file
/// name to its path, as cargo's JSON messages report them ("executable":"/path").
pub fn build_release(
    args: &[&str],
) -> Result<impl Fn(&str) -> Result<PathBuf, String> + use<>, String> {
    eprintln!("$ cargo build --release {}", args.join(" "));
    let out = cargo()
        .args(["build", "--release"])
        .args(args)
        .arg("--message-format=json-render-diagnostics")
        .stderr(std::process::Stdio::inherit())
        .output()
        .map_err(|e| format!("cannot run cargo: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo build failed ({})", out.status));
    }
    let key = "\"executable\":\"";
    let exes: Vec<PathBuf> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| {
            let at = l.find(key)? + key.len();
            Some(PathBuf::from(&l[at..at + l[at..].find('"')?]))
        })
        .collect();
    Ok(move |name: &str| {
        exes.iter()
            .find(|p| p.file_name().is_some_and(|f| f == name))
            .cloned()
            .ok_or_else(|| format!("cargo did not report the `{name}` executable"))
    })
}

/// Reads a server's stderr on a thread of its own: returns the address from its
/// "listening on ADDR" line (waiting up to 10 s), and keeps draining the pipe (a full pipe
/// would block the server), handing every line to `each_line`.
pub fn listening_addr(
    stderr: Option<std::process::ChildStderr>,
    mut each_line: impl FnMut(String) + Send + 'static,
) -> Option<String> {
    use std::io::BufRead;
    let stderr = stderr?;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if let Some(at) = line.find("listening on ") {
                let _ = tx.send(line[at + "listening on ".len()..].trim().to_string());
            }
            each_line(line);
        }
    });
    rx.recv_timeout(std::time::Duration::from_secs(10)).ok()
}

/// Runs `cmd`, echoing it first; an error names the command and its status.
pub fn sh(cmd: &mut Command) -> Result<(), String> {
    eprintln!("$ {}", show(cmd));
    let status = cmd
        .status()
        .map_err(|e| format!("cannot run `{}`: {e}", show(cmd)))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{}` failed ({status})", show(cmd)))
    }
}

/// Whether a program is on the PATH.
pub fn have(program: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {program} >/dev/null 2>&1")])
        .status()
        .is_ok_and(|s| s.success())
}

/// Whether we are root (apt-get works without sudo).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

fn show(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for a in cmd.get_args() {
        s.push(' ');
        s.push_str(&a.to_string_lossy());
    }
    s
}
