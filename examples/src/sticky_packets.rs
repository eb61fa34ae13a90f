//! Lesson 4: "sticky packets" — TCP is a byte stream, not a message stream.
//!
//! The client sends three short messages with three separate `write` calls (Nagle's
//! algorithm off, so each goes out as its own segment). The server is slow: it reads only
//! after all three have arrived. On raw TCP its first `read` returns all three glued
//! together, and nothing says where one ends. Over sockframe the same three sends, read the
//! same late way, come back as exactly three frames, however many socket reads it took.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

use sockframe::{Decoder, Event, Header, io};

use crate::common::{Log, Result, TIMEOUT, accept, connect, join, listen, show, text, wire};

/// The three messages, sent one `write` each.
pub const MESSAGES: [&str; 3] = ["one", "two", "three"];

/// How long the slow server waits after the client says it sent everything, so the bytes
/// have surely arrived (on loopback they arrive during the `write`).
const SETTLE: Duration = Duration::from_millis(50);

/// What the server saw.
#[derive(Debug)]
pub struct Outcome {
    /// Raw TCP: the bytes each `read` returned.
    pub raw_reads: Vec<Vec<u8>>,
    /// Sockframe: the socket `read`s that returned bytes.
    pub framed_reads: usize,
    /// Sockframe: the frames decoded, as text.
    pub frames: Vec<String>,
}

/// A `TcpStream` that counts the reads that returned bytes.
struct Counting<'s> {
    stream: &'s TcpStream,
    reads: usize,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.stream.read(buf)?;
        if n > 0 {
            self.reads += 1;
        }
        Ok(n)
    }
}

impl Write for Counting<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.stream.write(buf)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.stream.flush()
    }
}

/// Runs the lesson: the raw exchange, then the same over sockframe.
pub fn run(log: &Log) -> Result<Outcome> {
    let (listener, addr) = listen()?;
    log.say("server", format_args!("listening on {addr}"));
    let (sent_tx, sent_rx) = mpsc::channel::<()>();

    thread::scope(|s| {
        let server = s.spawn(move || -> Result<(Vec<Vec<u8>>, usize, Vec<String>)> {
            // Part 1: raw TCP.
            let (stream, _) = accept(&listener)?;
            sent_rx.recv_timeout(TIMEOUT)?;
            thread::sleep(SETTLE);
            let expected: usize = MESSAGES.iter().map(|m| m.len()).sum();
            let mut raw_reads = Vec::new();
            let mut buf = [0u8; 1024];
            let mut total = 0;
            while total < expected {
                let n = (&stream).read(&mut buf)?;
                if n == 0 {
                    break;
                }
                log.say(
                    "server",
                    format_args!("raw read #{} -> {n} bytes {}", raw_reads.len() + 1, show(&buf[..n])),
                );
                raw_reads.push(buf[..n].to_vec());
                total += n;
            }
            log.say(
                "server",
                format_args!(
                    "raw: {} sends arrived as {} read(s): the message boundaries are gone",
                    MESSAGES.len(),
                    raw_reads.len()
                ),
            );

            // Part 2: the same over sockframe.
            let (stream, _) = accept(&listener)?;
            sent_rx.recv_timeout(TIMEOUT)?;
            thread::sleep(SETTLE);
            let mut w = embedded_io_adapters::std::FromStd::new(Counting {
                stream: &stream,
                reads: 0,
            });
            let mut dec = Decoder::new([0u8; 1024]);
            let mut frames = Vec::new();
            loop {
                match io::read_event(&mut w, &mut dec)? {
                    Some(Event::Frame(f)) => {
                        log.say(
                            "server",
                            format_args!("sockframe: frame id={} {}", f.header.id, show(f.payload)),
                        );
                        frames.push(text(f.payload));
                    }
                    Some(other) => return Err(format!("unexpected {other:?}").into()),
                    None => break,
                }
            }
            let framed_reads = w.inner().reads;
            log.say(
                "server",
                format_args!(
                    "sockframe: {} sends arrived in {framed_reads} read(s) and came out as {} frames",
                    MESSAGES.len(),
                    frames.len()
                ),
            );
            Ok((raw_reads, framed_reads, frames))
        });

        let client = || -> Result<()> {
            let stream = connect(addr)?;
            stream.set_nodelay(true)?;
            for m in MESSAGES {
                log.say("client", format_args!("raw send {}", show(m.as_bytes())));
                (&stream).write_all(m.as_bytes())?;
            }
            sent_tx.send(())?;
            drop(stream);

            let stream = connect(addr)?;
            stream.set_nodelay(true)?;
            let mut w = wire(&stream);
            for (id, m) in (1..).zip(MESSAGES) {
                log.say(
                    "client",
                    format_args!("sockframe send id={id} {}", show(m.as_bytes())),
                );
                io::write_frame(&mut w, &Header::data(id, m.as_bytes()), m.as_bytes())?;
            }
            sent_tx.send(())?;
            stream.shutdown(Shutdown::Write)?;
            Ok(())
        };
        let sent = client();
        let (raw_reads, framed_reads, frames) = join(server)?;
        sent?;
        Ok(Outcome {
            raw_reads,
            framed_reads,
            frames,
        })
    })
}
