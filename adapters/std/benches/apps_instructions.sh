#!/usr/bin/env bash
# Issue 9's comparisons in instructions per message, counted by callgrind (independent of
# the load on the machine, unlike `cargo xtask bench-apps`'s msgs/s):
# - the tokio codec: the echo server `Framed<_, FrameCodec>` (examples/bench_codec_echo.rs)
#   against `Framed<_, LengthDelimitedCodec>` (examples/bench_tokio_echo.rs), server side;
#   counters zeroed after a 1 s warm-up, dumped after a measured `sockframe bench` run;
# - the async client (examples/bench_async_client.rs, W requests in flight on one
#   connection) against `sockframe bench --mode pipelined --window W`, client side, whole
#   process (start-up included: a few million instructions, under 1% of a run).
# Messages come from the load generators' reports.
#
#   adapters/std/benches/apps_instructions.sh [SECONDS]     # needs valgrind; default 4 s
#   APPS=codec adapters/std/benches/apps_instructions.sh   # the codec echoes only
set -euo pipefail
cd "$(dirname "$0")/../../.."

command -v callgrind_control >/dev/null || { echo "needs valgrind" >&2; exit 2; }
secs=${1:-4}
cargo build --release -q -p sockframe-cli --bin sockframe -p sockframe-std \
    --example bench_codec_echo --example bench_tokio_echo --example bench_async_client
bin=${CARGO_TARGET_DIR:-target}/release
scratch=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$scratch"' EXIT

msgs_of() { sed -n 's/.*: \([0-9]*\) msgs in .*/\1/p' <<<"$1"; }
summary() { sed -n 's/^summary: \([0-9]*\).*/\1/p' "$1"; }
# Replies per `writev` (a dump with uncompressed names): a pipelined server's instructions per
# message are about a + b / (replies per write), so runs compare only at equal batching.
per_write() { # dump, messages
    awk -v msgs="$2" '/^cfn=.*writev$/ { getline; split($0, c, /[= ]/); n += c[2] }
        END { if (n) printf "%.1f", msgs / n; else printf "-" }' "$1"
}

# Starts a server (optionally under callgrind) with --bind 127.0.0.1:0; sets $addr.
start() { # out-prefix, command...
    local out=$1
    shift
    "$@" --bind 127.0.0.1:0 2>"$out.err" &
    pids+=($!)
    for _ in $(seq 150); do grep -q "listening on" "$out.err" && break; sleep 0.2; done
    addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$out.err" | head -1)
}

echo "| side | program | load | messages | instructions per message | replies per writev |"
echo "| --- | --- | --- | ---: | ---: | ---: |"

server() { # name, protocol, server command...
    local name=$1 protocol=$2 out="$scratch/server$RANDOM"
    shift 2
    start "$out" valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$out.cg" "$@"
    local server=${pids[-1]}
    for load in "pipelined --size 64 --conns 1 --window 64" "pingpong --size 64 --conns 1"; do
        # shellcheck disable=SC2086
        "$bin/sockframe" bench "$addr" --protocol "$protocol" --mode $load --duration 1 >/dev/null
        callgrind_control -z "$server" >/dev/null 2>&1
        # shellcheck disable=SC2086
        report=$("$bin/sockframe" bench "$addr" --protocol "$protocol" --mode $load --duration "$secs")
        callgrind_control -d "$server" >/dev/null 2>&1
        sleep 0.5
        dump=$(ls -t "$out".cg.* | head -1)
        ir=$(summary "$dump")
        msgs=$(msgs_of "$report")
        echo "| server | $name | $load | $msgs | $((ir / msgs)) | $(per_write "$dump" "$msgs") |"
    done
    kill "$server"
    wait "$server" 2>/dev/null || true
}

server "Framed<_, FrameCodec>" sockframe "$bin/examples/bench_codec_echo"
server "Framed<_, LengthDelimitedCodec>" length-prefix "$bin/examples/bench_tokio_echo"

[[ ${APPS:-all} == codec ]] && exit 0

start "$scratch/serve" "$bin/sockframe" serve --max-conns 100000
for w in 64 1024; do
    out="$scratch/client$w"
    report=$(valgrind --tool=callgrind --callgrind-out-file="$out.cg" 2>/dev/null \
        "$bin/examples/bench_async_client" "$addr" --size 64 --in-flight $w --duration "$secs")
    echo "| client | AsyncClient | in flight $w | $(msgs_of "$report") | $(($(summary "$out.cg") / $(msgs_of "$report"))) | |"
    report=$(valgrind --tool=callgrind --callgrind-out-file="$out.base.cg" 2>/dev/null \
        "$bin/sockframe" bench "$addr" --mode pipelined --size 64 --conns 1 --window $w --duration "$secs")
    echo "| client | sockframe bench pipelined | window $w | $(msgs_of "$report") | $(($(summary "$out.base.cg") / $(msgs_of "$report"))) | |"
done
