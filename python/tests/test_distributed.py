"""gardencity.distributed and gardencity.commit on real engines: a Dask LocalCluster with
2 worker processes and a local Ray (num_cpus=2). Equality with the local run, a worker
killed in the middle, a failing task, and bad input."""

from __future__ import annotations

import os
import pathlib
import signal
import sys
import threading
import time
from typing import Any, Dict, Iterator

import pyarrow.dataset as ds
import pytest

import gardencity
from gardencity import distributed

dask_distributed = pytest.importorskip("distributed")
ray = pytest.importorskip("ray")

OUTPUTS = ["sparse", "diaries", "destinations", "homes"]
RUN = dict(agents=60, days=2, seed=3, outputs=OUTPUTS)


@pytest.fixture(scope="module")
def dask_client() -> Iterator[Any]:
    """A Dask LocalCluster of 2 worker processes (one thread each)."""
    with dask_distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                       dashboard_address=":0") as cluster:
        with dask_distributed.Client(cluster) as client:
            yield client


@pytest.fixture(scope="module")
def local_ray() -> Iterator[None]:
    """A local Ray with 2 CPUs."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield None
    ray.shutdown()


def _engine_args(engine: str, request: Any) -> Dict[str, Any]:
    if engine == "dask":
        return {"engine": "dask", "client": request.getfixturevalue("dask_client")}
    request.getfixturevalue("local_ray")
    return {"engine": "ray"}


def _tables(out: pathlib.Path, name: str) -> Any:
    return ds.dataset(out / name, format="parquet", partitioning="hive").to_table()


def _assert_same_rows(a: pathlib.Path, b: pathlib.Path, outputs=OUTPUTS) -> None:
    for name in outputs:
        ta, tb = _tables(a, name), _tables(b, name)
        assert ta.num_rows > 0, name
        assert ta.equals(tb), f"{name}: the distributed rows differ from the local run's"


@pytest.mark.parametrize("engine", ["dask", "ray"])
def test_equal_to_the_local_run(engine: str, request, tmp_path, small_city) -> None:
    local = tmp_path / "local"
    m_local = gardencity.simulate(city=small_city, out=local, progress=False, **RUN)
    out = tmp_path / "dist"
    m = distributed.simulate(out, tasks=7, city=small_city, **_engine_args(engine, request), **RUN)
    _assert_same_rows(local, out)
    assert m["counts"] == m_local["counts"]
    assert (out / "_SUCCESS").is_file() and not (out / ".gardencity-tasks").exists()
    assert [t["shard"] for t in m["tasks"]] == [f"{k}/7" for k in range(7)]
    assert sum(t["agents"] for t in m["tasks"]) == 60
    d = m["distributed"]
    assert d["engine"] == engine and d["tasks"] == 7 and len(d["task_runs"]) == 7 and d["wall_s"] > 0
    # Each part file is the bytes of the same shard run alone.
    alone = tmp_path / "alone"
    gardencity.simulate(city=small_city, out=alone, shard=(3, 7), progress=False, threads=1, **RUN)
    compared = 0
    for f in alone.rglob("part-*"):
        rel = f.relative_to(alone)
        committed = out / rel.parent / f"part-00003-{f.name[len('part-'):]}"
        assert committed.read_bytes() == f.read_bytes(), rel
        compared += 1
    assert compared >= len(OUTPUTS)


def test_a_snapshot_path_is_opened_by_the_workers(tmp_path, dask_client, small_city) -> None:
    snap = tmp_path / "city.gcsnap"
    snap.write_bytes(small_city.snapshot())
    local = tmp_path / "local"
    gardencity.simulate(city=small_city, out=local, progress=False, **RUN)
    out = tmp_path / "dist"
    distributed.simulate(out, engine="dask", client=dask_client, tasks=3, city=str(snap), **RUN)
    _assert_same_rows(local, out)


def _kill_a_running_task(staging: pathlib.Path, stop: threading.Event) -> Dict[str, int]:
    """Waits for a task's lock file (a shard being written) and SIGKILLs its process."""
    killed: Dict[str, int] = {}
    while not stop.is_set() and not killed:
        for lock in staging.glob("shard-*/.gardencity.lock"):
            try:
                pid = int(lock.read_text().split("pid=")[1].split()[0])
            except (OSError, IndexError, ValueError):
                continue
            if pid != os.getpid():
                os.kill(pid, signal.SIGKILL)
                killed["pid"] = pid
                break
        time.sleep(0.01)
    return killed


