//! The driver with a handler of its own, run per socket the way a firmware with its own
//! pool loop would: answers larger than their requests, and one too large to ever fit.

mod common;

use common::frame;
use common::peer::Peer;
use common::world::{PORT, ServerConfig, Service, World};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp::{self, State};
use sockframe::{Event, Header};
use sockframe_smoltcp::{Connection, Handler, Reply, ReplyError};

const N: usize = 1024;

/// Answers each whole frame with its payload three times over; `honest` says so in
/// `reserve`.
struct Triple {
    honest: bool,
}

impl Handler for Triple {
    fn reserve(&self, event_len: usize) -> usize {
        // The answer's head is no longer than the request's.
        if self.honest {
            3 * event_len
        } else {
            event_len
        }
    }

    fn on_event(&mut self, event: Event<'_>, reply: &mut Reply<'_, '_>) -> Result<(), ReplyError> {
        let Event::Frame(f) = event else {
            return Ok(()); // not used with streamed frames here
        };
        let len = 3 * f.payload.len() as u64;
        let need = frame(&Header::data(f.header.id, &[]), &[]).len() + 3 * f.payload.len();
        if need > reply.budget() {
            // All or nothing: a partial answer would corrupt the stream.
            return Err(ReplyError::OverBudget {
                need,
                budget: reply.budget(),
            });
        }
        reply.send_head(&Header::data(f.header.id, &[]), len)?;
        for _ in 0..3 {
            reply.send(f.payload)?;
        }
        Ok(())
    }
}

/// One `Connection` per socket, reset when the socket listens anew.
struct PerSocket {
    slots: Vec<(SocketHandle, Connection<N>)>,
    handler: Triple,
}

impl Service for PerSocket {
    fn poll(&mut self, sockets: &mut SocketSet<'static>) -> bool {
        let mut moved = false;
        for (handle, conn) in &mut self.slots {
            let socket = sockets.get_mut::<tcp::Socket>(*handle);
            if !socket.is_open() {
                conn.reset();
                socket.listen(PORT).unwrap();
            }
            moved |= conn.poll_socket(socket, &mut self.handler);
        }
        moved
    }

    fn describe(&self) -> Vec<String> {
        self.slots.iter().map(|(_, c)| format!("{c:?}")).collect()
    }
}

fn world(honest: bool) -> World<1, N, PerSocket> {
    World::with_service(ServerConfig::BOARD, |handles| PerSocket {
        slots: handles
            .into_iter()
            .map(|h| (h, Connection::new()))
            .collect(),
        handler: Triple { honest },
    })
}

fn tripled(id: u32, payload: &[u8]) -> Vec<u8> {
    frame(&Header::data(id, &[]), &payload.repeat(3))
}

#[test]
fn answers_larger_than_requests_wait_for_the_peer_to_read() {
    let mut world = world(true);
    let (mut sent, mut expected) = (Vec::new(), Vec::new());
    for id in 0..400u32 {
        let payload = vec![id as u8; (id as usize * 7) % 900];
        sent.extend(frame(&Header::data(id, &payload), &payload));
        expected.extend(tripled(id, &payload));
    }
    let handle = world.connect();
    let mut peer = Peer::new(handle, sent).chunked(9, 1500).paused().closing();
    world.run_for(500, |w| peer.pump(&mut w.client_sockets));
    assert!(
        !peer.all_written(),
        "an unread peer should block the answers"
    );
    peer.reading = true;
    world.run_until("all answers", 20_000, |w| {
        peer.pump(&mut w.client_sockets);
        peer.all_written() && peer.at_eof(&w.client_sockets)
    });
    assert!(peer.received == expected);
}

#[test]
fn an_answer_over_the_free_send_space_resets_the_connection() {
    // The handler under-declares its answers: the driver takes an event when the request's
    // size is free, the answer does not fit, the handler refuses it, and the driver resets
    // the connection rather than let the stream go on without that answer.
    let mut world = world(false);
    let big = vec![2; 1000]; // tripled: 3000 B + head; the send buffer is 4096 B
    let (mut sent, mut answers) = (Vec::new(), Vec::new());
    for id in 1..6 {
        sent.extend(frame(&Header::data(id, &big), &big));
        answers.extend(tripled(id, &big));
    }
    let handle = world.connect();
    let mut peer = Peer::new(handle, sent);
    world.run_until("the reset", 5_000, |w| {
        peer.pump(&mut w.client_sockets);
        peer.state(&w.client_sockets) == State::Closed
    });
    // A reset drops what was still queued: the peer saw a prefix of the answers at most.
    assert!(peer.received.len() < answers.len());
    assert!(
        answers.starts_with(&peer.received),
        "not a prefix of the answers"
    );
    world.run_until("the socket listening again", 1_000, |w| w.listening() == 1);
}
