#!/usr/bin/env bash
# The whole test suite: creates the Python venv of independent readers (pyarrow,
# pandas, pyogrio, osmium, geopandas...), builds and installs the Python package into
# it, runs every Rust test in release mode (the simulation tests are statistical and
# heavy in debug builds), then the Python tests (pytest), and closes with the totals
# over both, listing every skipped test.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-venv.sh
target="${CARGO_TARGET_DIR:-$PWD/target}"
.venv/bin/python -m pip install --quiet --disable-pip-version-check ./python
log=$(mktemp)
pylog=$(mktemp)
trap 'rm -f "$log" "$pylog"' EXIT
status=0
cargo test --workspace --release "$@" -- --show-output 2>&1 | tee "$log" || status=$?
cargo build --release -p gardencity-cli --quiet
GARDENCITY_BIN="$target/release/gardencity" .venv/bin/python -m pytest python/tests -q -rs 2>&1 | tee "$pylog" || status=$?
awk -v pylog="$pylog" '
  /^test result:/ { for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i; if ($(i+1) ~ /^ignored/) s += $i } }
  /^SKIPPED: / { s += 1; skipped[++ns] = $0 }
  END {
    while ((getline line < pylog) > 0) {
      if (line ~ /^SKIPPED /) { skipped[++ns] = line }
      if (line ~ /(passed|failed|skipped|error)/ && line ~ / in [0-9.]+s/) {
        n = split(line, w, /[ ,=]+/)
        for (i = 1; i < n; i++) {
          if (w[i+1] ~ /^passed/) p += w[i]; if (w[i+1] ~ /^failed/) f += w[i]
          if (w[i+1] ~ /^skipped/) s += w[i]; if (w[i+1] ~ /^error/) f += w[i]
        }
      }
    }
    if (ns > 0) { printf "\nskipped tests:\n"; for (i = 1; i <= ns; i++) print "  " skipped[i] }
    printf "\ntotal: %d passed, %d failed, %d skipped\n", p, f, s
  }' "$log"
exit "$status"
