//! Every error kind of the city reader and the writer, on small files the tests make.

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::{BuildingIdx, CityError};
use gardencity_io::gpkg::{
    encode_geometry, read_city, write_city, Column, GeometryType, GpkgError, GpkgErrorKind, GpkgWriter, Value,
    WriteOptions, SRS_LOCAL_UNDEFINED,
};
use std::path::{Path, PathBuf};

/// A valid city file in a fresh directory, and the directory guard.
fn city_file() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("city.gpkg");
    let city = random_city(&RandomCityParams { width: 20, height: 20, seed: 5, ..Default::default() }).unwrap();
    write_city(&city, &path, &WriteOptions::default()).unwrap();
    (dir, path)
}

fn sql(path: &Path, statements: &str) {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.execute_batch(statements).unwrap();
}

/// The id of building fid 2.
fn id_of_fid2(path: &Path) -> String {
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.query_row("SELECT id FROM buildings WHERE fid = 2", [], |r| r.get(0)).unwrap()
}

/// The error and its source chain, as a CLI prints it.
fn chain(err: &GpkgError) -> String {
    let mut msg = err.to_string();
    let mut src = std::error::Error::source(err);
    while let Some(s) = src {
        msg.push_str(": ");
        msg.push_str(&s.to_string());
        src = s.source();
    }
    msg
}

fn assert_mentions(err: &GpkgError, parts: &[&str]) {
    let msg = chain(err);
    for p in parts {
        assert!(msg.contains(p), "error {msg:?} should mention {p:?}");
    }
}

#[test]
fn missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nope.gpkg");
    let err = read_city(&path).unwrap_err();
    assert!(matches!(err.kind(), GpkgErrorKind::Io { .. }), "{err:?}");
    assert_mentions(&err, &["nope.gpkg", "cannot access", "No such file"]);
    assert_eq!(chain(&err).matches("No such file").count(), 1, "cause printed once: {}", chain(&err));
}

#[test]
fn not_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("text.gpkg");
    std::fs::write(&path, "id,x,y\n1,2,3\n").unwrap();
    let err = read_city(&path).unwrap_err();
    assert!(matches!(err.kind(), GpkgErrorKind::NotSqlite { .. }), "{err:?}");
    assert_mentions(&err, &["text.gpkg", "not an SQLite database"]);
    // A short file too.
    std::fs::write(&path, "GP").unwrap();
    assert!(matches!(read_city(&path).unwrap_err().kind(), GpkgErrorKind::NotSqlite { .. }));
}

#[test]
fn not_a_geopackage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("plain.sqlite");
    sql(&path, "CREATE TABLE buildings (id TEXT); INSERT INTO buildings VALUES ('a');");
    let err = read_city(&path).unwrap_err();
    assert!(matches!(err.kind(), GpkgErrorKind::NotGeoPackage { .. }), "{err:?}");
    assert_mentions(&err, &["plain.sqlite", "not a GeoPackage", "gpkg_contents"]);
    // An empty file is a valid (empty) SQLite database, but no GeoPackage.
    let empty = dir.path().join("empty.gpkg");
    std::fs::write(&empty, b"").unwrap();
    assert!(matches!(read_city(&empty).unwrap_err().kind(), GpkgErrorKind::NotGeoPackage { .. }));
}

#[test]
fn missing_layer() {
    let (_d, path) = city_file();
    sql(&path, "DELETE FROM gpkg_geometry_columns WHERE table_name = 'streets'; DELETE FROM gpkg_contents WHERE table_name = 'streets'; DROP TABLE streets;");
    let err = read_city(&path).unwrap_err();
    match err.kind() {
        GpkgErrorKind::MissingLayer { layer, available, .. } => {
            assert_eq!(layer, "streets");
            assert_eq!(available, "buildings, city_properties");
        }
        e => panic!("expected MissingLayer, got {e:?}"),
    }
    assert_mentions(&err, &["city.gpkg", "no layer \"streets\""]);
}

