//! `gardencity plot city|pings|heatmap`, run as the real binary on a real simulated run.

mod common;
use common::*;

use std::path::Path;

fn png_size(path: &Path) -> (u32, u32) {
    let pm = tiny_skia::Pixmap::load_png(path).unwrap();
    (pm.width(), pm.height())
}

fn files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    v.sort();
    v
}

#[test]
fn plots_a_simulated_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("run");
    run_ok(
        gardencity()
            .args(["simulate", "--agents", "3", "--days", "1", "--outputs", "sparse,diaries,homes", "-q", "--out"])
            .arg(&data),
    );
    let pics = dir.path().join("pics");
    std::fs::create_dir(&pics).unwrap();

    // City map of the built-in default city, PNG and SVG.
    let out = run_ok(gardencity().args(["plot", "city", "--doors", "--width", "800", "-o"]).arg(pics.join("city.png")));
    assert!(out.contains("city.png (800 x"), "{out}");
    assert_eq!(png_size(&pics.join("city.png")).0, 800);
    run_ok(gardencity().args(["plot", "city", "-o"]).arg(pics.join("city.svg")));
    // One spelling for the city in every plot: --city (the positional form still works).
    if let Some(garden) = gardencity_testkit::shared_data("garden-city.gpkg") {
        run_ok(gardencity().args(["plot", "city", "--city"]).arg(&garden).arg("--out").arg(pics.join("g1.png")));
        run_ok(gardencity().args(["plot", "city"]).arg(&garden).arg("-o").arg(pics.join("g2.png")));
        assert_eq!(std::fs::read(pics.join("g1.png")).unwrap(), std::fs::read(pics.join("g2.png")).unwrap());
    }
    let svg = std::fs::read_to_string(pics.join("city.svg")).unwrap();
    let doc = roxmltree::Document::parse(&svg).unwrap();
    let city = gardencity::city::random::random_city(&gardencity::city::random::RandomCityParams {
        width: 50,
        height: 50,
        seed: 1,
        ..Default::default()
    })
    .unwrap();
    let buildings = doc.descendants().filter(|n| n.attribute("class") == Some("building")).count();
    assert_eq!(buildings, city.buildings().len());

    // Pings of the users in the data, then of one chosen user.
    run_ok(gardencity().args(["plot", "pings", "--data"]).arg(&data).arg("-o").arg(pics.join("pings.png")));
    let users = gardencity_io::dataset::read_pings(
        &data,
        gardencity_io::dataset::OutputKind::Sparse,
        &gardencity_io::dataset::RowFilter::default(),
    )
    .unwrap();
    let first = users[0].user_id.clone();
    run_ok(
        gardencity()
            .args([
                "plot",
                "pings",
                "--stays",
                "--from",
                "2024-01-01T06:00",
                "--to",
                "2024-01-01T18:00",
                "--user",
                &first,
                "--data",
            ])
            .arg(&data)
            .arg("-o")
            .arg(pics.join("one.svg")),
    );
    let one = std::fs::read_to_string(pics.join("one.svg")).unwrap();
    roxmltree::Document::parse(&one).unwrap();
    assert!(one.contains(&format!(">{first}</text>")));
    assert!(one.contains("2024-01-01 06:00") && one.contains("2024-01-01 18:00"));

    // Heatmap of everyone and of one user.
    run_ok(gardencity().args(["plot", "heatmap", "--data"]).arg(&data).arg("-o").arg(pics.join("heat.png")));
    run_ok(
        gardencity()
            .args(["plot", "heatmap", "--user", &first, "--data"])
            .arg(&data)
            .arg("-o")
            .arg(pics.join("heat1.png")),
    );
    assert!(png_size(&pics.join("heat.png")).1 > 1000);
    // The colour scales: quantile by default, log, linear (also as the older --linear);
    // a day of three users is labelled in minutes.
    let heat_svg = |args: &[&str], name: &str| {
        run_ok(
            gardencity().args(["plot", "heatmap"]).args(args).arg("--data").arg(&data).arg("-o").arg(pics.join(name)),
        );
        std::fs::read_to_string(pics.join(name)).unwrap()
    };
    assert!(heat_svg(&[], "hq.svg").contains("(quantile scale"));
    assert!(heat_svg(&["--scale", "log"], "hl.svg").contains("(log scale)"));
    assert!(heat_svg(&["--linear"], "hn.svg").contains("(linear scale)"));
    let q = heat_svg(&["--scale", "quantile"], "hq2.svg");
    assert!(q.matches("class=\"colorbar-label\"").count() >= 3 && q.contains(" min</text>"), "{q}");
    for name in ["hq.svg", "hl.svg", "hn.svg", "hq2.svg"] {
        std::fs::remove_file(pics.join(name)).unwrap();
    }
    let e = run_err(
        gardencity()
            .args(["plot", "heatmap", "--scale", "cubic", "--data"])
            .arg(&data)
            .arg("-o")
            .arg(pics.join("b.png")),
    );
    assert!(e.contains("quantile") && e.contains("log") && e.contains("linear"), "{e}");

    // Errors: clear message, non-zero exit, no picture left behind.
    let before = files(&pics);
    let e = run_err(
        gardencity()
            .args(["plot", "pings", "--user", "no_such_user", "--data"])
            .arg(&data)
            .arg("-o")
            .arg(pics.join("bad1.png")),
    );
    assert!(e.contains("no_such_user not in the data") && e.contains(&first), "{e}");
    // Ids are lower case; one given in capitals (as the old capitals-only legends showed
    // them) is named with the id it probably means.
    let upper = first.to_uppercase();
    let e = run_err(
        gardencity()
            .args(["plot", "pings", "--user", &upper, "--data"])
            .arg(&data)
            .arg("-o")
            .arg(pics.join("bad0.png")),
    );
    assert!(e.contains(&format!("{upper} not in the data")), "{e}");
    assert!(e.contains(&format!("user ids are case-sensitive: did you mean {first}?")), "{e}");
    let e = run_err(
        gardencity()
            .args(["plot", "heatmap", "--user", "no_such_user", "--data"])
            .arg(&data)
            .arg("-o")
            .arg(pics.join("bad2.png")),
    );
    assert!(e.contains("no_such_user not in the data"), "{e}");
    let e = run_err(
        gardencity()
            .args(["plot", "pings", "--from", "2024-01-01T10:00", "--to", "2024-01-01T09:00", "--data"])
            .arg(&data)
            .arg("-o")
            .arg(pics.join("bad3.png")),
    );
    assert!(e.contains("empty time window"), "{e}");
    let e = run_err(gardencity().args(["plot", "city", "-o"]).arg(pics.join("bad4.jpg")));
    assert!(e.contains("unknown picture format"), "{e}");
    let e = run_err(
        gardencity().args(["plot", "pings", "--dense", "--data"]).arg(&data).arg("-o").arg(pics.join("bad5.png")),
    );
    assert!(e.contains("--dense needs"), "{e}");

    // Data of another city: refused by the manifest's city checksum...
    let big = dir.path().join("big.gpkg");
    let small = dir.path().join("small.gpkg");
    run_ok(gardencity().args(["city", "random", "--width", "40", "--height", "40", "--seed", "4", "-o"]).arg(&big));
    run_ok(gardencity().args(["city", "random", "--width", "10", "--height", "10", "--seed", "4", "-o"]).arg(&small));
    let e = run_err(
        gardencity()
            .args(["plot", "heatmap", "--city"])
            .arg(&big)
            .arg("--data")
            .arg(&data)
            .arg("-o")
            .arg(pics.join("bad6.png")),
    );
    assert!(e.contains("another city") && e.contains("built-in default (random 50x50, seed 1)"), "{e}");
    // ...also with the same georeference.
    let data2 = dir.path().join("run2");
    run_ok(
        gardencity()
            .args(["simulate", "--agents", "2", "--days", "1", "-q", "--city"])
            .arg(&big)
            .arg("--out")
            .arg(&data2),
    );
    run_ok(
        gardencity()
            .args(["plot", "pings", "--city"])
            .arg(&big)
            .arg("--data")
            .arg(&data2)
            .arg("-o")
            .arg(pics.join("big.png")),
    );
    let e = run_err(
        gardencity()
            .args(["plot", "pings", "--city"])
            .arg(&small)
            .arg("--data")
            .arg(&data2)
            .arg("-o")
            .arg(pics.join("bad7.png")),
    );
    // The manifest's city checksum names the run's city.
    assert!(e.contains("the run was made on another city") && e.contains("big.gpkg"), "{e}");
    assert!(e.contains("the city given with --city") && e.contains("give the run's city with --city"), "{e}");
    let e = run_err(gardencity().args(["plot", "heatmap", "--data"]).arg(&data2).arg("-o").arg(pics.join("bad8.png")));
    assert!(e.contains("another city") && e.contains("the built-in default city (no --city)"), "{e}");
    std::fs::remove_file(pics.join("big.png")).unwrap();
    assert_eq!(files(&pics), before);
}

