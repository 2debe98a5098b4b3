//! DatasetWriter life cycle: interruption, overwrite rules, determinism, file rolling,
//! bounded buffers, bad input and file-system errors.

mod dataset_support;

use dataset_support::*;
use gardencity::records::{AgentOutput, DiaryEntry, OutputSink, Ping};
use gardencity::BuildingIdx;
use gardencity_io::dataset::{
    for_each_diary, read_diary, read_manifest, read_pings, read_user_ids, DatasetError, DatasetFormat, DatasetOptions,
    DatasetWriter, OutputKind, RowFilter,
};
use serde_json::json;
use std::fs;
use std::path::Path;

fn write_all(dir: &Path, opts: DatasetOptions, n: usize) -> gardencity_io::dataset::DatasetSummary {
    let city = city(0.0);
    let mut w = DatasetWriter::create(dir, city.clone(), opts).unwrap();
    for k in 0..n {
        w.write_agent(&agent(&city, k)).unwrap();
    }
    w.finish(json!({"seed": 1})).unwrap()
}

/// Small buffers and files, few open files: exercises rolling, LRU closing and shedding.
fn tight(format: DatasetFormat) -> DatasetOptions {
    DatasetOptions { format, batch_rows: 2, rows_per_file: 3, max_open_files: 2, max_buffered_rows: 5, ..all_outputs() }
}

#[test]
fn interrupted_writer_leaves_no_success_and_no_visible_parts() {
    for format in [DatasetFormat::Parquet, DatasetFormat::Csv] {
        let tmp = tempfile::tempdir().unwrap();
        let city = city(0.0);
        let mut w = DatasetWriter::create(tmp.path(), city.clone(), tight(format)).unwrap();
        for k in 0..4 {
            w.write_agent(&agent(&city, k)).unwrap();
        }
        // Mid-run: data is on disk, but only under hidden names.
        let during = all_files(tmp.path());
        assert!(!during.is_empty(), "{format}: batches should have been written");
        assert!(during.iter().all(|f| is_hidden(f)), "{format}: visible file while writing: {during:?}");
        drop(w);
        let after = all_files(tmp.path());
        assert!(after.is_empty(), "{format}: files left after an interrupted run: {after:?}");
        assert!(!tmp.path().join("_SUCCESS").exists());
        assert!(read_manifest(tmp.path()).is_err(), "an unfinished dataset must not read as complete");
    }
}

/// A cancelled write gives up with `Cancelled` (the writer then refuses more), and the
/// files written so far go when it is dropped; with the flag clear it writes as usual.
#[test]
fn a_cancelled_write_gives_up_and_leaves_nothing() {
    use std::sync::atomic::AtomicBool;
    for format in [DatasetFormat::Parquet, DatasetFormat::Csv] {
        let tmp = tempfile::tempdir().unwrap();
        let city = city(0.0);
        let mut w = DatasetWriter::create(tmp.path(), city.clone(), tight(format)).unwrap();
        for k in 0..3 {
            w.write_agent_cancellable(&agent(&city, k), &AtomicBool::new(false)).unwrap();
        }
        assert!(!all_files(tmp.path()).is_empty(), "{format}: batches should have been written");
        let e = w.write_agent_cancellable(&agent(&city, 3), &AtomicBool::new(true)).unwrap_err();
        assert!(matches!(e, DatasetError::Cancelled), "{format}: {e}");
        assert!(w.write_agent(&agent(&city, 4)).is_err(), "{format}: a cancelled writer must not go on");
        drop(w);
        assert!(all_files(tmp.path()).is_empty(), "{format}: files left: {:?}", all_files(tmp.path()));
    }
}

