//! Small inputs made by the tests themselves: exact rasterizer results, and bad input
//! giving typed errors or report counts (never a panic).

use gardencity::city::{BuildingType, Cell};
use gardencity_io::gpkg::GpkgErrorKind;
use gardencity_osm::{
    extract_extent, rasterize, read_osm_pbf, read_raster_input_gpkg, Categories, InputError, InputOptions, OsmBoundary,
    OsmError, OsmOptions, RasterError, RasterParams,
};
use gardencity_testkit::shared_data;
use rusqlite::Connection;
use std::path::Path;

/// A GeoPackage geometry blob: "GP" header without envelope, then little-endian WKB.
fn gpkg_blob(srs: i32, wkb: &[u8]) -> Vec<u8> {
    let mut b = vec![b'G', b'P', 0, 0b0000_0001];
    b.extend(srs.to_le_bytes());
    b.extend(wkb);
    b
}

fn wkb_ring(out: &mut Vec<u8>, pts: &[(f64, f64)]) {
    out.extend((pts.len() as u32).to_le_bytes());
    for (x, y) in pts {
        out.extend(x.to_le_bytes());
        out.extend(y.to_le_bytes());
    }
}

fn wkb_polygon(pts: &[(f64, f64)]) -> Vec<u8> {
    let mut b = vec![1];
    b.extend(3u32.to_le_bytes());
    b.extend(1u32.to_le_bytes());
    wkb_ring(&mut b, pts);
    b
}

fn wkb_line(pts: &[(f64, f64)]) -> Vec<u8> {
    let mut b = vec![1];
    b.extend(2u32.to_le_bytes());
    wkb_ring(&mut b, pts);
    b
}

fn wkb_point(x: f64, y: f64) -> Vec<u8> {
    let mut b = vec![1];
    b.extend(1u32.to_le_bytes());
    b.extend(x.to_le_bytes());
    b.extend(y.to_le_bytes());
    b
}

fn rect(x0: f64, y0: f64, x1: f64, y1: f64) -> Vec<(f64, f64)> {
    vec![(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
}

/// Writes a GeoPackage with the three layers; `srs` is (srs_id, organization, code).
fn write_gpkg(
    path: &Path,
    srs: (i32, &str, i32),
    buildings: &[(Vec<u8>, &str)],
    streets: &[Vec<u8>],
    boundary: &[Vec<u8>],
) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(
        "CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT, srs_id INTEGER PRIMARY KEY, organization TEXT,
           organization_coordsys_id INTEGER, definition TEXT, description TEXT);
         CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT, geometry_type_name TEXT,
           srs_id INTEGER, z TINYINT, m TINYINT);
         CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT, identifier TEXT,
           description TEXT, last_change DATETIME, min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE,
           srs_id INTEGER);
         CREATE TABLE buildings (fid INTEGER PRIMARY KEY, geom BLOB, building_type TEXT);
         CREATE TABLE streets (fid INTEGER PRIMARY KEY, geometry BLOB, highway TEXT);
         CREATE TABLE boundary (fid INTEGER PRIMARY KEY, geom BLOB);",
    )
    .unwrap();
    c.execute("INSERT INTO gpkg_spatial_ref_sys VALUES ('x', ?1, ?2, ?3, 'undefined', '')", (srs.0, srs.1, srs.2))
        .unwrap();
    for (t, col, ty) in
        [("buildings", "geom", "GEOMETRY"), ("streets", "geometry", "LINESTRING"), ("boundary", "geom", "POLYGON")]
    {
        c.execute("INSERT INTO gpkg_geometry_columns VALUES (?1, ?2, ?3, ?4, 0, 0)", (t, col, ty, srs.0)).unwrap();
        c.execute("INSERT INTO gpkg_contents (table_name, data_type, srs_id) VALUES (?1, 'features', ?2)", (t, srs.0))
            .unwrap();
    }
    for (g, t) in buildings {
        c.execute("INSERT INTO buildings (geom, building_type) VALUES (?1, ?2)", (gpkg_blob(srs.0, g), t)).unwrap();
    }
    for g in streets {
        c.execute("INSERT INTO streets (geometry, highway) VALUES (?1, 'residential')", [gpkg_blob(srs.0, g)]).unwrap();
    }
    for g in boundary {
        c.execute("INSERT INTO boundary (geom) VALUES (?1)", [gpkg_blob(srs.0, g)]).unwrap();
    }
}

const MERC: (i32, &str, i32) = (3857, "EPSG", 3857);

