//! What a frame looks like in the dissector, built two ways so they can be compared: from the
//! dissector's PDML tree ([`from_pdml`]), and from the bytes on the wire decoded by the Rust
//! core ([`expected`]), the reference implementation of the spec.

use crate::pdml::{Field, hex_bytes};
use sockframe::{Header, PREFIX_LEN};

/// One item the dissector shows for a stretch of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// A well-formed frame, every field.
    Frame(Box<FrameFields>),
    /// A frame whose header fails after `len` (so the frame's end is still known).
    Malformed { len: u64, expert: Expert },
    /// Bytes that cannot be framed: the stream is lost from here on.
    Lost { expert: Expert },
}

/// An expert info: its field name (`sockframe.bad_magic`) and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expert {
    /// The expert info's filter name.
    pub name: String,
    /// What the message must contain (the whole message for [`from_pdml`]).
    pub message: String,
}

/// Every field of a well-formed frame.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FrameFields {
    pub version: u8,
    pub header_len: u16,
    pub kind: u8,
    /// As the label shows it: `Kind: PING (2)`.
    pub kind_label: String,
    pub id: u32,
    pub len: u64,
    pub flags: u8,
    pub more: bool,
    pub name: Option<Vec<u8>>,
    pub crc: Option<u32>,
    pub meta: Vec<(Vec<u8>, Vec<u8>)>,
    /// The `code` metadata of an ERROR frame.
    pub error_code: Option<Vec<u8>>,
    /// Header bytes after the seven v1 fields (a later revision's).
    pub unknown: Vec<u8>,
    pub payload: Vec<u8>,
    /// Names of the expert infos on the frame (an ERROR frame has one).
    pub experts: Vec<String>,
}

/// The expert infos the dissector defines.
const EXPERTS: [&str; 5] = [
    "sockframe.bad_magic",
    "sockframe.bad_version",
    "sockframe.bad_header",
    "sockframe.bad_checksum",
    "sockframe.error_frame",
];

/// The kind's label, from the spec's kind table (section 3).
fn kind_label(kind: u8) -> String {
    let name = match kind {
        0 => "DATA".to_string(),
        1 => "ERROR".to_string(),
        2 => "PING".to_string(),
        3 => "PONG".to_string(),
        64.. => format!("application kind {kind}"),
        _ => format!("reserved kind {kind}"),
    };
    format!("Kind: {name} ({kind})")
}

/// What the dissector showed, from one `sockframe` protocol item's fields.
pub fn from_pdml(fields: &[Field]) -> Shown {
    let mut f = FrameFields::default();
    let mut experts: Vec<Expert> = Vec::new();
    let mut key: Option<Vec<u8>> = None;
    let mut seen_len = false;
    for (i, x) in fields.iter().enumerate() {
        let num = || -> u64 {
            let s = x.show.as_str();
            match s.strip_prefix("0x") {
                Some(h) => u64::from_str_radix(h, 16),
                None => s.parse(),
            }
            .unwrap_or_else(|_| panic!("{}: not a number: {s:?}", x.name))
        };
        match x.name.as_str() {
            "sockframe.version" => f.version = num() as u8,
            "sockframe.header_len" => f.header_len = num() as u16,
            "sockframe.kind" => {
                f.kind = num() as u8;
                f.kind_label = x.showname.clone();
            }
            "sockframe.id" => f.id = num() as u32,
            "sockframe.len" => {
                f.len = num();
                seen_len = true;
            }
            "sockframe.flags" => f.flags = num() as u8,
            "sockframe.flags.more" => f.more = x.show == "1",
            "sockframe.name" => f.name = Some(hex_bytes(&x.value)),
            "sockframe.crc" => f.crc = Some(num() as u32),
            "sockframe.meta.key" => key = Some(hex_bytes(&x.value)),
            "sockframe.meta.value" => f.meta.push((
                key.take().expect("meta.value after meta.key"),
                hex_bytes(&x.value),
            )),
            "sockframe.error_code" => f.error_code = Some(hex_bytes(&x.value)),
            "sockframe.header.unknown" => f.unknown = hex_bytes(&x.value),
            "data.data" => f.payload = hex_bytes(&x.value),
            name if EXPERTS.contains(&name) => {
                let message = fields[i..]
                    .iter()
                    .find(|m| m.name == "_ws.expert.message")
                    .map(|m| m.show.clone())
                    .unwrap_or_default();
                experts.push(Expert {
                    name: name.to_string(),
                    message,
                });
            }
            _ => {}
        }
    }
    let fatal = experts
        .iter()
        .find(|e| e.name != "sockframe.error_frame" && e.name != "sockframe.bad_checksum");
    match fatal {
        Some(e) if e.name == "sockframe.bad_header" && seen_len => Shown::Malformed {
            len: f.len,
            expert: e.clone(),
        },
        Some(e) => Shown::Lost { expert: e.clone() },
        None => {
            f.experts = experts.into_iter().map(|e| e.name).collect();
            Shown::Frame(Box::new(f))
        }
    }
}

