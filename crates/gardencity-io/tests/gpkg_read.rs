//! Reading the reference's garden city (shared/data/garden-city.gpkg).

use gardencity::{BuildingType, Cell, Point};
use gardencity_io::gpkg::{read_city, GpkgReader};

#[test]
fn garden_city_loads_with_reference_counts() {
    let Some(path) = gardencity_testkit::shared_data("garden-city.gpkg") else { return };
    let city = read_city(&path).expect("garden city loads");
    assert_eq!((city.width(), city.height()), (22, 22));
    assert_eq!(city.name(), "Garden City");
    assert_eq!(city.buildings().len(), 106);
    let count = |t| city.buildings_of_type(t).len();
    assert_eq!(count(BuildingType::Home), 20);
    assert_eq!(count(BuildingType::Workplace), 31);
    assert_eq!(count(BuildingType::Retail), 54);
    assert_eq!(count(BuildingType::Park), 1);
    assert_eq!(count(BuildingType::Other), 0);
    assert_eq!(city.streets().len(), 224);
    // Block totals per type, from the file's `size` column (checked with python sqlite3).
    let blocks = |t| city.buildings_of_type(t).iter().map(|&b| city.building(b).size()).sum::<usize>();
    assert_eq!(
        [
            blocks(BuildingType::Home),
            blocks(BuildingType::Workplace),
            blocks(BuildingType::Retail),
            blocks(BuildingType::Park)
        ],
        [24, 88, 132, 16]
    );
    let g = city.georef();
    assert_eq!(g.block_side, 15.0);
    assert_eq!((g.origin_x, g.origin_y), (-4265699.0, 4392976.0));
    assert_eq!(g.rotation_deg, 0.0);
    assert_eq!(city.boundary_wkt(), Some("POLYGON ((22 0, 22 22, 0 22, 0 0, 22 0))"));
    // One street network.
    assert_eq!(city.street_components().count(), 1);
    // Three buildings checked field by field against the file.
    let park = city.building(city.building_by_id("p-x12-y11").unwrap());
    assert_eq!(park.kind, BuildingType::Park);
    assert_eq!(park.size(), 16);
    assert_eq!(park.door, Cell::new(13, 11));
    assert_eq!(park.door_point, Point::new(13.0, 11.5));
    assert_eq!((park.min, park.max), (Cell::new(9, 9), Cell::new(12, 12)));
    let h = city.building(city.building_by_id("h-x7-y8").unwrap());
    assert_eq!(
        (h.kind, h.size(), h.door, h.door_point),
        (BuildingType::Home, 2, Cell::new(8, 8), Point::new(8.0, 8.5))
    );
    assert_eq!(h.door_block, Cell::new(7, 8));
    // Every id follows the reference convention: its block is the door block.
    for b in city.buildings() {
        assert_eq!(b.id, gardencity::Building::reference_id(b.kind, b.door_block), "building {}", b.id);
        assert!(b.door.is_adjacent4(b.door_block));
    }
    // Buildings keep file order (fid order).
    assert_eq!(city.buildings()[0].id, "p-x12-y11");
    assert_eq!(city.buildings()[105].id, "r-x2-y4");
}

#[test]
fn reader_helpers_on_the_reference_file() {
    let Some(path) = gardencity_testkit::shared_data("garden-city.gpkg") else { return };
    let r = GpkgReader::open(&path).unwrap();
    assert_eq!(r.layers().unwrap(), ["buildings", "streets", "city_properties"]);
    assert!(r.has_table("streets").unwrap());
    assert!(!r.has_table("hubs").unwrap());
    assert_eq!(r.geometry_column("buildings").unwrap().as_deref(), Some("geom"));
    assert_eq!(r.row_count("streets").unwrap(), 224);
    assert!(r.has_column("streets", "level_0").unwrap());
    let mut first = None;
    r.for_each_row("streets", &["coord_x", "coord_y", "geom"], |row| {
        if first.is_none() {
            let g = row.geometry("geom")?;
            first = Some((row.feature().to_string(), row.i64("coord_x")?, row.i64("coord_y")?, g));
        }
        Ok(())
    })
    .unwrap();
    let (label, x, y, g) = first.unwrap();
    assert_eq!(label, "fid 1 (id s-x0-y0)");
    assert_eq!((x, y), (0, 0));
    let geo_types::Geometry::Polygon(p) = g else { panic!("street geometry is a polygon") };
    let xs: Vec<f64> = p.exterior().0.iter().map(|c| c.x).collect();
    let ys: Vec<f64> = p.exterior().0.iter().map(|c| c.y).collect();
    assert_eq!(xs.iter().cloned().fold(f64::MAX, f64::min), 0.0);
    assert_eq!(xs.iter().cloned().fold(f64::MIN, f64::max), 1.0);
    assert_eq!(ys.iter().cloned().fold(f64::MAX, f64::min), 0.0);
    assert_eq!(ys.iter().cloned().fold(f64::MIN, f64::max), 1.0);
}
