"""simulate / iter_batches: schemas and dtypes, equality with the CLI and across shards
(multiprocessing with spawn, joblib with loky), cancellation, errors."""

from __future__ import annotations

import _thread
import hashlib
import multiprocessing
import os
import pathlib
import pickle
import subprocess
import threading
import time

import pyarrow as pa
import pyarrow.dataset as ds
import pytest

import gardencity

WORKLOAD = dict(agents=12, days=2, seed=5, sampling={"beta_start": 300.0, "beta_durations": 55.0, "beta_ping": 7.0})


def test_in_memory_tables_schema_and_pandas_dtypes(small_city: gardencity.City) -> None:
    run = gardencity.simulate(city=small_city, outputs=["all"], progress=False, coords="blocks", **WORKLOAD)
    assert isinstance(run, gardencity.Run)
    for name in ("sparse", "dense", "diaries", "destinations", "homes"):
        assert isinstance(run.table(name), pa.Table)
    assert run.sparse.column_names == ["user_id", "x", "y", "datetime", "timestamp", "ha"]
    assert run.dense.column_names == ["user_id", "x", "y", "datetime", "timestamp", "ha", "location"]
    assert run.diaries.column_names == ["datetime", "timestamp", "duration", "location", "user_id"]
    assert run.homes.column_names == ["user_id", "home", "workplace"]
    df = run.sparse.to_pandas()
    assert str(df["x"].dtype) == "float64" and str(df["timestamp"].dtype) == "int64"
    assert str(df["datetime"].dt.tz) == "America/New_York"
    epoch = df["datetime"].map(lambda d: int(d.timestamp()))
    assert (epoch == df["timestamp"]).all()
    assert df["user_id"].map(type).eq(str).all()
    assert run.homes.num_rows == 12 and run.manifest["counts"]["agents"] == 12
    assert run.manifest["counts"]["sparse_pings"] == run.sparse.num_rows
    assert run.manifest["gravity"] == {"source": "stored with the city", "mode": "hub_proxy", "exponent": 2.0,
                                       "hubs": small_city.gravity["hubs"]}
    # Default outputs: no dense, no destinations.
    default = gardencity.simulate(city=small_city, agents=2, days=1, progress=False)
    assert default.dense is None and default.destinations is None and default.sparse is not None


def test_iter_batches_streams_the_same_rows(small_city: gardencity.City) -> None:
    whole = gardencity.simulate(city=small_city, progress=False, **WORKLOAD)
    parts: dict = {}
    for name, batch in gardencity.iter_batches(city=small_city, batch_rows=1000, **WORKLOAD):
        assert batch.num_rows <= 1000
        parts.setdefault(name, []).append(batch)
    assert set(parts) == {"sparse", "diaries", "homes"}
    assert pa.Table.from_batches(parts["sparse"]).equals(whole.sparse)


def _files(root: pathlib.Path) -> dict:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }


def test_dataset_equals_the_cli(tmp_path, garden_city_path) -> None:
    binary = os.environ.get("GARDENCITY_BIN")
    if not binary:
        if os.environ.get("CI"):
            pytest.fail("GARDENCITY_BIN is not set (scripts/test.sh sets it)")
        pytest.skip("GARDENCITY_BIN is not set")
    a, b = tmp_path / "py", tmp_path / "cli"
    manifest = gardencity.simulate(city=garden_city_path, out=a, progress=False, **WORKLOAD)
    subprocess.run(
        [binary, "simulate", "--city", str(garden_city_path), "--out", str(b), "--agents", "12", "--days", "2",
         "--seed", "5", "--beta-start", "300", "--beta-durations", "55", "--beta-ping", "7", "-q"],
        check=True,
    )
    assert (a / "_SUCCESS").exists() and manifest["counts"]["agents"] == 12
    assert _files(a) == _files(b)
    table = ds.dataset(a / "sparse", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == manifest["counts"]["sparse_pings"]


def test_files_read_by_pyarrow_and_duckdb_equal_the_in_memory_tables(tmp_path, small_city) -> None:
    """String columns are written to Parquet straight from their runs (user ids, the
    buildings of dense pings and diaries, nulls for trips): pyarrow and DuckDB read the
    files to the rows of the in-memory tables, which are built another way."""
    import duckdb

    out = tmp_path / "run"
    gardencity.simulate(city=small_city, out=out, outputs=["all"], progress=False, **WORKLOAD)
    run = gardencity.simulate(city=small_city, outputs=["all"], progress=False, **WORKLOAD)
    for name in ("sparse", "dense", "diaries", "destinations", "homes"):
        mem = run.table(name)
        keys = [(c, "ascending") for c in mem.column_names if c in ("user_id", "timestamp", "duration", "home")]
        files = ds.dataset(out / name, format="parquet", partitioning="hive").to_table().drop_columns(["date"])
        assert files.schema.equals(mem.schema), name
        assert files.sort_by(keys).equals(mem.sort_by(keys)), name
        cols = ", ".join(c for c, _ in keys)
        strings = [c for c in mem.column_names if pa.types.is_string(mem.schema.field(c).type)]
        rows = duckdb.sql(f"SELECT {', '.join(strings)} FROM read_parquet('{out / name}/*/*.parquet') ORDER BY {cols}")
        assert rows.fetchall() == list(zip(*(mem.sort_by(keys).column(c).to_pylist() for c in strings))), name
    locations = run.dense.column("location")
    assert 0 < locations.null_count < len(locations), "dense pings both in buildings and on streets"


def _shard_rows(args: tuple) -> bytes:
    """Runs one shard in a worker process; returns its sparse table as IPC bytes."""
    city_bytes, k, n = args
    city = pickle.loads(city_bytes)
    run = gardencity.simulate(city=city, shard=(k, n), progress=False, **WORKLOAD)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, run.sparse.schema) as w:
        w.write_table(run.sparse)
    return sink.getvalue().to_pybytes()


