//! Reads tshark's PDML output (`-T pdml`) into what the sockframe dissector showed.
//!
//! PDML is XML with one element per line: `<packet>`, `<proto ...>`, `<field .../>` and their
//! closing tags. That is all this reader understands; it is not a general XML parser.

/// One field of the dissection tree, flattened in document order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// The filter name (`sockframe.kind`); empty for text items.
    pub name: String,
    /// The value as tshark shows it (`show`).
    pub show: String,
    /// The whole label (`showname`).
    pub showname: String,
    /// The field's bytes, in hex (`value`).
    pub value: String,
}

/// One captured packet.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Packet {
    /// `frame.number`.
    pub number: u64,
    /// TCP source port (0 when the packet is not TCP).
    pub src_port: u16,
    /// TCP destination port.
    pub dst_port: u16,
    /// How many TCP segments the data dissected in this packet was reassembled from.
    pub segments: u32,
    /// Every `sockframe` protocol item, each as its fields in order.
    pub sockframes: Vec<Vec<Field>>,
}

/// Parses tshark's PDML output.
pub fn parse(pdml: &str) -> Vec<Packet> {
    let mut packets = Vec::new();
    let mut packet: Option<Packet> = None;
    // Depth of open <proto> elements, and the depth at which the current sockframe began.
    let mut depth = 0usize;
    let mut in_sockframe: Option<usize> = None;
    for line in pdml.lines().map(str::trim) {
        if line == "<packet>" {
            packet = Some(Packet {
                segments: 1,
                ..Packet::default()
            });
        } else if line == "</packet>" {
            packets.extend(packet.take());
            depth = 0;
            in_sockframe = None;
        } else if let Some(attrs) = line.strip_prefix("<proto ") {
            let self_closing = attrs.ends_with("/>");
            if !self_closing {
                depth += 1;
                if attr(attrs, "name") == "sockframe" && in_sockframe.is_none() {
                    in_sockframe = Some(depth);
                    if let Some(p) = packet.as_mut() {
                        p.sockframes.push(Vec::new());
                    }
                }
            }
        } else if line == "</proto>" {
            if in_sockframe == Some(depth) {
                in_sockframe = None;
            }
            depth = depth.saturating_sub(1);
        } else if let Some(attrs) = line.strip_prefix("<field ") {
            let Some(p) = packet.as_mut() else { continue };
            let field = Field {
                name: attr(attrs, "name"),
                show: attr(attrs, "show"),
                showname: attr(attrs, "showname"),
                value: attr(attrs, "value"),
            };
            if in_sockframe.is_some() {
                if let Some(frame) = p.sockframes.last_mut() {
                    frame.push(field);
                }
                continue;
            }
            match field.name.as_str() {
                "frame.number" => p.number = field.show.parse().unwrap_or(0),
                "tcp.srcport" if p.src_port == 0 => p.src_port = field.show.parse().unwrap_or(0),
                "tcp.dstport" if p.dst_port == 0 => p.dst_port = field.show.parse().unwrap_or(0),
                "tcp.segment.count" => p.segments = field.show.parse().unwrap_or(1),
                _ => {}
            }
        }
    }
    packets
}

/// The value of attribute `name` in `attrs` (`name="..."`), unescaped; empty if absent.
fn attr(attrs: &str, name: &str) -> String {
    let key = format!(" {name}=\"");
    let padded = format!(" {attrs}");
    let Some(at) = padded.find(&key) else {
        return String::new();
    };
    let rest = &padded[at + key.len()..];
    unescape(&rest[..rest.find('"').unwrap_or(rest.len())])
}

/// XML character references and the five named entities.
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        rest = &rest[at..];
        let Some(end) = rest.find(';') else { break };
        let entity = &rest[1..end];
        let c = match entity {
            "quot" => Some('"'),
            "amp" => Some('&'),
            "lt" => Some('<'),
            "gt" => Some('>'),
            "apos" => Some('\''),
            _ => entity
                .strip_prefix("#x")
                .and_then(|h| u32::from_str_radix(h, 16).ok())
                .or_else(|| entity.strip_prefix('#').and_then(|d| d.parse().ok()))
                .and_then(char::from_u32),
        };
        match c {
            Some(c) => {
                out.push(c);
                rest = &rest[end + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_attributes_and_entities() {
        assert_eq!(
            attr(
                r#"name="a" show="x &quot;y&quot; &#x41;&amp;" value="00""#,
                "show"
            ),
            "x \"y\" A&"
        );
        assert_eq!(attr(r#"showname="n" name="k""#, "name"), "k");
        assert_eq!(attr(r#"name="k""#, "show"), "");
    }
}
