//! Reliability of the real binary: outputs never replace inputs, standard output
//! failures, sizes that cannot fit, anchors tables, and messages that say what is wrong.

mod common;
use common::*;

use gardencity_testkit::shared_data;
use std::path::{Path, PathBuf};
use std::process::Stdio;

fn random_city(dir: &Path, name: &str) -> PathBuf {
    let p = dir.join(name);
    run_ok(gardencity().args(["city", "random", "--width", "30", "--height", "30", "--seed", "2", "-o"]).arg(&p));
    p
}

/// A short run (parquet) in `dir/name`, with the homes output (seed 1 unless `extra` gives one).
fn run(dir: &Path, name: &str, extra: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let seed: &[&str] = if extra.contains(&"--seed") { &[] } else { &["--seed", "1"] };
    run_ok(
        gardencity()
            .args(["simulate", "--agents", "12", "--days", "1", "-q"])
            .args(seed)
            .args(["--outputs", "sparse,homes"])
            .args(extra)
            .arg("--out")
            .arg(&out)
            .env_remove("CI"),
    );
    out
}

#[test]
fn outputs_never_replace_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let city = random_city(dir.path(), "c.gpkg");
    let before = std::fs::read(&city).unwrap();
    for overwrite in [false, true] {
        let mut cmd = gardencity();
        cmd.args(["snapshot"]).arg(&city).arg("-o").arg(&city);
        if overwrite {
            cmd.arg("--overwrite");
        }
        let err = run_err(&mut cmd);
        assert!(err.contains("refusing to write onto an input"), "{err}");
        // The same file under another name (a hard link) is the input too.
        let link = dir.path().join(format!("link{overwrite}.gpkg"));
        std::fs::hard_link(&city, &link).unwrap();
        let err = run_err(gardencity().args(["snapshot"]).arg(&city).arg("-o").arg(&link).arg("--overwrite"));
        assert!(err.contains("refusing to write onto an input"), "{err}");
        let mut cmd = gardencity();
        cmd.args(["city", "rasterize"]).arg(&city).arg("-o").arg(&city);
        if overwrite {
            cmd.arg("--overwrite");
        }
        let err = run_err(&mut cmd);
        assert!(err.contains("refusing to write onto an input"), "{err}");
        let err = run_err(gardencity().args(["plot", "city"]).arg(&city).arg("-o").arg(&city).arg("--overwrite"));
        assert!(err.contains(".gpkg") && !err.contains("panicked"), "{err}");
    }
    assert_eq!(std::fs::read(&city).unwrap(), before, "the input is untouched");
    // snapshot and plot refuse an existing output without --overwrite, like the other commands.
    let snap = dir.path().join("c.gcsnap");
    run_ok(gardencity().arg("snapshot").arg(&city).arg("-o").arg(&snap));
    let snap_before = std::fs::read(&snap).unwrap();
    let err = run_err(gardencity().arg("snapshot").arg(&city).arg("-o").arg(&snap));
    assert!(err.contains("already exists (pass --overwrite to replace it)"), "{err}");
    assert_eq!(std::fs::read(&snap).unwrap(), snap_before);
    run_ok(gardencity().arg("snapshot").arg(&city).arg("-o").arg(&snap).arg("--overwrite"));
    let pic = dir.path().join("c.png");
    run_ok(gardencity().args(["plot", "city"]).arg(&city).arg("-o").arg(&pic));
    let err = run_err(gardencity().args(["plot", "city"]).arg(&city).arg("-o").arg(&pic));
    assert!(err.contains("already exists (pass --overwrite to replace it)"), "{err}");
    run_ok(gardencity().args(["plot", "city"]).arg(&city).arg("-o").arg(&pic).arg("--overwrite"));
    // from-osm: the extract is an input.
    if let Some(pbf) = shared_data("helsinki.osm.pbf") {
        let copy = dir.path().join("x.osm.pbf");
        std::fs::copy(&pbf, &copy).unwrap();
        let err = run_err(
            gardencity()
                .args(["city", "from-osm"])
                .arg(&copy)
                .args(["--bbox", "24.938,60.166,24.950,60.176", "--overwrite", "-o"])
                .arg(&copy),
        );
        assert!(err.contains("refusing to write onto an input"), "{err}");
        assert_eq!(std::fs::read(&copy).unwrap(), std::fs::read(&pbf).unwrap());
    }
}

