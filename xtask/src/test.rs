//! `cargo xtask test`: every check CI makes, in order, stopping at the first failure.

use crate::setup;
use crate::util::{cargo, root, sh};
use std::process::Command;
use std::time::Instant;

pub fn run_steps(fuzz_seconds: u32) -> Result<Vec<(String, f64)>, String> {
    let mut timings = Vec::new();
    let mut step = |name: &str, f: &mut dyn FnMut() -> Result<(), String>| -> Result<(), String> {
        eprintln!("\n== {name}");
        let t = Instant::now();
        f().map_err(|e| format!("{name}: {e}"))?;
        timings.push((name.to_string(), t.elapsed().as_secs_f64()));
        Ok(())
    };
    step("install what is missing", &mut setup::run_all)?;
    step("format", &mut || {
        sh(cargo().args(["fmt", "--all", "--check"]))
    })?;
    step("clippy (host workspace)", &mut || {
        sh(cargo().args([
            "clippy",
            "--workspace",
            "--all-targets",
            "--",
            "-D",
            "warnings",
        ]))
    })?;
    step(
        "docs (every crate's page its own, no warnings)",
        &mut || {
            sh(cargo()
                .args(["doc", "--workspace", "--no-deps"])
                .env("RUSTDOCFLAGS", "-D warnings"))
        },
    )?;
    step(
        "core builds for thumbv7m-none-eabi with no allocator",
        &mut || {
            for args in [
                &["-p", "sockframe", "--no-default-features"][..],
                &["-p", "sockframe", "--features", "defmt"],
                &["-p", "sockframe-smoltcp"],
            ] {
                sh(cargo()
                    .arg("build")
                    .args(args)
                    .args(["--target", "thumbv7m-none-eabi"]))?;
            }
            Ok(())
        },
    )?;
    let firmware = root().join("qemu");
    step("firmware: clippy and release build", &mut || {
        // The default build, and the size comparison's variants (framed TCP echo alone,
        // terse error messages; `cargo xtask size`).
        for features in ["", "plain-uart,terse"] {
            sh(Command::new("cargo")
                .current_dir(&firmware)
                .env_remove("CARGO_TARGET_DIR")
                .args([
                    "clippy",
                    "--release",
                    "--features",
                    features,
                    "--",
                    "-D",
                    "warnings",
                ]))?;
        }
        sockframe_tests::board::build_firmware(&[]).map(drop)
    })?;
    step(
        "tests (workspace, including desktop <-> board in QEMU)",
        &mut || sh(cargo().args(["test", "--workspace"])),
    )?;
    step(
        "core tests with the `small` feature (the firmware's build), and with `terse` too",
        &mut || {
            sh(cargo().args(["test", "-p", "sockframe", "--features", "small"]))?;
            sh(cargo().args(["test", "-p", "sockframe", "--features", "small,terse"]))
        },
    )?;
    step(
        "python package: ruff, mypy, pytest (live: desktop server, board, Rust client)",
        &mut crate::python::checks,
    )?;
    step("fuzz (short run of every target)", &mut || {
        if !setup::have_nightly() {
            eprintln!("no nightly toolchain here: fuzzing skipped (cargo-fuzz needs nightly)");
            return Ok(());
        }
        setup::cargo_fuzz()?;
        sh(Command::new("bash")
            .current_dir(root())
            .args(["fuzz/run-short.sh", &fuzz_seconds.to_string()]))
    })?;
    Ok(timings)
}

/// Runs every step and prints how long each took.
pub fn run(fuzz_seconds: u32) -> Result<(), String> {
    let timings = run_steps(fuzz_seconds)?;
    eprintln!("\n== all checks passed");
    for (name, secs) in timings {
        eprintln!("{secs:8.1} s  {name}");
    }
    Ok(())
}
