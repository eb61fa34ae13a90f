//! The per-connection echo run on each socket of the pool, chosen at build time:
//!
//! - default: the framed echo of `sockframe-smoltcp` (frames come back unchanged, PING gets
//!   PONG, bad input gets an error frame and the connection closes);
//! - feature `plain-echo`: a plain, unframed TCP echo, the benchmark baseline.
//!
//! On UART0, [`UartLink`] runs the same echo (framed through `sockframe-smoltcp`'s port
//! driver, or plain bytes).
//!
//! Both are a [`Session`] per socket: [`Session::reset`] whenever the socket listens anew,
//! [`Session::poll_socket`] after every `Interface::poll`, which returns true if it moved
//! data (the caller then polls the interface again before sleeping).

use smoltcp::socket::tcp;

/// The framed echo: a `sockframe-smoltcp` connection with a `FRAME_BUF`-byte decoder.
#[cfg(not(feature = "plain-echo"))]
pub struct Session(sockframe_smoltcp::Connection<FRAME_BUF>);

/// The decoder buffer of each framed connection: frames up to this size (prefix, header,
/// payload) come out whole, larger ones are echoed cut-through. It holds the largest header
/// the adapter accepts (512 B). Each socket's send buffer must be at least this large.
#[cfg(not(feature = "plain-echo"))]
pub const FRAME_BUF: usize = 1024;

#[cfg(not(feature = "plain-echo"))]
impl Session {
    pub fn new() -> Self {
        Session(sockframe_smoltcp::Connection::new())
    }

    pub fn reset(&mut self) {
        self.0.reset();
    }

    pub fn poll_socket(&mut self, socket: &mut tcp::Socket<'_>) -> bool {
        self.0.poll_socket(socket, &mut sockframe_smoltcp::Echo)
    }
}

/// The plain echo keeps no state between polls.
#[cfg(feature = "plain-echo")]
pub struct Session;

#[cfg(feature = "plain-echo")]
impl Session {
    pub fn new() -> Self {
        Session
    }

    pub fn reset(&mut self) {}

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

/// The framed service on the UART: `sockframe-smoltcp`'s port driver with the same [`Echo`]
/// handler as the sockets (or, with feature `sensor`, the example [`Sensor`]), and a
/// `FRAME_BUF`-byte receive buffer.
///
/// [`Echo`]: sockframe_smoltcp::Echo
/// [`Sensor`]: sockframe_smoltcp::sensor::Sensor
#[cfg(not(any(feature = "plain-echo", feature = "plain-uart")))]
pub struct UartLink {
    port: sockframe_smoltcp::Port<FRAME_BUF, UART_OUT>,
    handler: UartHandler,
    /// Whether the port driver has been polled once (its first poll opens the link).
    started: bool,
}

/// What the UART serves.
#[cfg(not(any(feature = "plain-echo", feature = "plain-uart", feature = "sensor")))]
type UartHandler = sockframe_smoltcp::Echo;
#[cfg(all(
    not(any(feature = "plain-echo", feature = "plain-uart")),
    feature = "sensor"
))]
type UartHandler = sockframe_smoltcp::sensor::Sensor;

/// The port driver's output buffer: a full decoder buffer's answer (`Echo::reserve`: the
/// echo may grow a limits PING's PONG by 61 bytes) or an ERROR frame (320 B); the port
/// checks both on every poll.
#[cfg(not(any(feature = "plain-echo", feature = "plain-uart")))]
const UART_OUT: usize = FRAME_BUF + 64;

#[cfg(not(any(feature = "plain-echo", feature = "plain-uart")))]
impl UartLink {
    pub fn new() -> Self {
        UartLink {
            port: sockframe_smoltcp::Port::new(),
            handler: UartHandler::default(),
            started: false,
        }
    }

    /// Moves what it can between the UART and the echo; true if anything moved.
    ///
    /// The port driver is only polled when it can have work: bytes came in, or its answers
    /// still wait for the UART. After a poll it has taken every event its output buffer had
    /// room for, so with both empty a poll would only walk the decoder to find nothing. The
    /// main loop passes here on every turn, for the sockets' sake too: skipping the idle
    /// poll keeps that turn as cheap as the plain echo's.
    pub fn poll(&mut self, uart: &mut crate::uart::Uart) -> bool {
        let moved = uart.poll();
        if self.started && self.port.pending() == 0 && !crate::uart::has_work() {
            return moved;
        }
        self.started = true;
        let Ok(busy) = self.port.poll(uart, &mut self.handler);
        moved | busy
    }

    /// Bytes received on the link and skipped (noise, damaged or unchecked frames), for
    /// the stats line; saturates (a u32 keeps 64-bit formatting out of the image).
    pub fn skipped(&self) -> u32 {
        u32::try_from(self.port.skipped()).unwrap_or(u32::MAX)
    }
}

/// The plain byte echo on the UART (the baseline's, and with feature `plain-uart` beside the
/// framed TCP echo).
#[cfg(any(feature = "plain-echo", feature = "plain-uart"))]
pub struct UartLink;

#[cfg(any(feature = "plain-echo", feature = "plain-uart"))]
impl UartLink {
    pub fn new() -> Self {
        UartLink
    }

    pub fn poll(&mut self, uart: &mut crate::uart::Uart) -> bool {
        crate::uart::echo_bytes(uart)
    }

    /// A byte echo skips nothing.
    pub fn skipped(&self) -> u32 {
        0
    }
}
