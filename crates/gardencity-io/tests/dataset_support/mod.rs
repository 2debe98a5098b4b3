//! Shared fixtures of the dataset tests: a random city and hand-made agent outputs
//! whose rows straddle local midnight in New York.
#![allow(dead_code)]

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::records::{AgentOutput, AgentRecord, DiaryEntry, Ping};
use gardencity::{BuildingIdx, BuildingType, City, Georeference};
use gardencity_io::dataset::{DatasetOptions, OutputKind, OutputSelection};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// 2024-01-02T00:00:00-05:00 (local midnight in New York), Unix seconds.
pub const MIDNIGHT: i64 = 1_704_171_600;

/// A 30x30 random city placed near Philadelphia, optionally rotated.
pub fn city(rotation_deg: f64) -> Arc<City> {
    let georef = Georeference {
        block_side: 15.0,
        origin_x: -8_366_000.0,
        origin_y: 4_859_000.0,
        rotation_deg,
        rotation_origin: (-8_365_800.0, 4_859_100.0),
    };
    Arc::new(random_city(&RandomCityParams { width: 30, height: 30, seed: 7, georef, ..Default::default() }).unwrap())
}

/// Agent `k`'s home and workplace indices.
pub fn home_work(city: &City, k: usize) -> (BuildingIdx, BuildingIdx) {
    let homes = city.buildings_of_type(BuildingType::Home);
    let works = city.buildings_of_type(BuildingType::Workplace);
    (homes[k % homes.len()], works[(3 * k) % works.len()])
}

/// The readable id of agent `k`; agent 2's contains a comma and a quote (CSV quoting).
pub fn user_id(k: usize) -> String {
    match k {
        2 => "odd, \"quoted\" otter".to_string(),
        _ => format!("agent_{k}"),
    }
}

/// Agent `k`'s outputs. Per agent: sparse 2 rows before local midnight and 2 after;
/// dense 2 / 2 (one travelling ping, location None); diary 2 / 1 (with a trip);
/// destinations 1 / 1.
pub fn agent(city: &City, k: usize) -> AgentOutput {
    let (home, work) = home_work(city, k);
    let kf = k as f64;
    let ping = |timestamp: i64, i: usize, location: Option<BuildingIdx>| Ping {
        timestamp,
        x: 3.5 + kf + 0.125 * i as f64,
        y: 4.25 + 0.5 * i as f64,
        ha: 0.75 + 0.01 * kf,
        location,
    };
    let k64 = k as i64;
    AgentOutput {
        agent: AgentRecord { index: k as u64, id: user_id(k), home, workplace: work },
        sparse: vec![
            ping(MIDNIGHT - 7200 + k64, 0, None),
            ping(MIDNIGHT - 1, 1, None),
            ping(MIDNIGHT, 2, None),
            ping(MIDNIGHT + 600 + k64, 3, None),
        ],
        sweep: Vec::new(),
        dense: vec![
            ping(MIDNIGHT - 120, 0, Some(home)),
            ping(MIDNIGHT - 60, 1, Some(home)),
            ping(MIDNIGHT, 2, None),
            ping(MIDNIGHT + 60, 3, Some(work)),
        ],
        diary: vec![
            DiaryEntry { timestamp: MIDNIGHT - 7200, duration: 100.0, location: Some(home) },
            DiaryEntry { timestamp: MIDNIGHT - 1200, duration: 25.5, location: None },
            DiaryEntry { timestamp: MIDNIGHT + 300, duration: 480.0, location: Some(work) },
        ],
        destinations: vec![
            DiaryEntry { timestamp: MIDNIGHT - 7200 - k64 * 60, duration: 120.0, location: Some(home) },
            DiaryEntry { timestamp: MIDNIGHT, duration: 480.0, location: Some(work) },
        ],
        ticks: 4,
        continues: false,
    }
}

/// Options writing every output, with a start date of 2024-01-01.
pub fn all_outputs() -> DatasetOptions {
    DatasetOptions {
        outputs: OutputSelection::all(),
        start_date: chrono::NaiveDate::from_ymd_opt(2024, 1, 1).unwrap(),
        ..Default::default()
    }
}

/// Expected rows per output and date for `n` agents from [`agent`].
pub fn expected_counts(kind: OutputKind, n: usize) -> Vec<(&'static str, usize)> {
    match kind {
        OutputKind::Sparse | OutputKind::Dense => vec![("2024-01-01", 2 * n), ("2024-01-02", 2 * n)],
        OutputKind::Diary => vec![("2024-01-01", 2 * n), ("2024-01-02", n)],
        OutputKind::Destinations => vec![("2024-01-01", n), ("2024-01-02", n)],
        OutputKind::Homes => vec![("2024-01-01", n)],
    }
}

/// Every file under `dir`, relative, sorted.
pub fn all_files(dir: &Path) -> Vec<PathBuf> {
    fn walk(base: &Path, d: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(base, &p, out);
            } else {
                out.push(p.strip_prefix(base).unwrap().to_path_buf());
            }
        }
    }
    let mut out = Vec::new();
    walk(dir, dir, &mut out);
    out.sort();
    out
}

/// True when a relative path has a hidden component (leading `.`).
pub fn is_hidden(p: &Path) -> bool {
    p.components().any(|c| c.as_os_str().to_string_lossy().starts_with('.'))
}

/// Reads every output of a dataset with pyarrow as a hive dataset and prints JSON:
/// per output the schema, rows per date and the rows. Independently checks that each
/// row's `date` partition is the local date of its `datetime` (Parquet) or of its
/// `timestamp` in the time zone (CSV), and that `datetime` equals `timestamp`.
pub const READ_SCRIPT: &str = r#"
import json, sys, datetime, zoneinfo
import pyarrow as pa, pyarrow.dataset as ds, pyarrow.csv as pcsv
root, fmt, tzname = sys.argv[1], sys.argv[2], sys.argv[3]
tz = zoneinfo.ZoneInfo(tzname)
out = {}
for name in ["sparse", "dense", "diaries", "destinations", "homes"]:
    path = root + "/" + name
    if fmt == "parquet":
        d = ds.dataset(path, format="parquet", partitioning="hive")
    else:
        cols = {"user_id": pa.string(), "home": pa.string(), "workplace": pa.string(),
                "location": pa.string(), "datetime": pa.string()}
        conv = pcsv.ConvertOptions(column_types=cols, strings_can_be_null=True)
        d = ds.dataset(path, format=ds.CsvFileFormat(convert_options=conv), partitioning="hive")
    t = d.to_table()
    schema = [[f.name, str(f.type)] for f in t.schema]
    rows = t.to_pylist()
    counts = {}
    for r in rows:
        date = str(r["date"])
        counts[date] = counts.get(date, 0) + 1
        if "timestamp" in r:
            local = datetime.datetime.fromtimestamp(r["timestamp"], tz)
            assert local.date().isoformat() == date, (name, r)
            if fmt == "parquet":
                assert r["datetime"].tzinfo is not None, r
                assert r["datetime"].timestamp() == r["timestamp"], r
                assert r["datetime"].astimezone(tz) == local, r
            else:
                assert r["datetime"] == local.isoformat(), (r["datetime"], local.isoformat())
            del r["datetime"]
        r["date"] = date
    out[name] = {"schema": schema, "counts": counts, "rows": rows,
                 "files": sorted(f.replace(path + "/", "") for f in d.files)}
print(json.dumps(out))
"#;
