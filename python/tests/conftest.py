"""Shared fixtures: the shared data directory (beside the repository) and small cities."""

from __future__ import annotations

import os
import pathlib

import pytest

import gardencity

ROOT = pathlib.Path(__file__).resolve().parents[2]
SHARED = ROOT.parent / "shared" / "data"


def shared_file(name: str) -> pathlib.Path:
    """``../shared/data/NAME``; skipped when ../shared is absent (fails under CI)."""
    p = SHARED / name
    if not p.exists():
        if os.environ.get("CI"):
            pytest.fail(f"{p} is missing (CI needs ../shared/data)")
        pytest.skip(f"{p} is missing")
    return p


@pytest.fixture(scope="session")
def garden_city_path() -> pathlib.Path:
    """The NOMAD garden city GeoPackage."""
    return shared_file("garden-city.gpkg")


@pytest.fixture(scope="session")
def small_city() -> gardencity.City:
    """A 30 x 30 random city with hub gravity."""
    city = gardencity.City.random(30, 30, seed=3, origin=(-4_265_699.0, 4_392_976.0))
    city.compute_gravity()
    return city
