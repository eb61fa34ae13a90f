//! See `sockframe_examples::one_message` (examples/src/one_message.rs) for the lesson.
//!
//! Run from the workspace root: `cargo run --example 01_one_message`

use sockframe_examples::{Log, one_message};

fn main() -> sockframe_examples::Result<()> {
    let outcome = one_message::run(&Log::printing())?;
    println!("{outcome:#?}");
    Ok(())
}
