//! Gravity layers and the reference (NOMAD): its own file loads here with the gravity
//! gardencity computes on its hubs, and our layers load the way its
//! `City.from_geopackage(path, load_gravity=True)` loads them (geopandas, MODEL.md section 7).

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity::{BuildingIdx, Cell, City};
use gardencity_io::gpkg::gravity::{read_gravity, write_gravity};
use gardencity_io::gpkg::{read_city, write_city, WriteOptions};
use std::collections::BTreeMap;
use std::path::Path;

const FIXTURE: &str = "nomad-fixture-with-gravity.gpkg";

/// The reference's gravity layers as stored, read with plain SQL.
struct Stored {
    hubs: Vec<Cell>,
    /// `hub_dist_flat` in file order, and `n_hubs` of every row.
    flat: Vec<i64>,
    n_hubs: Vec<i64>,
    /// `grav_hub_info`: building id -> (closest_hub_idx, dist_to_hub), in file order.
    info: Vec<(String, u32, u32)>,
    nearby: Vec<(String, String, u32)>,
}

fn stored(path: &Path) -> Stored {
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let rows = |sql: &str| -> Vec<Vec<rusqlite::types::Value>> {
        let mut st = conn.prepare(sql).unwrap();
        let n = st.column_count();
        st.query_map([], |r| (0..n).map(|k| r.get::<_, rusqlite::types::Value>(k)).collect())
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    use rusqlite::types::Value as V;
    let int = |v: &V| match v {
        V::Integer(i) => *i,
        other => panic!("expected an integer, found {other:?}"),
    };
    let text = |v: &V| match v {
        V::Text(t) => t.clone(),
        other => panic!("expected text, found {other:?}"),
    };
    let hd = rows("SELECT hub_dist_flat, n_hubs FROM hub_distances ORDER BY fid");
    Stored {
        hubs: rows("SELECT hub_x, hub_y FROM hubs ORDER BY fid")
            .iter()
            .map(|r| Cell::new(int(&r[0]) as i32, int(&r[1]) as i32))
            .collect(),
        flat: hd.iter().map(|r| int(&r[0])).collect(),
        n_hubs: hd.iter().map(|r| int(&r[1])).collect(),
        info: rows("SELECT \"index\", closest_hub_idx, dist_to_hub FROM grav_hub_info ORDER BY fid")
            .iter()
            .map(|r| (text(&r[0]), int(&r[1]) as u32, int(&r[2]) as u32))
            .collect(),
        nearby: rows("SELECT bid_i, bid_j, dist FROM nearby_doors ORDER BY fid")
            .iter()
            .map(|r| (text(&r[0]), text(&r[1]), int(&r[2]) as u32))
            .collect(),
    }
}

/// Our nearby pairs as the reference stores them: each unordered pair once, the first
/// building first in building order, distance 1 for a shared door cell.
fn reference_pairs(city: &City, g: &Gravity) -> Vec<(String, String, u32)> {
    g.nearby_pairs()
        .filter(|&(i, j, _)| i < j)
        .map(|(i, j, d)| (city.building(i).id.clone(), city.building(j).id.clone(), d.max(1)))
        .collect()
}

/// `c` without the buildings whose door cell an earlier building already has.
fn distinct_doors(c: &City) -> City {
    let mut seen = std::collections::HashSet::new();
    let buildings = c
        .buildings()
        .iter()
        .filter(|b| seen.insert(b.door))
        .map(|b| gardencity::BuildingSpec {
            id: Some(b.id.clone()),
            kind: b.kind,
            blocks: b.blocks.clone(),
            door: b.door,
            door_point: Some(b.door_point),
        })
        .collect();
    City::new(gardencity::CityParts {
        name: "distinct doors".into(),
        width: c.width(),
        height: c.height(),
        streets: c.streets().to_vec(),
        buildings,
        ..Default::default()
    })
    .unwrap()
}

/// `order[k]` = the hub index at sorted position `k` (the reference's pivot sorts hubs).
fn sorted_order(hubs: &[Cell]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..hubs.len()).collect();
    order.sort_by_key(|&k| hubs[k]);
    order
}

