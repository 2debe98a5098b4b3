#!/usr/bin/env bash
# Runs the fuzz tests of every reader of outside bytes (crates/gardencity-cli/tests/
# fuzz_readers.rs) for HOURS hours (default 1), CASES cases per reader and round
# (default 5000), with a fresh seed each round; stops at the first failure, which names
# the reader, seed and case and keeps the input file.
#
#   bash scripts/fuzz.sh [HOURS] [CASES]
set -euo pipefail
cd "$(dirname "$0")/.."
hours="${1:-1}"
cases="${2:-5000}"
end=$(( $(date +%s) + ${hours%.*} * 3600 ))
seed=$(date +%s)
cargo test --release -p gardencity-cli --test fuzz_readers --no-run -q
while [ "$(date +%s)" -lt "$end" ]; do
  echo "seed $seed: $cases cases per reader"
  GARDENCITY_FUZZ_CASES="$cases" GARDENCITY_FUZZ_SEED="$seed" \
    cargo test --release -q -p gardencity-cli --test fuzz_readers
  seed=$((seed + 1))
done