#[test]
fn overwrite_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("run");
    let city = city(0.0);
    // A fresh directory is created.
    write_all(&dir, all_outputs(), 2);
    let first = all_files(&dir);
    // Non-empty without overwrite: refused, nothing touched.
    let err = DatasetWriter::create(&dir, city.clone(), all_outputs()).unwrap_err();
    assert!(matches!(err, DatasetError::NotEmpty { .. }), "{err}");
    assert_eq!(all_files(&dir), first);
    // With overwrite: the previous run is replaced.
    let opts = DatasetOptions { overwrite: true, ..all_outputs() };
    write_all(&dir, opts.clone(), 1);
    assert_eq!(read_manifest(&dir).unwrap().agents, 1);
    // A file gardencity does not write: refused even with overwrite, nothing deleted.
    fs::write(dir.join("notes.txt"), "mine").unwrap();
    let before = all_files(&dir);
    let err = DatasetWriter::create(&dir, city.clone(), opts.clone()).unwrap_err();
    match &err {
        DatasetError::Foreign { entry, .. } => assert_eq!(entry, "notes.txt"),
        other => panic!("expected Foreign, got {other}"),
    }
    assert_eq!(all_files(&dir), before);
    fs::remove_file(dir.join("notes.txt")).unwrap();
    // A foreign file inside a partition directory: refused too.
    fs::write(dir.join("sparse/date=2024-01-01/data.json"), "{}").unwrap();
    let err = DatasetWriter::create(&dir, city.clone(), opts.clone()).unwrap_err();
    match &err {
        DatasetError::Foreign { entry, .. } => assert_eq!(entry, "sparse/date=2024-01-01/data.json"),
        other => panic!("expected Foreign, got {other}"),
    }
    assert!(dir.join("_SUCCESS").exists(), "a refused overwrite must not delete anything");
    fs::remove_file(dir.join("sparse/date=2024-01-01/data.json")).unwrap();
    // A non-gardencity directory name.
    fs::create_dir(dir.join("logs")).unwrap();
    assert!(matches!(DatasetWriter::create(&dir, city.clone(), opts.clone()), Err(DatasetError::Foreign { .. })));
    fs::remove_dir(dir.join("logs")).unwrap();
    // The output path is a file.
    let file = tmp.path().join("file");
    fs::write(&file, "x").unwrap();
    assert!(matches!(DatasetWriter::create(&file, city.clone(), opts), Err(DatasetError::NotADirectory { .. })));
    // An empty existing directory is fine without overwrite.
    let empty = tmp.path().join("empty");
    fs::create_dir(&empty).unwrap();
    write_all(&empty, all_outputs(), 1);
    assert!(empty.join("_SUCCESS").exists());
}

/// The same agents give the same bytes, whether the row groups are encoded on the
/// writer's thread or on a pool (with `tight`, many row groups are pending when files
/// roll and the least recently used one is closed).
#[test]
fn same_agents_give_byte_identical_files_for_any_encoding_threads() {
    let no_sync = DatasetOptions { sync: false, ..tight(DatasetFormat::Parquet) };
    for opts in [all_outputs(), tight(DatasetFormat::Parquet), tight(DatasetFormat::Csv), no_sync] {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write_all(a.path(), DatasetOptions { encode_threads: 0, ..opts.clone() }, 5);
        write_all(b.path(), DatasetOptions { encode_threads: 3, ..opts.clone() }, 5);
        let files = all_files(a.path());
        assert_eq!(files, all_files(b.path()));
        assert!(files.len() > 9);
        for f in &files {
            assert_eq!(fs::read(a.path().join(f)).unwrap(), fs::read(b.path().join(f)).unwrap(), "{}", f.display());
        }
    }
}

