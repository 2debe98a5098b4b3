//! `gardencity simulate` end to end: real binary, real files, pyarrow as the independent reader.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Output;

mod common;

fn gardencity(args: &[&str]) -> Output {
    common::gardencity().args(args).env_remove("CI").output().expect("binary runs")
}

fn ok(args: &[&str]) -> Output {
    let o = gardencity(args);
    assert!(o.status.success(), "gardencity {args:?} failed:\n{}", String::from_utf8_lossy(&o.stderr));
    o
}

fn fails(args: &[&str], needle: &str) -> String {
    let o = gardencity(args);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert!(!o.status.success(), "gardencity {args:?} should fail");
    assert!(err.contains(needle), "error for {args:?} should mention {needle:?}:\n{err}");
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Every data file under `dir` (relative path -> bytes), without the run manifest.
fn data_files(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut out = common::files_under(dir);
    out.retain(|p, _| p.file_name().is_some_and(|n| n != "manifest.json"));
    out
}

const WORKLOAD: &[&str] = &[
    "--agents",
    "60",
    "--days",
    "3",
    "--beta-start",
    "300",
    "--beta-durations",
    "55",
    "--beta-ping",
    "7",
    "--seed",
    "5",
];

#[test]
fn identical_files_with_one_and_two_threads() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    let all = ["--outputs", "all", "-q"];
    ok(&[&["simulate", "--out", a.to_str().unwrap(), "--threads", "1"], WORKLOAD, &all].concat());
    ok(&[&["simulate", "--out", b.to_str().unwrap(), "--threads", "2"], WORKLOAD, &all].concat());
    let (fa, fb) = (data_files(&a), data_files(&b));
    assert!(fa.len() > 10, "{} files", fa.len());
    assert!(fa.contains_key(Path::new("_SUCCESS")));
    assert_eq!(fa.keys().collect::<Vec<_>>(), fb.keys().collect::<Vec<_>>());
    for (k, v) in &fa {
        assert!(v == &fb[k], "{} differs between 1 and 2 threads", k.display());
    }
    // A different seed gives different data.
    let c = tmp.path().join("c");
    ok(&["simulate", "--out", c.to_str().unwrap(), "--agents", "60", "--days", "3", "--seed", "6", "-q"]);
    let fc = data_files(&c);
    let key = fc.keys().find(|k| k.starts_with("sparse")).unwrap().clone();
    assert_ne!(fc[&key], fa[&key]);
}

#[test]
fn pyarrow_reads_the_run_as_hive_datasets() {
    let Some(py) = gardencity_testkit::python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("run");
    ok(&[&["simulate", "--out", out.to_str().unwrap(), "--coords", "lonlat", "--tz", "Europe/Helsinki"], WORKLOAD]
        .concat());
    let script = r#"
import sys, json
import pyarrow.dataset as ds, pyarrow as pa
root = sys.argv[1]
m = json.load(open(root + "/manifest.json"))
sp = ds.dataset(root + "/sparse", format="parquet", partitioning="hive").to_table()
assert sp.column_names == ["user_id", "x", "y", "datetime", "timestamp", "ha", "date"], sp.column_names
assert sp.schema.field("datetime").type == pa.timestamp("ms", tz="Europe/Helsinki"), sp.schema
assert sp.num_rows == m["counts"]["sparse_pings"], (sp.num_rows, m["counts"])
d = sp.to_pandas()
assert d["datetime"].dt.tz is not None
import pandas as pd
secs = (d["datetime"] - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)
assert (secs == d["timestamp"]).all(), (secs.head(), d["timestamp"].head())
assert d["user_id"].nunique() == 60
# lon/lat in the default city, centred on Philadelphia's City Hall (-75.1636, 39.9524),
# 750 m across: within 0.01 degrees
assert d["x"].between(-75.174, -75.153).all() and d["y"].between(39.942, 39.963).all(), (d["x"].describe(), d["y"].describe())
# the hive date is the local date of each row
loc = d["datetime"].dt.strftime("%Y-%m-%d")
assert (loc == d["date"].astype(str)).all()
di = ds.dataset(root + "/diaries", format="parquet", partitioning="hive").to_table().to_pandas()
assert list(di.columns) == ["datetime", "timestamp", "duration", "location", "user_id", "date"], list(di.columns)
assert di["location"].isna().any() and di["location"].notna().any()
ho = ds.dataset(root + "/homes", format="parquet", partitioning="hive").to_table().to_pandas()
assert len(ho) == 60 and set(ho.columns) >= {"user_id", "home", "workplace", "date"}
assert ho["home"].str.startswith("h-").all() and ho["workplace"].str.startswith("w-").all()
print("ok", sp.num_rows)
"#;
    let stdout = gardencity_testkit::run_python(&py, script, &[out.to_str().unwrap()]);
    assert!(stdout.starts_with("ok"), "{stdout}");
}

