//! `sockframe chat`.

use super::Failure;
use clap::Args;
use sockframe::{Header, Kind};
use sockframe_std::kinds;
use std::io::{BufRead, Write};

/// Arguments of `sockframe chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Server address, host:port.
    addr: String,
}

/// Sends each line typed and prints the server's reply, until the server ends the session
/// or stdin ends. Empty lines are not sent.
pub fn run(a: ChatArgs) -> Result<i32, Failure> {
    let mut client = super::connect(&a.addr)?;
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        print!("> ");
        let _ = std::io::stdout().flush();
        let Some(line) = lines.next() else {
            println!();
            return Ok(0);
        };
        let line = line.map_err(|e| Failure::usage(format!("cannot read stdin: {e}")))?;
        if line.is_empty() {
            println!("(empty input is not sent)");
            continue;
        }
        let id = client.next_id();
        client.send(&Header::data(id, line.as_bytes()), line.as_bytes())?;
        let reply = client.expect_frame()?;
        match reply.kind {
            Kind::DATA => println!("server: {}", reply.text()),
            kinds::CHAT_END => {
                println!("the server ended the session");
                return Ok(0);
            }
            other => {
                return Err(Failure::remote(format!(
                    "unexpected frame kind {}",
                    other.0
                )));
            }
        }
    }
}
