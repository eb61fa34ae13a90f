//! Frames with every field owned: what the tokio codec and the async client hand out and take.

use bytes::{Bytes, BytesMut};
use sockframe::{EncodeError, Flags, Header, Kind, MAX_META};
use std::fmt;

/// A frame's header with its fields owned (the core's [`Header`] borrows them).
///
/// The fields every frame has are public; the name and the metadata, which most frames do
/// not carry, are kept out of line behind [`name`](FrameHead::name) and
/// [`metadata`](FrameHead::metadata): a head without them is 32 bytes, built, moved and
/// dropped without touching the heap.
///
/// ```
/// use sockframe::Kind;
/// use sockframe_std::codec::FrameHead;
///
/// let head = FrameHead::new(Kind(70), 3).with_name("upload").with_meta("mode", "0644");
/// assert_eq!((head.kind, head.id), (Kind(70), 3));
/// assert_eq!(head.name(), Some("upload"));
/// assert_eq!(head.meta("mode"), Some("0644"));
/// assert_eq!(head.metadata().len(), 1);
/// ```
#[derive(Clone)]
pub struct FrameHead {
    /// What the frame is.
    pub kind: Kind,
    /// Message id: a reply carries its request's id.
    pub id: u32,
    /// Payload length in bytes. For a [`BytesFrame`] the encoder takes it from the payload.
    pub len: u64,
    /// Flags, such as [`Flags::MORE`].
    pub flags: Flags,
    /// Optional CRC-32C of the payload (already verified when received).
    pub crc: Option<u32>,
    /// Name and metadata, when the frame has either.
    labels: Option<Box<Labels>>,
}

/// The rarely used, variable-size part of a head.
#[derive(Clone, Default)]
struct Labels {
    name: Option<String>,
    meta: Vec<(String, String)>,
}

impl FrameHead {
    /// A head with the given kind and id, and nothing else.
    #[inline]
    pub fn new(kind: Kind, id: u32) -> Self {
        FrameHead {
            kind,
            id,
            len: 0,
            flags: Flags::default(),
            crc: None,
            labels: None,
        }
    }

    /// Copies a borrowed header; a header without name and metadata (most) allocates
    /// nothing.
    #[inline]
    pub fn from_header(header: &Header<'_>) -> Self {
        FrameHead {
            kind: header.kind,
            id: header.id,
            len: header.len,
            flags: header.flags,
            crc: header.crc,
            labels: match header.name.is_none() && header.meta.is_empty() {
                true => None,
                false => Some(Labels::from_header(header)),
            },
        }
    }

    /// The name, if the frame has one.
    pub fn name(&self) -> Option<&str> {
        self.labels.as_ref()?.name.as_deref()
    }

    /// Sets or (with `None`) removes the name.
    pub fn set_name(&mut self, name: Option<String>) {
        match name {
            Some(name) => self.labels_mut().name = Some(name),
            None => {
                if let Some(labels) = &mut self.labels {
                    labels.name = None;
                }
            }
        }
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.set_name(Some(name.into()));
        self
    }

    /// The value of the first metadata entry named `key`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.metadata()
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The metadata entries, in order (at most [`MAX_META`] are sent).
    pub fn metadata(&self) -> &[(String, String)] {
        match &self.labels {
            Some(labels) => &labels.meta,
            None => &[],
        }
    }

    /// The metadata entries, to change.
    pub fn metadata_mut(&mut self) -> &mut Vec<(String, String)> {
        &mut self.labels_mut().meta
    }

    /// Appends a metadata entry.
    pub fn with_meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.metadata_mut().push((key.into(), value.into()));
        self
    }

    /// Whether more fragments of this message follow.
    pub fn more(&self) -> bool {
        self.flags.contains(Flags::MORE)
    }

    fn labels_mut(&mut self) -> &mut Labels {
        self.labels.get_or_insert_with(Box::default)
    }

    /// Appends prefix and header for a payload of `len` bytes (which replaces `self.len`),
    /// encoded once (no pass to measure it first). The common head, with no name,
    /// checksum, metadata or header check, is written from the fields directly
    /// ([`wire::append_plain_head`](crate::wire::append_plain_head)); any other goes
    /// through a core [`Header`] out of line. No allocation either way.
    #[inline(always)]
    pub(crate) fn put(&self, len: u64, dst: &mut BytesMut) -> Result<(), EncodeError> {
        if self.labels.is_none() && self.crc.is_none() && !self.flags.contains(Flags::HCHECK) {
            crate::wire::append_plain_head(dst, self.kind, self.id, len, self.flags);
            return Ok(());
        }
        self.put_any(len, dst)
    }

    /// [`put`](Self::put) for a head with a name, metadata, checksum or header check.
    #[inline(never)]
    fn put_any(&self, len: u64, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let mut header = Header::new(self.kind, self.id, len);
        header.flags = self.flags;
        header.crc = self.crc;
        match &self.labels {
            None => crate::wire::append_head(dst, &header, len),
            Some(labels) => labels.put(header, len, dst),
        }
    }
}

