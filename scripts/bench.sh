#!/usr/bin/env bash
# End-to-end benchmark of `gardencity simulate` on the reference workload:
# dt = 1 min, sparse sampling beta_start 300, beta_durations 55, beta_ping 7,
# ha 11.5/15, with sparse pings, diaries and homes written as Parquet.
# Prints agent-weeks/s, dense and sparse pings/s and peak RSS for each run.
#
#   bash scripts/bench.sh [AGENT_COUNTS...]        (default: 1000 10000 100000)
#
# The city is the NOMAD garden city when ../shared/data is present, else the
# built-in default city.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p gardencity-cli
target="${CARGO_TARGET_DIR:-$PWD/target}"
bin="$target/release/gardencity"
city=()
if [ -f ../shared/data/garden-city.gpkg ]; then
  city=(--city ../shared/data/garden-city.gpkg)
  echo "city: garden city (../shared/data/garden-city.gpkg)"
else
  echo "city: built-in default (random 50x50)"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000 100000)
for n in "${counts[@]}"; do
  for t in 1 2; do
    printf 'agents=%-7s threads=%s  ' "$n" "$t"
    "$bin" simulate "${city[@]}" --agents "$n" --days 7 --threads "$t" \
      --beta-start 300 --beta-durations 55 --beta-ping 7 --ha 0.76667 \
      --outputs sparse,diaries,homes --out "$out/run" --overwrite -q 2>&1 | tail -n 1
  done
done
