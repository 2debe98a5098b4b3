//! Tables that fix agents' homes and workplaces (`--anchors`): CSV or Parquet.
//!
//! Columns `home` and `workplace` hold building ids (empty or null: drawn at random);
//! an optional integer column `agent` gives the agent index of each row, otherwise row
//! `k` is agent `k`. The homes table of a previous run (`user_id, home, workplace`) is
//! accepted as is, so a population can be re-simulated in the same homes.

use arrow_array::{
    Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use gardencity::population::Anchors;
use gardencity::{BuildingIdx, City};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::path::{Path, PathBuf};

/// Why an anchors table could not be read.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    /// The file could not be read.
    #[error("reading anchors table {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet file could not be decoded.
    #[error("reading anchors table {path}: {reason}")]
    Parquet {
        /// The file.
        path: PathBuf,
        /// The cause.
        reason: String,
    },
    /// A column is missing or has the wrong type.
    #[error("anchors table {path}: column {column}: {expected}")]
    Column {
        /// The file.
        path: PathBuf,
        /// The column.
        column: String,
        /// What was expected.
        expected: String,
    },
    /// A value is invalid.
    #[error("anchors table {path}, row {row}, column {column}: {problem}")]
    Value {
        /// The file.
        path: PathBuf,
        /// Data row, from 1.
        row: usize,
        /// The column.
        column: String,
        /// What is wrong.
        problem: String,
    },
    /// Neither `.csv` nor `.parquet`.
    #[error("anchors table {path}: expected a .csv or .parquet file")]
    Format {
        /// The file.
        path: PathBuf,
    },
}

/// One row before building lookup: agent index (if given), home and workplace ids.
type RawRow = (Option<u64>, Option<String>, Option<String>);

/// Reads an anchors table (by extension: `.csv` or `.parquet`) against `city`; the
/// result is indexed by agent (agents missing from the table get `Anchors::default()`).
pub fn read_anchors(path: impl AsRef<Path>, city: &City) -> Result<Vec<Anchors>, AnchorError> {
    let path = path.as_ref();
    let rows = match path.extension().and_then(|e| e.to_str()) {
        Some("csv") => read_csv(path)?,
        Some("parquet") => read_parquet(path)?,
        _ => return Err(AnchorError::Format { path: path.into() }),
    };
    let mut out: Vec<Anchors> = Vec::new();
    for (k, (agent, home, work)) in rows.into_iter().enumerate() {
        let row = k + 1;
        let building = |id: Option<String>, column: &str| -> Result<Option<BuildingIdx>, AnchorError> {
            match id {
                None => Ok(None),
                Some(id) => city.building_by_id(&id).map(Some).ok_or_else(|| AnchorError::Value {
                    path: path.into(),
                    row,
                    column: column.into(),
                    problem: format!("{id:?} is not a building of the city"),
                }),
            }
        };
        let index = agent.unwrap_or(k as u64) as usize;
        if index >= out.len() {
            out.resize(index + 1, Anchors::default());
        }
        out[index] = Anchors { home: building(home, "home")?, workplace: building(work, "workplace")? };
    }
    Ok(out)
}

fn read_csv(path: &Path) -> Result<Vec<RawRow>, AnchorError> {
    let text = std::fs::read_to_string(path).map_err(|source| AnchorError::Io { path: path.into(), source })?;
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap_or("").split(',').map(|c| c.trim().trim_matches('"')).collect();
    let find = |name: &str| header.iter().position(|c| *c == name);
    let missing = |column: &str| AnchorError::Column {
        path: path.into(),
        column: column.into(),
        expected: "missing (expected columns home, workplace and optionally agent)".into(),
    };
    let (ch, cw, ca) = (
        find("home").ok_or_else(|| missing("home"))?,
        find("workplace").ok_or_else(|| missing("workplace"))?,
        find("agent"),
    );
    let mut out = Vec::new();
    for (k, line) in lines.filter(|l| !l.trim().is_empty()).enumerate() {
        let f: Vec<&str> = line.split(',').map(|c| c.trim().trim_matches('"')).collect();
        let text = |c: usize| f.get(c).copied().filter(|v| !v.is_empty()).map(str::to_string);
        let agent = match ca.and_then(text) {
            None => None,
            Some(v) => Some(v.parse::<u64>().map_err(|_| AnchorError::Value {
                path: path.into(),
                row: k + 1,
                column: "agent".into(),
                problem: format!("{v:?} is not an agent index"),
            })?),
        };
        out.push((agent, text(ch), text(cw)));
    }
    Ok(out)
}

