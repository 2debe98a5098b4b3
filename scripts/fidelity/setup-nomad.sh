#!/usr/bin/env bash
# Sets up the reference (NOMAD) for the fidelity harness: a Python venv with
# NOMAD's pinned dependencies and a NOMAD source tree to put on PYTHONPATH.
#
#   bash scripts/fidelity/setup-nomad.sh
#
# Environment:
#   NOMAD_VENV     venv to create          (default /work/fidelity-work/nomad-venv)
#   NOMAD_SRC      an existing NOMAD checkout (its root, holding nomad/); if unset,
#                  the source is extracted from a git mirror into NOMAD_SRC_DIR
#   NOMAD_GIT_DIR  git directory of a Watts-Lab/nomad mirror (default: the first
#                  /work/.mirror/Watts-Lab+nomad*/repo holding the commit)
#   NOMAD_COMMIT   commit to extract       (default 4770c09, NOMAD 0.2.0)
#   NOMAD_SRC_DIR  where to extract it     (default /work/fidelity-work/nomad-src-COMMIT)
#   NOMAD_PYTHON   interpreter for the venv (default python3; NOMAD was tested on 3.11)
#
# Prints, as its last line, the NOMAD source root (for PYTHONPATH).
# NOMAD is not on PyPI under its name (`pip install nomad` is another project),
# hence the source tree. Nothing here is written inside the repository.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
pins="$repo/../shared/nomad-requirements.txt"
work=${FIDELITY_WORK:-/work/fidelity-work}
venv=${NOMAD_VENV:-$work/nomad-venv}
commit=${NOMAD_COMMIT:-4770c09}
python=${NOMAD_PYTHON:-python3}

if [ ! -f "$pins" ]; then
  echo "setup-nomad: missing pin list $pins (shared/ must sit beside the checkout)" >&2
  exit 1
fi

# NOMAD source tree.
if [ -n "${NOMAD_SRC:-}" ]; then
  src=$NOMAD_SRC
else
  gitdir=${NOMAD_GIT_DIR:-}
  if [ -z "$gitdir" ]; then
    for d in /work/.mirror/Watts-Lab+nomad*/repo /work/.mirror/Watts-Lab+nomad*; do
      if [ -d "$d" ] && git --git-dir="$d" rev-parse -q --verify "$commit^{commit}" >/dev/null 2>&1; then
        gitdir=$d
        break
      fi
    done
  fi
  if [ -z "$gitdir" ]; then
    echo "setup-nomad: no NOMAD source: set NOMAD_SRC to a checkout or NOMAD_GIT_DIR to a git mirror" >&2
    exit 1
  fi
  src=${NOMAD_SRC_DIR:-$work/nomad-src-$commit}
  if [ ! -f "$src/nomad/__init__.py" ]; then
    rm -rf "$src.tmp"
    mkdir -p "$src.tmp"
    # A partial mirror may lack some large blobs (NOMAD's nomad/data/*.pkl and
    # sample CSVs, figures); `git archive` then fails as a whole, so leave the
    # missing files out (the generator and stop detection need none of them).
    excludes=()
    while read -r obj path; do
      if ! git --git-dir="$gitdir" cat-file -e "$obj" 2>/dev/null; then
        excludes+=(":(exclude)$path")
        echo "setup-nomad: not in the mirror, skipped: $path" >&2
      fi
    done < <(git --git-dir="$gitdir" ls-tree -r --format='%(objectname) %(path)' "$commit")
    # (git still names the first missing blob on stderr, harmlessly: filtered.)
    git --git-dir="$gitdir" archive "$commit" -- . "${excludes[@]}" 2> >(grep -v '^error: invalid object' >&2) |
      tar -x -C "$src.tmp"
    rm -rf "$src"
    mv "$src.tmp" "$src"
  fi
fi
if [ ! -f "$src/nomad/__init__.py" ]; then
  echo "setup-nomad: $src has no nomad/__init__.py" >&2
  exit 1
fi

# Venv with the pinned dependencies (plus pyarrow and scipy for the harness);
# skipped when it was already made from the same pin list.
stamp=$(sha256sum "$pins" | cut -d' ' -f1)
if [ "$(cat "$venv/.nomad-ready" 2>/dev/null)" = "$stamp" ]; then
  echo "$src"
  exit 0
fi
if [ ! -x "$venv/bin/python" ]; then
  "$python" -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$pins"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check pyarrow scipy

# Smoke test: NOMAD imports from the source tree.
PYTHONPATH="$src" "$venv/bin/python" -c \
  'import nomad.city_gen, nomad.traj_gen, nomad.stop_detection.sequential_algs, nomad.stop_detection.validation' \
  2>/dev/null || {
  echo "setup-nomad: importing NOMAD from $src failed:" >&2
  PYTHONPATH="$src" "$venv/bin/python" -c 'import nomad.city_gen, nomad.traj_gen, nomad.stop_detection.sequential_algs, nomad.stop_detection.validation' >&2
  exit 1
}
echo "$stamp" > "$venv/.nomad-ready"
echo "$src"