#[test]
fn config_file_sets_parameters_and_rejects_unknown_keys() {
    let tmp = tempfile::tempdir().unwrap();
    let cfg = tmp.path().join("run.toml");
    std::fs::write(
        &cfg,
        r#"
agents = 7
days = 1
seed = 3
outputs = ["sparse", "destinations", "homes"]
format = "csv"
[mobility]
dt = 0.5
rho = 0.6
[sampling]
beta_start = [200.0, 400.0]
beta_durations = { values = [30.0, 60.0], weights = [1.0, 1.0] }
beta_ping = 5.0
"#,
    )
    .unwrap();
    let out = tmp.path().join("run");
    ok(&["simulate", "--config", cfg.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["agents"], 7);
    assert_eq!(m["mobility"]["dt"], 0.5);
    assert_eq!(m["mobility"]["rho"], 0.6);
    assert!(out.join("destinations").is_dir() && !out.join("diaries").exists());
    let csv = walk_first(&out.join("sparse"), "csv");
    let header = std::fs::read_to_string(csv).unwrap().lines().next().unwrap().to_string();
    assert!(header.starts_with("user_id,x,y,datetime,timestamp,ha"), "{header}");
    std::fs::write(&cfg, "agents = 3\nnot_a_key = 1\n").unwrap();
    fails(
        &["simulate", "--config", cfg.to_str().unwrap(), "--out", tmp.path().join("x").to_str().unwrap()],
        "not_a_key",
    );
}

fn walk_first(dir: &Path, ext: &str) -> PathBuf {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            return walk_first(&p, ext);
        }
        if p.extension().is_some_and(|x| x == ext) {
            return p;
        }
    }
    panic!("no .{ext} file under {}", dir.display())
}

#[test]
fn bad_input_is_refused_clearly_and_leaves_no_complete_looking_output() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("o");
    let o = out.to_str().unwrap();
    fails(
        &["simulate", "--out", o, "--start", "2024-02-01", "--end", "2024-01-01"],
        "--end: 2024-01-01 is not after the start",
    );
    fails(&["simulate", "--out", o, "--agents", "0"], "--agents: 0: expected at least 1 agent");
    fails(&["simulate", "--out", o, "--threads", "1000"], "--threads: 1000: expected 1 to");
    fails(&["simulate", "--out", o, "--days", "1e9"], "--days: 1000000000: the run would end after the year 9999");
    fails(&["simulate", "--out", o, "--days", "1e308"], "after the year 9999");
    fails(&["simulate", "--out", o, "--start", "9999-12-31"], "outside the years 1 to 9999");
    fails(&["simulate", "--out", o, "--ha-m=-3"], "--ha-m: -3: expected metres >= 0");
    fails(&["simulate", "--out", o, "--tz", "Mars/Olympus"], "Mars/Olympus");
    fails(&["simulate", "--out", o, "--dt", "0"], "dt");
    fails(&["simulate", "--out", o, "--dt=-1"], "dt");
    fails(&["simulate", "--out", o, "--beta-ping", "0"], "beta_ping");
    fails(&["simulate", "--out", o, "--beta-start", "300"], "beta_start and beta_durations");
    fails(&["simulate", "--out", o, "--ha", "0.3"], "ha");
    fails(&["simulate", "--out", o, "--start", "yesterday"], "--start");
    fails(&["simulate", "--out", o, "--outputs", "sparse,gps"], "gps");
    fails(&["simulate", "--out", o, "--city", tmp.path().join("missing.gpkg").to_str().unwrap()], "missing.gpkg");
    assert!(!out.join("_SUCCESS").exists());
    // A home that is not a home building.
    let anchors = tmp.path().join("anchors.csv");
    let city = tmp.path().join("city.gpkg");
    ok(&["city", "random", "--width", "30", "--height", "30", "--seed", "4", "-o", city.to_str().unwrap()]);
    let info = String::from_utf8(ok(&["city", "info", city.to_str().unwrap(), "--json"]).stdout).unwrap();
    assert!(info.contains("workplace"), "{info}");
    // Find a workplace id from the GeoPackage through the library.
    let c = gardencity_io::gpkg::read_city(&city).unwrap();
    let work = &c.building(c.buildings_of_type(gardencity::BuildingType::Workplace)[0]).id;
    std::fs::write(&anchors, format!("agent,home,workplace\n0,{work},\n")).unwrap();
    let err = fails(
        &[
            "simulate",
            "--city",
            city.to_str().unwrap(),
            "--anchors",
            anchors.to_str().unwrap(),
            "--out",
            o,
            "--agents",
            "2",
        ],
        "home",
    );
    assert!(err.contains(work.as_str()), "{err}");
    assert!(!out.join("_SUCCESS").exists(), "a failed run must not look complete");
    // An existing run is refused without --overwrite, replaced with it.
    ok(&["simulate", "--out", o, "--agents", "2", "--days", "1", "-q"]);
    assert!(out.join("_SUCCESS").exists());
    fails(&["simulate", "--out", o, "--agents", "2", "--days", "1"], "overwrite");
    ok(&["simulate", "--out", o, "--agents", "3", "--days", "1", "--overwrite", "-q"]);
    // A directory holding other files is never overwritten.
    let foreign = tmp.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("thesis.tex"), "precious").unwrap();
    gardencity(&["simulate", "--out", foreign.to_str().unwrap(), "--agents", "2", "--days", "1", "--overwrite"]);
    assert_eq!(std::fs::read_to_string(foreign.join("thesis.tex")).unwrap(), "precious");
    assert!(!foreign.join("_SUCCESS").exists());
}

