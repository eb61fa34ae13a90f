//! `cargo xtask python`: the Python package's checks (ruff, mypy, pytest), its live interop
//! tests included: a Python client against the desktop server (`sockframe serve`, built by
//! cargo) and the board in QEMU, and the Rust client (`sockframe send`) against the Python
//! server. The peers run on free 127.0.0.1 ports, passed to pytest in environment variables.

use crate::setup;
use crate::util::{root, sh};
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
    // Both are stopped when dropped, when this function returns, also on failure.
    let desktop = Desktop::start(&["--service", "echo"])?;
    let board = Board::boot(&default_firmware()?)?;
    sh(tool(&["pytest", "-q", "-p", "no:cacheprovider"])
        .env("SOCKFRAME_DESKTOP_ADDR", desktop.addr().to_string())
        .env("SOCKFRAME_BOARD_ADDR", board.addr().to_string())
        .env("SOCKFRAME_BIN", build_server()?)
        .env("SOCKFRAME_REQUIRE_LIVE", "1"))
}
