//! Tables that fix agents' homes and workplaces (`--anchors`): CSV, Parquet, or the
//! homes dataset of an earlier run.
//!
//! Columns `home` and `workplace` hold building ids (empty or null: drawn at random);
//! an optional integer column `agent` gives the agent index of each row, otherwise row
//! `k` is agent `k`. The homes table of a previous run (`user_id, home, workplace`) is
//! accepted as is, so a population can be re-simulated in the same homes: give one of
//! its part files, the homes dataset directory (`run/homes`, every part file is read in
//! order) or the run directory itself (`run`). Rows of a run simulated as a shard
//! (`first_agent` in its manifest) are the agents from its first agent on.
//!
//! [`read_anchor_table`] returns an [`AnchorTable`]: each agent index at most once
//! (a duplicate is an error naming both rows), with [`AnchorTable::check_agents`] to
//! check the largest index against the population size.

use crate::csv_problem::csv_problem;
use crate::untrusted::guarded;
use arrow_array::{
    Array, Int32Array, Int64Array, LargeStringArray, RecordBatch, StringArray, UInt32Array, UInt64Array,
};
use gardencity::population::Anchors;
use gardencity::{BuildingIdx, City};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// Why an anchors table could not be read or does not fit the run.
#[derive(Debug, thiserror::Error)]
pub enum AnchorError {
    /// The file could not be read.
    #[error("reading anchors table {path}")]
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
    /// A CSV record could not be read (unequal field counts, invalid UTF-8...).
    #[error("anchors table {path}, row {row} (line {line}): {reason}")]
    Csv {
        /// The file.
        path: PathBuf,
        /// Data row, from 1 (the header is row 0).
        row: usize,
        /// Line of the file where the record starts, from 1.
        line: u64,
        /// What is wrong.
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
    /// Two rows give the same agent.
    #[error("anchors table {path}, row {row}, column agent: agent {agent} was already given by {first}")]
    DuplicateAgent {
        /// The file of the second row.
        path: PathBuf,
        /// Data row of the second row, from 1.
        row: usize,
        /// The agent index.
        agent: u64,
        /// The first row (`row N`, or `row N of FILE` when it is in another file).
        first: String,
    },
    /// A row gives an agent the run does not have.
    #[error(
        "anchors table {path}, row {row}: agent {agent} does not exist: the run has {agents} agents (indices 0 to {agents} - 1)"
    )]
    AgentOutOfRange {
        /// The file.
        path: PathBuf,
        /// Data row, from 1.
        row: usize,
        /// The agent index.
        agent: u64,
        /// Agents of the run.
        agents: u64,
    },
    /// The agent-indexed table would not fit in memory.
    #[error(
        "anchors table {path}: agent {agent} needs a table of {agent} + 1 entries ({bytes}), which cannot be allocated"
    )]
    TooLarge {
        /// The table.
        path: PathBuf,
        /// The largest agent index.
        agent: u64,
        /// The memory it would take, for the message.
        bytes: String,
    },
    /// A directory without any part file.
    #[error("anchors dataset {path}: no part-*.parquet or part-*.csv files in it")]
    EmptyDataset {
        /// The directory.
        path: PathBuf,
    },
    /// The run directory of a homes dataset has no `_SUCCESS` marker.
    #[error("anchors dataset {path}: the run {run} is incomplete (no _SUCCESS marker)")]
    Incomplete {
        /// The dataset directory.
        path: PathBuf,
        /// The run directory.
        run: PathBuf,
    },
    /// Neither `.csv` nor `.parquet` nor a directory.
    #[error(
        "anchors table {path}: expected a .csv or .parquet file, a homes dataset directory (run/homes) or a run directory"
    )]
    Format {
        /// The file.
        path: PathBuf,
    },
}

/// One row of an anchors table, resolved against the city.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorRow {
    /// The agent index.
    pub agent: u64,
    /// The agent's home and workplace (`None`: drawn at random).
    pub anchors: Anchors,
    /// The file of the row.
    pub file: PathBuf,
    /// Its data row in that file, from 1.
    pub row: usize,
}

/// An anchors table read by [`read_anchor_table`]: one row per agent given, sorted by
/// agent index.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnchorTable {
    source: PathBuf,
    rows: Vec<AnchorRow>,
}