#[test]
fn a_table_directory_of_a_run_is_taken_as_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("run");
    run_ok(
        gardencity()
            .args(["simulate", "--agents", "2", "--days", "1", "--seed", "3", "--outputs", "sparse,diaries", "-q"])
            .arg("--out")
            .arg(&data),
    );
    for (what, table) in [("pings", "sparse"), ("heatmap", "diaries"), ("pings", "diaries")] {
        let (whole, part) = (dir.path().join(format!("{what}.png")), dir.path().join(format!("{what}-{table}.png")));
        run_ok(gardencity().args(["plot", what, "--overwrite", "--data"]).arg(&data).arg("-o").arg(&whole));
        let out = gardencity()
            .args(["plot", what, "--overwrite", "--data"])
            .arg(data.join(table))
            .arg("-o")
            .arg(&part)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{err}");
        assert!(
            err.contains(&format!("is the {table} table of the run {}; plotting that run", data.display())),
            "{err}"
        );
        // The same picture as from the run directory.
        assert_eq!(std::fs::read(&whole).unwrap(), std::fs::read(&part).unwrap(), "{what} {table}");
    }
    // A directory inside a table is not a table.
    let e = run_err(
        gardencity()
            .args(["plot", "pings", "--data"])
            .arg(data.join("sparse/date=2024-01-01"))
            .arg("-o")
            .arg(dir.path().join("x.png")),
    );
    assert!(e.contains("no _SUCCESS marker"), "{e}");
}

