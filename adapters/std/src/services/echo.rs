//! echo: every frame comes back unchanged (`PING` is answered with `PONG`).
//!
//! Throughput comes from batching: each read may hold many frames, every complete one is
//! answered into one output buffer, and the buffer leaves in one write. Frames larger than
//! the decoder's buffer are echoed cut-through: the head when it arrives, then each chunk,
//! so a large frame never needs a large buffer.

use crate::conn::{Close, Connection};
use crate::service::{Replies, Service};
use crate::transport::Transport;
use sockframe::Event;

/// Every frame back unchanged (kind, id, name, flags, crc, meta, payload), `PING` answered
/// with `PONG`: the same service as the board.
#[derive(Debug, Clone, Copy, Default)]
pub struct Echo;

impl Service for Echo {
    fn name(&self) -> &str {
        "echo"
    }

    async fn serve<S: Transport>(&self, conn: &mut Connection<S>) -> Result<(), Close> {
        while conn.read_more().await? {
            loop {
                while let Some(mut incoming) = conn.buffered_event()? {
                    echo(incoming.event, &mut incoming.reply);
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
}

/// Queues the echo of one event.
fn echo(ev: Event<'_>, out: &mut Replies<'_>) {
    // Re-encoding a header that was just decoded within the limits cannot fail; if it did,
    // the peer would see a framing error, which is the truth.
    match ev {
        Event::Frame(f) => {
            let _ = out.frame(&f.header.echo_reply(), f.payload);
        }
        Event::Start(h) => {
            let _ = out.head(&h.echo_reply(), h.len);
        }
        Event::Chunk(bytes) => out.body(bytes),
        Event::End => {}
        Event::Abort(a) => {
            let _ = out.frame(&a.header, a.payload);
        }
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
            let fut = handler.serve(stream, peer);
            let size = std::mem::size_of_val(&fut);
            eprintln!("echo connection future: {size} bytes");
            assert!(size <= 2048, "echo connection future is {size} bytes");
        });
    }
}
