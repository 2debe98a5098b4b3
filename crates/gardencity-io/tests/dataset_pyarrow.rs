//! Datasets written by `DatasetWriter`, read back by pyarrow as hive datasets.

mod dataset_support;

use dataset_support::*;
use gardencity::records::OutputSink;
use gardencity::{BuildingIdx, City, Point};
use gardencity_io::dataset::{Coordinates, DatasetFormat, DatasetOptions, DatasetWriter, OutputKind};
use serde_json::{json, Value};
use std::path::Path;

const N_AGENTS: usize = 3;

fn write(dir: &Path, city: &std::sync::Arc<City>, opts: DatasetOptions) -> gardencity_io::dataset::DatasetSummary {
    let mut w = DatasetWriter::create(dir, city.clone(), opts).unwrap();
    for k in 0..N_AGENTS {
        w.write_agent(&agent(city, k)).unwrap();
    }
    w.finish(json!({"seed": 42, "note": "test run"})).unwrap()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()).max(1.0)
}

/// Expected rows of one output in the dataset's coordinates, as (date, user, timestamp, values...).
fn expected_rows(city: &City, kind: OutputKind, coords: Coordinates) -> Vec<Value> {
    let g = city.georef();
    let conv = |x: f64, y: f64, ha: f64| -> (f64, f64, f64) {
        match coords {
            Coordinates::Blocks => (x, y, ha),
            Coordinates::WebMercator => {
                let (mx, my) = g.to_mercator(Point::new(x, y));
                (mx, my, ha * 15.0)
            }
            Coordinates::LonLat => {
                let (lon, lat) = g.to_lonlat(Point::new(x, y));
                (lon, lat, ha * 15.0)
            }
        }
    };
    let date = |ts: i64| if ts < MIDNIGHT { "2024-01-01" } else { "2024-01-02" };
    let id = |b: Option<BuildingIdx>| b.map(|b| city.building(b).id.clone());
    let mut rows = Vec::new();
    for k in 0..N_AGENTS {
        let a = agent(city, k);
        let user = user_id(k);
        match kind {
            OutputKind::Sparse | OutputKind::Dense => {
                let pings = if kind == OutputKind::Sparse { &a.sparse } else { &a.dense };
                for p in pings {
                    let (x, y, ha) = conv(p.x, p.y, p.ha);
                    let mut r = json!({"user_id": user, "x": x, "y": y, "timestamp": p.timestamp, "ha": ha,
                                       "date": date(p.timestamp)});
                    if kind == OutputKind::Dense {
                        r["location"] = json!(id(p.location));
                    }
                    rows.push(r);
                }
            }
            OutputKind::Diary | OutputKind::Destinations => {
                let entries = if kind == OutputKind::Diary { &a.diary } else { &a.destinations };
                for e in entries {
                    rows.push(json!({"timestamp": e.timestamp, "duration": e.duration, "location": id(e.location),
                                     "user_id": user, "date": date(e.timestamp)}));
                }
            }
            OutputKind::Homes => {
                let (h, w) = home_work(city, k);
                rows.push(json!({"user_id": user, "home": id(Some(h)), "workplace": id(Some(w)),
                                 "date": "2024-01-01"}));
            }
        }
    }
    rows
}

fn sort_key(r: &Value) -> (String, String, i64) {
    (r["date"].as_str().unwrap().into(), r["user_id"].as_str().unwrap().into(), r["timestamp"].as_i64().unwrap_or(0))
}

fn assert_rows_equal(kind: OutputKind, mut got: Vec<Value>, mut want: Vec<Value>) {
    got.sort_by_key(sort_key);
    want.sort_by_key(sort_key);
    assert_eq!(got.len(), want.len(), "{kind}: row count");
    for (g, w) in got.iter().zip(&want) {
        let (go, wo) = (g.as_object().unwrap(), w.as_object().unwrap());
        let mut gk: Vec<_> = go.keys().collect();
        let mut wk: Vec<_> = wo.keys().collect();
        gk.sort();
        wk.sort();
        assert_eq!(gk, wk, "{kind}: columns of {g}");
        for (k, wv) in wo {
            let gv = &go[k];
            match (gv.as_f64(), wv.as_f64()) {
                (Some(a), Some(b)) if wv.is_f64() => assert!(close(a, b), "{kind}.{k}: got {gv}, want {wv}"),
                _ => assert_eq!(gv, wv, "{kind}.{k} of {g}"),
            }
        }
    }
}