/// A 10 x 10 block area (15 m blocks) with a street along row 0 and one along column 0.
fn small_city(dir: &Path, buildings: &[(Vec<u8>, &str)]) -> std::path::PathBuf {
    let p = dir.join("in.gpkg");
    write_gpkg(
        &p,
        MERC,
        buildings,
        &[wkb_line(&[(1.0, 7.5), (149.0, 7.5)]), wkb_line(&[(7.5, 1.0), (7.5, 149.0)])],
        &[wkb_polygon(&rect(0.0, 0.0, 150.0, 150.0))],
    );
    p
}

#[test]
fn small_city_rasterizes_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let p = small_city(
        dir.path(),
        &[
            // A home covering blocks x 2..=3, y 1..=2 (strictly inside).
            (wkb_polygon(&rect(31.0, 16.0, 59.0, 44.0)), "home"),
            // A park over the same blocks and one more: the park wins the shared blocks.
            (wkb_polygon(&rect(46.0, 16.0, 74.0, 29.0)), "park"),
            // A point and a line in the building layer: skipped and counted.
            (wkb_point(100.0, 100.0), "retail"),
            (wkb_line(&[(100.0, 100.0), (120.0, 120.0)]), "retail"),
            // An unknown type and an `other` building, filtered.
            (wkb_polygon(&rect(91.0, 91.0, 104.0, 104.0)), "castle"),
            // A building with no street next to it: dropped for want of a door.
            (wkb_polygon(&rect(121.0, 121.0, 134.0, 134.0)), "workplace"),
        ],
    );
    let input = read_raster_input_gpkg(&p, &InputOptions::default()).unwrap();
    assert_eq!(input.report.non_polygon_buildings, 2);
    assert_eq!(input.report.unknown_types, 1);
    let (city, report) = rasterize(&input, &RasterParams::default()).unwrap();
    // 150 m / 15 m = 10, and the max edge x = 150 adds one more column: floor(150/15) + 1 - 0.
    assert_eq!((city.width(), city.height()), (11, 11));
    assert_eq!(report.boundary_blocks, 121);
    // Row 0 and column 0, 10 cells each (x, y = 10 is touched only at 150 m by the boundary,
    // not by the lines), sharing (0, 0).
    assert_eq!(city.streets().len(), 19);
    assert_eq!(report.street_components, 1);
    assert_eq!(report.other_filtered, 1);
    assert_eq!(report.no_door, 1);
    assert_eq!(city.buildings().len(), 2);
    let park = &city.buildings()[city.buildings_of_type(BuildingType::Park)[0].index()];
    assert_eq!(park.blocks, vec![Cell::new(3, 1), Cell::new(4, 1)]);
    assert_eq!(park.door, Cell::new(3, 0));
    assert_eq!(park.id, "p-x3-y1");
    let home = &city.buildings()[city.buildings_of_type(BuildingType::Home)[0].index()];
    assert_eq!(home.blocks, vec![Cell::new(2, 1), Cell::new(2, 2), Cell::new(3, 2)]);
    assert_eq!(home.door, Cell::new(2, 0));
    assert_eq!(home.id, "h-x2-y1");
}

#[test]
fn lonlat_input_is_reprojected() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ll.gpkg");
    let (lon, lat) = gardencity::city::mercator_to_lonlat(1000.0, 2000.0);
    let (lon2, lat2) = gardencity::city::mercator_to_lonlat(1150.0, 2150.0);
    write_gpkg(
        &p,
        (4326, "EPSG", 4326),
        &[(wkb_polygon(&rect(lon, lat, lon2, lat2)), "home")],
        &[wkb_line(&[(lon, lat), (lon2, lat)])],
        &[wkb_polygon(&rect(lon, lat, lon2, lat2))],
    );
    let input = read_raster_input_gpkg(&p, &InputOptions::default()).unwrap();
    let c = input.buildings[0].geometry.0[0].exterior().0[2];
    assert!((c.x - 1150.0).abs() < 1e-6 && (c.y - 2150.0).abs() < 1e-6, "{c:?}");
}

#[test]
fn other_crs_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("utm.gpkg");
    let poly = wkb_polygon(&rect(0.0, 0.0, 10.0, 10.0));
    write_gpkg(&p, (32633, "EPSG", 32633), &[(poly.clone(), "home")], &[wkb_line(&[(0.0, 0.0), (1.0, 1.0)])], &[poly]);
    let e = read_raster_input_gpkg(&p, &InputOptions::default()).unwrap_err();
    assert!(
        matches!(&e, InputError::UnsupportedCrs { layer, crs, .. } if layer == "buildings" && crs.contains("32633"))
    );
    assert!(e.to_string().contains("utm.gpkg"), "{e}");
}

