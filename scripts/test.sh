#!/usr/bin/env bash
# The whole test suite: creates the Python venv of independent readers (pyarrow,
# pandas, pyogrio, osmium) the tests check our files with, then runs every Rust
# test in release mode (the simulation tests are statistical and heavy in debug
# builds), and closes with the totals over all test binaries.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-venv.sh
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
cargo test --workspace --release "$@" 2>&1 | tee "$log" || status=$?
awk '/^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
     END { printf "\ntotal: %d passed, %d failed, %d skipped\n", p, f, s }' "$log"
exit "$status"
