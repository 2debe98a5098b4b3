//! Table schemas, per-partition row buffers, and CSV formatting of record batches.

use super::days::DayCache;
use super::Coordinates;
use super::OutputKind;
use arrow_array::builder::StringBuilder;
use arrow_array::types::UInt32Type;
use arrow_array::{
    Array, ArrayRef, DictionaryArray, Float64Array, Int64Array, RecordBatch, StringArray, TimestampMillisecondArray,
    UInt32Array,
};
use arrow_schema::{ArrowError, DataType, Field, Schema, SchemaRef, TimeUnit};
use chrono::{Datelike, NaiveDate};
use gardencity::records::{DiaryEntry, Ping};
use gardencity::{BuildingIdx, City, Georeference, Point};
use std::io::Write;
use std::sync::Arc;

/// The Arrow schema of one table (NOMAD's column names and order; `date` comes from
/// the hive directory).
pub(crate) fn schema(kind: OutputKind, tz: &str) -> SchemaRef {
    let datetime = || Field::new("datetime", DataType::Timestamp(TimeUnit::Millisecond, Some(tz.into())), false);
    let f64f = |n: &str| Field::new(n, DataType::Float64, false);
    let utf8 = |n: &str, null: bool| Field::new(n, DataType::Utf8, null);
    let fields = match kind {
        OutputKind::Sparse | OutputKind::Dense => {
            let mut f = vec![
                utf8("user_id", false),
                f64f("x"),
                f64f("y"),
                datetime(),
                Field::new("timestamp", DataType::Int64, false),
                f64f("ha"),
            ];
            if kind == OutputKind::Dense {
                f.push(utf8("location", true));
            }
            f
        }
        OutputKind::Diary | OutputKind::Destinations => vec![
            datetime(),
            Field::new("timestamp", DataType::Int64, false),
            f64f("duration"),
            utf8("location", true),
            utf8("user_id", false),
        ],
        OutputKind::Homes => vec![utf8("user_id", false), utf8("home", false), utf8("workplace", false)],
    };
    Arc::new(Schema::new(fields))
}

/// Buffered rows of one (output, date) partition, column by column. Coordinates are
/// already converted; buildings are still indices; user ids are kept once per run of
/// rows of one agent. An empty buffer holds no memory (a long run has a partition per
/// day, most of them idle).
#[derive(Debug, Default)]
pub(crate) struct RowBuffer {
    len: usize,
    /// The user ids of the runs, one after the other.
    users: String,
    /// Per run of rows of one user: its rows and the end of its id in `users`.
    runs: Vec<(usize, usize)>,
    ts: Vec<i64>,
    x: Vec<f64>,
    y: Vec<f64>,
    ha: Vec<f64>,
    duration: Vec<f64>,
    loc: Vec<Option<BuildingIdx>>,
    home: Vec<BuildingIdx>,
    work: Vec<BuildingIdx>,
}

impl RowBuffer {
    /// Number of buffered rows.
    #[inline]
    pub fn len(&self) -> usize {
        self.len
    }

    /// Sets the user of the last `n` rows pushed (rows come in runs of one agent).
    pub fn push_user(&mut self, user: &str, n: usize) {
        let k = self.runs.len();
        let start = if k >= 2 { self.runs[k - 2].1 } else { 0 };
        if let Some(last) = self.runs.last_mut() {
            if &self.users[start..last.1] == user {
                last.0 += n;
                return;
            }
        }
        self.users.push_str(user);
        self.runs.push((n, self.users.len()));
    }

    /// Appends pings (their user is given by [`RowBuffer::push_user`]) a column at a
    /// time, in the coordinates `coords` of the city placed by `g`, with their
    /// locations when `dense`.
    pub fn extend_pings(&mut self, rows: &[Ping], g: &Georeference, coords: Coordinates, dense: bool) {
        self.ts.extend(rows.iter().map(|p| p.timestamp));
        if coords == Coordinates::Blocks {
            self.x.extend(rows.iter().map(|p| p.x));
            self.y.extend(rows.iter().map(|p| p.y));
            self.ha.extend(rows.iter().map(|p| p.ha));
        } else {
            self.x.reserve(rows.len());
            self.y.reserve(rows.len());
            self.ha.reserve(rows.len());
            for p in rows {
                let (x, y, ha) = convert(g, coords, p);
                self.x.push(x);
                self.y.push(y);
                self.ha.push(ha);
            }
        }
        if dense {
            self.loc.extend(rows.iter().map(|p| p.location));
        }
        self.len += rows.len();
    }