#[test]
fn dropped_table_still_listed_in_gpkg_contents() {
    // Only the table is dropped: the list of layers comes from the real tables, and the
    // stale gpkg_contents entry is pointed out.
    let (_d, path) = city_file();
    sql(&path, "DROP TABLE streets;");
    let err = read_city(&path).unwrap_err();
    match err.kind() {
        GpkgErrorKind::MissingLayer { layer, available, .. } => {
            assert_eq!(layer, "streets");
            assert_eq!(
                available,
                "buildings, city_properties; gpkg_contents still lists \"streets\", but its table is gone"
            );
        }
        e => panic!("expected MissingLayer, got {e:?}"),
    }
    assert!(!err.to_string().contains("present: buildings, streets"), "{err}");
}

#[test]
fn missing_column() {
    let (_d, path) = city_file();
    sql(&path, "ALTER TABLE buildings DROP COLUMN door_cell_y;");
    let err = read_city(&path).unwrap_err();
    match err.kind() {
        GpkgErrorKind::MissingColumn { layer, column, .. } => {
            assert_eq!((layer.as_str(), column.as_str()), ("buildings", "door_cell_y"))
        }
        e => panic!("expected MissingColumn, got {e:?}"),
    }
    assert_mentions(&err, &["city.gpkg", "buildings", "door_cell_y", "street cell"]);
}

#[test]
fn geometry_of_the_wrong_type() {
    let (_d, path) = city_file();
    let id = id_of_fid2(&path);
    let (point, _) = encode_geometry(&geo_types::Geometry::Point(geo_types::Point::new(3.5, 3.5)), SRS_LOCAL_UNDEFINED);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE buildings SET geom = ?1 WHERE fid = 2", [point]).unwrap();
    drop(conn);
    let err = read_city(&path).unwrap_err();
    assert!(matches!(err.kind(), GpkgErrorKind::BadGeometry { .. }), "{err:?}");
    let feature = format!("fid 2 (id {id})");
    assert_mentions(&err, &["city.gpkg", "buildings", &feature, "geom", "Polygon or MultiPolygon", "found Point"]);
}

#[test]
fn null_and_garbage_geometry() {
    let (_d, path) = city_file();
    sql(&path, "UPDATE buildings SET geom = NULL WHERE fid = 2;");
    let err = read_city(&path).unwrap_err();
    assert!(matches!(err.kind(), GpkgErrorKind::BadGeometry { .. }), "{err:?}");
    assert_mentions(&err, &["fid 2", "found NULL"]);
    sql(&path, "UPDATE buildings SET geom = X'475000019f8601000103000000' WHERE fid = 2;");
    let err = read_city(&path).unwrap_err();
    assert_mentions(&err, &["fid 2", "undecodable"]);
    sql(&path, "UPDATE buildings SET geom = 'POLYGON ((0 0, 1 0, 1 1, 0 0))' WHERE fid = 2;");
    let err = read_city(&path).unwrap_err();
    assert_mentions(&err, &["fid 2", "GeoPackage binary geometry", "found text"]);
}

#[test]
fn bad_building_type_and_values() {
    let (_d, path) = city_file();
    let id = id_of_fid2(&path);
    sql(&path, "UPDATE buildings SET building_type = 'castle' WHERE fid = 2;");
    let err = read_city(&path).unwrap_err();
    match err.kind() {
        GpkgErrorKind::BadValue { layer, feature, column, found, .. } => {
            assert_eq!(layer, "buildings");
            assert_eq!(feature, &format!("fid 2 (id {id})"));
            assert_eq!(column, "building_type");
            assert_eq!(found, "\"castle\"");
        }
        e => panic!("expected BadValue, got {e:?}"),
    }
    assert_mentions(&err, &["home, workplace, retail, park or other"]);

    let (_d2, path) = city_file();
    sql(&path, "UPDATE buildings SET door_cell_x = 'three' WHERE fid = 3;");
    let err = read_city(&path).unwrap_err();
    assert_mentions(&err, &["fid 3", "door_cell_x", "expected an integer", "found text \"three\""]);

    let (_d3, path) = city_file();
    sql(&path, "UPDATE buildings SET size = size + 1 WHERE fid = 1;");
    let err = read_city(&path).unwrap_err();
    assert_mentions(&err, &["fid 1", "size", "number of blocks of the geometry"]);

    let (_d4, path) = city_file();
    sql(&path, "UPDATE streets SET coord_y = NULL WHERE fid = 4;");
    let err = read_city(&path).unwrap_err();
    assert_mentions(&err, &["streets", "fid 4 (id s-", "coord_y", "found NULL"]);
}

