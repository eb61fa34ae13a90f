//! Lesson 2: a communication loop.
//!
//! The client sends several lines, one frame each, and waits for the answer to each; the
//! server answers every frame until the client closes its side, which `io::read_event`
//! reports as `Ok(None)` (a clean end between frames).

use std::net::Shutdown;
use std::thread;

use sockframe::{Decoder, Event, Header, io};

use crate::common::{Log, Result, accept, connect, join, listen, show, text, wire};

/// The lines the client sends.
pub const LINES: [&str; 4] = ["hello", "what time is it?", "tell me a joke", "bye"];

/// The server's answer to `line`, the `n`th (from 1).
pub fn answer(n: u32, line: &str) -> String {
    format!("#{n}: {}", line.to_uppercase())
}

/// What happened.
#[derive(Debug)]
pub struct Outcome {
    /// Each line the client sent, with the answer it got.
    pub exchanges: Vec<(String, String)>,
    /// How many frames the server read before the client closed.
    pub server_frames: u32,
}

/// Runs the lesson.
pub fn run(log: &Log) -> Result<Outcome> {
    let (listener, addr) = listen()?;
    log.say("server", format_args!("listening on {addr}"));

    thread::scope(|s| {
        let server = s.spawn(|| -> Result<u32> {
            let (stream, peer) = accept(&listener)?;
            log.say("server", format_args!("accepted {peer}"));
            let mut w = wire(&stream);
            let mut dec = Decoder::new([0u8; 256]);
            let mut frames = 0;
            loop {
                let (id, line) = match io::read_event(&mut w, &mut dec)? {
                    Some(Event::Frame(f)) => {
                        log.say(
                            "server",
                            format_args!("<- frame id={} {}", f.header.id, show(f.payload)),
                        );
                        (f.header.id, text(f.payload))
                    }
                    Some(other) => return Err(format!("unexpected {other:?}").into()),
                    None => {
                        log.say("server", "client closed its side: end of the loop");
                        return Ok(frames);
                    }
                };
                frames += 1;
                let reply = answer(frames, &line);
                // The answer carries the request's id, so the client can match them up.
                log.say(
                    "server",
                    format_args!("-> frame id={id} {}", show(reply.as_bytes())),
                );
                io::write_frame(
                    &mut w,
                    &Header::data(id, reply.as_bytes()),
                    reply.as_bytes(),
                )?;
            }
        });

        let client = || -> Result<Vec<(String, String)>> {
            let stream = connect(addr)?;
            log.say("client", format_args!("connected to {addr}"));
            let mut w = wire(&stream);
            let mut dec = Decoder::new([0u8; 256]);
            let mut exchanges = Vec::new();
            for (id, line) in (1..).zip(LINES) {
                log.say(
                    "client",
                    format_args!("-> frame id={id} {}", show(line.as_bytes())),
                );
                io::write_frame(&mut w, &Header::data(id, line.as_bytes()), line.as_bytes())?;
                match io::read_event(&mut w, &mut dec)? {
                    Some(Event::Frame(f)) if f.header.id == id => {
                        log.say(
                            "client",
                            format_args!("<- frame id={} {}", f.header.id, show(f.payload)),
                        );
                        exchanges.push((line.to_string(), text(f.payload)));
                    }
                    other => {
                        return Err(format!("expected the answer to {id}, got {other:?}").into());
                    }
                }
            }
            stream.shutdown(Shutdown::Write)?;
            log.say("client", "done: closed the sending side");
            Ok(exchanges)
        };
        let exchanges = client();
        let server_frames = join(server)?;
        Ok(Outcome {
            exchanges: exchanges?,
            server_frames,
        })
    })
}
