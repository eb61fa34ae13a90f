//! See `sockframe_examples::sticky_packets` (examples/src/sticky_packets.rs) for the lesson.
//!
//! Run from the workspace root: `cargo run --example 04_sticky_packets`

use sockframe_examples::common::show;
use sockframe_examples::{Log, sticky_packets};

fn main() -> sockframe_examples::Result<()> {
    let outcome = sticky_packets::run(&Log::printing())?;
    let raw: Vec<String> = outcome.raw_reads.iter().map(|r| show(r)).collect();
    println!(
        "\nraw TCP:   {} sends -> {} read(s): {}",
        sticky_packets::MESSAGES.len(),
        raw.len(),
        raw.join(", ")
    );
    println!(
        "sockframe: {} sends -> {} read(s) -> {} frames: {:?}",
        sticky_packets::MESSAGES.len(),
        outcome.framed_reads,
        outcome.frames.len(),
        outcome.frames
    );
    Ok(())
}
