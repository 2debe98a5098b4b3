//! Reading a finished dataset back: its manifest, pings and diaries.

use super::layout::{MANIFEST, SUCCESS};
use super::{Coordinates, DatasetError, DatasetFormat, OutputKind};
use arrow_array::{Array, Float64Array, Int64Array, RecordBatch, StringArray};
use chrono::NaiveDate;
use chrono_tz::Tz;
use gardencity::Georeference;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{self, File};
use std::path::{Path, PathBuf};

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
        return Err(DatasetError::invalid(dir, "the dataset is incomplete: no _SUCCESS marker"));
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

/// Column values of one file, by name, as read from Parquet or CSV.
enum Table {
    Arrow(Vec<RecordBatch>),
    Csv { header: HashMap<String, usize>, rows: Vec<Vec<String>> },
}

fn read_table(dir: &Path, rel: &str, format: DatasetFormat) -> Result<(PathBuf, Table), DatasetError> {
    let path = dir.join(rel);
    match format {
        DatasetFormat::Parquet => {
            let f = File::open(&path).map_err(|e| DatasetError::io("opening", &path, e))?;
            let reader = ParquetRecordBatchReaderBuilder::try_new(f)
                .and_then(|b| b.build())
                .map_err(|e| DatasetError::parquet("reading", &path, e))?;
            let batches = reader
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| DatasetError::invalid(&path, format!("decoding a record batch: {e}")))?;
            Ok((path, Table::Arrow(batches)))
        }
        DatasetFormat::Csv => {
            let text = fs::read_to_string(&path).map_err(|e| DatasetError::io("reading", &path, e))?;
            let mut rows = parse_csv(&text);
            if rows.is_empty() {
                return Err(DatasetError::invalid(&path, "no header line"));
            }
            let header = rows.remove(0).into_iter().enumerate().map(|(i, n)| (n, i)).collect();
            Ok((path, Table::Csv { header, rows }))
        }
    }
}

fn arrow_col<'a, T: 'static>(b: &'a RecordBatch, name: &str, path: &Path) -> Result<&'a T, DatasetError> {
    b.column_by_name(name)
        .and_then(|c| c.as_any().downcast_ref::<T>())
        .ok_or_else(|| DatasetError::invalid(path, format!("column {name} is missing or has an unexpected type")))
}

fn csv_idx(header: &HashMap<String, usize>, name: &str, path: &Path) -> Result<usize, DatasetError> {
    header.get(name).copied().ok_or_else(|| DatasetError::invalid(path, format!("no column {name} in the header")))
}

fn csv_parse<T: std::str::FromStr>(
    row: &[String],
    i: usize,
    name: &str,
    line: usize,
    path: &Path,
) -> Result<T, DatasetError> {
    row.get(i)
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| DatasetError::invalid(path, format!("line {line}: column {name}: expected a number")))
}

fn csv_opt(row: &[String], i: usize) -> Option<String> {
    row.get(i).filter(|v| !v.is_empty()).cloned()
}

fn dataset_files(dir: &Path, kind: OutputKind) -> Result<(Manifest, Vec<String>), DatasetError> {
    let m = read_manifest(dir)?;
    let files = m
        .outputs
        .get(&kind)
        .map(|o| o.files.clone())
        .ok_or_else(|| DatasetError::invalid(dir.join(MANIFEST), format!("the dataset has no {kind} output")))?;
    Ok((m, files))
}

