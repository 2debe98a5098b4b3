//! Reading a finished dataset back: its manifest, pings and diaries.

use super::layout::{MANIFEST, SUCCESS};
use super::{Coordinates, DatasetError, DatasetFormat, OutputKind};
use crate::csv_problem::csv_problem;
use crate::untrusted::guarded;
use arrow_array::{Array, Float64Array, Int64Array, StringArray};
use chrono::{DateTime, NaiveDate};
use chrono_tz::Tz;
use gardencity::Georeference;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ProjectionMask;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fs::{self, File};
use std::path::Path;

/// Rows and part files of one output, as listed in the manifest.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OutputManifest {
    /// Number of rows.
    pub rows: u64,
    /// Part files relative to the dataset directory.
    pub files: Vec<String>,
}

/// The `dataset` entry of a `manifest.json` written by [`super::DatasetWriter::finish`].
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// File format.
    pub format: DatasetFormat,
    /// Coordinate system of `x`, `y` (map back with [`Georeference::from_mercator`]).
    pub coordinates: Coordinates,
    /// Time zone of datetimes and date partitions.
    pub time_zone: Tz,
    /// The run's start date.
    pub start_date: NaiveDate,
    /// The city's georeference.
    pub georeference: Georeference,
    /// Agents written.
    pub agents: u64,
    /// Rows and files per output written.
    pub outputs: BTreeMap<OutputKind, OutputManifest>,
    /// The whole manifest, including the run's own entries.
    pub raw: Value,
}

/// Which rows to read: a set of users and a half-open time range `[start, end)` in
/// Unix seconds. The default reads everything.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RowFilter {
    /// Only these user ids, if given.
    pub users: Option<BTreeSet<String>>,
    /// Only rows at or after this time.
    pub start: Option<i64>,
    /// Only rows before this time.
    pub end: Option<i64>,
}

impl RowFilter {
    /// True when a row of `user` at `ts` passes.
    pub fn matches(&self, user: &str, ts: i64) -> bool {
        self.start.is_none_or(|s| ts >= s)
            && self.end.is_none_or(|e| ts < e)
            && self.users.as_ref().is_none_or(|u| u.contains(user))
    }
}

/// One ping read back (coordinates in the dataset's system).
#[derive(Debug, Clone, PartialEq)]
pub struct PingRow {
    /// Agent id.
    pub user_id: String,
    /// Unix seconds.
    pub timestamp: i64,
    /// x (blocks, Web Mercator metres, or longitude).
    pub x: f64,
    /// y (blocks, Web Mercator metres, or latitude).
    pub y: f64,
    /// Horizontal accuracy (blocks or metres).
    pub ha: f64,
    /// Building id (dense pings only; `None` while travelling or for sparse pings).
    pub location: Option<String>,
}

/// One diary entry read back.
#[derive(Debug, Clone, PartialEq)]
pub struct DiaryRow {
    /// Agent id.
    pub user_id: String,
    /// Unix seconds of the start.
    pub timestamp: i64,
    /// Minutes.
    pub duration: f64,
    /// Building id, `None` for a trip.
    pub location: Option<String>,
}

