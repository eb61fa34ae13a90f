//! `cargo xtask size`: the firmware's footprint.

use crate::{footprint, setup};
use sockframe_tests::board::{Board, build_firmware};
use sockframe_tests::client::EchoClient;
use std::process::Command;
use std::time::Duration;

/// Flash = text + data, static RAM = data + bss, from `arm-none-eabi-size`.
pub fn sections(elf: &std::path::Path) -> Result<(u64, u64), String> {
    let out = Command::new("arm-none-eabi-size")
        .arg(elf)
        .output()
        .map_err(|e| format!("arm-none-eabi-size: {e} (cargo xtask setup installs it)"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<u64> = text
        .lines()
        .nth(1)
        .ok_or("arm-none-eabi-size printed nothing")?
        .split_whitespace()
        .take(3)
        .map(|n| {
            n.parse()
                .map_err(|_| format!("unexpected size output: {text}"))
        })
        .collect::<Result<_, _>>()?;
    Ok((nums[0] + nums[1], nums[1] + nums[2]))
}

/// The firmwares compared: the default build (framed echo on TCP and the framed link on
/// UART0), the same with the core's terse error messages, the framed TCP echo alone (the
/// plain byte echo on UART0, as in the baseline: what TCP framing costs by itself, the
/// comparison issue 12 was filed against), that with terse messages, and the baseline.
const VARIANTS: [(&str, &[&str]); 5] = [
    ("framed echo", &[]),
    ("framed echo, terse", &["terse"]),
    ("framed TCP only", &["plain-uart"]),
    ("framed TCP only, terse", &["plain-uart", "terse"]),
    ("plain echo (baseline)", &["plain-echo"]),
];

pub fn run() -> Result<(), String> {
    setup::run_all()?;
    let mut built = Vec::new();
    for (name, features) in VARIANTS {
        let elf = build_firmware(features)?;
        let (flash, ram) = sections(&elf)?;
        // Each variant is booted and echoes up to 1 MiB: the figures are of firmwares that work.
        let stack = peak_stack(&elf)?;
        println!(
            "{name:<23} flash {flash:>6} B ({:.1} KiB)  static RAM {ram:>6} B ({:.1} KiB)  peak stack {stack}",
            flash as f64 / 1024.0,
            ram as f64 / 1024.0
        );
        built.push((name, elf, flash));
    }
    let (_, plain, plain_flash) = built.last().ok_or("no baseline")?;
    println!();
    for (name, _, flash) in &built[..built.len() - 1] {
        let share = *flash as i64 - *plain_flash as i64;
        println!(
            "{name:<23} - plain echo = {share:>6} B ({:.1} KiB) of flash for the framing",
            share as f64 / 1024.0
        );
    }
    println!();
    footprint::print_parts(&built[0].1, plain)
}

/// Boots the board, puts it through its paces, and reads the stack peak it reports.
fn peak_stack(elf: &std::path::Path) -> Result<String, String> {
    let board = Board::boot(elf)?;
    let mut c = EchoClient::connect(board.addr(), Duration::from_secs(30))?;
    for (i, len) in [1usize, 64, 1024, 65_536, 1 << 20].into_iter().enumerate() {
        c.echo(i as u32, &vec![0xA5; len])?;
    }
    // The firmware prints its stats line at most once a second.
    std::thread::sleep(Duration::from_millis(1500));
    Ok(stack_peak(&board.log()).unwrap_or_else(|| "not reported".into()))
}

/// The last stack peak the firmware printed ("stack peak N of M B, ..."): "N of M B".
pub fn stack_peak(log: &str) -> Option<String> {
    log.lines()
        .rev()
        .find_map(|l| l.split("stack peak ").nth(1))
        .map(|s| s.split(',').next().unwrap_or(s).to_string())
}
