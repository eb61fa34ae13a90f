//! Why an async client call failed.

use sockframe::{DecodeError, EncodeError};
use std::sync::Arc;
use std::time::Duration;

/// Why an [`AsyncClient`](super::AsyncClient) call failed. `Clone`: when the connection
/// dies, every request in flight gets the same error.
#[derive(Debug, Clone, thiserror::Error)]
pub enum AsyncClientError {
    /// The server answered with an error frame: for this request (`id` its id), or about
    /// the whole connection (`id` 0: `busy`, `shutdown`, `idle-timeout`, framing errors).
    #[error("server error [{code}]: {message}")]
    Remote {
        /// The id the error frame carried.
        id: u32,
        /// Metadata `code`: a short stable name.
        code: String,
        /// The payload: what went wrong.
        message: String,
    },
    /// No reply (or, for a streamed reply, no next piece) within the request's timeout.
    /// A reply that arrives later is discarded; the connection stays usable.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection ended or failed; the reason says how (with the numbers).
    #[error("connection lost: {0}")]
    ConnectionLost(Arc<str>),
    /// The server's bytes are not valid frames; the connection is closed.
    #[error("protocol error from the server: {0}")]
    Protocol(DecodeError),
    /// The request could not be encoded (too much metadata, a header over 64 KiB).
    #[error("cannot encode the request: {0}")]
    Encode(EncodeError),
    /// A reply collected whole grew past [`AsyncClientConfig::max_reply`](super::AsyncClientConfig::max_reply).
    #[error("reply is over {limit} bytes (got {got}); receive it with request_into")]
    ReplyTooLarge {
        /// Bytes received when the reply was given up.
        got: u64,
        /// The limit.
        limit: u64,
    },
    /// Reading the request body or writing the reply body failed (the connection is fine).
    #[error("body i/o failed: {0}")]
    Body(Arc<std::io::Error>),
    /// The server answered with a frame this call did not expect.
    #[error("unexpected reply: {0}")]
    Unexpected(String),
}

impl AsyncClientError {
    /// The error frame's `code`, for [`AsyncClientError::Remote`].
    pub fn code(&self) -> Option<&str> {
        match self {
            AsyncClientError::Remote { code, .. } => Some(code),
            _ => None,
        }
    }
}

impl From<EncodeError> for AsyncClientError {
    fn from(e: EncodeError) -> Self {
        AsyncClientError::Encode(e)
    }
}