/// Each output, and each sweep configuration's sparse pings, is bounded by
/// `max_buffered_rows` on its own: with buffers small enough that rows are written
/// for memory (not only when a batch is full), a configuration's files are still byte
/// for byte those of a run of it alone, whatever else is written beside it.
#[test]
fn a_sweep_configuration_sheds_as_a_run_of_it_alone() {
    let city = city(0.0);
    // Configuration "b" has three times the pings of "a" (a few seconds apart, further
    // east): with one budget for all outputs it made "a" and the ground truth flush at
    // other rows than in a run of "a" alone.
    let config = |k: usize, c: usize| -> Vec<Ping> {
        let base = agent(&city, k).sparse;
        let mut v: Vec<Ping> = (0..1 + 2 * c)
            .flat_map(|r| {
                base.iter().map(move |p| Ping { timestamp: p.timestamp + 7 * r as i64, x: p.x + c as f64, ..*p })
            })
            .collect();
        v.sort_by_key(|p| p.timestamp);
        v
    };
    let budget = 20;
    let opts = DatasetOptions {
        batch_rows: 1000,
        max_buffered_rows: budget,
        rows_per_file: 1000,
        max_open_files: 100,
        ..all_outputs()
    };
    let n = 30;
    let sweep_dir = tempfile::tempdir().unwrap();
    let sweep_opts = DatasetOptions { sweep: vec!["a".into(), "b".into()], ..opts.clone() };
    let mut w = DatasetWriter::create(sweep_dir.path(), city.clone(), sweep_opts).unwrap();
    for k in 0..n {
        let out = AgentOutput { sweep: (0..2).map(|c| config(k, c)).collect(), sparse: Vec::new(), ..agent(&city, k) };
        w.write_agent(&out).unwrap();
        for (kind, c) in [(OutputKind::Sparse, 0), (OutputKind::Sparse, 1), (OutputKind::Dense, 0)] {
            let held = w.buffered_rows_of(kind, c);
            assert!(held <= budget, "{kind:?} {c}: {held} rows buffered");
        }
    }
    w.finish(json!(null)).unwrap();
    for (c, name) in ["a", "b"].iter().enumerate() {
        let alone = tempfile::tempdir().unwrap();
        let mut w = DatasetWriter::create(alone.path(), city.clone(), opts.clone()).unwrap();
        for k in 0..n {
            w.write_agent(&AgentOutput { sparse: config(k, c), ..agent(&city, k) }).unwrap();
        }
        w.finish(json!(null)).unwrap();
        let files: Vec<_> = all_files(alone.path()).into_iter().filter(|f| f.starts_with("sparse")).collect();
        // Written for memory: more than one row group per date.
        let first = fs::File::open(alone.path().join(&files[0])).unwrap();
        let groups = parquet::file::reader::SerializedFileReader::new(first).unwrap();
        let groups = parquet::file::reader::FileReader::metadata(&groups).num_row_groups();
        assert!(groups > 1, "{name}: {groups} row group(s); the budget should have cut the file");
        for f in &files {
            let rel = f.to_string_lossy().replacen("sparse/", &format!("sparse/config={name}/"), 1);
            let swept = fs::read(sweep_dir.path().join(&rel)).unwrap_or_default();
            assert!(
                swept == fs::read(alone.path().join(f)).unwrap(),
                "{rel} differs from the run alone's {}",
                f.display()
            );
        }
    }
}