impl AnchorTable {
    /// The path given to [`read_anchor_table`].
    pub fn source(&self) -> &Path {
        &self.source
    }
    /// The rows, by agent index.
    pub fn rows(&self) -> &[AnchorRow] {
        &self.rows
    }
    /// Number of agents given.
    pub fn len(&self) -> usize {
        self.rows.len()
    }
    /// True when the table has no rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
    /// The largest agent index of the table, if it has rows.
    pub fn max_agent(&self) -> Option<u64> {
        self.rows.last().map(|r| r.agent)
    }
    /// Fails with [`AnchorError::AgentOutOfRange`] (naming the file and row) when the
    /// table gives an agent index of `agents` or more, i.e. one the run does not have.
    /// `agents` is the whole population (`--agents`), also for a shard of it.
    pub fn check_agents(&self, agents: u64) -> Result<(), AnchorError> {
        match self.rows.last() {
            Some(r) if r.agent >= agents => {
                Err(AnchorError::AgentOutOfRange { path: r.file.clone(), row: r.row, agent: r.agent, agents })
            }
            _ => Ok(()),
        }
    }
    /// The anchors indexed by agent (agents missing from the table get
    /// `Anchors::default()`), as `PopulationConfig::anchors` takes them.
    pub fn to_anchors(&self) -> Result<Vec<Anchors>, AnchorError> {
        let Some(max) = self.max_agent() else { return Ok(Vec::new()) };
        let too_large = || AnchorError::TooLarge {
            path: self.source.clone(),
            agent: max,
            bytes: gardencity::city::human_bytes(
                max.saturating_add(1).saturating_mul(std::mem::size_of::<Anchors>() as u64),
            ),
        };
        let n = usize::try_from(max).ok().and_then(|m| m.checked_add(1)).ok_or_else(too_large)?;
        let mut out = Vec::new();
        out.try_reserve_exact(n).map_err(|_| too_large())?;
        out.resize(n, Anchors::default());
        for r in &self.rows {
            out[r.agent as usize] = r.anchors;
        }
        Ok(out)
    }
}

/// One row before building lookup: data row (from 1), agent index (if given), home and workplace ids.
type RawRow = (usize, Option<u64>, Option<String>, Option<String>);

/// Reads an anchors table against `city`: a `.csv` or `.parquet` file, a homes dataset
/// directory or a run directory (see the module documentation). Building ids must be
/// buildings of the city; an agent index may appear only once.
pub fn read_anchor_table(path: impl AsRef<Path>, city: &City) -> Result<AnchorTable, AnchorError> {
    let path = path.as_ref();
    let (files, first_agent) = table_files(path)?;
    let mut rows: Vec<AnchorRow> = Vec::new();
    let mut seen: HashMap<u64, usize> = HashMap::new();
    let mut next_agent = first_agent;
    for file in &files {
        let raw = match file.extension().and_then(|e| e.to_str()) {
            Some("csv") => read_csv(file)?,
            Some("parquet") => read_parquet(file)?,
            _ => return Err(AnchorError::Format { path: file.clone() }),
        };
        for (row, agent, home, work) in raw {
            let building = |id: Option<String>, column: &str| -> Result<Option<BuildingIdx>, AnchorError> {
                match id {
                    None => Ok(None),
                    Some(id) => city.building_by_id(&id).map(Some).ok_or_else(|| AnchorError::Value {
                        path: file.clone(),
                        row,
                        column: column.into(),
                        problem: format!("{id:?} is not a building of the city"),
                    }),
                }
            };
            let agent = agent.unwrap_or(next_agent);
            next_agent = next_agent.saturating_add(1);
            if let Some(&k) = seen.get(&agent) {
                let first = &rows[k];
                let first = if first.file == *file {
                    format!("row {}", first.row)
                } else {
                    format!("row {} of {}", first.row, first.file.display())
                };
                return Err(AnchorError::DuplicateAgent { path: file.clone(), row, agent, first });
            }
            seen.insert(agent, rows.len());
            let anchors = Anchors { home: building(home, "home")?, workplace: building(work, "workplace")? };
            rows.push(AnchorRow { agent, anchors, file: file.clone(), row });
        }
    }
    rows.sort_by_key(|r| r.agent);
    Ok(AnchorTable { source: path.to_path_buf(), rows })
}

