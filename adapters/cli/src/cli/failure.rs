//! Errors that end the command, with the exit code they map to.

use sockframe_std::ClientError;

/// Exit code: the remote side reported an error or broke the protocol.
pub const REMOTE: i32 = 1;
/// Exit code: bad arguments (clap uses the same code).
pub const USAGE: i32 = 2;
/// Exit code: could not connect, or the connection failed.
pub const CONNECT: i32 = 3;

/// A failure: the message printed on stderr and the exit code.
#[derive(Debug)]
pub struct Failure {
    /// The exit code.
    pub code: i32,
    /// What went wrong.
    pub message: String,
}

impl Failure {
    /// A connection failure (exit 3).
    pub fn connect(message: impl Into<String>) -> Self {
        Failure {
            code: CONNECT,
            message: message.into(),
        }
    }

    /// A usage error (exit 2).
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }

    /// A remote or protocol error (exit 1).
    pub fn remote(message: impl Into<String>) -> Self {
        Failure {
            code: REMOTE,
            message: message.into(),
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        // A TLS record (handshake 0x16 or alert 0x15, then version 0x03) where a frame was
        // expected: the server speaks TLS.
        if let ClientError::Decode(sockframe::DecodeError::BadMagic { seen, seen_len }) = &e
            && *seen_len >= 2
            && matches!(seen[..2], [0x15 | 0x16, 0x03])
        {
            return Failure::remote(format!("the server speaks TLS; use --tls ({e})"));
        }
        Failure {
            code: e.exit_code(),
            message: e.to_string(),
        }
    }
}
