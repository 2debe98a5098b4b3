#!/usr/bin/env bash
# A sampling sweep against separate runs: the 12-configuration grid (ha 13, 15, 17 m by
# beta_ping 5, 6, 7, 8; beta_start 300, beta_durations 55) for AGENTS agents x 1 week
# on the garden city, as one `--sweep` run and as 12 runs; prints both wall times.
#
#   AGENTS=10000 bash scripts/bench_sweep.sh
set -euo pipefail
cd "$(dirname "$0")/.."
agents="${AGENTS:-10000}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build --release -q -p gardencity-cli
bin="$target/release/gardencity"
city=../shared/data/garden-city.gpkg
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cat > "$work/grid.toml" <<'TOML'
[base]
beta_start = 300.0
beta_durations = 55.0
[grid]
ha_m = [13.0, 15.0, 17.0]
beta_ping = [5.0, 6.0, 7.0, 8.0]
TOML
common=(simulate --city "$city" --agents "$agents" --days 7 --seed 1 -q)
t0=$(date +%s.%N)
"$bin" "${common[@]}" --sweep "$work/grid.toml" --out "$work/sweep"
t1=$(date +%s.%N)
for ha in 13 15 17; do
  for bp in 5 6 7 8; do
    "$bin" "${common[@]}" --beta-start 300 --beta-durations 55 --beta-ping "$bp" --ha-m "$ha" --out "$work/r-$ha-$bp"
  done
done
t2=$(date +%s.%N)
awk -v a="$t0" -v b="$t1" -v c="$t2" -v n="$agents" 'BEGIN {
  printf "sweep of 12 configurations, %d agents x 1 week: %.1f s\n", n, b - a
  printf "12 separate runs: %.1f s\n", c - b
  printf "the sweep costs %.1fx less\n", (c - b) / (b - a)
}'
du -sh "$work/sweep" | awk '{print "sweep dataset: " $1}'