#[test]
fn shards_together_equal_the_whole_run() {
    let Some(py) = gardencity_testkit::python() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    ok(&[&["simulate", "--out", &dir("whole"), "-q"], WORKLOAD].concat());
    ok(&[&["simulate", "--out", &dir("s0"), "--shard", "0/2", "-q"], WORKLOAD].concat());
    ok(&[&["simulate", "--out", &dir("s1"), "--shard", "1/2", "-q"], WORKLOAD].concat());
    fails(&["simulate", "--out", &dir("bad"), "--shard", "2/2"], "--shard");
    let script = r#"
import sys
import pyarrow.dataset as ds, pyarrow as pa
whole, s0, s1 = sys.argv[1:4]
for kind in ["sparse", "diaries", "homes"]:
    w = ds.dataset(whole + "/" + kind, format="parquet", partitioning="hive").to_table()
    parts = [ds.dataset(d + "/" + kind, format="parquet", partitioning="hive").to_table() for d in (s0, s1)]
    assert all(p.num_rows > 0 for p in parts), kind
    j = pa.concat_tables(parts)
    key = [("user_id", "ascending")] + ([("timestamp", "ascending")] if "timestamp" in w.column_names else [])
    assert w.sort_by(key).equals(j.sort_by(key)), kind
print("ok")
"#;
    let out = gardencity_testkit::run_python(&py, script, &[&dir("whole"), &dir("s0"), &dir("s1")]);
    assert!(out.starts_with("ok"), "{out}");
}

/// A city read from a GeoPackage with stored gravity, from a snapshot, or computed on
/// the fly gives the same run.
#[test]
fn stored_gravity_and_snapshots_give_the_same_run() {
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    ok(&["city", "random", "--width", "40", "--height", "40", "--seed", "9", "-o", &p("plain.gpkg")]);
    std::fs::copy(p("plain.gpkg"), p("stored.gpkg")).unwrap();
    ok(&["gravity", &p("stored.gpkg")]);
    let info = |f: &str| String::from_utf8(ok(&["city", "info", f]).stdout).unwrap();
    assert!(info(&p("stored.gpkg")).contains("gravity: gravity hub_proxy: exponent 2"), "{}", info(&p("stored.gpkg")));
    assert!(info(&p("plain.gpkg")).contains("gravity: none stored"));
    ok(&["snapshot", &p("stored.gpkg"), "-o", &p("city.gcsnap")]);
    let run = |city: &str, out: &str| {
        ok(&[&["simulate", "--city", city, "--out", out, "-q"], WORKLOAD].concat());
        let m: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(Path::new(out).join("manifest.json")).unwrap()).unwrap();
        (data_files(Path::new(out)), m["gravity"]["source"].as_str().unwrap().to_string())
    };
    let (computed, s1) = run(&p("plain.gpkg"), &p("r1"));
    let (stored, s2) = run(&p("stored.gpkg"), &p("r2"));
    let (snap, s3) = run(&p("city.gcsnap"), &p("r3"));
    assert_eq!((s1.as_str(), s2.as_str(), s3.as_str()), ("computed", "stored with the city", "stored with the city"));
    assert!(computed == stored, "stored gravity changed the run");
    assert!(computed == snap, "the snapshot changed the run");
}

