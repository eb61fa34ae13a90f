//! `sockframe send`.

use super::Failure;
use clap::Args;
use std::io::{IsTerminal, Read, Write};

/// Arguments of `sockframe send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Server address, host:port.
    addr: String,
    /// The message; `-` reads it from stdin (all of it, as one message).
    message: String,
}

/// Sends one `DATA` frame and prints the reply's payload.
pub fn run(a: SendArgs) -> Result<i32, Failure> {
    let payload = if a.message == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        buf
    } else {
        a.message.into_bytes()
    };
    let mut client = super::connect(&a.addr)?;
    let reply = client.request(&payload)?;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&reply.payload);
    if out.is_terminal() && !reply.payload.ends_with(b"\n") {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
    Ok(0)
}
