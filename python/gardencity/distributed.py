"""Runs on a distributed engine (Dask or Ray), committed as one dataset.

>>> from gardencity import distributed
>>> manifest = distributed.simulate("run", engine="dask", agents=10_000)  # doctest: +SKIP

The population is split into agent ranges, the shards of ``simulate(shard=(k, n))``,
each of which gets exactly the records the whole run gives its agents. Every task
writes its shard into the hidden staging directory ``OUT/.gardencity-tasks/`` under a
name derived from its shard (``shard-KKKKK-of-NNNNN``), replacing whatever a killed or
duplicated attempt left there, so the engine's own retries are safe. When every task has
succeeded the driver commits: part files move to ``OUT/OUTPUT/date=D/part-KKKKK-NNNNN``,
then one manifest (merged counts, one record per task) and, last, ``_SUCCESS``. A run
that fails leaves no ``_SUCCESS``, removes its staging directory and raises
:class:`ShardFailedError` naming the shard and its agents.

What the workers need: the ``gardencity`` package (same version), and ``OUT`` on a file
system they share with the driver. The city is shipped to them once (Dask: ``scatter``
with ``broadcast=True``; Ray: ``ray.put``), except a ``.gcsnap`` snapshot path, which
each worker opens itself (so it must be reachable at that path).
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import socket
import time
from typing import Any, Dict, List, Optional, Tuple

from . import _gardencity
from ._errors import GardencityError, InputNotFoundError, OutputLockedError, ParameterError
from ._run import _SPEC_KEYS, PathLike, _options, _spec
from ._run import simulate as _simulate

ENGINES = ("dask", "ray")
_PACKAGES = {"dask": "dask[distributed]", "ray": "ray"}
# Tasks per worker when ``tasks`` is not given: enough to balance, few enough to keep
# the per-task setup (opening the city) small.
_TASKS_PER_WORKER = 4
# How long a task waits for a duplicate attempt of itself to release its shard.
_LOCK_WAIT_S = 3600.0


class EngineNotInstalledError(GardencityError, ImportError):
    """The engine's Python package is not installed (the message says which to install)."""


class EngineConnectionError(GardencityError, ConnectionError):
    """The engine's scheduler or cluster cannot be reached."""


class ShardFailedError(GardencityError):
    """A task of a distributed run failed; nothing was committed.

    ``shard`` is ``(k, n)``, ``agents`` the half-open range ``(first, end)`` of its
    agents, ``cause`` the task's error message.
    """

    def __init__(self, message: str, shard: Tuple[int, int] = (0, 1), agents: Tuple[int, int] = (0, 0),
                 cause: str = "") -> None:
        super().__init__(message)
        self.shard = shard
        self.agents = agents
        self.cause = cause

    def __reduce__(self) -> Any:
        return (type(self), (self.args[0], self.shard, self.agents, self.cause))


def _shard_dir_name(k: int, n: int) -> str:
    return f"shard-{k:05d}-of-{n:05d}"


