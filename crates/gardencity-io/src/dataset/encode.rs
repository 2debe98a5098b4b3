//! Parquet part files whose row groups are encoded and compressed on a thread pool,
//! then appended to their file in the order they were given: a file's bytes are the
//! same whatever the number of encoding threads (none included).
//!
//! Files may share encoded columns: the phones of a sampling sweep that share a sampler
//! take the same ping times, so their row groups often hold the same `user_id`,
//! `datetime` and `timestamp` values. A row group whose shareable columns equal, value
//! for value, those of a recent row group of another file takes that row group's
//! encoded chunks instead of encoding its own: the same bytes (encoding is a function
//! of the values and the properties), encoded once.
//!
//! Every column chunk is laid out by [`super::direct`] (strings given as Arrow
//! dictionaries, doubles, delta-packed times); parquet's Arrow writer only starts the
//! file (its schema, with the Arrow schema in the metadata) and writes the footer.

use super::direct;
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use bytes::Bytes;
use parquet::arrow::ArrowWriter;
use parquet::column::writer::ColumnCloseResult;
use parquet::errors::ParquetError;
use parquet::file::properties::{WriterProperties, WriterPropertiesPtr};
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::types::ColumnDescPtr;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::fs::File;
use std::sync::{mpsc, Arc, Condvar, Mutex, OnceLock};

/// The columns files may share, when present (see the [module docs](self)).
const SHAREABLE: [&str; 3] = ["user_id", "datetime", "timestamp"];

/// Row groups of fewer rows are encoded on the writer's thread: handing them to the pool
/// (a long run's day of one agent is a few dozen rows) cost more in thread wake-ups than
/// their encoding.
const INLINE_ROWS: usize = 2048;

/// Row groups whose shareable columns are kept for comparison, at most: the phones of a
/// sweep that share ping times fill a date's batch with the same agent, so a row group
/// finds its twins among the last few (each kept one holds about 2 MB).
const SHARED_CANDIDATES: usize = 16;

/// A column chunk laid out by [`super::direct`]: its bytes, and its close result with
/// offsets into them.
type Laid = (Bytes, ColumnCloseResult);

/// One encoded column chunk of a row group: its own, or one of a [`SharedColumns`].
enum Chunk {
    Own(Box<Laid>),
    Shared(Arc<SharedColumns>, usize),
}

/// A row group's encoded column chunks, or why encoding failed.
type Encoded = Result<Vec<Chunk>, ParquetError>;

/// Shared columns once encoded: each column's bytes and close result (offsets into the
/// bytes), or why encoding failed.
type SharedOutcome = Result<Vec<Laid>, String>;

/// Encoded shareable columns of one row group: the values they were encoded from (to
/// compare), and, once encoded, each column's bytes and close result.
struct SharedColumns {
    values: Vec<ArrayRef>,
    encoded: Mutex<Option<SharedOutcome>>,
    ready: Condvar,
}

impl SharedColumns {
    /// Whether `values` equal these, value for value (Arrow's logical equality).
    fn same_values(&self, values: &[ArrayRef]) -> bool {
        self.values.len() == values.len()
            && self.values.iter().zip(values).all(|(a, b)| a.len() == b.len() && a.to_data() == b.to_data())
    }

    fn set(&self, encoded: SharedOutcome) {
        if let Ok(mut slot) = self.encoded.lock() {
            *slot = Some(encoded);
        }
        self.ready.notify_all();
    }

    /// Waits until the columns are encoded; returns column `i`.
    fn get(&self, i: usize) -> Result<Laid, ParquetError> {
        let poisoned = || ParquetError::General("an encoding thread stopped".into());
        let mut slot = self.encoded.lock().map_err(|_| poisoned())?;
        while slot.is_none() {
            slot = self.ready.wait(slot).map_err(|_| poisoned())?;
        }
        match slot.as_ref() {
            Some(Ok(cols)) => cols.get(i).cloned().ok_or_else(|| ParquetError::General("no such shared column".into())),
            Some(Err(e)) => Err(ParquetError::General(e.clone())),
            None => Err(poisoned()),
        }
    }
}