#[test]
fn small_files_and_buffers_keep_every_row() {
    let cases = [
        (DatasetFormat::Parquet, 100),
        (DatasetFormat::Csv, 100),
        (DatasetFormat::Parquet, 2),
        (DatasetFormat::Csv, 2),
    ];
    for (format, max_open_files) in cases {
        let tmp = tempfile::tempdir().unwrap();
        let city = city(0.0);
        let opts = DatasetOptions {
            coordinates: gardencity_io::dataset::Coordinates::Blocks,
            max_open_files,
            ..tight(format)
        };
        let mut w = DatasetWriter::create(tmp.path(), city.clone(), opts).unwrap();
        let n = 6;
        for k in 0..n {
            w.write_agent(&agent(&city, k)).unwrap();
            for kind in OutputKind::ALL {
                let held = w.buffered_rows_of(kind, 0);
                assert!(held <= 5, "{format}: {held} {kind:?} rows buffered");
            }
            assert!(w.buffered_rows() <= 5 * OutputKind::ALL.len(), "{format}: {} rows buffered", w.buffered_rows());
            assert!(w.open_files() <= max_open_files, "{format}: {} files open", w.open_files());
            assert_eq!(w.agents_written(), k as u64 + 1);
            assert_eq!(w.rows_written(OutputKind::Sparse), 4 * (k as u64 + 1));
        }
        let summary = w.finish(json!(null)).unwrap();
        // 4 sparse rows per agent on 2 dates -> 12 rows per date, 3 rows per file: 4 parts
        // per date when no file is closed early for lack of open-file slots.
        let sparse = &summary.files[&OutputKind::Sparse];
        let ext = format.as_str();
        if max_open_files == 100 {
            let want: Vec<String> = ["2024-01-01", "2024-01-02"]
                .iter()
                .flat_map(|d| (0..4).map(move |p| format!("sparse/date={d}/part-{p:05}.{ext}")))
                .collect();
            assert_eq!(sparse, &want);
        } else {
            assert!(sparse.len() > 8, "{format}: LRU closing should add parts: {sparse:?}");
        }
        // The reader sees every row, in the same coordinates, sorted by user then time.
        let pings = read_pings(tmp.path(), OutputKind::Sparse, &RowFilter::default()).unwrap();
        let mut want: Vec<(String, i64, f64, f64, f64)> = (0..n)
            .flat_map(|k| agent(&city, k).sparse.into_iter().map(move |p| (user_id(k), p.timestamp, p.x, p.y, p.ha)))
            .collect();
        want.sort_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)));
        let got: Vec<_> = pings.iter().map(|p| (p.user_id.clone(), p.timestamp, p.x, p.y, p.ha)).collect();
        assert_eq!(got, want);
        // Dense locations and diary trips (null location) survive.
        let dense = read_pings(tmp.path(), OutputKind::Dense, &RowFilter::default()).unwrap();
        let (home, work) = home_work(&city, 0);
        let a0: Vec<Option<String>> =
            dense.iter().filter(|p| p.user_id == "agent_0").map(|p| p.location.clone()).collect();
        let id = |b: BuildingIdx| Some(city.building(b).id.clone());
        assert_eq!(a0, vec![id(home), id(home), None, id(work)]);
        let diary = read_diary(tmp.path(), OutputKind::Diary, &RowFilter::default()).unwrap();
        assert_eq!(diary.len(), 3 * n);
        assert_eq!(diary.iter().filter(|d| d.location.is_none()).count(), n);
        // Filters: one user, a time window [MIDNIGHT, +inf).
        let f = RowFilter { users: Some([user_id(2)].into()), start: Some(MIDNIGHT), end: None };
        let some = read_pings(tmp.path(), OutputKind::Sparse, &f).unwrap();
        assert_eq!(some.iter().map(|p| p.timestamp).collect::<Vec<_>>(), vec![MIDNIGHT, MIDNIGHT + 602]);
        assert!(some.iter().all(|p| p.user_id == user_id(2)));
    }
}

#[test]
fn bad_rows_are_rejected_whole_and_writing_continues() {
    let tmp = tempfile::tempdir().unwrap();
    let city = city(0.0);
    let mut w = DatasetWriter::create(tmp.path(), city.clone(), all_outputs()).unwrap();
    w.write_agent(&agent(&city, 0)).unwrap();
    let mut bad = agent(&city, 1);
    let n_b = city.buildings().len() as u32;
    bad.diary[2].location = Some(BuildingIdx(n_b + 5));
    match w.write_agent(&bad).unwrap_err() {
        DatasetError::BadBuilding { agent, output, row, building, count } => {
            assert_eq!(
                (agent.as_str(), output, row, building, count),
                ("agent_1", OutputKind::Diary, 2, BuildingIdx(n_b + 5), n_b as usize)
            );
        }
        other => panic!("expected BadBuilding, got {other}"),
    }
    let mut bad = agent(&city, 1);
    bad.sparse.push(Ping { timestamp: i64::MAX / 2, x: 0.0, y: 0.0, ha: 0.0, location: None });
    assert!(matches!(w.write_agent(&bad), Err(DatasetError::BadTimestamp { row: 4, .. })));
    let anonymous = AgentOutput {
        diary: vec![DiaryEntry { timestamp: MIDNIGHT, duration: 1.0, location: None }],
        ..Default::default()
    };
    assert!(matches!(w.write_agent(&anonymous), Err(DatasetError::MissingAgent { position: 1 })));
    w.write_agent(&agent(&city, 1)).unwrap();
    let s = w.finish(json!({})).unwrap();
    // Only the two good agents, each once.
    assert_eq!(s.rows[&OutputKind::Sparse], 8);
    assert_eq!(s.rows[&OutputKind::Homes], 2);
    let err =
        DatasetWriter::create(tmp.path().join("x"), city.clone(), DatasetOptions { batch_rows: 0, ..all_outputs() })
            .unwrap_err();
    assert!(matches!(err, DatasetError::Option { name: "batch_rows", .. }), "{err}");
    let bad_manifest = DatasetWriter::create(tmp.path().join("y"), city, all_outputs()).unwrap().finish(json!([1]));
    assert!(matches!(bad_manifest, Err(DatasetError::ManifestNotObject { kind: "an array" })));
    assert!(!tmp.path().join("y/_SUCCESS").exists());
}

