//! The cases of `codec.rs` as a plain program, to count instructions with callgrind: a number
//! that does not move with the load of the shared machine (criterion's wall clock does).
//!
//! ```sh
//! cargo bench -p sockframe --bench instructions --no-run   # prints the binary's path
//! valgrind --tool=callgrind --callgrind-out-file=/dev/null BINARY decode sockframe 16 10
//! ```
//!
//! Arguments: `decode|encode`, `sockframe|length_delimited|plain`, payload size in bytes, and
//! how many times to run the case. Instructions per frame = (Ir at R2 runs - Ir at R1 runs) /
//! ((R2 - R1) x frames), so setup cancels out; `core/benches/instructions.sh` does all that for
//! every case and prints the table in docs/benchmarks.md. Without arguments (as `cargo bench`
//! runs it) it runs every case once, as a smoke test.

mod common;
use common::{Case, Impl, Op, SIZES};

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    if args.is_empty() {
        for op in [Op::Decode, Op::Encode] {
            for size in SIZES {
                for imp in Impl::ALL {
                    let mut case = Case::new(op, imp, size);
                    std::hint::black_box(case.run());
                }
            }
        }
        println!("instructions: every case ran once (run it under callgrind with arguments)");
        return;
    }
    let [op, imp, size, runs] = &args[..] else {
        eprintln!("usage: instructions decode|encode sockframe|length_delimited|plain SIZE RUNS");
        std::process::exit(2);
    };
    let op = match op.as_str() {
        "decode" => Op::Decode,
        "encode" => Op::Encode,
        other => panic!("unknown operation {other}"),
    };
    let imp = Impl::ALL
        .into_iter()
        .find(|i| i.name() == imp)
        .unwrap_or_else(|| panic!("unknown implementation {imp}"));
    let size: usize = size.parse().expect("payload size");
    let runs: usize = runs.parse().expect("number of runs");
    let mut case = Case::new(op, imp, size);
    let mut total = 0usize;
    for _ in 0..runs {
        total = total.wrapping_add(std::hint::black_box(case.run()));
    }
    println!("{} frames per run, checksum {total}", case.frames());
}