/// Reads an anchors table against `city` (see [`read_anchor_table`]); the result is
/// indexed by agent (agents missing from the table get `Anchors::default()`).
/// Callers knowing the population size should read the [`AnchorTable`] and call
/// [`AnchorTable::check_agents`] first.
pub fn read_anchors(path: impl AsRef<Path>, city: &City) -> Result<Vec<Anchors>, AnchorError> {
    read_anchor_table(path, city)?.to_anchors()
}

/// The part files to read, in order, and the agent index of the first row.
fn table_files(path: &Path) -> Result<(Vec<PathBuf>, u64), AnchorError> {
    // Files (or missing paths) by extension: reading them reports what is wrong.
    if !path.is_dir() {
        return match path.extension().and_then(|e| e.to_str()) {
            Some("csv" | "parquet") => Ok((vec![path.to_path_buf()], 0)),
            _ => Err(AnchorError::Format { path: path.into() }),
        };
    }
    // `run` holds `homes/`; `run/homes` is the dataset itself.
    let (dataset, run) = if path.join("homes").is_dir() {
        (path.join("homes"), Some(path.to_path_buf()))
    } else {
        (path.to_path_buf(), path.parent().filter(|p| p.join("manifest.json").is_file()).map(Path::to_path_buf))
    };
    let mut first_agent = 0;
    if let Some(run) = &run {
        if !run.join("_SUCCESS").is_file() {
            return Err(AnchorError::Incomplete { path: dataset, run: run.clone() });
        }
        let manifest = run.join("manifest.json");
        let text = std::fs::read(&manifest).map_err(|source| AnchorError::Io { path: manifest.clone(), source })?;
        let json: serde_json::Value = serde_json::from_slice(&text).map_err(|e| AnchorError::Parquet {
            path: manifest.clone(),
            reason: format!("the run manifest is not JSON: {e}"),
        })?;
        first_agent = json.get("first_agent").and_then(serde_json::Value::as_u64).unwrap_or(0);
    }
    let mut files = Vec::new();
    let mut stack = vec![dataset.clone()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|source| AnchorError::Io { path: dir.clone(), source })?;
        for e in entries {
            let e = e.map_err(|source| AnchorError::Io { path: dir.clone(), source })?;
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') {
                continue; // hidden: files still being written
            }
            if p.is_dir() {
                stack.push(p);
            } else if name.starts_with("part-") && (name.ends_with(".parquet") || name.ends_with(".csv")) {
                files.push(p);
            }
        }
    }
    if files.is_empty() {
        return Err(AnchorError::EmptyDataset { path: dataset });
    }
    // date=YYYY-MM-DD directories and zero-padded part numbers sort in writing order.
    files.sort();
    Ok((files, first_agent))
}

fn missing_column(path: &Path, column: &str, header: &[String]) -> AnchorError {
    AnchorError::Column {
        path: path.into(),
        column: column.into(),
        expected: format!(
            "missing (expected columns home, workplace and optionally agent; the table has {})",
            if header.is_empty() { "no columns".to_string() } else { header.join(", ") }
        ),
    }
}

fn read_csv(path: &Path) -> Result<Vec<RawRow>, AnchorError> {
    let file = std::fs::File::open(path).map_err(|source| AnchorError::Io { path: path.into(), source })?;
    // Strict field counts: a short or long row is an error, not a silently empty value.
    let mut rdr = csv::ReaderBuilder::new().has_headers(true).flexible(false).trim(csv::Trim::All).from_reader(file);
    let csv_err = |e: csv::Error, row: usize| match csv_problem(e) {
        Ok((line, reason)) => AnchorError::Csv { path: path.into(), row, line, reason },
        Err(source) => AnchorError::Io { path: path.into(), source },
    };
    // The csv reader drops a UTF-8 byte order mark before the first header name.
    let header: Vec<String> = rdr.headers().map_err(|e| csv_err(e, 0))?.iter().map(str::to_string).collect();
    let find = |name: &str| header.iter().position(|c| c == name);
    let (ch, cw, ca) = (
        find("home").ok_or_else(|| missing_column(path, "home", &header))?,
        find("workplace").ok_or_else(|| missing_column(path, "workplace", &header))?,
        find("agent"),
    );
    let mut out = Vec::new();
    let mut record = csv::StringRecord::new();
    loop {
        let row = out.len() + 1;
        if !rdr.read_record(&mut record).map_err(|e| csv_err(e, row))? {
            break;
        }
        let text = |c: usize| record.get(c).filter(|v| !v.is_empty()).map(str::to_string);
        let agent = match ca.and_then(text) {
            None => None,
            Some(v) => Some(v.parse::<u64>().map_err(|_| AnchorError::Value {
                path: path.into(),
                row,
                column: "agent".into(),
                problem: format!("{v:?} is not an agent index (a non-negative integer)"),
            })?),
        };
        out.push((row, agent, text(ch), text(cw)));
    }
    Ok(out)
}

