"""City: builders, GeoPackage, snapshot and pickle round trips, GeoDataFrames, errors."""

from __future__ import annotations

import pickle

import pytest

import gardencity


def test_random_city_sizes_and_repr(small_city: gardencity.City) -> None:
    assert (small_city.width, small_city.height) == (30, 30)
    assert small_city.n_buildings == sum(small_city.building_counts.values()) > 10
    assert small_city.gravity is not None and small_city.gravity["mode"] == "hub_proxy"
    text = repr(small_city)
    assert "30 x 30 blocks" in text and "hub_proxy gravity" in text


def test_geopackage_round_trip_with_gravity(small_city: gardencity.City, tmp_path) -> None:
    path = tmp_path / "city.gpkg"
    small_city.to_geopackage(path)
    back = gardencity.City.from_geopackage(path)
    assert back == small_city
    with pytest.raises(gardencity.GardencityError, match="exists"):
        small_city.to_geopackage(path)
    small_city.to_geopackage(path, overwrite=True)
    assert gardencity.City.from_geopackage(path, gravity=False).gravity is None


def test_snapshot_and_pickle_round_trips(small_city: gardencity.City) -> None:
    assert gardencity.City.from_snapshot(small_city.snapshot()) == small_city
    data = pickle.dumps(small_city)
    back = pickle.loads(data)
    assert back == small_city and back.gravity == small_city.gravity
    # The pickle is the snapshot, not a copy of the city's tables.
    assert len(data) < len(small_city.snapshot()) + 200


def test_unpickled_city_gives_identical_data(small_city: gardencity.City) -> None:
    back = pickle.loads(pickle.dumps(small_city))
    a = gardencity.simulate(city=small_city, agents=8, days=1, seed=4, progress=False)
    b = gardencity.simulate(city=back, agents=8, days=1, seed=4, progress=False)
    assert a.sparse.equals(b.sparse) and a.diaries.equals(b.diaries) and a.homes.equals(b.homes)


def test_garden_city_loads(garden_city_path) -> None:
    city = gardencity.City.from_geopackage(garden_city_path)
    assert (city.width, city.height, city.n_buildings, city.n_streets) == (22, 22, 106, 224)
    assert city.building_counts == {"home": 20, "workplace": 31, "retail": 54, "park": 1}


def test_rasterize_the_old_city_fixture() -> None:
    from conftest import shared_file

    city = gardencity.City.rasterize(shared_file("city_fixture.gpkg"), resolve_overlaps=True)
    assert (city.width, city.height, city.n_streets, city.n_buildings) == (99, 85, 1242, 110)
    assert city.building_counts == {"home": 34, "workplace": 12, "retail": 34, "park": 30}
    with pytest.raises(ValueError, match="rotate"):
        gardencity.City.rasterize(shared_file("city_fixture.gpkg"), rotate="sideways")
    with pytest.raises(ValueError, match="block_side"):
        gardencity.City.rasterize(shared_file("city_fixture.gpkg"), block_side=-1.0)


def test_from_osm_reads_the_whole_extract_or_a_bbox() -> None:
    from conftest import shared_file

    path = shared_file("helsinki.osm.pbf")
    whole = gardencity.City.from_osm(path)
    part = gardencity.City.from_osm(path, bbox=(24.935, 60.164, 24.945, 60.172))
    assert whole.n_buildings > part.n_buildings > 0
    assert whole.width * whole.height > part.width * part.height
    with pytest.raises(gardencity.GardencityError, match="boundary"):
        gardencity.City.from_osm(path, bbox=(2.0, 48.0, 2.1, 48.1))


def test_geodataframes_have_nomads_columns(small_city: gardencity.City) -> None:
    gpd = pytest.importorskip("geopandas")
    buildings, streets = small_city.to_geodataframes()
    assert isinstance(buildings, gpd.GeoDataFrame)
    assert list(buildings.columns) == [
        "id", "building_type", "door_cell_x", "door_cell_y", "size", "door_point_x", "door_point_y", "geometry",
    ]
    assert len(buildings) == small_city.n_buildings and len(streets) == small_city.n_streets
    # Geometry areas are the building sizes (block units).
    assert (buildings.geometry.area.round(9) == buildings["size"]).all()
    assert list(streets.columns) == ["coord_x", "coord_y", "id", "geometry"]


def test_bad_snapshots_and_files_raise(small_city: gardencity.City, tmp_path) -> None:
    snap = small_city.snapshot()
    for bad in (snap[:-7], snap[:10], b"", b"GCSNAP" + bytes(50)):
        with pytest.raises(gardencity.GardencityError):
            gardencity.City.from_snapshot(bad)
    tampered = bytearray(snap)
    tampered[len(tampered) // 2] ^= 0xFF
    with pytest.raises(gardencity.GardencityError):
        gardencity.City.from_snapshot(bytes(tampered))
    with pytest.raises(gardencity.GardencityError):
        pickle.loads(pickle.dumps(small_city).replace(snap[100:140], bytes(40)))
    with pytest.raises(FileNotFoundError, match="missing.gpkg"):
        gardencity.City.from_geopackage(tmp_path / "missing.gpkg")
    not_a_city = tmp_path / "x.gpkg"
    not_a_city.write_text("hello")
    with pytest.raises(gardencity.GardencityError, match="x.gpkg"):
        gardencity.City.from_geopackage(not_a_city)
    with pytest.raises(TypeError):
        gardencity.City.random("wide", 10)  # type: ignore[arg-type]
    with pytest.raises(gardencity.GardencityError):
        gardencity.City.random(0, 10)