#[test]
fn a_closed_pipe_ends_quietly_and_a_full_disk_is_an_error() {
    let Some(city) = shared_data("garden-city.gpkg") else { return };
    // The reading end is closed before the command writes anything: EPIPE.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = gardencity().args(["city", "info", "--json"]).arg(&city).stdout(writer).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "status {} on a closed pipe: {err}", out.status);
    assert!(err.is_empty(), "nothing on stderr: {err}");
    if Path::new("/dev/full").exists() {
        for args in [&["city", "info"][..], &["city", "info", "--json"]] {
            let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
            let out = gardencity().args(args).arg(&city).stdout(Stdio::from(full)).output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(1), "{err}");
            assert_eq!(err.trim_end(), "error: writing to standard output: No space left on device (os error 28)");
        }
        // Every command printing a summary: also `city random`.
        let dir = tempfile::tempdir().unwrap();
        let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
        let out = gardencity()
            .args(["city", "random", "--width", "10", "--height", "10", "-o"])
            .arg(dir.path().join("r.gpkg"))
            .stdout(Stdio::from(full))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success() && err.contains("writing to standard output"), "{err}");
    }
}

#[test]
fn sizes_that_cannot_fit_are_refused_up_front() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("big.gpkg");
    let err = run_err(gardencity().args(["city", "random", "--width", "50000", "--height", "50000", "-o"]).arg(&out));
    assert!(err.contains("50000 x 50000: 2500000000 blocks"), "{err}");
    assert!(err.contains("its grid alone would need 10.0 GB"), "{err}");
    assert!(!out.exists());
    let err = run_err(
        gardencity().args(["city", "random", "--width", "4294967295", "--height", "4294967295", "-o"]).arg(&out),
    );
    assert!(err.contains("18446744065119617025 blocks"), "{err}");
}

#[test]
fn anchors_from_run_directories_and_strict_csv() {
    use gardencity_io::dataset::{read_homes, RowFilter};
    let dir = tempfile::tempdir().unwrap();
    let a = run(dir.path(), "a", &[]);
    let pairs = |d: &Path| {
        let mut v: Vec<(String, String)> =
            read_homes(d, &RowFilter::default()).unwrap().into_iter().map(|r| (r.home, r.workplace)).collect();
        v.sort();
        v
    };
    // The homes dataset directory and the run directory both work.
    let homes = a.join("homes");
    let b = run(dir.path(), "b", &["--seed", "2", "--anchors", homes.to_str().unwrap()]);
    assert_eq!(pairs(&a), pairs(&b));
    let c = run(dir.path(), "c", &["--seed", "3", "--anchors", a.to_str().unwrap()]);
    assert_eq!(pairs(&a), pairs(&c));
    // CSV: a BOM and quoted fields are read as such.
    let h = read_homes(&a, &RowFilter::default()).unwrap();
    let csv = dir.path().join("anchors.csv");
    std::fs::write(&csv, format!("\u{feff}agent,home,workplace,note\n3,\"{}\",,\"a, b\nc\"\n", h[0].home)).unwrap();
    run(dir.path(), "d", &["--anchors", csv.to_str().unwrap()]);
    // A duplicate agent index is an error naming both rows.
    std::fs::write(&csv, format!("agent,home,workplace\n3,{},\n3,{},\n", h[0].home, h[1].home)).unwrap();
    let err = run_err(
        gardencity()
            .args(["simulate", "--agents", "12", "--days", "1", "-q", "--anchors"])
            .arg(&csv)
            .arg("--out")
            .arg(dir.path().join("e")),
    );
    assert!(err.contains("anchors.csv, row 2, column agent: agent 3 was already given by row 1"), "{err}");
    // A short row.
    std::fs::write(&csv, format!("home,workplace\n{},\n{}\n", h[0].home, h[1].home)).unwrap();
    let err = run_err(
        gardencity()
            .args(["simulate", "--agents", "12", "--days", "1", "-q", "--anchors"])
            .arg(&csv)
            .arg("--out")
            .arg(dir.path().join("e")),
    );
    assert!(err.contains("anchors.csv, row 2 (line 3): 1 fields, but the header has 2"), "{err}");
}

