#!/usr/bin/env bash
# Example pictures for the docs: a small run on the built-in default city, plotted with
# `gardencity plot`. Writes docs/city.png, docs/city.svg, docs/pings.png, docs/heatmap.png
# and docs/heatmap-1000.png (1,000 agents). Builds into $CARGO_TARGET_DIR (default: target).
#
#   bash scripts/make-pictures.sh
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q -p gardencity-cli
bin="${CARGO_TARGET_DIR:-target}/release/gardencity"
run=$(mktemp -d)
trap 'rm -rf "$run"' EXIT
mkdir -p docs
# 20 agents for a week (seed 1), with dense pings for the trajectories.
"$bin" simulate --agents 20 --days 7 --seed 1 --outputs sparse,dense,diaries,homes -q --out "$run/data"
"$bin" plot city --doors --ids --overwrite -o docs/city.png
"$bin" plot city --doors --overwrite -o docs/city.svg
# Three users on the second day: sparse pings, dense tracks and diary stays.
"$bin" plot pings --data "$run/data" --from 2024-01-02 --to 2024-01-03 --max-users 3 --dense --stays --overwrite -o docs/pings.png
# Time spent by all 20 agents over the week.
"$bin" plot heatmap --data "$run/data" --overwrite -o docs/heatmap.png
# Time spent by 1,000 agents over a week: where a linear or log scale is uniformly dark.
"$bin" simulate --agents 1000 --days 7 --seed 1 --outputs diaries -q --out "$run/data1000"
"$bin" plot heatmap --data "$run/data1000" --overwrite -o docs/heatmap-1000.png
ls -l docs/city.png docs/city.svg docs/pings.png docs/heatmap.png docs/heatmap-1000.png
