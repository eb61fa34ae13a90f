//! Decode and encode throughput: sockframe against tokio-util's `LengthDelimitedCodec` and a
//! plain hand-written 4-byte-length parser (the baseline: the least work a framing can do).
//!
//! Every decode run takes a source buffer holding many encoded frames (each implementation
//! its own encoding of the same payloads) and "reads" it in pieces of at most [`READ`] bytes,
//! copying from the source into the implementation's buffer the way a socket read would:
//! sockframe reads straight into `Decoder::read_buf`, the codec into the spare capacity of a
//! `BytesMut`, the plain parser into its own `Vec`. Throughput is in frames
//! (`Throughput::Elements`); docs/benchmarks.md turns it into MiB/s of payload.
//!
//! Run: `taskset -c 1 cargo bench -p sockframe --bench codec -- --warm-up-time 1 --measurement-time 3`
//!
//! The implementations live in `common/mod.rs`, shared with `instructions.rs` (the same cases
//! under callgrind, for instruction counts that do not depend on the machine's load).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

mod common;
use common::{Case, Impl, Op, SIZES, count, label};

fn bench(c: &mut Criterion, op: Op) {
    let name = match op {
        Op::Decode => "decode",
        Op::Encode => "encode",
    };
    for size in SIZES {
        let mut group = c.benchmark_group(format!("{name}/{}", label(size)));
        group.throughput(Throughput::Elements(count(size) as u64));
        for imp in Impl::ALL {
            let mut case = Case::new(op, imp, size);
            // Every implementation decodes every frame (and encodes the same bytes count).
            let first = case.run();
            if op == Op::Decode {
                assert_eq!(
                    first,
                    case.frames(),
                    "{} decoded {first} frames",
                    imp.name()
                );
            }
            group.bench_function(BenchmarkId::from_parameter(imp.name()), |b| {
                b.iter(|| black_box(black_box(&mut case).run()))
            });
        }
        group.finish();
    }
}

fn bench_decode(c: &mut Criterion) {
    bench(c, Op::Decode);
}

fn bench_encode(c: &mut Criterion) {
    bench(c, Op::Encode);
}

criterion_group!(benches, bench_decode, bench_encode);
criterion_main!(benches);
