//! write_city -> read_city gives back an identical City; file-level GeoPackage checks.

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::{BuildingIdx, BuildingSpec, BuildingType, Cell, City, CityParts, Georeference, Point};
use gardencity_io::gpkg::{read_city, write_city, GpkgErrorKind, GpkgReader, WriteOptions};
use geo_types::Geometry;

fn roundtrip(city: &City) -> City {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("city.gpkg");
    write_city(city, &path, &WriteOptions::default()).unwrap();
    let back = read_city(&path).unwrap();
    // No temporary file left beside the output.
    let names: Vec<String> =
        std::fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().file_name().into_string().unwrap()).collect();
    assert_eq!(names, ["city.gpkg"]);
    back
}

#[test]
fn garden_city_roundtrip_is_identical() {
    let Some(path) = gardencity_testkit::shared_data("garden-city.gpkg") else { return };
    let city = read_city(&path).unwrap();
    assert_eq!(roundtrip(&city), city);
}

#[test]
fn random_cities_roundtrip_identically() {
    for (w, h, spacing, seed) in [(50, 50, 5, 1), (37, 23, 4, 2), (64, 41, 7, 3), (9, 120, 5, 4)] {
        let georef = Georeference {
            block_side: 12.5,
            origin_x: -8_366_000.25,
            origin_y: 4_858_000.125,
            rotation_deg: 17.3,
            rotation_origin: (-8_365_000.5, 4_857_000.75),
        };
        let city = random_city(&RandomCityParams {
            width: w,
            height: h,
            street_spacing: spacing,
            seed,
            georef,
            ..Default::default()
        })
        .unwrap();
        assert!(city.buildings().len() > 10, "{w}x{h}: {} buildings", city.buildings().len());
        let back = roundtrip(&city);
        assert_eq!(back, city, "{w}x{h} seed {seed}");
        assert_eq!(back.boundary_wkt(), None);
        assert_eq!(back.georef().rotation_deg, 17.3);
    }
}

/// A city with an L-shaped home, a ring-shaped (courtyard) workplace and a park,
/// rotated georeference and an explicit boundary.
fn shaped_city() -> City {
    let (w, h) = (12, 10);
    let mut streets = Vec::new();
    for x in 0..w {
        streets.push(Cell::new(x, 0));
    }
    // L: (1,1),(1,2),(1,3),(2,1),(3,1)
    let l_blocks = vec![Cell::new(1, 1), Cell::new(1, 2), Cell::new(1, 3), Cell::new(2, 1), Cell::new(3, 1)];
    // Ring: 3x3 square at x 5..8, y 1..4 without its centre (6, 2).
    let ring_blocks: Vec<Cell> =
        (5..8).flat_map(|x| (1..4).map(move |y| Cell::new(x, y))).filter(|&c| c != Cell::new(6, 2)).collect();
    let park_blocks = vec![Cell::new(9, 1), Cell::new(10, 1), Cell::new(9, 2), Cell::new(10, 2)];
    City::new(CityParts {
        name: "shapes: L, ring and park".into(),
        width: w as u32,
        height: h,
        georef: Georeference {
            block_side: 15.0,
            origin_x: 1000.5,
            origin_y: -2000.25,
            rotation_deg: -33.25,
            rotation_origin: (1100.0, -1900.0),
        },
        streets,
        buildings: vec![
            BuildingSpec {
                id: None,
                kind: BuildingType::Home,
                blocks: l_blocks,
                door: Cell::new(2, 0),
                door_point: None,
            },
            BuildingSpec {
                id: Some("courtyard".into()),
                kind: BuildingType::Workplace,
                blocks: ring_blocks,
                door: Cell::new(6, 0),
                door_point: Some(Point::new(6.5, 1.0)),
            },
            BuildingSpec {
                id: None,
                kind: BuildingType::Park,
                blocks: park_blocks,
                door: Cell::new(10, 0),
                door_point: None,
            },
        ],
        boundary_wkt: Some("POLYGON ((0 0, 12 0, 12 10, 0 10, 0 0))".into()),
    })
    .unwrap()
}

