//! [`DatasetWriter`]: the hive-partitioned Parquet/CSV output sink.

use super::checkpoint::{Checkpoint, CheckpointCounts, FileState, PartState, CHECKPOINT};
use super::columns::{building_ids, schema, write_csv_header, write_csv_rows, RowBuffer};
use super::days::DayCache;
use super::encode::{Encoder, ParquetPart};
use super::layout::{self, MANIFEST_TMP};
use super::writeback::{self, Tracked, Writeback};
use super::{Coordinates, DatasetError, DatasetFormat, DatasetOptions, OutputKind, OutputSelection};
use arrow_array::ArrayRef;
use arrow_schema::SchemaRef;
use chrono::NaiveDate;
use gardencity::records::{AgentOutput, DiaryEntry, OutputSink, Ping};
use gardencity::City;
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;
use serde_json::{json, Map, Value};
use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fs::{self, File};
use std::io::BufWriter;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// A partition: output, sweep configuration (0 without a sweep), local date.
type PartKey = (OutputKind, usize, NaiveDate);

/// What [`DatasetWriter::finish`] wrote.
#[derive(Debug, Clone, PartialEq)]
pub struct DatasetSummary {
    /// The output directory.
    pub out_dir: PathBuf,
    /// Agents written.
    pub agents: u64,
    /// Rows per selected output.
    pub rows: BTreeMap<OutputKind, u64>,
    /// Part files per selected output, relative to `out_dir`, sorted.
    pub files: BTreeMap<OutputKind, Vec<String>>,
    /// With a sampling sweep: sparse rows per configuration, in the sweep's order.
    pub sweep_rows: Vec<(String, u64)>,
    /// The `dataset` entry written into `manifest.json`.
    pub manifest_entry: Value,
}

impl DatasetSummary {
    /// Total number of part files.
    pub fn file_count(&self) -> usize {
        self.files.values().map(Vec::len).sum()
    }
}

enum Sink {
    Parquet(Box<ParquetPart>),
    Csv(BufWriter<File>),
}

struct OpenFile {
    sink: Sink,
    tmp: PathBuf,
    rel: String,
    rows: usize,
    last_use: u64,
    /// The file's handle for early writeback (when the dataset is synced).
    writeback: Option<Tracked>,
}

impl OpenFile {
    /// Parquet row groups given to the file (whose metadata it holds until closed).
    fn row_groups(&self) -> usize {
        match &self.sink {
            Sink::Parquet(w) => w.row_groups(),
            Sink::Csv(_) => 0,
        }
    }
}

/// One (output, configuration, date) partition. A long run has one per day and output,
/// most of them idle: an idle one holds no buffer and no file, a few bytes.
struct Partition {
    buf: Option<Box<RowBuffer>>,
    file: Option<Box<OpenFile>>,
    next_part: u32,
}

impl Partition {
    /// Rows buffered.
    fn len(&self) -> usize {
        self.buf.as_ref().map_or(0, |b| b.len())
    }

    /// The row buffer, created on first use.
    fn buf(&mut self) -> &mut RowBuffer {
        self.buf.get_or_insert_with(Box::default)
    }
}

struct ClosedFile {
    kind: OutputKind,
    tmp: PathBuf,
    rel: String,
}

/// Writes simulated agents as a hive-partitioned dataset (see the [module docs](super)).
///
/// Call [`OutputSink::write_agent`] once per agent, in agent order, then
/// [`DatasetWriter::finish`]. Dropped without `finish` (or after an error), it removes
/// its hidden part files and never writes `_SUCCESS`.
///
/// ```
/// use gardencity::city::random::{random_city, RandomCityParams};
/// use gardencity::gravity::{Gravity, GravityParams};
/// use gardencity::population::{Population, PopulationConfig};
/// use gardencity::routing::Router;
/// use gardencity_io::dataset::{read_manifest, DatasetOptions, DatasetWriter, OutputKind};
/// use std::sync::Arc;
/// let city = Arc::new(random_city(&RandomCityParams { width: 30, height: 30, seed: 1, ..Default::default() }).unwrap());
/// let (router, gravity) = (Router::new(&city), Gravity::hub_proxy(&city, GravityParams::default()).unwrap());
/// let start = 1_704_085_200;
/// let config = PopulationConfig::new(1, 4, start, start + 86_400, chrono_tz::America::New_York);
/// let out = tempfile::tempdir().unwrap();
/// let mut writer = DatasetWriter::create(out.path().join("run"), city.clone(), DatasetOptions::default()).unwrap();
/// Population::new(&city, &router, &gravity, config).unwrap().run(&mut writer, &|_| {}).unwrap();
/// let summary = writer.finish(serde_json::json!({ "note": "a doc example" })).unwrap();
/// let m = read_manifest(out.path().join("run")).unwrap();
/// assert_eq!((m.agents, m.outputs[&OutputKind::Homes].rows), (4, 4));
/// assert_eq!(summary.rows[&OutputKind::Sparse], m.outputs[&OutputKind::Sparse].rows);
/// ```
pub struct DatasetWriter {
    out_dir: PathBuf,
    city: Arc<City>,
    opts: DatasetOptions,
    schemas: [SchemaRef; 5],
    /// The city's building ids, the dictionary of building columns.
    building_ids: ArrayRef,
    /// Parquet properties of each output.
    props: [WriterProperties; 5],
    /// Encodes and compresses the Parquet row groups.
    encoder: Encoder,
    /// Asks for part files to be written to disk while the run goes on.
    writeback: Writeback,
    /// The partition of each row group with the encoder and not yet appended to its
    /// open file, oldest first.
    pending: VecDeque<PartKey>,
    parts: BTreeMap<PartKey, Partition>,
    /// Sparse rows per sweep configuration.
    sweep_rows: Vec<u64>,
    days: DayCache,
    csv_days: DayCache,
    /// Rows buffered over all partitions.
    buffered: usize,
    /// Rows buffered per table ([`DatasetWriter::table`]), each bounded by
    /// `max_buffered_rows` on its own.
    table_rows: Vec<usize>,
    /// The partitions with an open file, by last use (oldest first).
    open: BTreeSet<(u64, PartKey)>,
    /// Row groups held by open files per table ([`DatasetWriter::table`]), each bounded
    /// by `max_open_row_groups` on its own.
    table_row_groups: Vec<usize>,
    clock: u64,
    closed: Vec<ClosedFile>,
    /// Closed part files not yet synced: synced together, a batch at a time, and all of
    /// them before a checkpoint or `finish` counts on them.
    unsynced: Vec<(File, PathBuf)>,
    /// Files `finish` made visible (removed again if it fails later).
    published: Vec<PathBuf>,
    rows: [u64; 5],
    agents: u64,
    failed: Option<String>,
    done: bool,
    /// The run's counts so far (kept in checkpoints).
    counts: CheckpointCounts,
    /// Entries of `closed` recorded by the last checkpoint (kept if the run stops).
    committed: Option<usize>,
    /// Agents written at the last checkpoint.
    checkpointed: u64,
    /// Agents some of whose records are written and more are to come (a run streaming
    /// in time): no checkpoint while there are any.
    open_agents: BTreeSet<u64>,
    /// The partitions holding buffered rows, by date (but the homes partition, which
    /// [`OutputSink::flush_before`] leaves to fill whole batches).
    buffered_parts: BTreeSet<(NaiveDate, PartKey)>,
    /// Held for the whole run; released (after `_SUCCESS`, or after cleaning up) on drop.
    _lock: super::lock::DirLock,
}