/// Reads `DIR/manifest.json`; fails when the dataset is incomplete (no `_SUCCESS`).
pub fn read_manifest(dir: impl AsRef<Path>) -> Result<Manifest, DatasetError> {
    let dir = dir.as_ref();
    let path = dir.join(MANIFEST);
    if !dir.join(SUCCESS).is_file() {
        return Err(DatasetError::invalid(dir, not_a_run(dir)));
    }
    let text = fs::read(&path).map_err(|e| DatasetError::io("reading", &path, e))?;
    let raw: Value = serde_json::from_slice(&text).map_err(|source| DatasetError::Json {
        op: "parsing",
        path: path.clone(),
        source,
    })?;
    let bad = |what: &str| DatasetError::invalid(&path, format!("dataset.{what} is missing or invalid"));
    let d = raw.get("dataset").ok_or_else(|| bad("(entry)"))?;
    let s = |k: &str| d.get(k).and_then(Value::as_str).ok_or_else(|| bad(k));
    let format: DatasetFormat = s("format")?.parse().map_err(|_| bad("format"))?;
    let coordinates: Coordinates = s("coordinates")?.parse().map_err(|_| bad("coordinates"))?;
    let time_zone: Tz = s("time_zone")?.parse().map_err(|_| bad("time_zone"))?;
    let start_date = NaiveDate::parse_from_str(s("start_date")?, "%Y-%m-%d").map_err(|_| bad("start_date"))?;
    let g = d.get("georeference").ok_or_else(|| bad("georeference"))?;
    let gf = |k: &str| g.get(k).and_then(Value::as_f64).ok_or_else(|| bad(&format!("georeference.{k}")));
    let ro = g.get("rotation_origin").and_then(Value::as_array).ok_or_else(|| bad("georeference.rotation_origin"))?;
    let ro_at = |i: usize| ro.get(i).and_then(Value::as_f64).ok_or_else(|| bad("georeference.rotation_origin"));
    let georeference = Georeference {
        block_side: gf("block_side")?,
        origin_x: gf("origin_x")?,
        origin_y: gf("origin_y")?,
        rotation_deg: gf("rotation_deg")?,
        rotation_origin: (ro_at(0)?, ro_at(1)?),
    };
    let agents = d.get("agents").and_then(Value::as_u64).ok_or_else(|| bad("agents"))?;
    let mut outputs = BTreeMap::new();
    let outs = d.get("outputs").and_then(Value::as_object).ok_or_else(|| bad("outputs"))?;
    for (name, o) in outs {
        let kind = OutputKind::from_dir_name(name).ok_or_else(|| bad(&format!("outputs.{name}")))?;
        let rows = o.get("rows").and_then(Value::as_u64).ok_or_else(|| bad(&format!("outputs.{name}.rows")))?;
        let files = o
            .get("files")
            .and_then(Value::as_array)
            .and_then(|a| a.iter().map(|v| v.as_str().map(String::from)).collect::<Option<Vec<_>>>())
            .ok_or_else(|| bad(&format!("outputs.{name}.files")))?;
        outputs.insert(kind, OutputManifest { rows, files });
    }
    Ok(Manifest { format, coordinates, time_zone, start_date, georeference, agents, outputs, raw })
}

/// Why `dir` (without `_SUCCESS`) is not a finished run: missing, a file, one table of
/// a run, or an incomplete run.
fn not_a_run(dir: &Path) -> String {
    match fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return "no such directory".into(),
        Err(e) => return format!("cannot access it: {e}"),
        Ok(m) if !m.is_dir() => {
            return "not a directory (expected a run directory, `gardencity simulate --out`)".into()
        }
        Ok(_) => {}
    }
    let name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parent = dir.parent().filter(|p| p.join(SUCCESS).is_file() || p.join(MANIFEST).is_file());
    match (OutputKind::from_dir_name(name), parent) {
        (Some(kind), Some(run)) => {
            let run = if run.as_os_str().is_empty() { Path::new(".") } else { run };
            format!("this is one table of a run (its {kind} output); give the run directory {}", run.display())
        }
        _ => "the dataset is incomplete or not a gardencity run: no _SUCCESS marker".into(),
    }
}

/// Home and workplace of one agent, read back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HomeRow {
    /// Agent id.
    pub user_id: String,
    /// Home building id.
    pub home: String,
    /// Workplace building id.
    pub workplace: String,
}

/// One row being decoded: the requested columns, in the requested order.
enum Row<'a> {
    Arrow { cols: &'a [&'a dyn Array], i: usize },
    Csv { fields: &'a csv::StringRecord, idx: &'a [usize], line: u64 },
}

struct RowCtx<'a> {
    row: Row<'a>,
    names: &'a [&'a str],
    path: &'a Path,
}

