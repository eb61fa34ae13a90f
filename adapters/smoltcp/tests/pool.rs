//! The socket pool: many connections one after another, several at once, one too many.

mod common;

use common::peer::Peer;
use common::world::{ServerConfig, World};
use common::{Prng, frame};
use smoltcp::socket::tcp::State;
use sockframe::Header;

#[test]
fn two_hundred_sequential_connections() {
    let mut world = World::<2, 1024>::new(ServerConfig::BOARD);
    let mut prng = Prng::new(200);
    for i in 0..200u32 {
        let stream: Vec<u8> = (0..3)
            .flat_map(|j| {
                let p = prng.payload(0, 1500);
                frame(&Header::data(i * 3 + j, &p), &p)
            })
            .collect();
        let handle = world.connect();
        let mut peer = Peer::new(handle, stream.clone()).closing();
        world.run_until("the echo", 2_000, |w| {
            peer.pump(&mut w.client_sockets);
            peer.all_written() && peer.at_eof(&w.client_sockets)
        });
        assert!(peer.received == stream, "connection {i}: echo differs");
        world.client_sockets.remove(handle);
    }
    world.run_until("the whole pool listening", 1_000, |w| w.listening() == 2);
}

#[test]
fn a_full_pool_serves_all_at_once_and_resets_one_more() {
    let mut world = World::<4, 1024>::new(ServerConfig::BOARD);
    let mut prng = Prng::new(4);
    let mut peers: Vec<(Peer, Vec<u8>)> = (0..4)
        .map(|k| {
            let stream: Vec<u8> = (0..50)
                .flat_map(|i| {
                    let p = prng.payload(0, 4000);
                    frame(&Header::data(i, &p), &p)
                })
                .collect();
            let handle = world.connect();
            (
                Peer::new(handle, stream.clone()).chunked(k, 2000).closing(),
                stream,
            )
        })
        .collect();
    world.run_until("four connections", 100, |w| {
        peers
            .iter()
            .all(|(p, _)| p.state(&w.client_sockets) == State::Established)
    });
    assert_eq!(world.listening(), 0);

    // No accept backlog: a fifth client finds no listening socket and is reset.
    let fifth = world.connect_now();
    world.run_until("the fifth client to be refused", 100, |w| {
        w.client(fifth).state() == State::Closed
    });

    world.run_until("four echoes", 100_000, |w| {
        for (p, _) in &mut peers {
            p.pump(&mut w.client_sockets);
        }
        peers
            .iter()
            .all(|(p, _)| p.all_written() && p.at_eof(&w.client_sockets))
    });
    for (k, (peer, stream)) in peers.iter().enumerate() {
        assert!(peer.received == *stream, "client {k}: echo differs");
    }
    world.run_until("the whole pool listening", 1_000, |w| w.listening() == 4);
}
