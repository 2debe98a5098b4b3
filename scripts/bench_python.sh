#!/usr/bin/env bash
# gardencity.simulate() in memory against the CLI on the reference workload (garden
# city, dt 1, beta_start 300, beta_durations 55, beta_ping 7, ha 11.5/15, one week),
# side by side in one run: prints agent-weeks/s of each.
#   bash scripts/bench_python.sh [AGENTS=10000]
set -euo pipefail
cd "$(dirname "$0")/.."
agents=${1:-10000}
city=../shared/data/garden-city.gpkg
bin=${CARGO_TARGET_DIR:-$PWD/target}/release/gardencity
cargo build --release -q -p gardencity-cli
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
for round in 1 2; do
  t0=$(date +%s.%N)
  "$bin" simulate --city "$city" --agents "$agents" --days 7 --beta-start 300 --beta-durations 55 \
    --beta-ping 7 --ha 0.766667 --out "$out/cli" --overwrite -q 2>/dev/null
  t1=$(date +%s.%N)
  echo "round $round CLI (writes Parquet):      $(echo "$agents / ($t1 - $t0)" | bc -l | xargs printf '%.0f') agent-weeks/s"
  .venv/bin/python - "$city" "$agents" <<'PY'
import sys, time, gardencity
city, agents = sys.argv[1], int(sys.argv[2])
t = time.perf_counter()
run = gardencity.simulate(city=city, agents=agents, days=7, progress=False,
                          sampling={"beta_start": 300.0, "beta_durations": 55.0, "beta_ping": 7.0, "ha": 0.766667})
dt = time.perf_counter() - t
print(f"        simulate() in memory (pyarrow):  {agents / dt:.0f} agent-weeks/s ({run.sparse.num_rows} sparse pings)")
PY
done