@pytest.mark.parametrize("engine", ["dask", "ray"])
def test_a_worker_killed_in_the_middle(engine: str, request, tmp_path) -> None:
    """The engine retries the lost task (the run completes with the local run's rows), or
    the run fails with no _SUCCESS; never a dataset that looks complete but is not."""
    run = dict(agents=3000, days=7, seed=11, outputs=["sparse", "diaries"])
    local = tmp_path / "local"
    gardencity.simulate(out=local, progress=False, **run)
    out = tmp_path / "dist"
    if engine == "dask":
        # A cluster of its own: this one loses a worker.
        cluster = dask_distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                                dashboard_address=":0")
        client = dask_distributed.Client(cluster)
        args: Dict[str, Any] = {"engine": "dask", "client": client}
    else:
        request.getfixturevalue("local_ray")
        args = {"engine": "ray"}
    stop = threading.Event()
    outcome: Dict[str, Any] = {}

    def go() -> None:
        try:
            outcome["manifest"] = distributed.simulate(out, tasks=6, **args, **run)
        except BaseException as e:  # noqa: BLE001 - reported below
            outcome["error"] = e
        finally:
            stop.set()

    t = threading.Thread(target=go)
    t.start()
    killed = _kill_a_running_task(out / ".gardencity-tasks", stop)
    t.join(timeout=600)
    if engine == "dask":
        client.close()
        cluster.close()
    assert killed, "no task was seen running"
    print(f"{engine}: killed task process {killed['pid']}; outcome: {'failed' if 'error' in outcome else 'completed'}")
    if "error" in outcome:
        assert isinstance(outcome["error"], distributed.ShardFailedError), outcome["error"]
        assert not (out / "_SUCCESS").exists()
    else:
        _assert_same_rows(local, out, ["sparse", "diaries"])
        pids = {r["pid"] for r in outcome["manifest"]["distributed"]["task_runs"]}
        assert killed["pid"] not in pids, "the killed attempt cannot have finished its task"
    assert not (out / ".gardencity-tasks").exists()


def test_a_failing_task_names_its_shard_and_nothing_is_committed(tmp_path) -> None:
    """Tasks wait for workers (a cluster with none yet); once the run has reserved its
    output, shard 2's directory is blocked by a file, so that task alone fails."""
    out = tmp_path / "dist"
    with dask_distributed.LocalCluster(n_workers=0, threads_per_worker=1, processes=True,
                                       dashboard_address=":0") as cluster:
        with dask_distributed.Client(cluster) as client:
            outcome: Dict[str, Any] = {}

            def go() -> None:
                try:
                    outcome["manifest"] = distributed.simulate(out, engine="dask", client=client, tasks=4,
                                                               agents=40, days=1)
                except BaseException as e:  # noqa: BLE001 - reported below
                    outcome["error"] = e

            t = threading.Thread(target=go)
            t.start()
            staging = out / ".gardencity-tasks"
            deadline = time.time() + 60
            while not staging.is_dir() and time.time() < deadline:
                time.sleep(0.01)
            (staging / "shard-00002-of-00004").write_text("in the way")
            cluster.scale(2)
            t.join(timeout=300)
    e = outcome.get("error")
    assert isinstance(e, distributed.ShardFailedError), outcome
    assert e.shard == (2, 4) and e.agents == (20, 30)
    assert "shard 2/4 (agents 20..29) failed" in str(e) and "not a directory" in str(e), str(e)
    assert not (out / "_SUCCESS").exists() and not staging.exists()
    assert not any(out.iterdir()), "nothing committed"


