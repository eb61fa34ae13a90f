//! What a frame looks like in the dissector, built two ways so they can be compared: from the
//! dissector's PDML tree ([`from_pdml`]), and from the bytes on the wire ([`expected`]) by a
//! small model of the spec whose verdicts are checked against the Rust core's decoder.

use crate::pdml::Field;
use sockframe::{Decoder, Event, Header, Limits, PREFIX_LEN};

/// One item the dissector shows for a stretch of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shown {
    /// A frame whose end is certain: every field, and its expert infos.
    Frame(Box<FrameFields>),
    /// Bytes that cannot be framed any more: the stream is lost from here on.
    Lost { expert: Expert },
    /// A later segment of a stream already lost.
    NotFollowed,
}

/// An expert info: its field name (`sockframe.bad_magic`) and its message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expert {
    /// The expert info's filter name.
    pub name: String,
    /// What the message must contain (the whole message for [`from_pdml`]).
    pub message: String,
}

/// Every field of a frame.
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
    pub trailer: bool,
    pub name: Option<Vec<u8>>,
    pub crc: Option<u32>,
    pub meta: Vec<(Vec<u8>, Vec<u8>)>,
    /// The `code` metadata of an ERROR or ABORT frame.
    pub error_code: Option<Vec<u8>>,
    /// Header bytes after the seven v1 fields (a later revision's).
    pub unknown: Vec<u8>,
    pub payload: Vec<u8>,
    /// Names of the expert infos on the frame, sorted.
    pub experts: Vec<String>,
}

/// Bytes from the hex PDML puts in `value`.
fn hex_bytes(hex: &str) -> Vec<u8> {
    sockframe_tests::spec::hex_bytes(hex).unwrap_or_else(|e| panic!("PDML value {hex:?}: {e}"))
}

/// The expert infos after which the dissector no longer follows the stream (all the
/// faults of spec 7.3 but the two that leave the frame's end certain).
const LOSING: [&str; 6] = [
    "sockframe.bad_magic",
    "sockframe.bad_version",
    "sockframe.header_too_large",
    "sockframe.payload_too_large",
    "sockframe.bad_header",
    "sockframe.too_much_metadata",
];

/// The other expert infos, shown on a frame.
const ON_FRAME: [&str; 4] = [
    "sockframe.bad_trailer",
    "sockframe.bad_checksum",
    "sockframe.error_frame",
    "sockframe.aborted",
];

const KIND_ERROR: u8 = 1;
const KIND_END: u8 = 4;
const KIND_ABORT: u8 = 5;
const FLAG_TRAILER: u8 = 0x02;

/// The kind's label, from the spec's kind table (section 3).
fn kind_label(kind: u8) -> String {
    let name = match kind {
        0 => "DATA".to_string(),
        1 => "ERROR".to_string(),
        2 => "PING".to_string(),
        3 => "PONG".to_string(),
        4 => "END".to_string(),
        5 => "ABORT".to_string(),
        64.. => format!("application kind {kind}"),
        _ => format!("reserved kind {kind}"),
    };
    format!("Kind: {name} ({kind})")
}

/// The expert info's name for an error code of spec 7.3.
fn expert_name(code: &str) -> String {
    format!("sockframe.{}", code.replace('-', "_"))
}

