//! Fuzz tests (stable Rust, seeded): mutated copies of real inputs fed to every reader
//! of outside bytes: the city GeoPackage reader, the gravity layers, the rasterizer's
//! GeoPackage input, the snapshot decoder, the `.osm.pbf` reader, the anchors reader,
//! the TOML run and sweep specifications, and the dataset reader `plot` uses. Each must
//! return an error or a value: never panic, never hang. GeoPackages are mutated both as
//! bytes and as rows (a random cell of a random table set to an odd value).
//!
//! `GARDENCITY_FUZZ_CASES=N GARDENCITY_FUZZ_SEED=S` sets the cases per reader and the
//! seed (default 100 cases, seed 0); `scripts/fuzz.sh HOURS` runs them with fresh seeds.

use gardencity_testkit::fuzz::{budget, fuzz_file, rng, without_panic_or_hang};
use gardencity_testkit::shared_data;
use rand::Rng;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A directory that survives a failing test, so the offending input stays.
fn work_dir(reader: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("gardencity-fuzz-{reader}-{}", std::process::id()));
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// `fuzz_file` in a work directory removed after a success.
fn fuzz<R>(reader: &str, base: &[u8], ext: &str, read: R) -> u64
where
    R: Fn(&Path) -> bool + Send + Sync + Clone + 'static,
{
    let dir = work_dir(reader);
    let accepted = fuzz_file(reader, base, &dir, ext, read);
    let _ = std::fs::remove_dir_all(&dir);
    accepted
}

fn garden_city() -> Option<(PathBuf, Arc<gardencity::City>)> {
    let p = shared_data("garden-city.gpkg")?;
    let city = gardencity_io::gpkg::read_city(&p).unwrap();
    Some((p, Arc::new(city)))
}

