//! A client connection driven by the test: writes a prepared byte stream (in chosen chunk
//! sizes), reads everything echoed (unless paused), closes when told.

use super::Prng;
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use sockframe::{Decoder, Event, Kind};

pub struct Peer {
    pub handle: SocketHandle,
    out: Vec<u8>,
    pub written: usize,
    pub received: Vec<u8>,
    /// Random chunk sizes `1..=max`, one chunk per pump: split and merged writes.
    chunks: Option<(Prng, usize)>,
    /// While false, nothing is read: the echo backs up into the server.
    pub reading: bool,
    /// Send FIN once everything is written.
    pub close_when_written: bool,
}

impl Peer {
    pub fn new(handle: SocketHandle, out: Vec<u8>) -> Self {
        Peer {
            handle,
            out,
            written: 0,
            received: Vec::new(),
            chunks: None,
            reading: true,
            close_when_written: false,
        }
    }

    pub fn chunked(mut self, seed: u64, max: usize) -> Self {
        self.chunks = Some((Prng::new(seed), max));
        self
    }

    pub fn closing(mut self) -> Self {
        self.close_when_written = true;
        self
    }

    pub fn paused(mut self) -> Self {
        self.reading = false;
        self
    }

    /// Bytes to write in all.
    pub fn len(&self) -> usize {
        self.out.len()
    }

    pub fn all_written(&self) -> bool {
        self.written == self.out.len()
    }

    /// Writes what the socket takes (one chunk if chunked), reads what arrived.
    pub fn pump(&mut self, sockets: &mut SocketSet<'_>) {
        let socket = sockets.get_mut::<tcp::Socket>(self.handle);
        if socket.may_send() && !self.all_written() {
            let rest = &self.out[self.written..];
            let len = match &mut self.chunks {
                Some((prng, max)) => prng.range(1, *max).min(rest.len()),
                None => rest.len(),
            };
            self.written += socket.send_slice(&rest[..len]).unwrap_or(0);
        }
        if self.close_when_written && self.all_written() {
            socket.close();
        }
        while self.reading && socket.can_recv() {
            socket
                .recv(|bytes| {
                    self.received.extend_from_slice(bytes);
                    (bytes.len(), ())
                })
                .expect("recv");
        }
    }

    /// The server closed its side (FIN or reset) and everything before it was read.
    pub fn at_eof(&self, sockets: &SocketSet<'_>) -> bool {
        let socket = sockets.get::<tcp::Socket>(self.handle);
        matches!(
            socket.state(),
            State::CloseWait | State::LastAck | State::Closing | State::TimeWait | State::Closed
        ) && socket.recv_queue() == 0
    }

    pub fn state(&self, sockets: &SocketSet<'_>) -> State {
        sockets.get::<tcp::Socket>(self.handle).state()
    }
}

/// The frames in `bytes`, decoded by the core: (kind, id, payload) per frame, streamed ones
/// reassembled, and the `code` of ERROR frames and ABORT trailers in place of the payload.
pub fn decode_all(bytes: &[u8]) -> Vec<(Kind, u32, Vec<u8>)> {
    let mut dec = Decoder::new(vec![0u8; 4096]);
    let mut frames = Vec::new();
    let mut rest = bytes;
    let mut open: Option<(Kind, u32, Vec<u8>)> = None;
    loop {
        while !dec.poll().expect("echo decodes") {
            if rest.is_empty() {
                dec.finish().expect("echo ends between frames");
                return frames;
            }
            let n = dec.feed(rest);
            rest = &rest[n..];
        }
        match dec.next_event().expect("echo decodes").expect("ready") {
            Event::Frame(f) if f.header.kind == Kind::ERROR => frames.push((
                Kind::ERROR,
                f.header.id,
                f.header.meta("code").unwrap_or("").as_bytes().to_vec(),
            )),
            Event::Frame(f) => frames.push((f.header.kind, f.header.id, f.payload.to_vec())),
            Event::Start(h) => open = Some((h.kind, h.id, Vec::new())),
            Event::Chunk(c) => open.as_mut().expect("start").2.extend_from_slice(c),
            Event::End => frames.push(open.take().expect("start")),
            // The aborted frame's bytes are dropped; the ABORT stands in its place.
            Event::Abort(a) => {
                open.take().expect("start");
                frames.push((
                    Kind::ABORT,
                    a.header.id,
                    a.header.meta("code").unwrap_or("").as_bytes().to_vec(),
                ));
            }
        }
    }
}
