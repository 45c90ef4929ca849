#!/usr/bin/env bash
# End-to-end figures for BENCHMARKS.md: for each size, generate a world, read its claims with
# polars alone (the floor), then run `rumour score`, each under /usr/bin/time -v (wall time and
# peak memory). Every run is done twice and the second (warm page cache) is reported.
#
#   bash benches/e2e.sh 100000 1000000 10000000
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rumour-target}"
cargo build --release --quiet --bin rumour --example polars_floor
bin="$CARGO_TARGET_DIR/release/rumour"
floor="$CARGO_TARGET_DIR/release/examples/polars_floor"
work="${RUMOUR_BENCH_DIR:-/tmp/rumour-bench}"
mkdir -p "$work"

measure() { # label, command...
    local label=$1; shift
    local log="$work/time.log"
    "$@" > /dev/null 2>&1 || true
    /usr/bin/time -v "$@" > /dev/null 2> "$log"
    local wall mem
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$log")
    mem=$(awk -F': ' '/Maximum resident set size/ {printf "%.2f", $2 / 1048576}' "$log")
    printf '| %s | %s | %s GB |\n' "$label" "$wall" "$mem"
}

echo "| run | wall (m:ss) | peak RSS |"
echo "|---|---|---|"
for n in "${@:-100000 1000000 10000000}"; do
    dir="$work/world-$n"
    [ -f "$dir/rumours.csv" ] || "$bin" generate --claims "$n" --seed 3 --out "$dir" --quiet
    measure "polars reads $n claims (floor)" "$floor" "$dir/rumours.csv"
    measure "rumour score, $n claims" "$bin" score --quiet --rumours "$dir/rumours.csv" \
        --transfers "$dir/transfers.csv" --aliases "$dir/aliases.csv" --as-of 2026-11-20 --out "$work/reports-$n"
done
