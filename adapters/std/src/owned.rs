//! A received frame copied out of the decoder's buffer, for callers that keep it.

use sockframe::{Flags, Header, Kind};

/// A frame with its header fields and payload owned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnedFrame {
    /// Frame kind.
    pub kind: Kind,
    /// Message id.
    pub id: u32,
    /// Flags.
    pub flags: Flags,
    /// Optional name.
    pub name: Option<String>,
    /// Optional CRC-32C the sender announced (already verified by the decoder).
    pub crc: Option<u32>,
    /// Metadata entries, in order.
    pub meta: Vec<(String, String)>,
    /// The payload.
    pub payload: Vec<u8>,
}

impl OwnedFrame {
    /// Copies `header` and `payload`.
    pub fn new(header: &Header<'_>, payload: &[u8]) -> Self {
        OwnedFrame {
            kind: header.kind,
            id: header.id,
            flags: header.flags,
            name: header.name.map(str::to_owned),
            crc: header.crc,
            meta: header
                .meta
                .iter()
                .map(|(k, v)| (k.to_owned(), v.to_owned()))
                .collect(),
            payload: payload.to_vec(),
        }
    }

    /// The value of the first metadata entry named `key`.
    pub fn meta(&self, key: &str) -> Option<&str> {
        self.meta
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The payload as text (lossy UTF-8).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.payload).into_owned()
    }

    /// The metadata as borrowed pairs, for [`OwnedFrame::header`].
    pub fn meta_pairs(&self) -> Vec<(&str, &str)> {
        self.meta
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// A borrowed [`Header`] for re-sending this frame, with `pairs` from
    /// [`OwnedFrame::meta_pairs`] as its metadata.
    pub fn header<'a>(&'a self, pairs: &'a [(&'a str, &'a str)]) -> Header<'a> {
        let mut h = Header::new(self.kind, self.id, self.payload.len() as u64).with_meta(pairs);
        h.flags = self.flags;
        h.name = self.name.as_deref();
        h.crc = self.crc;
        h
    }
}
