//! `cargo xtask python`: the Python package's checks (ruff, mypy, pytest), its live interop
//! tests included: a Python client against the desktop server (`sockframe serve`, built by
//! cargo) and the board in QEMU, and the Rust client (`sockframe send`) against the Python
//! server; and the Python decoder against the core's on the same random streams. The peers run
//! on free 127.0.0.1 ports, passed to pytest in environment variables.

use crate::setup;
use crate::util::{cargo, root, sh};
use sockframe_tests::board::{Board, default_firmware};
use sockframe_tests::desktop::{Desktop, build_server};
use std::process::Command;

/// `cargo xtask python`: installs what is missing, then [`checks`].
pub fn run() -> Result<(), String> {
    setup::run_all()?;
    checks()
}

/// Lint, type check and test the package, with the live peers up.
pub fn checks() -> Result<(), String> {
    let python = setup::python()?;
    let package = root().join("adapters/python");
    let tool = |args: &[&str]| {
        let mut cmd = Command::new(&python);
        cmd.current_dir(&package).arg("-m").args(args);
        cmd
    };
    sh(&mut tool(&["ruff", "check", "."]))?;
    sh(&mut tool(&["ruff", "format", "--check", "."]))?;
    sh(&mut tool(&["mypy"]))?;
    let decode_events = build_decode_events()?;
    // Both are stopped when dropped, when this function returns, also on failure.
    let desktop = Desktop::start(&["--service", "echo"])?;
    let board = Board::boot(&default_firmware()?)?;
    sh(tool(&["pytest", "-q", "-p", "no:cacheprovider"])
        .env("SOCKFRAME_DESKTOP_ADDR", desktop.addr().to_string())
        .env("SOCKFRAME_BOARD_ADDR", board.addr().to_string())
        .env("SOCKFRAME_BIN", build_server()?)
        .env("SOCKFRAME_DECODE_BIN", decode_events)
        .env("SOCKFRAME_REQUIRE_LIVE", "1"))
}

/// The core's decoder as a filter (tests/src/bin/decode_events.rs), for the differential
/// test of the Python decoder.
fn build_decode_events() -> Result<std::path::PathBuf, String> {
    sh(cargo().args([
        "build",
        "--quiet",
        "-p",
        "sockframe-tests",
        "--bin",
        "decode_events",
    ]))?;
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root().join("target"));
    Ok(target.join("debug/decode_events"))
}
