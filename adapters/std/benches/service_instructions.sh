#!/usr/bin/env bash
# Server instructions per echoed message, counted by callgrind (independent of the load on
# the machine): the built-in echo (`sockframe serve`) against a user's echo on the public
# Service trait (examples/bench_trait_echo.rs). For each load, the counters are zeroed after
# a 1 s warm-up and dumped after a measured `sockframe bench` run; the message count comes
# from the bench report.
#
#   adapters/std/benches/service_instructions.sh      # needs valgrind (callgrind_control)
set -euo pipefail
cd "$(dirname "$0")/../../.."

command -v callgrind_control >/dev/null || { echo "needs valgrind" >&2; exit 2; }
cargo build --release -q -p sockframe-cli --bin sockframe -p sockframe-std --example bench_trait_echo
bin=${CARGO_TARGET_DIR:-target}/release
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

loads=("pingpong --size 64 --conns 1" "pipelined --size 64 --window 64"
    "pingpong --size 64 --conns 32" "pipelined --size 1048576 --window 4")

measure() { # name, server command...
    local name=$1 out="$scratch/$1"
    shift
    valgrind --tool=callgrind --callgrind-out-file="$out.cg" "$@" --bind 127.0.0.1:0 2>"$out.err" &
    local server=$!
    for _ in $(seq 150); do grep -q "listening on" "$out.err" && break; sleep 0.2; done
    local addr
    addr=$(sed -n 's/.*listening on //p' "$out.err" | head -1)
    for load in "${loads[@]}"; do
        # shellcheck disable=SC2086
        "$bin/sockframe" bench "$addr" --mode $load --duration 1 >/dev/null
        callgrind_control -z "$server" >/dev/null 2>&1
        # shellcheck disable=SC2086
        report=$("$bin/sockframe" bench "$addr" --mode $load --duration 4)
        callgrind_control -d "$server" >/dev/null 2>&1
        sleep 0.5
        ir=$(sed -n 's/^summary: \([0-9]*\).*/\1/p' "$(ls -t "$out".cg.* | head -1)")
        msgs=$(sed -n 's/.*: \([0-9]*\) msgs in .*/\1/p' <<<"$report")
        echo "| $name | $load | $msgs | $((ir / msgs)) |"
    done
    kill -INT "$server"
    wait "$server" 2>/dev/null || true
}

echo "| server | load | messages | instructions per message |"
echo "| --- | --- | ---: | ---: |"
measure "built-in echo" "$bin/sockframe" serve --max-conns 100000
measure "user Service echo" "$bin/examples/bench_trait_echo"