#[test]
fn empty_layers_and_missing_names_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("empty.gpkg");
    write_gpkg(&p, MERC, &[], &[], &[wkb_polygon(&rect(0.0, 0.0, 10.0, 10.0))]);
    let e = read_raster_input_gpkg(&p, &InputOptions::default()).unwrap_err();
    assert!(matches!(&e, InputError::EmptyLayer { layer, .. } if layer == "buildings"), "{e}");

    let p2 = dir.path().join("nostreets.gpkg");
    write_gpkg(&p2, MERC, &[(wkb_polygon(&rect(0.0, 0.0, 10.0, 10.0)), "home")], &[], &[]);
    let e = read_raster_input_gpkg(&p2, &InputOptions::default()).unwrap_err();
    assert!(matches!(&e, InputError::EmptyLayer { layer, .. } if layer == "streets"), "{e}");

    let opts = InputOptions { buildings_layer: "houses".into(), ..Default::default() };
    let e = read_raster_input_gpkg(&p, &opts).unwrap_err();
    assert!(
        matches!(&e, InputError::MissingLayer { layer, available, .. } if layer == "houses" && available.contains("buildings"))
    );
    let opts = InputOptions { type_column: Some("kind".into()), ..Default::default() };
    let e = read_raster_input_gpkg(&p, &opts).unwrap_err();
    assert!(matches!(&e, InputError::MissingTypeColumn { column, .. } if column == "kind"), "{e}");
    assert!(e.to_string().contains("--type-column none") && e.to_string().contains("--default-type"), "{e}");
    // Footprints without types: one given type, or the random city's mix (seeded).
    let p3 = dir.path().join("untyped.gpkg");
    let footprints: Vec<_> =
        (0..20).map(|k| (wkb_polygon(&rect(20.0 * k as f64, 0.0, 20.0 * k as f64 + 10.0, 10.0)), "")).collect();
    write_gpkg(&p3, MERC, &footprints, &[wkb_line(&[(0.0, -5.0), (400.0, -5.0)])], &[]);
    let untyped = |u| {
        read_raster_input_gpkg(
            &p3,
            &InputOptions { type_column: None, untyped: u, boundary_layer: None, ..Default::default() },
        )
        .unwrap()
    };
    let parks = untyped(gardencity_osm::UntypedBuildings::Type(BuildingType::Park));
    assert!(!parks.buildings.is_empty() && parks.buildings.iter().all(|b| b.kind == BuildingType::Park));
    let mix = untyped(gardencity_osm::UntypedBuildings::Mix { seed: 4 });
    assert_eq!(mix.buildings.len(), 20);
    assert!(mix.buildings.iter().any(|b| b.kind != mix.buildings[0].kind), "a mix, not one type");
    for (row, b) in mix.buildings.iter().enumerate() {
        assert_eq!(b.kind, gardencity::city::random::mixed_type(4, row as u64));
    }
    assert_eq!(
        "mix".parse::<gardencity_osm::UntypedBuildings>(),
        Ok(gardencity_osm::UntypedBuildings::Mix { seed: 0 })
    );
    assert!("hotel".parse::<gardencity_osm::UntypedBuildings>().unwrap_err().contains("or mix"));
    let e = read_raster_input_gpkg(&dir.path().join("nope.gpkg"), &InputOptions::default()).unwrap_err();
    assert!(matches!(e, InputError::Open { .. }));
    // Not a GeoPackage at all.
    let junk = dir.path().join("junk.gpkg");
    std::fs::write(&junk, b"this is not sqlite").unwrap();
    let e = read_raster_input_gpkg(&junk, &InputOptions::default()).unwrap_err();
    assert!(matches!(&e, InputError::Gpkg(g) if matches!(g.kind(), GpkgErrorKind::NotSqlite { .. })), "{e}");
    // An SQLite file without the GeoPackage tables.
    let bare = dir.path().join("bare.gpkg");
    Connection::open(&bare).unwrap().execute_batch("CREATE TABLE buildings (fid INTEGER PRIMARY KEY);").unwrap();
    let e = read_raster_input_gpkg(&bare, &InputOptions::default()).unwrap_err();
    assert!(matches!(&e, InputError::Gpkg(g) if matches!(g.kind(), GpkgErrorKind::NotGeoPackage { .. })), "{e}");
}