def _concat(blobs: list) -> pa.Table:
    return pa.concat_tables([pa.ipc.open_stream(b).read_all() for b in blobs])


def test_multiprocessing_spawn_shards_equal_the_whole_run(small_city: gardencity.City) -> None:
    whole = gardencity.simulate(city=small_city, progress=False, **WORKLOAD).sparse
    city_bytes = pickle.dumps(small_city)
    with multiprocessing.get_context("spawn").Pool(2) as pool:
        blobs = pool.map(_shard_rows, [(city_bytes, k, 3) for k in range(3)])
    assert _concat(blobs).equals(whole)


def test_joblib_loky_shards_equal_the_whole_run(small_city: gardencity.City) -> None:
    joblib = pytest.importorskip("joblib")
    whole = gardencity.simulate(city=small_city, progress=False, **WORKLOAD).sparse
    city_bytes = pickle.dumps(small_city)
    blobs = joblib.Parallel(n_jobs=2, backend="loky")(
        joblib.delayed(_shard_rows)((city_bytes, k, 4)) for k in range(4)
    )
    assert _concat(blobs).equals(whole)


def test_keyboard_interrupt_stops_within_a_second_and_leaves_nothing_complete(tmp_path) -> None:
    out = tmp_path / "big"
    interrupted_at = []

    def interrupt() -> None:
        interrupted_at.append(time.monotonic())
        _thread.interrupt_main()

    timer = threading.Timer(1.0, interrupt)
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        gardencity.simulate(agents=200_000, days=7, out=out, progress=False, threads=1)
    stopped = time.monotonic() - interrupted_at[0]
    timer.cancel()
    assert stopped < 1.0, f"the run took {stopped:.2f} s to stop after Ctrl-C"
    assert not (out / "_SUCCESS").exists()
    leftovers = [p for p in out.rglob("*") if p.is_file()] if out.exists() else []
    assert leftovers == [], leftovers


@pytest.mark.parametrize(
    "kwargs, exc, words",
    [
        (dict(agents=-1), ValueError, "agents"),
        (dict(agents=1.5), ValueError, "agents"),
        (dict(agents=True), ValueError, "agents"),
        (dict(outputs=["gps"]), ValueError, "gps"),
        (dict(tz="Mars/Olympus"), ValueError, "tz"),
        (dict(start="yesterday"), ValueError, "start"),
        (dict(days=0), ValueError, "days"),
        (dict(shard=(3, 2)), ValueError, "shard"),
        (dict(sampling={"beta_pong": 3}), ValueError, "beta_pong"),
        (dict(mobility={"dt": -1.0}), ValueError, "dt"),
        (dict(threads=0), ValueError, "threads"),
        (dict(city=42), ValueError, "city"),
        (dict(city="/nonexistent/city.gpkg"), FileNotFoundError, "city.gpkg"),
        (dict(anchors=object()), TypeError, ""),
    ],
)
def test_bad_arguments_raise_named_exceptions(kwargs: dict, exc: type, words: str) -> None:
    with pytest.raises((exc, gardencity.GardencityError)) as info:
        gardencity.simulate(progress=False, **{"agents": 2, "days": 1, **kwargs})
    assert isinstance(info.value, exc)
    assert words in str(info.value)
    if exc is not TypeError:
        assert isinstance(info.value, gardencity.GardencityError)


def test_abandoned_iteration_stops_the_run(small_city: gardencity.City) -> None:
    """Breaking out of iter_batches with the channel full must not hang (it did)."""
    t0 = time.monotonic()
    for _ in gardencity.iter_batches(city=small_city, agents=2000, days=7, batch_rows=10):
        time.sleep(0.3)  # let the simulating thread fill the channel
        break
    assert time.monotonic() - t0 < 5


