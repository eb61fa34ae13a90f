//! Frames with every field owned: what the tokio codec and the async client hand out and take.

use bytes::{Bytes, BytesMut};
use sockframe::{EncodeError, Flags, Header, Kind, MAX_META, encode_head};

/// A frame's header with its fields owned (the core's [`Header`] borrows them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FrameHead {
    /// What the frame is.
    pub kind: Kind,
    /// Message id: a reply carries its request's id.
    pub id: u32,
    /// Payload length in bytes. For a [`BytesFrame`] the encoder takes it from the payload.
    pub len: u64,
    /// Flags, such as [`Flags::MORE`].
    pub flags: Flags,
    /// Optional name.
    pub name: Option<String>,
    /// Optional CRC-32C of the payload (already verified when received).
    pub crc: Option<u32>,
    /// Metadata entries, in order (at most [`MAX_META`] are sent).
    pub meta: Vec<(String, String)>,
}

impl FrameHead {
    /// A head with the given kind and id, and nothing else.
    pub fn new(kind: Kind, id: u32) -> Self {
        FrameHead {
            kind,
            id,
            len: 0,
            flags: Flags::default(),
            name: None,
            crc: None,
            meta: Vec::new(),
        }
    }

    /// Copies a borrowed header.
    #[inline]
    pub fn from_header(header: &Header<'_>) -> Self {
        FrameHead {
            kind: header.kind,
            id: header.id,
            len: header.len,
            flags: header.flags,
            name: header.name.map(str::to_owned),
            crc: header.crc,
            meta: match header.meta.is_empty() {
                true => Vec::new(),
                false => header
                    .meta
                    .iter()
                    .map(|(k, v)| (k.to_owned(), v.to_owned()))
                    .collect(),
            },
        }
    }

    /// The value of the first metadata entry named `key`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether more fragments of this message follow.
    pub fn more(&self) -> bool {
        self.flags.contains(Flags::MORE)
    }

    /// Appends prefix and header for a payload of `len` bytes (which replaces `self.len`),
    /// encoded once (no pass to measure it first). The metadata is lent to the core's
    /// encoder from the stack: no allocation.
    pub(crate) fn put(&self, len: u64, dst: &mut BytesMut) -> Result<(), EncodeError> {
        if self.meta.len() > MAX_META {
            return Err(EncodeError::TooMuchMetadata {
                count: self.meta.len(),
                limit: MAX_META,
            });
        }
        let mut pairs;
        let mut header = Header::new(self.kind, self.id, len);
        if !self.meta.is_empty() {
            pairs = [("", ""); MAX_META];
            for (pair, (k, v)) in pairs.iter_mut().zip(&self.meta) {
                *pair = (k.as_str(), v.as_str());
            }
            header = header.with_meta(&pairs[..self.meta.len()]);
        }
        header.flags = self.flags;
        header.name = self.name.as_deref();
        header.crc = self.crc;
        // Most heads fit a small array, written once and appended; a longer one says how
        // long it is and is written once more, straight into `dst`.
        let mut head = [0u8; HEAD_ROOM];
        let need = match encode_head(&header, len, &mut head) {
            Ok(n) => {
                dst.extend_from_slice(&head[..n]);
                return Ok(());
            }
            Err(EncodeError::BufferTooSmall { need, .. }) => need,
            Err(e) => return Err(e),
        };
        let at = dst.len();
        dst.resize(at + need, 0);
        match encode_head(&header, len, &mut dst[at..]) {
            Ok(n) => {
                dst.truncate(at + n);
                Ok(())
            }
            Err(e) => {
                dst.truncate(at);
                Err(e)
            }
        }
    }
}

/// The array a head is first written into: every head without name, checksum or metadata
/// (at most 25 bytes) and a few more fit.
const HEAD_ROOM: usize = 32;

/// A whole frame: owned header fields and a [`Bytes`] payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BytesFrame {
    /// The header; `head.len` equals `payload.len()` on received frames and is ignored
    /// (taken from the payload) when sending.
    pub head: FrameHead,
    /// The payload (its checksum, if the header had one, verified).
    pub payload: Bytes,
}

impl BytesFrame {
    /// A frame of `kind` and `id` carrying `payload`.
    pub fn new(kind: Kind, id: u32, payload: impl Into<Bytes>) -> Self {
        let payload = payload.into();
        let mut head = FrameHead::new(kind, id);
        head.len = payload.len() as u64;
        BytesFrame { head, payload }
    }

    /// A [`Kind::DATA`] frame.
    pub fn data(id: u32, payload: impl Into<Bytes>) -> Self {
        BytesFrame::new(Kind::DATA, id, payload)
    }

    /// Copies a frame the core's decoder handed out.
    pub fn from_parts(header: &Header<'_>, payload: &[u8]) -> Self {
        BytesFrame {
            head: FrameHead::from_header(header),
            payload: Bytes::copy_from_slice(payload),
        }
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.head.name = Some(name.into());
        self
    }

    /// Appends a metadata entry.
    pub fn with_meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.head.meta.push((key.into(), value.into()));
        self
    }

    /// Sets the CRC-32C of the payload, so the receiver verifies it.
    pub fn with_crc(mut self) -> Self {
        self.head.crc = Some(sockframe::checksum::crc32c(&self.payload));
        self
    }

    /// The value of the first metadata entry named `key`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.head.meta(key)
    }

    /// The payload as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    /// For a [`Kind::ERROR`] frame: its `code` (`"unknown"` if it has none) and message.
    pub fn error(&self) -> Option<(String, String)> {
        (self.head.kind == Kind::ERROR).then(|| {
            (
                self.meta("code").unwrap_or("unknown").to_owned(),
                self.text(),
            )
        })
    }

    /// Appends the whole frame to `dst` (`head.len` taken from the payload).
    pub(crate) fn put(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        dst.reserve(HEAD_ROOM + self.payload.len());
        self.head.put(self.payload.len() as u64, dst)?;
        dst.extend_from_slice(&self.payload);
        Ok(())
    }
}

/// One item of a stream that carries frames larger than the receive buffer as pieces
/// (what [`StreamingFrameCodec`](super::StreamingFrameCodec) reads and writes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FramePart {
    /// A frame small enough to arrive whole.
    Whole(BytesFrame),
    /// The head of a large frame: `head.len` payload bytes follow as [`FramePart::Chunk`]s.
    Start(FrameHead),
    /// The next piece of the large frame's payload; unverified until [`FramePart::End`].
    Chunk(Bytes),
    /// The large frame's payload is complete (its checksum, if any, matched).
    End,
}