#[test]
fn no_streets_inside_the_boundary_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("far.gpkg");
    write_gpkg(
        &p,
        MERC,
        &[(wkb_polygon(&rect(20.0, 20.0, 40.0, 40.0)), "home")],
        &[wkb_line(&[(1000.0, 1000.0), (2000.0, 1000.0)])],
        &[wkb_polygon(&rect(0.0, 0.0, 150.0, 150.0))],
    );
    let input = read_raster_input_gpkg(&p, &InputOptions::default()).unwrap();
    let e = rasterize(&input, &RasterParams::default()).unwrap_err();
    assert!(matches!(e, RasterError::NoStreets { .. }), "{e}");
    let e = rasterize(&input, &RasterParams { block_side: 0.0, ..Default::default() }).unwrap_err();
    assert!(matches!(e, RasterError::Parameter { name: "block_side", .. }), "{e}");
}

#[test]
fn self_intersecting_polygon_is_counted_not_fatal() {
    let dir = tempfile::tempdir().unwrap();
    // A bow tie over blocks next to the row-0 street.
    let bowtie = vec![(16.0, 16.0), (59.0, 44.0), (59.0, 16.0), (16.0, 44.0), (16.0, 16.0)];
    let p = small_city(dir.path(), &[(wkb_polygon(&bowtie), "retail")]);
    let input = read_raster_input_gpkg(&p, &InputOptions::default()).unwrap();
    assert_eq!(input.report.invalid_polygons, 1);
    let (city, _) = rasterize(&input, &RasterParams::default()).unwrap();
    assert_eq!(city.buildings_of_type(BuildingType::Retail).len(), 1);
}

#[test]
fn door_off_the_network_is_connected_or_building_removed() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("doors.gpkg");
    write_gpkg(
        &p,
        MERC,
        &[
            // Next to a lone street stub at x = 5, rows 4..=5, which is 3 blocks from row 0.
            (wkb_polygon(&rect(91.0, 61.0, 104.0, 89.0)), "home"),
            // Next to a stub far from everything (rows 17..=18 of column 17): unconnectable.
            (wkb_polygon(&rect(271.0, 256.0, 284.0, 284.0)), "retail"),
        ],
        &[
            wkb_line(&[(1.0, 7.5), (299.0, 7.5)]),
            wkb_line(&[(82.5, 61.0), (82.5, 89.0)]),
            wkb_line(&[(262.5, 256.0), (262.5, 284.0)]),
        ],
        &[wkb_polygon(&rect(0.0, 0.0, 299.0, 299.0))],
    );
    let input = read_raster_input_gpkg(&p, &InputOptions::default()).unwrap();
    let (city, report) = rasterize(&input, &RasterParams::default()).unwrap();
    assert_eq!(report.street_components, 3);
    assert_eq!(report.street_blocks_removed, 4);
    assert_eq!(report.doors_connected, 1);
    assert_eq!(report.unconnectable, 1);
    assert_eq!(city.buildings().len(), 1);
    assert_eq!(city.street_components().count(), 1);
    // Door (5, 4) joins row 0 through (5, 3), (5, 2), (5, 1): 4 new street cells.
    assert_eq!(report.street_blocks_added, 4);
    assert_eq!(city.buildings()[0].door, Cell::new(5, 4));
}

