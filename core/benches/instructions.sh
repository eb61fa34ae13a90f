#!/usr/bin/env bash
# Instructions per frame for every case of the codec bench, counted by callgrind (independent
# of the load on the machine, unlike criterion's wall clock). Prints a markdown table.
#
#   core/benches/instructions.sh            # needs valgrind
#
# Each case runs R1 and R2 times; (Ir(R2) - Ir(R1)) / ((R2 - R1) x frames) cancels setup.
set -euo pipefail
cd "$(dirname "$0")/../.."

command -v valgrind >/dev/null || { echo "instructions.sh: needs valgrind" >&2; exit 2; }
bin=$(cargo bench -p sockframe --bench instructions --no-run 2>&1 |
    sed -n 's/.*Executable .*instructions\.rs (\(.*\))$/\1/p')
[ -x "$bin" ] || { echo "instructions.sh: bench binary not found" >&2; exit 1; }

r1=1
r2=3
ir() { # op impl size runs
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$bin" "$1" "$2" "$3" "$4" 2>&1 |
        sed -n 's/.*Collected : \([0-9]*\).*/\1/p'
}
per_frame() { # op impl size
    local frames a b
    frames=$("$bin" "$1" "$2" "$3" 1 | sed -n 's/^\([0-9]*\) frames per run.*/\1/p')
    a=$(ir "$1" "$2" "$3" "$r1")
    b=$(ir "$1" "$2" "$3" "$r2")
    echo $(((b - a) / ((r2 - r1) * frames)))
}

echo "| payload | implementation | decode instr/frame | vs LengthDelimitedCodec | encode instr/frame | vs LengthDelimitedCodec |"
echo "| ---: | --- | ---: | ---: | ---: | ---: |"
for size in 16 64 1024 65536; do
    declare -A d e
    for imp in sockframe length_delimited plain; do
        d[$imp]=$(per_frame decode "$imp" "$size")
        e[$imp]=$(per_frame encode "$imp" "$size")
    done
    for imp in sockframe length_delimited plain; do
        case $imp in
            sockframe) name=sockframe ;;
            length_delimited) name=LengthDelimitedCodec ;;
            plain) name="plain 4-byte length" ;;
        esac
        # "vs" is the frames/s ratio an instruction count implies: fewer instructions = faster.
        dr=$(awk -v a="${d[length_delimited]}" -v b="${d[$imp]}" 'BEGIN { printf "%.2fx", a / b }')
        er=$(awk -v a="${e[length_delimited]}" -v b="${e[$imp]}" 'BEGIN { printf "%.2fx", a / b }')
        echo "| $size B | $name | ${d[$imp]} | $dr | ${e[$imp]} | $er |"
    done
    unset d e
done
