//! `sockframe chat`.

use super::Failure;
use clap::Args;
use sockframe::{Header, Kind};
use sockframe_std::kinds;
use std::io::{BufRead, Write};

/// Arguments of `sockframe chat`.
#[derive(Debug, Args)]
pub struct ChatArgs {
    /// Server address, host:port, or a serial link serial:PATH[,BAUD] (baud default 115200).
    addr: String,
    /// Say so on stderr if the server has not answered a first PING within this many
    /// seconds (it may not be a sockframe server, or a chat server busy with another
    /// client); the wait goes on.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    timeout: f64,
    #[command(flatten)]
    tls: super::tls::ClientTlsArgs,
}

/// Sends each line typed and prints the server's reply, until the server ends the session
/// or stdin ends. Empty lines are not sent.
pub fn run(a: ChatArgs) -> Result<i32, Failure> {
    let mut client = super::tls::connect(&a.addr, &a.tls)?;
    greet(&mut client, &a)?;
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

/// A first PING, so that a peer that is not a sockframe server (and stays silent) is told
/// apart from a chat server taking its time: the user hears what is awaited.
fn greet(client: &mut sockframe_std::Client, a: &ChatArgs) -> Result<(), Failure> {
    let patience = (a.timeout > 0.0 && a.timeout.is_finite())
        .then(|| std::time::Duration::from_secs_f64(a.timeout));
    let _ = client.stream().set_read_timeout(patience);
    let id = client.next_id();
    client.send(&Header::new(Kind::PING, id, 0), &[])?;
    let pong = loop {
        match client.recv_frame() {
            Err(sockframe_std::ClientError::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                eprintln!(
                    "sockframe: no PONG from {} after {} s, still waiting: is it a sockframe \
                     chat server? (one serves one client at a time; another session may be on)",
                    a.addr, a.timeout
                );
                let _ = client.stream().set_read_timeout(None);
            }
            other => break other?,
        }
    };
    let _ = client.stream().set_read_timeout(None);
    match pong {
        Some(f) if f.kind == Kind::PONG && f.id == id => Ok(()),
        Some(f) if f.kind == Kind::ERROR => {
            Err(sockframe_std::ClientError::from_error_frame(&f).into())
        }
        Some(f) => Err(Failure::remote(format!(
            "the server answered a PING with a frame of kind {}: not a chat server",
            f.kind.0
        ))),
        None => Err(Failure::connect(format!(
            "{} closed the connection",
            a.addr
        ))),
    }
}
