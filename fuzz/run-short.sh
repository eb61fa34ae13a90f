#!/usr/bin/env bash
# Short fuzzing pass for CI: replays fuzz/regressions/<target>/ (each must pass), then fuzzes
# each target for N seconds (default 20) from the seed corpus in fuzz/seeds/<target>/.
#
#   fuzz/run-short.sh [SECONDS] [TARGET...]
#
# Needs a nightly toolchain (FUZZ_TOOLCHAIN, default "nightly"); installs cargo-fuzz if
# missing. New corpus entries go to fuzz/corpus-run/<target>/ (git-ignored); a crash leaves
# its input in fuzz/artifacts/<target>/ and makes the script exit non-zero.
set -euo pipefail

secs="${1:-${FUZZ_SECONDS:-20}}"
shift || true
targets=("$@")
if [ "${#targets[@]}" -eq 0 ]; then
    # Every target in fuzz_targets/ (decoder, header, smoltcp_echo, ...).
    targets=()
    for f in "$(dirname "$0")"/fuzz_targets/*.rs; do
        targets+=("$(basename "$f" .rs)")
    done
fi
toolchain="${FUZZ_TOOLCHAIN:-nightly}"

cd "$(dirname "$0")"

if ! rustup run "$toolchain" rustc --version >/dev/null 2>&1; then
    echo "run-short.sh: the $toolchain toolchain is not installed (cargo-fuzz needs nightly)" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "run-short.sh: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi

for t in "${targets[@]}"; do
    echo "=== fuzz target $t: regressions, then ${secs}s from seeds/$t"
    cargo "+$toolchain" fuzz build -O "$t"
    shopt -s nullglob
    regressions=(regressions/"$t"/*)
    shopt -u nullglob
    if [ "${#regressions[@]}" -gt 0 ]; then
        cargo "+$toolchain" fuzz run -O "$t" "${regressions[@]}"
    fi
    mkdir -p corpus-run/"$t"
    cargo "+$toolchain" fuzz run -O "$t" corpus-run/"$t" seeds/"$t" -- \
        -dict=decoder.dict -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1
done
echo "fuzz: ${#targets[@]} targets ran ${secs}s each without a crash"
