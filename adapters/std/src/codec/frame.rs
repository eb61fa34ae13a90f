//! Frames with every field owned: what the tokio codec and the async client hand out and take.

use bytes::{Bytes, BytesMut};
use sockframe::{EncodeError, Flags, Header, Kind, MAX_META};
use std::fmt;

/// A frame's header with its fields owned (the core's [`Header`] borrows them), but for
/// the payload length: a [`BytesFrame`]'s is its payload's, and a streamed frame's comes
/// beside its head ([`FramePart::Start`]).
///
/// The fields every frame has are public; the checksum, the name and the metadata, which
/// most frames do not carry, are kept in one boxed part behind [`crc`](FrameHead::crc),
/// [`name`](FrameHead::name) and [`metadata`](FrameHead::metadata) (one allocation for a
/// head that has any of them): a head without them is 16 bytes (a [`BytesFrame`] 48),
/// built, moved and dropped without touching the heap.
/// (tokio-util and futures move every item by value several times on its way through
/// `Framed`.)
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
/// assert_eq!(head.crc(), None);
/// ```
#[derive(Clone)]
pub struct FrameHead {
    /// What the frame is.
    pub kind: Kind,
    /// Flags, such as [`Flags::MORE`].
    pub flags: Flags,
    /// Message id: a reply carries its request's id.
    pub id: u32,
    /// Checksum, name and metadata, when the frame has any of them.
    labels: Boxed,
}

/// A head's boxed part, if it has one. Dropping it is a test inline and the rest out of
/// line: the drop glue of everything that holds a frame (tokio-util's and futures' futures
/// among them) stays a test, instead of the code that frees strings (which costs every such
/// drop, even of nothing, the registers it needs).
#[derive(Clone, Default)]
struct Boxed(Option<Box<Labels>>);

impl Drop for Boxed {
    #[inline(always)]
    fn drop(&mut self) {
        if self.0.is_some() {
            free(self.0.take());
        }
    }
}

/// Frees a head's boxed part.
#[cold]
#[inline(never)]
fn free(labels: Option<Box<Labels>>) {
    drop(labels);
}

/// The rarely used part of a head.
#[derive(Clone, Default)]
struct Labels {
    crc: Option<u32>,
    name: Option<String>,
    meta: Vec<(String, String)>,
}

impl FrameHead {
    /// A head with the given kind and id, and nothing else.
    #[inline]
    pub fn new(kind: Kind, id: u32) -> Self {
        FrameHead {
            kind,
            flags: Flags::default(),
            id,
            labels: Boxed(None),
        }
    }

    /// Copies a borrowed header (but for its `len`); a header without checksum, name and
    /// metadata (most) allocates nothing.
    #[inline]
    pub fn from_header(header: &Header<'_>) -> Self {
        FrameHead {
            kind: header.kind,
            flags: header.flags,
            id: header.id,
            labels: Boxed(
                match header.crc.is_none() && header.name.is_none() && header.meta.is_empty() {
                    true => None,
                    false => Some(Labels::from_header(header)),
                },
            ),
        }
    }

    /// A head without name and metadata, from its fields: the header the core's fast path
    /// finds ([`Splitter::whole`](sockframe::Splitter::whole)). Taking the fields rather
    /// than the [`Header`] keeps them in registers.
    #[inline(always)]
    pub(crate) fn common(kind: Kind, flags: Flags, id: u32, crc: Option<u32>) -> Self {
        let mut head = FrameHead {
            kind,
            flags,
            id,
            labels: Boxed(None),
        };
        if crc.is_some() {
            head.set_crc(crc);
        }
        head
    }

    /// The CRC-32C of the payload, if the frame has one (already verified when received).
    pub fn crc(&self) -> Option<u32> {
        self.labels.0.as_ref()?.crc
    }

    /// Sets or (with `None`) removes the checksum the receiver verifies the payload with
    /// ([`BytesFrame::with_crc`] computes it).
    pub fn set_crc(&mut self, crc: Option<u32>) {
        self.set_label(crc, |labels| &mut labels.crc);
    }

    /// The name, if the frame has one.
    pub fn name(&self) -> Option<&str> {
        self.labels.0.as_ref()?.name.as_deref()
    }

