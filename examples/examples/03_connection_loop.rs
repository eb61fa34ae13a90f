//! See `sockframe_examples::connection_loop` (examples/src/connection_loop.rs) for the lesson.
//!
//! Run from the workspace root: `cargo run --example 03_connection_loop`

use sockframe_examples::{Log, connection_loop};

fn main() -> sockframe_examples::Result<()> {
    let outcome = connection_loop::run(&Log::printing())?;
    println!(
        "\nthe server served {} connections:",
        outcome.sessions.len()
    );
    for (n, s) in (1..).zip(&outcome.sessions) {
        println!(
            "  {n}. {:<5} {} frame(s), {:?}",
            s.name.as_deref().unwrap_or("-"),
            s.frames,
            s.ended
        );
    }
    println!("the last client got: {:?}", outcome.last_client_got);
    Ok(())
}