impl std::fmt::Debug for DatasetWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatasetWriter")
            .field("out_dir", &self.out_dir)
            .field("opts", &self.opts)
            .field("agents", &self.agents)
            .field("partitions", &self.parts.len())
            .field("buffered", &self.buffered)
            .finish_non_exhaustive()
    }
}

impl DatasetWriter {
    /// Prepares `out_dir` (see [`DatasetOptions::overwrite`]) and returns a writer.
    ///
    /// Fails when an option is out of range, when `out_dir` is a file, when it is not
    /// empty without `overwrite`, or (with `overwrite`) when it holds anything a
    /// gardencity dataset does not.
    pub fn create(out_dir: impl AsRef<Path>, city: Arc<City>, opts: DatasetOptions) -> Result<Self, DatasetError> {
        let positive = |name: &'static str, v: usize| {
            if v == 0 {
                Err(DatasetError::Option { name, reason: "must be at least 1".into() })
            } else {
                Ok(())
            }
        };
        positive("batch_rows", opts.batch_rows)?;
        positive("max_buffered_rows", opts.max_buffered_rows)?;
        positive("rows_per_file", opts.rows_per_file)?;
        positive("max_open_files", opts.max_open_files)?;
        positive("max_open_row_groups", opts.max_open_row_groups)?;
        if opts.outputs.kinds().is_empty() {
            return Err(DatasetError::Option { name: "outputs", reason: "select at least one output".into() });
        }
        for (k, name) in opts.sweep.iter().enumerate() {
            let ok = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b))
                && !opts.sweep[..k].contains(name);
            if !ok {
                return Err(DatasetError::Option {
                    name: "sweep",
                    reason: format!(
                        "configuration name {name:?}: expected a distinct, non-empty name of letters, digits, -, _ or ."
                    ),
                });
            }
        }
        let out_dir = out_dir.as_ref().to_path_buf();
        let lock = layout::prepare_out_dir(&out_dir, opts.overwrite)?;
        Ok(Self::with_lock(out_dir, city, opts, lock))
    }

    /// Continues the interrupted run in `out_dir` from its last checkpoint (see
    /// [`Checkpoint`]): `opts` must be those of the interrupted run (its `run_key` is
    /// checked), and the caller then writes the agents after
    /// [`Checkpoint::counts`]`.agents`. Files the interrupted run wrote after its
    /// checkpoint are removed.
    pub fn resume(
        out_dir: impl AsRef<Path>,
        city: Arc<City>,
        opts: DatasetOptions,
    ) -> Result<(Self, Checkpoint), DatasetError> {
        let out_dir = out_dir.as_ref().to_path_buf();
        if !out_dir.is_dir() {
            return Err(DatasetError::invalid(&out_dir, "no such directory: there is no interrupted run to resume"));
        }
        let lock = super::lock::DirLock::acquire(&out_dir)?;
        let cp = Checkpoint::read(&out_dir)?.ok_or_else(|| {
            let why = if out_dir.join(layout::SUCCESS).exists() {
                "the run there is complete (it has _SUCCESS); there is nothing to resume"
            } else {
                "it holds no checkpoint (.gardencity-resume.json) of an interrupted run to resume"
            };
            DatasetError::invalid(&out_dir, why)
        })?;
        if cp.run_key != opts.run_key {
            return Err(DatasetError::invalid(
                out_dir.join(CHECKPOINT),
                "the interrupted run had other parameters; resume it with the same ones",
            ));
        }
        layout::remove_uncommitted(&out_dir, &cp.tmp_paths(&out_dir))?;
        let mut w = Self::with_lock(out_dir.clone(), city, opts, lock);
        for p in &cp.parts {
            let kind = OutputKind::from_dir_name(&p.output);
            let date = NaiveDate::parse_from_str(&p.date, "%Y-%m-%d").ok();
            let (Some(kind), Some(date)) = (kind, date) else {
                return Err(DatasetError::invalid(out_dir.join(CHECKPOINT), format!("partition entry {p:?}")));
            };
            w.partition((kind, p.config, date)).next_part = p.next_part;
        }
        for f in &cp.files {
            let kind = OutputKind::from_dir_name(&f.output).unwrap_or(OutputKind::Sparse);
            w.closed.push(ClosedFile { kind, tmp: out_dir.join(&f.tmp), rel: f.rel.clone() });
        }
        if cp.sweep_rows.len() != w.sweep_rows.len() {
            return Err(DatasetError::invalid(out_dir.join(CHECKPOINT), "its sweep configurations differ"));
        }
        w.committed = Some(w.closed.len());
        w.rows = cp.rows;
        w.sweep_rows = cp.sweep_rows.clone();
        w.agents = cp.counts.agents;
        w.checkpointed = cp.counts.agents;
        w.counts = cp.counts;
        Ok((w, cp))
    }

    fn with_lock(out_dir: PathBuf, city: Arc<City>, opts: DatasetOptions, lock: super::lock::DirLock) -> Self {
        let mut opts = opts;
        if let Some(limit) = open_file_limit() {
            // Leave half of the process's descriptors to everything else.
            opts.max_open_files = opts.max_open_files.min((limit / 2).max(1));
        }
        let tz = opts.time_zone.name();
        let schemas = OutputKind::ALL.map(|k| schema(k, tz));
        let props = OutputKind::ALL.map(|k| writer_properties(k, opts.batch_rows));
        let n_sweep = opts.sweep.len();
        let building_ids = building_ids(&city);
        DatasetWriter {
            out_dir,
            city,
            days: DayCache::new(opts.time_zone),
            csv_days: DayCache::new(opts.time_zone),
            encoder: Encoder::new(opts.encode_threads),
            writeback: Writeback::default(),
            pending: VecDeque::new(),
            building_ids,
            opts,
            schemas,
            props,
            parts: BTreeMap::new(),
            sweep_rows: vec![0; n_sweep],
            buffered: 0,
            table_rows: vec![0; OutputKind::ALL.len() * n_sweep.max(1)],
            table_row_groups: vec![0; OutputKind::ALL.len() * n_sweep.max(1)],
            open: BTreeSet::new(),
            clock: 0,
            closed: Vec::new(),
            unsynced: Vec::new(),
            published: Vec::new(),
            rows: [0; 5],
            agents: 0,
            failed: None,
            done: false,
            counts: CheckpointCounts::default(),
            committed: None,
            checkpointed: 0,
            open_agents: BTreeSet::new(),
            buffered_parts: BTreeSet::new(),
            _lock: lock,
        }
    }

    /// The output directory.
    pub fn out_dir(&self) -> &Path {
        &self.out_dir
    }

    /// The options the writer was created with.
    pub fn options(&self) -> &DatasetOptions {
        &self.opts
    }

    /// Rows currently buffered in memory, over all partitions.
    pub fn buffered_rows(&self) -> usize {
        self.buffered
    }

    /// Rows currently buffered in memory for one output (one sweep configuration's
    /// sparse pings, `config`, being an output of their own; 0 without a sweep).
    pub fn buffered_rows_of(&self, kind: OutputKind, config: usize) -> usize {
        self.table_rows.get(self.table(kind, config)).copied().unwrap_or(0)
    }

    /// The index of a table in `table_rows`: an output, and for sparse pings in a
    /// sweep, a configuration.
    fn table(&self, kind: OutputKind, config: usize) -> usize {
        let configs = self.opts.sweep.len().max(1);
        let config = if kind == OutputKind::Sparse { config.min(configs - 1) } else { 0 };
        kind.index() * configs + config
    }

    /// Agents accepted so far.
    pub fn agents_written(&self) -> u64 {
        self.agents
    }

    /// Rows of one output accepted so far (buffered or on disk).
    pub fn rows_written(&self, kind: OutputKind) -> u64 {
        self.rows[kind.index()]
    }

    /// Part files currently open.
    pub fn open_files(&self) -> usize {
        self.open.len()
    }

    /// Sparse rows written so far per sweep configuration (empty without a sweep).
    pub fn sweep_rows(&self) -> &[u64] {
        &self.sweep_rows
    }

    fn check_ok(&self) -> Result<(), DatasetError> {
        match &self.failed {
            Some(first_error) => {
                Err(DatasetError::Failed { path: self.out_dir.clone(), first_error: first_error.clone() })
            }
            None => Ok(()),
        }
    }

    fn poison<T>(&mut self, r: Result<T, DatasetError>) -> Result<T, DatasetError> {
        if let Err(e) = &r {
            self.failed.get_or_insert_with(|| e.to_string());
        }
        r
    }

    /// Checks an agent's rows before any of them is buffered, so a rejected agent
    /// leaves the dataset unchanged.
    fn validate(&mut self, out: &AgentOutput) -> Result<(), DatasetError> {
        check_agent(out, self.opts.outputs, self.city.buildings().len(), self.agents, &mut self.days)?;
        let n = self.opts.sweep.len();
        if n > 0 && self.opts.outputs.sparse && out.sweep.len() != n {
            return Err(DatasetError::Option {
                name: "sweep",
                reason: format!("agent {} has {} sweep configurations, expected {n}", self.agents, out.sweep.len()),
            });
        }
        Ok(())
    }

    /// The partition's directory, relative to the output directory.
    fn partition_rel(&self, key: PartKey) -> String {
        let (kind, config, date) = key;
        match (kind, self.opts.sweep.get(config)) {
            (OutputKind::Sparse, Some(name)) => {
                format!("{}/config={name}/{}", kind.dir_name(), layout::partition_dir(date))
            }
            _ => format!("{}/{}", kind.dir_name(), layout::partition_dir(date)),
        }
    }

    fn partition(&mut self, key: PartKey) -> &mut Partition {
        self.parts.entry(key).or_insert_with(|| Partition { buf: None, file: None, next_part: 0 })
    }

    fn append_pings(
        &mut self,
        kind: OutputKind,
        config: usize,
        user: &str,
        rows: &[Ping],
        cancel: &AtomicBool,
    ) -> Result<(), DatasetError> {
        let dense = kind == OutputKind::Dense;
        let g = *self.city.georef();
        let coords = self.opts.coordinates;
        if kind == OutputKind::Sparse && !self.opts.sweep.is_empty() {
            self.sweep_rows[config] += rows.len() as u64;
        }
        self.append_by_day(
            kind,
            config,
            user,
            rows,
            |p| p.timestamp,
            |buf, run| buf.extend_pings(run, &g, coords, dense),
            cancel,
        )
    }

    fn append_entries(
        &mut self,
        kind: OutputKind,
        user: &str,
        rows: &[DiaryEntry],
        cancel: &AtomicBool,
    ) -> Result<(), DatasetError> {
        self.append_by_day(kind, 0, user, rows, |e| e.timestamp, |buf, run| buf.extend_entries(run), cancel)
    }

    /// Appends time-ordered rows of `user` to the partitions of their local days,
    /// flushing a partition's buffer when it reaches a batch; gives up once `cancel` is
    /// set (one agent of a long run spans thousands of days).
    #[allow(clippy::too_many_arguments)]
    fn append_by_day<T>(
        &mut self,
        kind: OutputKind,
        config: usize,
        user: &str,
        rows: &[T],
        timestamp: impl Fn(&T) -> i64,
        mut push: impl FnMut(&mut RowBuffer, &[T]),
        cancel: &AtomicBool,
    ) -> Result<(), DatasetError> {
        let mut i = 0;
        while i < rows.len() {
            if cancel.load(Ordering::Relaxed) {
                return Err(DatasetError::Cancelled);
            }
            let Some(day) = self.days.day(timestamp(&rows[i])) else { match unreachable_ts()? {} };
            // The rows of this day, as many as fill the partition's batch: a batch is a
            // row group, so row groups are whole batches (a day's rows running past one
            // made a row group of the few left over).
            let batch_rows = self.opts.batch_rows;
            self.buffered_parts.insert((day.date, (kind, config, day.date)));
            let part = self.partition((kind, config, day.date));
            let room = batch_rows.saturating_sub(part.len()).max(1);
            let mut j = i;
            while j < rows.len() && j - i < room && day.lo <= timestamp(&rows[j]) && timestamp(&rows[j]) < day.hi {
                j += 1;
            }
            push(part.buf(), &rows[i..j]);
            part.buf().push_user(user, j - i);
            let len = part.len();
            self.buffered += j - i;
            let t = self.table(kind, config);
            self.table_rows[t] += j - i;
            self.rows[kind.index()] += (j - i) as u64;
            if len >= self.opts.batch_rows {
                self.flush_partition((kind, config, day.date))?;
            }
            i = j;
        }
        Ok(())
    }

    fn write_agent_inner(&mut self, out: &AgentOutput, cancel: &AtomicBool) -> Result<(), DatasetError> {
        let agent = &out.agent;
        let sel = self.opts.outputs;
        let user = agent.id.as_str();
        if sel.sparse {
            if self.opts.sweep.is_empty() {
                self.append_pings(OutputKind::Sparse, 0, user, &out.sparse, cancel)?;
            } else {
                for (k, pings) in out.sweep.iter().enumerate() {
                    self.append_pings(OutputKind::Sparse, k, user, pings, cancel)?;
                }
            }
        }
        if sel.dense {
            self.append_pings(OutputKind::Dense, 0, user, &out.dense, cancel)?;
        }
        if sel.diary {
            self.append_entries(OutputKind::Diary, user, &out.diary, cancel)?;
        }
        if sel.destinations {
            self.append_entries(OutputKind::Destinations, user, &out.destinations, cancel)?;
        }
        // The homes row once, with an agent's last piece.
        if sel.homes && !out.continues {
            // Not in `buffered_parts`: the homes rows belong to no day a run streaming
            // in time is done with, so they fill whole batches (not one per cohort).
            let date = self.opts.start_date;
            let part = self.partition((OutputKind::Homes, 0, date));
            part.buf().push_home(user, agent.home, agent.workplace);
            let len = part.len();
            self.buffered += 1;
            let t = self.table(OutputKind::Homes, 0);
            self.table_rows[t] += 1;
            self.rows[OutputKind::Homes.index()] += 1;
            if len >= self.opts.batch_rows {
                self.flush_partition((OutputKind::Homes, 0, date))?;
            }
        }
        if out.continues {
            self.open_agents.insert(agent.index);
        } else {
            self.open_agents.remove(&agent.index);
            self.agents += 1;
        }
        for kind in OutputKind::ALL {
            let configs = if kind == OutputKind::Sparse { self.opts.sweep.len().max(1) } else { 1 };
            for config in 0..configs {
                if self.table_rows[self.table(kind, config)] > self.opts.max_buffered_rows {
                    self.shed(kind, config, cancel)?;
                }
            }
        }
        Ok(())
    }

    /// Writes the largest buffers of one table (an output, or a sweep configuration's
    /// sparse pings) until at most half of `max_buffered_rows` remain in it (or `cancel`
    /// is set). Each table is bounded on its own, so a table's files do not depend on
    /// which other outputs or configurations the run writes.
    fn shed(&mut self, kind: OutputKind, config: usize, cancel: &AtomicBool) -> Result<(), DatasetError> {
        let (lo, hi) = ((kind, config, NaiveDate::MIN), (kind, config, NaiveDate::MAX));
        let mut sizes: Vec<(PartKey, usize)> =
            self.parts.range(lo..=hi).filter(|(_, p)| p.len() > 0).map(|(k, p)| (*k, p.len())).collect();
        // Largest first; ties in key order (deterministic).
        sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let target = self.opts.max_buffered_rows / 2;
        let t = self.table(kind, config);
        for (key, _) in sizes {
            if self.table_rows[t] <= target {
                break;
            }
            if cancel.load(Ordering::Relaxed) {
                return Err(DatasetError::Cancelled);
            }
            self.flush_partition(key)?;
        }
        Ok(())
    }

    /// Writes the buffers of every partition of a local date before `date`.
    fn flush_dates_before(&mut self, date: NaiveDate) -> Result<(), DatasetError> {
        while let Some(&(d, key)) = self.buffered_parts.first() {
            if d >= date {
                break;
            }
            self.flush_partition(key)?;
        }
        Ok(())
    }

    /// Writes a partition's buffer to its open part file (opening one if needed).
    fn flush_partition(&mut self, key: PartKey) -> Result<(), DatasetError> {
        let kind = key.0;
        let dir = self.out_dir.join(self.partition_rel(key));
        self.buffered_parts.remove(&(key.2, key));
        let Some(part) = self.parts.get_mut(&key) else { return Ok(()) };
        let n = part.len();
        if n == 0 {
            return Ok(());
        }
        // A partition flushed because its batch is full will fill again: its buffer
        // keeps the room. Others (flushed to bound memory, or at the end) keep none.
        let reserve = n >= self.opts.batch_rows;
        let batch = part
            .buf()
            .take_batch(kind, &self.schemas[kind.index()], &self.building_ids, reserve)
            .map_err(|source| DatasetError::Arrow { output: kind, path: dir.clone(), source })?;
        if !reserve {
            part.buf = None;
        }
        self.buffered -= n;
        let t = self.table(key.0, key.1);
        self.table_rows[t] -= n;
        let mut offset = 0;
        while offset < n {
            let has_file = self.parts.get(&key).is_some_and(|p| p.file.is_some());
            if !has_file {
                if self.open.len() >= self.opts.max_open_files {
                    self.close_lru()?;
                }
                self.open_file(key, &dir)?;
            }
            self.clock += 1;
            let clock = self.clock;
            let rows_per_file = self.opts.rows_per_file;
            let Some(file) = self.parts.get_mut(&key).and_then(|p| p.file.as_mut()) else { break };
            let take = (rows_per_file - file.rows).min(n - offset);
            let slice = batch.slice(offset, take);
            match &mut file.sink {
                Sink::Parquet(w) => {
                    let before = w.row_groups();
                    let pooled =
                        w.submit(&self.encoder, &slice).map_err(|e| DatasetError::parquet("writing", &file.tmp, e))?;
                    self.pending.extend(std::iter::repeat_n(key, pooled));
                    self.table_row_groups[t] += w.row_groups() - before;
                }
                Sink::Csv(w) => write_csv_rows(w, &slice, &mut self.csv_days)
                    .map_err(|e| DatasetError::io("writing", &file.tmp, e))?,
            }
            if let Some(t) = &mut file.writeback {
                self.writeback.poll(t);
            }
            file.rows += take;
            self.open.remove(&(file.last_use, key));
            file.last_use = clock;
            self.open.insert((clock, key));
            offset += take;
            if file.rows >= rows_per_file {
                self.close_file(key)?;
            }
            self.wait_for_encoder()?;
        }
        if self.table_row_groups[t] > self.opts.max_open_row_groups {
            self.close_fullest(key.0, key.1)?;
        }
        Ok(())
    }

    /// Closes the open file of a table (an output, or a sweep configuration's sparse
    /// pings) holding the most row groups (the first in partition order on a tie): the
    /// metadata of a file's row groups stays in memory until it is closed, and a run of
    /// many cohorts adds row groups to every date's file.
    fn close_fullest(&mut self, kind: OutputKind, config: usize) -> Result<(), DatasetError> {
        let t = self.table(kind, config);
        let fullest = self
            .open
            .iter()
            .map(|&(_, k)| k)
            .filter(|&k| self.table(k.0, k.1) == t)
            .filter_map(|k| Some((self.parts.get(&k)?.file.as_ref()?.row_groups(), k)))
            .max_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        match fullest {
            Some((_, key)) => self.close_file(key),
            None => Ok(()),
        }
    }

    /// Appends the oldest pending row groups to their files until no more than the
    /// encoder's bound remain.
    fn wait_for_encoder(&mut self) -> Result<(), DatasetError> {
        while self.pending.len() > self.encoder.max_pending() {
            let Some(key) = self.pending.pop_front() else { break };
            if let Some(OpenFile { sink: Sink::Parquet(w), tmp, writeback, .. }) =
                self.parts.get_mut(&key).and_then(|p| p.file.as_deref_mut())
            {
                w.append_oldest().map_err(|e| DatasetError::parquet("writing", &*tmp, e))?;
                if let Some(t) = writeback {
                    self.writeback.poll(t);
                }
            }
        }
        Ok(())
    }

    fn open_file(&mut self, key: PartKey, dir: &Path) -> Result<(), DatasetError> {
        let kind = key.0;
        let rel_dir = self.partition_rel(key);
        let ext = self.opts.format.extension();
        let schema = self.schemas[kind.index()].clone();
        let props = self.props[kind.index()].clone();
        let format = self.opts.format;
        let Some(part) = self.parts.get_mut(&key) else { return Ok(()) };
        fs::create_dir_all(dir).map_err(|e| DatasetError::io("creating directory", dir, e))?;
        let n = part.next_part;
        let tmp = dir.join(layout::tmp_part_name(n, ext));
        let rel = format!("{rel_dir}/{}", layout::part_name(n, ext));
        let f = File::create(&tmp).map_err(|e| DatasetError::io("creating", &tmp, e))?;
        let writeback = if self.opts.sync { Writeback::track(&f) } else { None };
        let sink = match format {
            DatasetFormat::Parquet => Sink::Parquet(
                // A sweep's phones may share their ping times' columns.
                ParquetPart::create(f, schema, props, kind == OutputKind::Sparse && !self.opts.sweep.is_empty())
                    .map(Box::new)
                    .map_err(|e| DatasetError::parquet("starting", &tmp, e))?,
            ),
            DatasetFormat::Csv => {
                let mut w = BufWriter::with_capacity(1 << 16, f);
                write_csv_header(&mut w, &schema).map_err(|e| DatasetError::io("writing", &tmp, e))?;
                Sink::Csv(w)
            }
        };
        part.next_part += 1;
        part.file = Some(Box::new(OpenFile { sink, tmp, rel, rows: 0, last_use: self.clock, writeback }));
        self.open.insert((self.clock, key));
        Ok(())
    }

    fn close_lru(&mut self) -> Result<(), DatasetError> {
        match self.open.first().map(|&(_, k)| k) {
            Some(k) => self.close_file(k),
            None => Ok(()),
        }
    }

    fn close_file(&mut self, key: PartKey) -> Result<(), DatasetError> {
        self.close_files(&[key])
    }

    /// Finishes the open files of `keys` and records them as closed; they are made
    /// durable a batch at a time ([`DatasetWriter::sync_closed`]).
    fn close_files(&mut self, keys: &[PartKey]) -> Result<(), DatasetError> {
        for &key in keys {
            let Some(file) = self.parts.get_mut(&key).and_then(|p| p.file.take()) else { continue };
            self.open.remove(&(file.last_use, key));
            let t = self.table(key.0, key.1);
            self.table_row_groups[t] -= file.row_groups();
            let OpenFile { sink, tmp, rel, .. } = *file;
            let f = match sink {
                Sink::Parquet(w) => {
                    // Its row groups are appended now.
                    self.pending.retain(|k| *k != key);
                    w.finish().map_err(|e| DatasetError::parquet("finishing", &tmp, e))?
                }
                Sink::Csv(w) => w.into_inner().map_err(|e| DatasetError::io("writing", &tmp, e.into_error()))?,
            };
            if self.opts.sync {
                self.unsynced.push((f, tmp.clone()));
            }
            // Recorded at once, so that a writer failing later (another file, a sync)
            // still removes it; only a checkpoint after this call makes it a resume point.
            self.closed.push(ClosedFile { kind: key.0, tmp, rel });
        }
        if self.unsynced.len() >= writeback::SYNC_BATCH {
            self.sync_closed()?;
        }
        Ok(())
    }

    /// Makes every closed file not yet synced durable, several at once.
    fn sync_closed(&mut self) -> Result<(), DatasetError> {
        writeback::sync_files(std::mem::take(&mut self.unsynced))
    }

    /// Writes every buffer, closes every file and records the files in the journal.
    fn checkpoint(&mut self) -> Result<(), DatasetError> {
        let keys: Vec<_> = self.parts.keys().copied().collect();
        for &k in &keys {
            self.flush_partition(k)?;
        }
        self.close_files(&keys)?;
        self.sync_closed()?;
        let rel_of = |p: &Path| p.strip_prefix(&self.out_dir).map(|r| r.to_string_lossy().into_owned());
        let mut files = Vec::with_capacity(self.closed.len());
        for c in &self.closed {
            let tmp = rel_of(&c.tmp).map_err(|_| DatasetError::invalid(&c.tmp, "a part file outside the output"))?;
            files.push(FileState { output: c.kind.dir_name().into(), tmp, rel: c.rel.clone() });
        }
        let parts = self
            .parts
            .iter()
            .map(|(&(kind, config, date), p)| PartState {
                output: kind.dir_name().into(),
                config,
                date: date.format("%Y-%m-%d").to_string(),
                next_part: p.next_part,
            })
            .collect();
        let cp = Checkpoint {
            run_key: self.opts.run_key.clone(),
            counts: self.counts,
            rows: self.rows,
            sweep_rows: self.sweep_rows.clone(),
            parts,
            files,
        };
        cp.write(&self.out_dir, self.opts.sync)?;
        self.committed = Some(self.closed.len());
        self.checkpointed = self.agents;
        Ok(())
    }

    /// The run's counts so far (as checkpoints record them).
    pub fn counts(&self) -> CheckpointCounts {
        self.counts
    }

    /// Writes every buffer, closes every file, renames them to their visible names,
    /// writes `manifest.json` (the given run manifest, an object or null, with a
    /// `dataset` entry added: format, coordinates, time zone, georeference, rows and
    /// files per output) and finally the empty `_SUCCESS` marker.
    pub fn finish(mut self, manifest: Value) -> Result<DatasetSummary, DatasetError> {
        self.check_ok()?;
        let r = self.finish_inner(manifest);
        let r = self.poison(r);
        if r.is_ok() {
            self.done = true;
        }
        r
    }

    fn finish_inner(&mut self, manifest: Value) -> Result<DatasetSummary, DatasetError> {
        let mut run = manifest_object(manifest)?;
        let (files, rows) = self.publish_parts()?;
        let (dataset, sweep_rows) = self.manifest_entry(&files, &rows);
        run.insert("dataset".into(), dataset.clone());
        layout::publish_manifest(&self.out_dir, &Value::Object(run), self.opts.sync, &mut self.published)?;
        Ok(DatasetSummary {
            out_dir: self.out_dir.clone(),
            agents: self.agents,
            rows,
            files,
            sweep_rows,
            manifest_entry: dataset,
        })
    }

    /// Flushes and closes every partition, syncs, and renames every part file into place
    /// (every selected output gets its directory, even without rows); removes the
    /// checkpoint journal. Returns the files (relative paths, sorted) and rows by output.
    fn publish_parts(&mut self) -> Result<(FilesByOutput, BTreeMap<OutputKind, u64>), DatasetError> {
        let keys: Vec<_> = self.parts.keys().copied().collect();
        for &k in &keys {
            self.flush_partition(k)?;
        }
        self.close_files(&keys)?;
        self.sync_closed()?;
        self.closed.sort_by(|a, b| a.rel.cmp(&b.rel));
        let mut files: BTreeMap<OutputKind, Vec<String>> = BTreeMap::new();
        let mut rows = BTreeMap::new();
        for kind in self.opts.outputs.kinds() {
            files.insert(kind, Vec::new());
            rows.insert(kind, self.rows[kind.index()]);
            let d = self.out_dir.join(kind.dir_name());
            fs::create_dir_all(&d).map_err(|e| DatasetError::io("creating directory", &d, e))?;
        }
        for c in &self.closed {
            let dest = self.out_dir.join(&c.rel);
            fs::rename(&c.tmp, &dest).map_err(|e| DatasetError::io("renaming", &c.tmp, e))?;
            self.published.push(dest);
            files.entry(c.kind).or_default().push(c.rel.clone());
        }
        self.closed.clear();
        // Nothing is left to resume once every file is visible.
        let journal = self.out_dir.join(CHECKPOINT);
        if journal.exists() {
            fs::remove_file(&journal).map_err(|e| DatasetError::io("removing", &journal, e))?;
        }
        self.committed = None;
        Ok((files, rows))
    }

    /// The manifest's `dataset` entry (format, coordinates, georeference, outputs with
    /// their rows and files, the sweep's configurations) and the sweep's rows.
    fn manifest_entry(&self, files: &FilesByOutput, rows: &BTreeMap<OutputKind, u64>) -> (Value, Vec<(String, u64)>) {
        let g = self.city.georef();
        let mut outputs = Map::new();
        for (kind, list) in files {
            outputs.insert(kind.dir_name().into(), json!({ "rows": rows[kind], "files": list }));
        }
        let mut dataset = json!({
            "generator": format!("gardencity-io {}", env!("CARGO_PKG_VERSION")),
            "format": self.opts.format.as_str(),
            "compression": match self.opts.format { DatasetFormat::Parquet => "zstd", DatasetFormat::Csv => "none" },
            "coordinates": self.opts.coordinates.as_str(),
            "ha_unit": match self.opts.coordinates { Coordinates::Blocks => "blocks", _ => "metres" },
            "time_zone": self.opts.time_zone.name(),
            "start_date": self.opts.start_date.format("%Y-%m-%d").to_string(),
            "partitioning": "hive",
            "city": self.city.name(),
            "georeference": {
                "block_side": g.block_side,
                "origin_x": g.origin_x,
                "origin_y": g.origin_y,
                "rotation_deg": g.rotation_deg,
                "rotation_origin": [g.rotation_origin.0, g.rotation_origin.1],
            },
            "agents": self.agents,
            "outputs": outputs,
        });
        let sweep_rows: Vec<(String, u64)> =
            self.opts.sweep.iter().cloned().zip(self.sweep_rows.iter().copied()).collect();
        if !sweep_rows.is_empty() {
            dataset["sweep"] = Value::Array(
                sweep_rows.iter().map(|(name, rows)| json!({ "config": name, "sparse_rows": rows })).collect(),
            );
        }
        (dataset, sweep_rows)
    }

    /// Removes the hidden part files of an unfinished dataset (best effort).
    fn discard(&mut self) {
        self.unsynced.clear();
        self.open.clear();
        let keys: Vec<_> = self.parts.keys().copied().collect();
        for k in keys {
            if let Some(f) = self.parts.get_mut(&k).and_then(|p| p.file.take()) {
                drop(f.sink);
                let _ = fs::remove_file(&f.tmp);
            }
        }
        // Files recorded by the last checkpoint stay, for a resume; the rest go.
        let keep = self.committed.unwrap_or(0);
        for c in self.closed.drain(..).skip(keep) {
            let _ = fs::remove_file(&c.tmp);
        }
        let _ = fs::remove_file(self.out_dir.join(MANIFEST_TMP));
        for p in self.published.drain(..) {
            let _ = fs::remove_file(p);
        }
        let dirs: Vec<String> = self.parts.keys().map(|&k| self.partition_rel(k)).collect();
        for d in dirs {
            let _ = fs::remove_dir(self.out_dir.join(&d));
            // The config= level of a sweep.
            if let Some(parent) = self.out_dir.join(&d).parent() {
                let _ = fs::remove_dir(parent);
            }
        }
        for kind in OutputKind::ALL {
            let _ = fs::remove_dir(self.out_dir.join(kind.dir_name()));
        }
    }
}