impl RowCtx<'_> {
    fn bad(&self, k: usize, what: &str) -> DatasetError {
        let at = match self.row {
            Row::Arrow { i, .. } => format!("row {i} of a record batch"),
            Row::Csv { line, .. } => format!("line {line}"),
        };
        DatasetError::invalid(self.path, format!("{at}: column {}: expected {what}", self.names[k]))
    }
    /// A string column; `None` for null (empty in CSV).
    fn str(&self, k: usize) -> Result<Option<&str>, DatasetError> {
        match &self.row {
            Row::Arrow { cols, i } => {
                let a = cols[k].as_any().downcast_ref::<StringArray>().ok_or_else(|| self.bad(k, "strings"))?;
                Ok(a.is_valid(*i).then(|| a.value(*i)))
            }
            Row::Csv { fields, idx, .. } => Ok(fields.get(idx[k]).filter(|v| !v.is_empty())),
        }
    }
    fn string(&self, k: usize) -> Result<String, DatasetError> {
        Ok(self.str(k)?.ok_or_else(|| self.bad(k, "a value"))?.to_string())
    }
    fn i64(&self, k: usize) -> Result<i64, DatasetError> {
        match &self.row {
            Row::Arrow { cols, i } => {
                let a = cols[k].as_any().downcast_ref::<Int64Array>().ok_or_else(|| self.bad(k, "int64"))?;
                Ok(a.value(*i))
            }
            Row::Csv { fields, idx, .. } => {
                fields.get(idx[k]).and_then(|v| v.parse().ok()).ok_or_else(|| self.bad(k, "an integer"))
            }
        }
    }
    fn f64(&self, k: usize) -> Result<f64, DatasetError> {
        match &self.row {
            Row::Arrow { cols, i } => {
                let a = cols[k].as_any().downcast_ref::<Float64Array>().ok_or_else(|| self.bad(k, "float64"))?;
                Ok(a.value(*i))
            }
            Row::Csv { fields, idx, .. } => {
                fields.get(idx[k]).and_then(|v| v.parse().ok()).ok_or_else(|| self.bad(k, "a number"))
            }
        }
    }
}

/// The local date in a part file's `date=YYYY-MM-DD` directory.
fn partition_date(rel: &str) -> Option<NaiveDate> {
    rel.split('/').find_map(|c| NaiveDate::parse_from_str(c.strip_prefix("date=")?, "%Y-%m-%d").ok())
}

/// Local dates that can hold rows in `[start, end)`: a row's partition is its local
/// date, which never decreases with time.
fn date_range(tz: Tz, filter: &RowFilter) -> (Option<NaiveDate>, Option<NaiveDate>) {
    let local = |ts: i64| DateTime::from_timestamp(ts, 0).map(|t| t.with_timezone(&tz).date_naive());
    (filter.start.and_then(local), filter.end.and_then(|e| local(e.saturating_sub(1))))
}

/// Streams every row of one output's part files, in file order, handing the columns
/// `names` to `emit`. Rows failing `filter` are skipped (by user when `names` has
/// `user_id`, by time when it has `timestamp`); partitions outside the time range are
/// not opened, and only the columns `names` of a Parquet file are decoded.
fn scan_each(
    dir: &Path,
    kind: OutputKind,
    filter: &RowFilter,
    names: &[&str],
    mut emit: impl FnMut(&RowCtx<'_>) -> Result<(), DatasetError>,
) -> Result<(), DatasetError> {
    let m = read_manifest(dir)?;
    let files = m
        .outputs
        .get(&kind)
        .map(|o| o.files.clone())
        .ok_or_else(|| DatasetError::invalid(dir.join(MANIFEST), format!("the dataset has no {kind} output")))?;
    let user_k = names.iter().position(|n| *n == "user_id");
    let ts_k = names.iter().position(|n| *n == "timestamp");
    let (first, last) = if ts_k.is_some() { date_range(m.time_zone, filter) } else { (None, None) };
    let mut visit = |ctx: &RowCtx<'_>| -> Result<(), DatasetError> {
        if let Some(k) = user_k {
            if let Some(users) = &filter.users {
                if !users.contains(ctx.str(k)?.unwrap_or("")) {
                    return Ok(());
                }
            }
        }
        if let Some(k) = ts_k {
            let ts = ctx.i64(k)?;
            if filter.start.is_some_and(|s| ts < s) || filter.end.is_some_and(|e| ts >= e) {
                return Ok(());
            }
        }
        emit(ctx)
    };
    for rel in files {
        if let Some(d) = partition_date(&rel) {
            if first.is_some_and(|f| d < f) || last.is_some_and(|l| d > l) {
                continue;
            }
        }
        let path = dir.join(&rel);
        let f = File::open(&path).map_err(|e| DatasetError::io("opening", &path, e))?;
        match m.format {
            DatasetFormat::Parquet => {
                // The Parquet decoder panics on some corrupt files: a panic is an error here.
                let corrupt = |m: String| DatasetError::invalid(&path, format!("corrupt Parquet file ({m})"));
                let mut reader = guarded(|| {
                    ParquetRecordBatchReaderBuilder::try_new(f).and_then(|b| {
                        // Decode only the requested columns (a missing one is reported below).
                        let mask = ProjectionMask::columns(b.parquet_schema(), names.iter().copied());
                        b.with_projection(mask).build()
                    })
                })
                .map_err(corrupt)?
                .map_err(|e| DatasetError::parquet("reading", &path, e))?;
                while let Some(batch) = guarded(|| reader.next()).map_err(corrupt)? {
                    let batch =
                        batch.map_err(|e| DatasetError::invalid(&path, format!("decoding a record batch: {e}")))?;
                    let cols = names
                        .iter()
                        .map(|n| {
                            batch
                                .column_by_name(n)
                                .map(|c| c.as_ref())
                                .ok_or_else(|| DatasetError::invalid(&path, format!("no column {n}")))
                        })
                        .collect::<Result<Vec<&dyn Array>, _>>()?;
                    for i in 0..batch.num_rows() {
                        visit(&RowCtx { row: Row::Arrow { cols: &cols, i }, names, path: &path })?;
                    }
                }
            }
            DatasetFormat::Csv => {
                // Every record must have the header's field count (csv's default, not flexible).
                let mut records = csv::ReaderBuilder::new().has_headers(false).from_reader(f);
                let mut fields = csv::StringRecord::new();
                let csv_err = |e: csv::Error| match csv_problem(e) {
                    Ok((line, reason)) => DatasetError::invalid(&path, format!("line {line}: {reason}")),
                    Err(source) => DatasetError::io("reading", &path, source),
                };
                if !records.read_record(&mut fields).map_err(csv_err)? {
                    return Err(DatasetError::invalid(&path, "no header line"));
                }
                let idx = names
                    .iter()
                    .map(|n| {
                        fields
                            .iter()
                            .position(|h| h == *n)
                            .ok_or_else(|| DatasetError::invalid(&path, format!("no column {n} in the header")))
                    })
                    .collect::<Result<Vec<usize>, _>>()?;
                while records.read_record(&mut fields).map_err(csv_err)? {
                    // The line the record starts on (a quoted field may span lines).
                    let line = fields.position().map_or(0, |p| p.line());
                    visit(&RowCtx { row: Row::Csv { fields: &fields, idx: &idx, line }, names, path: &path })?;
                }
            }
        }
    }
    Ok(())
}

