//! Key/value metadata: up to [`MAX_META`] borrowed string pairs.
//!
//! A sender lends a slice of pairs ([`Metadata::from_pairs`]); a receiver keeps the entries as
//! the validated wire bytes they arrived in and decodes them on lookup. Either way the type is
//! three words, `Copy`, and costs nothing when a frame carries no metadata.

use crate::reader::{Problem, Reader};
use serde::{Serialize, Serializer, ser::SerializeSeq};

/// The most metadata entries a header can carry in this build.
pub const MAX_META: usize = 8;

/// Key/value pairs carried in a header.
#[derive(Clone, Copy)]
pub struct Metadata<'a>(Repr<'a>);

#[derive(Clone, Copy)]
enum Repr<'a> {
    /// Built by a sender.
    Pairs(&'a [(&'a str, &'a str)]),
    /// Decoded: `count` entries, already validated, at the start of `bytes`.
    Wire { bytes: &'a [u8], count: u8 },
}

impl<'a> Metadata<'a> {
    /// No entries.
    pub const EMPTY: Metadata<'static> = Metadata(Repr::Pairs(&[]));

    /// Metadata lent by a sender. More than [`MAX_META`] pairs make encoding fail.
    pub const fn from_pairs(pairs: &'a [(&'a str, &'a str)]) -> Self {
        Metadata(Repr::Pairs(pairs))
    }

    /// Reads and validates the metadata field (varint count, then each key and value as a
    /// string); keeps the entries as the bytes they arrived in.
    #[cfg_attr(not(feature = "small"), inline(always))]
    pub(crate) fn read(r: &mut Reader<'a>) -> Result<Self, Problem> {
        let count = r.varint_u64()?;
        if count > MAX_META as u64 {
            return Err(r.too_many(count));
        }
        // At most MAX_META: counted in a byte.
        let count = count as u8;
        let bytes = r.rest();
        for _ in 0..count {
            r.str()?;
            r.str()?;
        }
        Ok(Metadata(Repr::Wire { bytes, count }))
    }

    /// The entries, in order.
    pub fn iter(&self) -> Iter<'a> {
        Iter(self.0)
    }

    /// The value of the first entry named `key`.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.iter()
            .find(|(k, _)| crate::text::same(k.as_bytes(), key.as_bytes()))
            .map(|(_, v)| v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        match self.0 {
            Repr::Pairs(p) => p.len(),
            Repr::Wire { count, .. } => usize::from(count),
        }
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Iterator over metadata entries: the entries not given yet, in the metadata's own form
/// (so that [`Metadata::iter`] is a copy).
pub struct Iter<'a>(Repr<'a>);

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Repr::Pairs(pairs) => {
                let (first, rest) = pairs.split_first()?;
                *pairs = rest;
                Some(*first)
            }
            Repr::Wire { bytes, count } => {
                *count = count.checked_sub(1)?;
                // Validated when the header was decoded, so this does not fail; if it did,
                // the iteration would just end.
                let mut r = Reader::new(bytes);
                let entry = (r.str().ok()?, r.str().ok()?);
                *bytes = r.rest();
                Some(entry)
            }
        }
    }
}

impl Default for Metadata<'_> {
    fn default() -> Self {
        Metadata::EMPTY
    }
}

impl PartialEq for Metadata<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl Eq for Metadata<'_> {}

impl core::fmt::Debug for Metadata<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Metadata<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{{");
        for (k, v) in self.iter() {
            defmt::write!(f, "{}: {}, ", k, v);
        }
        defmt::write!(f, "}}");
    }
}

/// On the wire: a varint count, then each key and value as a postcard `str`.
impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for entry in self.iter() {
            seq.serialize_element(&entry)?;
        }
        seq.end()
    }
}
