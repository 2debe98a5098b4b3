//! `gardencity commit OUT SHARD_DIR...`: shards run separately, committed as one dataset
//! (real binary, real files, read back by pyarrow and DuckDB).

use std::path::{Path, PathBuf};

mod common;

fn run(args: &[&str]) -> std::process::Output {
    common::gardencity().args(args).env_remove("CI").output().expect("binary runs")
}

fn ok(args: &[&str]) {
    let o = run(args);
    assert!(o.status.success(), "gardencity {args:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
}

fn err(args: &[&str]) -> String {
    let o = run(args);
    assert!(!o.status.success(), "gardencity {args:?} succeeded");
    let e = String::from_utf8_lossy(&o.stderr).into_owned();
    assert!(!e.contains("panicked"), "{e}");
    e
}

const RUN: &[&str] = &[
    "simulate",
    "--agents",
    "31",
    "--days",
    "2",
    "--seed",
    "5",
    "-q",
    "--outputs",
    "sparse,dense,diaries,destinations,homes",
];

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Shard `k` of `n` of [`RUN`] (plus `extra`) into `dir`.
fn shard(dir: &Path, k: u32, n: u32, extra: &[&str]) -> PathBuf {
    let d = dir.join(format!("s{k}of{n}"));
    ok(&[RUN, extra, &["--shard", &format!("{k}/{n}"), "--out", path(&d)]].concat());
    d
}

fn manifest(dir: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap()
}

/// pyarrow and DuckDB read the committed dataset and the whole run alike: every output,
/// row for row and in order (file-name order within each date partition).
fn same_rows_as_python_reads(whole: &Path, committed: &Path, outputs: &[&str]) {
    let Some(py) = gardencity_testkit::python() else { return };
    let script = r#"
import sys, pyarrow.dataset as ds, duckdb
whole, committed = sys.argv[1], sys.argv[2]
for name in sys.argv[3:]:
    a = ds.dataset(f"{whole}/{name}", format="parquet", partitioning="hive").to_table()
    b = ds.dataset(f"{committed}/{name}", format="parquet", partitioning="hive").to_table()
    assert a.num_rows > 0, name
    assert a.equals(b), f"{name}: the committed rows differ from the whole run's"
    q = "SELECT count(*), sum(hash(t)) FROM read_parquet('{}/{}/**/*.parquet') t"
    assert duckdb.sql(q.format(whole, name)).fetchall() == duckdb.sql(q.format(committed, name)).fetchall(), name
print("ok")
"#;
    let out = gardencity_testkit::run_python(&py, script, &[&[path(whole), path(committed)], outputs].concat());
    assert_eq!(out.trim(), "ok");
}

/// Three shards, given out of order, commit to exactly the whole run's rows; each part
/// file keeps its shard's bytes under a name of its shard; the manifest sums the counts
/// and records every shard.
#[test]
fn shards_commit_to_the_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let whole = tmp.path().join("whole");
    ok(&[RUN, &["--out", path(&whole)]].concat());
    let dirs: Vec<PathBuf> = (0..3).map(|k| shard(tmp.path(), k, 3, &[])).collect();
    let out = tmp.path().join("committed");
    ok(&["commit", "-q", path(&out), path(&dirs[2]), path(&dirs[0]), path(&dirs[1])]);
    assert!(out.join("_SUCCESS").is_file());
    let m = manifest(&out);
    let w = manifest(&whole);
    assert_eq!(m["counts"], w["counts"], "merged counts");
    assert_eq!(m["shard"], serde_json::Value::Null);
    assert_eq!((m["agents"].as_u64(), m["shard_agents"].as_u64()), (Some(31), Some(31)));
    let tasks = m["tasks"].as_array().expect("one record per shard");
    assert_eq!(tasks.iter().map(|t| t["shard"].as_str().unwrap()).collect::<Vec<_>>(), ["0/3", "1/3", "2/3"]);
    assert_eq!(tasks.iter().map(|t| t["agents"].as_u64().unwrap()).sum::<u64>(), 31);
    for (kind, o) in w["dataset"]["outputs"].as_object().unwrap() {
        assert_eq!(m["dataset"]["outputs"][kind]["rows"], o["rows"], "{kind} rows");
    }
    let committed = common::files_under(&out);
    let mut parts = 0;
    for (k, d) in dirs.iter().enumerate() {
        for (rel, bytes) in common::files_under(d) {
            let name = rel.file_name().unwrap().to_str().unwrap();
            let Some(n) = name.strip_prefix("part-") else { continue };
            let new = rel.with_file_name(format!("part-{k:05}-{n}"));
            assert_eq!(committed.get(&new), Some(&bytes), "{} is not shard {k}'s {}", new.display(), rel.display());
            parts += 1;
        }
    }
    let listed: usize =
        m["dataset"]["outputs"].as_object().unwrap().values().map(|o| o["files"].as_array().unwrap().len()).sum();
    assert_eq!(listed, parts, "the manifest lists every part file");
    // The shards are left as they were (still datasets of their own).
    assert!(dirs.iter().all(|d| d.join("_SUCCESS").is_file()));
    same_rows_as_python_reads(&whole, &out, &["sparse", "dense", "diaries", "destinations", "homes"]);
}

