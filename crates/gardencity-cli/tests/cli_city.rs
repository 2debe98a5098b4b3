//! `gardencity city random|info`, run as the real binary.

mod common;
use common::*;

#[test]
fn random_city_is_written_and_read_back() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.gpkg");
    let out = run_ok(
        gardencity()
            .args(["city", "random", "--width", "30", "--height", "20", "--seed", "9", "--block-side", "12.5", "-o"])
            .arg(&path),
    );
    assert!(out.contains("30 x 20 blocks"), "{out}");
    let city = gardencity_io::gpkg::read_city(&path).unwrap();
    let expected = gardencity::city::random::random_city(&gardencity::city::random::RandomCityParams {
        width: 30,
        height: 20,
        seed: 9,
        georef: gardencity::Georeference::centred_at(-75.1636, 39.9524, 30, 20, 12.5).unwrap(),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(city, expected);
    // Placed on the map: its centre in Philadelphia by default, anywhere with --origin
    // (a western longitude written as is, not as --origin=...).
    let centre = |c: &gardencity::City| {
        c.georef().to_lonlat(gardencity::Point::new(c.width() as f64 / 2.0, c.height() as f64 / 2.0))
    };
    let (lon, lat) = centre(&city);
    assert!((lon + 75.1636).abs() < 1e-9 && (lat - 39.9524).abs() < 1e-9, "{lon} {lat}");
    let london = dir.path().join("london.gpkg");
    run_ok(
        gardencity()
            .args(["city", "random", "--width", "20", "--height", "20", "--origin", "-0.1278,51.5074", "--out"])
            .arg(&london),
    );
    let (lon, lat) = centre(&gardencity_io::gpkg::read_city(&london).unwrap());
    assert!((lon + 0.1278).abs() < 1e-9 && (lat - 51.5074).abs() < 1e-9, "{lon} {lat}");
    let bad = gardencity()
        .args(["city", "random", "--width", "20", "--height", "20", "--origin", "10,95", "-o"])
        .arg(dir.path().join("x.gpkg"))
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("--origin 10,95: latitude 95"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    assert!(!dir.path().join("x.gpkg").exists());

    // Again without --overwrite: refused, file untouched; with it: fine.
    let before = std::fs::read(&path).unwrap();
    let out =
        gardencity().args(["city", "random", "--width", "10", "--height", "10", "-o"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: ") && err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    run_ok(gardencity().args(["city", "random", "--width", "10", "--height", "10", "--overwrite", "-o"]).arg(&path));
    assert_eq!(gardencity_io::gpkg::read_city(&path).unwrap().width(), 10);

    // info --json on our own file.
    let out = run_ok(gardencity().args(["city", "info", "--json"]).arg(&path));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["width"], 10);
    assert_eq!(v["street_components"], 1);
}

#[test]
fn info_on_the_garden_city() {
    let Some(path) = gardencity_testkit::shared_data("garden-city.gpkg") else { return };
    let out = run_ok(gardencity().args(["city", "info"]).arg(&path));
    for line in [
        "name: Garden City",
        "grid: 22 x 22 blocks",
        "buildings: 106 (home 20, workplace 31, retail 54, park 1, other 0)",
        "building blocks: 260",
        "street cells: 224 in 1 connected component (largest 224)",
        "georeference: block side 15 m, origin (-4265699, 4392976) Web Mercator, rotation 0 deg",
    ] {
        assert!(out.contains(line), "missing {line:?} in:\n{out}");
    }
    let out = run_ok(gardencity().args(["city", "info", "--json"]).arg(&path));
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["buildings"], 106);
    assert_eq!(v["buildings_by_type"]["retail"]["count"], 54);
    assert_eq!(v["buildings_by_type"]["park"]["blocks"], 16);
    assert_eq!(v["street_cells"], 224);
    assert_eq!(v["georeference"]["origin_x"], -4265699.0);
    assert_eq!(v["georeference"]["block_side_m"], 15.0);
    // The grid centre (11, 11) is 165 m from the origin each way; spherical Web Mercator inverse.
    let lon = v["centre_lonlat"][0].as_f64().unwrap();
    let lat = v["centre_lonlat"][1].as_f64().unwrap();
    let x = -4265699.0 + 165.0;
    let y = 4392976.0 + 165.0;
    let exp_lon = (x / 6_378_137.0f64).to_degrees();
    let exp_lat = (2.0 * (y / 6_378_137.0f64).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    assert!((lon - exp_lon).abs() < 1e-9 && (lat - exp_lat).abs() < 1e-9, "{lon} {lat} vs {exp_lon} {exp_lat}");
}

#[test]
fn width_zero_fails_cleanly_without_output() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("zero.gpkg");
    let out =
        gardencity().args(["city", "random", "--width", "0", "--height", "10", "-o"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: ") && err.contains("0 x 10") && err.contains("at least 1"), "{err}");
    assert!(!path.exists());
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn non_sqlite_input_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("notes.gpkg");
    std::fs::write(&path, "just some text, not a database\n").unwrap();
    let out = gardencity().args(["city", "info"]).arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.starts_with("error: cannot read the city: "), "{err}");
    assert!(err.contains("notes.gpkg") && err.contains("not an SQLite database"), "{err}");
    let missing = dir.path().join("missing.gpkg");
    let out = gardencity().args(["city", "info"]).arg(&missing).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.gpkg"));
}
