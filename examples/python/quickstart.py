"""gardencity from Python: simulate the garden city, load the sparse pings and the
ground-truth diary into pandas, and plot one agent's day with matplotlib.

    pip install ./python matplotlib
    python examples/python/quickstart.py [path/to/garden-city.gpkg] [out.png]
"""

from __future__ import annotations

import sys

import gardencity


def main() -> None:
    path = sys.argv[1] if len(sys.argv) > 1 else "../shared/data/garden-city.gpkg"
    out = sys.argv[2] if len(sys.argv) > 2 else "quickstart-day.png"
    city = gardencity.City.from_geopackage(path)
    print(city)
    # The reference workload: bursts every 300 min lasting 55 min, a ping every 7 min.
    run = gardencity.simulate(
        city=city,
        agents=50,
        start="2024-01-01T07:00",
        days=7,
        tz="Etc/GMT+4",
        seed=1,
        sampling={"beta_start": 300.0, "beta_durations": 55.0, "beta_ping": 7.0, "ha": 11.5 / 15},
        coords="blocks",
    )
    pings = run.sparse.to_pandas()
    diary = run.diaries.to_pandas()
    print(f"{len(pings)} sparse pings, {len(diary)} diary rows for {pings.user_id.nunique()} agents")

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    user = pings.user_id.iloc[0]
    day = pings.datetime.dt.date.min()
    mine = pings[(pings.user_id == user) & (pings.datetime.dt.date == day)]
    buildings, streets = city.to_geodataframes() if _has_geopandas() else (None, None)
    fig, ax = plt.subplots(figsize=(6, 6))
    if buildings is not None:
        streets.plot(ax=ax, color="#dddddd")
        buildings.plot(ax=ax, column="building_type", alpha=0.6, legend=True)
    ax.plot(mine.x, mine.y, "-o", color="crimson", markersize=3, linewidth=0.8, label=f"{user}, {day}")
    ax.set_aspect("equal")
    ax.legend(loc="upper left", fontsize=8)
    fig.savefig(out, dpi=120)
    print(f"wrote {out}")
    stays = diary[(diary.user_id == user) & diary.location.notna()].head(8)
    print(stays[["datetime", "duration", "location"]].to_string(index=False))


def _has_geopandas() -> bool:
    try:
        import geopandas  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