#[test]
fn nomad_fixture_gravity_equals_ours_on_its_hubs() {
    let Some(path) = gardencity_testkit::shared_data(FIXTURE) else { return };
    let city = read_city(&path).unwrap();
    assert_eq!(city.buildings().len(), 110);
    assert_eq!(city.streets().len(), 1242);
    let s = stored(&path);
    // hub_size 100 asked for 10 x 10 quantile buckets; empty bucket pairs give no hub.
    assert_eq!(s.hubs.len(), 95);
    let n = s.hubs.len();

    // What gardencity computes on the reference's hubs...
    let ours = Gravity::hub_proxy_with_hubs(&city, s.hubs.clone(), 2.0).unwrap();
    // ...and on its own hub selection for hub_size 100: the same hubs.
    assert_eq!(gardencity::gravity::select_hubs(&city, 100), s.hubs);
    assert_eq!(Gravity::hub_proxy(&city, GravityParams { hub_size: Some(100), ..Default::default() }).unwrap(), ours);

    // Hub distances: the reference writes them in sorted (x, y) hub order (its pivot
    // sorts), which is not hub order here; in that order they equal the street graph's.
    assert!(s.n_hubs.iter().all(|&k| k == n as i64));
    assert_eq!(s.flat.len(), n * n);
    let order = sorted_order(&s.hubs);
    assert_ne!(order, (0..n).collect::<Vec<_>>(), "the fixture's hubs are not in sorted order");
    let ours_sorted: Vec<i64> = (0..n * n).map(|e| ours.hub_dist()[order[e / n] * n + order[e % n]] as i64).collect();
    assert_eq!(s.flat, ours_sorted, "hub_distances (sorted hub order) differ from the street graph");
    let ours_flat: Vec<i64> = ours.hub_dist().iter().map(|&d| d as i64).collect();
    let differing = (0..n * n).filter(|&e| s.flat[e] != ours_flat[e]).count();
    assert!(differing > 0);

    // Closest hubs and distances to them, building by building, in building order.
    let info: Vec<(String, u32, u32)> = city
        .buildings()
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id.clone(), ours.closest_hub()[i], ours.dist_to_hub()[i]))
        .collect();
    assert_eq!(s.info, info);

    // Nearby pairs: the same pairs in the same order, dist = 1 for shared doors.
    assert_eq!(s.nearby.len(), 63);
    assert_eq!(s.nearby.iter().filter(|p| p.2 == 1).count(), 24);
    assert_eq!(s.nearby, reference_pairs(&city, &ours));
    let shared_doors = s
        .nearby
        .iter()
        .filter(|(a, b, _)| {
            let (a, b) = (city.building_by_id(a).unwrap(), city.building_by_id(b).unwrap());
            city.building(a).door == city.building(b).door
        })
        .count();
    assert!(shared_doors > 0 && shared_doors <= 24, "{shared_doors} pairs share a door");

    // The model read from the file is the one computed on its hubs (the matrix repaired).
    let r = read_gravity(&path, &city).unwrap().unwrap();
    assert_eq!(r.gravity, ours);
    assert_eq!(r.gravity.hubs().len(), 95);
    assert_eq!(r.warnings.len(), 1, "{:?}", r.warnings);
    assert!(r.warnings[0].contains("sorted (x, y)"), "{}", r.warnings[0]);

    // A few weights against the definition evaluated on the stored values, with the hub
    // distances taken in the order the reference wrote them (sorted).
    let pos: Vec<usize> = {
        let mut p = vec![0; n];
        for (k, &h) in order.iter().enumerate() {
            p[h] = k;
        }
        p
    };
    let idx: BTreeMap<&str, usize> = s.info.iter().enumerate().map(|(k, (id, _, _))| (id.as_str(), k)).collect();
    let near: BTreeMap<(usize, usize), u32> = s
        .nearby
        .iter()
        .flat_map(|(a, b, d)| {
            let (a, b) = (idx[a.as_str()], idx[b.as_str()]);
            [((a, b), *d), ((b, a), *d)]
        })
        .collect();
    let expected = |i: usize, j: usize| -> f64 {
        if i == j {
            return 0.0;
        }
        let d = near.get(&(i, j)).copied().unwrap_or_else(|| {
            let (hi, hj) = (s.info[i].1 as usize, s.info[j].1 as usize);
            s.info[i].2 + s.flat[pos[hi] * n + pos[hj]] as u32 + s.info[j].2
        });
        1.0 / (d as f64).powi(2)
    };
    let mut checked = (0, 0, 0);
    for i in (0..city.buildings().len()).step_by(7) {
        for j in 0..city.buildings().len() {
            let (w, e) = (r.gravity.weight(BuildingIdx(i as u32), BuildingIdx(j as u32)), expected(i, j));
            assert!((w - e).abs() <= 1e-12 * e, "weight {i} -> {j}: {w}, expected {e}");
            match near.get(&(i, j)) {
                Some(1) => checked.0 += 1,
                Some(_) => checked.1 += 1,
                None => checked.2 += 1,
            }
        }
    }
    for (a, b, d) in s.nearby.iter().filter(|p| p.2 == 1) {
        let (i, j) = (city.building_by_id(a).unwrap(), city.building_by_id(b).unwrap());
        assert_eq!(r.gravity.weight(i, j), 1.0, "{a} -> {b} (dist {d})");
    }
    assert!(checked.1 > 0 && checked.2 > 1000, "{checked:?}");
}

