#!/usr/bin/env bash
# End-to-end figures for BENCHMARKS.md: for each size, generate a world, then for a number of
# rounds read its claims with polars alone (the floor) and run `rumour score`, one right after
# the other, each under /usr/bin/time -v (wall time and peak memory). The VM is noisy and
# gives memory back to its host a few seconds after a process frees it, so single runs vary
# by ±20%; the script prints every round and the medians, and the ratio of the medians.
#
#   bash benches/e2e.sh 100000 1000000 10000000        # ROUNDS=5 by default
#   ROUNDS=9 bash benches/e2e.sh 10000000
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rumour-target}"
cargo build --release --quiet --bin rumour --example polars_floor
bin="${RUMOUR_BIN:-$CARGO_TARGET_DIR/release/rumour}"
floor="$CARGO_TARGET_DIR/release/examples/polars_floor"
work="${RUMOUR_BENCH_DIR:-/tmp/rumour-bench}"
rounds="${ROUNDS:-5}"
mkdir -p "$work"

# Prints "seconds GiB" of one run.
measure() {
    local log="$work/time.log"
    /usr/bin/time -v "$@" > /dev/null 2> "$log"
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
        /Maximum resident set size/ { m = $2 / 1048576 }
        END { printf "%.2f %.2f\n", s, m }' "$log"
}

median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for n in "${@:-100000 1000000 10000000}"; do
    dir="$work/world-$n"
    [ -f "$dir/rumours.csv" ] || "$bin" generate --claims "$n" --seed 3 --out "$dir" --quiet
    echo "## $n claims ($(du -h "$dir/rumours.csv" | cut -f1) of claims), $rounds rounds"
    echo
    echo "| round | floor (s) | floor peak (GiB) | score (s) | score peak (GiB) | score / floor |"
    echo "|---|---|---|---|---|---|"
    : > "$work/rounds.txt"
    for r in $(seq "$rounds"); do
        read -r fs fm < <(measure "$floor" "$dir/rumours.csv")
        read -r ss sm < <(measure "$bin" score --quiet --rumours "$dir/rumours.csv" \
            --transfers "$dir/transfers.csv" --aliases "$dir/aliases.csv" --as-of 2026-11-20 \
            --out "$work/reports-$n")
        ratio=$(awk -v a="$ss" -v b="$fs" 'BEGIN { printf "%.2f", a / b }')
        echo "$fs $fm $ss $sm $ratio" >> "$work/rounds.txt"
        echo "| $r | $fs | $fm | $ss | $sm | ${ratio}x |"
    done
    mf=$(cut -d' ' -f1 "$work/rounds.txt" | median)
    ms=$(cut -d' ' -f3 "$work/rounds.txt" | median)
    mr=$(cut -d' ' -f5 "$work/rounds.txt" | median)
    pk=$(cut -d' ' -f4 "$work/rounds.txt" | sort -g | tail -1)
    echo "| median | $mf | | $ms | max $pk | ${mr}x (ratio of medians $(awk -v a="$ms" -v b="$mf" 'BEGIN { printf "%.2f", a / b }')x) |"
    echo
done
