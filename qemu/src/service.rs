//! The per-connection service run on each TCP socket of the pool.
//!
//! The boundary is [`Session`]: one per socket, reset (`Session::default()`) whenever the
//! socket listens anew, and [`Session::poll_socket`] called after every `Interface::poll`.
//! It returns true if it moved data (the caller then polls the interface again before
//! sleeping). Today the only service is the plain, unframed echo (`plain-echo` feature, kept
//! later as the benchmark baseline); the framed echo of `sockframe-smoltcp` will come in as
//! the other implementation of the same boundary.

use smoltcp::socket::tcp;

#[cfg(not(feature = "plain-echo"))]
compile_error!("no service selected: the framed service is not wired in yet, enable `plain-echo`");

#[cfg(feature = "plain-echo")]
pub use plain::Session;

#[cfg(feature = "plain-echo")]
mod plain {
    use super::tcp;

    /// Plain echo keeps no state between polls.
    #[derive(Default)]
    pub struct Session {}

    impl Session {
        /// Echoes received bytes back, with backpressure: only as much is read as fits in the
        /// send buffer, so unread bytes stay in the receive window. Closes the socket once the
        /// peer has closed its side and everything received has been queued for sending.
        pub fn poll_socket(&mut self, socket: &mut tcp::Socket<'_>) -> bool {
            let mut moved = false;
            let mut chunk = [0u8; 512];
            while socket.can_recv() && socket.can_send() {
                let room = socket.send_capacity() - socket.send_queue();
                let want = room.min(chunk.len());
                let Ok(n) = socket.recv_slice(&mut chunk[..want]) else {
                    break;
                };
                if n == 0 {
                    break;
                }
                // Cannot fail short: `n` bytes were measured to fit.
                let _ = socket.send_slice(&chunk[..n]);
                moved = true;
            }
            if !socket.may_recv() && socket.may_send() && socket.recv_queue() == 0 {
                socket.close(); // FIN goes out after the queued echo
                moved = true;
            }
            moved
        }
    }
}
