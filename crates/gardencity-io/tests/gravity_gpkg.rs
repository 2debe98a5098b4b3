//! Gravity layers in city GeoPackages: round trips, the reference's sorted-order defect,
//! mismatches with the city, and an independent reader (pyogrio).

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityMode, GravityParams};
use gardencity::{BuildingIdx, City};
use gardencity_io::gpkg::gravity::{read_gravity, write_gravity, GravityIoError, HUB_DISTANCES_LAYER};
use gardencity_io::gpkg::{read_city, write_city, WriteOptions};
use std::path::{Path, PathBuf};

fn city(seed: u64) -> City {
    random_city(&RandomCityParams { width: 45, height: 40, street_spacing: 5, seed, ..Default::default() }).unwrap()
}

/// A random city with the street column x = 0 cut between y = 1 and y = 25, so that hub
/// order (bucket order) differs from sorted (x, y) order.
fn irregular_city() -> City {
    let c = city(3);
    let cut = |s: &gardencity::Cell| s.x == 0 && (1..26).contains(&s.y);
    let streets: Vec<gardencity::Cell> = c.streets().iter().copied().filter(|s| !cut(s)).collect();
    let buildings = c
        .buildings()
        .iter()
        .filter(|b| !cut(&b.door))
        .map(|b| gardencity::BuildingSpec {
            id: Some(b.id.clone()),
            kind: b.kind,
            blocks: b.blocks.clone(),
            door: b.door,
            door_point: Some(b.door_point),
        })
        .collect();
    City::new(gardencity::CityParts {
        name: "irregular".into(),
        width: c.width(),
        height: c.height(),
        streets,
        buildings,
        ..Default::default()
    })
    .unwrap()
}

fn written(dir: &Path, name: &str, c: &City) -> PathBuf {
    let p = dir.join(name);
    write_city(c, &p, &WriteOptions::default()).unwrap();
    p
}

fn no_temp_files(dir: &Path) {
    let left: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains(".tmp"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
}

#[test]
fn hub_proxy_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let c = city(1);
    let p = written(dir.path(), "c.gpkg", &c);
    assert_eq!(read_gravity(&p, &c).unwrap(), None);
    let g = Gravity::hub_proxy(&c, GravityParams { hub_size: Some(9), exponent: 1.5, ..Default::default() }).unwrap();
    write_gravity(&p, &c, &g).unwrap();
    let back_city = read_city(&p).unwrap();
    let r = read_gravity(&p, &back_city).unwrap().unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.gravity, g);
    // Writing again replaces the layers (a different model).
    let g2 = Gravity::hub_proxy(&c, GravityParams::default()).unwrap();
    write_gravity(&p, &c, &g2).unwrap();
    assert_eq!(read_gravity(&p, &c).unwrap().unwrap().gravity, g2);
    no_temp_files(dir.path());
}

#[test]
fn exact_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let c = city(2);
    let p = written(dir.path(), "c.gpkg", &c);
    let hub = Gravity::hub_proxy(&c, GravityParams::default()).unwrap();
    write_gravity(&p, &c, &hub).unwrap();
    let g = Gravity::exact(&c, GravityParams { exponent: 2.5, ..Default::default() }).unwrap();
    write_gravity(&p, &c, &g).unwrap();
    let r = read_gravity(&p, &c).unwrap().unwrap();
    assert_eq!(r.gravity.mode(), GravityMode::Exact);
    assert_eq!(r.gravity, g);
    // The old hub layers are gone.
    let conn = rusqlite::Connection::open(&p).unwrap();
    let n: i64 = conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'hubs'", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0);
}

#[test]
fn sorted_order_hub_distances_are_recomputed_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    let c = irregular_city();
    let p = written(dir.path(), "c.gpkg", &c);
    let g = Gravity::hub_proxy(&c, GravityParams { hub_size: Some(16), ..Default::default() }).unwrap();
    let n = g.hubs().len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&k| g.hubs()[k]);
    assert_ne!(order, (0..n).collect::<Vec<_>>(), "the test needs hubs whose order is not sorted");
    write_gravity(&p, &c, &g).unwrap();
    // Rewrite the matrix as the reference does: in sorted (x, y) hub order.
    let conn = rusqlite::Connection::open(&p).unwrap();
    for e in 0..n * n {
        let v = g.hub_dist()[order[e / n] * n + order[e % n]];
        conn.execute(
            &format!("UPDATE {HUB_DISTANCES_LAYER} SET hub_dist_flat = ?1 WHERE fid = ?2"),
            [v as i64, e as i64 + 1],
        )
        .unwrap();
    }
    drop(conn);
    let r = read_gravity(&p, &c).unwrap().unwrap();
    assert_eq!(r.gravity, g);
    assert_eq!(r.warnings.len(), 1);
    assert!(r.warnings[0].contains("sorted (x, y)"), "{}", r.warnings[0]);
    // Any other disagreement: recomputed too, with a different warning.
    let conn = rusqlite::Connection::open(&p).unwrap();
    conn.execute(&format!("UPDATE {HUB_DISTANCES_LAYER} SET hub_dist_flat = 12345 WHERE fid = 2"), []).unwrap();
    drop(conn);
    let r = read_gravity(&p, &c).unwrap().unwrap();
    assert_eq!(r.gravity, g);
    assert!(r.warnings[0].contains("disagrees with the street graph"), "{}", r.warnings[0]);
}

