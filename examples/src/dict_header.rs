//! Lesson 5: a "dict header" and a payload larger than the receive buffer.
//!
//! The classic lesson sends a JSON dict (file name, size, checksum) before the file. In
//! sockframe that dict is the frame's header: a name, a CRC-32C and key/value metadata, with
//! the payload length. The server's decoder has a 1 KiB buffer and the file is 20 KiB, so it
//! is not delivered whole: `Start(header)`, then `Chunk`s as bytes arrive, then `End` once the
//! CRC matched. The answer carries its numbers in metadata.

use std::net::Shutdown;
use std::thread;

use sockframe::{Decoder, Event, Header, io};

use crate::common::{Log, Result, accept, connect, join, listen, show, wire};

/// The name the file is sent under.
pub const NAME: &str = "notes.txt";
/// The server's receive buffer: smaller than the file.
pub const SERVER_BUFFER: usize = 1024;

/// The file the client sends: 20 KiB of numbered lines.
pub fn file() -> Vec<u8> {
    let mut f = Vec::new();
    let mut n = 0;
    while f.len() < 20 * 1024 {
        n += 1;
        f.extend_from_slice(
            format!("line {n:04}: the quick brown fox jumps over the lazy dog\n").as_bytes(),
        );
    }
    f.truncate(20 * 1024);
    f
}

/// What the server received, and what the client heard back.
#[derive(Debug)]
pub struct Outcome {
    /// The header's name.
    pub name: Option<String>,
    /// The header's length.
    pub len: u64,
    /// The header's CRC-32C.
    pub crc: Option<u32>,
    /// The header's metadata.
    pub meta: Vec<(String, String)>,
    /// How many chunks the payload came in.
    pub chunks: usize,
    /// The payload, put back together.
    pub received: Vec<u8>,
    /// The metadata of the server's answer.
    pub reply_meta: Vec<(String, String)>,
}

struct Received {
    name: Option<String>,
    len: u64,
    crc: Option<u32>,
    meta: Vec<(String, String)>,
    chunks: usize,
    data: Vec<u8>,
}

fn owned_meta(h: &Header<'_>) -> Vec<(String, String)> {
    h.meta
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs the lesson.
pub fn run(log: &Log) -> Result<Outcome> {
    let (listener, addr) = listen()?;
    log.say(
        "server",
        format_args!("listening on {addr}, receive buffer {SERVER_BUFFER} bytes"),
    );
    let payload = file();

    thread::scope(|s| {
        let server = s.spawn(|| -> Result<Received> {
            let (stream, peer) = accept(&listener)?;
            log.say("server", format_args!("accepted {peer}"));
            let mut w = wire(&stream);
            let mut dec = Decoder::new([0u8; SERVER_BUFFER]);
            let mut got: Option<Received> = None;
            loop {
                match io::read_event(&mut w, &mut dec)? {
                    Some(Event::Start(h)) => {
                        log.say(
                            "server",
                            format_args!(
                                "<- Start: name={:?} len={} crc={:08x?} meta={:?}",
                                h.name, h.len, h.crc, h.meta
                            ),
                        );
                        got = Some(Received {
                            name: h.name.map(str::to_string),
                            len: h.len,
                            crc: h.crc,
                            meta: owned_meta(&h),
                            chunks: 0,
                            data: Vec::with_capacity(h.len as usize),
                        });
                    }
                    Some(Event::Chunk(c)) => {
                        let r = got.as_mut().ok_or("a chunk before Start")?;
                        r.chunks += 1;
                        r.data.extend_from_slice(c);
                        if r.chunks <= 3 {
                            log.say(
                                "server",
                                format_args!(
                                    "<- Chunk #{}: {} bytes {}",
                                    r.chunks,
                                    c.len(),
                                    show(c)
                                ),
                            );
                        }
                    }
                    Some(Event::End) => {
                        let r = got.as_ref().ok_or("End before Start")?;
                        log.say(
                            "server",
                            format_args!(
                                "<- End: {} bytes in {} chunks, CRC-32C checked",
                                r.data.len(),
                                r.chunks
                            ),
                        );
                        break;
                    }
                    Some(Event::Abort(a)) => {
                        return Err(format!(
                            "the sender aborted the stream: {}",
                            String::from_utf8_lossy(a.payload)
                        )
                        .into());
                    }
                    Some(Event::Frame(f)) => {
                        return Err(format!(
                            "a whole frame of {} bytes: expected a stream",
                            f.payload.len()
                        )
                        .into());
                    }
                    None => return Err("the client left before sending the file".into()),
                }
            }
            let r = got.ok_or("no file")?;
            let bytes = r.data.len().to_string();
            let chunks = r.chunks.to_string();
            let meta = [
                ("status", "stored"),
                ("bytes", bytes.as_str()),
                ("chunks", chunks.as_str()),
            ];
            let reply = Header::data(1, b"").with_meta(&meta);
            log.say(
                "server",
                format_args!("-> answer with meta={:?}", reply.meta),
            );
            io::write_frame(&mut w, &reply, b"")?;
            Ok(r)
        });

        let client = || -> Result<Vec<(String, String)>> {
            let stream = connect(addr)?;
            let mut w = wire(&stream);
            let meta = [("content-type", "text/plain"), ("sender", "lesson-05")];
            let header = Header::data(1, &payload)
                .with_name(NAME)
                .with_crc_of(&payload)
                .with_meta(&meta);
            log.say(
                "client",
                format_args!(
                    "-> frame name={NAME:?} len={} crc={:08x?} meta={:?}",
                    header.len, header.crc, header.meta
                ),
            );
            io::write_frame(&mut w, &header, &payload)?;
            let mut dec = Decoder::new([0u8; 256]);
            let meta = match io::read_event(&mut w, &mut dec)? {
                Some(Event::Frame(f)) => {
                    log.say("client", format_args!("<- answer meta={:?}", f.header.meta));
                    owned_meta(&f.header)
                }
                other => return Err(format!("expected an answer, got {other:?}").into()),
            };
            stream.shutdown(Shutdown::Both)?;
            Ok(meta)
        };
        let reply_meta = client();
        let r = join(server)?;
        Ok(Outcome {
            name: r.name,
            len: r.len,
            crc: r.crc,
            meta: r.meta,
            chunks: r.chunks,
            received: r.data,
            reply_meta: reply_meta?,
        })
    })
}