def _agent_range(k: int, n: int, agents: int) -> Tuple[int, int]:
    """The agents of shard ``k`` of ``n`` (the formula of ``simulate(shard=...)``)."""
    return (k * agents // n, (k + 1) * agents // n)


def _run_shard(city: Any, k: int, n: int, staging: str, arguments: Dict[str, Any]) -> Dict[str, Any]:
    """One task: simulates shard ``k`` of ``n`` into its staging directory.

    A gardencity error (bad input: the same on any retry) is returned, not raised, so
    that the engine does not retry it; anything else (a lost worker) is the engine's to
    retry.
    """
    out = os.path.join(staging, _shard_dir_name(k, n))
    t = time.perf_counter()
    try:
        # Created here, not by the run (which would create the staging directory again
        # if the driver has already given the run up and removed it).
        os.mkdir(out)
    except FileExistsError:
        pass  # a retried or duplicated attempt
    except FileNotFoundError:
        return {"shard": k, "error": "the run was given up before this task started", "error_type": "Cancelled"}
    while True:
        try:
            _simulate(city=city, shard=(k, n), out=out, overwrite=True, progress=False, **arguments)
            break
        except OutputLockedError:
            # A duplicate attempt of this task writes the same bytes there: wait for it,
            # then write them again (a lock left by a killed attempt is taken over).
            if time.perf_counter() - t > _LOCK_WAIT_S:
                raise
            time.sleep(0.5)
        except GardencityError as e:
            return {"shard": k, "error": str(e), "error_type": type(e).__name__}
    return {
        "shard": k,
        "dir": out,
        "host": socket.gethostname(),
        "pid": os.getpid(),
        "wall_s": round(time.perf_counter() - t, 3),
    }


def _import_engine(engine: str) -> Any:
    try:
        if engine == "dask":
            import distributed as module
        else:
            import ray as module
    except ImportError as e:
        raise EngineNotInstalledError(
            f"engine={engine!r} needs the {_PACKAGES[engine]!r} package, which is not installed "
            f"(pip install '{_PACKAGES[engine]}'): {e}"
        ) from None
    return module


def _check_reachable(what: str, address: str) -> None:
    """Fails fast (a few seconds) when nothing listens at a ``[scheme://]host:port``
    address; Ray itself would retry for minutes. ``auto`` and other forms pass."""
    rest = address.split("://", 1)[-1]
    host, sep, port = rest.rpartition(":")
    if not sep or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]") or "127.0.0.1", int(port)), timeout=5).close()
    except OSError as e:
        raise EngineConnectionError(f"cannot reach {what} at {address}: {e}") from None


def _failure(k: int, n: int, agents: int, where: str, cause: str) -> ShardFailedError:
    first, end = _agent_range(k, n, agents)
    return ShardFailedError(
        f"shard {k}/{n} (agents {first}..{end - 1}) failed{where}: {cause}; nothing was committed",
        shard=(k, n),
        agents=(first, end),
        cause=cause,
    )


class _Dask:
    """The Dask side: a client (given, an address, or a new LocalCluster)."""

    def __init__(self, client: Any, workers: Optional[int]) -> None:
        self.dd = _import_engine("dask")
        self.owned: List[Any] = []
        if client is None:
            cluster = self.dd.LocalCluster(
                n_workers=workers or os.cpu_count() or 1, threads_per_worker=1, processes=True,
                dashboard_address=":0",
            )
            self.owned.append(cluster)
            client = self.dd.Client(cluster)
            self.owned.insert(0, client)
        elif isinstance(client, str):
            try:
                client = self.dd.Client(client, timeout="10s")
            except (OSError, TimeoutError) as e:
                raise EngineConnectionError(
                    f"cannot reach the Dask scheduler at {client}: {e} (start one with `dask scheduler`, or pass "
                    "client=None for a local cluster)"
                ) from None
            self.owned.append(client)
        elif not isinstance(client, self.dd.Client):
            raise ParameterError(f"client: expected a dask.distributed.Client, an address or None, got "
                                 f"{type(client).__name__}")
        self.client = client

    def workers(self) -> int:
        return max(1, len(self.client.scheduler_info().get("workers", {})))

    def share(self, city: Any) -> Any:
        return self.client.scatter(city, broadcast=True) if isinstance(city, _gardencity.City) else city

    def run(self, city: Any, n: int, staging: str, arguments: Dict[str, Any], agents: int) -> List[Dict[str, Any]]:
        token = os.urandom(6).hex()
        futures = [
            self.client.submit(_run_shard, city, k, n, staging, arguments, key=f"gardencity-{token}-shard-{k}-of-{n}",
                               pure=False)
            for k in range(n)
        ]
        index = {f.key: k for k, f in enumerate(futures)}
        results: Dict[int, Dict[str, Any]] = {}
        try:
            for future in self.dd.as_completed(futures):
                k = index[future.key]
                if future.status == "error":
                    e = future.exception()
                    raise _failure(k, n, agents, "", f"{type(e).__name__}: {e}")
                r = future.result()
                if "error" in r:
                    raise _failure(k, n, agents, "", f"{r['error_type']}: {r['error']}")
                results[k] = r
        except BaseException:
            self.client.cancel(futures)
            raise
        return [results[k] for k in range(n)]

    def close(self) -> None:
        for o in self.owned:
            o.close()


