#!/usr/bin/env bash
# Creates .venv with the independent readers the tests use (pyarrow, pyogrio, ...).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x .venv/bin/python ]; then
  python3 -m venv .venv
fi
.venv/bin/python -m pip install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