/// The homes table of one run fixes the homes and workplaces of another (Parquet), and a
/// CSV table with agent indices fixes chosen agents.
#[test]
fn anchors_from_an_earlier_homes_table_and_from_csv() {
    use gardencity_io::dataset::{read_homes, RowFilter};
    let tmp = tempfile::tempdir().unwrap();
    let p = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    ok(&["simulate", "--out", &p("a"), "--agents", "30", "--days", "1", "--seed", "1", "-q"]);
    let homes_dir = Path::new(&p("a")).join("homes");
    let part = std::fs::read_dir(&homes_dir).unwrap().next().unwrap().unwrap().path().join("part-00000.parquet");
    assert!(part.exists(), "{}", part.display());
    ok(&[
        "simulate",
        "--out",
        &p("b"),
        "--agents",
        "30",
        "--days",
        "1",
        "--seed",
        "2",
        "--anchors",
        part.to_str().unwrap(),
        "-q",
    ]);
    let pairs = |d: &str| {
        let mut v: Vec<(String, String)> =
            read_homes(d, &RowFilter::default()).unwrap().into_iter().map(|r| (r.home, r.workplace)).collect();
        v.sort();
        v
    };
    assert_eq!(pairs(&p("a")), pairs(&p("b")));
    ok(&["simulate", "--out", &p("c"), "--agents", "30", "--days", "1", "--seed", "2", "-q"]);
    assert_ne!(pairs(&p("a")), pairs(&p("c")), "without anchors the draws differ");
    // CSV with agent indices: agent 7 gets the given home, the others are drawn.
    let a = read_homes(p("a"), &RowFilter::default()).unwrap();
    let csv = tmp.path().join("anchors.csv");
    std::fs::write(&csv, format!("agent,home,workplace\n7,{},\n", a[0].home)).unwrap();
    ok(&["simulate", "--out", &p("d"), "--agents", "10", "--days", "1", "--anchors", csv.to_str().unwrap(), "-q"]);
    let m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(Path::new(&p("d")).join("manifest.json")).unwrap()).unwrap();
    assert_eq!(m["agents"], 10);
    let d = read_homes(p("d"), &RowFilter::default()).unwrap();
    let agent7 = gardencity::mobility::agent_id(0, 7);
    assert_eq!(d.iter().find(|r| r.user_id == agent7).unwrap().home, a[0].home);
    // Unknown ids and bad files are clear errors.
    std::fs::write(&csv, "agent,home,workplace\n0,h-x999-y999,\n").unwrap();
    fails(&["simulate", "--out", &p("e"), "--anchors", csv.to_str().unwrap()], "h-x999-y999");
    std::fs::write(&csv, "agent,house\n0,x\n").unwrap();
    fails(&["simulate", "--out", &p("e"), "--anchors", csv.to_str().unwrap()], "column home");
    fails(&["simulate", "--out", &p("e"), "--anchors", &p("anchors.txt")], ".csv or .parquet");
}

