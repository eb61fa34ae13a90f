#!/usr/bin/env bash
# The two codec echo servers (examples bench_codec_echo / bench_tokio_echo) under pipelined
# 64 B load at a chosen concurrency, server pinned to CPU 0 and `sockframe bench` to CPU 1:
# msgs/s, the load generator's CPU time (user+sys, whole process) and the server's CPU ticks
# (utime+stime from /proc, 100 per second) over the 4 s measured run. Shows whether the
# server is the bottleneck (ticks near 400) or the window, wake-ups and load generator are.
#
#   adapters/std/benches/codec_echo_saturate.sh CONNS WINDOW     # e.g. 1 64, or 4 256
set -euo pipefail
cd "$(dirname "$0")/../../.."
conns=${1:-1}
window=${2:-64}
cargo build --release -q -p sockframe-cli --bin sockframe -p sockframe-std \
    --example bench_codec_echo --example bench_tokio_echo
bin=${CARGO_TARGET_DIR:-target}/release
err=$(mktemp)
pid=
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -f "$err"' EXIT
run() { # server-example protocol
    taskset -c 0 "$bin/examples/$1" --bind 127.0.0.1:0 2>"$err" &
    pid=$!
    for _ in $(seq 100); do grep -q "listening on" "$err" && break; sleep 0.1; done
    local addr load t0 t1 out
    addr=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$err" | head -1)
    load=(bench "$addr" --protocol "$2" --mode pipelined --size 64 --conns "$conns" --window "$window")
    taskset -c 1 "$bin/sockframe" "${load[@]}" --duration 1 >/dev/null # warm-up
    t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    # bash's own `time` (no GNU time needed): the load generator's CPU, user + sys.
    out=$( { TIMEFORMAT='client CPU %U+%S s'; time taskset -c 1 "$bin/sockframe" "${load[@]}" --duration 4; } 2>&1 |
        sed -n 's/.*: \([0-9]* msgs\/s\).*/\1/p; s/^\(client CPU .*\)/\1/p' | tr '\n' ' ')
    t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat")
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    pid=
    echo "| $1 | $conns x $window | $out| $((t1 - t0)) |"
}
echo "| server | conns x window | msgs/s, load generator CPU | server CPU ticks (of 400) |"
echo "| --- | --- | --- | ---: |"
for _ in 1 2; do
    run bench_codec_echo sockframe
    run bench_tokio_echo length-prefix
done