/// The encoding threads of one dataset writer (created on first use).
pub(crate) struct Encoder {
    threads: usize,
    pool: OnceLock<Option<rayon::ThreadPool>>,
    /// Recent row groups' shareable columns, newest last.
    shared: RefCell<VecDeque<Arc<SharedColumns>>>,
    /// Row groups that took another's shared columns.
    reused: std::cell::Cell<u64>,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder").field("threads", &self.threads).finish_non_exhaustive()
    }
}

impl Encoder {
    /// An encoder with `threads` threads; 0 encodes on the calling thread.
    pub fn new(threads: usize) -> Self {
        Encoder { threads, pool: OnceLock::new(), shared: RefCell::new(VecDeque::new()), reused: Default::default() }
    }

    /// Row groups so far that took another file's encoded columns.
    #[cfg(test)]
    pub fn reused_row_groups(&self) -> u64 {
        self.reused.get()
    }

    /// The recent shareable columns equal to `values`, or a new entry for them (then
    /// `true`: this row group encodes them).
    fn shared_for(&self, values: Vec<ArrayRef>) -> (Arc<SharedColumns>, bool) {
        let mut recent = self.shared.borrow_mut();
        if let Some(s) = recent.iter().rev().find(|s| s.same_values(&values)) {
            self.reused.set(self.reused.get() + 1);
            return (Arc::clone(s), false);
        }
        let s = Arc::new(SharedColumns { values, encoded: Mutex::new(None), ready: Condvar::new() });
        if recent.len() >= SHARED_CANDIDATES {
            recent.pop_front();
        }
        recent.push_back(Arc::clone(&s));
        (s, true)
    }

    /// Row groups waiting to be appended, over all files, past which the writer waits
    /// for the oldest: bounds the memory of encoded data not yet written.
    pub fn max_pending(&self) -> usize {
        2 * self.threads + 2
    }

    /// The pool; `None` without threads, or if the system refused to start them (the
    /// row groups are then encoded on the calling thread: the same bytes, slower).
    fn pool(&self) -> Option<&rayon::ThreadPool> {
        let build = || {
            let b = rayon::ThreadPoolBuilder::new().num_threads(self.threads);
            b.thread_name(|i| format!("gardencity-parquet-{i}")).build().ok()
        };
        self.pool.get_or_init(|| if self.threads == 0 { None } else { build() }).as_ref()
    }
}

/// One Parquet part file being written.
pub(crate) struct ParquetPart {
    writer: SerializedFileWriter<File>,
    /// Row groups given to the pool, oldest first.
    pending: VecDeque<mpsc::Receiver<Encoded>>,
    /// Row groups given so far.
    row_groups: usize,
    /// Rows per row group at most (the properties' limit).
    max_rows: usize,
    /// With sharing: the shareable columns' indices.
    share: Option<Arc<[usize]>>,
    /// The file's columns and properties.
    columns: Arc<FileColumns>,
}

/// A file's Parquet columns and properties.
struct FileColumns {
    descr: Vec<ColumnDescPtr>,
    props: WriterPropertiesPtr,
}

impl ParquetPart {
    /// Starts a Parquet file of `schema` (the Arrow schema is kept in its metadata);
    /// with `share`, its `user_id`, `datetime` and `timestamp` columns may be shared
    /// with other files of the same encoder (see the [module docs](self)).
    pub fn create(file: File, schema: SchemaRef, props: WriterProperties, share: bool) -> Result<Self, ParquetError> {
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let share = share.then(|| SHAREABLE.iter().filter_map(|n| schema.index_of(n).ok()).collect::<Arc<[usize]>>());
        let (writer, _) = ArrowWriter::try_new(file, schema, Some(props))?.into_serialized_writer()?;
        let descr = writer.schema_descr().columns().to_vec();
        let columns = Arc::new(FileColumns { descr, props: Arc::clone(writer.properties()) });
        Ok(ParquetPart {
            writer,
            pending: VecDeque::new(),
            row_groups: 0,
            max_rows,
            share: share.filter(|s| !s.is_empty()),
            columns,
        })
    }

