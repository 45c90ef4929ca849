#!/usr/bin/env bash
# Runs the ingest fuzz target for a bounded time (default 300 s), seeded with the test
# fixtures. Needs cargo-fuzz and a nightly toolchain: `cargo install cargo-fuzz`.
#   bash fuzz/run.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")"
export CARGO_TARGET_DIR="${FUZZ_TARGET_DIR:-$HOME/.cache/rumour-fuzz-target}"
mkdir -p corpus/ingest
cp ../tests/fixtures/broken/*.csv ../tests/fixtures/tiny/*.csv corpus/ingest/
cargo +nightly fuzz run ingest corpus/ingest -- -max_total_time="${1:-300}" -max_len=65536 -timeout=30
