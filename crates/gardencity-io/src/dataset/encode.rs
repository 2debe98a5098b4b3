//! Parquet part files whose row groups are encoded and compressed on a thread pool,
//! then appended to their file in the order they were given: a file's bytes are the
//! same whatever the number of encoding threads (none included).

use arrow_array::RecordBatch;
use arrow_schema::SchemaRef;
use parquet::arrow::arrow_writer::{compute_leaves, ArrowColumnChunk, ArrowRowGroupWriterFactory};
use parquet::arrow::ArrowWriter;
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use std::collections::VecDeque;
use std::fs::File;
use std::sync::{mpsc, Arc, OnceLock};

/// A row group's encoded column chunks, or why encoding failed.
type Encoded = Result<Vec<ArrowColumnChunk>, ParquetError>;

/// The encoding threads of one dataset writer (created on first use).
#[derive(Debug)]
pub(crate) struct Encoder {
    threads: usize,
    pool: OnceLock<Option<rayon::ThreadPool>>,
}

impl Encoder {
    /// An encoder with `threads` threads; 0 encodes on the calling thread.
    pub fn new(threads: usize) -> Self {
        Encoder { threads, pool: OnceLock::new() }
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
    factory: Arc<ArrowRowGroupWriterFactory>,
    /// Row groups given to the pool, oldest first.
    pending: VecDeque<mpsc::Receiver<Encoded>>,
    row_groups: usize,
    /// Rows per row group at most (the properties' limit).
    max_rows: usize,
}

impl ParquetPart {
    /// Starts a Parquet file of `schema` (the Arrow schema is kept in its metadata).
    pub fn create(file: File, schema: SchemaRef, props: WriterProperties) -> Result<Self, ParquetError> {
        let max_rows = props.max_row_group_row_count().unwrap_or(usize::MAX).max(1);
        let (writer, factory) = ArrowWriter::try_new(file, schema, Some(props))?.into_serialized_writer()?;
        Ok(ParquetPart { writer, factory: Arc::new(factory), pending: VecDeque::new(), row_groups: 0, max_rows })
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
        let index = self.row_groups;
        self.row_groups += 1;
        match encoder.pool() {
            Some(pool) => {
                let (tx, rx) = mpsc::sync_channel(1);
                let factory = Arc::clone(&self.factory);
                // The receiver may be gone (the writer failed or was dropped): the result
                // is then not needed.
                pool.spawn(move || drop(tx.send(encode(&factory, index, &batch))));
                self.pending.push_back(rx);
                Ok(true)
            }
            None => {
                let chunks = encode(&self.factory, index, &batch)?;
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

    fn append(&mut self, chunks: Vec<ArrowColumnChunk>) -> Result<(), ParquetError> {
        let mut row_group = self.writer.next_row_group()?;
        for chunk in chunks {
            chunk.append_to_row_group(&mut row_group)?;
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

/// Encodes and compresses `batch` as row group `index` of a file of `factory`.
fn encode(factory: &ArrowRowGroupWriterFactory, index: usize, batch: &RecordBatch) -> Encoded {
    let mut writers = factory.create_column_writers(index)?;
    let mut next = writers.iter_mut();
    for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
        for leaf in compute_leaves(field, column)? {
            next.next().ok_or_else(|| ParquetError::General("more columns than the schema".into()))?.write(&leaf)?;
        }
    }
    writers.into_iter().map(|w| w.close()).collect()
}
