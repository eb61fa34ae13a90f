//! Text from a peer made safe to show: for logs and the chat operator's screen.

/// `s` with its control characters escaped (`\n`, `\u{1b}`): a newline cannot fake a log
/// line or a prompt, and a terminal escape sequence is shown rather than acted on.
///
/// ```
/// assert_eq!(sockframe_std::printable("a\nb\u{1b}[2J"), "a\\nb\\u{1b}[2J");
/// ```
pub fn printable(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}
