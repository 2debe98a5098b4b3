//! Rasterizer benchmarks: the Philadelphia fixture (6,650 blocks) and a synthetic
//! 1000 x 1000-block area (one million blocks, 200 street lines, 40,000 buildings), and
//! the `.osm.pbf` reader on the Helsinki extract.

use criterion::{criterion_group, criterion_main, Criterion};
use gardencity::city::BuildingType;
use gardencity_osm::{
    rasterize, read_osm_pbf, read_raster_input_gpkg, Categories, InputBuilding, InputOptions, OsmBoundary, OsmOptions,
    RasterInput, RasterParams, StreetLine,
};
use geo_types::{coord, LineString, MultiPolygon, Rect};

/// A square of `n x n` blocks of 15 m with a street every 10 blocks and four
/// 4 x 4-block buildings per street block, types cycling.
fn synthetic(n: usize) -> RasterInput {
    let l = 15.0;
    let side = n as f64 * l;
    let mut streets = Vec::new();
    for k in (0..n).step_by(10) {
        let c = (k as f64 + 0.5) * l;
        streets.push(StreetLine { geometry: LineString::from(vec![(1.0, c), (side - 1.0, c)]), major: false });
        streets.push(StreetLine { geometry: LineString::from(vec![(c, 1.0), (c, side - 1.0)]), major: false });
    }
    let types = [BuildingType::Home, BuildingType::Workplace, BuildingType::Retail, BuildingType::Park];
    let mut buildings = Vec::new();
    for bx in (0..n).step_by(10) {
        for by in (0..n).step_by(10) {
            for (i, (dx, dy)) in [(1, 1), (5, 1), (1, 5), (5, 5)].into_iter().enumerate() {
                let x0 = (bx + dx) as f64 * l + 1.0;
                let y0 = (by + dy) as f64 * l + 1.0;
                let r = Rect::new(coord! { x: x0, y: y0 }, coord! { x: x0 + 4.0 * l - 2.0, y: y0 + 4.0 * l - 2.0 });
                buildings.push(InputBuilding {
                    geometry: MultiPolygon::new(vec![r.to_polygon()]),
                    kind: types[(bx / 10 + by / 10 + i) % 4],
                });
            }
        }
    }
    let boundary = Rect::new(coord! { x: 0.0, y: 0.0 }, coord! { x: side - 1.0, y: side - 1.0 }).to_polygon();
    RasterInput { boundary: MultiPolygon::new(vec![boundary]), streets, buildings, report: Default::default() }
}

fn benches(c: &mut Criterion) {
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/city_fixture.gpkg");
    let params = RasterParams { resolve_overlaps: true, ..Default::default() };
    if fixture.exists() {
        let input = read_raster_input_gpkg(&fixture, &InputOptions::default()).expect("fixture reads");
        c.bench_function("rasterize_fixture", |b| b.iter(|| rasterize(&input, &params).expect("rasterizes")));
        c.bench_function("read_fixture_gpkg", |b| {
            b.iter(|| read_raster_input_gpkg(&fixture, &InputOptions::default()).expect("reads"))
        });
    } else {
        eprintln!("SKIPPED fixture benchmarks: {} is missing", fixture.display());
    }
    let pbf = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data/helsinki.osm.pbf");
    if pbf.exists() {
        for cleanup in [false, true] {
            let opts = OsmOptions {
                boundary: OsmBoundary::Bbox { west: 24.938, south: 60.166, east: 24.950, north: 60.176 },
                categories: Categories::default(),
                infer_residential: false,
                consolidate_streets: cleanup,
            };
            let name = if cleanup { "read_helsinki_pbf_cleanup" } else { "read_helsinki_pbf" };
            c.bench_function(name, |b| b.iter(|| read_osm_pbf(&pbf, &opts).expect("reads")));
        }
    } else {
        eprintln!("SKIPPED .osm.pbf benchmarks: {} is missing", pbf.display());
    }
    let big = synthetic(1000);
    let mut group = c.benchmark_group("synthetic");
    group.sample_size(10);
    group.bench_function("rasterize_1000x1000_blocks", |b| b.iter(|| rasterize(&big, &params).expect("rasterizes")));
    group.finish();
}

criterion_group!(rasterize_benches, benches);
criterion_main!(rasterize_benches);
