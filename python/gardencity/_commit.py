"""``commit``: the shards of one run, run separately, committed as one dataset."""

from __future__ import annotations

import json
import os
from typing import Any, Dict, Sequence

from . import _gardencity
from ._errors import ParameterError
from ._run import PathLike


def commit(out: PathLike, shard_dirs: Sequence[PathLike], overwrite: bool = False) -> Dict[str, Any]:
    """Commits the datasets of ``simulate(shard=(k, n), out=DIR)`` runs (for example
    from a batch queue: Slurm arrays, ``xargs -P``) as one dataset at ``out``, like
    ``gardencity commit OUT DIR...``; returns its manifest.

    Checks first that the directories are finished shards of one run (same parameters,
    city and seed; every ``k`` of ``0..n`` exactly once), and touches ``out`` only then.
    Part files keep their bytes (hard-linked, or copied across file systems) under the
    names ``part-KKKKK-NNNNN``; the shard directories are left as they are.
    """
    if isinstance(shard_dirs, (str, os.PathLike)):
        raise ParameterError("shard_dirs: expected a list of directories, got a single path")
    dirs = [os.fspath(d) for d in shard_dirs]
    return json.loads(_gardencity.commit(os.fspath(out), dirs, overwrite))
