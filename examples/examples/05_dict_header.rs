//! See `sockframe_examples::dict_header` (examples/src/dict_header.rs) for the lesson.
//!
//! Run from the workspace root: `cargo run --example 05_dict_header`

use sockframe_examples::{Log, dict_header};

fn main() -> sockframe_examples::Result<()> {
    let outcome = dict_header::run(&Log::printing())?;
    let sent = dict_header::file();
    println!(
        "\nthe server got {:?}: {} bytes (announced {}) in {} chunks through a {}-byte buffer, \
         CRC {:08x?}, meta {:?}; identical to what was sent: {}",
        outcome.name,
        outcome.received.len(),
        outcome.len,
        outcome.chunks,
        dict_header::SERVER_BUFFER,
        outcome.crc,
        outcome.meta,
        outcome.received == sent
    );
    println!("the client heard back: {:?}", outcome.reply_meta);
    Ok(())
}
