//! Benchmark baseline: a plain thread-per-connection echo with a 4-byte big-endian length
//! prefix (std::net only). Each connection's thread reads the length, reads the payload,
//! and writes length and payload back in one `write_all`; no read buffering, so every
//! message costs two reads and one write, however the client pipelines.
//!
//! `cargo run --release -p sockframe-std --example bench_plain_echo -- --bind 127.0.0.1:0`
//! prints `bench_plain_echo: listening on ADDR` on stderr once bound; talk to it with
//! `sockframe bench ADDR --protocol length-prefix`. Used by `cargo xtask bench-server`.

use clap::Parser;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

/// Largest payload echoed (the connection is closed beyond it).
const MAX_PAYLOAD: usize = 64 << 20;

#[derive(Parser)]
#[command(about = "Thread-per-connection 4-byte length-prefix echo (benchmark baseline)")]
struct Args {
    /// Address to listen on (port 0 picks a free port; the real address is printed).
    #[arg(long, default_value = "127.0.0.1:9000")]
    bind: SocketAddr,
}

fn main() -> io::Result<()> {
    let args = Args::parse();
    let listener = TcpListener::bind(args.bind)?;
    eprintln!("bench_plain_echo: listening on {}", listener.local_addr()?);
    for stream in listener.incoming() {
        match stream {
            Ok(stream) => {
                std::thread::spawn(move || {
                    let _ = echo(stream);
                });
            }
            // Out of descriptors or threads: wait a little rather than spin.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
    Ok(())
}

/// Echoes length-prefixed messages until the peer closes.
fn echo(mut stream: TcpStream) -> io::Result<()> {
    stream.set_nodelay(true)?;
    let mut buf = Vec::new();
    loop {
        let mut len = [0u8; 4];
        match stream.read_exact(&mut len) {
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => return Ok(()),
            r => r?,
        }
        let n = u32::from_be_bytes(len) as usize;
        if n > MAX_PAYLOAD {
            return Err(io::Error::other("message too large"));
        }
        buf.clear();
        buf.extend_from_slice(&len);
        buf.resize(4 + n, 0);
        stream.read_exact(&mut buf[4..])?;
        stream.write_all(&buf)?;
    }
}