/// [`scan_each`], collecting what `emit` makes of each row.
fn scan<T>(
    dir: &Path,
    kind: OutputKind,
    filter: &RowFilter,
    names: &[&str],
    mut emit: impl FnMut(&RowCtx<'_>) -> Result<T, DatasetError>,
) -> Result<Vec<T>, DatasetError> {
    let mut out = Vec::new();
    scan_each(dir, kind, filter, names, |r| {
        out.push(emit(r)?);
        Ok(())
    })?;
    Ok(out)
}

/// The distinct user ids of one output's rows that pass `filter`, in id order. Only the
/// `user_id` (and, with a time range, `timestamp`) columns are read, so memory depends on
/// the number of users, not of rows.
pub fn read_user_ids(
    dir: impl AsRef<Path>,
    kind: OutputKind,
    filter: &RowFilter,
) -> Result<BTreeSet<String>, DatasetError> {
    let timed = filter.start.is_some() || filter.end.is_some();
    let names: &[&str] = if timed { &["user_id", "timestamp"] } else { &["user_id"] };
    let mut ids = BTreeSet::new();
    scan_each(dir.as_ref(), kind, filter, names, |r| {
        let id = r.str(0)?.ok_or_else(|| r.bad(0, "a value"))?;
        if !ids.contains(id) {
            ids.insert(id.to_string());
        }
        Ok(())
    })?;
    Ok(ids)
}

/// Calls `each` with every diary row that passes `filter`, in file order, without keeping
/// the rows (memory independent of the number of rows).
pub fn for_each_diary(
    dir: impl AsRef<Path>,
    kind: OutputKind,
    filter: &RowFilter,
    mut each: impl FnMut(DiaryRow) -> Result<(), DatasetError>,
) -> Result<(), DatasetError> {
    let dir = dir.as_ref();
    if !matches!(kind, OutputKind::Diary | OutputKind::Destinations) {
        return Err(DatasetError::invalid(dir, format!("diary rows are in diaries or destinations, not {kind}")));
    }
    scan_each(dir, kind, filter, &DIARY_COLUMNS, |r| each(diary_row(r)?))
}

/// Columns of a diary row, in [`diary_row`]'s order.
const DIARY_COLUMNS: [&str; 4] = ["user_id", "timestamp", "duration", "location"];

fn diary_row(r: &RowCtx<'_>) -> Result<DiaryRow, DatasetError> {
    Ok(DiaryRow {
        user_id: r.string(0)?,
        timestamp: r.i64(1)?,
        duration: r.f64(2)?,
        location: r.str(3)?.map(String::from),
    })
}

/// Reads sparse or dense pings of a finished dataset, filtered, sorted by user id then
/// timestamp (stable). Only the partitions that can hold the time range are read.
pub fn read_pings(dir: impl AsRef<Path>, kind: OutputKind, filter: &RowFilter) -> Result<Vec<PingRow>, DatasetError> {
    let dir = dir.as_ref();
    let dense = match kind {
        OutputKind::Sparse => false,
        OutputKind::Dense => true,
        _ => return Err(DatasetError::invalid(dir, format!("read_pings reads sparse or dense pings, not {kind}"))),
    };
    let names: &[&str] = if dense {
        &["user_id", "timestamp", "x", "y", "ha", "location"]
    } else {
        &["user_id", "timestamp", "x", "y", "ha"]
    };
    let mut out = scan(dir, kind, filter, names, |r| {
        Ok(PingRow {
            user_id: r.string(0)?,
            timestamp: r.i64(1)?,
            x: r.f64(2)?,
            y: r.f64(3)?,
            ha: r.f64(4)?,
            location: if dense { r.str(5)?.map(String::from) } else { None },
        })
    })?;
    out.sort_by(|a, b| a.user_id.cmp(&b.user_id).then(a.timestamp.cmp(&b.timestamp)));
    Ok(out)
}

/// Reads the ground-truth or destination diary of a finished dataset, filtered, sorted
/// by user id then timestamp (stable).
pub fn read_diary(dir: impl AsRef<Path>, kind: OutputKind, filter: &RowFilter) -> Result<Vec<DiaryRow>, DatasetError> {
    let dir = dir.as_ref();
    if !matches!(kind, OutputKind::Diary | OutputKind::Destinations) {
        return Err(DatasetError::invalid(dir, format!("read_diary reads diaries or destinations, not {kind}")));
    }
    let mut out = scan(dir, kind, filter, &DIARY_COLUMNS, diary_row)?;
    out.sort_by(|a, b| a.user_id.cmp(&b.user_id).then(a.timestamp.cmp(&b.timestamp)));
    Ok(out)
}

/// Reads the homes table (the filter's users only; its time range does not apply),
/// sorted by user id.
pub fn read_homes(dir: impl AsRef<Path>, filter: &RowFilter) -> Result<Vec<HomeRow>, DatasetError> {
    let names = ["user_id", "home", "workplace"];
    let mut out = scan(dir.as_ref(), OutputKind::Homes, filter, &names, |r| {
        Ok(HomeRow { user_id: r.string(0)?, home: r.string(1)?, workplace: r.string(2)? })
    })?;
    out.sort_by(|a, b| a.user_id.cmp(&b.user_id));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partition_dates_of_paths() {
        assert_eq!(partition_date("sparse/date=2024-01-02/part-00000.csv"), NaiveDate::from_ymd_opt(2024, 1, 2));
        let f = RowFilter { users: None, start: Some(1_704_171_600), end: Some(1_704_171_600 + 86_400) };
        let (a, b) = date_range(chrono_tz::America::New_York, &f);
        assert_eq!((a, b), (NaiveDate::from_ymd_opt(2024, 1, 2), NaiveDate::from_ymd_opt(2024, 1, 2)));
    }

    #[test]
    fn manifest_errors_say_what_the_directory_is() {
        let tmp = tempfile::tempdir().unwrap();
        let run = tmp.path().join("run");
        fs::create_dir_all(run.join("sparse/date=2024-01-01")).unwrap();
        fs::write(run.join(SUCCESS), "").unwrap();
        let e = read_manifest(run.join("sparse")).unwrap_err().to_string();
        assert!(
            e.ends_with(&format!(
                "this is one table of a run (its sparse output); give the run directory {}",
                run.display()
            )),
            "{e}"
        );
        let e = read_manifest(tmp.path().join("none")).unwrap_err().to_string();
        assert!(e.ends_with("none: no such directory"), "{e}");
        let e = read_manifest(tmp.path()).unwrap_err().to_string();
        assert!(e.contains("no _SUCCESS marker"), "{e}");
    }

    #[test]
    fn filter() {
        let f = RowFilter { users: Some(["a".to_string()].into()), start: Some(10), end: Some(20) };
        assert!(f.matches("a", 10));
        assert!(!f.matches("a", 20));
        assert!(!f.matches("b", 15));
        assert!(RowFilter::default().matches("z", i64::MIN));
    }
}