fn read_parquet(path: &Path) -> Result<Vec<RawRow>, AnchorError> {
    let f = std::fs::File::open(path).map_err(|source| AnchorError::Io { path: path.into(), source })?;
    let perr = |e: &dyn std::fmt::Display| AnchorError::Parquet { path: path.into(), reason: e.to_string() };
    let reader = ParquetRecordBatchReaderBuilder::try_new(f).and_then(|b| b.build()).map_err(|e| perr(&e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| perr(&e))?;
        let homes = strings(&batch, "home", path)?.ok_or_else(|| missing_column(path, "home"))?;
        let works = strings(&batch, "workplace", path)?.ok_or_else(|| missing_column(path, "workplace"))?;
        let agents = integers(&batch, "agent", path)?;
        for i in 0..batch.num_rows() {
            out.push((agents.as_ref().and_then(|a| a[i]), homes[i].clone(), works[i].clone()));
        }
    }
    Ok(out)
}

fn missing_column(path: &Path, column: &str) -> AnchorError {
    AnchorError::Column {
        path: path.into(),
        column: column.into(),
        expected: "missing (expected columns home, workplace and optionally agent)".into(),
    }
}

/// A string column as owned values (`None` for nulls and empty strings).
fn strings(batch: &RecordBatch, name: &str, path: &Path) -> Result<Option<Vec<Option<String>>>, AnchorError> {
    let Some(col) = batch.column_by_name(name) else { return Ok(None) };
    let get = |v: Option<&str>| v.filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(a) = col.as_any().downcast_ref::<StringArray>() {
        return Ok(Some(a.iter().map(get).collect()));
    }
    if let Some(a) = col.as_any().downcast_ref::<LargeStringArray>() {
        return Ok(Some(a.iter().map(get).collect()));
    }
    Err(AnchorError::Column {
        path: path.into(),
        column: name.into(),
        expected: format!("building ids as strings, found {}", col.data_type()),
    })
}

/// An integer column as `u64` (`None` for nulls).
fn integers(batch: &RecordBatch, name: &str, path: &Path) -> Result<Option<Vec<Option<u64>>>, AnchorError> {
    let Some(col) = batch.column_by_name(name) else { return Ok(None) };
    let any = col.as_any();
    let signed = |v: Option<i64>, row: usize| -> Result<Option<u64>, AnchorError> {
        v.map(|x| {
            u64::try_from(x).map_err(|_| AnchorError::Value {
                path: path.into(),
                row: row + 1,
                column: name.into(),
                problem: format!("{x} is not an agent index"),
            })
        })
        .transpose()
    };
    let v: Vec<Option<u64>> = if let Some(a) = any.downcast_ref::<Int64Array>() {
        a.iter().enumerate().map(|(i, v)| signed(v, i)).collect::<Result<_, _>>()?
    } else if let Some(a) = any.downcast_ref::<Int32Array>() {
        a.iter().enumerate().map(|(i, v)| signed(v.map(i64::from), i)).collect::<Result<_, _>>()?
    } else if let Some(a) = any.downcast_ref::<UInt64Array>() {
        a.iter().collect()
    } else if let Some(a) = any.downcast_ref::<UInt32Array>() {
        a.iter().map(|v| v.map(u64::from)).collect()
    } else {
        return Err(AnchorError::Column {
            path: path.into(),
            column: name.into(),
            expected: format!("integer agent indices, found {}", col.data_type()),
        });
    };
    debug_assert_eq!(v.len(), col.len());
    Ok(Some(v))
}