#[test]
fn door_not_next_to_its_building() {
    let (_d, path) = city_file();
    let id = id_of_fid2(&path);
    // Move the door to street cell (0, 0), far from any building of a 20x20 city with blocks >= 1.
    sql(&path, "UPDATE buildings SET door_cell_x = 0, door_cell_y = 0 WHERE fid = 2;");
    let err = read_city(&path).unwrap_err();
    match err.kind() {
        GpkgErrorKind::InvalidCity { layer, feature, source, .. } => {
            assert_eq!(layer, "buildings");
            assert_eq!(feature, &format!("fid 2 (id {id})"));
            assert!(matches!(source, CityError::BadDoor { x: 0, y: 0, .. }), "{source:?}");
        }
        e => panic!("expected InvalidCity, got {e:?}"),
    }
    assert_mentions(&err, &["city.gpkg", "invalid city", "not 4-adjacent"]);
    assert_eq!(chain(&err).matches("not 4-adjacent").count(), 1, "cause printed once: {}", chain(&err));
    // The cause chain keeps the CityError.
    let src = std::error::Error::source(&err).expect("source");
    assert!(src.to_string().contains("door cell (0, 0)"), "{src}");
}

#[test]
fn overlapping_buildings() {
    let (_d, path) = city_file();
    // fid 3 becomes a copy of fid 1 (geometry, size, door) under its own id.
    sql(
        &path,
        "UPDATE buildings SET (geom, size, door_cell_x, door_cell_y, door_point_x, door_point_y) = \
         (SELECT geom, size, door_cell_x, door_cell_y, door_point_x, door_point_y FROM buildings WHERE fid = 1) \
         WHERE fid = 3;",
    );
    let err = read_city(&path).unwrap_err();
    match err.kind() {
        GpkgErrorKind::InvalidCity { feature, source, .. } => {
            assert!(feature.starts_with("fid 3 (id "), "{feature}");
            assert!(matches!(source, CityError::Overlap { .. }), "{source:?}");
        }
        e => panic!("expected InvalidCity, got {e:?}"),
    }
}

#[test]
fn multipolygon_buildings_are_read() {
    // A hand-made file: one building as a MultiPolygon of two adjacent unit squares.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("multi.gpkg");
    let mut w = GpkgWriter::create(&path, false).unwrap();
    w.add_features_table(
        "buildings",
        GeometryType::MultiPolygon,
        SRS_LOCAL_UNDEFINED,
        &[
            Column::text("id"),
            Column::text("building_type"),
            Column::integer("door_cell_x"),
            Column::integer("door_cell_y"),
        ],
    )
    .unwrap();
    let sq = |x: f64, y: f64| {
        geo_types::Polygon::new(
            geo_types::LineString::from(vec![(x, y), (x + 1.0, y), (x + 1.0, y + 1.0), (x, y + 1.0), (x, y)]),
            vec![],
        )
    };
    let g = geo_types::Geometry::MultiPolygon(geo_types::MultiPolygon(vec![sq(1.0, 1.0), sq(2.0, 1.0)]));
    w.insert_feature("buildings", Some(&g), &["r-x1-y1".into(), "retail".into(), 1.into(), 0.into()]).unwrap();
    w.add_features_table(
        "streets",
        GeometryType::Polygon,
        SRS_LOCAL_UNDEFINED,
        &[Column::integer("coord_x"), Column::integer("coord_y")],
    )
    .unwrap();
    for x in 0..4 {
        w.insert_feature("streets", None, &[Value::from(x), Value::from(0)]).unwrap();
    }
    w.commit().unwrap();
    let city = read_city(&path).unwrap();
    // No city_properties: size from the extent, name from the file stem.
    assert_eq!((city.width(), city.height(), city.name()), (4, 2, "multi"));
    let b = city.building(BuildingIdx(0));
    assert_eq!(b.blocks, [gardencity::Cell::new(1, 1), gardencity::Cell::new(2, 1)]);
    assert_eq!(b.door_point, gardencity::Point::new(1.5, 1.0));
}

