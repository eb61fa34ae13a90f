//! `sockframe send`.

use super::Failure;
use clap::Args;
use sockframe_std::ClientError;
use std::io::{IsTerminal, Read, Write};

/// Arguments of `sockframe send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Server address, host:port.
    addr: String,
    /// The message; `-` reads it from stdin (all of it, as one message).
    message: String,
    /// Give up (exit 3) if no reply arrives within this many seconds (0: wait forever).
    #[arg(long, value_name = "SECS", default_value_t = 30.0)]
    timeout: f64,
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
    if a.timeout > 0.0 && a.timeout.is_finite() {
        let _ = client
            .stream()
            .set_read_timeout(Some(std::time::Duration::from_secs_f64(a.timeout)));
    }
    let reply = client.request(&payload).map_err(|e| match e {
        ClientError::Io(io)
            if matches!(
                io.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Failure::connect(format!("no reply from {} within {} s", a.addr, a.timeout))
        }
        other => other.into(),
    })?;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(&reply.payload);
    if out.is_terminal() && !reply.payload.ends_with(b"\n") {
        let _ = out.write_all(b"\n");
    }
    let _ = out.flush();
    Ok(0)
}
