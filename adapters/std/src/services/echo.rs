//! echo: every frame comes back unchanged (`PING` is answered with `PONG`).
//!
//! Throughput comes from batching: each read may hold many frames, every complete one is
//! answered into one output buffer, and the buffer leaves in one write. Frames larger than
//! the decoder's buffer are echoed cut-through: the head when it arrives, then each chunk,
//! so a large frame never needs a large buffer.

use crate::conn::{Close, Conn, FLUSH_AT, Input};
use crate::transport::Transport;
use crate::wire::{push_frame, push_head};
use sockframe::Event;

/// Serves one connection until it ends.
pub(crate) async fn serve<S: Transport>(mut conn: Conn<S>) {
    let close = 'conn: loop {
        let mut input = conn.fill().await;
        loop {
            match input {
                Ok(Input::Data) => {}
                Ok(Input::Eof) => break 'conn end_of_stream(&mut conn),
                Ok(other @ (Input::Idle | Input::Shutdown | Input::FrameTimeout)) => {
                    break 'conn conn.input_close(other);
                }
                Err(e) => {
                    tracing::debug!(peer = %conn.peer, "read failed: {e}");
                    break 'conn Close::Quiet;
                }
            }
            if let Err(close) = answer_buffered(&mut conn).await {
                break 'conn close;
            }
            // Mid-frame with room left in the output: take what else has already arrived
            // before writing, so a large frame leaves in a few big writes rather than one
            // per buffer. (Between frames this would cost ping-pong a useless read.)
            if !conn.mid_frame() || conn.out.len() >= FLUSH_AT {
                break;
            }
            input = match conn.try_fill().await {
                Ok(Some(more)) => Ok(more),
                Ok(None) => break,
                Err(e) => Err(e),
            };
        }
        if let Err(e) = conn.flush().await {
            tracing::debug!(peer = %conn.peer, "write failed: {e}");
            break Close::Quiet;
        }
    };
    // Boxed: closing happens once, and its future (a drain buffer, a timer) would
    // otherwise be part of every idle connection's task.
    Box::pin(conn.close(close)).await;
}

/// The peer closed its side: fine between frames, a truncation error inside one.
fn end_of_stream<S: Transport>(conn: &mut Conn<S>) -> Close {
    match conn.decoder().finish() {
        Ok(()) => Close::Quiet,
        Err(e) => Close::error(0, e.code(), e),
    }
}

/// Answers every event the bytes read so far complete, into `conn.out`.
async fn answer_buffered<S: Transport>(conn: &mut Conn<S>) -> Result<(), Close> {
    loop {
        let Some(dec) = conn.dec.as_mut() else {
            return Ok(());
        };
        match dec.next_event() {
            Ok(Some(ev)) => {
                if matches!(ev, Event::Frame(_) | Event::End) {
                    conn.shared.stats.count_frame();
                }
                echo(ev, &mut conn.out)
            }
            Ok(None) => return Ok(()),
            Err(e) => return Err(Close::error(0, e.code(), e)),
        }
        if conn.out.len() >= FLUSH_AT {
            conn.flush().await.map_err(|_| Close::Quiet)?;
        }
    }
}

/// Appends the echo of one event.
fn echo(ev: Event<'_>, out: &mut Vec<u8>) {
    // Re-encoding a header that was just decoded within the limits cannot fail; if it did,
    // the peer would see a framing error, which is the truth.
    match ev {
        Event::Frame(f) => {
            let _ = push_frame(out, &f.header.echo_reply(), f.payload);
        }
        Event::Start(h) => {
            let _ = push_head(out, &h.echo_reply(), h.len);
        }
        Event::Chunk(bytes) => out.extend_from_slice(bytes),
        Event::End => {}
    }
}
