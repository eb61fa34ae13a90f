//! `cargo xtask footprint`: what the framing costs in flash, part by part.
//!
//! Both firmwares (framed echo and plain echo) are built and their symbol tables compared
//! (`arm-none-eabi-nm -S`): every flash symbol's growth from the plain echo to the framed
//! one is put in the part its name belongs to. The release image is built with LTO, so most
//! of the adapter, the decoder's generic methods and the service are inlined into the
//! firmware's own functions (`main`), and out-of-line functions hold other parts' code (a
//! driver's `Port::answer` the receiver's and the decoder's); so every function of the
//! sockframe crates and the firmware is split by source instead: every instruction is
//! counted for the innermost source file of its inlining chain that is not the Rust library
//! (`arm-none-eabi-objdump -dl --inlines`), and the file's path names the part. The parts therefore say whose code the bytes are, which is where a change
//! has to make them smaller.

use crate::size;
use sockframe_tests::board::build_firmware;
use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// The parts, in the order they are printed, each with the name fragments that claim a
/// symbol and the path fragments that claim a source file (the first part with a matching
/// fragment wins).
const PARTS: &[(&str, &[&str], &[&str])] = &[
    (
        "checksum (CRC-32C)",
        &["sockframe::checksum", "sockframe8checksum", "crc::"],
        &["core/src/checksum.rs", "/crc-"],
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
        &[
            "core/src/error.rs",
            "core/src/report.rs",
            "core/src/text.rs",
            "library/core/src/fmt/",
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
        &[
            "core/src/encoder.rs",
            "core/src/writer.rs",
            "/serde",
            "/postcard",
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
        &[
            "core/src/decoder.rs",
            "core/src/reader.rs",
            "core/src/header.rs",
            "core/src/header_check.rs",
            "core/src/metadata.rs",
            "core/src/prefix.rs",
            "core/src/faults.rs",
        ],
    ),
    (
        "resynchronising receiver (the UART link)",
        &["sockframe::resync", "sockframe6resync"],
        &["core/src/resync.rs"],
    ),
    (
        "smoltcp adapter (drivers, echo)",
        &[
            "sockframe_smoltcp",
            "sockframe::echo",
            "sockframe::forwarding",
        ],
        &[
            "adapters/smoltcp/src/",
            "core/src/echo.rs",
            "core/src/forwarding.rs",
        ],
    ),
    (
        "firmware (its own code: service, UART link)",
        &["sockframe_qemu", "14sockframe_qemu"],
        &["qemu/src/"],
    ),
    (
        "smoltcp (used by the framed echo only)",
        &["smoltcp::"],
        &["/smoltcp-"],
    ),
    (
        "compiler builtins (memcpy, memmove, division)",
        &[
            "compiler_builtins",
            "__aeabi",
            "__divmod",
            "__udivmod",
            "memcmp",
        ],
        &["/compiler_builtins-"],
    ),
    (
        "unnamed constants (strings, tables)",
        &[".Lanon", ".L"],
        &[],
    ),
];

/// The part the firmware's own functions are in before they are split by source.
const FIRMWARE: usize = 6;

/// Whether a symbol's bytes are split by source ([`bytes_by_file`]) rather than counted
/// for the part its name says: every function of the sockframe crates and the firmware (a
/// driver's `Port::answer` holds the receiver's and the decoder's code inlined, the
/// receiver's functions the decoder's). Functions of other crates and the Rust library
/// (`from_utf8`, `send_slice`) count by name.
fn split_by_source(symbol: &str) -> bool {
    part_of(symbol).is_some() && symbol.contains("sockframe") && !symbol.starts_with(".L")
}

/// Flash symbols (text, read-only data, data) of an ELF: demangled name -> bytes.
fn flash_symbols(elf: &Path) -> Result<BTreeMap<String, i64>, String> {
    let listing = binutils("arm-none-eabi-nm", &["--print-size", "--demangle"], elf)?;
    let mut symbols = BTreeMap::new();
    // Aliases (`__aeabi_memmove` and `__aeabi_memmove8`, functions the linker folded into
    // one) share their address and size: counted once, for the first name.
    let mut seen = std::collections::BTreeSet::new();
    for line in listing.lines() {
        // "ADDRESS SIZE TYPE NAME"; symbols without a size have three fields.
        let mut fields = line.splitn(4, ' ');
        let (Some(addr), Some(size), Some(kind), Some(name)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !matches!(kind, "t" | "T" | "r" | "R" | "d" | "D" | "W") {
            continue;
        }
        let size = i64::from_str_radix(size, 16)
            .map_err(|_| format!("unexpected arm-none-eabi-nm line: {line}"))?;
        if !seen.insert((addr.to_string(), size)) {
            continue;
        }
        *symbols.entry(name.to_string()).or_insert(0) += size;
    }
    Ok(symbols)
}

/// What `tool` (from binutils-arm-none-eabi) prints for `elf` with `args`.
fn binutils(tool: &str, args: &[&str], elf: &Path) -> Result<String, String> {
    let out = Command::new(tool)
        .args(args)
        .arg(elf)
        .output()
        .map_err(|e| format!("{tool}: {e} (cargo xtask setup installs it)"))?;
    if !out.status.success() {
        return Err(format!(
            "{tool} {} failed: {}",
            elf.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The part a symbol belongs to (an index into [`PARTS`]), or `None` for the rest.
fn part_of(symbol: &str) -> Option<usize> {
    PARTS
        .iter()
        .position(|(_, fragments, _)| fragments.iter().any(|f| symbol.contains(f)))
}

/// The part a source file belongs to (an index into [`PARTS`]), or `None` for the rest.
fn part_of_path(path: &str) -> Option<usize> {
    PARTS
        .iter()
        .position(|(_, _, fragments)| fragments.iter().any(|f| path.contains(f)))
}

/// The bytes of the functions [`split_by_source`] names, by the source file their
/// instructions came from: for each instruction, the innermost file of its
/// inlining chain outside the Rust library (whose helpers, such as `ptr::copy`, count for
/// the code that called them). Instructions without line information count as `""`.
fn bytes_by_file(elf: &Path) -> Result<BTreeMap<String, i64>, String> {
    let args = ["--print-size", "--defined-only", "--demangle"];
    let listing = binutils("arm-none-eabi-nm", &args, elf)?;
    let mut by_file = BTreeMap::new();
    // Functions the linker folded into one (`--icf=all`) share an address: counted once.
    let mut seen = std::collections::BTreeSet::new();
    for line in listing.lines() {
        // "ADDRESS SIZE TYPE NAME"; demangled names may hold spaces.
        let mut fields = line.splitn(4, ' ');
        let (Some(addr), Some(size), Some(kind), Some(name)) =
            (fields.next(), fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        if !matches!(kind, "t" | "T") || !split_by_source(name) {
            continue;
        }
        let (Ok(addr), Ok(size)) = (u64::from_str_radix(addr, 16), u64::from_str_radix(size, 16))
        else {
            continue;
        };
        // Thumb symbols have bit 0 set in nm's listing only for some tools; objdump's
        // addresses are even.
        let (start, end) = (addr & !1, (addr & !1) + size);
        if !seen.insert(start) {
            continue;
        }
        let (from, to) = (
            format!("--start-address={start}"),
            format!("--stop-address={end}"),
        );
        let args = ["-dl", "--inlines", "--no-show-raw-insn", &from, &to];
        let dis = binutils("arm-none-eabi-objdump", &args, elf)?;
        attribute(&dis, start, end, &mut by_file);
    }
    Ok(by_file)
}

/// Adds the bytes of the instructions in `listing` (objdump `-dl --inlines` of one function
/// spanning `start..end`) to `by_file`, by the file [`bytes_by_file`] says.
fn attribute(listing: &str, start: u64, end: u64, by_file: &mut BTreeMap<String, i64>) {
    // The inlining chain of the instructions that follow: the innermost file, then the
    // files it was inlined into. objdump prints a file line when the innermost line
    // changes, and the "inlined by" lines after it; when only the outer frames change, the
    // "inlined by" lines come alone and keep the innermost file.
    let mut innermost = String::new();
    let mut outer: Vec<String> = Vec::new();
    let mut after_instruction = false;
    let mut last: Option<(u64, String)> = None;
    let mut add = |at: u64, last: &mut Option<(u64, String)>, file: String| {
        if let Some((prev, prev_file)) = last.take() {
            *by_file.entry(prev_file).or_insert(0) += (at - prev) as i64;
        }
        *last = Some((at, file));
    };
    let file_of = |l: &str| l.split(':').next().unwrap_or("").to_string();
    for line in listing.lines() {
        if let Some(rest) = line.strip_prefix("inlined by ") {
            if after_instruction {
                outer.clear();
            }
            outer.push(file_of(rest));
            after_instruction = false;
        } else if line.starts_with('/') {
            innermost = file_of(line);
            outer.clear();
            after_instruction = false;
        } else if let Some((addr, _)) = line.trim_start().split_once(":\t") {
            let Ok(at) = u64::from_str_radix(addr, 16) else {
                continue;
            };
            if at < start || at >= end {
                continue;
            }
            after_instruction = true;
            let file = std::iter::once(&innermost)
                .chain(&outer)
                .find(|f| !f.contains("/rustc/"))
                .cloned()
                .unwrap_or_default();
            add(at, &mut last, file);
        }
    }
    add(end, &mut last, String::new());
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
        let part = part_of(name).unwrap_or(PARTS.len());
        if grew == 0 || split_by_source(name) {
            continue; // split by source below
        }
        parts[part].bytes += grew;
        parts[part].symbols.push((grew, name.clone()));
    }
    let (f, p) = (bytes_by_file(framed)?, bytes_by_file(plain)?);
    for file in f.keys().chain(p.keys().filter(|k| !f.contains_key(*k))) {
        let grew = f.get(file).unwrap_or(&0) - p.get(file).unwrap_or(&0);
        if grew == 0 {
            continue;
        }
        let part = part_of_path(file).unwrap_or(FIRMWARE);
        parts[part].bytes += grew;
        parts[part]
            .symbols
            .push((grew, format!("{} (by source)", short_path(file))));
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
        .map(|(label, _, _)| *label)
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
    // What no symbol covers: string literals and tables the compiler emits without a
    // symbol (mergeable strings, `&str` arrays) in read-only data, and the padding between
    // functions in code. Both are measured, not inferred from the difference.
    let (framed_gaps, plain_gaps) = (unsized_bytes(framed)?, unsized_bytes(plain)?);
    let data = framed_gaps.data - plain_gaps.data;
    let padding = framed_gaps.code - plain_gaps.code;
    println!(
        "{:<55} {:>7}",
        "read-only data without a symbol (strings, tables)", data
    );
    println!("{:<55} {:>7}", "alignment (padding between code)", padding);
    let rest = total - named - data - padding;
    if rest != 0 {
        println!("{:<55} {:>7}", "not accounted for", rest);
    }
    Ok(())
}

/// Flash bytes no sized symbol covers, in code and in data.
#[derive(Debug, Default, PartialEq)]
struct Unsized {
    code: i64,
    data: i64,
}

/// The bytes of an ELF's flash sections (allocated, with contents, below RAM) that no
/// symbol with a size covers (`arm-none-eabi-readelf -SW`, `arm-none-eabi-nm -S`).
fn unsized_bytes(elf: &Path) -> Result<Unsized, String> {
    let sections = binutils("arm-none-eabi-readelf", &["-SW"], elf)?;
    let symbols = binutils("arm-none-eabi-nm", &["--print-size", "--defined-only"], elf)?;
    Ok(count_unsized(&sections, &symbols))
}

/// [`unsized_bytes`] over the two tools' listings.
fn count_unsized(sections: &str, symbols: &str) -> Unsized {
    let mut spans: Vec<(u64, u64)> = symbols
        .lines()
        .filter_map(|line| {
            let mut fields = line.split(' ');
            let addr = u64::from_str_radix(fields.next()?, 16).ok()?;
            let size = u64::from_str_radix(fields.next()?, 16).ok()?;
            Some((addr, addr + size))
        })
        .collect();
    spans.sort_unstable();
    let mut gaps = Unsized::default();
    for line in sections.lines() {
        // "[Nr] Name Type Addr Off Size ES Flg ..." ("[ 1]" splits in two).
        let line = line.trim_start().trim_start_matches('[').trim_start();
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [_, _name, kind, addr, _off, size, _es, flags, ..] = fields[..] else {
            continue;
        };
        let (Ok(start), Ok(size)) = (u64::from_str_radix(addr, 16), u64::from_str_radix(size, 16))
        else {
            continue;
        };
        if kind != "PROGBITS" || !flags.contains('A') || start >= 0x2000_0000 {
            continue;
        }
        let end = start + size;
        // Walk the sorted spans, counting the bytes of the section they do not reach.
        let (mut at, mut uncovered) = (start, 0);
        for &(from, to) in &spans {
            if to <= at || from >= end {
                continue;
            }
            uncovered += from.saturating_sub(at);
            at = at.max(to.min(end));
        }
        uncovered += end - at;
        if flags.contains('X') {
            gaps.code += uncovered as i64;
        } else {
            gaps.data += uncovered as i64;
        }
    }
    gaps
}

/// A source path from the workspace or a crate's own directory on.
fn short_path(path: &str) -> &str {
    if path.is_empty() {
        return "no line info";
    }
    let cut = ["/registry/src/", "/library/"]
        .iter()
        .find_map(|m| path.find(m).map(|i| i + m.len()));
    match cut {
        Some(i) => {
            let rest = &path[i..];
            // Skip the registry's index directory.
            rest.split_once('/')
                .filter(|_| path.contains("/registry/src/"))
                .map_or(rest, |(_, r)| r)
        }
        None => ["/core/", "/adapters/", "/qemu/"]
            .iter()
            .find_map(|m| path.rfind(m).map(|i| &path[i + 1..]))
            .unwrap_or(path),
    }
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
        let by_path = |p| part_of_path(p).map(|i| PARTS[i].0);
        assert_eq!(
            by_path("/work/x/adapters/smoltcp/src/connection.rs"),
            Some("smoltcp adapter (drivers, echo)")
        );
        assert_eq!(
            by_path("/work/x/core/src/decoder.rs"),
            Some("decoder (state machine, header and metadata reader)")
        );
        assert_eq!(
            by_path("/work/x/core/src/resync.rs"),
            Some("resynchronising receiver (the UART link)")
        );
        assert_eq!(
            label("sockframe::resync::Resync<B>::next_event_raw"),
            Some("resynchronising receiver (the UART link)")
        );
        assert_eq!(
            label("memcmp"),
            Some("compiler builtins (memcpy, memmove, division)")
        );
        assert_eq!(
            by_path(
                "/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/smoltcp-0.14.0/src/socket/tcp.rs"
            ),
            Some("smoltcp (used by the framed echo only)")
        );
        assert_eq!(
            PARTS[FIRMWARE].0,
            "firmware (its own code: service, UART link)"
        );
    }

    /// Bytes no symbol covers are counted by section: code padding apart from data.
    #[test]
    fn unsized_bytes_are_counted_by_section() {
        let sections = "\
  [Nr] Name              Type            Addr     Off    Size   ES Flg Lk Inf Al
  [ 1] .vector_table     PROGBITS        00000000 010000 000010 00   A  0   0  4
  [ 2] .text             PROGBITS        00000010 010010 000020 00  AX  0   0  4
  [ 3] .rodata           PROGBITS        00000030 010030 000010 00 AMS  0   0  8
  [ 6] .bss              NOBITS          20000000 020000 009ec4 00  WA  0   0  8
  [ 8] .debug_loc        PROGBITS        00000000 020000 01ee3d 00      0   0  1
";
        let symbols = "\
00000000 00000010 R __RESET_VECTOR
00000010 0000000e T main
00000020 00000004 t lit
00000022 00000002 t overlapping
0000002c 00000004 T tail
00000034 00000004 r .Lanon.1
00000034 T no_size
20000000 00000040 b BUF
";
        assert_eq!(
            count_unsized(sections, symbols),
            Unsized {
                code: 2 + 8, // 0x1e..0x20 and 0x24..0x2c
                data: 4 + 8, // 0x30..0x34 and 0x38..0x40
            }
        );
    }

    /// An instruction counts for the innermost file of its chain outside the Rust library.
    #[test]
    fn inlined_code_counts_for_its_caller_outside_the_library() {
        let listing = "\
00000100 <main>:
main():
/w/qemu/src/main.rs:10
     100:\tpush\t{r4, lr}
_ZN4core3ptr4copy():
/rustc/abc/library/core/src/ptr/mod.rs:5
inlined by /w/adapters/smoltcp/src/connection.rs:7 (conn)
inlined by /w/qemu/src/main.rs:12 (main)
     102:\tldr\tr0, [r1]
     106:\tstr\tr0, [r2]
inlined by /w/adapters/smoltcp/src/port.rs:9 (port)
inlined by /w/qemu/src/main.rs:14 (main)
     108:\tstr\tr0, [r3]
main():
/w/qemu/src/main.rs:13
     10a:\tpop\t{r4, pc}
";
        let mut by_file = BTreeMap::new();
        attribute(listing, 0x100, 0x10c, &mut by_file);
        assert_eq!(by_file["/w/qemu/src/main.rs"], 2 + 2);
        assert_eq!(by_file["/w/adapters/smoltcp/src/connection.rs"], 6);
        assert_eq!(by_file["/w/adapters/smoltcp/src/port.rs"], 2);
        assert_eq!(
            short_path("/w/adapters/smoltcp/src/connection.rs"),
            "adapters/smoltcp/src/connection.rs"
        );
    }
}
