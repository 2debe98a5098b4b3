"""``simulate`` and ``iter_batches``: runs of the native engine from Python."""

from __future__ import annotations

import datetime as _dt
import json
import os
from dataclasses import dataclass, field
from typing import Any, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple, Union

import pyarrow as pa

from . import _gardencity
from ._errors import InputNotFoundError, ParameterError

OUTPUTS = ("sparse", "dense", "diaries", "destinations", "homes")
_POLL_S = 0.1

PathLike = Union[str, "os.PathLike[str]"]
TimeLike = Union[str, _dt.datetime, _dt.date]


@dataclass
class Run:
    """The tables of an in-memory run (``None`` for outputs not selected) and its manifest.

    Tables have NOMAD's column names; ``.to_pandas()`` gives ``user_id`` strings,
    ``timestamp`` int64 Unix seconds, ``x``/``y``/``ha`` float64 and a time-zone-aware
    ``datetime``.
    """

    sparse: Optional[pa.Table] = None
    dense: Optional[pa.Table] = None
    diaries: Optional[pa.Table] = None
    destinations: Optional[pa.Table] = None
    homes: Optional[pa.Table] = None
    manifest: Dict[str, Any] = field(default_factory=dict)

    def table(self, name: str) -> Optional[pa.Table]:
        """The table of output ``name`` (``sparse``, ``dense``, ``diaries``, ``destinations``, ``homes``)."""
        if name not in OUTPUTS:
            raise ParameterError(f"unknown output {name!r} (expected one of {', '.join(OUTPUTS)})")
        return getattr(self, name)


def _time_text(key: str, value: TimeLike) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, _dt.date):  # datetime too: a datetime is a date
        return value.isoformat()
    raise ParameterError(f"{key}: expected a string, datetime or date, got {type(value).__name__}")


def _spec(
    city: Any,
    out: Optional[PathLike],
    overwrite: bool,
    kwargs: Mapping[str, Any],
) -> Tuple[str, Optional["_gardencity.City"]]:
    spec: Dict[str, Any] = {}
    native_city = None
    if city is None:
        pass
    elif isinstance(city, _gardencity.City):
        native_city = city
    elif isinstance(city, (str, os.PathLike)):
        path = os.fspath(city)
        if not os.path.exists(path):
            raise InputNotFoundError(f"city: {path}: no such file")
        spec["city"] = path
    else:
        raise ParameterError(f"city: expected a City, a path or None, got {type(city).__name__}")
    if out is not None:
        spec["out"] = os.fspath(out)
    if overwrite:
        spec["overwrite"] = True
    for key, value in kwargs.items():
        if value is None:
            continue
        if key in ("start", "end"):
            value = _time_text(key, value)
        elif key == "anchors":
            value = os.fspath(value)
        elif key == "outputs":
            if isinstance(value, str):
                value = [value]
            value = list(value)
        elif key == "shard" and not isinstance(value, str):
            try:
                k, n = value
            except (TypeError, ValueError):
                raise ParameterError(f"shard: expected (k, n) or 'K/N', got {value!r}") from None
            value = [k, n]
        elif key == "agents" and isinstance(value, bool):
            raise ParameterError("agents: expected an integer, got a bool")
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise ParameterError(f"{key}: {type(value).__name__} values are not accepted") from None
        spec[key] = value
    return json.dumps(spec), native_city


# The run-specification keys `simulate` and `iter_batches` pass on as they are.
_SPEC_KEYS = (
    "agents", "start", "end", "days", "tz", "seed", "mobility", "sampling", "outputs", "shard", "threads",
    "coords", "format", "anchors", "gravity", "ha_m", "sweep", "resume", "checkpoint_agents",
)


def _options(arguments: Mapping[str, Any]) -> Dict[str, Any]:
    """The run-specification keys among a function's arguments."""
    return {k: arguments[k] for k in _SPEC_KEYS if k in arguments}


def _progress_bar(total: int, enabled: bool) -> Any:
    if not enabled:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return None
    return tqdm(total=total, unit="agent", desc="gardencity")


def _drive(handle: Any, bar: Any, batches: bool) -> Iterator[Tuple[str, bytes]]:
    """Polls a native run until it ends; Ctrl-C cancels it and waits for it to stop."""
    try:
        while True:
            if batches:
                try:
                    got = handle.next_batch(_POLL_S)
                except StopIteration:
                    break
                if got is not None:
                    yield got
            elif handle.wait(_POLL_S):
                break
            if bar is not None:
                bar.n = handle.done
                bar.refresh()
    except BaseException:
        # KeyboardInterrupt, GeneratorExit, or any error: stop the run; its files are removed.
        handle.cancel()
        try:
            handle.result()
        except Exception:
            pass
        raise
    finally:
        if bar is not None:
            bar.n = handle.done
            bar.close()


def _read_batch(data: bytes) -> pa.RecordBatch:
    reader = pa.ipc.open_stream(data)
    return reader.read_next_batch()