def test_bad_input_is_refused_before_anything_is_committed(tmp_path, dask_client, monkeypatch) -> None:
    taken = tmp_path / "taken"
    gardencity.simulate(out=taken, agents=3, days=1, progress=False)
    before = sorted(p.name for p in taken.iterdir())
    with pytest.raises(gardencity.GardencityError, match="not empty"):
        distributed.simulate(taken, engine="dask", client=dask_client, agents=3, days=1)
    assert sorted(p.name for p in taken.iterdir()) == before
    with pytest.raises(gardencity.ParameterError, match="engine: 'spark'"):
        distributed.simulate(tmp_path / "a", engine="spark")
    with pytest.raises(gardencity.ParameterError, match="shard: the distributed runner chooses"):
        distributed.simulate(tmp_path / "a", engine="dask", client=dask_client, shard=(0, 2))
    with pytest.raises(gardencity.ParameterError, match="agnets: not an argument"):
        distributed.simulate(tmp_path / "a", engine="dask", client=dask_client, agnets=3)
    with pytest.raises(gardencity.ParameterError, match="tasks"):
        distributed.simulate(tmp_path / "a", engine="dask", client=dask_client, tasks=0)
    with pytest.raises(gardencity.ParameterError, match="days"):
        distributed.simulate(tmp_path / "a", engine="dask", client=dask_client, days=-1)
    with pytest.raises(distributed.EngineConnectionError, match="cannot reach the Dask scheduler at tcp://127.0.0.1:9"):
        distributed.simulate(tmp_path / "a", engine="dask", client="tcp://127.0.0.1:9", agents=3, days=1)
    with pytest.raises(distributed.EngineConnectionError, match="cannot reach the Ray cluster at 127.0.0.1:9"):
        distributed.simulate(tmp_path / "a", engine="ray", client="127.0.0.1:9", agents=3, days=1)
    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(distributed.EngineNotInstalledError, match="pip install 'ray'"):
        distributed.simulate(tmp_path / "a", engine="ray", agents=3, days=1)
    assert not (tmp_path / "a").exists(), "nothing written for refused runs"


def test_commit_assembles_shards_run_separately(tmp_path, small_city) -> None:
    whole = tmp_path / "whole"
    gardencity.simulate(city=small_city, out=whole, progress=False, **RUN)
    dirs = []
    for k in range(3):
        d = tmp_path / f"s{k}"
        gardencity.simulate(city=small_city, out=d, shard=(k, 3), progress=False, **RUN)
        dirs.append(d)
    out = tmp_path / "out"
    m = gardencity.commit(out, [dirs[1], dirs[0], dirs[2]])
    _assert_same_rows(whole, out)
    assert len(m["tasks"]) == 3 and m["counts"]["agents"] == 60
    with pytest.raises(gardencity.GardencityError, match="shard 1/3 of the run is missing"):
        gardencity.commit(tmp_path / "out2", [dirs[0], dirs[2]])
    with pytest.raises(gardencity.GardencityError, match="given twice"):
        gardencity.commit(tmp_path / "out2", [dirs[0], dirs[0], dirs[1], dirs[2]])
    other = tmp_path / "other"
    gardencity.simulate(city=small_city, out=other, shard=(1, 3), progress=False, **{**RUN, "seed": 4})
    with pytest.raises(gardencity.GardencityError, match=r"differ in seed \(3 vs 4\)"):
        gardencity.commit(tmp_path / "out2", [dirs[0], other, dirs[2]])
    with pytest.raises(gardencity.ParameterError, match="a single path"):
        gardencity.commit(tmp_path / "out2", str(dirs[0]))  # type: ignore[arg-type]
    assert not (tmp_path / "out2").exists()


def test_a_sweep_runs_distributed(tmp_path, dask_client, small_city) -> None:
    """A sampling sweep's config= partitions stay inside every shard and commit whole."""
    sweep = {"grid": {"beta_ping": [5.0, 8.0]}}
    local = tmp_path / "local"
    m_local = gardencity.simulate(city=small_city, out=local, progress=False, sweep=sweep, **RUN)
    out = tmp_path / "dist"
    m = distributed.simulate(out, engine="dask", client=dask_client, tasks=3, city=small_city, sweep=sweep, **RUN)
    assert m["sweep"] == m_local["sweep"]
    _assert_same_rows(local, out, ["sparse", "diaries"])
    assert (out / "sparse" / "config=beta_ping-5").is_dir()