#[test]
fn automatic_rotation_recovers_the_grid_angle() {
    use geo::Rotate;
    let dir = tempfile::tempdir().unwrap();
    let p = small_city(dir.path(), &[(wkb_polygon(&rect(31.0, 16.0, 59.0, 44.0)), "home")]);
    let mut input = read_raster_input_gpkg(&p, &InputOptions::default()).unwrap();
    let c = geo::Point::new(75.0, 75.0);
    for s in &mut input.streets {
        s.geometry = s.geometry.rotate_around_point(20.0, c);
    }
    assert!((gardencity_osm::auto_rotation_deg(&input.streets) + 20.0).abs() < 1e-9);
    input.boundary = input.boundary.rotate_around_point(20.0, c);
    for b in &mut input.buildings {
        b.geometry = b.geometry.rotate_around_point(20.0, c);
    }
    let params = RasterParams { rotation: gardencity_osm::Rotation::Auto, ..Default::default() };
    let (city, report) = rasterize(&input, &params).unwrap();
    assert!((report.rotation_deg + 20.0).abs() < 1e-9);
    assert_eq!(city.georef().rotation_deg, report.rotation_deg);
    // Straightened: the two streets are again one row and one column.
    assert_eq!(city.buildings().len(), 1);
    let mode = |v: Vec<i32>| {
        let mut counts = std::collections::BTreeMap::new();
        v.into_iter().for_each(|k| *counts.entry(k).or_insert(0) += 1);
        counts.into_iter().max_by_key(|&(_, n)| n).unwrap().0
    };
    let row = mode(city.streets().iter().map(|s| s.y).collect());
    let col = mode(city.streets().iter().map(|s| s.x).collect());
    assert!(city.streets().iter().all(|s| s.y == row || s.x == col), "{:?}", city.streets());
    // The door point maps back (rotation undone) to within one block diagonal of the
    // input footprint, and far from where it would be without undoing the rotation.
    use geo::{Distance, Euclidean};
    let b = &city.buildings()[0];
    let (x, y) = city.georef().to_mercator(b.door_point);
    let footprint = &input.buildings[0].geometry;
    let d = Euclidean.distance(&geo::Point::new(x, y), footprint);
    assert!(d <= 15.0 * 2f64.sqrt(), "door point ({x}, {y}) is {d} m from the footprint");
    let g = city.georef();
    let unrotated = geo::Point::new(g.origin_x + 15.0 * b.door_point.x, g.origin_y + 15.0 * b.door_point.y);
    assert!(Euclidean.distance(&unrotated, footprint) > d);
}

#[test]
fn truncated_pbf_and_bad_bbox_are_typed_errors() {
    let Some(src) = shared_data("helsinki.osm.pbf") else { return };
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(&src).unwrap();
    let cut = dir.path().join("cut.osm.pbf");
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    let opts = |w, s, e, n| OsmOptions {
        boundary: OsmBoundary::Bbox { west: w, south: s, east: e, north: n },
        categories: Categories::default(),
        infer_residential: false,
        consolidate_streets: false,
    };
    let e = read_osm_pbf(&cut, &opts(24.938, 60.166, 24.950, 60.176)).unwrap_err();
    assert!(matches!(e, OsmError::Pbf { .. }), "{e}");
    let e = read_osm_pbf(&src, &opts(2.0, 48.0, 2.1, 48.1)).unwrap_err();
    assert!(matches!(&e, OsmError::OutsideExtract { extent, .. } if extent.contains("24.9")), "{e}");
    let e = read_osm_pbf(&src, &opts(24.95, 60.166, 24.938, 60.176)).unwrap_err();
    assert!(matches!(e, OsmError::Boundary(_)), "{e}");
    let e = read_osm_pbf(&src, &opts(24.938, 91.0, 24.950, 92.0)).unwrap_err();
    assert!(matches!(e, OsmError::Boundary(_)), "{e}");
    let e = read_osm_pbf(&dir.path().join("none.osm.pbf"), &opts(24.938, 60.166, 24.950, 60.176)).unwrap_err();
    assert!(matches!(e, OsmError::Open { .. }), "{e}");
    let junk = dir.path().join("junk.osm.pbf");
    std::fs::write(&junk, vec![0xffu8; 1000]).unwrap();
    assert!(read_osm_pbf(&junk, &opts(24.938, 60.166, 24.950, 60.176)).is_err());
    // An empty file and a directory are called what they are.
    let empty = dir.path().join("empty.osm.pbf");
    std::fs::write(&empty, b"").unwrap();
    let msg = read_osm_pbf(&empty, &opts(24.938, 60.166, 24.950, 60.176)).unwrap_err().to_string();
    assert!(msg.ends_with("empty.osm.pbf: cannot open: the file is empty (0 bytes)"), "{msg}");
    let msg = read_osm_pbf(dir.path(), &opts(24.938, 60.166, 24.950, 60.176)).unwrap_err().to_string();
    assert!(msg.ends_with(": cannot open: it is a directory, not a file"), "{msg}");
    // A tiny bbox inside the extract is not "outside the extract".
    let e = read_osm_pbf(&src, &opts(24.94000, 60.17000, 24.94001, 60.17001)).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, OsmError::Empty { .. }), "{msg}");
    assert!(!msg.contains("outside the extract"), "{msg}");
    assert!(msg.contains("inside the boundary W,S,E,N = 24.940000,60.170000,24.940010,60.170010"), "{msg}");
}

