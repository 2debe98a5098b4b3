//! The acceptance numbers on `shared/data/city_fixture.gpkg`.

use gardencity::city::BuildingType;
use gardencity_osm::{rasterize, read_raster_input_gpkg, InputOptions, RasterParams};
use gardencity_testkit::shared_data;

#[test]
fn fixture_matches_reference_numbers() {
    let Some(path) = shared_data("city_fixture.gpkg") else { return };
    let input = read_raster_input_gpkg(&path, &InputOptions::default()).unwrap();
    assert_eq!(input.report.non_polygon_buildings, 3);
    assert_eq!(input.buildings.len(), 816);
    assert_eq!(input.streets.len(), 231);
    let params = RasterParams { resolve_overlaps: true, ..Default::default() };
    let (city, report) = rasterize(&input, &params).unwrap();
    eprintln!("{report}");
    assert_eq!((city.width(), city.height()), (99, 85));
    assert_eq!(report.boundary_blocks, 6650);
    assert_eq!(city.streets().len(), 1242);
    assert_eq!(city.street_components().count(), 1);
    assert_eq!(city.buildings().len(), 110);
    let n = |t| city.buildings_of_type(t).len();
    assert_eq!(n(BuildingType::Retail), 34);
    assert_eq!(n(BuildingType::Home), 34);
    assert_eq!(n(BuildingType::Park), 30);
    assert_eq!(n(BuildingType::Workplace), 12);
    assert_eq!(report.street_blocks_removed, 4);
    assert_eq!(report.other_filtered, 657);
    // Every door is on the one street component; ids follow the reference convention.
    let comps = city.street_components();
    for (bi, b) in city.building_indices().zip(city.buildings()) {
        assert_eq!(comps.label[city.door_street(bi).index()], 0);
        assert_eq!(b.id, format!("{}-x{}-y{}", b.kind.letter(), b.door_block.x, b.door_block.y));
    }
    // The grid origin is floor(min / L) of the boundary bounds, in metres.
    let g = city.georef();
    assert_eq!(g.block_side, 15.0);
    assert_eq!(g.rotation_deg, 0.0);
    assert_eq!(g.origin_x % 15.0, 0.0);
    assert_eq!(g.origin_y % 15.0, 0.0);
    let b = geo::BoundingRect::bounding_rect(&input.boundary).unwrap();
    assert!(g.origin_x <= b.min().x && b.min().x < g.origin_x + 15.0);
    assert!(g.origin_y <= b.min().y && b.min().y < g.origin_y + 15.0);
}

#[test]
fn fixture_without_overlap_resolution_skips_overlaps() {
    let Some(path) = shared_data("city_fixture.gpkg") else { return };
    let input = read_raster_input_gpkg(&path, &InputOptions::default()).unwrap();
    let resolved = rasterize(&input, &RasterParams { resolve_overlaps: true, ..Default::default() }).unwrap().0;
    let (city, report) = rasterize(&input, &RasterParams::default()).unwrap();
    assert!(report.overlap_skipped > 0);
    assert_eq!(report.overlap_blocks_removed, 0);
    assert!(city.buildings().len() <= resolved.buildings().len());
    // Keeping `other` adds buildings of that type and never removes street cells.
    let (with_other, r2) = rasterize(&input, &RasterParams { keep_other: true, ..Default::default() }).unwrap();
    assert_eq!(r2.other_filtered, 0);
    assert!(!with_other.buildings_of_type(BuildingType::Other).is_empty());
    assert_eq!(with_other.streets().len(), city.streets().len());
}
