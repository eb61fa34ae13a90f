//! sockframe over [smoltcp] TCP sockets, for firmware: `no_std`, no allocator, poll style.
//!
//! All framing comes from the [`sockframe`] core; this crate only moves bytes between a
//! `smoltcp::socket::tcp::Socket` and the core's [`Decoder`](sockframe::Decoder), with
//! backpressure.
//!
//! - [`Connection`]: the driver for one socket. Received bytes go straight into the decoder;
//!   each decoded event goes to a [`Handler`], which queues its reply into the socket's send
//!   buffer. An event is only taken once the send buffer has room for its whole reply, so
//!   when the peer stops reading, the driver stops reading too (bytes wait in the socket's
//!   receive buffer, the TCP window closes) and no byte is ever dropped, reordered or
//!   duplicated. Bad input gets the core's error frame (its numbers as metadata), then the
//!   connection closes.
//! - [`EchoService`]: a pool of sockets listening on one port, each running a
//!   [`Connection`] with the [`Echo`] handler: frames come back byte for byte as they
//!   arrived (frames larger than the decoder's buffer, and frames with a trailer,
//!   cut-through, chunk by chunk), [`Kind::PING`](sockframe::Kind::PING) is answered with
//!   [`Kind::PONG`](sockframe::Kind::PONG), a limits request with the limits PONG, and a
//!   forwarded frame whose input is cut is aborted (spec, section 6.1).
//!
//! ```
//! use smoltcp::iface::{SocketSet, SocketStorage};
//! use smoltcp::socket::tcp;
//! use sockframe_smoltcp::EchoService;
//!
//! // On a board these are `static` buffers; socket send buffers must hold at least the
//! // echo's answer to a full decoder buffer (here 1 KiB + 61 B).
//! let mut storage = [SocketStorage::EMPTY; 2];
//! let (mut rx, mut tx) = ([[0u8; 2048]; 2], [[0u8; 2048]; 2]);
//! let mut sockets = SocketSet::new(&mut storage[..]);
//! let mut bufs = rx.iter_mut().zip(tx.iter_mut());
//! let handles = core::array::from_fn(|_| {
//!     let (rx, tx) = bufs.next().unwrap();
//!     sockets.add(tcp::Socket::new(
//!         tcp::SocketBuffer::new(&mut rx[..]),
//!         tcp::SocketBuffer::new(&mut tx[..]),
//!     ))
//! });
//! let mut service: EchoService<2, 1024> = EchoService::new(7, handles);
//!
//! // The main loop: `iface.poll(now, &mut device, &mut sockets)`, then
//! let busy = service.poll(&mut sockets); // true: poll the interface again before sleeping
//! # let _ = busy;
//! assert!(sockets.get::<tcp::Socket>(handles[0]).is_listening());
//! ```
//!
//! A firmware with its own pool loop can run the driver per socket instead: one
//! [`Connection`] per socket, [`reset`](Connection::reset) whenever the socket listens
//! anew, [`poll_socket`](Connection::poll_socket) after every `Interface::poll`.
//!
//! ```
//! use smoltcp::socket::tcp;
//! use sockframe_smoltcp::{Connection, Echo};
//!
//! fn serve(socket: &mut tcp::Socket<'_>, conn: &mut Connection<1024>) -> bool {
//!     if !socket.is_open() {
//!         conn.reset();
//!         let _ = socket.listen(7);
//!     }
//!     conn.poll_socket(socket, &mut Echo)
//! }
//! # let (mut rx, mut tx) = ([0u8; 2048], [0u8; 2048]);
//! # let mut socket = tcp::Socket::new(
//! #     tcp::SocketBuffer::new(&mut rx[..]),
//! #     tcp::SocketBuffer::new(&mut tx[..]),
//! # );
//! # let mut conn = Connection::<1024>::new();
//! # assert!(!serve(&mut socket, &mut conn));
//! # assert!(socket.is_listening());
//! ```
//!
//! One [`Handler`] runs on TCP ([`Service`] for a pool of sockets on one port, or
//! [`Connection`] per socket) and on a byte port such as a UART ([`Port`], over any
//! embedded-io `Read + ReadReady + Write + WriteReady`), all in poll style, so a main loop
//! serves both. A handler answers through a [`Reply`], which writes into a [`Sink`] (a
//! socket's send buffer, or a [`BufSink`] byte buffer), so it is unit-tested on the host
//! without sockets ([`Reply::new`] over a [`BufSink`], or a [`Port`] over
//! [`testing::MemPort`]).
//!
//! RAM: a [`Connection<N>`](Connection) is `N` + 104 bytes on a Cortex-M (thumbv7m), the
//! socket buffers being the caller's. Give each socket a send buffer of at least
//! `handler.reserve(N)` bytes (`N` + 61 for the echo) and an inactivity timeout (`set_timeout`), so a peer that vanishes, or never closes
//! after an error, frees its socket.
#![no_std]
#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod connection;
mod echo;
mod port;
mod reply;
pub mod sensor;
pub mod testing;

pub use connection::Connection;
pub use echo::{Echo, EchoService, Service};
pub use port::{HANDLER_FAILED, Port};
pub use reply::{BufSink, Handler, Reply, ReplyError, Sink};
