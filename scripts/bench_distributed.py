"""The reference workload on Dask and Ray against the local run, in one sitting.

    .venv/bin/python scripts/bench_distributed.py [AGENTS] [TASKS...]
    (default: 100000 agents x 1 week; 2, 8 and 32 tasks)

Garden city (../shared/data/garden-city.gpkg, else the built-in city), dt 1 min,
beta_start 300, beta_durations 55, beta_ping 7, ha 11.5/15, sparse + diaries + homes to
Parquet. Local: one process, 2 threads. Distributed: a Dask LocalCluster of 2 worker
processes (1 thread each) and a local Ray with 2 CPUs, one thread per task; cluster
start-up is not timed (a given client), the city is shipped once per run. Prints wall
seconds, agent-weeks/s and the ratio to the local run; checks the counts are equal.
"""

from __future__ import annotations

import pathlib
import shutil
import sys
import tempfile
import time

import gardencity
from gardencity import distributed

SAMPLING = {"beta_start": 300.0, "beta_durations": 55.0, "beta_ping": 7.0, "ha": 11.5 / 15.0}


def main() -> None:
    agents = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    task_counts = [int(a) for a in sys.argv[2:]] or [2, 8, 32]
    shared = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data" / "garden-city.gpkg"
    city = gardencity.City.from_geopackage(shared) if shared.exists() else None
    print(f"city: {'garden city' if city else 'built-in'}; {agents} agents x 1 week")
    args = dict(agents=agents, days=7, seed=1, sampling=SAMPLING, outputs=["sparse", "diaries", "homes"], city=city)
    work = pathlib.Path(tempfile.mkdtemp())
    rows = []
    try:
        t = time.perf_counter()
        local = gardencity.simulate(out=work / "local", threads=2, progress=False, **args)
        base = time.perf_counter() - t
        rows.append(("local (2 threads)", "-", base))
        import ray
        from dask.distributed import Client, LocalCluster

        with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0") as cl:
            with Client(cl) as client:
                for n in task_counts:
                    shutil.rmtree(work / "d", ignore_errors=True)
                    t = time.perf_counter()
                    m = distributed.simulate(work / "d", engine="dask", client=client, tasks=n, **args)
                    rows.append(("dask, 2 workers", n, time.perf_counter() - t))
                    assert m["counts"] == local["counts"], "dask counts differ"
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        try:
            for n in task_counts:
                shutil.rmtree(work / "r", ignore_errors=True)
                t = time.perf_counter()
                m = distributed.simulate(work / "r", engine="ray", tasks=n, **args)
                rows.append(("ray, 2 CPUs", n, time.perf_counter() - t))
                assert m["counts"] == local["counts"], "ray counts differ"
        finally:
            ray.shutdown()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{'run':<20} {'tasks':>5} {'wall s':>8} {'agent-weeks/s':>14} {'time / local':>13}")
    for name, n, secs in rows:
        print(f"{name:<20} {n!s:>5} {secs:>8.2f} {agents / secs:>14.0f} {secs / base:>13.2f}")


if __name__ == "__main__":
    main()