/// Datetimes as pandas prints them, with `Z`, or with a space; the half-open window
/// (a 7-day run from midnight writes exactly 7 date partitions); `--ha-m` in metres.
#[test]
fn start_formats_the_half_open_window_and_ha_in_metres() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = |n: &str| tmp.path().join(n).to_str().unwrap().to_string();
    let manifest = |d: &str| -> serde_json::Value {
        serde_json::from_str(&std::fs::read_to_string(Path::new(d).join("manifest.json")).unwrap()).unwrap()
    };
    for (i, (start, ts)) in [
        ("2024-01-01T07:00-04:00", 1_704_106_800_i64),
        ("2024-01-01T07:00Z", 1_704_092_400),
        ("2024-01-01 07:00:00", 1_704_110_400),
    ]
    .into_iter()
    .enumerate()
    {
        let d = dir(&format!("t{i}"));
        ok(&["simulate", "--out", &d, "--agents", "2", "--days", "0.5", "--start", start, "-q"]);
        assert_eq!(manifest(&d)["start"], ts, "{start}");
    }
    let d = dir("week");
    ok(&["simulate", "--out", &d, "--agents", "3", "--outputs", "sparse,dense,diaries", "-q", "--ha-m", "11.5"]);
    for table in ["sparse", "dense", "diaries"] {
        let mut dates: Vec<String> = std::fs::read_dir(Path::new(&d).join(table))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        dates.sort();
        let want: Vec<String> = (1..=7).map(|k| format!("date=2024-01-0{k}")).collect();
        assert_eq!(dates, want, "{table}");
    }
    let m = manifest(&d);
    assert!((m["sampling"]["ha"].as_f64().unwrap() - 11.5 / 15.0).abs() < 1e-12, "{}", m["sampling"]);
    // The manifest records the gravity actually used.
    assert_eq!(m["gravity"]["mode"], "hub_proxy");
    assert_eq!(m["gravity"]["source"], "computed");
    assert!(m["gravity"]["hubs"].as_u64().unwrap() >= 1);
    assert_eq!(m["counts"]["dense_pings"], 3 * 7 * 1440, "one dense ping per minute in [start, end)");
}

/// SIGINT and SIGTERM stop a run: exit 130 / 143, the partial (hidden) part files are
/// removed, nothing looks complete, and the message says so.
#[test]
fn signals_stop_a_run_and_leave_no_files() {
    let tmp = tempfile::tempdir().unwrap();
    for (signal, code) in [("INT", 130), ("TERM", 143)] {
        let out = tmp.path().join(signal);
        let child = common::gardencity()
            .args(["simulate", "--agents", "2000000", "--checkpoint-agents", "0", "--out", out.to_str().unwrap(), "-q"])
            .env_remove("CI")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Wait until the run writes (a hidden part file exists), at most 20 s.
        let files = |dir: &Path| -> Vec<PathBuf> {
            let mut found = Vec::new();
            let mut stack = vec![dir.to_path_buf()];
            while let Some(d) = stack.pop() {
                for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                    let p = e.path();
                    if p.is_dir() {
                        stack.push(p);
                    } else {
                        found.push(p);
                    }
                }
            }
            found
        };
        let t0 = std::time::Instant::now();
        while files(&out).is_empty() && t0.elapsed().as_secs() < 20 {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        assert!(!files(&out).is_empty(), "the run never started writing");
        let status = std::process::Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status();
        assert!(status.unwrap().success());
        let o = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(code), "{err}");
        assert!(err.contains(&format!("interrupted by SIG{signal}")), "{err}");
        assert_eq!(files(&out), Vec::<PathBuf>::new(), "files left behind");
    }
}

