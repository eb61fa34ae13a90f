//! Key/value metadata: a small fixed-capacity list of borrowed string pairs.

use serde::{Serialize, Serializer, ser::SerializeSeq};

/// The most metadata entries a header can carry in this build.
pub const MAX_META: usize = 8;

/// Up to [`MAX_META`] key/value pairs, borrowed from the receive buffer (or the sender's
/// strings). `Copy` and without a destructor, so a [`Header`](crate::Header) holding it
/// releases its borrow as soon as it is last used.
#[derive(Clone, Copy)]
pub struct Metadata<'a> {
    entries: [(&'a str, &'a str); MAX_META],
    len: usize,
}

impl<'a> Metadata<'a> {
    /// No entries.
    pub const fn new() -> Self {
        Metadata {
            entries: [("", ""); MAX_META],
            len: 0,
        }
    }

    /// Appends an entry; gives it back if [`MAX_META`] are already there.
    pub fn push(&mut self, key: &'a str, value: &'a str) -> Result<(), (&'a str, &'a str)> {
        match self.entries.get_mut(self.len) {
            Some(slot) => {
                *slot = (key, value);
                self.len += 1;
                Ok(())
            }
            None => Err((key, value)),
        }
    }

    /// The entries, in order.
    pub fn as_slice(&self) -> &[(&'a str, &'a str)] {
        &self.entries[..self.len]
    }

    /// The value of the first entry named `key`.
    pub fn get(&self, key: &str) -> Option<&'a str> {
        self.as_slice()
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether there are no entries.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Metadata<'_> {
    fn default() -> Self {
        Self::new()
    }
}

impl PartialEq for Metadata<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.as_slice() == other.as_slice()
    }
}

impl Eq for Metadata<'_> {}

impl core::fmt::Debug for Metadata<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_map()
            .entries(self.as_slice().iter().copied())
            .finish()
    }
}

#[cfg(feature = "defmt")]
impl defmt::Format for Metadata<'_> {
    fn format(&self, f: defmt::Formatter<'_>) {
        defmt::write!(f, "{}", self.as_slice())
    }
}

/// On the wire: a varint count, then each key and value as a postcard `str`.
impl Serialize for Metadata<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len))?;
        for entry in self.as_slice() {
            seq.serialize_element(entry)?;
        }
        seq.end()
    }
}
