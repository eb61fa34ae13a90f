//! See `sockframe_examples::communication_loop` (examples/src/communication_loop.rs) for the lesson.
//!
//! Run from the workspace root: `cargo run --example 02_communication_loop`

use sockframe_examples::{Log, communication_loop};

fn main() -> sockframe_examples::Result<()> {
    let outcome = communication_loop::run(&Log::printing())?;
    println!("{outcome:#?}");
    Ok(())
}
