//! Reads the conformance material out of `docs/wire-format.md`: the golden vectors and the
//! conformance cases of its section 8, so tests drive peers with the spec's own bytes and the
//! spec stays the single source.
//!
//! The formats are the spec's own (the start of its section 8): a vector is a line
//! `<!-- vector: NAME -->` then a fenced block of hex bytes; a conformance case is a line
//! `<!-- case: NAME -->` then a fenced block of `key: value` lines (`send`, `end`, `reply`,
//! `error`, `meta`, `message`); `#` starts a comment.

use std::path::PathBuf;

/// The spec's text.
pub fn text() -> String {
    let path = path();
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Where the spec lives.
pub fn path() -> PathBuf {
    crate::board::workspace_root().join("docs/wire-format.md")
}

/// The bytes of the vector called `name`, or an error saying what is wrong with it.
pub fn vector(spec: &str, name: &str) -> Result<Vec<u8>, String> {
    let marker = format!("<!-- vector: {name} -->");
    let at = spec
        .find(&marker)
        .ok_or_else(|| format!("spec has no vector `{name}`"))?;
    let block = spec[at..]
        .split("```")
        .nth(1)
        .ok_or_else(|| format!("vector `{name}`: no fenced block after the marker"))?;
    let hex: String = block
        .lines()
        .skip(1) // the fence's info string
        .map(|l| l.split('#').next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    hex_bytes(&hex).map_err(|e| format!("vector `{name}`: {e}"))
}

/// Every vector's name, in the order of the spec.
pub fn vector_names(spec: &str) -> Vec<String> {
    spec.match_indices("<!-- vector: ")
        .filter_map(|(at, m)| {
            let rest = &spec[at + m.len()..];
            Some(rest[..rest.find(" -->")?].trim().to_string())
        })
        .collect()
}

/// Hex bytes separated by white space (`f5 46 01`), or run together (`f546`).
pub fn hex_bytes(hex: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = hex.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if let Some(bad) = digits.iter().find(|b| !b.is_ascii_hexdigit()) {
        return Err(format!("`{}` is not a hex digit", *bad as char));
    }
    if !digits.len().is_multiple_of(2) {
        return Err(format!("odd number of hex digits ({})", digits.len()));
    }
    Ok(digits
        .chunks(2)
        .map(|pair| {
            let s = std::str::from_utf8(pair).expect("ASCII hex digits");
            u8::from_str_radix(s, 16).expect("checked hex digits")
        })
        .collect())
}

/// What the client does after sending a case's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    /// Keeps the connection open.
    Open,
    /// Half-closes (FIN) and keeps reading.
    Eof,
}

/// Where the peer detects a case's fault.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum At {
    /// Once it has this many bytes of `send` (and not before).
    Byte(usize),
    /// At the end of the stream.
    Eof,
}

/// The ERROR frame a case expects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// The `code` metadata entry.
    pub code: String,
    /// When the peer answers with it.
    pub at: At,
    /// The metadata after `code`, in order.
    pub meta: Vec<(String, String)>,
    /// The message as this implementation writes it (`None`: the case gives none).
    pub message: Option<String>,
}

/// A conformance case (section 8): what a client sends, and what the peer answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    /// The name after `case:` in its marker.
    pub name: String,
    /// The bytes sent.
    pub send: Vec<u8>,
    /// What the client does after sending.
    pub end: End,
    /// What an echo peer sends back before any ERROR frame.
    pub reply: Vec<u8>,
    /// The stream's fault, if the case has one.
    pub error: Option<Error>,
}

/// Every conformance case in the spec, in order.
pub fn cases(spec: &str) -> Result<Vec<Case>, String> {
    blocks(spec, "case")?
        .into_iter()
        .map(|(name, block)| case(name, block).map_err(|e| format!("case `{name}`: {e}")))
        .collect()
}

/// Every block marked `<!-- KIND: NAME -->`, as (name, the fenced block's text).
fn blocks<'s>(spec: &'s str, kind: &str) -> Result<Vec<(&'s str, &'s str)>, String> {
    let mut out = Vec::new();
    for (at, marker) in spec.match_indices(&format!("<!-- {kind}: ")) {
        let rest = &spec[at + marker.len()..];
        let end = rest
            .find(" -->")
            .ok_or_else(|| format!("a {kind} marker without ` -->`"))?;
        let name = rest[..end].trim();
        let block = rest
            .split("```")
            .nth(1)
            .ok_or_else(|| format!("{kind} `{name}`: no fenced block after the marker"))?;
        out.push((name, block));
    }
    Ok(out)
}

/// The `key: value` lines of a block, comments and blank lines dropped.
fn key_values(block: &str) -> impl Iterator<Item = Result<(&str, &str), String>> {
    block.lines().skip(1).filter_map(|line| {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            return None;
        }
        Some(
            line.split_once(':')
                .map(|(k, v)| (k.trim(), v.trim()))
                .ok_or_else(|| format!("`{line}` is not `key: value`")),
        )
    })
}

/// What a resynchronising receiver gives for a stream (section 8.21), in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResyncOut {
    /// A delivered frame's bytes.
    Frame(Vec<u8>),
    /// A run of skipped bytes, by length.
    Skip(u64),
}

/// A resynchronising receiver's case (section 8.21).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResyncCase {
    /// The name after `resync:` in its marker.
    pub name: String,
    /// The bytes as they arrive on the link.
    pub send: Vec<u8>,
    /// What the receiver gives, whole stream.
    pub out: Vec<ResyncOut>,
}

