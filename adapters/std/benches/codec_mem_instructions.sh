#!/usr/bin/env bash
# The codec echoes' per-message cost at a fixed batching, without sockets: callgrind counts
# of adapters/std/examples/bench_codec_mem.rs (the echo loops of bench_codec_echo and
# bench_tokio_echo over an in-memory stream delivering BURST requests per read readiness)
# at two frame counts; the difference per frame cancels start-up. Deterministic: the same
# binary gives the same figure on a loaded machine.
#
#   adapters/std/benches/codec_mem_instructions.sh [BURST...]    # needs valgrind; default 64 16
set -euo pipefail
cd "$(dirname "$0")/../../.."

command -v valgrind >/dev/null || { echo "needs valgrind" >&2; exit 2; }
cargo build --release -q -p sockframe-std --example bench_codec_mem
bin=${CARGO_TARGET_DIR:-target}/release/examples/bench_codec_mem
n1=20000
n2=120000
ir() { # protocol frames burst
    valgrind --tool=callgrind --toggle-collect="*Runtime::block_on*" --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
echo "| burst (replies per write) | Framed<_, FrameCodec> instr/msg | Framed<_, LengthDelimitedCodec> instr/msg | ratio |"
echo "| ---: | ---: | ---: | ---: |"
bursts=("$@")
[ $# -gt 0 ] || bursts=(64 16)
for burst in "${bursts[@]}"; do
    declare -A per
    for protocol in sockframe length-prefix; do
        a=$(ir "$protocol" "$n1" "$burst")
        b=$(ir "$protocol" "$n2" "$burst")
        per[$protocol]=$(awk -v a="$a" -v b="$b" -v n=$((n2 - n1)) 'BEGIN { printf "%.1f", (b - a) / n }')
    done
    ratio=$(awk -v s="${per[sockframe]}" -v l="${per[length-prefix]}" 'BEGIN { printf "%.2fx", l / s }')
    echo "| $burst | ${per[sockframe]} | ${per[length-prefix]} | $ratio |"
done