class _Ray:
    """The Ray side: the running Ray, a cluster address, or a new local Ray."""

    def __init__(self, client: Any, workers: Optional[int]) -> None:
        self.ray = _import_engine("ray")
        self.started = False
        if client is not None and not isinstance(client, str):
            raise ParameterError(f"client: expected a Ray address (str) or None, got {type(client).__name__}")
        if client is None and self.ray.is_initialized():
            return
        if client is not None:
            _check_reachable("the Ray cluster", client)
        try:
            self.ray.init(address=client, num_cpus=workers if client is None else None, include_dashboard=False,
                          log_to_driver=False)
        except (ConnectionError, OSError, RuntimeError, TimeoutError) as e:
            raise EngineConnectionError(f"cannot reach the Ray cluster at {client}: {e}") from None
        self.started = True

    def workers(self) -> int:
        return max(1, int(self.ray.cluster_resources().get("CPU", 1)))

    def share(self, city: Any) -> Any:
        return self.ray.put(city) if isinstance(city, _gardencity.City) else city

    def run(self, city: Any, n: int, staging: str, arguments: Dict[str, Any], agents: int) -> List[Dict[str, Any]]:
        cpus = max(1, int(arguments.get("threads") or 1))
        task = self.ray.remote(num_cpus=cpus, max_retries=3, retry_exceptions=False)(_run_shard)
        refs = [task.remote(city, k, n, staging, arguments) for k in range(n)]
        index = {ref: k for k, ref in enumerate(refs)}
        results: Dict[int, Dict[str, Any]] = {}
        pending = list(refs)
        try:
            while pending:
                done, pending = self.ray.wait(pending, num_returns=1)
                for ref in done:
                    k = index[ref]
                    try:
                        r = self.ray.get(ref)
                    except self.ray.exceptions.RayError as e:
                        cause = getattr(e, "cause", None) or e
                        raise _failure(k, n, agents, "", f"{type(cause).__name__}: {str(cause).strip()}") from None
                    if "error" in r:
                        raise _failure(k, n, agents, "", f"{r['error_type']}: {r['error']}")
                    results[k] = r
        except BaseException:
            for ref in pending:
                self.ray.cancel(ref, force=True)
            raise
        return [results[k] for k in range(n)]

    def close(self) -> None:
        if self.started:
            self.ray.shutdown()