/// What the dissector must show for `wire`, one direction of a connection, decoded by the
/// Rust core. Bytes after a fault that loses the stream are not looked at (the dissector
/// shows them as one lost stretch, as a receiver would have closed).
pub fn expected(wire: &[u8]) -> Vec<Shown> {
    let mut out = Vec::new();
    let mut rest = wire;
    while !rest.is_empty() {
        let lost = |name: &str, message: String| Shown::Lost {
            expert: Expert {
                name: name.to_string(),
                message,
            },
        };
        let shown = hex(&rest[..rest.len().min(4)]);
        if rest[0] != 0xF5 || rest.get(1).is_some_and(|&b| b != 0x46) {
            out.push(lost("sockframe.bad_magic", format!("got {shown}")));
            break;
        }
        if let Some(&v) = rest.get(2)
            && v != 1
        {
            out.push(lost("sockframe.bad_version", format!("version {v}")));
            break;
        }
        assert!(rest.len() >= PREFIX_LEN, "test stream ends inside a prefix");
        let header_len = u16::from_le_bytes([rest[3], rest[4]]);
        let head_end = PREFIX_LEN + usize::from(header_len);
        let head = &rest[PREFIX_LEN..head_end];
        let header = match Header::parse(head) {
            Ok(h) => h,
            Err(e) => {
                let expert = Expert {
                    name: "sockframe.bad_header".into(),
                    message: e.to_string(),
                };
                match Header::peek_len(head) {
                    Ok(len) => {
                        out.push(Shown::Malformed { len, expert });
                        rest = &rest[head_end + len as usize..];
                        continue;
                    }
                    Err(_) => {
                        out.push(Shown::Lost { expert });
                        break;
                    }
                }
            }
        };
        let frame_end = head_end + header.len as usize;
        let payload = rest[head_end..frame_end].to_vec();
        let known = header.encoded_len();
        let mut experts = Vec::new();
        if header
            .crc
            .is_some_and(|c| c != sockframe::checksum::crc32c(&payload))
        {
            experts.push("sockframe.bad_checksum".to_string());
        }
        if header.kind.0 == 1 {
            experts.push("sockframe.error_frame".to_string());
        }
        out.push(Shown::Frame(Box::new(FrameFields {
            version: rest[2],
            header_len,
            kind: header.kind.0,
            kind_label: kind_label(header.kind.0),
            id: header.id,
            len: header.len,
            flags: header.flags.0,
            more: header.more(),
            name: header.name.map(|n| n.as_bytes().to_vec()),
            crc: header.crc,
            meta: header
                .meta
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            error_code: (header.kind.0 == 1)
                .then(|| header.meta("code").map(|c| c.as_bytes().to_vec()))
                .flatten(),
            unknown: head[known..].to_vec(),
            payload,
            experts,
        })));
        rest = &rest[frame_end..];
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    let parts: Vec<String> = bytes.iter().map(|b| format!("{b:02x}")).collect();
    parts.join(" ")
}

/// Whether what the dissector showed matches what was expected (expert messages need only
/// contain the expected text).
pub fn matches(seen: &Shown, want: &Shown) -> bool {
    match (seen, want) {
        (Shown::Frame(a), Shown::Frame(b)) => a == b,
        (Shown::Malformed { len: a, expert: x }, Shown::Malformed { len: b, expert: y })
            if a == b =>
        {
            x.name == y.name && x.message.contains(&y.message)
        }
        (Shown::Lost { expert: x }, Shown::Lost { expert: y }) => {
            x.name == y.name && x.message.contains(&y.message)
        }
        _ => false,
    }
}