/// Two runs into one directory: the second is refused, naming the first's process, and
/// the first completes untouched; a lock left by a killed run is taken over.
#[test]
fn one_run_at_a_time_per_output_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("shared-out");
    let o = out.to_str().unwrap();
    let lock = out.join(".gardencity.lock");
    let mut first = common::gardencity()
        .args(["simulate", "--agents", "3000", "--days", "3", "--seed", "1", "--out", o, "-q"])
        .env_remove("CI")
        .spawn()
        .unwrap();
    let t0 = std::time::Instant::now();
    while !lock.exists() && t0.elapsed().as_secs() < 20 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let err = fails(
        &["simulate", "--agents", "1000", "--seed", "2", "--out", o, "--overwrite", "-q"],
        "is being written by gardencity process",
    );
    assert!(err.contains(&first.id().to_string()), "{err}");
    assert!(first.wait().unwrap().success());
    let manifest: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["counts"]["agents"], 3000, "the first run's dataset is whole");
    assert!(out.join("_SUCCESS").exists() && !lock.exists(), "a finished run releases its lock");
    // A run killed with SIGKILL leaves its lock behind; the next run takes it over.
    let mut killed = common::gardencity()
        .args(["simulate", "--agents", "2000000", "--out", o, "--overwrite", "-q"])
        .env_remove("CI")
        .spawn()
        .unwrap();
    // Killed once it writes part files (hidden while in progress).
    let writing = || {
        std::fs::read_dir(out.join("sparse")).into_iter().flatten().flatten().any(|d| {
            std::fs::read_dir(d.path())
                .into_iter()
                .flatten()
                .flatten()
                .any(|f| f.file_name().to_string_lossy().ends_with(".inprogress"))
        })
    };
    let t0 = std::time::Instant::now();
    while !writing() && t0.elapsed().as_secs() < 30 {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(writing(), "the run never wrote");
    killed.kill().unwrap();
    killed.wait().unwrap();
    assert!(lock.exists(), "SIGKILL leaves the lock");
    // Without --overwrite the interrupted run is named; with it, replaced.
    fails(&["simulate", "--agents", "5", "--days", "1", "--out", o, "-q"], "an interrupted or failed gardencity run");
    ok(&["simulate", "--agents", "5", "--days", "1", "--out", o, "--overwrite", "-q"]);
    assert!(out.join("_SUCCESS").exists() && !lock.exists());
}

/// With no sampling option the phone is the reference's typical sparse phone (bursts of
/// 55 min every 300 min, a ping every 7 min within them, ha 11.5 m on 15 m blocks), and
/// the manifest records every effective value; `--one-burst` pings all day.
#[test]
fn default_phone_is_sparse_and_recorded() {
    let tmp = tempfile::tempdir().unwrap();
    let read = |d: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(d.join("manifest.json")).unwrap()).unwrap()
    };
    let sparse = tmp.path().join("sparse");
    ok(&["simulate", "--agents", "40", "--days", "2", "--seed", "3", "-q", "--out", sparse.to_str().unwrap()]);
    let m = read(&sparse);
    let s = &m["sampling"];
    assert_eq!(
        (s["beta_start"].as_f64(), s["beta_durations"].as_f64(), s["beta_ping"].as_f64()),
        (Some(300.0), Some(55.0), Some(7.0)),
        "{s}"
    );
    assert!((s["ha"].as_f64().unwrap() - 11.5 / 15.0).abs() < 1e-12, "{s}");
    // Expected pings per agent-day: coverage 55/300 of 1440 min at one per 7 min = 37.7
    // (fewer: pings on the same minute collapse); one burst all day would give ~206.
    let per_day = m["counts"]["sparse_pings"].as_f64().unwrap() / 80.0;
    assert!((15.0..45.0).contains(&per_day), "{per_day} sparse pings per agent-day");
    let all_day = tmp.path().join("all-day");
    ok(&[
        "simulate",
        "--agents",
        "40",
        "--days",
        "2",
        "--seed",
        "3",
        "-q",
        "--one-burst",
        "--out",
        all_day.to_str().unwrap(),
    ]);
    let m = read(&all_day);
    assert!(m["sampling"]["beta_start"].is_null() && m["sampling"]["one_burst"] == true, "{}", m["sampling"]);
    let per_day = m["counts"]["sparse_pings"].as_f64().unwrap() / 80.0;
    assert!((170.0..215.0).contains(&per_day), "{per_day} sparse pings per agent-day with one burst");
    fails(
        &["simulate", "--one-burst", "--beta-start", "100", "-q", "--out", tmp.path().join("x").to_str().unwrap()],
        "--beta-start",
    );
}