impl OutputSink for DatasetWriter {
    type Error = DatasetError;

    /// Buffers one agent's selected rows, writing batches as buffers fill. An agent with
    /// invalid rows (unknown building, out-of-range time, no agent record) is rejected
    /// whole; a file-system error makes every later call fail.
    fn write_agent(&mut self, out: &AgentOutput) -> Result<(), DatasetError> {
        self.write_agent_cancellable(out, &AtomicBool::new(false))
    }

    /// [`DatasetWriter::write_agent`], giving up with [`DatasetError::Cancelled`] (and
    /// failing from then on) once `cancel` is set: it is checked before each day's rows.
    fn write_agent_cancellable(&mut self, out: &AgentOutput, cancel: &AtomicBool) -> Result<(), DatasetError> {
        self.check_ok()?;
        self.validate(out)?;
        let r = self.write_agent_inner(out, cancel);
        self.poison(r)?;
        let c = &mut self.counts;
        c.agents += u64::from(!out.continues);
        c.sparse_pings += out.sparse.len() as u64 + out.sweep.iter().map(|v| v.len() as u64).sum::<u64>();
        c.dense_pings += out.ticks;
        c.diary_entries += out.diary.len() as u64;
        c.destination_entries += out.destinations.len() as u64;
        // A checkpoint needs every agent written whole (none with pieces to come).
        let every = self.opts.checkpoint_agents;
        if every > 0 && self.open_agents.is_empty() && self.agents >= self.checkpointed + every {
            let r = self.checkpoint();
            self.poison(r)?;
        }
        Ok(())
    }

