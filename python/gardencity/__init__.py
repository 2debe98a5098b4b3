"""gardencity: synthetic human-mobility data with ground truth.

A Rust re-implementation of the synthetic-data model of NOMAD (grid cities, street
routing and gravity, EPR destination diaries, minute-level movement, bursty sparse
pings with GPS-like noise), with NOMAD's column names.

>>> import gardencity
>>> city = gardencity.City.random(30, 30, seed=1)
>>> run = gardencity.simulate(city=city, agents=5, days=1, progress=False)
>>> sorted(run.sparse.column_names)
['datetime', 'ha', 'timestamp', 'user_id', 'x', 'y']

``City`` is plain immutable data: it pickles (standard ``pickle``) as its compact
snapshot, so parallel tools (multiprocessing, joblib, Dask, Ray) ship it cheaply.
:func:`gardencity.distributed.simulate` runs a population on Dask or Ray workers and
commits it as one dataset; :func:`commit` does the same for shards run separately.
"""

from __future__ import annotations

from . import distributed
from ._commit import commit
from ._errors import GardencityError, InputNotFoundError, OutputLockedError, ParameterError, RunCancelledError
from ._gardencity import City, __version__
from ._run import Run, iter_batches, simulate

__all__ = [
    "City",
    "Run",
    "simulate",
    "iter_batches",
    "commit",
    "distributed",
    "GardencityError",
    "ParameterError",
    "InputNotFoundError",
    "RunCancelledError",
    "OutputLockedError",
    "__version__",
]