/// `--resume`: a run killed (SIGKILL) or stopped (SIGINT) after a checkpoint continues
/// from it, and the dataset equals an uninterrupted run's file for file (the manifest
/// but its timings); a plain re-run is pointed at `--resume`, a resume with other
/// parameters is refused naming the first one, a complete run has nothing to resume.
#[test]
fn an_interrupted_run_resumes_to_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let base = |seed: &str, out: &Path| {
        let args =
            ["simulate", "--agents", "20000", "--days", "2", "--seed", seed, "-q", "--outputs", "sparse,diaries,homes"];
        common::checkpointed(&args, 2000, out)
    };
    let run = common::run_outside_ci;
    let whole = tmp.path().join("whole");
    assert!(run(&base("4", &whole)).status.success());
    let expected = common::files_without_manifest(&whole);
    assert!(expected.keys().filter(|p| p.starts_with("sparse")).count() >= 10, "files cut at checkpoints");
    let m_whole: serde_json::Value =
        serde_json::from_slice(&std::fs::read(whole.join("manifest.json")).unwrap()).unwrap();
    for signal in ["KILL", "INT"] {
        let out = tmp.path().join(signal);
        let child = common::gardencity()
            .args(base("4", &out))
            .env_remove("CI")
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let journal = out.join(".gardencity-resume.json");
        common::wait_for_checkpoint(&journal, 4000);
        std::process::Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
        let o = child.wait_with_output().unwrap();
        assert!(!o.status.success(), "{signal}: the run ended before it was interrupted");
        if signal == "INT" {
            let err = String::from_utf8_lossy(&o.stderr);
            assert!(err.contains("checkpointed") && err.contains("--resume"), "{err}");
        }
        assert!(!out.join("_SUCCESS").exists() && journal.is_file());
        let plain = run(&base("4", &out));
        let err = String::from_utf8_lossy(&plain.stderr);
        assert!(!plain.status.success() && err.contains("--resume"), "{err}");
        let mut other = base("5", &out);
        other.push("--resume".into());
        let o = run(&other);
        let err = String::from_utf8_lossy(&o.stderr);
        assert!(!o.status.success() && err.contains("differ in seed (4 vs 5)"), "{err}");
        let mut again = base("4", &out);
        again.push("--resume".into());
        let o = run(&again);
        assert!(o.status.success(), "{signal}: {}", String::from_utf8_lossy(&o.stderr));
        common::assert_same_files(&out, &expected, &format!("{signal}, resumed"));
        let m: serde_json::Value = serde_json::from_slice(&std::fs::read(out.join("manifest.json")).unwrap()).unwrap();
        assert_eq!(m["counts"], m_whole["counts"], "{signal}");
        assert_eq!(m["dataset"], m_whole["dataset"], "{signal}");
        // A complete run has nothing to resume.
        let o = run(&again);
        assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to resume"));
    }
}

/// A signal stops even a run of a few long-lived agents (one chunk) within moments:
/// the cancel is checked inside each agent's simulation, not only between chunks.
#[test]
fn a_signal_stops_long_agents_promptly() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("long");
    let child = common::gardencity()
        .args(["simulate", "--agents", "20", "--days", "2500", "--checkpoint-agents", "0", "-q", "--out"])
        .arg(&out)
        .env_remove("CI")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(2000));
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let t = std::time::Instant::now();
    let o = child.wait_with_output().unwrap();
    let waited = t.elapsed();
    assert_eq!(o.status.code(), Some(143), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(waited.as_secs_f64() < 3.0, "took {waited:?} to stop");
    assert!(!out.join("_SUCCESS").exists() && !out.join(".gardencity.lock").exists());
}

/// A run longer than a week streams in time (cohorts of agents a week at a time):
/// checkpoints fall between cohorts, and a run killed after one resumes to the files of
/// an uninterrupted run.
#[test]
fn a_run_streaming_in_time_resumes_to_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let base = |out: &Path| {
        let outputs = "sparse,diaries,destinations,homes";
        let args = ["simulate", "--agents", "3000", "--days", "10", "--seed", "8", "-q", "--outputs", outputs];
        common::checkpointed(&args, 1000, out)
    };
    let run = common::run_outside_ci;
    let whole = tmp.path().join("whole");
    let o = run(&base(&whole));
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let expected = common::files_without_manifest(&whole);
    let out = tmp.path().join("killed");
    let child = common::gardencity().args(base(&out)).env_remove("CI").spawn().unwrap();
    let checkpointed = common::wait_for_checkpoint(&out.join(".gardencity-resume.json"), 1);
    std::process::Command::new("kill").args(["-KILL", &child.id().to_string()]).status().unwrap();
    let o = child.wait_with_output().unwrap();
    assert!(!o.status.success(), "the run ended before it was interrupted");
    // Checkpoints are at the ends of cohorts.
    assert_eq!(checkpointed % gardencity::population::COHORT_AGENTS, 0, "checkpointed after {checkpointed} agents");
    let mut again = base(&out);
    again.push("--resume".into());
    let o = run(&again);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    common::assert_same_files(&out, &expected, "resumed");
}
