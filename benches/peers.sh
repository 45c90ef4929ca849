#!/usr/bin/env bash
# `rumour score` timed beside two peers doing the core work of ../shared/perf/REFERENCE.md
# (benches/peers/: DuckDB and Python polars, pinned in requirements.txt), on the same files,
# interleaved: each round runs score, DuckDB and polars back to back, each with the inputs
# just read (untimed), so that the noise of this shared VM falls on all three alike. Every
# round is printed (wall seconds, CPU seconds = user + system, peak RSS), then the medians
# and ranges. The peers' outputs are checked to agree with each other once per world.
#
#   bash benches/peers.sh                      # the three shapes at 1M and 10M, ROUNDS=5
#   SHAPES=wide SIZES=1000000 ROUNDS=3 bash benches/peers.sh
#
# Shapes: `default` (the project's own world), `wide` (2,000 sources with Zipf-like volume,
# 3,000 clubs, 200k players per 1M claims, windows from 2015, dated transfers, 5% of claims
# without window, 3% without stage, 2% without text: the shape of issue 10) and `rush` (a few
# outlets, 40 clubs, 500k players per 1M claims, windows from 2023 only, transfers known by
# window alone, 30% of claims in the two days before a close, few rumours coming true).
# A fourth, `sprawl`, is run only when asked (`SHAPES=sprawl`): 6,000 sources, 20,000 clubs,
# 600k players per 1M claims, windows from 2005, half the claims without window and half
# without stage, 30% of transfers dated, 10% of claims just before a close, many rumours true.
# Two more at the extremes, also only when asked: `narrow` (3 outlets, 20 clubs, 5,000
# players per 1M claims, windows from 2025 only, every claim with window and stage, dated
# transfers, half the claims in the two days before a close: a few names in very many deals)
# and `vast` (30,000 sources, 60,000 clubs, 700k players per 1M claims, windows from 2000,
# 60% of claims without window and 60% without stage, 10% of transfers dated).
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/rumour-target}"
[ -n "${RUMOUR_BIN:-}" ] || cargo build --release --quiet --bin rumour
bin="${RUMOUR_BIN:-$CARGO_TARGET_DIR/release/rumour}"
work="${RUMOUR_BENCH_DIR:-/tmp/rumour-bench}"
rounds="${ROUNDS:-5}"
as_of=2026-11-24
mkdir -p "$work"
venv="$work/venv"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r benches/peers/requirements.txt
fi
py="$venv/bin/python"

shape_args() {
    case "$1" in
        default) echo "" ;;
        wide) echo "--sources 2000 --clubs 3000 --players $(( $2 / 5 )) --first-year 2015 --without-window 0.05 --without-stage 0.03 --without-text 0.02 --dated-share 1" ;;
        rush) echo "--sources 8 --clubs 40 --players $(( $2 / 2 )) --first-year 2023 --dated-share 0 --deadline-share 0.3 --hit-shift -2" ;;
        sprawl) echo "--sources 6000 --clubs 20000 --players $(( $2 * 3 / 5 )) --first-year 2005 --without-window 0.5 --without-stage 0.5 --dated-share 0.3 --deadline-share 0.1 --hit-shift 1" ;;
        narrow) echo "--sources 3 --clubs 20 --players $(( $2 / 200 )) --first-year 2025 --without-window 0 --without-stage 0 --dated-share 1 --deadline-share 0.5" ;;
        vast) echo "--sources 30000 --clubs 60000 --players $(( $2 * 7 / 10 )) --first-year 2000 --without-window 0.6 --without-stage 0.6 --dated-share 0.1" ;;
        *) echo "unknown shape $1" >&2; exit 2 ;;
    esac
}

# Prints "wall cpu peak_GiB" of one run.
measure() {
    local log="$work/time.log"
    /usr/bin/time -v "$@" > /dev/null 2> "$log" || { cat "$log" >&2; exit 1; }
    awk -F': ' '
        /Elapsed \(wall clock\)/ { n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i] }
        /User time/ { u = $2 } /System time/ { y = $2 }
        /Maximum resident set size/ { m = $2 / 1048576 }
        END { printf "%.2f %.2f %.2f\n", s, u + y, m }' "$log"
}

# Removes the three engines' outputs and waits for the disk, before a round's timings.
clear_outputs() {
    rm -rf "$work/reports" "$work/out-duckdb" "$work/out-polars"
    mkdir -p "$work/out-duckdb" "$work/out-polars"
    sync
}

# Reads the world's inputs, untimed, right before each engine: on the development VM the page
# cache does not keep them (at times only 7% of a 2.2 GB file was cached between runs), and
# memory left untouched for a few seconds is several times slower to read again (226 MB read
# at once: 0.04 s; 5 s later 0.27 s; 20 s later 0.6 s; BENCHMARKS.md). Read once per round,
# the engine timed first would be the only one to find them fresh.
warm() {
    cat "$1"/*.csv > /dev/null
}

# median and range of one column of a file.
stats() {
    cut -d' ' -f"$2" "$1" | sort -g | awk '{ v[NR] = $1 } END {
        m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
        printf "%.2f (%.2f–%.2f)", m, v[1], v[NR] }'
}

for shape in ${SHAPES:-default wide rush}; do
    for n in ${SIZES:-1000000 10000000}; do
        dir="$work/$shape-$n"
        # shellcheck disable=SC2046
        [ -f "$dir/rumours.csv" ] || "$bin" generate --claims "$n" --seed 3 --out "$dir" --quiet $(shape_args "$shape" "$n")
        mkdir -p "$work/out-duckdb" "$work/out-polars"
        "$py" benches/peers/core_duckdb.py "$dir" "$work/out-duckdb" "$as_of"
        "$py" benches/peers/core_polars.py "$dir" "$work/out-polars" "$as_of"
        agree=$("$py" benches/peers/compare.py "$work/out-duckdb" "$work/out-polars" || true)
        echo "## $shape world, $n claims ($(du -h "$dir/rumours.csv" | cut -f1)), $rounds rounds; peers: $agree"
        echo
        echo "| round | score wall / CPU s / GiB | DuckDB wall / CPU s / GiB | polars wall / CPU s / GiB |"
        echo "|---|---|---|---|"
        : > "$work/score.txt"; : > "$work/duckdb.txt"; : > "$work/polars.txt"
        for r in $(seq "$rounds"); do
            # Each engine writes into an empty directory: none is timed freeing its files of
            # the round before (score removes its previous set, the peers truncate theirs; on
            # the development VM freeing a gigabyte of written blocks takes 0.2-0.4 s, and
            # varies with what else the disk holds; BENCHMARKS.md).
            clear_outputs
            warm "$dir"
            s=$(measure "$bin" score --quiet --rumours "$dir/rumours.csv" --transfers "$dir/transfers.csv" \
                --aliases "$dir/aliases.csv" --as-of "$as_of" --out "$work/reports")
            warm "$dir"
            d=$(measure "$py" benches/peers/core_duckdb.py "$dir" "$work/out-duckdb" "$as_of")
            warm "$dir"
            p=$(measure "$py" benches/peers/core_polars.py "$dir" "$work/out-polars" "$as_of")
            echo "$s" >> "$work/score.txt"; echo "$d" >> "$work/duckdb.txt"; echo "$p" >> "$work/polars.txt"
            echo "| $r | ${s// / / } | ${d// / / } | ${p// / / } |"
        done
        for who in score duckdb polars; do
            echo "| median (range) $who | wall $(stats "$work/$who.txt" 1) | CPU $(stats "$work/$who.txt" 2) | peak $(stats "$work/$who.txt" 3) GiB |"
        done
        echo
    done
done
