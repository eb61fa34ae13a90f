//! The v1 header as postcard's serde derive sees it: the wire format's definition, which
//! the hand-written reader and writer are checked against. Shared by
//! `core/tests/header_equivalence.rs` and the `header` fuzz target (included by path).

use serde::{Deserialize, Serialize};

/// The v1 header's fields in wire order, for postcard's deserializer and serializer.
#[derive(Deserialize, Serialize, Debug)]
pub struct Mirror<'a> {
    pub kind: u8,
    pub id: u32,
    pub len: u64,
    pub flags: u8,
    #[serde(borrow)]
    pub name: Option<&'a str>,
    pub crc: Option<u32>,
    #[serde(borrow)]
    pub meta: Vec<(&'a str, &'a str)>,
}
