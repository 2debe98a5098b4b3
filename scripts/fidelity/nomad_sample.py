#!/usr/bin/env python3
"""Generate a reference sample with NOMAD itself, for the fidelity harness.

Loads a NOMAD city GeoPackage (default: the garden city) with
``City.from_geopackage``, builds its hub-proxy gravity, generates ``--agents``
agents and, per agent, one week of trajectory from 2024-01-01T07:00-04:00 with
NOMAD's default EPR and movement model, then sparse pings with
``beta_start=300, beta_durations=55, beta_ping=7`` and ``ha=11.5/15``.

Writes to OUT_DIR (coordinates and ``ha`` in city blocks, NOMAD's native unit;
nothing is reprojected):

- ``sparse.parquet``   every agent's ``agent.sparse_traj`` (user_id, x, y,
  datetime, timestamp, ha), as NOMAD returns them;
- ``diaries.parquet``  every agent's ``agent.diary`` (datetime, timestamp,
  duration, location, user_id); ``location`` is null while travelling;
- ``homes.parquet``    user_id, home, workplace;
- ``meta.json``        parameters, seeds, the window (unix start/end), the city
  path and timings; written last, so a directory with it is complete.

NOMAD must be importable (its source root on ``PYTHONPATH``; see
``setup-nomad.sh``). Usage::

    PYTHONPATH=$NOMAD_SRC python nomad_sample.py OUT_DIR --agents 600 --seed 1

Cost: about 0.3-0.4 s per agent-week per process.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

DEFAULT_CITY = Path(__file__).resolve().parents[3] / "shared" / "data" / "garden-city.gpkg"

# Per-process state of the worker pool (set by _init_worker).
_CITY = None
_PARAMS: dict = {}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("out", type=Path, help="output directory (replaced if it exists)")
    p.add_argument("--agents", type=int, default=600, help="number of agents [600]")
    p.add_argument("--seed", type=int, default=1, help="population seed [1]")
    p.add_argument("--processes", type=int, default=2, help="worker processes [2]")
    p.add_argument("--city", type=Path, default=DEFAULT_CITY, help="NOMAD city GeoPackage [garden city]")
    p.add_argument("--hubs", type=int, default=16,
                   help="hub_size of the gravity hub network [16, as NOMAD's garden-city examples]")
    p.add_argument("--start", default="2024-01-01T07:00-04:00", help="start datetime with offset")
    p.add_argument("--days", type=float, default=7.0, help="length in days [7]")
    p.add_argument("--dt", type=float, default=1.0, help="tick in minutes [1]")
    p.add_argument("--beta-start", type=float, default=300.0)
    p.add_argument("--beta-durations", type=float, default=55.0)
    p.add_argument("--beta-ping", type=float, default=7.0)
    p.add_argument("--ha", type=float, default=11.5 / 15, help="mean horizontal accuracy, blocks")
    return p.parse_args(argv)


def load_city(path: Path, hubs: int):
    """Load a NOMAD city and make it ready for trajectory generation.

    The garden-city GeoPackage carries no gravity layers, so the hub network,
    the hub-proxy gravity (callable form) and on-demand street routing are
    built here, as NOMAD's own garden-city examples do.
    """
    from nomad.city_gen import City

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        city = City.from_geopackage(str(path))
        if city.grav is None:
            city._build_hub_network(hub_size=hubs)
            city.compute_gravity(exponent=2.0, callable_only=True)
        city.compute_shortest_paths(callable_only=True)
    return city


def trajectory_seed(population_seed: int, index: int) -> int:
    """Seed of agent ``index``'s trajectory and sampling streams.

    NOMAD's examples seed agent i with ``i``; two samples made that way would
    share ping-time streams (``generate_ping_times`` depends only on the seed
    and the window), so the population seed is mixed in to keep samples with
    different seeds independent.
    """
    return int(np.random.SeedSequence([population_seed, index]).generate_state(1)[0])


def _init_worker(params: dict) -> None:
    """Pool initializer: load the city once per process."""
    global _CITY, _PARAMS
    warnings.simplefilter("ignore")
    _PARAMS = params
    _CITY = load_city(Path(params["city"]), params["hubs"])


def simulate_agent(task: tuple[int, str, str, str]) -> tuple[int, pd.DataFrame, pd.DataFrame]:
    """Simulate one agent (index, identifier, home, workplace); return its diary and pings."""
    from nomad.traj_gen import Agent

    index, identifier, home, workplace = task
    p = _PARAMS
    start = pd.Timestamp(p["start"])
    end = start + pd.Timedelta(days=p["days"])
    seed = trajectory_seed(p["seed"], index)
    agent = Agent(identifier=identifier, city=_CITY, home=home, workplace=workplace)
    agent.generate_trajectory(datetime=start, end_time=end, dt=p["dt"], seed=seed)
    agent.set_beta_params(beta_start=p["beta_start"], beta_durations=p["beta_durations"],
                          beta_ping=p["beta_ping"])
    agent.sample_trajectory(ha=p["ha"], seed=seed)
    sparse = agent.sparse_traj.reset_index(drop=True)
    diary = agent.diary.reset_index(drop=True)
    return index, diary, sparse


def make_population(city, n: int, seed: int) -> list[tuple[int, str, str, str]]:
    """Draw the population with ``Population.generate_agents``: (index, id, home, workplace)."""
    from nomad.traj_gen import Population

    pop = Population(city)
    pop.generate_agents(n, seed=seed)
    return [(i, a.identifier, a.home, a.workplace) for i, a in enumerate(pop.roster.values())]


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    """Write a DataFrame to one Parquet file without its index."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(df, preserve_index=False), path)