#[test]
fn file_system_errors_propagate_and_leave_no_success() {
    let tmp = tempfile::tempdir().unwrap();
    let city = city(0.0);
    let opts = DatasetOptions { batch_rows: 1, ..all_outputs() };
    let mut w = DatasetWriter::create(tmp.path(), city.clone(), opts).unwrap();
    // Something blocks the partition directories: creating them fails.
    fs::write(tmp.path().join("sparse"), "in the way").unwrap();
    let err = w.write_agent(&agent(&city, 0)).unwrap_err();
    match &err {
        DatasetError::Io { op, path, .. } => {
            assert_eq!(*op, "creating directory");
            assert!(path.ends_with("sparse/date=2024-01-01"), "{}", path.display());
        }
        other => panic!("expected Io, got {other}"),
    }
    // The writer is now failed: later calls and finish report it.
    assert!(matches!(w.write_agent(&agent(&city, 1)), Err(DatasetError::Failed { .. })));
    assert!(matches!(w.finish(json!({})), Err(DatasetError::Failed { .. })));
    assert!(!tmp.path().join("_SUCCESS").exists());
    assert!(!tmp.path().join("manifest.json").exists());
    let visible: Vec<_> = all_files(tmp.path()).into_iter().filter(|f| !is_hidden(f)).collect();
    assert_eq!(visible, vec![std::path::PathBuf::from("sparse")], "only the blocking file remains");
}

