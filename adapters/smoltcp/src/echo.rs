//! The framed echo service: a pool of sockets on one port, each echoing frames back.

use crate::connection::Connection;
use crate::reply::{Handler, Reply, ReplyError};
use smoltcp::iface::{SocketHandle, SocketSet};
use smoltcp::socket::tcp;
use sockframe::{EchoReply, Event, Limits, echo_reply};

/// The echo [`Handler`] of the spec's section 6.1: every frame comes back byte for byte as
/// it arrived (reserved flag bits, non-shortest varints, header bytes after the known fields
/// and trailers included), except that a [`sockframe::Kind::PING`] comes back as a [`sockframe::Kind::PONG`] (the
/// same bytes but the kind byte) and a limits request is answered with the limits PONG.
///
/// Frames larger than the decoder's buffer, and frames with a trailer, are echoed
/// cut-through: the head as soon as it is in, then each chunk as it arrives, then the
/// trailer. When such a frame's input is cut or bad after its head went back, the driver
/// finishes it as section 6.1 says ([`Handler::forwards`]): filler and an ABORT if it has a
/// trailer, else a close without an ERROR frame (or, for a streamed payload whose checksum
/// did not match at its end, the ERROR frame after the whole echo).
#[derive(Debug, Default, Clone, Copy)]
pub struct Echo;

/// How much longer a limits PONG's head can be than the limits request's. Both have the
/// same id, len, flags and crc; the PONG has no name (1 byte, at most the request's) and
/// 4 metadata entries: `max-header` (at most 512, 3 digits: 11 + 4 bytes), `max-payload`
/// (at most 20 digits: 12 + 21), `max-meta` (8: 9 + 2), `trailer` (8 + 2), with their
/// count, 70 bytes, against at least 9 for the request's (the count, and `limits` with an
/// empty value).
const LIMITS_PONG_GROWTH: usize = 61;

impl Handler for Echo {
    /// Out of line: a firmware with one driver would inline it into its main loop, with its
    /// 256-byte scratch (more flash in the board's TCP echo).
    #[inline(never)]
    fn on_event(&mut self, event: Event<'_>, reply: &mut Reply<'_, '_>) -> Result<(), ReplyError> {
        let mut scratch = [0u8; sockframe::ECHO_SCRATCH];
        let raw = reply.raw();
        let answer = echo_reply(&event, raw, reply.limits(), &mut scratch);
        // The answer's pieces where they are (what `EchoReply::pieces` gives, without
        // copying them into an array of five).
        let pieces: &[&[u8]] = match &answer {
            EchoReply::Forward(raw) => core::slice::from_ref(raw),
            EchoReply::Pong(pieces) => pieces,
            EchoReply::LimitsPong(pieces) => pieces,
        };
        for piece in pieces {
            if !piece.is_empty() {
                reply.send(piece)?;
            }
        }
        Ok(())
    }

    fn reserve(&self, event_len: usize) -> usize {
        event_len + LIMITS_PONG_GROWTH
    }

    /// Chunks and trailers come back as they are.
    fn reserve_streamed(&self, event_len: usize) -> usize {
        event_len
    }

    fn forwards(&self) -> bool {
        true
    }
}

/// The framed echo on a pool of sockets: a [`Service`] running [`Echo`].
pub type EchoService<const POOL: usize, const N: usize> = Service<Echo, POOL, N>;

/// A pool of `POOL` TCP sockets serving one [`Handler`] `H` on one port, each with an
/// `N`-byte decoder buffer (`N` + about 100 bytes of RAM per socket). One handler value
/// serves every socket of the pool: keep per-connection state out of it, or reset it in
/// [`Handler::on_open`] (a pool of one serves one connection at a time).
///
/// smoltcp has no accept backlog: each socket serves one connection, so `POOL` is the
/// number of concurrent clients; a client beyond it gets a reset. A socket listens again
/// as soon as its connection ends (closed, reset, timed out).
///
/// Each socket's send buffer must hold at least `handler.reserve(N)` bytes (`N` + 61 for
/// the echo: a limits PONG is longer than its request).
pub struct Service<H, const POOL: usize, const N: usize> {
    port: u16,
    handler: H,
    slots: [(SocketHandle, Connection<N>); POOL],
}

impl<const POOL: usize, const N: usize> Service<Echo, POOL, N> {
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
        Self::with_handler(port, handles, Echo, limits)
    }
}

impl<H: Handler, const POOL: usize, const N: usize> Service<H, POOL, N> {
    /// Serves `handler` on `port` with the sockets behind `handles` (see
    /// [`EchoService::new`]) and the given decoder limits.
    ///
    /// # Panics
    /// If `port` is 0.
    pub fn with_handler(
        port: u16,
        handles: [SocketHandle; POOL],
        handler: H,
        limits: Limits,
    ) -> Self {
        assert!(port != 0, "sockframe-smoltcp: cannot listen on port 0");
        Service {
            port,
            handler,
            slots: handles.map(|handle| (handle, Connection::with_limits(limits))),
        }
    }

    /// The handler (for its state or counters).
    pub fn handler(&self) -> &H {
        &self.handler
    }

    /// The handler, mutably.
    pub fn handler_mut(&mut self) -> &mut H {
        &mut self.handler
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
    /// than `handler.reserve(N)`.
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
            moved |= connection.poll_socket(socket, &mut self.handler);
        }
        moved
    }

    /// The connections with their socket handles (for logs: [`Connection::error`]).
    pub fn connections(&self) -> impl Iterator<Item = (SocketHandle, &Connection<N>)> {
        self.slots.iter().map(|(handle, conn)| (*handle, conn))
    }
}