    /// Row groups given to the file so far (whose metadata it holds until finished).
    pub fn row_groups(&self) -> usize {
        self.row_groups
    }

    /// Gives `batch` as the file's next row groups (cut at the properties' row limit, as
    /// `ArrowWriter` does); returns how many went to the pool.
    pub fn submit(&mut self, encoder: &Encoder, batch: &RecordBatch) -> Result<usize, ParquetError> {
        let mut pooled = 0;
        let mut offset = 0;
        while offset < batch.num_rows() {
            let take = self.max_rows.min(batch.num_rows() - offset);
            pooled += self.submit_row_group(encoder, batch.slice(offset, take))? as usize;
            offset += take;
        }
        Ok(pooled)
    }

    /// Gives `batch` as the file's next row group: encoded on the encoder's pool (then
    /// pending until appended; `true`) or, without one, at once.
    fn submit_row_group(&mut self, encoder: &Encoder, batch: RecordBatch) -> Result<bool, ParquetError> {
        self.row_groups += 1;
        let shared = self.share.as_ref().map(|sh| {
            let (cols, encodes) = encoder.shared_for(sh.iter().map(|&c| Arc::clone(batch.column(c))).collect());
            (Arc::clone(sh), cols, encodes)
        });
        let small = batch.num_rows() < INLINE_ROWS;
        let job = Job { columns: Arc::clone(&self.columns), batch, shared };
        match encoder.pool() {
            Some(_) if small => {
                // Encoded here (waking a pool thread costs more), appended in its turn.
                let (tx, rx) = mpsc::sync_channel(1);
                let _ = tx.send(job.run());
                self.pending.push_back(rx);
                Ok(true)
            }
            Some(pool) => {
                let (tx, rx) = mpsc::sync_channel(1);
                // The receiver may be gone (the writer failed or was dropped): the result
                // is then not needed.
                pool.spawn(move || drop(tx.send(job.run())));
                self.pending.push_back(rx);
                Ok(true)
            }
            None => {
                let chunks = job.run()?;
                self.append(chunks)?;
                Ok(false)
            }
        }
    }

    /// Waits for the oldest pending row group and appends it; `false` if none was pending.
    pub fn append_oldest(&mut self) -> Result<bool, ParquetError> {
        let Some(rx) = self.pending.pop_front() else { return Ok(false) };
        let chunks = rx.recv().map_err(|_| ParquetError::General("an encoding thread stopped".into()))??;
        self.append(chunks)?;
        Ok(true)
    }

    fn append(&mut self, chunks: Vec<Chunk>) -> Result<(), ParquetError> {
        let mut row_group = self.writer.next_row_group()?;
        for chunk in chunks {
            match chunk {
                Chunk::Own(laid) => {
                    let (bytes, close) = *laid;
                    row_group.append_column(&bytes, close)?;
                }
                Chunk::Shared(s, i) => {
                    let (bytes, close) = s.get(i)?;
                    row_group.append_column(&bytes, close)?;
                }
            }
        }
        row_group.close()?;
        Ok(())
    }

    /// Appends every pending row group, writes the footer and returns the file.
    pub fn finish(mut self) -> Result<File, ParquetError> {
        while self.append_oldest()? {}
        self.writer.into_inner()
    }
}

/// A row group to encode: every column, or (when another file's row group already
/// encodes its shareable columns) its own columns only.
struct Job {
    columns: Arc<FileColumns>,
    batch: RecordBatch,
    /// The file's shareable columns, the shared columns, and whether this job encodes
    /// them.
    shared: Option<(Arc<[usize]>, Arc<SharedColumns>, bool)>,
}

impl Job {
    /// Encodes the row group. A job that encodes shared columns always records an
    /// outcome for the files waiting on them, its error included.
    fn run(self) -> Encoded {
        let leader = match &self.shared {
            Some((_, cols, true)) => Some(Arc::clone(cols)),
            _ => None,
        };
        let r = self.encode();
        if let (Some(cols), Err(e)) = (leader, &r) {
            cols.set(Err(e.to_string()));
        }
        r
    }

