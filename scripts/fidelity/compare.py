#!/usr/bin/env python3
"""Compare two mobility samples statistically: gardencity against NOMAD, or NOMAD against NOMAD.

Each sample is either a NOMAD sample directory written by ``nomad_sample.py``
(``sparse.parquet``, ``diaries.parquet``, ``meta.json``) or a gardencity run
directory (hive-partitioned Parquet datasets ``sparse/``, ``diaries/``,
``homes/`` and ``manifest.json``; run it with ``--coords blocks`` so that
``x``, ``y`` and ``ha`` are in city blocks, like NOMAD's).

Both samples are first trimmed to the window both generators cover,
``[start + 1 tick, end)`` (see ``trim_to_window``).

Checks (all must pass for exit code 0):

- time shares per building type (home, workplace, retail, park) and travel,
  duration-weighted over all diary rows; ``|A - B| <= 0.02``;
- two-sample Kolmogorov-Smirnov tests (``scipy.stats.ks_2samp``), ``p >= 0.01``:
  sparse pings per agent, diary rows per agent, distinct places per agent,
  stay durations, trip durations, ``ha`` of sparse pings. The last three pool
  many values per agent, which are not independent; for them PASS is decided
  by an agent-level permutation p-value of the same KS statistic (also
  printed: ``p agents``; ``--permutations 0`` restores the plain p);
- a consumer check: NOMAD's own stop detection (``lachesis``) on each
  sample's sparse pings, stops attributed to buildings by their medoid, scored
  per user against the sample's own diary with
  ``compute_stop_detection_metrics``; per-user precision, recall and F1
  compared by KS (``p >= 0.01``). Skip it with ``--no-stop-detection``.

Usage::

    PYTHONPATH=$NOMAD_SRC python compare.py A B [--labels NAME_A NAME_B]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq
from scipy.stats import ks_2samp

DEFAULT_CITY = Path(__file__).resolve().parents[3] / "shared" / "data" / "garden-city.gpkg"
TYPES = {"h": "home", "w": "workplace", "r": "retail", "p": "park"}
SHARE_TOL = 0.02
KS_ALPHA = 0.01


@dataclass
class Sample:
    """One sample, reduced to what the comparison needs.

    ``sparse``: user_id, x, y, timestamp, ha. ``diaries``: user_id, timestamp,
    duration (minutes), location (None while travelling). ``users``: every
    simulated agent (also those without pings). ``start``/``end``: the
    simulated window, Unix seconds; ``tick``: the movement time step, seconds.
    """

    label: str
    kind: str
    sparse: pd.DataFrame
    diaries: pd.DataFrame
    users: np.ndarray
    start: int
    end: int
    tick: int
    city: Path | None


def _read_dataset(path: Path, columns: list[str]) -> pd.DataFrame:
    """Read a hive-partitioned Parquet dataset (only ``columns``)."""
    table = ds.dataset(path, format="parquet", partitioning="hive").to_table(columns=columns)
    return table.to_pandas()


def load_sample(path: Path, label: str) -> Sample:
    """Load a NOMAD sample directory or a gardencity run directory."""
    sparse_cols = ["user_id", "x", "y", "timestamp", "ha"]
    diary_cols = ["user_id", "timestamp", "duration", "location"]
    if (path / "meta.json").is_file():
        meta = json.loads((path / "meta.json").read_text())
        if meta.get("coords", "blocks") != "blocks":
            raise SystemExit(f"{path}: coordinates are {meta.get('coords')}, expected blocks")
        sparse = pq.read_table(path / "sparse.parquet", columns=sparse_cols).to_pandas()
        diaries = pq.read_table(path / "diaries.parquet", columns=diary_cols).to_pandas()
        homes = path / "homes.parquet"
        users = (pq.read_table(homes, columns=["user_id"]).to_pandas()["user_id"].to_numpy()
                 if homes.is_file() else diaries["user_id"].unique())
        city = meta.get("params", {}).get("city")
        tick = round(60 * float(meta.get("params", {}).get("dt", 1.0)))
        return Sample(label, "nomad", sparse, diaries, np.asarray(users, dtype=object),
                      int(meta["start"]), int(meta["end"]), tick, Path(city) if city else None)
    if (path / "manifest.json").is_file():
        manifest = json.loads((path / "manifest.json").read_text())
        coords = manifest.get("dataset", {}).get("coordinates")
        if coords != "blocks":
            raise SystemExit(f"{path}: gardencity run with --coords {coords}; rerun with --coords blocks")
        sparse = _read_dataset(path / "sparse", sparse_cols)
        diaries = _read_dataset(path / "diaries", diary_cols)
        users = (_read_dataset(path / "homes", ["user_id"])["user_id"].unique()
                 if (path / "homes").is_dir() else diaries["user_id"].unique())
        city = manifest.get("city")  # a path, or (newer manifests) {"source": path, ...}
        if isinstance(city, dict):
            city = city.get("source")
        city_path = Path(city) if isinstance(city, str) and city.endswith(".gpkg") else None
        tick = round(60 * float(manifest.get("mobility", {}).get("dt", 1.0)))
        return Sample(label, "gardencity", sparse, diaries, np.asarray(users, dtype=object),
                      int(manifest["start"]), int(manifest["end"]), tick, city_path)
    raise SystemExit(f"{path}: neither a NOMAD sample (meta.json) nor a gardencity run (manifest.json)")


def trim_to_window(s: Sample) -> Sample:
    """Restrict a sample to the window both generators cover: ``[start + tick, end)``.

    The reference's window differs from gardencity's (MODEL.md section 5, end):
    NOMAD writes a dense ping at the start that no diary entry covers (its
    diary begins at the first tick, ``start + dt``) and its last diary entry
    runs one tick past the end; gardencity's window is ``[start, end)``, with
    every ping inside a diary entry. Clipping to ``[start, end)`` alone would
    still leave each gardencity agent one minute more of first stay than NOMAD
    (61 against 60 minutes at home on the garden city, enough for a KS test on
    stay durations to notice), so the first tick goes too. Each diary entry is
    taken as the interval ``[timestamp, timestamp + 60 * duration)``, clipped
    to ``[start + tick, end)`` (its duration and start adjusted, empty entries
    dropped), and a sparse ping is kept only if it lies inside one of its
    user's clipped entries. On NOMAD this shortens the last entry by one tick
    and drops pings of the uncovered start ping; on gardencity it shortens the
    first entry by one tick and drops pings of the first tick.
    """
    lo_window = s.start + s.tick
    d = s.diaries.copy()
    d["timestamp"] = d["timestamp"].astype("int64")
    d["duration"] = d["duration"].astype("float64")
    d["location"] = d["location"].astype(object).where(d["location"].notna(), None)
    lo = np.maximum(d["timestamp"].to_numpy(), lo_window)
    hi = np.minimum(d["timestamp"].to_numpy() + np.round(d["duration"].to_numpy() * 60).astype("int64"), s.end)
    d["timestamp"], d["duration"], d["_end"] = lo, (hi - lo) / 60.0, hi
    d = d[hi > lo].sort_values(["timestamp", "user_id"], kind="stable").reset_index(drop=True)

    p = s.sparse.copy()
    p["timestamp"] = p["timestamp"].astype("int64")
    p = p[(p["timestamp"] >= lo_window) & (p["timestamp"] < s.end)]
    p = p.sort_values(["timestamp", "user_id"], kind="stable").reset_index(drop=True)
    covered = pd.merge_asof(p[["timestamp", "user_id"]], d[["timestamp", "user_id", "_end"]],
                            on="timestamp", by="user_id", direction="backward")
    p = p[(covered["_end"] > covered["timestamp"]).to_numpy()]
    p = p.sort_values(["user_id", "timestamp"], kind="stable").reset_index(drop=True)
    d = d.drop(columns="_end").sort_values(["user_id", "timestamp"], kind="stable").reset_index(drop=True)
    return Sample(s.label, s.kind, p, d, s.users, s.start, s.end, s.tick, s.city)


def time_shares(diaries: pd.DataFrame) -> dict[str, float]:
    """Duration-weighted share of time per building type and travel (null location)."""
    loc = diaries["location"]
    kind = loc.str[0].map(TYPES).fillna("other")
    kind[loc.isna()] = "travel"
    minutes = diaries["duration"].groupby(kind).sum()
    total = minutes.sum()
    out = {k: float(minutes.get(k, 0.0) / total) for k in [*TYPES.values(), "travel"]}
    if minutes.get("other", 0.0) > 0:
        out["other"] = float(minutes["other"] / total)
    return out


def per_agent_statistics(s: Sample) -> dict[str, tuple[np.ndarray, np.ndarray | None]]:
    """The distributions compared by KS tests: name -> (values, user of each value).

    Per-agent statistics have one value per agent (user None); pooled ones
    (durations, ha) keep each value's user for the agent-level permutation test.
    """
    users = pd.Index(s.users)
    d, p = s.diaries, s.sparse
    stays = d["location"].notna()
    return {
        "sparse pings per agent": (p.groupby("user_id").size().reindex(users, fill_value=0).to_numpy(), None),
        "diary rows per agent": (d.groupby("user_id").size().reindex(users, fill_value=0).to_numpy(), None),
        "distinct places per agent": (d[stays].groupby("user_id")["location"].nunique()
                                      .reindex(users, fill_value=0).to_numpy(), None),
        "stay durations (min)": (d.loc[stays, "duration"].to_numpy(), d.loc[stays, "user_id"].to_numpy()),
        "trip durations (min)": (d.loc[~stays, "duration"].to_numpy(), d.loc[~stays, "user_id"].to_numpy()),
        "ha of sparse pings": (p["ha"].to_numpy(), p["user_id"].to_numpy()),
    }


def ks_agent_permutation_p(a: np.ndarray, users_a: np.ndarray, b: np.ndarray, users_b: np.ndarray,
                           permutations: int, seed: int = 0) -> float:
    """p-value of the two-sample KS statistic under permutation of whole agents.

    Stays and trips of one agent are not independent (the same home, workplace
    and routes recur all week), so ``ks_2samp`` on pooled values overstates
    the sample size: on the garden city the agent-clustered standard error of
    the mean trip duration is about 1.6 times the naive one. Shuffling agents
    (with all their values) between the two samples gives a valid null
    distribution of D; the statistic is recomputed on one presorted array.
    """
    vals = np.concatenate([a, b]).astype(float)
    ua, ia = np.unique(users_a.astype(str), return_inverse=True)
    ub, ib = np.unique(users_b.astype(str), return_inverse=True)
    agent = np.concatenate([ia, ib + len(ua)])
    side = np.r_[np.ones(len(ua), bool), np.zeros(len(ub), bool)]
    order = np.argsort(vals, kind="stable")
    agent = agent[order]
    last = np.r_[vals[order][1:] != vals[order][:-1], True]
    rank = np.arange(1, len(vals) + 1)[last]

    def stat(is_a_agent: np.ndarray) -> float:
        ca = np.cumsum(is_a_agent[agent])[last]
        cb = rank - ca
        if ca[-1] == 0 or cb[-1] == 0:
            return 0.0
        return float(np.max(np.abs(ca / ca[-1] - cb / cb[-1])))

    d0 = stat(side)
    rng = np.random.default_rng(seed)
    hits = sum(stat(rng.permutation(side)) >= d0 - 1e-12 for _ in range(permutations))
    return (hits + 1) / (permutations + 1)


# ---------------------------------------------------------------------------
# Stop detection (NOMAD as a consumer of the data)
# ---------------------------------------------------------------------------

_SD: dict = {}


def load_buildings(city: Path):
    """Building polygons of a NOMAD city GeoPackage, as NOMAD's poi table (column ``location``).

    The garden city is in block units without a CRS; NOMAD's visit attribution
    insists on one, so EPSG:3857 is attached as a label only (both the pings
    and the polygons are in blocks, nothing is reprojected).
    """
    import geopandas as gpd

    b = gpd.read_file(city, layer="buildings")
    b = b[["id", "geometry"]].rename(columns={"id": "location"})
    return b.set_crs("EPSG:3857", allow_override=True)


def _init_sd(poi, params: dict) -> None:
    """Pool initializer for stop detection."""
    warnings.simplefilter("ignore")
    _SD["poi"], _SD["params"] = poi, params


def score_user(task: tuple[str, pd.DataFrame, pd.DataFrame]) -> dict:
    """Run lachesis on one user's pings and score it against the user's diary."""
    from nomad.stop_detection.sequential_algs import lachesis
    from nomad.stop_detection.validation import compute_stop_detection_metrics
    from nomad.visit_attribution.visit_attribution import point_in_polygon

    warnings.simplefilter("ignore")
    user, pings, truth = task
    prm = _SD["params"]
    if len(pings) >= 2:
        # Columns x, y, timestamp only: with no datetime column NOMAD uses Unix seconds.
        stops = lachesis(pings[["user_id", "x", "y", "timestamp"]], delta_roam=prm["delta_roam"],
                         dt_max=prm["dt_max"], dur_min=prm["dur_min"],
                         x="x", y="y", timestamp="timestamp", user_id="user_id")
    else:
        stops = pd.DataFrame()
    if len(stops):
        stops["location"] = point_in_polygon(stops, poi_table=_SD["poi"], method="centroid",
                                             data_crs="EPSG:3857", max_distance=prm["attach"],
                                             location_id="location", x="x", y="y",
                                             timestamp="timestamp")
    # The whole diary is the truth, as in NOMAD's own benchmarks: its travel rows count as
    # "Street" time, so recall is bounded by the sparse coverage (about 0.1 here).
    m = compute_stop_detection_metrics(stops=stops, truth=truth, user_id=user,
                                       traj_cols={"location_id": "location"}, timestamp="timestamp")
    return {"user_id": user, "stops": len(stops), "precision": m["precision"],
            "recall": m["recall"], "f1": m["f1"]}


def stop_detection_scores(s: Sample, poi, params: dict, processes: int, max_users: int) -> pd.DataFrame:
    """Per-user precision, recall and F1 of lachesis on a (trimmed) sample.

    Users with fewer than two pings get no stops (NOMAD scores that 0/0/0).
    At most ``max_users`` users (a fixed random subset) are scored.
    """
    users = np.sort(s.users.astype(str))
    if max_users and len(users) > max_users:
        users = np.sort(np.random.default_rng(0).choice(users, max_users, replace=False))
    pings = dict(tuple(s.sparse.groupby("user_id")))
    truth = dict(tuple(s.diaries[["user_id", "timestamp", "duration", "location"]].groupby("user_id")))
    empty = s.sparse.iloc[:0]
    tasks = [(u, pings.get(u, empty), truth[u]) for u in users if u in truth]
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(processes, initializer=_init_sd, initargs=(poi, params)) as pool:
        rows = pool.map(score_user, tasks, chunksize=8)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------

def ks_row(name: str, a, b, users_a=None, users_b=None, permutations: int = 0) -> dict:
    """Two-sample KS test of ``a`` against ``b``.

    With users given (pooled values) and ``permutations > 0``, PASS is decided
    by the agent-level permutation p-value (``p_agents``); otherwise by
    ``ks_2samp``'s p.
    """
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    keep_a, keep_b = ~np.isnan(a), ~np.isnan(b)
    a, b = a[keep_a], b[keep_b]
    row = {"name": name, "n_a": len(a), "n_b": len(b), "mean_a": np.nan, "mean_b": np.nan,
           "ks": np.nan, "p": np.nan, "p_agents": np.nan, "ok": False}
    if len(a) == 0 or len(b) == 0:
        return row
    r = ks_2samp(a, b)
    row.update(mean_a=a.mean(), mean_b=b.mean(), ks=r.statistic, p=r.pvalue)
    if users_a is not None and users_b is not None and permutations > 0:
        row["p_agents"] = ks_agent_permutation_p(a, np.asarray(users_a)[keep_a], b,
                                                 np.asarray(users_b)[keep_b], permutations)
        row["ok"] = bool(row["p_agents"] >= KS_ALPHA)
    else:
        row["ok"] = bool(r.pvalue >= KS_ALPHA)
    return row


def print_ks_table(title: str, rows: list[dict], la: str, lb: str) -> None:
    """Print KS rows as a fixed-width table (``p agents``: agent-level permutation p)."""
    wn = max(10, len(la) + 3, len(lb) + 3)
    wm = max(12, len(la) + 6, len(lb) + 6)
    agents = any(not np.isnan(r["p_agents"]) for r in rows)
    print(f"\n{title}")
    print(f"  {'statistic':<27} {'n ' + la:>{wn}} {'n ' + lb:>{wn}} {'mean ' + la:>{wm}} "
          f"{'mean ' + lb:>{wm}} {'KS D':>7} {'p':>8}" + (f" {'p agents':>9}" if agents else ""))
    for r in rows:
        pa = "" if not agents else f" {r['p_agents']:>9.4f}" if not np.isnan(r["p_agents"]) else f" {'':>9}"
        print(f"  {r['name']:<27} {r['n_a']:>{wn}} {r['n_b']:>{wn}} {r['mean_a']:>{wm}.4g} "
              f"{r['mean_b']:>{wm}.4g} {r['ks']:>7.4f} {r['p']:>8.4f}{pa}  {'PASS' if r['ok'] else 'FAIL'}")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("a", type=Path, help="first sample (NOMAD sample dir or gardencity run dir)")
    p.add_argument("b", type=Path, help="second sample")
    p.add_argument("--labels", nargs=2, metavar=("A", "B"), default=None,
                   help="short names of the samples in the tables [A B]")
    p.add_argument("--city", type=Path, default=None,
                   help="city GeoPackage for stop attribution [the samples' city, else the garden city]")
    p.add_argument("--no-stop-detection", action="store_true", help="skip the lachesis consumer check")
    p.add_argument("--delta-roam", type=float, default=2.5,
                   help="lachesis roaming diameter, in the coordinates' unit (blocks) [2.5 = 37.5 m]")
    p.add_argument("--dt-max", type=float, default=60, help="lachesis max gap within a stop, minutes [60]")
    p.add_argument("--dur-min", type=float, default=5, help="lachesis min stop duration, minutes [5]")
    p.add_argument("--attach", type=float, default=1.0,
                   help="max distance (blocks) from a stop's medoid to its building [1]")
    p.add_argument("--sd-max-users", type=int, default=1000,
                   help="score at most this many users per sample (0 = all) [1000]")
    p.add_argument("--processes", type=int, default=2, help="processes for stop detection [2]")
    p.add_argument("--permutations", type=int, default=1000,
                   help="agent-level permutations for pooled values (durations, ha); 0 = plain "
                        "ks_2samp p decides for them too [1000]")
    return p.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Load, trim, compare and print; exit code 1 if any check fails."""
    args = parse_args(argv)
    la, lb = args.labels or ("A", "B")
    warnings.simplefilter("ignore")
    a = trim_to_window(load_sample(args.a, la))
    b = trim_to_window(load_sample(args.b, lb))
    ok = True
    print(f"{la}: {a.kind} {args.a}  ({len(a.users)} agents, {len(a.sparse)} pings, {len(a.diaries)} diary rows)")
    print(f"{lb}: {b.kind} {args.b}  ({len(b.users)} agents, {len(b.sparse)} pings, {len(b.diaries)} diary rows)")
    if (a.start, a.end, a.tick) != (b.start, b.end, b.tick):
        print(f"note: the samples' windows or ticks differ: [{a.start}, {a.end}) dt {a.tick} s "
              f"vs [{b.start}, {b.end}) dt {b.tick} s")

    sa, sb = time_shares(a.diaries), time_shares(b.diaries)
    print(f"\nTime shares (duration-weighted, PASS if |diff| <= {SHARE_TOL})")
    w = max(10, len(la) + 1, len(lb) + 1)
    print(f"  {'type':<27} {la:>{w}} {lb:>{w}} {'diff':>8}")
    for k in dict.fromkeys([*sa, *sb]):
        x, y = sa.get(k, 0.0), sb.get(k, 0.0)
        good = abs(x - y) <= SHARE_TOL
        ok &= good
        print(f"  {k:<27} {x:>{w}.4f} {y:>{w}.4f} {x - y:>+8.4f}  {'PASS' if good else 'FAIL'}")

    da, db = per_agent_statistics(a), per_agent_statistics(b)
    rows = [ks_row(k, da[k][0], db[k][0], da[k][1], db[k][1], args.permutations) for k in da]
    ok &= all(r["ok"] for r in rows)
    how = (f"; pooled values by p agents, {args.permutations} agent-level permutations"
           if args.permutations > 0 else "")
    print_ks_table(f"Distributions (two-sample KS, PASS if p >= {KS_ALPHA}{how})", rows, la, lb)

    if not args.no_stop_detection:
        city = args.city or a.city or b.city or DEFAULT_CITY
        poi = load_buildings(city)
        params = {"delta_roam": args.delta_roam, "dt_max": args.dt_max, "dur_min": args.dur_min,
                  "attach": args.attach}
        ma = stop_detection_scores(a, poi, params, args.processes, args.sd_max_users)
        mb = stop_detection_scores(b, poi, params, args.processes, args.sd_max_users)
        rows = [ks_row(f"lachesis {k}", ma[k], mb[k]) for k in ("precision", "recall", "f1")]
        rows.append(ks_row("lachesis stops per agent", ma["stops"], mb["stops"]))
        ok &= all(r["ok"] for r in rows)
        print_ks_table(f"Stop detection: lachesis(delta_roam={args.delta_roam:g} blocks, dt_max={args.dt_max:g} min, "
                       f"dur_min={args.dur_min:g} min) per user vs own diary (KS, PASS if p >= {KS_ALPHA})",
                       rows, la, lb)

    print(f"\n{'PASS' if ok else 'FAIL'}: {la} vs {lb}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