impl Labels {
    #[inline(never)]
    fn from_header(header: &Header<'_>) -> Box<Labels> {
        Box::new(Labels {
            name: header.name.map(str::to_owned),
            meta: header
                .meta
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        })
    }

    /// [`FrameHead::put`] for a head with a name or metadata.
    #[inline(never)]
    fn put(&self, plain: Header<'static>, len: u64, dst: &mut BytesMut) -> Result<(), EncodeError> {
        if self.meta.len() > MAX_META {
            return Err(EncodeError::TooMuchMetadata {
                count: self.meta.len(),
                limit: MAX_META,
            });
        }
        let mut pairs = [("", ""); MAX_META];
        for (pair, (k, v)) in pairs.iter_mut().zip(&self.meta) {
            *pair = (k.as_str(), v.as_str());
        }
        let mut header = plain.with_meta(&pairs[..self.meta.len()]);
        header.name = self.name.as_deref();
        crate::wire::append_head(dst, &header, len)
    }
}

/// Two heads are equal when their fields are: a name or metadata set and then removed
/// leaves the head as it was.
impl PartialEq for FrameHead {
    fn eq(&self, other: &Self) -> bool {
        (self.kind, self.id, self.len, self.flags, self.crc)
            == (other.kind, other.id, other.len, other.flags, other.crc)
            && self.name() == other.name()
            && self.metadata() == other.metadata()
    }
}

impl Eq for FrameHead {}

impl fmt::Debug for FrameHead {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameHead")
            .field("kind", &self.kind)
            .field("id", &self.id)
            .field("len", &self.len)
            .field("flags", &self.flags)
            .field("name", &self.name())
            .field("crc", &self.crc)
            .field("meta", &self.metadata())
            .finish()
    }
}

/// A whole frame: owned header fields and a [`Bytes`] payload.
///
/// ```
/// use sockframe::Kind;
/// use sockframe_std::codec::BytesFrame;
///
/// let frame = BytesFrame::data(7, "hello").with_name("greeting").with_meta("lang", "en");
/// assert_eq!((frame.head.kind, frame.head.id, frame.head.len), (Kind::DATA, 7, 5));
/// assert_eq!((frame.name(), frame.meta("lang")), (Some("greeting"), Some("en")));
/// assert_eq!(frame.text(), "hello");
/// ```
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
        self.head.set_name(Some(name.into()));
        self
    }

    /// Appends a metadata entry.
    pub fn with_meta(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.head.metadata_mut().push((key.into(), value.into()));
        self
    }

    /// Sets the CRC-32C of the payload, so the receiver verifies it.
    pub fn with_crc(mut self) -> Self {
        self.head.crc = Some(sockframe::checksum::crc32c(&self.payload));
        self
    }

    /// The name, if the frame has one.
    pub fn name(&self) -> Option<&str> {
        self.head.name()
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

    /// Drops the frame; for the common frame, without name or metadata, that is dropping
    /// the payload's reference: nothing else to free, so no call to the head's drop glue.
    #[inline(always)]
    pub(crate) fn discard(self) {
        let BytesFrame { head, payload } = self;
        drop(payload);
        match head.labels {
            None => std::mem::forget(head),
            Some(_) => drop(head),
        }
    }

    /// Appends the whole frame to `dst` (`head.len` taken from the payload).
    #[inline]
    pub(crate) fn put(&self, dst: &mut BytesMut) -> Result<(), EncodeError> {
        dst.reserve(crate::wire::HEAD_ROOM + self.payload.len());
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