    fn encode(self) -> Encoded {
        let Job { columns, batch, shared } = self;
        let FileColumns { descr, props } = columns.as_ref();
        if descr.len() != batch.num_columns() {
            return Err(ParquetError::General("a batch of another schema than its file".into()));
        }
        let mut out = Vec::with_capacity(batch.num_columns());
        let mut to_share = Vec::new();
        for (c, (column, descr)) in batch.columns().iter().zip(descr).enumerate() {
            // The position among the shared columns of column `c`, if it is one.
            let slot = shared.as_ref().and_then(|(sh, cols, encodes)| {
                sh.iter().position(|&x| x == c).map(|k| (Arc::clone(cols), k, *encodes))
            });
            match slot {
                Some((cols, k, encodes)) => {
                    if encodes {
                        to_share.push(direct::lay_out_column(column.as_ref(), Arc::clone(descr), props)?);
                    }
                    out.push(Chunk::Shared(cols, k));
                }
                None => {
                    let laid = direct::lay_out_column(column.as_ref(), Arc::clone(descr), props)?;
                    out.push(Chunk::Own(Box::new(laid)));
                }
            }
        }
        if let Some((_, cols, true)) = &shared {
            cols.set(Ok(to_share));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arrow_array::types::UInt32Type;
    use arrow_array::{DictionaryArray, Float64Array, Int64Array, StringArray, TimestampMillisecondArray, UInt32Array};
    use arrow_schema::{DataType, Field, Schema, TimeUnit};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
    use parquet::file::properties::EnabledStatistics;
    use parquet::schema::types::ColumnPath;

    fn schema() -> SchemaRef {
        Arc::new(Schema::new(vec![
            Field::new("user_id", DataType::Utf8, false),
            Field::new("x", DataType::Float64, false),
            Field::new("datetime", DataType::Timestamp(TimeUnit::Millisecond, Some("UTC".into())), false),
            Field::new("timestamp", DataType::Int64, false),
        ]))
    }

    /// A batch of `n` rows: ping times and users from `seed_t`, positions from `seed_x`.
    /// Users come as the dataset writer gives them: a dictionary, keyed by run.
    fn batch(n: usize, seed_t: i64, seed_x: f64) -> RecordBatch {
        let ts: Vec<i64> = (0..n as i64).map(|i| 1_700_000_000 + seed_t + i * 61).collect();
        let users: Vec<String> = (0..n.div_ceil(7)).map(|r| format!("user_{}", r as i64 + seed_t)).collect();
        let keys = UInt32Array::from_iter_values((0..n).map(|i| (i / 7) as u32));
        let users = DictionaryArray::<UInt32Type>::try_new(keys, Arc::new(StringArray::from(users))).unwrap();
        RecordBatch::try_new(
            super::super::columns::coded_schema(&schema()),
            vec![
                Arc::new(users),
                Arc::new(Float64Array::from_iter_values((0..n).map(|i| seed_x + i as f64 * 0.37))),
                Arc::new(TimestampMillisecondArray::from_iter_values(ts.iter().map(|t| t * 1000)).with_timezone("UTC")),
                Arc::new(Int64Array::from(ts)),
            ],
        )
        .unwrap()
    }

    /// The rows of `batches`, column by column.
    fn values(batches: &[RecordBatch]) -> (Vec<String>, Vec<f64>, Vec<i64>, Vec<i64>) {
        let mut v = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for b in batches {
            let b = &super::super::columns::plain_strings(b, &schema()).unwrap();
            let col = |i: usize| b.column(i).as_any();
            let users = col(0).downcast_ref::<StringArray>().unwrap();
            v.0.extend(users.iter().map(|u| u.unwrap().to_string()));
            v.1.extend(col(1).downcast_ref::<Float64Array>().unwrap().values().iter().copied());
            v.2.extend(col(2).downcast_ref::<TimestampMillisecondArray>().unwrap().values().iter().copied());
            v.3.extend(col(3).downcast_ref::<Int64Array>().unwrap().values().iter().copied());
        }
        v
    }

    /// The dataset writer's properties for sparse pings, in row groups of 1,000.
    fn props() -> WriterProperties {
        super::super::writer::writer_properties(crate::dataset::OutputKind::Sparse, 1000)
    }

    /// Writes `batches` to a file of its own with `encoder`, sharing or not.
    fn write(dir: &std::path::Path, name: &str, encoder: &Encoder, share: bool, batches: &[RecordBatch]) -> Vec<u8> {
        write_with(dir, name, encoder, share, batches, props())
    }

    /// [`write`] with other writer properties.
    fn write_with(
        dir: &std::path::Path,
        name: &str,
        encoder: &Encoder,
        share: bool,
        batches: &[RecordBatch],
        props: WriterProperties,
    ) -> Vec<u8> {
        let path = dir.join(name);
        let mut part = ParquetPart::create(File::create(&path).unwrap(), schema(), props, share).unwrap();
        for b in batches {
            part.submit(encoder, b).unwrap();
        }
        part.finish().unwrap();
        std::fs::read(path).unwrap()
    }

    /// Files whose row groups repeat another file's ping times take its encoded
    /// columns, and are byte for byte the files encoded alone; row groups that differ
    /// in any shareable value (a time, a user) encode their own.
    #[test]
    fn shared_columns_give_the_files_encoded_alone() {
        let dir = tempfile::tempdir().unwrap();
        for threads in [0, 2] {
            let shared = Encoder::new(threads);
            // Two phones with the same ping times (2,500 rows: row groups of 1,000,
            // 1,000, 500) and a third whose last row group has other times.
            let a = [batch(2500, 0, 1.0)];
            let b = [batch(2500, 0, 2.0)];
            let mut c = vec![batch(2000, 0, 3.0).slice(0, 2000)];
            c.push(batch(500, 9, 3.0));
            let files: Vec<Vec<u8>> = [("a", &a[..]), ("b", &b[..]), ("c", &c[..])]
                .iter()
                .map(|(n, bs)| write(dir.path(), &format!("{n}{threads}"), &shared, true, bs))
                .collect();
            // b takes a's three row groups; c takes the first two of them.
            assert_eq!(shared.reused_row_groups(), 5, "threads {threads}");
            for ((n, bs), bytes) in [("a", &a[..]), ("b", &b[..]), ("c", &c[..])].iter().zip(&files) {
                let alone = write(dir.path(), &format!("{n}{threads}-alone"), &Encoder::new(threads), false, bs);
                assert_eq!(bytes, &alone, "file {n} differs from its encoding alone (threads {threads})");
                let rows: Vec<RecordBatch> = ParquetRecordBatchReaderBuilder::try_new(Bytes::from(bytes.clone()))
                    .unwrap()
                    .build()
                    .unwrap()
                    .map(Result::unwrap)
                    .collect();
                assert_eq!(values(&rows), values(bs), "file {n} reads back its own rows");
            }
        }
    }

    /// A bloom filter asked for (which no laid-out chunk carries) is an error naming
    /// the column, not a file without it.
    #[test]
    fn a_bloom_filter_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let bloom = props().into_builder().set_column_bloom_filter_enabled(ColumnPath::from("timestamp"), true);
        let path = dir.path().join("f");
        let mut part = ParquetPart::create(File::create(&path).unwrap(), schema(), bloom.build(), true).unwrap();
        let e = part.submit(&Encoder::new(0), &batch(10, 0, 1.0)).unwrap_err();
        assert!(e.to_string().contains("column timestamp: times need"), "{e}");
    }

    /// Properties asking for what a dictionary column's chunks lack (statistics here)
    /// are an error naming the column, not a file without them.
    #[test]
    fn a_dictionary_column_refuses_statistics() {
        let dir = tempfile::tempdir().unwrap();
        let stats =
            props().into_builder().set_column_statistics_enabled(ColumnPath::from("user_id"), EnabledStatistics::Chunk);
        let path = dir.path().join("f");
        let mut part = ParquetPart::create(File::create(&path).unwrap(), schema(), stats.build(), false).unwrap();
        let e = part.submit(&Encoder::new(0), &batch(10, 0, 1.0)).unwrap_err();
        assert!(e.to_string().contains("column user_id: a dictionary column needs"), "{e}");
    }
}