fn read_parquet(path: &Path) -> Result<Vec<RawRow>, AnchorError> {
    let f = std::fs::File::open(path).map_err(|source| AnchorError::Io { path: path.into(), source })?;
    let perr = |e: &dyn std::fmt::Display| AnchorError::Parquet { path: path.into(), reason: e.to_string() };
    // The Parquet decoder panics on some corrupt files: a panic is an error here.
    let corrupt = |m: String| perr(&format!("corrupt Parquet file ({m})"));
    let builder = guarded(|| ParquetRecordBatchReaderBuilder::try_new(f)).map_err(corrupt)?.map_err(|e| perr(&e))?;
    let header: Vec<String> = builder.schema().fields().iter().map(|f| f.name().clone()).collect();
    let mut reader = guarded(|| builder.build()).map_err(corrupt)?.map_err(|e| perr(&e))?;
    let mut out = Vec::new();
    while let Some(batch) = guarded(|| reader.next()).map_err(corrupt)? {
        let batch = batch.map_err(|e| perr(&e))?;
        let first_row = out.len() + 1;
        let homes = strings(&batch, "home", path)?.ok_or_else(|| missing_column(path, "home", &header))?;
        let works = strings(&batch, "workplace", path)?.ok_or_else(|| missing_column(path, "workplace", &header))?;
        let agents = integers(&batch, "agent", path, first_row)?;
        for i in 0..batch.num_rows() {
            out.push((first_row + i, agents.as_ref().and_then(|a| a[i]), homes[i].clone(), works[i].clone()));
        }
    }
    Ok(out)
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

/// An integer column as `u64` (`None` for nulls); `first_row` numbers the batch's rows in errors.
fn integers(
    batch: &RecordBatch,
    name: &str,
    path: &Path,
    first_row: usize,
) -> Result<Option<Vec<Option<u64>>>, AnchorError> {
    let Some(col) = batch.column_by_name(name) else { return Ok(None) };
    let any = col.as_any();
    let signed = |v: Option<i64>, i: usize| -> Result<Option<u64>, AnchorError> {
        v.map(|x| {
            u64::try_from(x).map_err(|_| AnchorError::Value {
                path: path.into(),
                row: first_row + i,
                column: name.into(),
                problem: format!("{x} is not an agent index (a non-negative integer)"),
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

#[cfg(test)]
mod tests {
    use super::*;
    use gardencity::city::random::{random_city, RandomCityParams};

    fn city() -> City {
        random_city(&RandomCityParams { width: 20, height: 20, seed: 3, ..Default::default() }).unwrap()
    }

    fn write(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn csv_quoting_bom_and_strict_rows() {
        let c = city();
        let (h0, h1) = (c.building(BuildingIdx(0)).id.clone(), c.building(BuildingIdx(1)).id.clone());
        let dir = tempfile::tempdir().unwrap();
        // A UTF-8 BOM, a quoted comma in another column and a quoted newline: three rows, not five.
        let text = format!("\u{feff}agent,home,workplace,note\n2,{h0},,\"a, b\"\n0,\"{h1}\",,\"two\nlines\"\n1,,,\n");
        let p = write(dir.path(), "a.csv", text.as_bytes());
        let t = read_anchor_table(&p, &c).unwrap();
        assert_eq!(t.len(), 3);
        assert_eq!(t.max_agent(), Some(2));
        let v = t.to_anchors().unwrap();
        assert_eq!(v.len(), 3);
        assert_eq!(v[0].home, Some(BuildingIdx(1)));
        assert_eq!(v[2].home, Some(BuildingIdx(0)));
        assert_eq!(v[1], Anchors::default());
        // The largest agent against the population.
        assert!(t.check_agents(3).is_ok());
        let e = t.check_agents(2).unwrap_err().to_string();
        assert!(e.ends_with("a.csv, row 1: agent 2 does not exist: the run has 2 agents (indices 0 to 2 - 1)"), "{e}");
        // A short row names file, row and line.
        let p = write(dir.path(), "short.csv", format!("home,workplace\n{h0},\n{h1}\n").as_bytes());
        let e = read_anchor_table(&p, &c).unwrap_err().to_string();
        assert!(e.ends_with("short.csv, row 2 (line 3): 1 fields, but the header has 2"), "{e}");
        // A duplicate agent names both rows.
        let p = write(dir.path(), "dup.csv", format!("agent,home,workplace\n4,{h0},\n5,,\n4,{h1},\n").as_bytes());
        let e = read_anchor_table(&p, &c).unwrap_err().to_string();
        assert!(e.ends_with("dup.csv, row 3, column agent: agent 4 was already given by row 1"), "{e}");
        // A missing column lists the header found.
        let p = write(dir.path(), "cols.csv", b"agent,house\n0,x\n");
        let e = read_anchor_table(&p, &c).unwrap_err().to_string();
        assert!(e.contains("column home: missing (expected columns home, workplace and optionally agent; the table has agent, house)"), "{e}");
        // Bad values.
        let p = write(dir.path(), "neg.csv", b"agent,home,workplace\n-1,,\n");
        let e = read_anchor_table(&p, &c).unwrap_err().to_string();
        assert!(e.contains("neg.csv, row 1, column agent: \"-1\" is not an agent index"), "{e}");
        let p = write(dir.path(), "huge.csv", b"agent,home,workplace\n18446744073709551615,,\n");
        let t = read_anchor_table(&p, &c).unwrap();
        assert!(t.check_agents(100).is_err());
        assert!(matches!(t.to_anchors(), Err(AnchorError::TooLarge { .. })));
    }

    #[test]
    fn directories_read_every_part_file() {
        let c = city();
        let (h0, h1, h2) = (
            c.building(BuildingIdx(0)).id.clone(),
            c.building(BuildingIdx(1)).id.clone(),
            c.building(BuildingIdx(2)).id.clone(),
        );
        let dir = tempfile::tempdir().unwrap();
        let run = dir.path().join("run");
        let part_dir = run.join("homes/date=2024-01-01");
        std::fs::create_dir_all(&part_dir).unwrap();
        write(&part_dir, "part-00000.csv", format!("user_id,home,workplace\na,{h0},{h1}\nb,{h1},{h0}\n").as_bytes());
        write(&part_dir, "part-00001.csv", format!("user_id,home,workplace\nc,{h2},{h0}\n").as_bytes());
        write(&part_dir, ".part-00002.csv.inprogress", b"not read");
        write(&run, "manifest.json", br#"{"first_agent": 10}"#);
        // Incomplete run: refused.
        let e = read_anchor_table(&run, &c).unwrap_err().to_string();
        assert!(e.contains("is incomplete (no _SUCCESS marker)"), "{e}");
        write(&run, "_SUCCESS", b"");
        for p in [run.clone(), run.join("homes")] {
            let t = read_anchor_table(&p, &c).unwrap();
            let agents: Vec<u64> = t.rows().iter().map(|r| r.agent).collect();
            assert_eq!(agents, [10, 11, 12], "{}", p.display());
            assert_eq!(t.rows()[2].anchors.home, Some(BuildingIdx(2)));
            assert_eq!(t.rows()[2].row, 1);
            assert!(t.rows()[2].file.ends_with("part-00001.csv"));
        }
        let empty = dir.path().join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let e = read_anchor_table(&empty, &c).unwrap_err().to_string();
        assert!(e.contains("no part-*.parquet or part-*.csv files"), "{e}");
    }
}