fn check_with_pyarrow(dir: &Path, city: &City, format: DatasetFormat, coords: Coordinates) {
    let Some(py) = gardencity_testkit::python() else { return };
    let out =
        gardencity_testkit::run_python(&py, READ_SCRIPT, &[dir.to_str().unwrap(), format.as_str(), "America/New_York"]);
    let v: Value = serde_json::from_str(&out).unwrap();
    let ts_type = match format {
        DatasetFormat::Parquet => "timestamp[ms, tz=America/New_York]",
        DatasetFormat::Csv => "string", // read as text; the script compares it to Python's isoformat
    };
    let ping_schema = |dense: bool| {
        let mut s = vec![
            json!(["user_id", "string"]),
            json!(["x", "double"]),
            json!(["y", "double"]),
            json!(["datetime", ts_type]),
            json!(["timestamp", "int64"]),
            json!(["ha", "double"]),
        ];
        if dense {
            s.push(json!(["location", "string"]));
        }
        s.push(json!(["date", "string"]));
        s
    };
    let diary_schema = vec![
        json!(["datetime", ts_type]),
        json!(["timestamp", "int64"]),
        json!(["duration", "double"]),
        json!(["location", "string"]),
        json!(["user_id", "string"]),
        json!(["date", "string"]),
    ];
    let homes_schema = vec![
        json!(["user_id", "string"]),
        json!(["home", "string"]),
        json!(["workplace", "string"]),
        json!(["date", "string"]),
    ];
    for kind in OutputKind::ALL {
        let t = &v[kind.dir_name()];
        let want_schema = match kind {
            OutputKind::Sparse => ping_schema(false),
            OutputKind::Dense => ping_schema(true),
            OutputKind::Diary | OutputKind::Destinations => diary_schema.clone(),
            OutputKind::Homes => homes_schema.clone(),
        };
        assert_eq!(t["schema"], Value::Array(want_schema), "{kind} schema");
        let counts: Vec<(String, u64)> =
            t["counts"].as_object().unwrap().iter().map(|(d, n)| (d.clone(), n.as_u64().unwrap())).collect();
        let want_counts: Vec<(String, u64)> =
            expected_counts(kind, N_AGENTS).into_iter().map(|(d, n)| (d.to_string(), n as u64)).collect();
        assert_eq!(counts, want_counts, "{kind} rows per date");
        let ext = format.as_str();
        let want_files: Vec<String> = want_counts.iter().map(|(d, _)| format!("date={d}/part-00000.{ext}")).collect();
        assert_eq!(t["files"], json!(want_files), "{kind} files seen by pyarrow");
        assert_rows_equal(kind, t["rows"].as_array().unwrap().clone(), expected_rows(city, kind, coords));
    }
}

fn check_layout(dir: &Path, format: DatasetFormat) {
    let files = all_files(dir);
    assert!(files.iter().all(|f| !is_hidden(f)), "hidden temporary files left: {files:?}");
    assert!(dir.join("_SUCCESS").is_file());
    assert_eq!(std::fs::metadata(dir.join("_SUCCESS")).unwrap().len(), 0);
    let ext = format.as_str();
    let mut want: Vec<std::path::PathBuf> = vec!["_SUCCESS".into(), "manifest.json".into()];
    for kind in OutputKind::ALL {
        for (d, _) in expected_counts(kind, N_AGENTS) {
            want.push(format!("{}/date={d}/part-00000.{ext}", kind.dir_name()).into());
        }
    }
    want.sort();
    assert_eq!(files, want);
}