/// Reads the gravity layers of a GeoPackage the way the reference's
/// `City.from_geopackage(path, load_gravity=True)` does (geopandas; each layer's
/// `geometry` dropped; `grav_hub_info` indexed by its `index` column; `n_hubs` from the
/// first row; a missing `nearby_doors` meaning no pairs) and evaluates the reference's
/// hub-proxy weights from what it read. Prints JSON.
const NOMAD_LOAD: &str = r#"
import sys, json
import numpy as np, pandas as pd
try:
    import geopandas as gpd
except ImportError:
    sys.exit("geopandas is missing from the test venv: run scripts/setup-test-venv.sh")
path, origins = sys.argv[1], [int(a) for a in sys.argv[2].split(",")]
out = {"layers": {}}

def dtype(col):
    # Text is object in pandas 2 and str in pandas 3.
    return "text" if pd.api.types.is_string_dtype(col.dtype) or col.dtype == object else str(col.dtype)

def layer(name):
    gdf = gpd.read_file(path, layer=name)
    kinds = sorted(set(gdf.geometry.geom_type))
    out["layers"][name] = {
        "columns": [c for c in gdf.columns if c != "geometry"],
        "dtypes": [dtype(gdf[c]) for c in gdf.columns if c != "geometry"],
        "geometry_types": kinds,
        "points": sorted(set((float(p.x), float(p.y)) for p in gdf.geometry)) if kinds == ["Point"] else None,
        "rows": len(gdf),
    }
    return gdf

hubs_gdf = layer("hubs")
hubs = list(zip(hubs_gdf["hub_x"].astype(int), hubs_gdf["hub_y"].astype(int)))
out["hub_points_match"] = bool(all(p.x == x and p.y == y for p, (x, y) in zip(hubs_gdf.geometry, hubs)))
hd = layer("hub_distances").drop(columns=["geometry"])
n = int(hd["n_hubs"].iloc[0])
matrix = hd["hub_dist_flat"].values.astype(np.int32).reshape((n, n))
hub_df = pd.DataFrame(matrix, index=hubs, columns=hubs)
info = layer("grav_hub_info").drop(columns=["geometry"]).set_index("index")
info.index.name = None
info["closest_hub_idx"] = info["closest_hub_idx"].astype(np.int32)
info["dist_to_hub"] = info["dist_to_hub"].astype(np.int32)
try:
    nb = layer("nearby_doors").drop(columns=["geometry"])
    nearby = pd.Series(nb["dist"].values.astype(np.int32), index=pd.MultiIndex.from_arrays([nb["bid_i"], nb["bid_j"]]))
    out["nearby_layer"] = True
except Exception:
    nearby = pd.Series([], dtype=np.int32, index=pd.MultiIndex.from_arrays([[], []]))
    out["nearby_layer"] = False

