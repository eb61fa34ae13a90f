//! Frames for property tests: a proptest strategy over every header field and payload
//! size, shared by the core's split/merge test and the desktop codec's
//! (`adapters/std/tests/codec.rs` includes this file by path). [`spec`] gives frames without
//! trailers; [`spec_with_trailers`] adds END and ABORT trailers.
#![allow(dead_code)] // each including test uses its own subset

use proptest::prelude::*;
use sockframe::{Header, Kind, encode_abort, encode_end, encode_frame};

/// The code the ABORT trailers of [`spec_with_trailers`] carry.
pub const ABORT_CODE: &str = "cancelled";

/// An owned frame description, so proptest can generate and shrink it.
#[derive(Debug, Clone)]
pub struct Spec {
    pub kind: u8,
    pub id: u32,
    pub more: bool,
    pub name: Option<String>,
    pub crc: bool,
    pub meta: Vec<(String, String)>,
    pub payload: Vec<u8>,
    /// `None`: no trailer; `Some(None)`: an END; `Some(Some(message))`: an ABORT.
    pub trailer: Option<Option<String>>,
}

impl Spec {
    pub fn header<'a>(&'a self, pairs: &'a [(&'a str, &'a str)]) -> Header<'a> {
        let mut h = Header::new(Kind(self.kind), self.id, self.payload.len() as u64);
        if self.more {
            h = h.with_more();
        }
        h.name = self.name.as_deref();
        if self.crc {
            h = h.with_crc_of(&self.payload);
        }
        if self.trailer.is_some() {
            h = h.with_trailer();
        }
        h.with_meta(pairs)
    }
}

pub fn spec() -> impl Strategy<Value = Spec> {
    (
        // END and ABORT are valid only as trailers.
        any::<u8>().prop_filter("not a trailer kind", |k| !(4..=5).contains(k)),
        any::<u32>(),
        any::<bool>(),
        proptest::option::of("[a-z./é]{0,12}"),
        any::<bool>(),
        proptest::collection::vec(("[a-z]{1,6}", "[ -~]{0,10}"), 0..4),
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..64),
            proptest::collection::vec(any::<u8>(), 0..1500),
        ],
    )
        .prop_map(|(kind, id, more, name, crc, meta, payload)| Spec {
            kind,
            id,
            more,
            name,
            crc,
            meta,
            payload,
            trailer: None,
        })
}

/// Like [`spec`], and three frames in ten have a trailer: an END, or an ABORT with a short
/// message (so it fits a small decoder buffer).
pub fn spec_with_trailers() -> impl Strategy<Value = Spec> {
    (
        spec(),
        proptest::option::weighted(0.3, proptest::option::of("[ -~]{0,40}")),
    )
        .prop_map(|(spec, trailer)| Spec { trailer, ..spec })
}

/// The frames encoded back to back, as a stream carries them.
pub fn wire(frames: &[Spec]) -> Vec<u8> {
    wire_of(frames)
}

/// The frames (and their trailers) encoded back to back.
pub fn wire_of(frames: &[Spec]) -> Vec<u8> {
    let mut wire = Vec::new();
    for s in frames {
        let pairs: Vec<(&str, &str)> = s
            .meta
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let header = s.header(&pairs);
        let mut buf = vec![0u8; 4096];
        let mut n = encode_frame(&header, &s.payload, &mut buf).unwrap();
        match &s.trailer {
            None => {}
            Some(None) => n += encode_end(s.id, &mut buf[n..]).unwrap(),
            Some(Some(message)) => {
                n += encode_abort(s.id, ABORT_CODE, message, &mut buf[n..]).unwrap()
            }
        }
        wire.extend_from_slice(&buf[..n]);
    }
    wire
}