#[test]
fn messages_say_what_is_wrong_once() {
    let dir = tempfile::tempdir().unwrap();
    // A missing file: the OS error once, not twice.
    let err = run_err(
        gardencity()
            .args(["simulate", "--city"])
            .arg(dir.path().join("none.gcsnap"))
            .arg("--out")
            .arg(dir.path().join("o")),
    );
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    let err = run_err(
        gardencity().args(["plot", "city"]).arg(dir.path().join("none.gpkg")).arg("-o").arg(dir.path().join("p.png")),
    );
    assert_eq!(err.matches("none.gpkg").count(), 1, "{err}");
    assert_eq!(err.matches("No such file or directory").count(), 1, "{err}");
    // A snapshot cut at 6 bytes is truncated, not "expected GCSNAP, found GCSNAP".
    let city = random_city(dir.path(), "c.gpkg");
    let snap = dir.path().join("c.gcsnap");
    run_ok(gardencity().arg("snapshot").arg(&city).arg("-o").arg(&snap));
    let cut = dir.path().join("cut.gcsnap");
    std::fs::write(&cut, &std::fs::read(&snap).unwrap()[..6]).unwrap();
    let err = run_err(gardencity().args(["simulate", "--city"]).arg(&cut).arg("--out").arg(dir.path().join("o")));
    assert!(err.contains("cut.gcsnap: truncated snapshot: 6 bytes, shorter than the 28-byte header"), "{err}");
    // A dropped table is not listed as present.
    let conn = rusqlite::Connection::open(&city).unwrap();
    conn.execute_batch("DROP TABLE streets;").unwrap();
    drop(conn);
    let err = run_err(gardencity().args(["city", "info"]).arg(&city));
    assert!(err.contains("no layer \"streets\" (layers present: buildings, city_properties;"), "{err}");
    // One table of a run instead of the run: plot takes the run (tests/cli_plot.rs); a
    // table directory whose parent is not a finished run is still named as a table.
    let r = run(dir.path(), "r", &[]);
    std::fs::remove_file(r.join("_SUCCESS")).unwrap();
    let err = run_err(
        gardencity().args(["plot", "pings", "--data"]).arg(r.join("sparse")).arg("-o").arg(dir.path().join("p.png")),
    );
    assert!(err.contains("this is one table of a run (its sparse output); give the run directory"), "{err}");
    let err = run_err(
        gardencity()
            .args(["plot", "pings", "--data"])
            .arg(dir.path().join("nothing"))
            .arg("-o")
            .arg(dir.path().join("p.png")),
    );
    assert!(err.contains("nothing: no such directory"), "{err}");
    // .osm.pbf inputs: an empty file and a directory.
    let empty = dir.path().join("empty.osm.pbf");
    std::fs::write(&empty, b"").unwrap();
    let out = dir.path().join("x.gpkg");
    let err = run_err(gardencity().args(["city", "from-osm"]).arg(&empty).args(["--bbox", "0,0,1,1", "-o"]).arg(&out));
    assert!(err.contains("empty.osm.pbf: cannot open: the file is empty (0 bytes)"), "{err}");
    let err =
        run_err(gardencity().args(["city", "from-osm"]).arg(dir.path()).args(["--bbox", "0,0,1,1", "-o"]).arg(&out));
    assert!(err.contains("cannot open: it is a directory, not a file"), "{err}");
    let Some(pbf) = shared_data("helsinki.osm.pbf") else { return };
    // A tiny bbox inside the extract is not "outside the extract"; area errors name --boundary.
    let err = run_err(
        gardencity()
            .args(["city", "from-osm"])
            .arg(&pbf)
            .args(["--bbox", "24.94,60.17,24.94001,60.17001", "-o"])
            .arg(&out),
    );
    assert!(!err.contains("outside the extract"), "{err}");
    assert!(err.contains("inside the boundary W,S,E,N = 24.940000,60.170000,24.940010,60.170010"), "{err}");
    assert!(err.contains("--boundary FILE"), "{err}");
    let err =
        run_err(gardencity().args(["city", "from-osm"]).arg(&pbf).args(["--bbox", "2,48,2.1,48.1", "-o"]).arg(&out));
    assert!(err.contains("outside the extract") && err.contains("--boundary FILE"), "{err}");
    assert!(!out.exists());
}

#[test]
fn from_osm_defaults_to_the_extent_of_the_extract() {
    let Some(pbf) = shared_data("helsinki.osm.pbf") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("all.gpkg");
    let o = gardencity().args(["city", "from-osm"]).arg(&pbf).arg("-o").arg(&out_path).output().unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    assert!(err.contains("no --bbox or --boundary: reading the whole extract, W,S,E,N = 24.93"), "{err}");
    let city = gardencity_io::gpkg::read_city(&out_path).unwrap();
    assert!(city.buildings().len() > 50, "{}", city.buildings().len());
}