#[test]
fn writer_usage_errors_leave_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("w.gpkg");
    {
        let mut w = GpkgWriter::create(&path, false).unwrap();
        w.add_attributes_table("hub_distances", &[Column::integer("n_hubs"), Column::real("hub_dist_flat")]).unwrap();
        let e = w.insert_row("hub_distances", &[Value::from(1)]).unwrap_err();
        assert_mentions(&e, &["2 value columns, 1 values given"]);
        let e = w.insert_row("hubs", &[]).unwrap_err();
        assert_mentions(&e, &["\"hubs\" was not added"]);
        let e = w.insert_feature("hub_distances", None, &[Value::Null, Value::Null]).unwrap_err();
        assert_mentions(&e, &["attribute table"]);
        let e = w.add_attributes_table("gpkg_evil", &[]).unwrap_err();
        assert_mentions(&e, &["invalid table name"]);
        let e = w.add_attributes_table("x", &[Column::integer("fid")]).unwrap_err();
        assert_mentions(&e, &["reserved"]);
        assert_eq!(w.insert_row("hub_distances", &[Value::from(1), Value::from(2.5)]).unwrap(), 1);
        // Dropped without commit.
    }
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0, "no output and no temporary file");
}

#[test]
fn attribute_tables_can_be_added_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("attrs.gpkg");
    let mut w = GpkgWriter::create(&path, false).unwrap();
    w.add_attributes_table("nearby_doors", &[Column::text("bid_i"), Column::text("bid_j"), Column::real("dist")])
        .unwrap();
    for i in 0..3 {
        w.insert_row("nearby_doors", &[format!("h-{i}").into(), "r-x".into(), (i as f64 * 1.5).into()]).unwrap();
    }
    w.commit().unwrap();
    let r = gardencity_io::gpkg::GpkgReader::open(&path).unwrap();
    assert_eq!(r.layers().unwrap(), ["nearby_doors"]);
    assert_eq!(r.geometry_column("nearby_doors").unwrap(), None);
    let mut rows = Vec::new();
    r.for_each_row("nearby_doors", &["bid_i", "dist"], |row| {
        rows.push((row.fid(), row.text("bid_i")?, row.f64("dist")?));
        Ok(())
    })
    .unwrap();
    assert_eq!(rows, [(1, "h-0".to_string(), 0.0), (2, "h-1".into(), 1.5), (3, "h-2".into(), 3.0)]);
    let e = r.for_each_row("nearby_doors", &["nope"], |_| Ok(())).unwrap_err();
    assert!(matches!(e.kind(), GpkgErrorKind::MissingColumn { .. }), "{e:?}");
    let conn = rusqlite::Connection::open(&path).unwrap();
    let dt: String = conn.query_row("SELECT data_type FROM gpkg_contents", [], |r| r.get(0)).unwrap();
    assert_eq!(dt, "attributes");
}

#[test]
fn grid_sizes_from_the_file_are_checked_before_allocating() {
    // A building polygon spanning 10^18 blocks: refused, not enumerated.
    let (_d, path) = city_file();
    let huge = geo_types::Geometry::Polygon(geo_types::Polygon::new(
        geo_types::LineString::from(vec![(0.0, 0.0), (1e9, 0.0), (1e9, 1e9), (0.0, 1e9), (0.0, 0.0)]),
        vec![],
    ));
    let (blob, _) = encode_geometry(&huge, SRS_LOCAL_UNDEFINED);
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute("UPDATE buildings SET geom = ?1 WHERE fid = 2", [blob]).unwrap();
    drop(conn);
    let err = read_city(&path).unwrap_err();
    assert!(matches!(err.kind(), GpkgErrorKind::BadGeometry { .. }), "{err:?}");
    assert_mentions(&err, &["fid 2", "at most 2147483647 blocks", "spans about"]);
    // width x height in city_properties beyond what a grid can index.
    let (_d, path) = city_file();
    sql(&path, "UPDATE city_properties SET width = 50000, height = 50000;");
    let err = read_city(&path).unwrap_err();
    assert_mentions(&err, &["city_properties", "50000 x 50000", "2500000000 blocks", "10.0 GB"]);
}