def test_a_cancelled_batches_run_reports_cancellation(small_city: gardencity.City) -> None:
    """Cancelling closes the channel; whichever the run notices first, it was cancelled."""
    handle = gardencity._gardencity.start_run('{"agents": 3000, "days": 7}', small_city, "batches", 10)
    while handle.next_batch(1.0) is None:
        pass
    handle.cancel()
    with pytest.raises(gardencity.RunCancelledError):
        handle.result()
    # Timeouts that are not finite positive numbers are no wait, not a crash.
    assert handle.wait(float("nan")) is True


def test_gravity_parameter_errors_are_parameter_errors(small_city: gardencity.City) -> None:
    with pytest.raises(ValueError, match="hub count"):
        gardencity.simulate(city=small_city, agents=2, days=1, gravity={"hubs": 0}, progress=False)
    city = gardencity.City.random(20, 20, seed=1)
    with pytest.raises(ValueError, match="exponent"):
        city.compute_gravity(exponent=-1.0)


def test_missing_files_map_to_file_not_found_in_the_engine_too(tmp_path) -> None:
    """Past the Python layer's own check: the engine's I/O error becomes InputNotFoundError."""
    for key, name in (("city", "missing.gpkg"), ("anchors", "missing.csv")):
        spec = f'{{"{key}": "{tmp_path / name}", "agents": 2, "days": 1}}'
        with pytest.raises(FileNotFoundError, match=name) as info:
            gardencity._gardencity.start_run(spec, None, "batches")
        assert isinstance(info.value, gardencity.InputNotFoundError)


def test_a_sweep_writes_one_phone_per_configuration_equal_to_runs_alone(tmp_path, small_city) -> None:
    """`sweep=`: sparse pings per configuration in sparse/config=NAME/, each equal to a
    run with that configuration alone; with shards too (each shard's output holds the
    config partitions); without `out`, a clear error."""
    common = dict(city=small_city, agents=12, days=2, seed=4, progress=False, outputs=["sparse", "homes"])
    sweep = {"base": {"ha": 0.9}, "grid": {"beta_start": [300.0], "beta_durations": [55.0], "beta_ping": [5.0, 8.0]},
             "config": [{"name": "all-day", "one_burst": True}]}
    m = gardencity.simulate(out=tmp_path / "sweep", sweep=sweep, **common)
    names = [c["name"] for c in m["sweep"]]
    assert names == ["beta_durations-55_beta_ping-5_beta_start-300", "beta_durations-55_beta_ping-8_beta_start-300",
                     "all-day"]
    sparse = ds.dataset(tmp_path / "sweep" / "sparse", format="parquet", partitioning="hive")
    for c in m["sweep"]:
        mine = sparse.to_table(filter=ds.field("config") == c["name"]).drop(["config", "date"])
        sampling = {"one_burst": True, "ha": 0.9} if c["name"] == "all-day" else \
            {"beta_start": 300.0, "beta_durations": 55.0, "beta_ping": c["sampling"]["beta_ping"], "ha": 0.9}
        alone = gardencity.simulate(sampling=sampling, **common).sparse
        assert mine.num_rows == c["sparse_pings"] == alone.num_rows > 0
        assert mine.sort_by([("user_id", "ascending"), ("timestamp", "ascending")]).equals(
            alone.sort_by([("user_id", "ascending"), ("timestamp", "ascending")]).select(mine.column_names))
    # Two shards: together the whole sweep.
    rows = 0
    for k in range(2):
        ms = gardencity.simulate(out=tmp_path / f"shard{k}", sweep=sweep, shard=(k, 2), **common)
        rows += sum(c["sparse_pings"] for c in ms["sweep"])
        assert (tmp_path / f"shard{k}" / "sparse" / "config=all-day").is_dir()
    assert rows == sum(c["sparse_pings"] for c in m["sweep"])
    with pytest.raises(gardencity.ParameterError, match="sweep"):
        gardencity.simulate(sweep=sweep, **common)
    with pytest.raises(gardencity.ParameterError, match="beta_pong"):
        gardencity.simulate(out=tmp_path / "bad", sweep={"grid": {"beta_pong": [1.0]}}, **common)
    assert not (tmp_path / "bad").exists()


def test_resume_needs_an_interrupted_run(tmp_path, small_city) -> None:
    """resume=True continues only an interrupted run: a complete one has nothing to
    resume, an empty directory none; resume and overwrite exclude each other."""
    out = tmp_path / "run"
    gardencity.simulate(city=small_city, out=out, progress=False, **WORKLOAD)
    with pytest.raises(gardencity.GardencityError, match="nothing to resume"):
        gardencity.simulate(city=small_city, out=out, progress=False, resume=True, **WORKLOAD)
    with pytest.raises(gardencity.ParameterError, match="resume"):
        gardencity.simulate(city=small_city, out=out, progress=False, resume=True, overwrite=True, **WORKLOAD)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(gardencity.GardencityError, match="no checkpoint"):
        gardencity.simulate(city=small_city, out=empty, progress=False, resume=True, **WORKLOAD)
