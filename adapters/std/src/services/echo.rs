//! echo: every frame comes back byte for byte (`PING` is answered with `PONG`), as the spec's
//! section 6.1 says: the head as it arrived (unknown header bytes, reserved flags and
//! non-shortest varints included), the payload, the trailer. A limits request is answered
//! with the server's limits.
//!
//! Throughput comes from batching: each read may hold many frames, every complete one is
//! answered into one output buffer, and the buffer leaves in one write. Frames larger than
//! the decoder's buffer (and frames with a trailer) are echoed cut-through: the head when it
//! arrives, then each chunk, so a large frame never needs a large buffer. When the input is
//! cut inside such a frame, the echo ends it as the spec says: filler and an ABORT for a
//! frame with a trailer, a close without an error frame (which would read as payload) for
//! one without.

use crate::conn::{Close, Connection};
use crate::service::{Replies, Service};
use crate::transport::Transport;
use sockframe::{Ending, Event, Forwarding, Limits, echo_reply, encode_decode_abort};

/// Every frame back unchanged, byte for byte, `PING` answered with `PONG`: the same service
/// as the board.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

impl Service for Echo {
    fn name(&self) -> &str {
        "echo"
    }

    async fn serve<S: Transport>(&self, conn: &mut Connection<S>) -> Result<(), Close> {
        let mut fwd = Forwarding::default();
        match echo_all(conn, &mut fwd).await {
            Err(Close::Decode(e)) => Err(end_open_frame(conn, fwd.ending(), e).await),
            other => other,
        }
    }
}

async fn echo_all<S: Transport>(
    conn: &mut Connection<S>,
    fwd: &mut Forwarding,
) -> Result<(), Close> {
    let limits = conn.accepted_limits();
    while conn.read_more().await? {
        loop {
            while let Some(mut incoming) = conn.buffered_event()? {
                fwd.track(&incoming.event);
                echo(incoming.event, incoming.raw, limits, &mut incoming.reply);
                if incoming.reply.queued() >= Connection::<S>::FLUSH_AT {
                    conn.flush().await?;
                }
            }
            // Mid-frame with room left in the output: take what else has already
            // arrived before writing, so a large frame leaves in a few big writes
            // rather than one per buffer. (Between frames this would cost ping-pong a
            // useless read.)
            if !conn.mid_frame()
                || conn.replies().queued() >= Connection::<S>::FLUSH_AT
                || !conn.try_read_more().await?
            {
                break;
            }
        }
        conn.flush().await?;
    }
    Ok(())
}

/// Queues the echo of one event (`raw`: its bytes as they arrived), by the core's rule.
fn echo(ev: Event<'_>, raw: &[u8], limits: Limits, out: &mut Replies<'_>) {
    let mut scratch = [0u8; sockframe::ECHO_SCRATCH];
    for piece in echo_reply(&ev, raw, limits, &mut scratch).pieces() {
        if !piece.is_empty() {
            out.body(piece);
        }
    }
}

/// How the echo ends when its input failed with `e` while a frame was going out
/// cut-through (spec 6.1): a frame with a trailer gets filler and an ABORT before the error
/// frame; one without, cut inside its payload, only a close (an error frame would be read
/// as its payload).
async fn end_open_frame<S: Transport>(
    conn: &mut Connection<S>,
    ending: Ending,
    e: sockframe::DecodeError,
) -> Close {
    match ending {
        Ending::Abort { id, filler } => {
            const ZEROS: [u8; 4096] = [0; 4096];
            let mut left = filler;
            while left > 0 {
                let n = left.min(ZEROS.len() as u64) as usize;
                if conn.write_body(&ZEROS[..n]).await.is_err() {
                    return Close::Quiet;
                }
                left -= n as u64;
            }
            let mut abort = [0u8; sockframe::ERROR_FRAME_MAX];
            if let Ok(n) = encode_decode_abort(id, &e, &mut abort) {
                conn.replies().body(&abort[..n]);
            }
            Close::Decode(e)
        }
        Ending::Close => Close::Quiet,
        Ending::Error => Close::Decode(e),
    }
}

#[cfg(test)]
mod tests {
    use super::Echo;
    use crate::{Handler, ServerConfig};

    /// An idle connection's memory is mostly its task, and a task is as large as its
    /// future: keep the echo connection's future small (the target is 4 KiB per idle
    /// connection, sockets and bookkeeping included).
    #[test]
    fn echo_connection_future_is_small() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let addr = listener.local_addr().unwrap();
            let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
            let (stream, peer) = listener.accept().await.unwrap();
            let cfg = ServerConfig {
                idle_timeout: None,
                frame_timeout: None,
                write_timeout: None,
                ..ServerConfig::default()
            };
            let handler = Handler::new(&cfg, Echo).unwrap();
            // What each connection's task holds, TLS support compiled in or not (a TLS
            // session is boxed apart: it once made every plain task 5 KiB).
            let fut = crate::server::serve_connection(&handler, stream, peer, None);
            let size = std::mem::size_of_val(&fut);
            eprintln!("echo connection future: {size} bytes");
            assert!(size <= 2048, "echo connection future is {size} bytes");
        });
    }
}
