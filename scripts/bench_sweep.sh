#!/usr/bin/env bash
# A sampling sweep against separate runs: the 12-configuration grid (ha 13, 15, 17 m by
# beta_ping 5, 6, 7, 8; beta_start 300, beta_durations 55) for AGENTS agents x 1 week
# on the garden city, as one `--sweep` run and as 12 runs, REPEAT times alternately;
# prints each round's wall and CPU (user + system) times and the median ratios.
#
#   AGENTS=10000 REPEAT=3 bash scripts/bench_sweep.sh
#   BIN=/path/to/gardencity ...   (another binary; default: this checkout's, built here)
set -euo pipefail
cd "$(dirname "$0")/.."
agents="${AGENTS:-10000}"
repeat="${REPEAT:-3}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
if [ -z "${BIN:-}" ]; then
  cargo build --release -q -p gardencity-cli
fi
bin="${BIN:-$target/release/gardencity}"
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
TIMEFORMAT='%R %U %S'

sweep() {
  rm -rf "$work/sweep"
  "$bin" "${common[@]}" --sweep "$work/grid.toml" --out "$work/sweep" >"$work/sweep.log" 2>&1 ||
    { cat "$work/sweep.log" >&2; exit 1; }
}

separate() {
  for ha in 13 15 17; do
    for bp in 5 6 7 8; do
      rm -rf "$work/r"
      "$bin" "${common[@]}" --beta-start 300 --beta-durations 55 --beta-ping "$bp" --ha-m "$ha" --out "$work/r"
    done
  done
}

: > "$work/times"
for round in $(seq "$repeat"); do
  s=$( { time sweep; } 2>&1 | tail -n 1)
  r=$( { time separate; } 2>&1 | tail -n 1)
  echo "$round $s $r" >> "$work/times"
done
awk -v n="$agents" '
  function median(a, k,   i, j, t) {
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  {
    k++
    sw[k] = $2; sc[k] = $3 + $4; rw[k] = $5; rc[k] = $6 + $7
    wr[k] = rw[k] / sw[k]; cr[k] = rc[k] / sc[k]
    printf "round %d: sweep %.1f s wall, %.1f s CPU; 12 separate runs %.1f s wall, %.1f s CPU; %.1fx less wall, %.1fx less CPU\n", \
      $1, sw[k], sc[k], rw[k], rc[k], wr[k], cr[k]
  }
  END {
    printf "12 configurations, %d agents x 1 week, median of %d rounds: the sweep costs %.1fx less wall time, %.1fx less CPU time\n", \
      n, k, median(wr, k), median(cr, k)
  }' "$work/times"
# The last round's sweep: its summary (peak RSS) and its dataset.
tail -n 1 "$work/sweep.log"
du -sh "$work/sweep" | awk '{print "sweep dataset: " $1}'
