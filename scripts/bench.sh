#!/usr/bin/env bash
# End-to-end benchmark of `gardencity simulate` on the reference workload:
# dt = 1 min, sparse sampling beta_start 300, beta_durations 55, beta_ping 7,
# ha 11.5/15, with sparse pings, diaries and homes written as Parquet.
# Prints agent-weeks/s, diary entries per agent-week and peak RSS for each run, and
# dense pings/s for the dense case.
#
#   bash scripts/bench.sh [AGENT_COUNTS...]        (default: 1000 10000 100000)
#   OLD_BIN=/path/to/old/gardencity bash scripts/bench.sh ...
#       runs every case with the old binary too, right after the new one, and prints
#       the ratio new/old (this machine is shared and noisy: compare within one run)
#   BENCH_SCALE=1 bash scripts/bench.sh ...
#       adds the scale cases: a random 350 x 350 city, cost per agent-week for 1 and
#       52 weeks per agent, dense pings written per second, and peak RSS for
#       1,000,000 agents x 1 week, 1 agent x 100 years and 10,000 agents x 1 year
#
# The city is the NOMAD garden city when ../shared/data is present, else the
# built-in default city.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p gardencity-cli
target="${CARGO_TARGET_DIR:-$PWD/target}"
bin="$target/release/gardencity"
old="${OLD_BIN:-}"
city=()
if [ -f ../shared/data/garden-city.gpkg ]; then
  city=(--city ../shared/data/garden-city.gpkg)
  echo "city: garden city (../shared/data/garden-city.gpkg)"
else
  echo "city: built-in default (random 50x50)"
fi
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
sampling=(--beta-start 300 --beta-durations 55 --beta-ping 7 --ha 0.76667)

# one BIN LABEL ARGS...: one run, its summary line shortened to the figures.
one() {
  local b=$1 label=$2
  shift 2
  local line
  line=$("$b" simulate "$@" --out "$out/run" --overwrite -q 2>&1 | tail -n 1)
  rm -rf "$out/run"
  local aw rss dense weeks entries
  aw=$(sed -n 's/.*: \([0-9]*\) agent-weeks\/s.*/\1/p' <<<"$line")
  weeks=$(sed -n 's/.*(\([0-9.]*\) agent-weeks).*/\1/p' <<<"$line")
  entries=$(sed -n 's/.* \([0-9]*\) diary entries).*/\1/p' <<<"$line")
  dense=$(sed -n 's/.* \([0-9]*\) dense pings\/s.*/\1/p' <<<"$line")
  rss=$(sed -n 's/.*peak RSS \([0-9]* [KMG]B\).*/\1/p' <<<"$line")
  [ -n "$aw" ] && [ -n "$weeks" ] && [ -n "$entries" ] || { echo "$label: unparsed summary: $line" >&2; return 1; }
  # Diary entries per agent-week: the model's work (trips and stays) per week.
  printf '%s %s %s %s\n' "$aw" "$(awk -v e="$entries" -v w="$weeks" 'BEGIN { printf "%.0f", e / w }')" "$rss" "$dense"
}

# case LABEL ARGS...: the new binary, then the old one when given, side by side.
case_() {
  local label=$1
  shift
  local n o
  n=$(one "$bin" "$label" "$@")
  read -r naw nent nrss nunit ndense <<<"$n"
  if [ -n "$old" ]; then
    o=$(one "$old" "$label" "$@")
    read -r oaw oent orss ounit odense <<<"$o"
    printf '%-34s new %6s agent-weeks/s %5s %s %4s entries/aw | old %6s agent-weeks/s %5s %s %4s entries/aw | new/old %s\n' \
      "$label" "$naw" "$nrss" "$nunit" "$nent" "$oaw" "$orss" "$ounit" "$oent" "$(awk -v a="$naw" -v b="$oaw" 'BEGIN { printf "%.2f", a / b }')"
  else
    printf '%-34s %6s agent-weeks/s  peak RSS %5s %s  %s dense pings/s  %s diary entries/agent-week\n' "$label" "$naw" \
      "$nrss" "$nunit" "$ndense" "$nent"
  fi
}

counts=("$@")
[ ${#counts[@]} -gt 0 ] || counts=(1000 10000 100000)
for n in "${counts[@]}"; do
  for t in 1 2; do
    case_ "agents=$n threads=$t" "${city[@]}" --agents "$n" --days 7 --threads "$t" "${sampling[@]}" \
      --outputs sparse,diaries,homes
  done
done

if [ -n "${BENCH_SCALE:-}" ]; then
  "$bin" city random --width 350 --height 350 --seed 1 --out "$out/r350.gpkg" >/dev/null
  case_ "random 350x350, 10000 agents" --city "$out/r350.gpkg" --agents 10000 --days 7 "${sampling[@]}" \
    --outputs sparse,diaries,homes
  case_ "1 week per agent, 5200 agents" "${city[@]}" --agents 5200 --days 7 "${sampling[@]}" \
    --outputs sparse,diaries,homes
  # 1,000 agents: with fewer, the year's 731 part files weigh on the cost per agent-week.
  case_ "52 weeks per agent, 1000 agents" "${city[@]}" --agents 1000 --days 364 "${sampling[@]}" \
    --outputs sparse,diaries,homes
  bin_dense() { "$1" simulate "${city[@]}" --agents 2000 --days 7 --outputs dense --out "$out/run" --overwrite -q 2>&1 | tail -n 1; rm -rf "$out/run"; }
  echo "dense output, 2000 agents x 1 week:"
  echo "  new: $(bin_dense "$bin" | sed -n 's/.*s: \(.*dense pings\/s\).*peak RSS \([0-9]* [KMG]B\).*/\1, peak RSS \2/p')"
  [ -z "$old" ] || echo "  old: $(bin_dense "$old" | sed -n 's/.*s: \(.*dense pings\/s\).*peak RSS \([0-9]* [KMG]B\).*/\1, peak RSS \2/p')"
  echo "peak RSS of long and large runs:"
  for spec in "1000000 7" "1 36500" "10000 365"; do
    read -r a d <<<"$spec"
    case_ "  agents=$a days=$d" "${city[@]}" --agents "$a" --days "$d" "${sampling[@]}" --outputs sparse,diaries,homes
  done
fi