#[test]
fn extent_of_an_extract() {
    let Some(src) = shared_data("helsinki.osm.pbf") else { return };
    let x = extract_extent(&src).unwrap();
    // About 24.935-24.953 E, 60.164-60.179 N (shared/data/README.md).
    assert!(x.west > 24.9 && x.west < 24.94 && x.east > 24.95 && x.east < 25.0, "{x}");
    assert!(x.south > 60.1 && x.south < 60.17 && x.north > 60.175 && x.north < 60.2, "{x}");
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.osm.pbf");
    std::fs::write(&empty, b"").unwrap();
    assert!(extract_extent(&empty).unwrap_err().to_string().contains("the file is empty"));
}

#[test]
fn extent_boundary_and_oversized_grid() {
    let dir = tempfile::tempdir().unwrap();
    let p = small_city(dir.path(), &[(wkb_polygon(&rect(31.0, 16.0, 59.0, 44.0)), "home")]);
    // Without a boundary layer the extent of buildings and streets is used: x 1..149, y 1..149.
    let opts = InputOptions { boundary_layer: None, ..Default::default() };
    let input = read_raster_input_gpkg(&p, &opts).unwrap();
    let (city, report) = rasterize(&input, &RasterParams::default()).unwrap();
    assert_eq!((city.width(), city.height()), (10, 10));
    assert_eq!(report.boundary_blocks, 100);
    assert_eq!(city.buildings().len(), 1);
    // A block side of 1 mm over 150 m: 150,001^2 blocks is refused, not allocated.
    let e = rasterize(&input, &RasterParams { block_side: 0.001, ..Default::default() }).unwrap_err();
    assert!(matches!(e, RasterError::TooLarge { .. }), "{e}");
    let msg = e.to_string();
    assert!(msg.contains("148001 x 148001 = 21904296001 blocks") && msg.contains("87.6 GB"), "{msg}");
}

#[test]
fn corrupt_geometry_blob_names_layer_and_feature() {
    let dir = tempfile::tempdir().unwrap();
    let p = small_city(dir.path(), &[(wkb_polygon(&rect(31.0, 16.0, 59.0, 44.0)), "home")]);
    let c = Connection::open(&p).unwrap();
    // A polygon claiming a million points in a 20-byte body.
    let mut bad = vec![1u8];
    bad.extend(3u32.to_le_bytes());
    bad.extend(1u32.to_le_bytes());
    bad.extend(1_000_000u32.to_le_bytes());
    bad.extend([0u8; 8]);
    c.execute("INSERT INTO buildings (geom, building_type) VALUES (?1, 'home')", [gpkg_blob(3857, &bad)]).unwrap();
    drop(c);
    let e = read_raster_input_gpkg(&p, &InputOptions::default()).unwrap_err();
    let InputError::Gpkg(g) = &e else { panic!("{e}") };
    assert!(
        matches!(g.kind(), GpkgErrorKind::BadGeometry { layer, feature, .. } if layer == "buildings" && feature == "fid 2"),
        "{e}"
    );
}

#[test]
fn polygon_boundary_clips_osm_features() {
    use geo::MapCoords;
    let Some(src) = shared_data("helsinki.osm.pbf") else { return };
    // A triangle inside the extract.
    let tri = geo_types::Polygon::new(
        geo_types::LineString::from(vec![(24.938, 60.166), (24.950, 60.166), (24.944, 60.176), (24.938, 60.166)]),
        vec![],
    );
    let opts = OsmOptions {
        boundary: OsmBoundary::Polygon(geo_types::MultiPolygon::new(vec![tri.clone()])),
        categories: Categories::default(),
        infer_residential: false,
        consolidate_streets: false,
    };
    let (input, report) = read_osm_pbf(&src, &opts).unwrap();
    assert!(report.clipped > 0, "{report}");
    // Everything handed on lies in the (projected) triangle, up to rounding.
    let merc = tri.map_coords(|c| {
        let (x, y) = gardencity::city::lonlat_to_mercator(c.x, c.y);
        geo_types::coord! { x: x, y: y }
    });
    // (Boolean operations snap to a fine integer grid: allow 1 mm.)
    for b in &input.buildings {
        for c in b.geometry.0.iter().flat_map(|p| p.exterior().0.iter()) {
            let d = geo::Distance::distance(&geo::Euclidean, &geo_types::Point::from(*c), &merc);
            assert!(d < 1e-3, "{c:?} outside the triangle by {d} m");
        }
    }
    let (city, _) = rasterize(&input, &RasterParams { resolve_overlaps: true, ..Default::default() }).unwrap();
    assert_eq!(city.street_components().count(), 1);
}