fn check_manifest(dir: &Path, city: &City, format: DatasetFormat, coords: Coordinates) {
    let text = std::fs::read_to_string(dir.join("manifest.json")).unwrap();
    let m: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(m["seed"], 42, "the run's own entries are kept");
    assert_eq!(m["note"], "test run");
    let d = &m["dataset"];
    assert_eq!(d["format"], format.as_str());
    assert_eq!(d["coordinates"], coords.as_str());
    assert_eq!(d["time_zone"], "America/New_York");
    assert_eq!(d["start_date"], "2024-01-01");
    assert_eq!(d["agents"], N_AGENTS as u64);
    assert_eq!(d["georeference"]["origin_x"], city.georef().origin_x);
    for kind in OutputKind::ALL {
        let total: usize = expected_counts(kind, N_AGENTS).iter().map(|c| c.1).sum();
        assert_eq!(d["outputs"][kind.dir_name()]["rows"], total as u64, "{kind} rows in manifest");
        assert_eq!(
            d["outputs"][kind.dir_name()]["files"].as_array().unwrap().len(),
            expected_counts(kind, N_AGENTS).len()
        );
    }
    let parsed = gardencity_io::dataset::read_manifest(dir).unwrap();
    assert_eq!(parsed.format, format);
    assert_eq!(parsed.coordinates, coords);
    assert_eq!(parsed.georeference, *city.georef());
    assert_eq!(parsed.time_zone, chrono_tz::America::New_York);
}

#[test]
fn parquet_web_mercator_reads_back_in_pyarrow() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let city = city(0.0);
    let opts = DatasetOptions { coordinates: Coordinates::WebMercator, ..all_outputs() };
    let summary = write(&dir, &city, opts);
    assert_eq!(summary.agents, N_AGENTS as u64);
    assert_eq!(summary.rows[&OutputKind::Sparse], 4 * N_AGENTS as u64);
    assert_eq!(summary.file_count(), 9);
    check_layout(&dir, DatasetFormat::Parquet);
    check_manifest(&dir, &city, DatasetFormat::Parquet, Coordinates::WebMercator);
    check_with_pyarrow(&dir, &city, DatasetFormat::Parquet, Coordinates::WebMercator);
    // Without rotation the conversion is x * 15 + origin: check one value by hand.
    let pings = gardencity_io::dataset::read_pings(&dir, OutputKind::Sparse, &Default::default()).unwrap();
    let first = pings.iter().find(|p| p.user_id == "agent_0" && p.timestamp == MIDNIGHT - 7200).unwrap();
    assert_eq!(first.x, 3.5 * 15.0 - 8_366_000.0);
    assert_eq!(first.y, 4.25 * 15.0 + 4_859_000.0);
    assert_eq!(first.ha, 0.75 * 15.0);
}

#[test]
fn parquet_rotated_lonlat_reads_back_in_pyarrow() {
    let tmp = tempfile::tempdir().unwrap();
    let city = city(17.5);
    let opts = DatasetOptions { coordinates: Coordinates::LonLat, ..all_outputs() };
    write(tmp.path(), &city, opts);
    check_layout(tmp.path(), DatasetFormat::Parquet);
    check_with_pyarrow(tmp.path(), &city, DatasetFormat::Parquet, Coordinates::LonLat);
    // Longitude and latitude near Philadelphia.
    let pings = gardencity_io::dataset::read_pings(tmp.path(), OutputKind::Dense, &Default::default()).unwrap();
    assert!(pings.iter().all(|p| (-75.2..-75.1).contains(&p.x) && (39.9..40.0).contains(&p.y)), "{:?}", pings[0]);
}

#[test]
fn csv_blocks_reads_back_in_pyarrow() {
    let tmp = tempfile::tempdir().unwrap();
    let city = city(0.0);
    let opts = DatasetOptions { format: DatasetFormat::Csv, coordinates: Coordinates::Blocks, ..all_outputs() };
    write(tmp.path(), &city, opts);
    check_layout(tmp.path(), DatasetFormat::Csv);
    check_manifest(tmp.path(), &city, DatasetFormat::Csv, Coordinates::Blocks);
    check_with_pyarrow(tmp.path(), &city, DatasetFormat::Csv, Coordinates::Blocks);
    // The datetime text itself, just before local midnight.
    let text = std::fs::read_to_string(tmp.path().join("sparse/date=2024-01-01/part-00000.csv")).unwrap();
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("user_id,x,y,datetime,timestamp,ha"));
    assert!(text.contains(",2024-01-01T23:59:59-05:00,1704171599,"), "{text}");
    assert!(text.contains("\"odd, \"\"quoted\"\" otter\","), "{text}");
}