/// What the dissector showed, from one `sockframe` protocol item's fields.
pub fn from_pdml(fields: &[Field]) -> Shown {
    let mut f = FrameFields::default();
    let mut experts: Vec<Expert> = Vec::new();
    let mut key: Option<Vec<u8>> = None;
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
            "sockframe.len" => f.len = num(),
            "sockframe.flags" => f.flags = num() as u8,
            "sockframe.flags.more" => f.more = x.show == "1",
            "sockframe.flags.trailer" => f.trailer = x.show == "1",
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
            name if LOSING.contains(&name) || ON_FRAME.contains(&name) => {
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
    let undecoded_only = fields
        .iter()
        .all(|x| x.name == "sockframe.undecoded" || x.name.is_empty());
    match experts.iter().find(|e| LOSING.contains(&e.name.as_str())) {
        Some(e) => Shown::Lost { expert: e.clone() },
        None if undecoded_only => Shown::NotFollowed,
        None => {
            f.experts = experts.into_iter().map(|e| e.name).collect();
            f.experts.sort();
            Shown::Frame(Box::new(f))
        }
    }
}

/// A varint (the spec's rules, enough for the trailer check's `id`).
fn varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7F) << (7 * i);
        if b < 0x80 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Where the seven v1 fields of a well-formed header end (the rest is a later revision's):
/// re-encoding the decoded header would not say, varints may be longer than the shortest.
fn v1_fields_len(head: &[u8]) -> usize {
    let mut at = 1; // kind
    let skip_varint = |at: &mut usize| -> u64 {
        let (v, n) = varint(&head[*at..]).expect("a well-formed header");
        *at += n;
        v
    };
    skip_varint(&mut at); // id
    skip_varint(&mut at); // len
    at += 1; // flags
    for has_string in [true, false] {
        // name (a string), then crc (a varint)
        at += 1;
        if head[at - 1] == 1 {
            let v = skip_varint(&mut at);
            if has_string {
                at += v as usize;
            }
        }
    }
    for _ in 0..2 * skip_varint(&mut at) {
        let n = skip_varint(&mut at);
        at += n as usize;
    }
    at
}

/// The trailer rules of spec 4.1 broken by a frame with `kind`, `id`, `len`, when the frame
/// whose trailer is due is `due`.
fn breaks_trailer_rule(due: Option<u32>, kind: u8, id: u32, len: u64) -> bool {
    let trailer = kind == KIND_END || kind == KIND_ABORT;
    match due {
        Some(due) => {
            !trailer
                || id != due
                || (kind == KIND_END && len != 0)
                || (kind == KIND_ABORT && len > 200)
        }
        None => trailer,
    }
}

/// The faults found in one direction's bytes, in stream order, as error codes.
struct Model {
    shown: Vec<Shown>,
    /// The first fault a receiver reports for these bytes (spec 7.5), if any in the bytes.
    first_fault: Option<String>,
}

/// What the dissector must show for `wire`, one direction of a connection, to a receiver
/// with `limits`: a model of the spec. Bytes after a fault that loses the stream
/// are not looked at (the dissector shows them as lost, as a receiver would have closed);
/// a frame the bytes end inside shows nothing, unless the bytes that arrived are already
/// wrong (spec 7.5).
fn model(wire: &[u8], limits: Limits) -> Model {
    let mut out = Model {
        shown: Vec::new(),
        first_fault: None,
    };
    let lose = |out: &mut Model, code: &str, message: String| {
        out.first_fault.get_or_insert_with(|| code.to_string());
        out.shown.push(Shown::Lost {
            expert: Expert {
                name: expert_name(code),
                message,
            },
        });
    };
    let mut due: Option<(u32, bool)> = None; // id, whether its checksum failed
    let mut rest = wire;
    while !rest.is_empty() {
        // The message shows the bytes that arrived together, from the first wrong one on
        // at least.
        if rest[0] != 0xF5 || rest.get(1).is_some_and(|&b| b != 0x46) {
            let wrong = if rest[0] != 0xF5 { 1 } else { 2 };
            lose(
                &mut out,
                "bad-magic",
                format!("got {}", hex(&rest[..wrong])),
            );
            break;
        }
        if let Some(&v) = rest.get(2)
            && v != 1
        {
            lose(&mut out, "bad-version", format!("version {v}"));
            break;
        }
        if rest.len() < PREFIX_LEN {
            break;
        }
        let header_len = u16::from_le_bytes([rest[3], rest[4]]);
        if usize::from(header_len) > limits.max_header {
            let message = format!("header is {header_len} bytes, limit {}", limits.max_header);
            lose(&mut out, "header-too-large", message);
            break;
        }
        let head_end = PREFIX_LEN + usize::from(header_len);
        let complete = rest.len() >= head_end;
        let head = &rest[PREFIX_LEN..head_end.min(rest.len())];
        // An error for bytes that ran out is only "wait for more" while the header is
        // incomplete.
        let ran_out = |e: &sockframe::DecodeError| !complete && e.to_string().contains("ended");
        let len = match Header::peek_len(head) {
            Ok(len) => len,
            Err(e) if ran_out(&e) => break,
            Err(e) => {
                lose(&mut out, e.code(), e.to_string());
                break;
            }
        };
        if len > limits.max_payload {
            let message = format!("payload is {len} bytes, limit {}", limits.max_payload);
            lose(&mut out, "payload-too-large", message);
            break;
        }
        let kind = head[0];
        let id = varint(&head[1..]).map_or(0, |(v, _)| v as u32);
        let bad_trailer = breaks_trailer_rule(due.map(|d| d.0), kind, id, len);
        if bad_trailer {
            out.first_fault.get_or_insert_with(|| "bad-trailer".into());
        }
        let header = match Header::parse(head) {
            Ok(h) if complete => h,
            Ok(_) => break,
            Err(e) if ran_out(&e) => break,
            Err(e) => {
                let code = e.code();
                lose(&mut out, code, e.to_string());
                break;
            }
        };
        let frame_end = head_end + header.len as usize;
        if rest.len() < frame_end {
            break;
        }
        let payload = rest[head_end..frame_end].to_vec();
        let crc_bad = header
            .crc
            .is_some_and(|c| c != sockframe::checksum::crc32c(&payload));
        let trailer = kind == KIND_END || kind == KIND_ABORT;
        let announces = header.flags.0 & FLAG_TRAILER != 0 && !trailer;
        let mut experts = Vec::new();
        // A frame announcing a trailer has its checksum counted at its END (an aborted
        // payload's is not checked); every other frame's, its own.
        let settles_due = due.is_some() && trailer && !bad_trailer;
        let due_crc_bad = due.is_some_and(|(_, bad)| bad);
        let checksum_fault =
            (crc_bad && !announces) || (settles_due && kind == KIND_END && due_crc_bad);
        if bad_trailer {
            experts.push("sockframe.bad_trailer".to_string());
        }
        if checksum_fault {
            out.first_fault.get_or_insert_with(|| "bad-checksum".into());
            experts.push("sockframe.bad_checksum".to_string());
        }
        if kind == KIND_ERROR {
            experts.push("sockframe.error_frame".to_string());
        }
        if kind == KIND_ABORT {
            experts.push("sockframe.aborted".to_string());
        }
        experts.sort();
        due = announces.then_some((header.id, crc_bad));
        out.shown.push(Shown::Frame(Box::new(FrameFields {
            version: rest[2],
            header_len,
            kind,
            kind_label: kind_label(kind),
            id: header.id,
            len: header.len,
            flags: header.flags.0,
            more: header.more(),
            trailer: header.flags.0 & FLAG_TRAILER != 0,
            name: header.name.map(|n| n.as_bytes().to_vec()),
            crc: header.crc,
            meta: header
                .meta
                .iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
            error_code: (kind == KIND_ERROR || kind == KIND_ABORT)
                .then(|| header.meta("code").map(|c| c.as_bytes().to_vec()))
                .flatten(),
            unknown: head[v1_fields_len(head)..].to_vec(),
            payload,
            experts,
        })));
        rest = &rest[frame_end..];
    }
    out
}

/// The error the Rust core's decoder reports for `wire` followed by the end of the stream,
/// if any.
pub fn core_fault(wire: &[u8], limits: Limits) -> Option<&'static str> {
    let mut dec = Decoder::with_limits(vec![0u8; 1 << 20], limits);
    let mut rest = wire;
    loop {
        let n = dec.feed(rest);
        rest = &rest[n..];
        loop {
            match dec.next_event() {
                Ok(Some(Event::End | Event::Frame(_) | Event::Start(_) | Event::Chunk(_))) => {}
                #[allow(unreachable_patterns)] // events added by later core versions
                Ok(Some(_)) => {}
                Ok(None) => break,
                Err(e) => return Some(e.code()),
            }
        }
        if rest.is_empty() {
            // The client half-closes after its bytes: the peer sees the end of the stream.
            return dec.finish().err().map(|e| e.code());
        }
    }
}

/// What the dissector must show for `wire`, one direction of a connection (see [`model`]),
/// and the first fault a receiver reports for it (`None` also when the stream only ends
/// inside a frame: the dissector waits for the rest, a receiver reports `truncated`).
pub fn expected(wire: &[u8], limits: Limits) -> (Vec<Shown>, Option<String>) {
    let m = model(wire, limits);
    (m.shown, m.first_fault)
}

/// Whether the model's first fault is the one `reference` (the spec's case, or the Rust
/// core) reports for the same bytes.
pub fn same_fault(model: Option<&str>, reference: Option<&str>) -> bool {
    match (model, reference) {
        (None, Some("truncated")) => true,
        (model, reference) => model == reference,
    }
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
        (Shown::Lost { expert: x }, Shown::Lost { expert: y }) => {
            x.name == y.name && x.message.contains(&y.message)
        }
        _ => false,
    }
}
