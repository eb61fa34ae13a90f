//! See `sockframe_examples::multiplexed` (examples/src/multiplexed.rs).
//!
//! Run from the workspace root: `cargo run --example async_multiplexed`

use sockframe_examples::{Log, multiplexed};

fn main() -> sockframe_examples::Result<()> {
    let outcome = multiplexed::run(&Log::printing())?;
    println!(
        "\n{} requests over one connection: {} replies matched, {} in flight at once, {:.2?} in all",
        multiplexed::REQUESTS,
        outcome.matched,
        outcome.peak_in_flight,
        outcome.elapsed
    );
    Ok(())
}