def simulate(
    city: Any = None,
    agents: Optional[int] = None,
    start: Optional[TimeLike] = None,
    end: Optional[TimeLike] = None,
    days: Optional[float] = None,
    tz: Optional[str] = None,
    seed: Optional[int] = None,
    mobility: Optional[Mapping[str, Any]] = None,
    sampling: Optional[Mapping[str, Any]] = None,
    outputs: Optional[Sequence[str]] = None,
    shard: Optional[Union[Tuple[int, int], str]] = None,
    threads: Optional[int] = None,
    out: Optional[PathLike] = None,
    overwrite: bool = False,
    progress: bool = True,
    *,
    coords: Optional[str] = None,
    format: Optional[str] = None,
    anchors: Optional[PathLike] = None,
    gravity: Optional[Mapping[str, Any]] = None,
    ha_m: Optional[float] = None,
    sweep: Optional[Mapping[str, Any]] = None,
    resume: Optional[bool] = None,
    checkpoint_agents: Optional[int] = None,
) -> Union[Run, Dict[str, Any]]:
    """Simulates a population, with the command line's names and defaults.

    ``city`` is a :class:`City`, a GeoPackage or ``.gcsnap`` path, or ``None`` (the
    built-in 50 x 50 city). Defaults: 100 agents, one week from 2024-01-01 in
    America/New_York, seed 0, outputs sparse, diaries and homes, Web Mercator
    coordinates (``coords="blocks"`` for NOMAD's city units). ``mobility``,
    ``sampling`` and ``gravity`` are the ``[mobility]``, ``[sampling]`` and
    ``[gravity]`` tables of the ``--config`` file (e.g. ``sampling={"beta_ping": 7.0}``).
    ``shard=(k, n)`` simulates agents ``k*agents//n .. (k+1)*agents//n`` with exactly
    the records the whole run gives them.

    ``sweep`` is a sampling sweep, the tables of a ``--sweep`` file:
    ``{"base": {...}, "grid": {"ha_m": [13, 15, 17], "beta_ping": [5, 6]}, "config":
    [{"name": "a", ...}]}``; the ground truth is simulated once and each
    configuration's sparse pings go to ``sparse/config=NAME/`` of the dataset (``out``
    is required).

    ``resume=True`` continues the interrupted run in ``out`` (same arguments) from its
    last checkpoint, taken every ``checkpoint_agents`` agents (default 100,000; a run
    longer than a week checkpoints at the first cohort's end past that count); the
    dataset then equals an uninterrupted run's, file for file.

    With ``out``, writes the dataset the CLI writes (hive-partitioned Parquet, manifest,
    ``_SUCCESS``) and returns the manifest as a dict; without it, returns a
    :class:`Run` of pyarrow Tables. The GIL is released while simulating; Ctrl-C stops
    the run within a second and leaves no dataset that looks complete.
    """
    spec, native_city = _spec(city, out, overwrite, _options(locals()))
    if out is not None:
        handle = _gardencity.start_run(spec, native_city, "dataset")
        for _ in _drive(handle, _progress_bar(handle.total, progress), batches=False):
            pass
        return json.loads(handle.result())
    handle = _gardencity.start_run(spec, native_city, "batches")
    parts: Dict[str, List[pa.RecordBatch]] = {}
    for name, data in _drive(handle, _progress_bar(handle.total, progress), batches=True):
        parts.setdefault(name, []).append(_read_batch(data))
    manifest = json.loads(handle.result())
    run = Run(manifest=manifest)
    for name, batches in parts.items():
        setattr(run, name, pa.Table.from_batches(batches))
    return run


def iter_batches(
    city: Any = None,
    agents: Optional[int] = None,
    start: Optional[TimeLike] = None,
    end: Optional[TimeLike] = None,
    days: Optional[float] = None,
    tz: Optional[str] = None,
    seed: Optional[int] = None,
    mobility: Optional[Mapping[str, Any]] = None,
    sampling: Optional[Mapping[str, Any]] = None,
    outputs: Optional[Sequence[str]] = None,
    shard: Optional[Union[Tuple[int, int], str]] = None,
    threads: Optional[int] = None,
    progress: bool = False,
    *,
    coords: Optional[str] = None,
    anchors: Optional[PathLike] = None,
    gravity: Optional[Mapping[str, Any]] = None,
    ha_m: Optional[float] = None,
    batch_rows: int = 65_536,
) -> Iterator[Tuple[str, pa.RecordBatch]]:
    """Like :func:`simulate` without ``out``, but yields ``(output_name, pyarrow.RecordBatch)``
    as the run goes (at most ``batch_rows`` rows each, in agent order per output), for
    runs too big for memory. A run longer than a week streams in time: its rows come a
    week at a time for cohorts of 512 agents (64 with dense pings; agent order within
    each week, a stay crossing the week's end coming with the earlier week), so sort by
    ``user_id, timestamp`` for one agent's rows together. Every selected output yields at
    least one (maybe empty) batch, so its schema is known. Leaving the loop early stops
    the run."""
    spec, native_city = _spec(city, None, False, _options(locals()))
    if isinstance(batch_rows, bool) or not isinstance(batch_rows, int) or batch_rows < 1:
        raise ParameterError(f"batch_rows: expected an integer >= 1, got {batch_rows!r}")
    handle = _gardencity.start_run(spec, native_city, "batches", batch_rows)
    for name, data in _drive(handle, _progress_bar(handle.total, progress), batches=True):
        yield name, _read_batch(data)
    handle.result()