#[test]
fn layers_not_matching_the_city_are_rejected() {
    let dir = tempfile::tempdir().unwrap();
    let c = city(4);
    let other = city(5);
    let p = written(dir.path(), "c.gpkg", &c);
    let g = Gravity::hub_proxy(&c, GravityParams::default()).unwrap();
    write_gravity(&p, &c, &g).unwrap();
    // Read against another city: unknown ids, streets or distances.
    let err = read_gravity(&p, &other).unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("c.gpkg"), "{msg}");
    // A tampered dist_to_hub names the layer and the building.
    let conn = rusqlite::Connection::open(&p).unwrap();
    conn.execute("UPDATE grav_hub_info SET dist_to_hub = dist_to_hub + 1 WHERE fid = 3", []).unwrap();
    drop(conn);
    let err = read_gravity(&p, &c).unwrap_err();
    assert!(matches!(err, GravityIoError::Mismatch { ref layer, .. } if layer == "grav_hub_info"), "{err}");
    assert!(err.to_string().contains(&c.building(BuildingIdx(2)).id), "{err}");
    // A missing row.
    let conn = rusqlite::Connection::open(&p).unwrap();
    conn.execute("DELETE FROM grav_hub_info WHERE fid = 3", []).unwrap();
    drop(conn);
    let err = read_gravity(&p, &c).unwrap_err();
    assert!(matches!(err, GravityIoError::Layer { ref layer, .. } if layer == "grav_hub_info"), "{err}");
    // A wrong nearby distance names the feature and column.
    write_gravity(&p, &c, &g).unwrap();
    let conn = rusqlite::Connection::open(&p).unwrap();
    assert!(g.nearby_pairs().count() > 0);
    conn.execute("UPDATE nearby_doors SET dist = dist + 1 WHERE fid = 1", []).unwrap();
    drop(conn);
    let msg = read_gravity(&p, &c).unwrap_err().to_string();
    assert!(msg.contains("nearby_doors") && msg.contains("dist") && msg.contains("fid 1"), "{msg}");
    // A missing companion layer.
    write_gravity(&p, &c, &g).unwrap();
    let conn = rusqlite::Connection::open(&p).unwrap();
    conn.execute("DROP TABLE nearby_doors", []).unwrap();
    drop(conn);
    let msg = read_gravity(&p, &c).unwrap_err().to_string();
    assert!(msg.contains("nearby_doors"), "{msg}");
    // A gravity for another city is not written.
    let g_other = Gravity::hub_proxy(&other, GravityParams::default()).unwrap();
    if g_other.building_count() != c.buildings().len() {
        assert!(matches!(write_gravity(&p, &c, &g_other), Err(GravityIoError::Mismatch { .. })));
    }
    // A missing file: an error naming it, and no temporary file.
    let missing = dir.path().join("missing.gpkg");
    let msg = write_gravity(&missing, &c, &g).unwrap_err().to_string();
    assert!(msg.contains("missing.gpkg"), "{msg}");
    no_temp_files(dir.path());
}

