//! The echo service run on the socket pool, chosen at build time:
//!
//! - default: the framed echo of `sockframe-smoltcp` (frames come back unchanged, PING gets
//!   PONG, bad input gets an error frame and the connection closes);
//! - feature `plain-echo`: a plain, unframed TCP echo, the benchmark baseline.
//!
//! Both have the same shape: `Service::new(port, handles)` over sockets the caller created,
//! then `poll(&mut sockets)` after every `Interface::poll`; it returns true if it moved data
//! (the caller then polls the interface again before sleeping). Sockets listen on the first
//! poll, and again whenever their connection ends.

/// The decoder buffer of each framed connection: frames up to this size (prefix, header,
/// payload) come out whole, larger ones are echoed cut-through. It holds the largest header
/// the adapter accepts (512 B). Each socket's send buffer must be at least this large.
#[cfg(not(feature = "plain-echo"))]
pub const FRAME_BUF: usize = 1024;

#[cfg(not(feature = "plain-echo"))]
pub type Service<const POOL: usize> = sockframe_smoltcp::EchoService<POOL, FRAME_BUF>;

#[cfg(feature = "plain-echo")]
pub use plain::Service;

#[cfg(feature = "plain-echo")]
mod plain {
    use smoltcp::iface::{SocketHandle, SocketSet};
    use smoltcp::socket::tcp;

    /// The plain echo keeps no state besides the pool.
    pub struct Service<const POOL: usize> {
        port: u16,
        handles: [SocketHandle; POOL],
    }

    impl<const POOL: usize> Service<POOL> {
        pub fn new(port: u16, handles: [SocketHandle; POOL]) -> Self {
            Service { port, handles }
        }

        pub fn poll(&mut self, sockets: &mut SocketSet<'_>) -> bool {
            let mut moved = false;
            for handle in self.handles {
                let socket = sockets.get_mut::<tcp::Socket>(handle);
                if !socket.is_open() {
                    let _ = socket.listen(self.port);
                }
                moved |= echo(socket);
            }
            moved
        }
    }

    /// Echoes received bytes back, with backpressure: only as much is read as fits in the
    /// send buffer, so unread bytes stay in the receive window. Closes the socket once the
    /// peer has closed its side and everything received has been queued for sending.
    fn echo(socket: &mut tcp::Socket<'_>) -> bool {
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