    /// Appends diary entries (their user is given by [`RowBuffer::push_user`]).
    pub fn extend_entries(&mut self, rows: &[DiaryEntry]) {
        self.ts.extend(rows.iter().map(|e| e.timestamp));
        self.duration.extend(rows.iter().map(|e| e.duration));
        self.loc.extend(rows.iter().map(|e| e.location));
        self.len += rows.len();
    }

    /// Appends a homes row.
    pub fn push_home(&mut self, user: &str, home: BuildingIdx, work: BuildingIdx) {
        self.home.push(home);
        self.work.push(work);
        self.len += 1;
        self.push_user(user, 1);
    }

    /// Turns the buffered rows into a record batch of `schema`'s columns, emptying the
    /// buffer; with `reserve`, the buffer keeps room for as many rows (a partition
    /// filling up batch after batch), else it holds no memory. String columns come as
    /// dictionaries (see [`coded_schema`]): user ids keyed by run, buildings by index
    /// into `building_ids` (from [`building_ids`]); building indices must be valid
    /// (checked when rows are pushed).
    pub fn take_batch(
        &mut self,
        kind: OutputKind,
        schema: &SchemaRef,
        building_ids: &ArrayRef,
        reserve: bool,
    ) -> Result<RecordBatch, ArrowError> {
        let tz = match schema.field_with_name("datetime").map(|f| f.data_type().clone()) {
            Ok(DataType::Timestamp(_, tz)) => tz,
            _ => None,
        };
        // The next batch of a partition is most often as long as this one: its buffers
        // are reserved at once rather than grown.
        let mut keys = Vec::with_capacity(self.len);
        let mut ids = StringBuilder::with_capacity(self.runs.len(), self.users.len());
        let mut start = 0;
        for (k, &(n, end)) in self.runs.iter().enumerate() {
            ids.append_value(&self.users[start..end]);
            keys.extend(std::iter::repeat_n(k as u32, n));
            start = end;
        }
        let user = DictionaryArray::<UInt32Type>::try_new(UInt32Array::from(keys), Arc::new(ids.finish()))?;
        let user: ArrayRef = Arc::new(user);
        let buildings = |keys: UInt32Array| -> Result<ArrayRef, ArrowError> {
            Ok(Arc::new(DictionaryArray::<UInt32Type>::try_new(keys, Arc::clone(building_ids))?))
        };
        let ids = |v: &[BuildingIdx]| buildings(v.iter().map(|b| b.0).collect());
        let locs = |v: &[Option<BuildingIdx>]| buildings(v.iter().map(|b| b.map(|b| b.0)).collect());
        let datetime = |ts: &[i64]| -> ArrayRef {
            Arc::new(
                TimestampMillisecondArray::from_iter_values(ts.iter().map(|&t| t * 1000)).with_timezone_opt(tz.clone()),
            )
        };
        let f64a = |v: &mut Vec<f64>| -> ArrayRef { Arc::new(Float64Array::from(take_vec(v, reserve))) };
        let columns: Vec<ArrayRef> = match kind {
            OutputKind::Sparse | OutputKind::Dense => {
                let dt = datetime(&self.ts);
                let mut c = vec![user, f64a(&mut self.x), f64a(&mut self.y), dt];
                c.push(Arc::new(Int64Array::from(take_vec(&mut self.ts, reserve))));
                c.push(f64a(&mut self.ha));
                if kind == OutputKind::Dense {
                    c.push(locs(&self.loc)?);
                }
                c
            }
            OutputKind::Diary | OutputKind::Destinations => {
                vec![
                    datetime(&self.ts),
                    Arc::new(Int64Array::from(take_vec(&mut self.ts, reserve))),
                    f64a(&mut self.duration),
                    locs(&self.loc)?,
                    user,
                ]
            }
            OutputKind::Homes => vec![user, ids(&self.home)?, ids(&self.work)?],
        };
        reset(&mut self.runs, reserve);
        if reserve {
            self.users.clear();
        } else {
            self.users = String::new();
        }
        reset(&mut self.loc, reserve);
        reset(&mut self.home, reserve);
        reset(&mut self.work, reserve);
        self.len = 0;
        RecordBatch::try_new(coded_schema(schema), columns)
    }
}

/// A city's building ids, by building index: the dictionary of building columns.
pub(crate) fn building_ids(city: &City) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(city.buildings().iter().map(|b| b.id.as_str())))
}