/// Reads sparse or dense pings of a finished dataset, filtered, sorted by user id then
/// timestamp (stable).
pub fn read_pings(dir: impl AsRef<Path>, kind: OutputKind, filter: &RowFilter) -> Result<Vec<PingRow>, DatasetError> {
    let dir = dir.as_ref();
    if !matches!(kind, OutputKind::Sparse | OutputKind::Dense) {
        return Err(DatasetError::invalid(dir, format!("read_pings reads sparse or dense pings, not {kind}")));
    }
    let (m, files) = dataset_files(dir, kind)?;
    let mut out = Vec::new();
    for rel in files {
        let (path, table) = read_table(dir, &rel, m.format)?;
        match table {
            Table::Arrow(batches) => {
                for b in &batches {
                    let user = arrow_col::<StringArray>(b, "user_id", &path)?;
                    let ts = arrow_col::<Int64Array>(b, "timestamp", &path)?;
                    let x = arrow_col::<Float64Array>(b, "x", &path)?;
                    let y = arrow_col::<Float64Array>(b, "y", &path)?;
                    let ha = arrow_col::<Float64Array>(b, "ha", &path)?;
                    let loc = match kind {
                        OutputKind::Dense => Some(arrow_col::<StringArray>(b, "location", &path)?),
                        _ => None,
                    };
                    for i in 0..b.num_rows() {
                        if !filter.matches(user.value(i), ts.value(i)) {
                            continue;
                        }
                        out.push(PingRow {
                            user_id: user.value(i).to_string(),
                            timestamp: ts.value(i),
                            x: x.value(i),
                            y: y.value(i),
                            ha: ha.value(i),
                            location: loc.filter(|l| l.is_valid(i)).map(|l| l.value(i).to_string()),
                        });
                    }
                }
            }
            Table::Csv { header, rows } => {
                let [u, t, xi, yi, hai] = ["user_id", "timestamp", "x", "y", "ha"].map(|n| csv_idx(&header, n, &path));
                let (u, t, xi, yi, hai) = (u?, t?, xi?, yi?, hai?);
                let li = if kind == OutputKind::Dense { Some(csv_idx(&header, "location", &path)?) } else { None };
                for (k, row) in rows.iter().enumerate() {
                    let line = k + 2;
                    let user = row.get(u).cloned().unwrap_or_default();
                    let ts: i64 = csv_parse(row, t, "timestamp", line, &path)?;
                    if !filter.matches(&user, ts) {
                        continue;
                    }
                    out.push(PingRow {
                        user_id: user,
                        timestamp: ts,
                        x: csv_parse(row, xi, "x", line, &path)?,
                        y: csv_parse(row, yi, "y", line, &path)?,
                        ha: csv_parse(row, hai, "ha", line, &path)?,
                        location: li.and_then(|i| csv_opt(row, i)),
                    });
                }
            }
        }
    }
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
    let (m, files) = dataset_files(dir, kind)?;
    let mut out = Vec::new();
    for rel in files {
        let (path, table) = read_table(dir, &rel, m.format)?;
        match table {
            Table::Arrow(batches) => {
                for b in &batches {
                    let user = arrow_col::<StringArray>(b, "user_id", &path)?;
                    let ts = arrow_col::<Int64Array>(b, "timestamp", &path)?;
                    let dur = arrow_col::<Float64Array>(b, "duration", &path)?;
                    let loc = arrow_col::<StringArray>(b, "location", &path)?;
                    for i in 0..b.num_rows() {
                        if !filter.matches(user.value(i), ts.value(i)) {
                            continue;
                        }
                        out.push(DiaryRow {
                            user_id: user.value(i).to_string(),
                            timestamp: ts.value(i),
                            duration: dur.value(i),
                            location: loc.is_valid(i).then(|| loc.value(i).to_string()),
                        });
                    }
                }
            }
            Table::Csv { header, rows } => {
                let u = csv_idx(&header, "user_id", &path)?;
                let t = csv_idx(&header, "timestamp", &path)?;
                let d = csv_idx(&header, "duration", &path)?;
                let l = csv_idx(&header, "location", &path)?;
                for (k, row) in rows.iter().enumerate() {
                    let line = k + 2;
                    let user = row.get(u).cloned().unwrap_or_default();
                    let ts: i64 = csv_parse(row, t, "timestamp", line, &path)?;
                    if !filter.matches(&user, ts) {
                        continue;
                    }
                    out.push(DiaryRow {
                        user_id: user,
                        timestamp: ts,
                        duration: csv_parse(row, d, "duration", line, &path)?,
                        location: csv_opt(row, l),
                    });
                }
            }
        }
    }
    out.sort_by(|a, b| a.user_id.cmp(&b.user_id).then(a.timestamp.cmp(&b.timestamp)));
    Ok(out)
}

/// Splits CSV text into records (RFC 4180 quoting; `\r` outside quotes ignored).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    field.push('"');
                    chars.next();
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\n' => {
                row.push(std::mem::take(&mut field));
                rows.push(std::mem::take(&mut row));
            }
            '\r' => {}
            _ => field.push(c),
        }
    }
    if !field.is_empty() || !row.is_empty() {
        row.push(field);
        rows.push(row);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_records() {
        let rows = parse_csv("a,b,c\n1,\"x,\"\"y\"\"\",\n2,,z\r\n");
        assert_eq!(rows, vec![vec!["a", "b", "c"], vec!["1", "x,\"y\"", ""], vec!["2", "", "z"]]);
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