/// Row-level mutations of a GeoPackage: each case sets one to four random cells of
/// random tables to NULL, a huge or negative number, NaN or infinity, random text or a
/// random blob, then runs `read`.
fn fuzz_rows<R>(reader: &str, base: &Path, read: R)
where
    R: Fn(&Path) -> bool + Send + Sync + Clone + 'static,
{
    let (cases, seed) = budget();
    let dir = work_dir(reader);
    for case in 0..cases {
        let mut rng = rng(reader, seed, case);
        let path = dir.join("case.gpkg");
        std::fs::copy(base, &path).unwrap();
        std::fs::set_permissions(&path, <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o644))
            .unwrap();
        {
            let c = rusqlite::Connection::open(&path).unwrap();
            let tables: Vec<String> = c
                .prepare(
                    "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
                          AND name NOT LIKE 'rtree_%'",
                )
                .unwrap()
                .query_map([], |r| r.get(0))
                .unwrap()
                .collect::<Result<_, _>>()
                .unwrap();
            for _ in 0..rng.random_range(1..=4) {
                let t = &tables[rng.random_range(0..tables.len())];
                let cols: Vec<String> = c
                    .prepare(&format!("SELECT name FROM pragma_table_info('{t}')"))
                    .and_then(|mut st| st.query_map([], |r| r.get(0))?.collect())
                    .unwrap_or_default();
                if cols.is_empty() {
                    continue;
                }
                let col = &cols[rng.random_range(0..cols.len())];
                let value: rusqlite::types::Value = match rng.random_range(0..8) {
                    0 => rusqlite::types::Value::Null,
                    1 => rusqlite::types::Value::Integer(i64::MAX - rng.random_range(0..2)),
                    2 => rusqlite::types::Value::Integer(-rng.random_range(1..1_000_000)),
                    3 => rusqlite::types::Value::Real(f64::NAN),
                    4 => rusqlite::types::Value::Real(if rng.random() { f64::INFINITY } else { -1e300 }),
                    5 => rusqlite::types::Value::Text(
                        ["", "x", "home", "POLYGON((0 0))", "1e999"][rng.random_range(0..5)].into(),
                    ),
                    6 => rusqlite::types::Value::Blob((0..rng.random_range(0..40)).map(|_| rng.random()).collect()),
                    _ => rusqlite::types::Value::Integer(rng.random_range(0..200)),
                };
                let sql = format!(
                    "UPDATE \"{t}\" SET \"{col}\" = ?1 WHERE rowid IN (SELECT rowid FROM \"{t}\" ORDER BY random() LIMIT 1)"
                );
                // Constraint failures (NOT NULL, primary keys) leave the row as it was.
                let _ = c.execute(&sql, [value]);
            }
        }
        let (p, f) = (path.clone(), read.clone());
        if let Err(why) = without_panic_or_hang(move || {
            f(&p);
        }) {
            let keep = dir.join(format!("failing-{reader}-{seed}-{case}.gpkg"));
            let _ = std::fs::rename(&path, &keep);
            panic!("{reader} (rows): seed {seed}, case {case}: {why} (input kept as {})", keep.display());
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn city_geopackage_reader() {
    let Some((p, _)) = garden_city() else { return };
    let read = |p: &Path| gardencity_io::gpkg::read_city(p).is_ok();
    fuzz("city-gpkg", &std::fs::read(&p).unwrap(), "gpkg", read);
    fuzz_rows("city-gpkg", &p, read);
}

#[test]
fn gravity_layers_reader() {
    let Some(p) = shared_data("nomad-fixture-with-gravity.gpkg") else { return };
    let read = |p: &Path| match gardencity_io::gpkg::read_city(p) {
        Ok(city) => gardencity_io::gpkg::gravity::read_gravity(p, &city).is_ok(),
        Err(_) => false,
    };
    assert!(read(&p), "the unmutated file reads");
    fuzz("gravity-gpkg", &std::fs::read(&p).unwrap(), "gpkg", read);
    fuzz_rows("gravity-gpkg", &p, read);
}

#[test]
fn rasterizer_geopackage_input() {
    let Some(p) = shared_data("city_fixture.gpkg") else { return };
    let read = |p: &Path| {
        let opts = gardencity_osm::InputOptions::default();
        match gardencity_osm::read_raster_input_gpkg(p, &opts) {
            Ok(input) => gardencity_osm::rasterize(&input, &gardencity_osm::RasterParams::default()).is_ok(),
            Err(_) => false,
        }
    };
    fuzz("raster-gpkg", &std::fs::read(&p).unwrap(), "gpkg", read);
    fuzz_rows("raster-gpkg", &p, read);
}

#[test]
fn snapshot_decoder() {
    let Some((_, city)) = garden_city() else { return };
    let g = gardencity::gravity::Gravity::hub_proxy(&city, Default::default()).unwrap();
    let base = gardencity_io::snapshot::encode_snapshot(&city, Some(&g));
    let accepted = fuzz("snapshot", &base, "gcsnap", |p: &Path| gardencity_io::snapshot::read_snapshot(p).is_ok());
    // The checksum catches every mutation but a few (an empty mutation set is impossible).
    assert!(accepted < budget().0 / 2 + 1, "{accepted} mutated snapshots accepted");
}

#[test]
fn osm_pbf_reader() {
    let Some(p) = shared_data("helsinki.osm.pbf") else { return };
    let read = |p: &Path| {
        let Ok(extent) = gardencity_osm::extract_extent(p) else { return false };
        let _ = extent;
        let opts = gardencity_osm::OsmOptions {
            boundary: gardencity_osm::OsmBoundary::Bbox { west: 24.94, south: 60.165, east: 24.95, north: 60.175 },
            categories: Default::default(),
            infer_residential: false,
            consolidate_streets: true,
        };
        gardencity_osm::read_osm_pbf(p, &opts).is_ok()
    };
    fuzz("osm-pbf", &std::fs::read(&p).unwrap(), "osm.pbf", read);
}

#[test]
fn anchors_reader() {
    let Some((_, city)) = garden_city() else { return };
    let ids: Vec<&str> = city.buildings().iter().map(|b| b.id.as_str()).collect();
    let mut csv = String::from("agent,home,workplace\n");
    for a in 0..20 {
        csv.push_str(&format!("{a},\"{}\",{}\n", ids[a % ids.len()], ids[(a * 7 + 3) % ids.len()]));
    }
    let c = city.clone();
    fuzz("anchors", csv.as_bytes(), "csv", move |p: &Path| gardencity_io::anchors::read_anchor_table(p, &c).is_ok());
}

#[test]
fn run_and_sweep_specifications() {
    let spec = "agents = 20\nstart = \"2024-01-01T07:00\"\ndays = 2.5\ntz = \"Etc/GMT+4\"\nseed = 3\n\
                outputs = [\"sparse\", \"diaries\"]\nshard = \"1/4\"\nha_m = 12.0\n\
                [mobility]\ndt = 1.0\nrho = 0.6\ngamma = 0.21\n\
                [sampling]\nbeta_start = 300.0\nbeta_durations = 55.0\nbeta_ping = 7.0\n\
                [gravity]\nhubs = 8\nexponent = 2.0\n\
                [sweep.grid]\nbeta_ping = [5.0, 6.0]\n";
    assert!(gardencity_run::RunSpec::from_toml(spec).is_ok());
    fuzz("run-spec", spec.as_bytes(), "toml", |p: &Path| {
        let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        gardencity_run::RunSpec::from_toml(&text).and_then(|s| s.window().map(|_| ())).is_ok()
    });
    let sweep = "[base]\nbeta_start = 300.0\n[grid]\nha_m = [13.0, 15.0]\nbeta_ping = [5.0, 8.0]\n\
                 [[config]]\nname = \"all-day\"\none_burst = true\n";
    fuzz("sweep-spec", sweep.as_bytes(), "toml", |p: &Path| {
        let text = String::from_utf8_lossy(&std::fs::read(p).unwrap()).into_owned();
        match gardencity_run::SweepSpec::from_toml(&text) {
            Ok(s) => s.expand(&gardencity::sampling::SamplingConfig::default().resolved(), 15.0).is_ok(),
            Err(_) => false,
        }
    });
}

/// A small real run of the binary (`simulate ARGS --out DIR/run`); returns `DIR/run`.
fn small_run(reader: &str, args: &[&str]) -> PathBuf {
    let run = work_dir(reader).join("run");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_gardencity"))
        .arg("simulate")
        .args(args)
        .args(["-q", "--out"])
        .arg(&run)
        .env_remove("CI")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    run
}

/// The dataset reader `plot` uses: a real small run whose manifest or one part file is
/// replaced by a mutated copy.
#[test]
fn dataset_reader() {
    let run = small_run("dataset-run", &["--agents", "6", "--days", "1", "--seed", "2", "--outputs", "sparse,diaries"]);
    let part = std::fs::read_dir(run.join("sparse/date=2024-01-01"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "parquet"))
        .unwrap();
    let read_all = |dir: &Path| {
        use gardencity_io::dataset::{for_each_diary, read_manifest, read_pings, read_user_ids, OutputKind, RowFilter};
        let f = RowFilter::default();
        read_manifest(dir).is_ok()
            && read_user_ids(dir, OutputKind::Sparse, &f).is_ok()
            && read_pings(dir, OutputKind::Sparse, &f).is_ok()
            && for_each_diary(dir, OutputKind::Diary, &f, |_| Ok(())).is_ok()
    };
    assert!(read_all(&run));
    for (name, target) in [("dataset-manifest", run.join("manifest.json")), ("dataset-parquet", part)] {
        let original = std::fs::read(&target).unwrap();
        let (r, t) = (run.clone(), target.clone());
        fuzz(name, &original, "bytes", move |p: &Path| {
            std::fs::copy(p, &t).unwrap();
            read_all(&r)
        });
        std::fs::write(&target, original).unwrap();
    }
    let _ = std::fs::remove_dir_all(run.parent().unwrap());
}

/// The anchors reader's Parquet side: the homes table of a real run, mutated.
#[test]
fn anchors_parquet_reader() {
    let Some((p, city)) = garden_city() else { return };
    let city_arg = p.to_str().unwrap();
    let run = small_run("anchors-run", &["--agents", "30", "--days", "1", "--outputs", "homes", "--city", city_arg]);
    let part = std::fs::read_dir(run.join("homes/date=2024-01-01")).unwrap().next().unwrap().unwrap().path();
    assert!(gardencity_io::anchors::read_anchor_table(&part, &city).is_ok());
    let base = std::fs::read(&part).unwrap();
    fuzz("anchors-parquet", &base, "parquet", move |p: &Path| {
        gardencity_io::anchors::read_anchor_table(p, &city).is_ok()
    });
    let _ = std::fs::remove_dir_all(run.parent().unwrap());
}
