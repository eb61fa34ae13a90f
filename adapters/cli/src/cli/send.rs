//! `sockframe send`.

use super::Failure;
use clap::Args;
use sockframe::Header;
use sockframe_std::ClientError;
use std::io::{IsTerminal, Read, Write};

/// Arguments of `sockframe send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// Server address, host:port, or a serial link serial:PATH[,BAUD] (baud default 115200).
    addr: String,
    #[command(flatten)]
    tls: super::tls::ClientTlsArgs,
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
    let mut client = super::tls::connect(&a.addr, &a.tls)?;
    if a.timeout > 0.0 && a.timeout.is_finite() {
        let _ = client
            .stream()
            .set_read_timeout(Some(std::time::Duration::from_secs_f64(a.timeout)));
    }
    let stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    // The reply goes out as it arrives: a reply of any size in constant memory.
    let mut out = LastByte {
        inner: stdout.lock(),
        last: None,
    };
    client
        .request_into(&Header::data(0, &payload), &payload, &mut out)
        .map_err(|e| match e {
            ClientError::Io(io)
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                Failure::connect(format!(
                    "no reply from {} within {} s: waited for the answer to a {}-byte DATA frame \
                     (is it a sockframe server? --timeout waits longer)",
                    a.addr,
                    a.timeout,
                    payload.len()
                ))
            }
            other => other.into(),
        })?;
    // On a terminal the prompt must not end up glued to the reply.
    if terminal && out.last.is_some_and(|b| b != b'\n') {
        let _ = out.inner.write_all(b"\n");
    }
    let _ = out.inner.flush();
    Ok(0)
}

/// A writer that remembers the last byte written through it.
struct LastByte<W> {
    inner: W,
    last: Option<u8>,
}

impl<W: Write> Write for LastByte<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        if n > 0 {
            self.last = Some(buf[n - 1]);
        }
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
