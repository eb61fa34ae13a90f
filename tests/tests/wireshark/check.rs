//! Comparing what the dissector showed with what it should show.

use crate::pdml;
use crate::shown::{Shown, from_pdml, matches};

/// The frames the dissector showed in one direction of a conversation, in stream order
/// (segments after the stream was lost are left out, once that is checked).
pub fn shown_in(packets: &[pdml::Packet], from: u16, to: u16) -> Vec<Shown> {
    let mut lost = false;
    let mut out = Vec::new();
    for shown in packets
        .iter()
        .filter(|p| p.src_port == from && p.dst_port == to)
        .flat_map(|p| p.sockframes.iter().map(|f| from_pdml(f)))
    {
        match shown {
            Shown::NotFollowed if lost => continue,
            Shown::Lost { .. } => lost = true,
            _ => {}
        }
        out.push(shown);
    }
    out
}

/// Checks one direction; returns the problems found.
pub fn check_direction(label: &str, seen: &[Shown], want: &[Shown]) -> Vec<String> {
    let mut problems = Vec::new();
    if seen.len() != want.len() {
        problems.push(format!(
            "{label}: {} items shown, {} expected\n  shown: {seen:#?}\n  expected: {want:#?}",
            seen.len(),
            want.len()
        ));
        return problems;
    }
    for (i, (s, w)) in seen.iter().zip(want).enumerate() {
        if !matches(s, w) {
            problems.push(format!(
                "{label}, item {i}:\n  shown:    {s:?}\n  expected: {w:?}"
            ));
        }
    }
    problems
}