/// `schema` with its string columns as dictionaries of `u32` keys: the batches of
/// [`RowBuffer::take_batch`]. Files keep `schema` (strings); the Parquet writer encodes
/// the dictionaries directly (see `direct.rs`).
pub(crate) fn coded_schema(schema: &SchemaRef) -> SchemaRef {
    let fields: Vec<Field> = schema
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(coded_strings()),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()))
}

/// A string column as a dictionary of `u32` keys.
fn coded_strings() -> DataType {
    DataType::Dictionary(Box::new(DataType::UInt32), Box::new(DataType::Utf8))
}

/// A batch of [`RowBuffer::take_batch`] with its dictionaries expanded to strings: a
/// batch of `schema`, as readers of the files see it.
pub(crate) fn plain_strings(batch: &RecordBatch, schema: &SchemaRef) -> Result<RecordBatch, ArrowError> {
    let columns = batch
        .columns()
        .iter()
        .map(|c| match c.as_any().downcast_ref::<DictionaryArray<UInt32Type>>() {
            Some(d) => {
                let values = d.values().as_any().downcast_ref::<StringArray>().ok_or_else(not_strings)?;
                // A row is null if its key or its value is.
                let nulls = d.logical_nulls();
                let valid = |i: usize| nulls.as_ref().is_none_or(|n| n.is_valid(i));
                let keys = d.keys().values().iter().enumerate();
                let strings: StringArray = keys.map(|(i, &k)| valid(i).then(|| values.value(k as usize))).collect();
                Ok(Arc::new(strings) as ArrayRef)
            }
            None => Ok(Arc::clone(c)),
        })
        .collect::<Result<Vec<_>, ArrowError>>()?;
    RecordBatch::try_new(schema.clone(), columns)
}

/// The error of a dictionary column whose values are not strings.
fn not_strings() -> ArrowError {
    ArrowError::InvalidArgumentError("a dictionary column whose values are not strings".into())
}

/// Takes `v`'s values, leaving room for as many (`reserve`) or nothing.
fn take_vec<T>(v: &mut Vec<T>, reserve: bool) -> Vec<T> {
    let n = if reserve { v.len() } else { 0 };
    std::mem::replace(v, Vec::with_capacity(n))
}

/// Empties `v`, keeping its room (`reserve`) or freeing it.
fn reset<T>(v: &mut Vec<T>, reserve: bool) {
    if reserve {
        v.clear();
    } else {
        *v = Vec::new();
    }
}

/// A ping's coordinates and accuracy in `coords` (blocks as simulated, or metres).
#[inline]
pub(crate) fn convert(g: &Georeference, coords: Coordinates, p: &Ping) -> (f64, f64, f64) {
    match coords {
        Coordinates::Blocks => (p.x, p.y, p.ha),
        Coordinates::WebMercator => {
            let (x, y) = g.to_mercator(Point::new(p.x, p.y));
            (x, y, g.to_metres(p.ha))
        }
        Coordinates::LonLat => {
            let (x, y) = g.to_lonlat(Point::new(p.x, p.y));
            (x, y, g.to_metres(p.ha))
        }
    }
}

/// Writes the CSV header line of a schema.
pub(crate) fn write_csv_header(w: &mut impl Write, schema: &Schema) -> std::io::Result<()> {
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    w.write_all(names.join(",").as_bytes())?;
    w.write_all(b"\n")
}

fn write_csv_str(w: &mut impl Write, s: &str) -> std::io::Result<()> {
    if s.bytes().any(|b| matches!(b, b',' | b'"' | b'\n' | b'\r')) {
        w.write_all(b"\"")?;
        w.write_all(s.replace('"', "\"\"").as_bytes())?;
        w.write_all(b"\"")
    } else {
        w.write_all(s.as_bytes())
    }
}

/// Days from 0001-01-01 (chrono's day 1) to 1970-01-01.
const UNIX_EPOCH_DAYS: i64 = 719_163;

/// Formats Unix seconds as ISO 8601 local time with offset, e.g. `2024-01-01T23:59:30-05:00`.
pub(crate) fn write_iso_datetime(w: &mut impl Write, ts: i64, offset: i32) -> std::io::Result<()> {
    let local = ts + i64::from(offset);
    let days = local.div_euclid(86_400);
    let secs = local.rem_euclid(86_400);
    let date = NaiveDate::from_num_days_from_ce_opt(i32::try_from(days + UNIX_EPOCH_DAYS).unwrap_or(i32::MAX))
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidData, format!("timestamp {ts} out of range")))?;
    let (y, m, d) = (date.year(), date.month(), date.day());
    let (hh, mm, ss) = (secs / 3600, secs / 60 % 60, secs % 60);
    let sign = if offset < 0 { '-' } else { '+' };
    let off = offset.unsigned_abs();
    write!(w, "{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}{sign}{:02}:{:02}", off / 3600, off / 60 % 60)
}