#[test]
fn non_rectangular_buildings_roundtrip_identically() {
    let city = shaped_city();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shapes.gpkg");
    write_city(&city, &path, &WriteOptions::default()).unwrap();
    let back = read_city(&path).unwrap();
    assert_eq!(back, city);
    assert_eq!(back.building(BuildingIdx(1)).size(), 8);
    assert!(!back.building(BuildingIdx(1)).has_block(Cell::new(6, 2)));
    assert_eq!(back.building(BuildingIdx(0)).id, "h-x2-y1");

    // The geometries written: the L is one polygon with 6 corners, the ring a polygon
    // with one hole (the courtyard), bounds in block units.
    let r = GpkgReader::open(&path).unwrap();
    let mut geoms = Vec::new();
    r.for_each_row("buildings", &["geom"], |row| {
        geoms.push(row.geometry("geom")?);
        Ok(())
    })
    .unwrap();
    let Geometry::Polygon(l) = &geoms[0] else { panic!("L is a polygon: {:?}", geoms[0]) };
    assert_eq!(l.exterior().0.len(), 7, "6 corners + closing vertex");
    assert!(l.interiors().is_empty());
    let Geometry::Polygon(ring) = &geoms[1] else { panic!("ring is a polygon") };
    assert_eq!(ring.interiors().len(), 1);
    let hole: Vec<(f64, f64)> = ring.interiors()[0].0.iter().map(|c| (c.x, c.y)).collect();
    for (x, y) in &hole {
        assert!((6.0..=7.0).contains(x) && (2.0..=3.0).contains(y), "hole vertex ({x}, {y})");
    }
    assert_eq!(hole.len(), 5);
}

#[test]
fn file_has_geopackage_metadata() {
    let city = shaped_city();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("meta.gpkg");
    write_city(&city, &path, &WriteOptions::default()).unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    let app: i64 = conn.query_row("PRAGMA application_id", [], |r| r.get(0)).unwrap();
    let ver: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0)).unwrap();
    assert_eq!(app, 0x4750_4B47);
    assert_eq!(ver, 10200);
    let srs: Vec<i64> = conn
        .prepare("SELECT srs_id FROM gpkg_spatial_ref_sys ORDER BY srs_id")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(srs, [-1, 0, 4326, 99999]);
    let contents: Vec<(String, String, i64, f64, f64, f64, f64)> = conn
        .prepare("SELECT table_name, data_type, srs_id, min_x, min_y, max_x, max_y FROM gpkg_contents ORDER BY rowid")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?, r.get(5)?, r.get(6)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        contents,
        [
            ("buildings".into(), "features".into(), 99999, 1.0, 1.0, 11.0, 4.0),
            ("streets".into(), "features".into(), 99999, 0.0, 0.0, 12.0, 1.0),
            ("city_properties".into(), "features".into(), 99999, 0.0, 0.0, 12.0, 10.0),
        ]
    );
    let gc: Vec<(String, String, String)> = conn
        .prepare("SELECT table_name, column_name, geometry_type_name FROM gpkg_geometry_columns ORDER BY table_name")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(gc[0], ("buildings".into(), "geom".into(), "POLYGON".into()));
    // Header of the ring building: "GP", version 0, flags 0b011 (XY envelope, LE), srs 99999,
    // envelope [minx, maxx, miny, maxy] = [5, 8, 1, 4].
    let blob: Vec<u8> = conn.query_row("SELECT geom FROM buildings WHERE fid = 2", [], |r| r.get(0)).unwrap();
    assert_eq!(&blob[..4], b"GP\x00\x03");
    assert_eq!(i32::from_le_bytes(blob[4..8].try_into().unwrap()), 99999);
    let env: Vec<f64> = (0..4).map(|i| f64::from_le_bytes(blob[8 + 8 * i..16 + 8 * i].try_into().unwrap())).collect();
    assert_eq!(env, [5.0, 8.0, 1.0, 4.0]);
    assert_eq!(blob[40], 1, "little-endian WKB");
    assert_eq!(u32::from_le_bytes(blob[41..45].try_into().unwrap()), 3, "WKB polygon");
    let ids: Vec<String> = conn
        .prepare("SELECT id FROM streets ORDER BY fid LIMIT 2")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(ids, ["s-x0-y0", "s-x1-y0"]);
}

#[test]
fn overwrite_is_refused_unless_asked() {
    let city = shaped_city();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.gpkg");
    std::fs::write(&path, b"precious").unwrap();
    let err = write_city(&city, &path, &WriteOptions::default()).unwrap_err();
    assert!(matches!(err.kind(), GpkgErrorKind::Exists { .. }), "{err}");
    assert!(err.to_string().contains("c.gpkg"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), b"precious");
    write_city(&city, &path, &WriteOptions { overwrite: true }).unwrap();
    assert_eq!(read_city(&path).unwrap(), city);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn write_into_missing_directory_fails_without_output() {
    let city = shaped_city();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("no/such/dir/c.gpkg");
    let err = write_city(&city, &path, &WriteOptions::default()).unwrap_err();
    assert!(err.to_string().contains("c.gpkg"), "{err}");
    assert!(!path.exists());
}