buildings = pd.Index(gpd.read_file(path, layer="buildings")["id"])
hi = info.loc[buildings]  # every building must have a row
closest, dth = hi["closest_hub_idx"].to_numpy(), hi["dist_to_hub"].to_numpy()
near = {}
for (a, b), d in nearby.items():
    i, j = buildings.get_loc(a), buildings.get_loc(b)
    near[(i, j)] = near[(j, i)] = int(d)
weights = []
for o in origins:
    d = dth[o] + hub_df.to_numpy()[closest[o], closest] + dth
    for j in range(len(buildings)):
        if (o, j) in near:
            d[j] = near[(o, j)]
    d[o] = 1
    w = 1.0 / d.astype(float) ** 2.0
    w[o] = 0.0
    weights.append([float(x) for x in w])
out["hubs"] = [[int(x), int(y)] for x, y in hubs]
out["n_hubs"] = n
out["hub_dist"] = [int(v) for v in matrix.flatten()]
out["info"] = [[str(b), int(c), int(t)] for b, c, t in zip(buildings, closest, dth)]
out["nearby"] = [[str(a), str(b), int(d)] for (a, b), d in nearby.items()]
out["weights"] = weights
print(json.dumps(out))
"#;

/// Runs [`NOMAD_LOAD`] on `path` and checks what it loaded against `g` (built for `city`).
fn check_loaded_as_by_nomad(py: &Path, path: &Path, city: &City, g: &Gravity) -> serde_json::Value {
    let nb = city.buildings().len();
    let origins: Vec<usize> = (0..nb).step_by((nb / 6).max(1)).collect();
    let arg = origins.iter().map(|o| o.to_string()).collect::<Vec<_>>().join(",");
    let out = gardencity_testkit::run_python(py, NOMAD_LOAD, &[path.to_str().unwrap(), &arg]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let layers = &v["layers"];
    let pairs = reference_pairs(city, g);
    let origin = serde_json::json!([[0.0, 0.0]]);
    for (name, columns, dtypes) in [
        ("hubs", serde_json::json!(["hub_x", "hub_y"]), serde_json::json!(["int64", "int64"])),
        ("hub_distances", serde_json::json!(["hub_dist_flat", "n_hubs"]), serde_json::json!(["int64", "int64"])),
        (
            "grav_hub_info",
            serde_json::json!(["index", "closest_hub_idx", "dist_to_hub"]),
            serde_json::json!(["text", "int32", "int32"]),
        ),
        ("nearby_doors", serde_json::json!(["bid_i", "bid_j", "dist"]), serde_json::json!(["text", "text", "int32"])),
    ] {
        if name == "nearby_doors" && pairs.is_empty() {
            assert_eq!(layers.get(name), None, "no nearby pairs: the reference writes no layer");
            continue;
        }
        let l = &layers[name];
        assert_eq!(l["columns"], columns, "{name}");
        assert_eq!(l["dtypes"], dtypes, "{name}");
        assert_eq!(l["geometry_types"], serde_json::json!(["Point"]), "{name}");
        if name != "hubs" {
            assert_eq!(l["points"], origin, "{name}: every point is POINT (0 0)");
        }
    }
    assert_eq!(v["hub_points_match"], true, "hubs: each point is the hub cell");
    let hubs: Vec<[i32; 2]> = g.hubs().iter().map(|h| [h.x, h.y]).collect();
    assert_eq!(v["hubs"], serde_json::json!(hubs));
    assert_eq!(v["n_hubs"], g.hubs().len());
    assert_eq!(v["hub_dist"], serde_json::json!(g.hub_dist()), "hub_distances in hub order");
    let info: Vec<(String, u32, u32)> = city
        .buildings()
        .iter()
        .enumerate()
        .map(|(i, b)| (b.id.clone(), g.closest_hub()[i], g.dist_to_hub()[i]))
        .collect();
    assert_eq!(v["info"], serde_json::json!(info));
    assert_eq!(v["nearby_layer"], !pairs.is_empty());
    assert_eq!(v["nearby"], serde_json::json!(pairs));
    // The reference's weights from what it loaded are ours.
    for (k, &o) in origins.iter().enumerate() {
        let w = v["weights"][k].as_array().unwrap();
        assert_eq!(w.len(), nb);
        for (j, wj) in w.iter().enumerate() {
            let (theirs, mine) = (wj.as_f64().unwrap(), g.weight(BuildingIdx(o as u32), BuildingIdx(j as u32)));
            assert!((theirs - mine).abs() <= 1e-12 * mine, "weight {o} -> {j}: reference {theirs}, ours {mine}");
        }
    }
    v
}

/// A layer's table columns `(name, type)`, its `gpkg_geometry_columns` rows
/// `(column, type, srs)` and its `gpkg_contents` data type.
type Schema = (Vec<(String, String)>, Vec<(String, String, i64)>, String);

fn layer_schema(path: &Path, layer: &str) -> Schema {
    let conn = rusqlite::Connection::open_with_flags(path, rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY).unwrap();
    let mut st = conn.prepare(&format!("PRAGMA table_info(\"{layer}\")")).unwrap();
    let cols = st.query_map([], |r| Ok((r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    let mut st = conn
        .prepare("SELECT column_name, geometry_type_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?1")
        .unwrap();
    let geom = st.query_map([layer], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?))).unwrap().map(Result::unwrap).collect();
    let kind =
        conn.query_row("SELECT data_type FROM gpkg_contents WHERE table_name = ?1", [layer], |r| r.get(0)).unwrap();
    (cols, geom, kind)
}

/// Our writer, given the reference's own city and gravity, writes its layers again: the
/// same tables (columns, types, point geometry, SRS) and rows, but the hub distances in
/// hub order; the reference's loader reads them.
#[test]
fn our_layers_of_the_nomad_fixture_match_the_reference() {
    let Some(src) = gardencity_testkit::shared_data(FIXTURE) else { return };
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("again.gpkg");
    std::fs::copy(&src, &p).unwrap();
    let city = read_city(&p).unwrap();
    let g = read_gravity(&p, &city).unwrap().unwrap().gravity;
    write_gravity(&p, &city, &g).unwrap();
    for layer in ["hubs", "hub_distances", "grav_hub_info", "nearby_doors"] {
        assert_eq!(layer_schema(&p, layer), layer_schema(&src, layer), "layer {layer}");
    }
    let (theirs, ours) = (stored(&src), stored(&p));
    assert_eq!(ours.hubs, theirs.hubs);
    assert_eq!(ours.info, theirs.info);
    assert_eq!(ours.nearby, theirs.nearby);
    assert_eq!(ours.n_hubs, theirs.n_hubs);
    let n = g.hubs().len();
    let order = sorted_order(g.hubs());
    let ours_sorted: Vec<i64> = (0..n * n).map(|e| ours.flat[order[e / n] * n + order[e % n]]).collect();
    assert_eq!(ours_sorted, theirs.flat);
    let r = read_gravity(&p, &city).unwrap().unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert_eq!(r.gravity, g);
    let Some(py) = gardencity_testkit::python() else { return };
    let v = check_loaded_as_by_nomad(&py, &p, &city, &g);
    assert_eq!(v["layers"]["nearby_doors"]["rows"], 63);
    // The reference's own file loads as well (its matrix in sorted order aside).
    let v = gardencity_testkit::run_python(&py, NOMAD_LOAD, &[src.to_str().unwrap(), "0"]);
    let v: serde_json::Value = serde_json::from_str(v.trim()).unwrap();
    assert_eq!(v["n_hubs"], 95);
    assert_eq!(v["nearby"], serde_json::json!(theirs.nearby));
}

/// Our layers of random cities load the way the reference loads them, with and without
/// nearby pairs (the reference writes no `nearby_doors` layer when there are none).
#[test]
fn nomad_loader_reads_our_gravity_layers() {
    let Some(py) = gardencity_testkit::python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let c = random_city(&RandomCityParams { width: 45, height: 40, street_spacing: 5, seed: 7, ..Default::default() })
        .unwrap();
    let p = dir.path().join("c.gpkg");
    write_city(&c, &p, &WriteOptions::default()).unwrap();
    let g = Gravity::hub_proxy(&c, GravityParams { hub_size: Some(16), ..Default::default() }).unwrap();
    assert!(g.nearby_pairs().count() > 0);
    write_gravity(&p, &c, &g).unwrap();
    let v = check_loaded_as_by_nomad(&py, &p, &c, &g);
    assert_eq!(v["layers"]["grav_hub_info"]["rows"], c.buildings().len());

    // Every street cell a hub: every door is on its hub, so the nearby pairs are the
    // buildings sharing a door cell (dist 1)...
    let all = Gravity::hub_proxy_with_hubs(&c, c.streets().to_vec(), 2.0).unwrap();
    write_gravity(&p, &c, &all).unwrap();
    let pairs = reference_pairs(&c, &all);
    assert!(!pairs.is_empty() && pairs.iter().all(|p| p.2 == 1), "{pairs:?}");
    check_loaded_as_by_nomad(&py, &p, &c, &all);
    assert_eq!(read_gravity(&p, &c).unwrap().unwrap().gravity, all);
    // ...and with no shared doors there are none: no layer, which the reference reads
    // as no pairs.
    let d = distinct_doors(&c);
    let p = dir.path().join("distinct.gpkg");
    write_city(&d, &p, &WriteOptions::default()).unwrap();
    let none = Gravity::hub_proxy_with_hubs(&d, d.streets().to_vec(), 2.0).unwrap();
    assert_eq!(none.nearby_pairs().count(), 0);
    write_gravity(&p, &d, &none).unwrap();
    let v = check_loaded_as_by_nomad(&py, &p, &d, &none);
    assert_eq!(v["nearby_layer"], false);
    assert_eq!(read_gravity(&p, &d).unwrap().unwrap().gravity, none);
}

/// Without `nearby_doors` the reader derives nothing: the layer may be left out only when
/// the rule gives no pairs, else the file is refused naming the layer.
#[test]
fn a_missing_nearby_layer_means_no_pairs() {
    let dir = tempfile::tempdir().unwrap();
    let c = random_city(&RandomCityParams { width: 30, height: 30, street_spacing: 5, seed: 2, ..Default::default() })
        .unwrap();
    let p = dir.path().join("c.gpkg");
    write_city(&c, &p, &WriteOptions::default()).unwrap();
    let d = distinct_doors(&c);
    let none = Gravity::hub_proxy_with_hubs(&d, d.streets().to_vec(), 2.0).unwrap();
    assert_eq!(none.nearby_pairs().count(), 0);
    let pd = dir.path().join("d.gpkg");
    write_city(&d, &pd, &WriteOptions::default()).unwrap();
    // A model with pairs first: its layer goes when one without pairs replaces it.
    let some = Gravity::hub_proxy(&d, GravityParams { hub_size: Some(4), ..Default::default() }).unwrap();
    assert!(some.nearby_pairs().count() > 0);
    write_gravity(&pd, &d, &some).unwrap();
    write_gravity(&pd, &d, &none).unwrap();
    let conn = rusqlite::Connection::open(&pd).unwrap();
    let n: i64 =
        conn.query_row("SELECT count(*) FROM sqlite_master WHERE name = 'nearby_doors'", [], |r| r.get(0)).unwrap();
    assert_eq!(n, 0, "no pairs, no layer");
    drop(conn);
    assert_eq!(read_gravity(&pd, &d).unwrap().unwrap().gravity, none);
    let g = Gravity::hub_proxy(&c, GravityParams { hub_size: Some(9), ..Default::default() }).unwrap();
    assert!(g.nearby_pairs().count() > 0);
    write_gravity(&p, &c, &g).unwrap();
    let conn = rusqlite::Connection::open(&p).unwrap();
    conn.execute("DROP TABLE nearby_doors", []).unwrap();
    drop(conn);
    let msg = read_gravity(&p, &c).unwrap_err().to_string();
    assert!(msg.contains("c.gpkg") && msg.contains("nearby_doors") && msg.contains("missing"), "{msg}");
}