/// Writes the rows of a batch (built by [`RowBuffer::take_batch`]) as CSV lines.
pub(crate) fn write_csv_rows(w: &mut impl Write, batch: &RecordBatch, days: &mut DayCache) -> std::io::Result<()> {
    let schema = batch.schema();
    let n = batch.num_rows();
    let ts_col = schema.index_of("timestamp").ok().and_then(|i| batch.column(i).as_any().downcast_ref::<Int64Array>());
    for row in 0..n {
        for (ci, field) in schema.fields().iter().enumerate() {
            if ci > 0 {
                w.write_all(b",")?;
            }
            let col = batch.column(ci);
            if col.is_null(row) {
                continue;
            }
            match field.data_type() {
                DataType::Utf8 => {
                    let a = col.as_any().downcast_ref::<StringArray>().ok_or_else(bad_column)?;
                    write_csv_str(w, a.value(row))?;
                }
                DataType::Dictionary(..) => {
                    let a = col.as_any().downcast_ref::<DictionaryArray<UInt32Type>>().ok_or_else(bad_column)?;
                    let values = a.values().as_any().downcast_ref::<StringArray>().ok_or_else(bad_column)?;
                    write_csv_str(w, values.value(a.keys().value(row) as usize))?;
                }
                DataType::Float64 => {
                    let a = col.as_any().downcast_ref::<Float64Array>().ok_or_else(bad_column)?;
                    // Debug keeps a decimal point ("120.0"), so readers infer a float column.
                    write!(w, "{:?}", a.value(row))?;
                }
                DataType::Int64 => {
                    let a = col.as_any().downcast_ref::<Int64Array>().ok_or_else(bad_column)?;
                    write!(w, "{}", a.value(row))?;
                }
                DataType::Timestamp(..) => {
                    let ts = ts_col.ok_or_else(bad_column)?.value(row);
                    let offset = days.day(ts).map_or(0, |d| d.offset);
                    write_iso_datetime(w, ts, offset)?;
                }
                _ => return Err(bad_column()),
            }
        }
        w.write_all(b"\n")?;
    }
    Ok(())
}

fn bad_column() -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, "unexpected column type in a dataset batch")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_datetimes() {
        let mut s = Vec::new();
        write_iso_datetime(&mut s, 1_704_171_599, -5 * 3600).unwrap();
        assert_eq!(String::from_utf8(s).unwrap(), "2024-01-01T23:59:59-05:00");
        let mut s = Vec::new();
        write_iso_datetime(&mut s, 0, 5 * 3600 + 45 * 60).unwrap();
        assert_eq!(String::from_utf8(s).unwrap(), "1970-01-01T05:45:00+05:45");
        let mut s = Vec::new();
        write_iso_datetime(&mut s, 951_825_600, 0).unwrap(); // leap day 2000
        assert_eq!(String::from_utf8(s).unwrap(), "2000-02-29T12:00:00+00:00");
    }

    #[test]
    fn iso_datetimes_match_chrono_over_its_four_digit_years() {
        let off = chrono::FixedOffset::east_opt(-4 * 3600 - 30 * 60).unwrap();
        // 0001-01-02 .. 9999-12-30, about every 23 days and 7 hours.
        for ts in (-62_135_500_000_i64..253_402_000_000).step_by(2_012_345_677) {
            let mut s = Vec::new();
            write_iso_datetime(&mut s, ts, off.local_minus_utc()).unwrap();
            let want = chrono::DateTime::from_timestamp(ts, 0).unwrap().with_timezone(&off);
            assert_eq!(String::from_utf8(s).unwrap(), want.format("%Y-%m-%dT%H:%M:%S%:z").to_string(), "{ts}");
        }
        assert!(write_iso_datetime(&mut Vec::new(), i64::MAX / 2, 0).is_err());
    }

    #[test]
    fn csv_quoting() {
        let mut s = Vec::new();
        write_csv_str(&mut s, "a,\"b\"").unwrap();
        assert_eq!(String::from_utf8(s).unwrap(), "\"a,\"\"b\"\"\"");
    }
}
