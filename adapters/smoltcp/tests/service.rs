//! A pool serving a handler of its own (not the echo): its open/close hooks, and an error
//! frame followed by a graceful close (FIN, not a reset).

mod common;

use common::frame;
use common::peer::{Peer, decode_all};
use common::world::{PORT, ServerConfig, World};
use smoltcp::socket::tcp::State;
use sockframe::{Event, Header, Kind, Limits};
use sockframe_smoltcp::{Handler, Reply, ReplyError, Service};

const N: usize = 1024;

/// Answers "ok" to every frame, refuses id 13 with an error frame and a close.
#[derive(Default)]
struct Picky {
    opened: u32,
    closed: u32,
}

impl Handler for Picky {
    fn on_open(&mut self) {
        self.opened += 1;
    }

    fn on_close(&mut self) {
        self.closed += 1;
    }

    fn reserve(&self, event_len: usize) -> usize {
        event_len + 400 // room for the error frame
    }

    fn on_event(&mut self, event: Event<'_>, reply: &mut Reply<'_, '_>) -> Result<(), ReplyError> {
        let Event::Frame(f) = event else {
            return Ok(());
        };
        if f.header.id == 13 {
            return Err(reply.error_then_close(13, "unlucky", &"id 13 refused"));
        }
        reply.send_head(&Header::data(f.header.id, b"ok"), 2)?;
        reply.send(b"ok")
    }
}

fn world() -> World<1, N, Service<Picky, 1, N>> {
    World::with_service(ServerConfig::BOARD, |handles| {
        Service::with_handler(PORT, handles, Picky::default(), Limits::DEFAULT)
    })
}

#[test]
fn error_then_close_answers_then_sends_fin_and_the_hooks_pair_up() {
    let mut world = world();
    for round in 1..=2u32 {
        let mut sent = frame(&Header::data(1, b"a"), b"a");
        sent.extend(frame(&Header::data(13, b"b"), b"b"));
        sent.extend(frame(
            &Header::data(2, b"never answered"),
            b"never answered",
        ));
        let handle = world.connect();
        let mut peer = Peer::new(handle, sent);
        world.run_until("the server's FIN", 5_000, |w| {
            peer.pump(&mut w.client_sockets);
            peer.at_eof(&w.client_sockets)
        });
        let got = decode_all(&peer.received);
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(
            (got[0].0, got[0].1, got[0].2.as_slice()),
            (Kind::DATA, 1, &b"ok"[..])
        );
        assert_eq!((got[1].0, got[1].1), (Kind::ERROR, 13));
        assert_eq!(got[1].2, b"unlucky"); // decode_all gives an ERROR frame's code
        // A FIN, not a reset: the client sees the end of the stream.
        assert_ne!(peer.state(&world.client_sockets), State::Closed);
        world.client(handle).close();
        world.run_until("the socket listening again", 5_000, |w| w.listening() == 1);
        world.run_for(5, |_| {});
        let h = world.service.handler();
        assert_eq!((h.opened, h.closed), (round, round));
    }
}
