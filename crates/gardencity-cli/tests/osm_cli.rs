//! `gardencity city rasterize|from-osm`, run as the real binary.

mod common;
use common::*;

use gardencity::city::BuildingType;
use gardencity_testkit::shared_data;

#[test]
fn rasterize_fixture_writes_the_reference_city() {
    let Some(fixture) = shared_data("city_fixture.gpkg") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("philly.gpkg");
    let out = run_ok(
        gardencity().args(["city", "rasterize"]).arg(&fixture).args(["--resolve-overlaps", "-o"]).arg(&out_path),
    );
    assert!(out.contains("grid 99 x 85, 6650 blocks"), "{out}");
    assert!(out.contains("skipped 3 non-polygon buildings"), "{out}");
    let city = gardencity_io::gpkg::read_city(&out_path).unwrap();
    assert_eq!((city.width(), city.height()), (99, 85));
    assert_eq!(city.streets().len(), 1242);
    assert_eq!(city.buildings().len(), 110);
    assert_eq!(city.buildings_of_type(BuildingType::Park).len(), 30);
    assert_eq!(city.georef().block_side, 15.0);

    // Existing output without --overwrite: refused and untouched.
    let before = std::fs::read(&out_path).unwrap();
    let err = run_err(gardencity().args(["city", "rasterize"]).arg(&fixture).arg("-o").arg(&out_path));
    assert!(err.contains("already exists"), "{err}");
    assert_eq!(std::fs::read(&out_path).unwrap(), before);

    // Bad option values and inputs: clear messages, no output file.
    let bad = dir.path().join("bad.gpkg");
    let err =
        run_err(gardencity().args(["city", "rasterize"]).arg(&fixture).args(["--rotate", "sideways", "-o"]).arg(&bad));
    assert!(err.contains("auto, none or a number"), "{err}");
    let err =
        run_err(gardencity().args(["city", "rasterize"]).arg(&fixture).args(["--type-column", "kind", "-o"]).arg(&bad));
    assert!(err.contains("no building type column \"kind\"") && err.contains("--type-column none"), "{err}");
    // Footprints read without their types: one type for all, or the random city's mix.
    let homes = dir.path().join("homes.gpkg");
    run_ok(
        gardencity()
            .args(["city", "rasterize"])
            .arg(&fixture)
            .args(["--type-column", "none", "--resolve-overlaps", "--out"])
            .arg(&homes),
    );
    let c = gardencity_io::gpkg::read_city(&homes).unwrap();
    assert!(c.buildings().iter().all(|b| b.kind == gardencity::BuildingType::Home), "--default-type defaults to home");
    let mix = dir.path().join("mix.gpkg");
    run_ok(
        gardencity()
            .args(["city", "rasterize"])
            .arg(&fixture)
            .args(["--type-column", "none", "--default-type", "mix", "--seed", "2", "--resolve-overlaps", "--out"])
            .arg(&mix),
    );
    let c = gardencity_io::gpkg::read_city(&mix).unwrap();
    for t in [gardencity::BuildingType::Home, gardencity::BuildingType::Workplace, gardencity::BuildingType::Retail] {
        assert!(!c.buildings_of_type(t).is_empty(), "mix without {t}");
    }
    let err = run_err(
        gardencity()
            .args(["city", "rasterize"])
            .arg(&fixture)
            .args(["--type-column", "none", "--default-type", "hotel", "-o"])
            .arg(&bad),
    );
    assert!(err.contains("or mix"), "{err}");
    let err = run_err(gardencity().args(["city", "rasterize", "/nonexistent.gpkg", "-o"]).arg(&bad));
    assert!(err.contains("/nonexistent.gpkg"), "{err}");
    assert!(!bad.exists());
}

#[test]
fn from_osm_helsinki_bbox() {
    let Some(pbf) = shared_data("helsinki.osm.pbf") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("hki.gpkg");
    let out = run_ok(
        gardencity()
            .args(["city", "from-osm"])
            .arg(&pbf)
            .args([
                "--bbox",
                "24.938,60.166,24.950,60.176",
                "--rotate",
                "auto",
                "--keep-other",
                "--resolve-overlaps",
                "-o",
            ])
            .arg(&out_path),
    );
    assert!(out.contains("selected 189 building ways, 28 building relations"), "{out}");
    let city = gardencity_io::gpkg::read_city(&out_path).unwrap();
    assert!(city.buildings().len() > 100);
    assert_eq!(city.street_components().count(), 1);
    assert!(city.georef().rotation_deg != 0.0);
    assert!(out.contains("street graph:"), "{out}");
    // Without the street clean-up: no street graph line, more street cells.
    let raw_path = dir.path().join("raw.gpkg");
    let out = run_ok(
        gardencity()
            .args(["city", "from-osm"])
            .arg(&pbf)
            .args(["--bbox", "24.938,60.166,24.950,60.176", "--rotate", "auto", "--no-street-cleanup", "-o"])
            .arg(&raw_path),
    );
    assert!(!out.contains("street graph:"), "{out}");
    // A western longitude is read as written (not taken for an option).
    let west = gardencity()
        .args(["city", "from-osm"])
        .arg(&pbf)
        .args(["--bbox", "-24.950,60.166,-24.938,60.176", "-o"])
        .arg(dir.path().join("w.gpkg"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&west.stderr);
    assert!(!err.contains("unexpected argument") && !err.contains("For more information"), "{err}");
    let raw = gardencity_io::gpkg::read_city(&raw_path).unwrap();
    assert!(raw.streets().len() > city.streets().len());

    let bad = dir.path().join("bad.gpkg");
    let err = run_err(gardencity().args(["city", "from-osm"]).arg(&pbf).args(["--bbox", "2,48,2.1", "-o"]).arg(&bad));
    assert!(err.contains("four numbers"), "{err}");
    let err =
        run_err(gardencity().args(["city", "from-osm"]).arg(&pbf).args(["--bbox", "2,48,2.1,48.1", "-o"]).arg(&bad));
    assert!(err.contains("outside the extract"), "{err}");
    // A boundary file (here the Philadelphia fixture's boundary layer) is read, then
    // found outside the Helsinki extract.
    if let Some(fixture) = shared_data("city_fixture.gpkg") {
        let err = run_err(
            gardencity().args(["city", "from-osm"]).arg(&pbf).arg("--boundary").arg(&fixture).arg("-o").arg(&bad),
        );
        assert!(err.contains("outside the extract"), "{err}");
    }
    assert!(!bad.exists());
}