#[test]
fn coordinate_systems_and_formats_give_the_same_picture() {
    let dir = tempfile::tempdir().unwrap();
    let mut pics = Vec::new();
    for (coords, format) in [("blocks", "parquet"), ("web_mercator", "csv"), ("lonlat", "csv")] {
        let data = dir.path().join(format!("run-{coords}-{format}"));
        run_ok(
            gardencity()
                .args(["simulate", "--agents", "2", "--days", "1", "--seed", "5", "-q", "--outputs", "sparse,diaries"])
                .args(["--coords", coords, "--format", format, "--out"])
                .arg(&data),
        );
        let pic = dir.path().join(format!("{coords}-{format}.png"));
        run_ok(gardencity().args(["plot", "pings", "--stays", "--data"]).arg(&data).arg("-o").arg(&pic));
        pics.push(tiny_skia::Pixmap::load_png(&pic).unwrap());
    }
    for p in &pics[1..] {
        assert_eq!((p.width(), p.height()), (pics[0].width(), pics[0].height()));
        // Round-off in the coordinate conversions may shift anti-aliased dot edges a little.
        let differing = p.data().iter().zip(pics[0].data()).filter(|(a, b)| a.abs_diff(**b) > 8).count();
        assert!(differing < 50, "{differing} channel values differ");
    }
}