/// Every resynchronising receiver's case in the spec, in order.
pub fn resync_cases(spec: &str) -> Result<Vec<ResyncCase>, String> {
    blocks(spec, "resync")?
        .into_iter()
        .map(|(name, block)| {
            let mut case = ResyncCase {
                name: name.to_string(),
                send: Vec::new(),
                out: Vec::new(),
            };
            for kv in key_values(block) {
                let (key, value) = kv.map_err(|e| format!("resync `{name}`: {e}"))?;
                let bytes = || hex_bytes(value).map_err(|e| format!("resync `{name}`: {e}"));
                match (key, case.out.last_mut()) {
                    ("send", _) => case.send.extend(bytes()?),
                    ("frame", _) => case.out.push(ResyncOut::Frame(bytes()?)),
                    ("more", Some(ResyncOut::Frame(f))) => f.extend(bytes()?),
                    ("skip", _) => case.out.push(ResyncOut::Skip(
                        value
                            .parse()
                            .map_err(|e| format!("resync `{name}`: skip `{value}`: {e}"))?,
                    )),
                    (other, _) => return Err(format!("resync `{name}`: unexpected `{other}:`")),
                }
            }
            Ok(case)
        })
        .collect()
}

/// One case from the `key: value` lines of its block.
fn case(name: &str, block: &str) -> Result<Case, String> {
    let mut case = Case {
        name: name.to_string(),
        send: Vec::new(),
        end: End::Open,
        reply: Vec::new(),
        error: None,
    };
    let (mut end, mut error, mut meta, mut message) = (None, None, None, None);
    for kv in key_values(block) {
        let (key, value) = kv?;
        match key {
            "send" => case.send.extend(hex_bytes(value)?),
            "reply" => case.reply.extend(hex_bytes(value)?),
            "end" => {
                end = Some(match value {
                    "open" => End::Open,
                    "eof" => End::Eof,
                    other => return Err(format!("end `{other}` is neither `open` nor `eof`")),
                })
            }
            "error" => {
                let (code, at) = value
                    .split_once(' ')
                    .ok_or_else(|| format!("error `{value}` is not `CODE N` or `CODE eof`"))?;
                let at = match at.trim() {
                    "eof" => At::Eof,
                    n => At::Byte(n.parse().map_err(|e| format!("error byte `{n}`: {e}"))?),
                };
                error = Some((code.to_string(), at));
            }
            "meta" => {
                meta = Some(
                    value
                        .split_whitespace()
                        .map(|kv| {
                            kv.split_once('=')
                                .map(|(k, v)| (k.to_string(), v.to_string()))
                                .ok_or_else(|| format!("meta `{kv}` is not `key=value`"))
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                )
            }
            // The message is the rest of the line, `#` included: split above only for keys
            // whose values cannot hold one.
            "message" => message = Some(message_of(block, "message:")),
            other => return Err(format!("unknown key `{other}`")),
        }
    }
    case.end = end.ok_or("no `end:` line")?;
    if let Some((code, at)) = error {
        if let At::Byte(n) = at
            && (n == 0 || n > case.send.len())
        {
            return Err(format!(
                "error after {n} bytes, but {} bytes are sent",
                case.send.len()
            ));
        }
        if at == At::Eof && case.end != End::Eof {
            return Err("error at `eof` but the client does not half-close".into());
        }
        case.error = Some(Error {
            code,
            at,
            meta: meta.unwrap_or_default(),
            message,
        });
    } else if meta.is_some() || message.is_some() {
        return Err("`meta:` or `message:` without `error:`".into());
    }
    Ok(case)
}

/// A `message:` line's whole value: a message may contain `#`, which the line loop cuts at.
fn message_of(block: &str, cut: &str) -> String {
    block
        .lines()
        .map(str::trim)
        .find(|l| l.starts_with(cut))
        .and_then(|l| l.split_once(':'))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SPEC: &str = "\
<!-- vector: two -->
```text
f5 46   # comment 01
01
```

<!-- case: late -->
```text
send: 47 45  # GE
send: 54
end: open
error: bad-magic 1
meta: at=0 got=71
message: got 47 (G) # not a comment
```

<!-- case: echo -->
```text
send: 00
end: eof

reply: 00
```
";

    #[test]
    fn reads_a_vector_without_its_comments() {
        assert_eq!(vector(SPEC, "two"), Ok(vec![0xF5, 0x46, 0x01]));
        assert_eq!(vector_names(SPEC), ["two"]);
        assert!(
            vector(SPEC, "three")
                .unwrap_err()
                .contains("no vector `three`")
        );
    }

    #[test]
    fn reads_every_key_of_a_case() {
        let cases = cases(SPEC).unwrap();
        assert_eq!(cases.len(), 2);
        assert_eq!(cases[0].send, [0x47, 0x45, 0x54]);
        assert_eq!(
            cases[0].error,
            Some(Error {
                code: "bad-magic".into(),
                at: At::Byte(1),
                meta: vec![("at".into(), "0".into()), ("got".into(), "71".into())],
                message: Some("got 47 (G) # not a comment".into()),
            })
        );
        assert_eq!((cases[1].end, &cases[1].reply[..]), (End::Eof, &[0u8][..]));
        assert_eq!(cases[1].error, None);
    }

    #[test]
    fn bad_hex_and_impossible_cases_are_errors() {
        assert!(hex_bytes("f5 4").unwrap_err().contains("odd"));
        assert!(hex_bytes("zz").unwrap_err().contains("`z`"));
        let late = SPEC.replace("bad-magic 1", "bad-magic 4");
        assert!(cases(&late).unwrap_err().contains("3 bytes are sent"));
        let eof = SPEC.replace("bad-magic 1", "bad-magic eof");
        assert!(cases(&eof).unwrap_err().contains("does not half-close"));
        let unknown = SPEC.replace("end: eof", "end: eof\nsleep: 1");
        assert!(cases(&unknown).unwrap_err().contains("unknown key `sleep`"));
    }
}
