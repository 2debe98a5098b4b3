//! An independent reader (GDAL through pyogrio) opens our GeoPackages.

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity_io::gpkg::{write_city, WriteOptions};

const SCRIPT: &str = r#"
import sys, json, pyogrio
path = sys.argv[1]
out = {"layers": [[str(n), str(t)] for n, t in pyogrio.list_layers(path)]}
for layer in ["buildings", "streets", "city_properties"]:
    info = pyogrio.read_info(path, layer=layer)
    out[layer] = {"features": int(info["features"]), "fields": [str(f) for f in info["fields"]],
                  "geometry_type": info["geometry_type"], "fid": info["fid_column"], "geom": info["geometry_name"]}
import struct
from pyogrio.raw import read
meta, _, geoms, fields = read(path, layer="buildings", where="id = '%s'" % sys.argv[2])
cols = list(meta["fields"])
assert len(geoms) == 1, len(geoms)
wkb = bytes(geoms[0])
# GDAL hands back plain WKB: byte order, type 3 (Polygon), rings of points.
order = "<" if wkb[0] == 1 else ">"
gtype, nrings = struct.unpack(order + "II", wkb[1:9])
off, xs, ys = 9, [], []
for _ in range(nrings):
    (n,) = struct.unpack(order + "I", wkb[off:off + 4]); off += 4
    for _ in range(n):
        x, y = struct.unpack(order + "dd", wkb[off:off + 16]); off += 16
        xs.append(x); ys.append(y)
out["wkb_type"] = gtype
out["bounds"] = [min(xs), min(ys), max(xs), max(ys)]
out["door"] = [int(fields[cols.index("door_cell_x")][0]), int(fields[cols.index("door_cell_y")][0])]
out["type"] = str(fields[cols.index("building_type")][0])
pmeta, _, _, pfields = read(path, layer="city_properties", read_geometry=False)
pcols = list(pmeta["fields"])
out["name"] = str(pfields[pcols.index("name")][0])
out["block_side_length"] = float(pfields[pcols.index("block_side_length")][0])
print(json.dumps(out))
"#;

#[test]
fn pyogrio_reads_a_written_city() {
    let Some(py) = gardencity_testkit::python() else { return };
    let city = random_city(&RandomCityParams { width: 40, height: 30, seed: 11, ..Default::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random.gpkg");
    write_city(&city, &path, &WriteOptions::default()).unwrap();
    let b = city.buildings().iter().max_by_key(|b| b.size()).unwrap();
    let out = gardencity_testkit::run_python(&py, SCRIPT, &[path.to_str().unwrap(), &b.id]);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(
        v["layers"],
        serde_json::json!([["buildings", "Polygon"], ["streets", "Polygon"], ["city_properties", "Polygon"]])
    );
    assert_eq!(v["buildings"]["features"], city.buildings().len());
    assert_eq!(v["streets"]["features"], city.streets().len());
    assert_eq!(v["city_properties"]["features"], 1);
    assert_eq!(v["buildings"]["fid"], "fid");
    assert_eq!(v["buildings"]["geom"], "geom");
    assert_eq!(
        v["buildings"]["fields"],
        serde_json::json!([
            "id",
            "building_type",
            "door_cell_x",
            "door_cell_y",
            "size",
            "door_point_x",
            "door_point_y"
        ])
    );
    assert_eq!(v["streets"]["fields"], serde_json::json!(["coord_x", "coord_y", "id"]));
    let pf = v["city_properties"]["fields"].as_array().unwrap();
    for f in [
        "name",
        "block_side_length",
        "web_mercator_origin_x",
        "web_mercator_origin_y",
        "city_boundary",
        "buildings_outline",
    ] {
        assert!(pf.iter().any(|x| x == f), "city_properties lacks {f}: {pf:?}");
    }
    let expect_bounds = [b.min.x as f64, b.min.y as f64, (b.max.x + 1) as f64, (b.max.y + 1) as f64];
    assert_eq!(v["wkb_type"], 3);
    assert_eq!(v["bounds"], serde_json::json!(expect_bounds));
    assert_eq!(v["door"], serde_json::json!([b.door.x, b.door.y]));
    assert_eq!(v["type"], b.kind.as_str());
    assert_eq!(v["name"], city.name());
    assert_eq!(v["block_side_length"], 15.0);
}
