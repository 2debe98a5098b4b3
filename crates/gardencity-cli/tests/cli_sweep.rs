//! `gardencity simulate --sweep`: one ground truth, many phones (real binary, real files).

use std::path::Path;

mod common;

fn run(args: &[&str]) -> std::process::Output {
    common::gardencity().args(args).env_remove("CI").output().expect("binary runs")
}

fn ok(args: &[&str]) {
    let o = run(args);
    assert!(o.status.success(), "gardencity {args:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
}

/// Every file under `dir`, relative path (as text) -> bytes.
fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    common::files_under(dir).into_iter().map(|(p, b)| (p.display().to_string(), b)).collect()
}

const BASE: &[&str] =
    &["simulate", "--agents", "25", "--days", "2", "--seed", "8", "-q", "--outputs", "sparse,diaries,homes"];

/// A 3 x 4 grid: each configuration's sparse files equal, byte for byte, those of a
/// separate run with it alone; the ground truth is written once and equals a plain run's.
#[test]
fn a_grid_sweep_equals_separate_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("grid.toml");
    std::fs::write(
        &sweep,
        "[base]\nbeta_start = 300.0\nbeta_durations = 55.0\n[grid]\nha_m = [13.0, 15.0, 17.0]\nbeta_ping = [5.0, 6.0, 7.0, 8.0]\n",
    )
    .unwrap();
    let out = tmp.path().join("sweep");
    ok(&[BASE, &["--sweep", sweep.to_str().unwrap(), "--out", out.to_str().unwrap()]].concat());
    let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
    let configs = m["sweep"].as_array().expect("the manifest lists the configurations");
    assert_eq!(configs.len(), 12);
    let swept = files(&out);
    let mut total = 0;
    for c in configs {
        let name = c["name"].as_str().unwrap();
        let (bp, ha) = (c["sampling"]["beta_ping"].as_f64().unwrap(), c["sampling"]["ha"].as_f64().unwrap());
        let ha_m = ha * 15.0;
        assert_eq!(name, format!("beta_ping-{bp}_ha_m-{}", ha_m.round()), "names from the grid values");
        let alone = tmp.path().join(name);
        ok(&[
            BASE,
            &["--beta-start", "300", "--beta-durations", "55", "--beta-ping", &bp.to_string()],
            &["--ha-m", &format!("{}", ha_m.round()), "--out", alone.to_str().unwrap()],
        ]
        .concat());
        let single = files(&alone);
        let sparse: Vec<_> = single.iter().filter(|(k, _)| k.starts_with("sparse/")).collect();
        assert!(!sparse.is_empty());
        for (rel, bytes) in sparse {
            let in_sweep = rel.replacen("sparse/", &format!("sparse/config={name}/"), 1);
            assert_eq!(swept.get(&in_sweep), Some(bytes), "{in_sweep} differs from the separate run's {rel}");
        }
        let m1: serde_json::Value =
            serde_json::from_slice(&std::fs::read(alone.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(c["sparse_pings"], m1["counts"]["sparse_pings"], "{name}");
        total += c["sparse_pings"].as_u64().unwrap();
        // The ground truth is the same simulation.
        for (rel, bytes) in single.iter().filter(|(k, _)| k.starts_with("diaries/") || k.starts_with("homes/")) {
            assert_eq!(swept.get(rel), Some(bytes), "{rel}");
        }
    }
    assert_eq!(m["counts"]["sparse_pings"].as_u64(), Some(total));
    // pyarrow reads one phone with a filter on the config partition.
    let script = format!(
        "import pyarrow.dataset as ds\n\
         d = ds.dataset({:?}, format='parquet', partitioning='hive')\n\
         t = d.to_table(filter=ds.field('config') == {:?})\n\
         print(t.num_rows)\n",
        out.join("sparse").display().to_string(),
        configs[0]["name"].as_str().unwrap()
    );
    if let Some(py) = gardencity_testkit::python() {
        let printed = gardencity_testkit::run_python(&py, &script, &[]);
        assert_eq!(printed.trim(), configs[0]["sparse_pings"].to_string());
    }
    // --overwrite recognises a sweep's dataset as its own.
    ok(&[BASE, &["--sweep", sweep.to_str().unwrap(), "--overwrite", "--out", out.to_str().unwrap()]].concat());
}

/// A bad sweep file names the configuration and the key, and writes nothing.
#[test]
fn bad_sweep_files_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    let cases = [
        ("[grid]\nbeta_pong = [1.0, 2.0]\n", "beta_pong"),
        ("[grid]\nbeta_ping = []\n", "empty list"),
        ("[grid]\n", "no configuration"),
        (
            "[[config]]\nname = \"a\"\nbeta_ping = 3.0\n[[config]]\nname = \"a\"\nbeta_ping = 4.0\n",
            "\"a\": name: used twice",
        ),
        ("[[config]]\nname = \"slow\"\nbeta_ping = -1.0\n", "\"slow\": beta_ping"),
        ("[[config]]\nbeta_ping = 3.0\n", "name: missing"),
        ("[[config]]\nname = \"a/b\"\n", "letters, digits"),
        ("[grids]\nha = [1.0]\n", "grids"),
        ("[grid]\nha_m = [-3.0]\n", "ha_m"),
    ];
    for (k, (text, needle)) in cases.iter().enumerate() {
        let f = tmp.path().join(format!("bad{k}.toml"));
        std::fs::write(&f, text).unwrap();
        let out = tmp.path().join(format!("out{k}"));
        let o = run(&[BASE, &["--sweep", f.to_str().unwrap(), "--out", out.to_str().unwrap()]].concat());
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success(), "{text}");
        assert!(err.contains(needle), "sweep {text:?}: error should mention {needle:?}:\n{err}");
        assert!(!err.contains("panicked"), "{err}");
        assert!(!out.exists(), "nothing written for {text:?}");
    }
}
