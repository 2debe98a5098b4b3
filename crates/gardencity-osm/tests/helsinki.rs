//! The whole from-OSM pipeline on `shared/data/helsinki.osm.pbf`, with the reader's
//! selection checked against an independent count made with pyosmium.

use gardencity::city::BuildingType;
use gardencity_osm::{rasterize, read_osm_pbf, Categories, OsmBoundary, OsmOptions, RasterParams, Rotation};
use gardencity_testkit::{python, run_python, shared_data};

const BBOX: [f64; 4] = [24.938, 60.166, 24.950, 60.176];

fn options() -> OsmOptions {
    let [west, south, east, north] = BBOX;
    OsmOptions {
        boundary: OsmBoundary::Bbox { west, south, east, north },
        categories: Categories::default(),
        infer_residential: false,
        consolidate_streets: false,
    }
}

#[test]
fn helsinki_counts_match_pyosmium_and_city_is_connected() {
    let Some(path) = shared_data("helsinki.osm.pbf") else { return };
    let opts = options();
    let (input, report) = read_osm_pbf(&path, &opts).unwrap();
    eprintln!("{report}");

    if let Some(py) = python() {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/py/count_osm.py");
        let rules = &opts.categories.streets;
        let bbox: Vec<String> = BBOX.iter().map(|v| v.to_string()).collect();
        let (hw, sv, sf) =
            (rules.highway.join(","), rules.excluded_service.join(","), rules.excluded_surface.join(","));
        let mut args: Vec<&str> = vec![path.to_str().unwrap()];
        args.extend(bbox.iter().map(String::as_str));
        args.extend([hw.as_str(), sv.as_str(), sf.as_str()]);
        let code = format!("import runpy, sys; sys.argv = ['count_osm.py'] + sys.argv[1:]; runpy.run_path({script:?})");
        let out = run_python(&py, &code, &args);
        let counts: Vec<usize> = out.split_whitespace().map(|v| v.parse().unwrap()).collect();
        assert_eq!(
            counts,
            vec![report.building_ways, report.building_relations, report.street_ways],
            "pyosmium counts"
        );
    }
    assert!(report.building_ways > 100, "{report}");
    assert!(report.street_ways > 100, "{report}");
    // The extract is cut at its edges: ways leaving it are skipped (pyosmium skips them too).
    let n_polygons: usize = report.polygons_by_type.iter().sum();
    assert_eq!(n_polygons, input.buildings.len());

    let params = RasterParams { rotation: Rotation::Auto, resolve_overlaps: true, ..Default::default() };
    let (city, raster) = rasterize(&input, &params).unwrap();
    eprintln!("{raster}");
    // One connected street network holding every door.
    let comps = city.street_components();
    assert_eq!(comps.count(), 1);
    assert_eq!(city.streets().len(), raster.street_cells);
    assert!(city.buildings().len() > 20, "{raster}");
    let n_types = |t| city.buildings_of_type(t).len();
    for t in [BuildingType::Home, BuildingType::Workplace, BuildingType::Retail, BuildingType::Park] {
        assert!(n_types(t) > 0, "no {t}: {raster}");
    }
    assert_eq!(raster.buildings, city.buildings().len());
    assert_eq!(raster.other_filtered, report.polygons_by_type[BuildingType::Other as usize]);
    for b in city.building_indices() {
        assert!(city.door_street(b).index() < city.streets().len());
    }
    // The rotation is stored so outputs map back: the grid's corner maps near the data.
    let g = city.georef();
    assert_eq!(g.rotation_deg, raster.rotation_deg);
    assert!(g.rotation_deg.abs() <= 45.0);
    let (x, y) = g.to_mercator(gardencity::city::Point::new(city.width() as f64 / 2.0, city.height() as f64 / 2.0));
    let (lon, lat) = gardencity::city::mercator_to_lonlat(x, y);
    assert!((BBOX[0]..BBOX[2]).contains(&lon) && (BBOX[1]..BBOX[3]).contains(&lat), "{lon} {lat}");

    // Keeping `other` (mostly building=yes here) gives a much denser city, still connected.
    let params = RasterParams { keep_other: true, ..params };
    let (dense, raster) = rasterize(&input, &params).unwrap();
    assert!(dense.buildings().len() > 100, "{raster}");
    assert_eq!(dense.street_components().count(), 1);
}

#[test]
fn helsinki_with_reference_street_cleanup() {
    let Some(path) = shared_data("helsinki.osm.pbf") else { return };
    let plain = read_osm_pbf(&path, &options()).unwrap();
    let opts = OsmOptions { consolidate_streets: true, ..options() };
    let (input, report) = read_osm_pbf(&path, &opts).unwrap();
    eprintln!("{report}");
    let c = report.consolidation.clone().expect("clean-up ran");
    // Same selection, fewer and merged street pieces.
    assert_eq!(report.street_ways, plain.1.street_ways);
    assert!(c.clusters_merged > 0 && c.dead_ends_removed > 0, "{report}");
    assert_eq!(
        c.edges_kept + c.short_edges_removed + c.intra_cluster_edges_removed + c.dead_end_edges_removed,
        c.graph_edges
    );
    assert_eq!(input.buildings.len(), plain.0.buildings.len());
    let params = RasterParams { rotation: Rotation::Auto, resolve_overlaps: true, ..Default::default() };
    let (city, raster) = rasterize(&input, &params).unwrap();
    eprintln!("{raster}");
    assert_eq!(city.street_components().count(), 1);
    assert!(city.buildings().len() > 20, "{raster}");
}
