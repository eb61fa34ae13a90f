//! See `sockframe_examples::kv` (the service and its client, examples/src/kv.rs) and
//! `sockframe_examples::kv_session` (this session, examples/src/kv_session.rs).
//!
//! Run from the workspace root: `cargo run --example kv_store`

use sockframe_examples::{Log, kv_session};

fn main() -> sockframe_examples::Result<()> {
    let outcome = kv_session::run(&Log::printing())?;
    println!(
        "\n{} steps; {} keys in the store at the end",
        outcome.steps.len(),
        outcome.keys_at_end
    );
    Ok(())
}