    /// Writes the rows buffered for local dates before that of `t` (a run streaming in
    /// time is done with them): full row groups of a block's rows, and files of past
    /// days that need not stay in memory.
    fn flush_before(&mut self, t: i64) -> Result<(), DatasetError> {
        self.check_ok()?;
        let Some(day) = self.days.day(t) else { return Ok(()) };
        let r = self.flush_dates_before(day.date);
        self.poison(r)
    }
}

impl Drop for DatasetWriter {
    fn drop(&mut self) {
        if !self.done {
            self.discard();
        }
    }
}

/// Each output's published files (relative paths, sorted).
type FilesByOutput = BTreeMap<OutputKind, Vec<String>>;

/// The caller's run manifest as a JSON object (`null` is an empty one).
fn manifest_object(manifest: Value) -> Result<Map<String, Value>, DatasetError> {
    match manifest {
        Value::Object(m) => Ok(m),
        Value::Null => Ok(Map::new()),
        other => {
            let kind = match other {
                Value::Bool(_) => "a boolean",
                Value::Number(_) => "a number",
                Value::String(_) => "a string",
                _ => "an array",
            };
            Err(DatasetError::ManifestNotObject { kind })
        }
    }
}

#[inline]
/// Checks the selected rows of the agent at `position` (its user id not empty, buildings
/// below `n_buildings`, timestamps with a local date in `days`), before a sink keeps any.
pub(crate) fn check_agent(
    out: &AgentOutput,
    sel: OutputSelection,
    n_buildings: usize,
    position: u64,
    days: &mut DayCache,
) -> Result<(), DatasetError> {
    let agent = &out.agent;
    if agent.id.is_empty() {
        return Err(DatasetError::MissingAgent { position });
    }
    let bad_building = |output, row, building| DatasetError::BadBuilding {
        agent: agent.id.clone(),
        output,
        row,
        building,
        count: n_buildings,
    };
    let bad_time = |output, found: Option<(usize, i64)>| match found {
        Some((row, timestamp)) => Err(DatasetError::BadTimestamp { agent: agent.id.clone(), output, row, timestamp }),
        None => Ok(()),
    };
    // A sweep's pings are sparse pings too.
    let sweep = out.sweep.iter().map(|v| (OutputKind::Sparse, v));
    for (kind, rows) in [(OutputKind::Sparse, &out.sparse), (OutputKind::Dense, &out.dense)].into_iter().chain(sweep) {
        if !sel.contains(kind) {
            continue;
        }
        bad_time(kind, first_bad_time(days, rows.iter().map(|p| p.timestamp)))?;
        if kind == OutputKind::Dense {
            let outside = |(i, p): (usize, &Ping)| p.location.filter(|b| b.index() >= n_buildings).map(|b| (i, b));
            if let Some((i, b)) = rows.iter().enumerate().find_map(outside) {
                return Err(bad_building(kind, i, b));
            }
        }
    }
    let diaries = [(OutputKind::Diary, &out.diary), (OutputKind::Destinations, &out.destinations)];
    for (kind, rows) in diaries {
        if !sel.contains(kind) {
            continue;
        }
        bad_time(kind, first_bad_time(days, rows.iter().map(|e| e.timestamp)))?;
        for (i, e) in rows.iter().enumerate() {
            if let Some(b) = e.location.filter(|&b| b.index() >= n_buildings) {
                return Err(bad_building(kind, i, b));
            }
        }
    }
    if sel.homes {
        for b in [agent.home, agent.workplace] {
            if b.index() >= n_buildings {
                return Err(bad_building(OutputKind::Homes, 0, b));
            }
        }
    }
    Ok(())
}

