//! The classic socket-programming lesson, step by step, over sockframe.
//!
//! Each lesson is a function here (so the tests in `tests/` run exactly what the examples run)
//! and a runnable example in `examples/`, started from the workspace root:
//!
//! | example | lesson | what it shows |
//! | --- | --- | --- |
//! | `cargo run --example 01_one_message` | [`one_message`] | one message each way |
//! | `cargo run --example 02_communication_loop` | [`communication_loop`] | a client sends several lines, the server answers each |
//! | `cargo run --example 03_connection_loop` | [`connection_loop`] | the server survives clients that vanish and serves the next |
//! | `cargo run --example 04_sticky_packets` | [`sticky_packets`] | raw TCP merges three sends into one read; sockframe gives back three frames |
//! | `cargo run --example 05_dict_header` | [`dict_header`] | a header with name, CRC and metadata; a payload larger than the buffer, streamed |
//!
//!
//! Then applications on the desktop library (`sockframe-std`, tokio):
//!
//! | example | module | what it shows |
//! | --- | --- | --- |
//! | `cargo run --example async_multiplexed` | [`multiplexed`] | 1,000 requests in flight over one connection with the `AsyncClient`, every reply matched by id |
//! | `cargo run --example kv_store` | [`kv`], [`kv_session`] | a service of your own (a key/value store: GET/PUT/DELETE kinds) on the server's `Service` trait, and its typed client; refusals as typed errors |
//! | `cargo run --example kv_framed` | [`kv_framed`] | the same store reached with tokio-util's `Framed<TcpStream, FrameCodec>` |
//!
//! Every lesson binds `127.0.0.1` port 0 (a free port), runs the server in a thread and the
//! client in the caller's thread, prints what went each way, and returns on its own. Only
//! `std::net`, the `sockframe` core crate (`io::read_event`, `io::write_frame`) and
//! `embedded-io-adapters` (`FromStd`, to give a `TcpStream` the embedded-io traits) are used.

pub mod common;
pub mod communication_loop;
pub mod connection_loop;
pub mod dict_header;
pub mod kv;
pub mod kv_framed;
pub mod kv_session;
pub mod multiplexed;
pub mod one_message;
pub mod sticky_packets;

pub use common::{Log, Result};