def main(argv: list[str] | None = None) -> int:
    """Generate the sample and write it to the output directory."""
    args = parse_args(argv)
    warnings.simplefilter("ignore")
    t0 = time.time()
    params = {
        "city": str(args.city.resolve()),
        "hubs": args.hubs,
        "seed": args.seed,
        "start": args.start,
        "days": args.days,
        "dt": args.dt,
        "beta_start": args.beta_start,
        "beta_durations": args.beta_durations,
        "beta_ping": args.beta_ping,
        "ha": args.ha,
    }
    city = load_city(args.city, args.hubs)
    tasks = make_population(city, args.agents, args.seed)
    homes = pd.DataFrame(tasks, columns=["index", "user_id", "home", "workplace"]).drop(columns="index")

    diaries: list[pd.DataFrame | None] = [None] * len(tasks)
    sparse: list[pd.DataFrame | None] = [None] * len(tasks)
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    done = 0
    with ctx.Pool(args.processes, initializer=_init_worker, initargs=(params,)) as pool:
        for index, diary, pings in pool.imap_unordered(simulate_agent, tasks, chunksize=4):
            diaries[index], sparse[index] = diary, pings
            done += 1
            if done % 50 == 0 or done == len(tasks):
                rate = done / (time.time() - t0)
                print(f"nomad_sample: {done}/{len(tasks)} agents ({rate:.2f} agents/s)",
                      file=sys.stderr, flush=True)

    tmp = args.out.with_name(args.out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    sparse_df = pd.concat([s for s in sparse if s is not None and not s.empty], ignore_index=True)
    diary_df = pd.concat(diaries, ignore_index=True)
    write_parquet(sparse_df[["user_id", "x", "y", "datetime", "timestamp", "ha"]], tmp / "sparse.parquet")
    write_parquet(diary_df[["datetime", "timestamp", "duration", "location", "user_id"]],
                  tmp / "diaries.parquet")
    write_parquet(homes, tmp / "homes.parquet")
    start = pd.Timestamp(args.start)
    end = start + pd.Timedelta(days=args.days)
    meta = {
        "generator": "nomad",
        "nomad_src": os.pathsep.join(os.path.abspath(d) for d in os.environ.get("PYTHONPATH", "").split(os.pathsep) if d),
        "agents": args.agents,
        "processes": args.processes,
        "coords": "blocks",
        "start": int(start.timestamp()),
        "end": int(end.timestamp()),
        "start_local": start.isoformat(),
        "end_local": end.isoformat(),
        "trajectory_seeds": "SeedSequence([seed, agent index])",
        "params": params,
        "counts": {"sparse_pings": len(sparse_df), "diary_entries": len(diary_df)},
        "seconds": round(time.time() - t0, 1),
    }
    (tmp / "meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(args.out, ignore_errors=True)
    tmp.rename(args.out)
    print(f"nomad_sample: {args.agents} agents, {len(sparse_df)} sparse pings, {len(diary_df)} diary "
          f"entries in {meta['seconds']} s -> {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
