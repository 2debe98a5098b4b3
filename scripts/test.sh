#!/usr/bin/env bash
# The whole test suite: creates the Python venv of independent readers (pyarrow,
# pyogrio, osmium) the tests check our files with, then runs every Rust test in
# release mode (the simulation tests are statistical and heavy in debug builds).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-test-venv.sh
cargo test --workspace --release "$@"