def simulate(
    out: PathLike,
    engine: str = "dask",
    client: Any = None,
    tasks: Optional[int] = None,
    *,
    overwrite: bool = False,
    workers: Optional[int] = None,
    city: Any = None,
    **simulate_arguments: Any,
) -> Dict[str, Any]:
    """Simulates a population on Dask or Ray workers and commits it as one dataset at
    ``out``; returns its manifest.

    ``simulate_arguments`` are those of :func:`gardencity.simulate` (``agents``,
    ``days``, ``seed``, ``sampling``, ``outputs``, ``sweep``...; not ``shard``, which
    this function chooses). ``threads`` is per task (default 1: one task per core).
    ``client``: Dask, a ``distributed.Client`` or a scheduler address; Ray, a cluster
    address (``"ray://host:10001"``, ``"auto"``); ``None`` starts a local cluster of
    ``workers`` processes (default: one per core) for the call, or uses the Ray already
    initialized. ``tasks``: number of shards (default: 4 per worker, at most one per
    agent).

    The dataset has exactly the rows of ``gardencity.simulate(out=...)`` with the same
    arguments, in the same order when read in file-name order; each part file is the
    same bytes as the corresponding file of ``simulate(shard=(k, tasks))``. The manifest
    lists every task (agents, counts, timings) and the engine's ``distributed`` record
    (engine, tasks, workers, wall time, where each task ran).
    """
    if engine not in ENGINES:
        raise ParameterError(f"engine: {engine!r}: expected one of {', '.join(ENGINES)}")
    if "shard" in simulate_arguments:
        raise ParameterError("shard: the distributed runner chooses the shards; give tasks= instead")
    simulate_arguments.pop("progress", None)
    unknown = sorted(set(simulate_arguments) - set(_SPEC_KEYS))
    if unknown:
        raise ParameterError(f"{unknown[0]}: not an argument of gardencity.simulate (expected one of "
                             f"{', '.join(k for k in _SPEC_KEYS if k != 'shard')})")
    simulate_arguments = {k: v for k, v in simulate_arguments.items() if v is not None}
    if tasks is not None and (isinstance(tasks, bool) or not isinstance(tasks, int) or tasks < 1):
        raise ParameterError(f"tasks: expected an integer >= 1, got {tasks!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise ParameterError(f"workers: expected an integer >= 1, got {workers!r}")
    simulate_arguments.setdefault("threads", 1)
    city = _city_for_workers(city)
    # The whole run is checked (parameters, city, anchors) before anything is started.
    spec, _ = _spec(city if isinstance(city, str) else None, None, False, _options(simulate_arguments))
    agents = _gardencity.check_run(spec, city if isinstance(city, _gardencity.City) else None)
    side = (_Dask if engine == "dask" else _Ray)(client, workers)
    try:
        n_workers = side.workers()
        n = min(tasks or _TASKS_PER_WORKER * n_workers, max(1, agents))
        reservation = _gardencity.reserve_out(os.fspath(out), overwrite)
        try:
            t = time.perf_counter()
            results = side.run(side.share(city), n, os.fspath(reservation.staging), simulate_arguments, agents)
            record = {
                "engine": engine,
                "tasks": n,
                "workers": n_workers,
                "wall_s": round(time.perf_counter() - t, 3),
                "task_runs": [{k: r[k] for k in ("shard", "host", "pid", "wall_s")} for r in results],
            }
            manifest = reservation.commit([r["dir"] for r in results], json.dumps(record))
        except BaseException:
            # Cancelled tasks already running go on until they end: let them, so that
            # none writes into the staging directory after it is removed.
            staging = pathlib.Path(os.fspath(reservation.staging))
            _wait_for_running_tasks(staging)
            reservation.release()
            _remove_when_quiet(staging)
            raise
        finally:
            reservation.release()
    finally:
        side.close()
    return json.loads(manifest)


def _wait_for_running_tasks(staging: "pathlib.Path", timeout: float = 60.0) -> None:
    """Waits (at most ``timeout`` s) until no task of this host holds a shard's lock."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        running = False
        for lock in staging.glob("shard-*/.gardencity.lock"):
            try:
                pid = int(lock.read_text().split("pid=")[1].split()[0])
                os.kill(pid, 0)
                running = True
            except (OSError, IndexError, ValueError):
                continue  # gone, or a stale lock of a killed task
        if not running:
            return
        time.sleep(0.05)


def _remove_when_quiet(staging: "pathlib.Path", timeout: float = 30.0) -> None:
    """Removes the staging directory until no late task recreates it (a task that was
    starting as the run was given up): gone on two checks half a second apart."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while quiet < 2 and time.monotonic() < deadline:
        if staging.exists():
            quiet = 0
            _wait_for_running_tasks(staging, timeout=max(0.0, deadline - time.monotonic()))
            shutil.rmtree(staging, ignore_errors=True)
        else:
            quiet += 1
        time.sleep(0.5)


def _city_for_workers(city: Any) -> Any:
    """What the tasks receive: a City (shipped once), a snapshot path (opened by each
    worker), or None (the built-in city). A GeoPackage is read here, once."""
    if city is None or isinstance(city, _gardencity.City):
        return city
    if isinstance(city, (str, os.PathLike)):
        path = os.fspath(city)
        if not os.path.exists(path):
            raise InputNotFoundError(f"city: {path}: no such file")
        if path.endswith(".gcsnap"):
            return os.path.abspath(path)
        return _gardencity.City.from_geopackage(path)
    raise ParameterError(f"city: expected a City, a path or None, got {type(city).__name__}")


__all__ = ["simulate", "ENGINES", "EngineNotInstalledError", "EngineConnectionError", "ShardFailedError"]
