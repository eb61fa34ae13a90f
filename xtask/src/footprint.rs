//! `cargo xtask footprint`: what the framing costs in flash, part by part.
//!
//! Both firmwares (framed echo and plain echo) are built and their symbol tables compared
//! (`arm-none-eabi-nm -S`): every flash symbol's growth from the plain echo to the framed
//! one is put in the part its name belongs to. The release image is built with LTO, so code
//! inlined into a caller counts where it landed (most of the adapter and the service inside
//! the firmware's `main`); the parts therefore say where the bytes are, which is where a
//! change has to make them smaller.

use crate::size;
use sockframe_tests::board::build_firmware;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The parts, in the order they are printed, each with the name fragments that claim a
/// symbol (the first part with a matching fragment wins).
const PARTS: &[(&str, &[&str])] = &[
    (
        "checksum (CRC-32C)",
        &["sockframe::checksum", "sockframe8checksum", "crc::"],
    ),
    (
        "error text",
        &[
            "sockframe::error",
            "sockframe5error",
            "sockframe::encoder::Cut",
            "sockframe::text",
            "sockframe4text",
            "sockframe::report",
            "sockframe6report",
            "core::fmt",
            "core..fmt",
        ],
    ),
    (
        "encoder (head writer)",
        &[
            "sockframe::encoder",
            "sockframe7encoder",
            "sockframe::writer",
            "sockframe6writer",
            "sockframe::header::Wire",
            "serde",
            "postcard",
        ],
    ),
    (
        "decoder (state machine, header and metadata reader)",
        &[
            "sockframe::decoder",
            "sockframe7decoder",
            "sockframe::reader",
            "sockframe6reader",
            "sockframe::header",
            "sockframe6header",
            "sockframe::metadata",
            "sockframe8metadata",
            "sockframe::prefix",
            "sockframe::faults",
            "sockframe6faults",
            "core::str::converts::from_utf8",
        ],
    ),
    ("smoltcp adapter", &["sockframe_smoltcp"]),
    (
        "firmware main (adapter and service inlined)",
        &["sockframe_qemu", "14sockframe_qemu"],
    ),
    ("smoltcp (used by the framed echo only)", &["smoltcp::"]),
    (
        "compiler builtins (memcpy, memmove, division)",
        &["compiler_builtins", "__aeabi", "__divmod", "__udivmod"],
    ),
    ("unnamed constants (strings, tables)", &[".Lanon", ".L"]),
];

/// Flash symbols (text, read-only data, data) of an ELF: demangled name -> bytes.
fn flash_symbols(elf: &Path) -> Result<BTreeMap<String, i64>, String> {
    let out = Command::new("arm-none-eabi-nm")
        .args(["--print-size", "--demangle"])
        .arg(elf)
        .output()
        .map_err(|e| format!("arm-none-eabi-nm: {e} (cargo xtask setup installs it)"))?;
    if !out.status.success() {
        return Err(format!(
            "arm-none-eabi-nm {} failed: {}",
            elf.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    let mut symbols = BTreeMap::new();
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        // "ADDRESS SIZE TYPE NAME"; symbols without a size have three fields.
        let mut fields = line.splitn(4, ' ');
        let (Some(_), Some(size), Some(kind), Some(name)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !matches!(kind, "t" | "T" | "r" | "R" | "d" | "D" | "W") {
            continue;
        }
        let size = i64::from_str_radix(size, 16)
            .map_err(|_| format!("unexpected arm-none-eabi-nm line: {line}"))?;
        *symbols.entry(name.to_string()).or_insert(0) += size;
    }
    Ok(symbols)
}

/// The part a symbol belongs to (an index into [`PARTS`]), or `None` for the rest.
fn part_of(symbol: &str) -> Option<usize> {
    PARTS
        .iter()
        .position(|(_, fragments)| fragments.iter().any(|f| symbol.contains(f)))
}

/// One part's growth: total bytes and its largest symbols.
#[derive(Default)]
struct Part {
    bytes: i64,
    symbols: Vec<(i64, String)>,
}

/// Builds both firmwares and prints the framed echo's flash over the plain echo's, by part.
pub fn run() -> Result<(), String> {
    let framed = build_firmware(&[])?;
    let plain = build_firmware(&["plain-echo"])?;
    print_parts(&framed, &plain)
}

/// Prints the table for two already built firmwares.
pub fn print_parts(framed: &Path, plain: &Path) -> Result<(), String> {
    let (framed_flash, _) = size::sections(framed)?;
    let (plain_flash, _) = size::sections(plain)?;
    let f = flash_symbols(framed)?;
    let p = flash_symbols(plain)?;
    let mut parts: Vec<Part> = (0..=PARTS.len()).map(|_| Part::default()).collect();
    for name in f.keys().chain(p.keys().filter(|k| !f.contains_key(*k))) {
        let grew = f.get(name).unwrap_or(&0) - p.get(name).unwrap_or(&0);
        if grew == 0 {
            continue;
        }
        let part = &mut parts[part_of(name).unwrap_or(PARTS.len())];
        part.bytes += grew;
        part.symbols.push((grew, name.clone()));
    }
    let total = framed_flash as i64 - plain_flash as i64;
    let named: i64 = parts.iter().map(|p| p.bytes).sum();
    println!(
        "framed echo {framed_flash} B - plain echo {plain_flash} B = {total} B ({:.1} KiB) of flash for the framing",
        total as f64 / 1024.0
    );
    println!("{:<55} {:>7}  largest symbols", "part", "bytes");
    let labels = PARTS
        .iter()
        .map(|(label, _)| *label)
        .chain(["other symbols"]);
    for (label, part) in labels.zip(&mut parts) {
        if part.bytes == 0 && part.symbols.is_empty() {
            continue;
        }
        part.symbols
            .sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let top: Vec<String> = part
            .symbols
            .iter()
            .take(4)
            .map(|(n, s)| format!("{} {n}", short(s)))
            .collect();
        println!("{label:<55} {:>7}  {}", part.bytes, top.join(", "));
    }
    println!(
        "{:<55} {:>7}",
        "alignment and symbols without a size",
        total - named
    );
    Ok(())
}

/// A symbol name without generic arguments and hashes, cut to a readable length.
fn short(symbol: &str) -> String {
    let s: String = symbol.chars().take(60).collect();
    if s.len() < symbol.len() {
        format!("{s}...")
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_go_to_their_part() {
        let label = |s| part_of(s).map(|i| PARTS[i].0);
        assert_eq!(
            label("sockframe::checksum::CASTAGNOLI"),
            Some("checksum (CRC-32C)")
        );
        assert_eq!(
            label("<sockframe::error::DecodeError as core::fmt::Display>::fmt"),
            Some("error text")
        );
        assert_eq!(
            label("sockframe::encoder::encode_head"),
            Some("encoder (head writer)")
        );
        assert_eq!(
            label("sockframe::decoder::Decoder<B>::next_event"),
            Some("decoder (state machine, header and metadata reader)")
        );
        assert_eq!(
            label(".Lswitch.table._ZN9sockframe6reader6Reader5error17hac858feba4f8c22aE"),
            Some("decoder (state machine, header and metadata reader)")
        );
        assert_eq!(label("main"), None);
    }
}
