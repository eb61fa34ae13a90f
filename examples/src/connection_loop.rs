//! Lesson 3: a connection loop.
//!
//! The server accepts clients one after another and serves each until it leaves. Clients
//! leave cleanly or vanish: in the middle of a frame, without a word, without reading the
//! answer. Whatever one client does, the server logs how it ended and serves the next.

use std::io::Write as _;
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::thread;

use embedded_io_adapters::std::FromStd;
use sockframe::{Decoder, Event, Header, encode_frame, io};

use crate::common::{Log, Result, accept, connect, join, listen, show, text, wire};

/// How a connection ended, as the server saw it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    /// The client closed between frames.
    Clean,
    /// The connection failed (cut frame, reset...): the message says how.
    Failed(String),
}

/// One client, as the server served it.
#[derive(Debug, Clone)]
pub struct Session {
    /// Who the client said it was (the first frame's text), if it said anything.
    pub name: Option<String>,
    /// Frames read from it.
    pub frames: u32,
    /// How it ended.
    pub ended: Ended,
}

/// What happened.
#[derive(Debug)]
pub struct Outcome {
    /// One entry per accepted connection, in order.
    pub sessions: Vec<Session>,
    /// The answers the last, well-behaved client got.
    pub last_client_got: Vec<String>,
}

/// The clients of this lesson, in the order they connect.
pub const CLIENTS: usize = 4;

/// Runs the lesson: four clients, three of which misbehave.
pub fn run(log: &Log) -> Result<Outcome> {
    let (listener, addr) = listen()?;
    log.say("server", format_args!("listening on {addr}"));

    thread::scope(|s| {
        let server = s.spawn(|| serve(&listener, CLIENTS, log));
        let clients = || -> Result<Vec<String>> {
            vanish_mid_frame(addr, log)?;
            vanish_silently(addr, log)?;
            vanish_without_reading(addr, log)?;
            well_behaved(addr, log)
        };
        let last_client_got = clients();
        let sessions = join(server)?;
        Ok(Outcome {
            sessions,
            last_client_got: last_client_got?,
        })
    })
}

/// The server: serves `clients` connections one after another (a real server loops forever;
/// this one stops so the lesson ends).
pub fn serve(listener: &TcpListener, clients: usize, log: &Log) -> Result<Vec<Session>> {
    let mut sessions = Vec::new();
    for n in 1..=clients {
        let (stream, peer) = accept(listener)?;
        log.say("server", format_args!("connection {n}: accepted {peer}"));
        let mut w = wire(&stream);
        let mut dec = Decoder::new([0u8; 256]);
        let mut session = Session {
            name: None,
            frames: 0,
            ended: Ended::Clean,
        };
        // One connection's loop. Its errors end this connection, never the server.
        loop {
            let payload = match io::read_event(&mut w, &mut dec) {
                Ok(Some(Event::Frame(f))) => {
                    log.say("server", format_args!("<- {}", show(f.payload)));
                    text(f.payload)
                }
                Ok(Some(other)) => {
                    session.ended = Ended::Failed(format!("unexpected {other:?}"));
                    break;
                }
                Ok(None) => {
                    log.say("server", "client left cleanly");
                    break;
                }
                Err(e) => {
                    log.say("server", format_args!("client vanished: {e}"));
                    session.ended = Ended::Failed(e.to_string());
                    break;
                }
            };
            session.frames += 1;
            let who = session.name.get_or_insert_with(|| payload.clone()).clone();
            let reply = format!("{who}, you sent {payload:?}");
            log.say("server", format_args!("-> {}", show(reply.as_bytes())));
            if let Err(e) =
                io::write_frame(&mut w, &Header::data(0, reply.as_bytes()), reply.as_bytes())
            {
                log.say("server", format_args!("could not answer: {e}"));
                session.ended = Ended::Failed(e.to_string());
                break;
            }
        }
        log.say(
            "server",
            format_args!(
                "connection {n} done after {} frame(s): {:?}; next",
                session.frames, session.ended
            ),
        );
        sessions.push(session);
    }
    Ok(sessions)
}

fn hello(who: &str, w: &mut FromStd<&TcpStream>, log: &Log) -> Result<()> {
    log.say(who, format_args!("-> {}", show(who.as_bytes())));
    io::write_frame(w, &Header::data(0, who.as_bytes()), who.as_bytes())?;
    Ok(())
}

/// Says hello, reads the answer, then sends half of a frame and disconnects.
fn vanish_mid_frame(addr: SocketAddr, log: &Log) -> Result<()> {
    let stream = connect(addr)?;
    let mut w = wire(&stream);
    hello("ann", &mut w, log)?;
    let mut dec = Decoder::new([0u8; 256]);
    if let Some(Event::Frame(f)) = io::read_event(&mut w, &mut dec)? {
        log.say("ann", format_args!("<- {}", show(f.payload)));
    }
    let body = b"this message never ends";
    let mut frame = [0u8; 64];
    let n = encode_frame(&Header::data(1, body), body, &mut frame)?;
    log.say(
        "ann",
        format_args!("-> {} of a {n}-byte frame, then gone", n / 2),
    );
    (&stream).write_all(&frame[..n / 2])?;
    Ok(())
}

/// Connects and leaves without sending anything.
fn vanish_silently(addr: SocketAddr, log: &Log) -> Result<()> {
    let stream = connect(addr)?;
    log.say("bob", "connected, and left without a word");
    stream.shutdown(Shutdown::Both)?;
    Ok(())
}

/// Sends a frame and leaves without waiting for the answer.
fn vanish_without_reading(addr: SocketAddr, log: &Log) -> Result<()> {
    let stream = connect(addr)?;
    let mut w = wire(&stream);
    hello("cy", &mut w, log)?;
    log.say("cy", "gone before the answer");
    Ok(())
}

/// Two frames, reads both answers, closes cleanly.
fn well_behaved(addr: SocketAddr, log: &Log) -> Result<Vec<String>> {
    let stream = connect(addr)?;
    let mut w = wire(&stream);
    let mut dec = Decoder::new([0u8; 256]);
    let mut got = Vec::new();
    for msg in ["dee", "still there?"] {
        log.say("dee", format_args!("-> {}", show(msg.as_bytes())));
        io::write_frame(&mut w, &Header::data(0, msg.as_bytes()), msg.as_bytes())?;
        match io::read_event(&mut w, &mut dec)? {
            Some(Event::Frame(f)) => {
                log.say("dee", format_args!("<- {}", show(f.payload)));
                got.push(text(f.payload));
            }
            other => return Err(format!("dee expected an answer, got {other:?}").into()),
        }
    }
    stream.shutdown(Shutdown::Write)?;
    log.say("dee", "done, closed cleanly");
    Ok(got)
}
