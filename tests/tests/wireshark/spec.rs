//! The machine-readable parts of `docs/wire-format.md` (section 8): frame vectors and
//! conformance cases, read from the spec itself so the test follows it.

/// The spec's text.
fn spec() -> String {
    std::fs::read_to_string(sockframe_tests::board::workspace_root().join("docs/wire-format.md"))
        .expect("docs/wire-format.md")
}

/// Each `<!-- KIND: NAME -->` marker's name and the fenced block after it.
fn blocks(spec: &str, kind: &str) -> Vec<(String, String)> {
    let marker = format!("<!-- {kind}: ");
    spec.match_indices(&marker)
        .map(|(at, _)| {
            let rest = &spec[at + marker.len()..];
            let name = rest[..rest.find(" -->").expect("marker end")].to_string();
            let block = rest
                .split("```")
                .nth(1)
                .expect("a fenced block after a marker");
            // The fence's info string (`text`) is the block's first line.
            let body = block.split_once('\n').map_or("", |(_, b)| b);
            (name, body.to_string())
        })
        .collect()
}

/// Bytes from hex digits, ignoring everything else (spaces, line ends).
fn hex(text: &str) -> Vec<u8> {
    let digits: Vec<u8> = text
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .map(|c| (c as char).to_digit(16).unwrap() as u8)
        .collect();
    assert_eq!(digits.len() % 2, 0, "odd number of hex digits in {text:?}");
    digits.chunks(2).map(|p| p[0] << 4 | p[1]).collect()
}

/// Text before a `#` comment.
fn uncommented(line: &str) -> &str {
    line.split('#').next().unwrap_or("")
}

/// The frame vectors: name and bytes.
pub fn vectors() -> Vec<(String, Vec<u8>)> {
    let out: Vec<_> = blocks(&spec(), "vector")
        .into_iter()
        .map(|(name, body)| {
            let text: String = body.lines().map(uncommented).collect::<Vec<_>>().join(" ");
            (name, hex(&text))
        })
        .collect();
    assert!(out.len() >= 10, "the spec's vectors were not found");
    out
}

/// A conformance case: what the client sends, and what the spec says a receiver answers.
pub struct Case {
    /// The case's name.
    pub name: String,
    /// Every `send:` line's bytes, concatenated.
    pub send: Vec<u8>,
    /// The `error:` line (`CODE N`), if any.
    pub error: Option<String>,
}

/// The conformance cases.
pub fn cases() -> Vec<Case> {
    let out: Vec<_> = blocks(&spec(), "case")
        .into_iter()
        .map(|(name, body)| {
            let mut case = Case {
                name,
                send: Vec::new(),
                error: None,
            };
            for line in body.lines().map(uncommented) {
                match line.split_once(':') {
                    Some(("send", bytes)) => case.send.extend(hex(bytes)),
                    Some(("error", e)) => case.error = Some(e.trim().to_string()),
                    _ => {}
                }
            }
            case
        })
        .collect();
    assert!(
        out.len() >= 10,
        "the spec's conformance cases were not found"
    );
    out
}