/// The first of `times` without a local date in `days`, with its row. Every time
/// between two with a local date has one, so only the earliest and the latest are
/// looked up unless one of them fails.
fn first_bad_time(days: &mut DayCache, times: impl Iterator<Item = i64> + Clone) -> Option<(usize, i64)> {
    let (lo, hi) = times.clone().fold((i64::MAX, i64::MIN), |(lo, hi), t| (lo.min(t), hi.max(t)));
    if lo > hi || (days.day(lo).is_some() && days.day(hi).is_some()) {
        return None;
    }
    times.enumerate().find(|&(_, t)| days.day(t).is_none())
}

/// The soft limit on open files of this process (Linux `/proc/self/limits`), if known.
fn open_file_limit() -> Option<usize> {
    let text = fs::read_to_string("/proc/self/limits").ok()?;
    let line = text.lines().find(|l| l.starts_with("Max open files"))?;
    line["Max open files".len()..].split_whitespace().next()?.parse().ok()
}

/// Timestamps are validated before rows are appended; this is the (unreachable) error
/// for one that no longer converts.
fn unreachable_ts() -> Result<std::convert::Infallible, DatasetError> {
    Err(DatasetError::Option { name: "time_zone", reason: "a validated timestamp failed to convert".into() })
}

/// The Parquet properties of one output's part files: zstd, one row group per batch.
pub(crate) fn writer_properties(kind: OutputKind, batch_rows: usize) -> WriterProperties {
    let mut props = WriterProperties::builder();
    // Dictionaries pay off for the repeated ids only; for coordinates and times they
    // are built and then abandoned (half of the write time in the benchmark).
    for col in ["x", "y", "ha", "duration", "timestamp", "datetime"] {
        props = props.set_column_dictionary_enabled(ColumnPath::from(col), false);
    }
    // Times as deltas (rows are in time order per agent). A sparse ping's noisy
    // coordinates and accuracy split into byte streams compress better and faster;
    // dense and diary values repeat, which zstd finds best in plain values. Readers of
    // Parquet 2.x decode both.
    for col in ["timestamp", "datetime"] {
        props = props.set_column_encoding(ColumnPath::from(col), Encoding::DELTA_BINARY_PACKED);
    }
    if kind == OutputKind::Sparse {
        for col in ["x", "y", "ha"] {
            props = props.set_column_encoding(ColumnPath::from(col), Encoding::BYTE_STREAM_SPLIT);
        }
    }
    // Statistics where they can prune: times, by row group (a row group is one page per
    // column, so page indexes would repeat them). Rows are in agent order and agents
    // roam the city, so a row group's coordinates, accuracies and durations span their
    // whole ranges, and ids (a seeded permutation of words) span the alphabet: their
    // min and max would prune nothing and cost encoding time (laid-out strings carry
    // none; see direct.rs).
    for col in ["timestamp", "datetime"] {
        props = props.set_column_statistics_enabled(ColumnPath::from(col), EnabledStatistics::Chunk);
    }
    props
        .set_statistics_enabled(EnabledStatistics::None)
        .set_offset_index_disabled(true)
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_max_row_group_row_count(Some(batch_rows))
        // One page per column of a row group (a row group is a batch, at most
        // `batch_rows` rows): fewer page headers and compressor set-ups, smaller files.
        .set_data_page_row_count_limit(batch_rows)
        .set_data_page_size_limit(8 << 20)
        .set_created_by(format!("gardencity-io {}", env!("CARGO_PKG_VERSION")))
        .build()
}

#[cfg(test)]
mod tests {
    #[cfg(target_os = "linux")]
    #[test]
    fn reads_the_open_file_limit() {
        let n = super::open_file_limit().expect("Linux reports its limits");
        assert!(n >= 16, "{n}");
    }
}