    /// Sets or (with `None`) removes the name.
    pub fn set_name(&mut self, name: Option<String>) {
        self.set_label(name, |labels| &mut labels.name);
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
        match &self.labels.0 {
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

    /// Sets the optional label `field` picks; removing one from a head without labels
    /// allocates nothing.
    fn set_label<T>(&mut self, value: Option<T>, field: fn(&mut Labels) -> &mut Option<T>) {
        match value {
            Some(value) => *field(self.labels_mut()) = Some(value),
            None => {
                if let Some(labels) = &mut self.labels.0 {
                    *field(labels) = None;
                }
            }
        }
    }

    fn labels_mut(&mut self) -> &mut Labels {
        self.labels.0.get_or_insert_with(Box::default)
    }

    /// Appends prefix and header for a payload of `len` bytes, encoded once (no pass to
    /// measure it first). The common head, with no checksum, name, metadata or header
    /// check, is written from the fields directly
    /// ([`wire::append_plain_head`](crate::wire::append_plain_head)); any other goes
    /// through a core [`Header`] out of line. No allocation either way.
    #[inline(always)]
    pub(crate) fn put(&self, len: u64, dst: &mut BytesMut) -> Result<(), EncodeError> {
        if self.labels.0.is_none() && !self.flags.contains(Flags::HCHECK) {
            crate::wire::append_plain_head(dst, self.kind, self.id, len, self.flags);
            return Ok(());
        }
        self.put_any(len, dst)
    }

    /// [`put`](Self::put) for a head with a checksum, name, metadata or header check.
    #[inline(never)]
    fn put_any(&self, len: u64, dst: &mut BytesMut) -> Result<(), EncodeError> {
        let mut header = Header::new(self.kind, self.id, len);
        header.flags = self.flags;
        match &self.labels.0 {
            None => crate::wire::append_head(dst, &header, len),
            Some(labels) => labels.put(header, len, dst),
        }
    }
}

impl Labels {
    #[inline(never)]
    fn from_header(header: &Header<'_>) -> Box<Labels> {
        Box::new(Labels {
            crc: header.crc,
            name: header.name.map(str::to_owned),
            meta: header
                .meta
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
        })
    }

    /// [`FrameHead::put`] for a head with a checksum, name or metadata.
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
        header.crc = self.crc;
        crate::wire::append_head(dst, &header, len)
    }
}

/// Two heads are equal when their fields are: a checksum, name or metadata set and then
/// removed leaves the head as it was.
impl PartialEq for FrameHead {
    fn eq(&self, other: &Self) -> bool {
        (self.kind, self.id, self.flags, self.crc())
            == (other.kind, other.id, other.flags, other.crc())
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
            .field("flags", &self.flags)
            .field("name", &self.name())
            .field("crc", &self.crc())
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
/// assert_eq!((frame.head.kind, frame.head.id, frame.payload.len()), (Kind::DATA, 7, 5));
/// assert_eq!((frame.name(), frame.meta("lang")), (Some("greeting"), Some("en")));
/// assert_eq!(frame.text(), "hello");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BytesFrame {
    /// The header (its payload length is the payload's).
    pub head: FrameHead,
    /// The payload (its checksum, if the header had one, verified).
    pub payload: Bytes,
}

impl BytesFrame {
    /// A frame of `kind` and `id` carrying `payload`.
    pub fn new(kind: Kind, id: u32, payload: impl Into<Bytes>) -> Self {
        BytesFrame {
            head: FrameHead::new(kind, id),
            payload: payload.into(),
        }
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
        self.head
            .set_crc(Some(sockframe::checksum::crc32c(&self.payload)));
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

    /// Appends the whole frame to `dst`.
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
    /// The head of a large frame: `len` payload bytes follow as [`FramePart::Chunk`]s.
    Start {
        /// The frame's head.
        head: FrameHead,
        /// Its payload length.
        len: u64,
    },
    /// The next piece of the large frame's payload; unverified until [`FramePart::End`].
    Chunk(Bytes),
    /// The large frame's payload is complete (its checksum, if any, matched).
    End,
}
