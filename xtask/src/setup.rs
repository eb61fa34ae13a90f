//! Installs what is missing, or says exactly how.

use crate::util::{have, is_root, sh};
use std::process::Command;

const TARGET: &str = "thumbv7m-none-eabi";

/// Everything the tests and the demo need.
pub fn run_all() -> Result<(), String> {
    target()?;
    apt(&[
        ("qemu-system-arm", "qemu-system-arm"),
        ("arm-none-eabi-size", "binutils-arm-none-eabi"),
        // The Wireshark dissector's test captures on loopback and dissects with tshark.
        ("tshark", "tshark"),
    ])
}

/// `cargo xtask setup`: also the fuzzing tools and the Python package's checkers.
pub fn run() -> Result<(), String> {
    run_all()?;
    python()?;
    cargo_fuzz()
}

/// The firmware's target.
pub fn target() -> Result<(), String> {
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map_err(|e| format!("rustup not found ({e}): install the {TARGET} target by hand"))?;
    if String::from_utf8_lossy(&installed.stdout)
        .lines()
        .any(|l| l.trim() == TARGET)
    {
        return Ok(());
    }
    sh(Command::new("rustup").args(["target", "add", TARGET]))
}

/// Debian packages, each given as (program it provides, package).
pub fn apt(wanted: &[(&str, &str)]) -> Result<(), String> {
    let missing: Vec<&str> = wanted
        .iter()
        .filter(|(prog, _)| !have(prog))
        .map(|(_, pkg)| *pkg)
        .collect();
    apt_install(&missing)
}

/// Installs Debian packages with apt-get (when root; otherwise says how).
pub fn apt_install(missing: &[&str]) -> Result<(), String> {
    if missing.is_empty() {
        return Ok(());
    }
    if !is_root() || !have("apt-get") {
        return Err(format!(
            "missing {}: run `sudo apt-get update && sudo apt-get install -y {}`",
            missing.join(", "),
            missing.join(" ")
        ));
    }
    sh(Command::new("apt-get").args(["update", "-qq"]))?;
    sh(Command::new("apt-get")
        .args(["install", "-y", "-qq", "--no-install-recommends"])
        .args(missing)
        .env("DEBIAN_FRONTEND", "noninteractive"))
}

/// Whether the nightly toolchain (needed by cargo-fuzz) is there.
pub fn have_nightly() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .output()
        .is_ok_and(|o| o.status.success())
}

/// cargo-fuzz, built from crates.io if missing.
pub fn cargo_fuzz() -> Result<(), String> {
    let present = Command::new("cargo")
        .args(["fuzz", "--version"])
        .output()
        .is_ok_and(|o| o.status.success());
    if present {
        return Ok(());
    }
    sh(Command::new("cargo").args(["install", "cargo-fuzz", "--locked"]))
}

/// The Python package's checkers in a virtual environment under `target/`: its `[test]`
/// extra (pytest, hypothesis, ruff, mypy) from PyPI, and the package itself installed the
/// way `pip install ./adapters/python` installs it, afresh each time. Returns the
/// environment's `python`.
pub fn python() -> Result<std::path::PathBuf, String> {
    let root = crate::util::root();
    let venv = root.join("target/python-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let has_venv = Command::new("python3")
            .args(["-m", "venv", "--help"])
            .output()
            .is_ok_and(|o| o.status.success());
        if !has_venv {
            // Debian splits venv (and the pip it bootstraps) out of python3.
            apt_install(&["python3", "python3-venv"])?;
        }
        sh(Command::new("python3").args(["-m", "venv"]).arg(&venv))?;
    }
    let package = root.join("adapters/python");
    let pip = |args: &[&str]| {
        sh(Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .args(args))
    };
    pip(&[&format!("{}[test]", package.display())])?;
    pip(&[
        "--force-reinstall",
        "--no-deps",
        &package.display().to_string(),
    ])?;
    Ok(python)
}