#[test]
fn csv_web_mercator_reads_back_in_pyarrow() {
    let tmp = tempfile::tempdir().unwrap();
    let city = city(-30.0);
    let opts = DatasetOptions { format: DatasetFormat::Csv, coordinates: Coordinates::WebMercator, ..all_outputs() };
    write(tmp.path(), &city, opts);
    check_with_pyarrow(tmp.path(), &city, DatasetFormat::Csv, Coordinates::WebMercator);
}

/// Rows every 7 minutes over the 2024 DST changes in New York, and in Kathmandu
/// (+05:45): every row lands in the partition of its local date (pyarrow checks each
/// row against Python's zoneinfo; here the counts per date against chrono).
#[test]
fn partitions_follow_local_dates_across_dst_and_odd_offsets() {
    use chrono::TimeZone;
    let Some(py) = gardencity_testkit::python() else { return };
    for tz in [chrono_tz::America::New_York, chrono_tz::Asia::Kathmandu] {
        let city = city(0.0);
        let (home, work) = home_work(&city, 0);
        let mut ts: Vec<i64> = Vec::new();
        for start in [1_709_942_400_i64, 1_730_505_600] {
            ts.extend((0..(4 * 86_400 / 420)).map(|i| start + i * 420));
        }
        let ping = |t: i64| gardencity::records::Ping { timestamp: t, x: 1.0, y: 2.0, ha: 0.5, location: Some(home) };
        let entry = |t: i64| gardencity::records::DiaryEntry { timestamp: t, duration: 7.0, location: None };
        // Field by field, so fields added to AgentOutput later keep their defaults.
        let mut out = gardencity::records::AgentOutput {
            agent: gardencity::records::AgentRecord { index: 0, id: "a".into(), home, workplace: work },
            ..Default::default()
        };
        out.sparse = ts.iter().map(|&t| ping(t)).collect();
        out.dense = ts.iter().map(|&t| ping(t)).collect();
        out.diary = ts.iter().map(|&t| entry(t)).collect();
        out.destinations = ts.iter().map(|&t| entry(t)).collect();
        for format in [DatasetFormat::Parquet, DatasetFormat::Csv] {
            let tmp = tempfile::tempdir().unwrap();
            let opts = DatasetOptions { format, time_zone: tz, batch_rows: 500, ..all_outputs() };
            let mut w = DatasetWriter::create(tmp.path(), city.clone(), opts).unwrap();
            w.write_agent(&out).unwrap();
            w.finish(json!({})).unwrap();
            let text = gardencity_testkit::run_python(
                &py,
                READ_SCRIPT,
                &[tmp.path().to_str().unwrap(), format.as_str(), tz.name()],
            );
            let v: Value = serde_json::from_str(&text).unwrap();
            let mut want: std::collections::BTreeMap<String, u64> = Default::default();
            for &t in &ts {
                let d = tz.timestamp_opt(t, 0).unwrap().date_naive().format("%Y-%m-%d").to_string();
                *want.entry(d).or_default() += 1;
            }
            assert_eq!(want.len(), 10, "{tz}: two runs of four days straddle five dates each");
            for kind in [OutputKind::Sparse, OutputKind::Dense, OutputKind::Diary, OutputKind::Destinations] {
                let got: std::collections::BTreeMap<String, u64> =
                    serde_json::from_value(v[kind.dir_name()]["counts"].clone()).unwrap();
                assert_eq!(got, want, "{tz} {format} {kind}");
            }
            if format == DatasetFormat::Parquet {
                let dt = &v["sparse"]["schema"][3];
                assert_eq!(dt, &json!(["datetime", format!("timestamp[ms, tz={}]", tz.name())]));
            }
        }
    }
}
