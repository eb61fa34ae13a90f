//! # sockframe-std
//!
//! The desktop side of sockframe: a blocking [`Client`] and a tokio [`Server`] with four
//! services. The `sockframe` command (crate `sockframe-cli`) is built on this crate's
//! public API. All framing comes from the [`sockframe`] core crate; this crate only moves
//! bytes and decides what to answer.
//!
//! Cargo features: `exec` (the exec service, `services::exec`) and `files` (the files
//! service and `Client::put_file` / `Client::get_file`), both off by default: they
//! bring dependencies (nix, cap-std) an application that does not serve them should not
//! carry. Feature `tls` (module `tls`, off by default) adds TLS to the server and both
//! clients (rustls with the ring provider). Feature `serial` (module `serial`, off by
//! default) puts both clients and the server on a serial port (`serial:/dev/ttyUSB0,115200`).
//!
//! ```no_run
//! use sockframe_std::services::Echo;
//! use sockframe_std::{Client, Server, ServerConfig};
//!
//! // A server on a free loopback port, on its own thread (stopped when `handle` drops).
//! let cfg = ServerConfig { bind: "127.0.0.1:0".parse().unwrap(), ..ServerConfig::default() };
//! let handle = Server::spawn_thread(cfg, Echo).unwrap();
//!
//! let mut client = Client::connect(handle.local_addr()).unwrap();
//! let reply = client.request(b"hello").unwrap();
//! assert_eq!(reply.payload, b"hello");
//! ```
//!
//! ## Which entry point fits you
//!
//! | you write | use | why |
//! | --- | --- | --- |
//! | a program that is not async, one request at a time (a script, a CLI) | the blocking [`Client`] | plain `std::net`; full duplex, so large requests cannot deadlock |
//! | a tokio program sending many requests, from many tasks, on one connection | [`async_client::AsyncClient`] | ids allocated and replies matched for you; timeouts, cancellation by drop, typed error frames, streamed bodies |
//! | a tokio program with its own loop over frames, client or server side | [`codec::FrameCodec`] (whole frames) or [`codec::StreamingFrameCodec`] (large payloads in chunks) with tokio-util's `Framed` | a `Stream` + `Sink` of owned frames, the core's decoder and limits underneath |
//! | a server for your own frame kinds | [`Service`] on [`Server`] | limits, deadlines, `busy`, graceful shutdown, error frames, buffer pool, stats |
//! | the least on top of the core: a board, `no_std`, any `embedded-io` transport, or tokio without this crate's types | the core's [`sockframe::io_async`] / [`sockframe::io`] over [`Decoder`](sockframe::Decoder) | frames borrowed from your buffer, no allocation |
//!
//! The last one from tokio takes one adapter, `embedded_io_adapters::tokio_1::FromTokio`,
//! which gives a tokio stream the `embedded-io-async` traits the core reads and writes with
//! (this crate's async client reads its replies exactly this way):
//!
//! ```no_run
//! use embedded_io_adapters::tokio_1::FromTokio;
//! use sockframe::{Decoder, Event, Header, io_async};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let stream = tokio::net::TcpStream::connect("127.0.0.1:9000").await?;
//! let mut io = FromTokio::new(stream);
//! io_async::write_frame(&mut io, &Header::data(1, b"hi"), b"hi").await?;
//! let mut dec = Decoder::new([0u8; 1024]); // replies up to 1 KiB arrive whole
//! if let Some(Event::Frame(reply)) = io_async::read_event(&mut io, &mut dec).await? {
//!     assert_eq!((reply.header.id, reply.payload), (1, &b"hi"[..]));
//! }
//! # Ok(()) }
//! ```
//!
//! Runnable applications of each: the workspace's `examples/` (`cargo run --example
//! async_multiplexed`, `kv_store`, `kv_framed`).
//!
//! ## Your own services
//!
//! Implement [`Service`] (module [`service`]) and run it on the same [`Server`]: it gets
//! the limits, deadlines, `busy` refusals, graceful shutdown, error frames, buffer pool,
//! counters and tracing the built-in services get (they are written on the same trait).
//!
//! ## Built-in services and their frame kinds
//!
//! Every service answers [`Kind::PING`](sockframe::Kind::PING) with a
//! [`Kind::PONG`](sockframe::Kind::PONG) carrying the same id, and a peer that breaks the
//! framing with one [`Kind::ERROR`](sockframe::Kind::ERROR) frame (metadata `code` =
//! [`DecodeError::code`](sockframe::DecodeError::code), then the fault's numbers as the wire
//! format's section 7.4 lists them; payload = the message) before the connection is closed. Application kinds (64 and up) are listed in [`kinds`]:
//!
//! | service | client sends | server answers |
//! | --- | --- | --- |
//! | echo | any frame | the same frame, unchanged (kind, id, name, flags, crc, meta, payload) |
//! | chat | [`DATA`](sockframe::Kind::DATA) lines | `DATA` replies typed by the operator; [`kinds::CHAT_END`] when the operator ends the session |
//! | exec | [`kinds::EXEC`]: argv NUL-separated (or one shell line with metadata `shell=1`), metadata `token` | [`kinds::STDOUT`] / [`kinds::STDERR`] chunks as produced, then [`kinds::EXIT`] |
//! | files | [`kinds::PUT`] (name, len, crc, payload = content) or [`kinds::GET`] (name) | [`kinds::PUT_OK`], or [`kinds::FILE`] (name, len, crc, payload = content) |
//!
//! Service errors are `ERROR` frames with these `code`s: `busy` (max-conns reached),
//! `idle-timeout`, `frame-timeout` (a frame in progress arrived too slowly), `shutdown`,
//! `unsupported` (a kind the service does not handle), `bad-request`, `unauthorized` (exec
//! token missing or wrong), `shell-disabled`, `spawn-failed`, `timeout` (exec time limit),
//! `output-limit`, `bad-path`, `not-found`, `io`. After `busy`, `idle-timeout`,
//! `frame-timeout`, `shutdown`, `unauthorized` and framing errors the server closes the
//! connection; after the others it goes on serving it. A peer that stops reading our replies
//! for `--write-timeout` gets no error frame (it would not read it): its connection is reset.
//!
//! ## Exit codes of the `sockframe` command (crate `sockframe-cli`)
//!
//! | code | meaning |
//! | --- | --- |
//! | 0 | success |
//! | 1 | the remote side answered with an error, or broke the protocol |
//! | 2 | usage error (bad arguments) |
//! | 3 | could not connect, or the connection failed |
//!
//! `sockframe exec` exits with the remote command's status instead (128 + signal number if
//! it was killed by a signal).
#![warn(missing_docs)]
#![forbid(unsafe_code)]

pub mod async_client;
mod client;
pub mod codec;
mod conn;
mod handler;
pub mod kinds;
mod mem;
mod owned;
mod printable;
#[cfg(feature = "serial")]
pub mod serial;
mod server;
pub mod service;
pub mod services;
mod stats;
#[cfg(feature = "files")]
mod tempfile;
#[cfg(feature = "tls")]
pub mod tls;
mod transport;
mod watchdog;
pub mod wire;

pub use client::{Client, ClientError, ExecOutcome};
pub use conn::{Close, Connection};
pub use handler::Handler;
pub use mem::MemStream;
pub use owned::OwnedFrame;
pub use printable::printable;
pub use server::{Server, ServerConfig, ServerHandle};
pub use service::{Incoming, Replies, Service};
pub use stats::ServerStats;
pub use transport::Transport;
