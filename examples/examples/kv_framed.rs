//! See `sockframe_examples::kv_framed` (examples/src/kv_framed.rs): the key/value store
//! reached with tokio-util's `Framed<TcpStream, FrameCodec>`.
//!
//! Run from the workspace root: `cargo run --example kv_framed`

use sockframe_examples::{Log, kv_framed};

fn main() -> sockframe_examples::Result<()> {
    let exchanges = kv_framed::run(&Log::printing())?;
    println!(
        "\n{} exchanges through Framed<TcpStream, FrameCodec>",
        exchanges.len()
    );
    Ok(())
}
