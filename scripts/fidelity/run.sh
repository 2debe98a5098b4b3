#!/usr/bin/env bash
# Fidelity harness: gardencity against NOMAD itself on the garden city.
#
#   bash scripts/fidelity/run.sh
#
# 1. sets up NOMAD (setup-nomad.sh; skipped when already done),
# 2. generates two independent NOMAD samples (cached; regenerated only when
#    their directory has no meta.json),
# 3. runs gardencity on the same city, window and parameters (--coords blocks),
# 4. compares NOMAD vs NOMAD (calibration: must pass) and gardencity vs NOMAD.
# Exit code 0 only if both comparisons pass.
#
# Environment (defaults in brackets):
#   FIDELITY_WORK   working directory for samples and runs      [/work/fidelity-work]
#   NOMAD_AGENTS    agents per NOMAD sample                     [600]
#   NOMAD_SEEDS     seeds of the two NOMAD samples              ["1 2"]
#   GC_AGENTS       gardencity agents                           [2000]
#   GC_SEED         gardencity master seed                      [0]
#   HUBS            gravity hub_size, both generators           [16]
#   PROCESSES       Python processes (NOMAD, stop detection)    [2]
#   GARDENCITY_BIN  gardencity binary [else: cargo build --release -p gardencity-cli]
#   COMPARE_ARGS    extra compare.py options, e.g. --no-stop-detection
#   plus setup-nomad.sh's NOMAD_VENV, NOMAD_SRC, NOMAD_GIT_DIR, NOMAD_COMMIT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
work=${FIDELITY_WORK:-/work/fidelity-work}
agents=${NOMAD_AGENTS:-600}
read -r -a seeds <<<"${NOMAD_SEEDS:-1 2}"
gc_agents=${GC_AGENTS:-2000}
gc_seed=${GC_SEED:-0}
hubs=${HUBS:-16}
processes=${PROCESSES:-2}
city=$repo/../shared/data/garden-city.gpkg
export FIDELITY_WORK=$work
export NOMAD_VENV=${NOMAD_VENV:-$work/nomad-venv}
read -r -a compare_args <<<"${COMPARE_ARGS:-}"
mkdir -p "$work"

if [ ${#seeds[@]} -ne 2 ] || [ "${seeds[0]}" = "${seeds[1]}" ]; then
  echo "run.sh: NOMAD_SEEDS must be two different seeds" >&2
  exit 2
fi

# 1. NOMAD.
src=$(bash "$here/setup-nomad.sh" | tail -n 1)
py=$NOMAD_VENV/bin/python
export PYTHONPATH=$src${PYTHONPATH:+:$PYTHONPATH}

# 2. Two independent NOMAD samples.
samples=()
for s in "${seeds[@]}"; do
  dir=$work/nomad-$agents-seed$s
  if [ ! -f "$dir/meta.json" ]; then
    echo "== NOMAD sample: $agents agents, seed $s -> $dir"
    "$py" "$here/nomad_sample.py" "$dir" --agents "$agents" --seed "$s" \
      --processes "$processes" --hubs "$hubs" --city "$city"
  fi
  samples+=("$dir")
done

# 3. gardencity, same city, window and parameters (always rerun: it takes seconds).
bin=${GARDENCITY_BIN:-}
if [ -z "$bin" ]; then
  (cd "$repo" && cargo build --release -q -p gardencity-cli)
  bin=${CARGO_TARGET_DIR:-$repo/target}/release/gardencity
fi
gc=$work/gardencity-$gc_agents-seed$gc_seed
echo "== gardencity: $gc_agents agents -> $gc"
"$bin" simulate --city "$city" --agents "$gc_agents" --seed "$gc_seed" \
  --start 2024-01-01T07:00 --tz Etc/GMT+4 --days 7 \
  --beta-start 300 --beta-durations 55 --beta-ping 7 --ha 0.766667 \
  --hubs "$hubs" --coords blocks --outputs sparse,diaries,homes \
  --out "$gc" --overwrite -q

# 4. Comparisons.
status=0
echo
echo "== Calibration: NOMAD seed ${seeds[0]} vs NOMAD seed ${seeds[1]}"
"$py" "$here/compare.py" "${samples[0]}" "${samples[1]}" --labels "nomad${seeds[0]}" "nomad${seeds[1]}" \
  --processes "$processes" "${compare_args[@]}" || status=1
echo
echo "== gardencity vs NOMAD seed ${seeds[0]}"
"$py" "$here/compare.py" "$gc" "${samples[0]}" --labels gardencity "nomad${seeds[0]}" \
  --processes "$processes" "${compare_args[@]}" || status=1
exit $status