#[test]
fn garden_city_gravity_and_pyogrio() {
    let Some(src) = gardencity_testkit::shared_data("garden-city.gpkg") else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("garden.gpkg");
    std::fs::copy(&src, &p).unwrap();
    let c = read_city(&p).unwrap();
    let g = Gravity::hub_proxy(&c, GravityParams { hub_size: Some(16), ..Default::default() }).unwrap();
    let hubs: Vec<(i32, i32)> = g.hubs().iter().map(|h| (h.x, h.y)).collect();
    assert_eq!(hubs[..4], [(0, 0), (0, 6), (0, 12), (0, 17)]);
    assert_eq!(hubs.len(), 16);
    // Written into the reference's own file (GDAL triggers and all), read back.
    write_gravity(&p, &c, &g).unwrap();
    let c2 = read_city(&p).unwrap();
    assert_eq!(c2, c);
    assert_eq!(read_gravity(&p, &c2).unwrap().unwrap().gravity, g);
    let Some(py) = gardencity_testkit::python() else { return };
    let script = r#"
import sys, json, pyogrio
from pyogrio.raw import read
p = sys.argv[1]
out = {}
for layer in ["hubs", "hub_distances", "grav_hub_info", "nearby_doors", "gravity_properties", "buildings"]:
    info = pyogrio.read_info(p, layer=layer)
    out[layer] = {"rows": int(info["features"]), "columns": [str(c) for c in info["fields"]]}
meta, _, _, fields = read(p, layer="hubs", read_geometry=False)
cols = list(meta["fields"])
xs, ys = fields[cols.index("hub_x")], fields[cols.index("hub_y")]
out["first_hubs"] = [[int(xs[k]), int(ys[k])] for k in range(4)]
print(json.dumps(out))
"#;
    let out = gardencity_testkit::run_python(&py, script, &[p.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["hubs"]["rows"], 16);
    assert_eq!(v["hub_distances"]["rows"], 256);
    assert_eq!(v["grav_hub_info"]["rows"], 106);
    assert_eq!(v["buildings"]["rows"], 106);
    // Each unordered pair once, as the reference stores them.
    assert_eq!(v["nearby_doors"]["rows"], g.nearby_pairs().filter(|p| p.0 < p.1).count());
    assert_eq!(v["grav_hub_info"]["columns"], serde_json::json!(["index", "closest_hub_idx", "dist_to_hub"]));
    assert_eq!(v["gravity_properties"]["columns"], serde_json::json!(["exponent", "mode", "n_hubs", "n_buildings"]));
    assert_eq!(v["first_hubs"], serde_json::json!([[0, 0], [0, 6], [0, 12], [0, 17]]));
}

/// Files written before the gravity layers took the reference's layout (attribute
/// tables, `grav_hub_info.id`, nearby pairs in both orders with their Manhattan
/// distance, 0 for a shared door) still load.
#[test]
fn older_attribute_table_layers_still_load() {
    let dir = tempfile::tempdir().unwrap();
    let c = city(8);
    let p = written(dir.path(), "old.gpkg", &c);
    let g = Gravity::hub_proxy(&c, GravityParams { hub_size: Some(9), exponent: 1.5, ..Default::default() }).unwrap();
    assert!(g.nearby_pairs().any(|(_, _, d)| d == 0), "the test needs buildings sharing a door");
    let conn = rusqlite::Connection::open(&p).unwrap();
    conn.execute_batch("BEGIN").unwrap();
    let table = |name: &str, cols: &str| {
        conn.execute(&format!("CREATE TABLE {name} (fid INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {cols})"), [])
            .unwrap();
        conn.execute(
            "INSERT INTO gpkg_contents (table_name, data_type, identifier, description) VALUES (?1, 'attributes', ?1, '')",
            [name],
        )
        .unwrap();
    };
    table("gravity_properties", "exponent REAL, mode TEXT, n_hubs INTEGER, n_buildings INTEGER");
    conn.execute(
        "INSERT INTO gravity_properties (exponent, mode, n_hubs, n_buildings) VALUES (1.5, 'hub_proxy', ?1, ?2)",
        [g.hubs().len() as i64, g.building_count() as i64],
    )
    .unwrap();
    table("hubs", "hub_x INTEGER, hub_y INTEGER");
    for h in g.hubs() {
        conn.execute("INSERT INTO hubs (hub_x, hub_y) VALUES (?1, ?2)", [h.x, h.y]).unwrap();
    }
    table("hub_distances", "hub_dist_flat INTEGER, n_hubs INTEGER");
    for &d in g.hub_dist() {
        conn.execute(
            "INSERT INTO hub_distances (hub_dist_flat, n_hubs) VALUES (?1, ?2)",
            [d as i64, g.hubs().len() as i64],
        )
        .unwrap();
    }
    table("grav_hub_info", "id TEXT, closest_hub_idx INTEGER, dist_to_hub INTEGER");
    for (k, b) in c.buildings().iter().enumerate() {
        conn.execute(
            "INSERT INTO grav_hub_info (id, closest_hub_idx, dist_to_hub) VALUES (?1, ?2, ?3)",
            rusqlite::params![b.id, g.closest_hub()[k], g.dist_to_hub()[k]],
        )
        .unwrap();
    }
    table("nearby_doors", "bid_i TEXT, bid_j TEXT, dist INTEGER");
    for (i, j, d) in g.nearby_pairs() {
        conn.execute(
            "INSERT INTO nearby_doors (bid_i, bid_j, dist) VALUES (?1, ?2, ?3)",
            rusqlite::params![c.building(i).id, c.building(j).id, d],
        )
        .unwrap();
    }
    conn.execute_batch("COMMIT").unwrap();
    drop(conn);
    let r = read_gravity(&p, &c).unwrap().unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.gravity, g);
    // Rewritten in the new layout, the same model.
    write_gravity(&p, &c, &g).unwrap();
    assert_eq!(read_gravity(&p, &c).unwrap().unwrap().gravity, g);
}