#[cfg(unix)]
#[test]
fn disk_full_propagates() {
    // /dev/full fails every write with ENOSPC; a symlink makes it the part file.
    if !Path::new("/dev/full").exists() {
        eprintln!("SKIPPED: /dev/full is missing on this system");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let city = city(0.0);
    let opts = DatasetOptions {
        format: DatasetFormat::Csv,
        batch_rows: 1,
        outputs: gardencity_io::dataset::OutputSelection {
            sparse: true,
            dense: false,
            diary: false,
            destinations: false,
            homes: false,
        },
        ..all_outputs()
    };
    let mut w = DatasetWriter::create(tmp.path(), city.clone(), opts).unwrap();
    let part_dir = tmp.path().join("sparse/date=2024-01-01");
    fs::create_dir_all(&part_dir).unwrap();
    std::os::unix::fs::symlink("/dev/full", part_dir.join(".part-00000.csv.inprogress")).unwrap();
    let mut result = Ok(());
    for k in 0..50 {
        result = w.write_agent(&agent(&city, k));
        if result.is_err() {
            break;
        }
    }
    let result = result.and_then(|_| w.finish(json!({})).map(|_| ()));
    let err = result.unwrap_err();
    let text = err.to_string();
    eprintln!("disk full error: {text}");
    assert!(
        matches!(&err, DatasetError::Io { .. } | DatasetError::Failed { .. }) && text.contains("part-00000.csv"),
        "{text}"
    );
    if let DatasetError::Io { source, .. } = &err {
        assert_eq!(source.raw_os_error(), Some(28), "ENOSPC expected: {text}");
    }
    assert!(!tmp.path().join("_SUCCESS").exists());
}

#[test]
fn readers_filter_prune_and_report_bad_files() {
    for format in [DatasetFormat::Parquet, DatasetFormat::Csv] {
        let tmp = tempfile::tempdir().unwrap();
        let city = city(0.0);
        write_all(tmp.path(), DatasetOptions { format, ..all_outputs() }, 3);
        let homes = gardencity_io::dataset::read_homes(tmp.path(), &RowFilter::default()).unwrap();
        assert_eq!(homes.len(), 3);
        for (k, h) in homes.iter().enumerate() {
            // Sorted by user id: agent_0, agent_1, then the quoted one (agent 2).
            let (home, work) = home_work(&city, k);
            assert_eq!(h.user_id, user_id(k));
            assert_eq!((h.home.as_str(), h.workplace.as_str()), (&*city.building(home).id, &*city.building(work).id));
        }
        // Corrupt the first day's sparse file: a time range after local midnight never opens it.
        let ext = format.as_str();
        let day1 = tmp.path().join(format!("sparse/date=2024-01-01/part-00000.{ext}"));
        fs::write(&day1, "user_id,x\nnot,a number\n").unwrap();
        let after = RowFilter { start: Some(MIDNIGHT), ..Default::default() };
        let pings = read_pings(tmp.path(), OutputKind::Sparse, &after).unwrap();
        assert_eq!(pings.len(), 6);
        assert!(pings.iter().all(|p| p.timestamp >= MIDNIGHT));
        let before = RowFilter { end: Some(MIDNIGHT), ..Default::default() };
        let err = read_pings(tmp.path(), OutputKind::Sparse, &before).unwrap_err();
        assert!(err.to_string().contains("date=2024-01-01/part-00000"), "{err}");
        // Diaries: the window [MIDNIGHT - 1200, MIDNIGHT + 301) holds each agent's trip and work stay.
        let window = RowFilter { start: Some(MIDNIGHT - 1200), end: Some(MIDNIGHT + 301), users: None };
        let d = read_diary(tmp.path(), OutputKind::Diary, &window).unwrap();
        assert_eq!(d.len(), 6);
        assert_eq!(d.iter().filter(|e| e.location.is_none()).count(), 3);
        // Wrong output kinds are refused.
        assert!(read_pings(tmp.path(), OutputKind::Diary, &RowFilter::default()).is_err());
        assert!(read_diary(tmp.path(), OutputKind::Dense, &RowFilter::default()).is_err());
    }
}

#[test]
fn csv_errors_name_the_line_a_record_starts_on() {
    let tmp = tempfile::tempdir().unwrap();
    write_all(tmp.path(), DatasetOptions { format: DatasetFormat::Csv, ..all_outputs() }, 1);
    let part = tmp.path().join("sparse/date=2024-01-02/part-00000.csv");
    let text = fs::read_to_string(&part).unwrap();
    let (header, rows) = text.split_once('\n').unwrap();
    let good = rows.lines().next().unwrap();
    let fields = header.split(',').count();
    let ts = header.split(',').position(|h| h == "timestamp").unwrap();
    // Line 2 holds a user id spanning two lines (RFC 4180 quoting), so the next record
    // starts on line 4.
    let multiline = good.replacen("agent_0", "\"agent\n0\"", 1);
    let mut bad: Vec<&str> = good.split(',').collect();
    bad[ts] = "soon";
    let all = RowFilter::default();
    fs::write(&part, format!("{header}\n{multiline}\n{}\n", bad.join(","))).unwrap();
    let err = read_pings(tmp.path(), OutputKind::Sparse, &all).unwrap_err().to_string();
    assert!(err.contains("part-00000.csv: line 4: column timestamp: expected an integer"), "{err}");
    fs::write(&part, format!("{header}\n{multiline}\n{good}\n")).unwrap();
    let pings = read_pings(tmp.path(), OutputKind::Sparse, &all).unwrap();
    assert!(pings.iter().any(|p| p.user_id == "agent\n0"), "{pings:?}");
    // A short record is refused with its line and the header's field count.
    fs::write(&part, format!("{header}\n{good}\n{multiline}\nagent_0,1\n")).unwrap();
    let err = read_pings(tmp.path(), OutputKind::Sparse, &all).unwrap_err().to_string();
    assert!(err.contains(&format!("line 5: 2 fields, but the header has {fields}")), "{err}");
}

#[test]
fn streaming_readers_agree_with_the_collecting_ones() {
    for format in [DatasetFormat::Parquet, DatasetFormat::Csv] {
        let tmp = tempfile::tempdir().unwrap();
        write_all(tmp.path(), DatasetOptions { format, ..all_outputs() }, 3);
        let all = RowFilter::default();
        for kind in [OutputKind::Sparse, OutputKind::Dense] {
            let ids = read_user_ids(tmp.path(), kind, &all).unwrap();
            let from_rows: std::collections::BTreeSet<String> =
                read_pings(tmp.path(), kind, &all).unwrap().into_iter().map(|p| p.user_id).collect();
            assert_eq!(ids, from_rows, "{kind}");
            assert_eq!(ids.len(), 3, "{kind}");
        }
        // With a filter: only users with rows in the window, of the users asked for.
        let some = RowFilter { users: Some([user_id(1), "nobody".into()].into()), start: Some(MIDNIGHT), end: None };
        let ids = read_user_ids(tmp.path(), OutputKind::Sparse, &some).unwrap();
        assert_eq!(ids.into_iter().collect::<Vec<_>>(), [user_id(1)]);
        let late = RowFilter { start: Some(MIDNIGHT + 100 * 86_400), ..Default::default() };
        assert!(read_user_ids(tmp.path(), OutputKind::Sparse, &late).unwrap().is_empty());
        // for_each_diary sees the rows read_diary returns (read_diary sorts them).
        let window = RowFilter { start: Some(MIDNIGHT - 1200), end: Some(MIDNIGHT + 301), users: None };
        let mut seen = Vec::new();
        for_each_diary(tmp.path(), OutputKind::Diary, &window, |r| {
            seen.push(r);
            Ok(())
        })
        .unwrap();
        seen.sort_by(|a, b| a.user_id.cmp(&b.user_id).then(a.timestamp.cmp(&b.timestamp)));
        assert_eq!(seen, read_diary(tmp.path(), OutputKind::Diary, &window).unwrap());
        assert!(for_each_diary(tmp.path(), OutputKind::Sparse, &all, |_| Ok(())).is_err());
        // An error of the callback stops the scan and comes back.
        let mut calls = 0;
        let e = for_each_diary(tmp.path(), OutputKind::Diary, &all, |_| {
            calls += 1;
            Err(DatasetError::Option { name: "test", reason: "stop".into() })
        })
        .unwrap_err();
        assert!(matches!(e, DatasetError::Option { name: "test", .. }) && calls == 1, "{e}");
    }
}

#[test]
fn selected_outputs_without_rows_get_an_empty_directory() {
    let tmp = tempfile::tempdir().unwrap();
    let city = city(0.0);
    let mut w = DatasetWriter::create(tmp.path(), city.clone(), all_outputs()).unwrap();
    let mut a = agent(&city, 0);
    a.destinations.clear();
    w.write_agent(&a).unwrap();
    let s = w.finish(json!({})).unwrap();
    assert_eq!(s.rows[&OutputKind::Destinations], 0);
    assert!(s.files[&OutputKind::Destinations].is_empty());
    let d = tmp.path().join("destinations");
    assert!(d.is_dir() && fs::read_dir(&d).unwrap().next().is_none());
    assert!(read_diary(tmp.path(), OutputKind::Destinations, &RowFilter::default()).unwrap().is_empty());
    // Not selected: no directory at all.
    let tmp2 = tempfile::tempdir().unwrap();
    let opts = DatasetOptions { outputs: Default::default(), ..all_outputs() };
    let mut w = DatasetWriter::create(tmp2.path(), city.clone(), opts).unwrap();
    w.write_agent(&agent(&city, 0)).unwrap();
    w.finish(json!({})).unwrap();
    assert!(!tmp2.path().join("dense").exists());
    assert!(tmp2.path().join("sparse").is_dir());
}

#[test]
fn a_failing_finish_takes_back_the_files_it_published() {
    for format in [DatasetFormat::Parquet, DatasetFormat::Csv] {
        let tmp = tempfile::tempdir().unwrap();
        let city = city(0.0);
        let mut w =
            DatasetWriter::create(tmp.path(), city.clone(), DatasetOptions { format, ..all_outputs() }).unwrap();
        for k in 0..3 {
            w.write_agent(&agent(&city, k)).unwrap();
        }
        // The manifest's temporary name is taken by a directory: finish fails after renaming the parts.
        fs::create_dir(tmp.path().join(".manifest.json.inprogress")).unwrap();
        let err = w.finish(json!({})).unwrap_err();
        assert!(matches!(&err, DatasetError::Io { op: "writing", .. }), "{err}");
        let visible: Vec<_> = all_files(tmp.path()).into_iter().filter(|f| !is_hidden(f)).collect();
        assert!(visible.is_empty(), "{format}: {visible:?}");
        assert!(!tmp.path().join("_SUCCESS").exists());
    }
}

/// A run streaming in time: each cohort's agents come in two pieces (before and from
/// local midnight) with `flush_before(MIDNIGHT)` between, so every cohort adds a row
/// group to the first date's file. With `max_open_row_groups` the files holding the
/// most are closed early: no part file holds more than the bound allows, and the rows
/// are those of the agents written whole.
#[test]
fn streamed_pieces_keep_every_row_within_the_open_row_group_bound() {
    let city = city(0.0);
    let n = 12;
    let read_all = |dir: &Path| {
        let mut pings = read_pings(dir, OutputKind::Sparse, &RowFilter::default()).unwrap();
        pings.extend(read_pings(dir, OutputKind::Dense, &RowFilter::default()).unwrap());
        let diary = read_diary(dir, OutputKind::Diary, &RowFilter::default()).unwrap();
        let key = |p: &gardencity_io::dataset::PingRow| (p.user_id.clone(), p.timestamp, p.x.to_bits(), p.y.to_bits());
        let mut pings: Vec<_> = pings.iter().map(key).collect();
        pings.sort();
        let mut diary: Vec<_> = diary.iter().map(|d| (d.user_id.clone(), d.timestamp, d.location.clone())).collect();
        diary.sort();
        (pings, diary)
    };
    let whole = tempfile::tempdir().unwrap();
    let mut w = DatasetWriter::create(whole.path(), city.clone(), all_outputs()).unwrap();
    for k in 0..n {
        w.write_agent(&agent(&city, k)).unwrap();
    }
    w.finish(json!(null)).unwrap();

    let bound = 2;
    let streamed = tempfile::tempdir().unwrap();
    let opts = DatasetOptions { max_open_row_groups: bound, ..all_outputs() };
    let mut w = DatasetWriter::create(streamed.path(), city.clone(), opts).unwrap();
    for cohort in (0..n).collect::<Vec<_>>().chunks(3) {
        let outs: Vec<AgentOutput> = cohort.iter().map(|&k| agent(&city, k)).collect();
        for o in &outs {
            let mut first = o.clone();
            first.sparse.retain(|p| p.timestamp < MIDNIGHT);
            first.dense.retain(|p| p.timestamp < MIDNIGHT);
            first.diary.retain(|e| e.timestamp < MIDNIGHT);
            first.destinations.retain(|e| e.timestamp < MIDNIGHT);
            first.continues = true;
            w.write_agent(&first).unwrap();
        }
        w.flush_before(MIDNIGHT).unwrap();
        for o in &outs {
            let mut rest = o.clone();
            rest.sparse.retain(|p| p.timestamp >= MIDNIGHT);
            rest.dense.retain(|p| p.timestamp >= MIDNIGHT);
            rest.diary.retain(|e| e.timestamp >= MIDNIGHT);
            rest.destinations.retain(|e| e.timestamp >= MIDNIGHT);
            w.write_agent(&rest).unwrap();
        }
    }
    let summary = w.finish(json!(null)).unwrap();
    assert_eq!(read_all(streamed.path()), read_all(whole.path()));
    // Four cohorts each add a row group to the first date: past the bound, files close.
    let first_date: Vec<_> =
        summary.files[&OutputKind::Sparse].iter().filter(|f| f.contains("date=2024-01-01")).collect();
    assert!(first_date.len() > 1, "the bound should have closed a file early: {first_date:?}");
    for f in summary.files.values().flatten().filter(|f| f.ends_with(".parquet")) {
        let file = fs::File::open(streamed.path().join(f)).unwrap();
        let groups = parquet::file::reader::FileReader::num_row_groups(
            &parquet::file::serialized_reader::SerializedFileReader::new(file).unwrap(),
        );
        assert!(groups <= bound + 1, "{f}: {groups} row groups");
    }
}
