"""Pickle size and load time of a City with hub gravity (standard pickle), for the
garden city and for random 300 x 300 and 360 x 360 cities (about 16,700 and 24,000
buildings): `python scripts/bench_pickle.py`."""

from __future__ import annotations

import pathlib
import pickle
import sys
import time

import gardencity


def measure(name: str, city: gardencity.City, repeats: int = 20) -> None:
    data = pickle.dumps(city)
    best = float("inf")
    for _ in range(repeats):
        t = time.perf_counter()
        back = pickle.loads(data)
        best = min(best, time.perf_counter() - t)
    assert back == city
    print(f"{name}: {city.n_buildings} buildings, gravity {city.gravity}; pickle {len(data) / 1e6:.3f} MB, "
          f"pickle.loads {best * 1e3:.1f} ms (best of {repeats})")


def main() -> None:
    root = pathlib.Path(__file__).resolve().parents[1]
    garden = root.parent / "shared" / "data" / "garden-city.gpkg"
    if garden.exists():
        city = gardencity.City.from_geopackage(garden)
        city.compute_gravity()
        measure("garden city", city)
    else:
        print(f"{garden} missing: garden city skipped", file=sys.stderr)
    for side in (300, 360):
        big = gardencity.City.random(side, side, seed=1)
        t = time.perf_counter()
        big.compute_gravity()
        print(f"random {side}x{side}: gravity computed in {time.perf_counter() - t:.2f} s")
        measure(f"random {side}x{side}", big)


if __name__ == "__main__":
    main()
