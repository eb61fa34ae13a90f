//! The framed echo service: a pool of sockets on one port, each echoing frames back.

use crate::connection::Connection;
use crate::reply::{Handler, Reply, ReplyError};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use sockframe::{Event, Limits};

/// The echo [`Handler`]: every frame comes back with the same header and payload, except
/// that a [`Kind::PING`](sockframe::Kind::PING) is answered with a
/// [`Kind::PONG`](sockframe::Kind::PONG) carrying the same id (and payload).
///
/// Frames larger than the decoder's buffer are echoed cut-through: the head, re-encoded
/// from the [`Event::Start`] header, as soon as it is decoded, then each chunk as it
/// arrives. A streamed payload's checksum can only be checked at its end, so a bad one is
/// reported (error frame) after its bytes were already echoed.
///
/// The head is re-encoded, not copied: for frames written by sockframe's encoder (canonical
/// postcard) the echo is byte-identical; header bytes a later version appends after the
/// known fields are not echoed.
#[derive(Debug, Default, Clone, Copy)]
pub struct Echo;

impl Handler for Echo {
    fn on_event(&mut self, event: Event<'_>, reply: &mut Reply<'_, '_>) -> Result<(), ReplyError> {
        // Every answer is at most as long as its event on the wire (a re-encoded header is
        // never longer than the one decoded), so it fits the budget.
        match event {
            Event::Frame(frame) => {
                reply.send_head(&frame.header.echo_reply(), frame.payload.len() as u64)?;
                reply.send(frame.payload)
            }
            Event::Start(header) => reply.send_head(&header.echo_reply(), header.len),
            Event::Chunk(bytes) => reply.send(bytes),
            Event::End => Ok(()),
            Event::Abort(abort) => {
                reply.send_head(&abort.header, abort.payload.len() as u64)?;
                reply.send(abort.payload)
            }
        }
    }
}

/// A pool of `POOL` TCP sockets serving the framed echo on one port, each with an `N`-byte
/// decoder buffer (`N` + about 100 bytes of RAM per socket).
///
/// smoltcp has no accept backlog: each socket serves one connection, so `POOL` is the
/// number of concurrent clients; a client beyond it gets a reset. A socket listens again
/// as soon as its connection ends (closed, reset, timed out).
///
/// Each socket's send buffer must hold at least `N` bytes.
pub struct EchoService<const POOL: usize, const N: usize> {
    port: u16,
    slots: [(SocketHandle, Connection<N>); POOL],
}

impl<const POOL: usize, const N: usize> EchoService<POOL, N> {
    /// Serves `port` on the TCP sockets behind `handles` (created by the caller, with its
    /// own buffers, and added to the `SocketSet` later given to [`poll`](Self::poll)).
    ///
    /// The sockets start listening on the first [`poll`](Self::poll).
    ///
    /// # Panics
    /// If `port` is 0.
    pub fn new(port: u16, handles: [SocketHandle; POOL]) -> Self {
        Self::with_limits(port, handles, Limits::DEFAULT)
    }

    /// Like [`new`](Self::new), with the given decoder limits (see
    /// [`Connection::with_limits`]).
    pub fn with_limits(port: u16, handles: [SocketHandle; POOL], limits: Limits) -> Self {
        assert!(port != 0, "sockframe-smoltcp: cannot listen on port 0");
        EchoService {
            port,
            slots: handles.map(|handle| (handle, Connection::with_limits(limits))),
        }
    }

    /// The port served.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves every socket of the pool once; call after every `Interface::poll`. Sockets
    /// whose connection has ended listen again. Returns true if anything moved (then poll
    /// the interface again before sleeping, to send what was queued).
    ///
    /// # Panics
    /// If a handle is not a TCP socket of `sockets`, or a socket's send buffer is smaller
    /// than `N`.
    pub fn poll(&mut self, sockets: &mut SocketSet<'_>) -> bool {
        let mut moved = false;
        for (handle, connection) in &mut self.slots {
            let socket = sockets.get_mut::<tcp::Socket>(*handle);
            if !socket.is_open() {
                // The last connection is over (or none has started): serve the next one.
                connection.reset();
                // Cannot fail: the port is not 0 and the socket is not open.
                let _ = socket.listen(self.port);
            }
            moved |= connection.poll_socket(socket, &mut Echo);
        }
        moved
    }

    /// The connections with their socket handles (for logs: [`Connection::error`]).
    pub fn connections(&self) -> impl Iterator<Item = (SocketHandle, &Connection<N>)> {
        self.slots.iter().map(|(handle, conn)| (*handle, conn))
    }
}
