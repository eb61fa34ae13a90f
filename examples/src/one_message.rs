//! Lesson 1: one message each way.
//!
//! The server accepts one client and reads one frame; the client sends one frame and reads the
//! server's one-frame answer. On raw TCP the reader would not know where the message ends;
//! here `io::read_event` returns exactly the frame that `io::write_frame` sent.

use std::thread;

use sockframe::{Decoder, Event, Header, io};

use crate::common::{Log, Result, accept, connect, join, listen, show, text, wire};

/// What the client sends.
pub const REQUEST: &str = "hello, server";
/// What the server answers.
pub const REPLY: &str = "hello, client";

/// What each side received.
#[derive(Debug)]
pub struct Outcome {
    /// The text of the frame the server read.
    pub server_got: String,
    /// The text of the frame the client read.
    pub client_got: String,
}

/// Runs the lesson: one message from client to server, one back.
pub fn run(log: &Log) -> Result<Outcome> {
    let (listener, addr) = listen()?;
    log.say("server", format_args!("listening on {addr}"));

    thread::scope(|s| {
        let server = s.spawn(|| -> Result<String> {
            let (stream, peer) = accept(&listener)?;
            log.say("server", format_args!("accepted {peer}"));
            let mut w = wire(&stream);
            let mut dec = Decoder::new([0u8; 256]);
            let got = match io::read_event(&mut w, &mut dec)? {
                Some(Event::Frame(f)) => {
                    log.say(
                        "server",
                        format_args!("<- frame id={} {}", f.header.id, show(f.payload)),
                    );
                    text(f.payload)
                }
                other => return Err(format!("expected a frame, got {other:?}").into()),
            };
            log.say(
                "server",
                format_args!("-> frame id=1 {}", show(REPLY.as_bytes())),
            );
            io::write_frame(&mut w, &Header::data(1, REPLY.as_bytes()), REPLY.as_bytes())?;
            Ok(got)
        });

        let client = || -> Result<String> {
            let stream = connect(addr)?;
            log.say("client", format_args!("connected to {addr}"));
            let mut w = wire(&stream);
            log.say(
                "client",
                format_args!("-> frame id=1 {}", show(REQUEST.as_bytes())),
            );
            io::write_frame(
                &mut w,
                &Header::data(1, REQUEST.as_bytes()),
                REQUEST.as_bytes(),
            )?;
            let mut dec = Decoder::new([0u8; 256]);
            match io::read_event(&mut w, &mut dec)? {
                Some(Event::Frame(f)) => {
                    log.say(
                        "client",
                        format_args!("<- frame id={} {}", f.header.id, show(f.payload)),
                    );
                    Ok(text(f.payload))
                }
                other => Err(format!("expected a frame, got {other:?}").into()),
            }
        };
        let client_got = client();
        let server_got = join(server)?;
        Ok(Outcome {
            server_got,
            client_got: client_got?,
        })
    })
}
