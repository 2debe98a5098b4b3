//! Simulations on rasterized real cities: the ground-truth pings map back onto the input.

mod common;
use common::*;

use gardencity_io::dataset::{read_pings, OutputKind, RowFilter};
use gardencity_testkit::shared_data;
use geo::BoundingRect;
use std::path::Path;

/// Simulates 10 agents for two days on `city`, keeping dense pings in `coords`.
fn simulate(city: &Path, out: &Path, coords: &str) {
    run_ok(gardencity().args(["simulate", "--city"]).arg(city).arg("--out").arg(out).args([
        "--agents",
        "10",
        "--days",
        "2",
        "--outputs",
        "dense,sparse,homes",
        "--coords",
        coords,
        "-q",
    ]));
}

fn dense_pings(out: &Path) -> Vec<gardencity_io::dataset::PingRow> {
    let rows = read_pings(out, OutputKind::Dense, &RowFilter::default()).unwrap();
    assert!(rows.len() > 1000, "{} dense pings", rows.len());
    rows
}

/// The Old City fixture (EPSG:3857, already rotated): every dense ping in Web Mercator
/// lies within the boundary's extent (grown by one block: boundary blocks overhang it).
#[test]
fn simulation_on_the_rasterized_fixture_stays_in_its_extent() {
    let Some(fixture) = shared_data("city_fixture.gpkg") else { return };
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("philly.gpkg");
    let out = dir.path().join("run");
    run_ok(gardencity().args(["city", "rasterize"]).arg(&fixture).args(["--resolve-overlaps", "-o"]).arg(&city));
    simulate(&city, &out, "web_mercator");
    let boundary = gardencity_osm::read_boundary_gpkg(&fixture, "boundary").unwrap();
    let r = boundary.bounding_rect().unwrap();
    let pad = 15.0;
    for p in dense_pings(&out) {
        assert!(
            p.x >= r.min().x - pad && p.x <= r.max().x + pad && p.y >= r.min().y - pad && p.y <= r.max().y + pad,
            "ping ({}, {}) outside the fixture's extent {r:?}",
            p.x,
            p.y
        );
    }
}

/// Helsinki from the .osm.pbf with automatic rotation: every dense ping in lon/lat lies
/// within the requested bounding box (grown by about one block), so the rotation is undone.
#[test]
fn simulation_on_helsinki_maps_back_into_the_bbox() {
    let Some(pbf) = shared_data("helsinki.osm.pbf") else { return };
    let dir = tempfile::tempdir().unwrap();
    let city = dir.path().join("helsinki.gpkg");
    let out = dir.path().join("run");
    run_ok(
        gardencity()
            .args(["city", "from-osm"])
            .arg(&pbf)
            .args(["--bbox", "24.938,60.166,24.950,60.176", "--rotate", "auto", "--keep-other", "-o"])
            .arg(&city),
    );
    simulate(&city, &out, "lonlat");
    // One 15 m block diagonal: 0.0004 degrees of latitude, 0.0008 of longitude here.
    let (dlon, dlat) = (0.0008, 0.0004);
    let rows = dense_pings(&out);
    for p in &rows {
        assert!(
            p.x >= 24.938 - dlon && p.x <= 24.950 + dlon && p.y >= 60.166 - dlat && p.y <= 60.176 + dlat,
            "ping ({}, {}) outside the bbox",
            p.x,
            p.y
        );
    }
    // And they spread over the city, not one corner.
    let (lo, hi) = rows.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| (lo.min(p.x), hi.max(p.x)));
    assert!(hi - lo > 0.002, "pings span only {} degrees of longitude", hi - lo);
}

/// A city NOMAD rasterized and saved with its gravity (`persist_gravity_data=True`):
/// `city info` reports the stored gravity (95 hubs for hub_size 100: empty quantile
/// buckets give none) and a simulation runs on it with that gravity.
#[test]
fn nomad_city_with_stored_gravity_informs_and_simulates() {
    let Some(fixture) = shared_data("nomad-fixture-with-gravity.gpkg") else { return };
    let out = run_ok(gardencity().args(["city", "info"]).arg(&fixture));
    assert!(out.contains("buildings: 110 (home 34, workplace 12, retail 34, park 30, other 0)"), "{out}");
    assert!(out.contains("gravity: gravity hub_proxy: exponent 2, 95 hubs, 63 nearby pairs, 110 buildings"), "{out}");
    assert!(out.contains("warning:") && out.contains("sorted (x, y)"), "{out}");
    let out = run_ok(gardencity().args(["city", "info", "--json"]).arg(&fixture));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["gravity"].as_str().unwrap().contains("95 hubs"), "{v}");

    let dir = tempfile::tempdir().unwrap();
    let run = dir.path().join("run");
    let sim = gardencity()
        .args(["simulate", "--city"])
        .arg(&fixture)
        .arg("--out")
        .arg(&run)
        .args(["--agents", "5", "--days", "1", "-q"])
        .output()
        .unwrap();
    assert!(sim.status.success(), "{}", String::from_utf8_lossy(&sim.stderr));
    assert!(String::from_utf8_lossy(&sim.stderr).contains("sorted (x, y)"));
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(run.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["gravity"]["source"], "stored with the city");
    assert_eq!(m["gravity"]["mode"], "hub_proxy");
    assert_eq!(m["gravity"]["hubs"], 95);
    assert!(m["counts"]["sparse_pings"].as_u64().unwrap() > 0, "{m}");
}