/// A sweep's configurations stay inside each shard and commit to the whole sweep run.
#[test]
fn sweep_shards_commit_to_the_whole_sweep() {
    let tmp = tempfile::tempdir().unwrap();
    let sweep = tmp.path().join("grid.toml");
    std::fs::write(&sweep, "[grid]\nbeta_ping = [5.0, 8.0]\n").unwrap();
    let extra = ["--sweep", path(&sweep)];
    let whole = tmp.path().join("whole");
    ok(&[RUN, &extra, &["--out", path(&whole)]].concat());
    let dirs: Vec<PathBuf> = (0..2).map(|k| shard(tmp.path(), k, 2, &extra)).collect();
    let out = tmp.path().join("committed");
    ok(&["commit", "-q", path(&out), path(&dirs[0]), path(&dirs[1])]);
    let (m, w) = (manifest(&out), manifest(&whole));
    assert_eq!(m["sweep"], w["sweep"], "configurations and their pings");
    assert_eq!(m["dataset"]["sweep"], w["dataset"]["sweep"]);
    assert!(out.join("sparse/config=beta_ping-5").is_dir());
    same_rows_as_python_reads(&whole, &out, &["sparse", "diaries"]);
}

/// Missing, duplicated, foreign and unfinished shards, and an occupied output, are
/// refused with the reason; nothing is committed.
#[test]
fn commit_refuses_what_is_not_one_whole_run() {
    let tmp = tempfile::tempdir().unwrap();
    let d: Vec<PathBuf> = (0..3).map(|k| shard(tmp.path(), k, 3, &[])).collect();
    let other_seed = tmp.path().join("seed9");
    let run9: Vec<&str> = RUN.iter().map(|a| if *a == "5" { "9" } else { a }).collect();
    ok(&[&run9[..], &["--shard", "1/3", "--out", path(&other_seed)]].concat());
    let other_n = shard(&tmp.path().join("n4"), 1, 4, &[]);
    let out = tmp.path().join("out");
    let nowhere = tmp.path().join("nowhere");
    let cases: Vec<(Vec<&Path>, &str)> = vec![
        (vec![&d[0], &d[2]], "shard 1/3 of the run is missing"),
        (vec![&d[0], &d[1], &d[1], &d[2]], "shard 1/3 is given twice"),
        (vec![&d[0], &other_seed, &d[2]], "differ in seed (5 vs 9)"),
        (vec![&d[0], &d[1], &d[2], &other_n], "differ in shards (3 vs 4)"),
        (vec![&d[0], &d[1], &nowhere], "nowhere"),
    ];
    for (dirs, expected) in cases {
        let args: Vec<&str> = ["commit", path(&out)].into_iter().chain(dirs.iter().map(|p| path(p))).collect();
        let e = err(&args);
        assert!(e.contains(expected), "{args:?}: {e}");
        assert!(!out.exists(), "{args:?} touched the output");
    }
    // An unfinished shard (no _SUCCESS).
    std::fs::remove_file(d[1].join("_SUCCESS")).unwrap();
    let e = err(&["commit", path(&out), path(&d[0]), path(&d[1]), path(&d[2])]);
    assert!(e.contains(path(&d[1])) && e.contains("_SUCCESS"), "{e}");
    std::fs::write(d[1].join("_SUCCESS"), "").unwrap();
    // An output that holds another run is kept unless --overwrite.
    let whole = tmp.path().join("whole");
    ok(&[RUN, &["--out", path(&whole)]].concat());
    let e = err(&["commit", path(&whole), path(&d[0]), path(&d[1]), path(&d[2])]);
    assert!(e.contains("not empty"), "{e}");
    ok(&["commit", "-q", "--overwrite", path(&whole), path(&d[0]), path(&d[1]), path(&d[2])]);
    assert_eq!(manifest(&whole)["tasks"].as_array().map(Vec::len), Some(3));
    // The output inside a shard (or the reverse) is refused.
    let e = err(&["commit", path(&d[0].join("x")), path(&d[0]), path(&d[1]), path(&d[2])]);
    assert!(e.contains("inside one another"), "{e}");
}