/// SIGINT while `gravity` writes its layers: exit 130, the city file unchanged, no
/// temporary copy or journal left; and copies left by killed writers are removed by
/// the next `gravity` run.
#[test]
fn gravity_interrupted_while_writing_leaves_the_city_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let city = tmp.path().join("c.gpkg");
    run_ok(gardencity().args(["city", "random", "--width", "250", "--height", "250", "--seed", "2", "-o"]).arg(&city));
    let before = std::fs::read(&city).unwrap();
    let temps = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .filter(|n| n.contains(".gravity-"))
            .collect()
    };
    let child = gardencity().arg("gravity").arg(&city).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while temps(tmp.path()).is_empty() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert!(!temps(tmp.path()).is_empty(), "the write never started");
    std::thread::sleep(std::time::Duration::from_millis(50));
    std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{err}");
    assert!(err.contains("interrupted by SIGINT") && err.contains("unchanged"), "{err}");
    assert!(temps(tmp.path()).is_empty(), "left behind: {:?}", temps(tmp.path()));
    assert!(std::fs::read(&city).unwrap() == before, "the city file changed");
    // What a SIGKILLed writer leaves (its process is gone) is removed by the next run.
    let small = random_city(tmp.path(), "s.gpkg");
    for name in [".s.gpkg.gravity-4000000000.tmp", ".s.gpkg.gravity-4000000000.tmp-journal"] {
        std::fs::write(tmp.path().join(name), "left by a killed run").unwrap();
    }
    std::fs::write(tmp.path().join(".s.gpkg.gravity-notes.txt"), "not ours").unwrap();
    run_ok(gardencity().arg("gravity").arg(&small));
    assert_eq!(temps(tmp.path()), vec![".s.gpkg.gravity-notes.txt".to_string()]);
}

/// A city GeoPackage whose georeference cannot place it on the map, or whose layers
/// are declared in a map CRS, is refused naming the column or layer and the CRS.
#[test]
fn impossible_georeferences_and_map_crs_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("UPDATE city_properties SET web_mercator_origin_x = 9e999", "web_mercator_origin_x", "a finite number"),
        ("UPDATE city_properties SET rotation_deg = -9e999", "rotation_deg", "a finite number"),
        ("UPDATE city_properties SET block_side_length = 1e300", "beyond the Web Mercator extent", "1e300"),
        ("UPDATE city_properties SET block_side_length = 1e-300", "expected at least 0.01 m", "block_side"),
        ("UPDATE city_properties SET web_mercator_origin_y = 3e7", "beyond the Web Mercator extent", "30000450"),
        (
            "INSERT OR IGNORE INTO gpkg_spatial_ref_sys (srs_name, srs_id, organization, organization_coordsys_id, \
             definition) VALUES ('WGS 84 / Pseudo-Mercator', 3857, 'EPSG', 3857, 'PROJCS'); \
             UPDATE gpkg_geometry_columns SET srs_id = 3857 WHERE table_name = 'buildings'",
            "layer \"buildings\" is declared in EPSG:3857 (Web Mercator metres",
            "city rasterize",
        ),
    ];
    for (i, (sql, first, second)) in cases.iter().enumerate() {
        let p = random_city(tmp.path(), &format!("c{i}.gpkg"));
        let has_props = {
            let c = rusqlite::Connection::open(&p).unwrap();
            c.execute_batch(sql).unwrap();
            c.query_row("SELECT count(*) FROM city_properties", [], |r| r.get::<_, i64>(0)).unwrap()
        };
        assert_eq!(has_props, 1);
        let out = tmp.path().join(format!("run{i}"));
        let e = run_err(
            gardencity().args(["simulate", "--agents", "2", "--days", "1", "--city"]).arg(&p).arg("--out").arg(&out),
        );
        assert!(e.contains(first) && e.contains(second), "{sql}: {e}");
        assert!(!out.join("_SUCCESS").exists());
        let e = run_err(gardencity().args(["city", "info"]).arg(&p));
        assert!(e.contains(first), "city info, {sql}: {e}");
    }
}

/// A standard error that cannot be written (`2>/dev/full`) loses the notes, not the run.
#[test]
fn an_unwritable_stderr_loses_only_the_notes() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    let full = std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let o = gardencity()
        .args(["simulate", "--agents", "3", "--days", "1", "--out"])
        .arg(&out)
        .env_remove("CI")
        .stderr(full)
        .output()
        .unwrap();
    assert!(o.status.success(), "status {:?}", o.status);
    assert!(out.join("_SUCCESS").is_file());
}
