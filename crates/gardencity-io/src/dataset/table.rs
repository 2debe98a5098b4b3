//! [`BatchSink`]: simulated agents as Arrow record batches in memory, with the same
//! schemas, columns and coordinates as the dataset files (no `date` partitions).

use super::columns::{building_ids, plain_strings, schema, RowBuffer};
use super::days::DayCache;
use super::writer::check_agent;
use super::{Coordinates, DatasetError, OutputKind, OutputSelection};
use arrow_array::{ArrayRef, RecordBatch};
use arrow_schema::SchemaRef;
use gardencity::records::{AgentOutput, OutputSink};
use gardencity::City;
use std::sync::Arc;

/// Turns agents into record batches of at most `batch_rows` rows per output, in agent
/// order, and hands each full batch to a callback (to collect, or to stream to Python).
///
/// ```
/// use gardencity::records::{AgentOutput, AgentRecord, OutputSink, Ping};
/// use gardencity::BuildingIdx;
/// use gardencity_io::dataset::{BatchSink, Coordinates, OutputKind, OutputSelection};
/// # let city = std::sync::Arc::new(gardencity::city::random::random_city(&Default::default()).unwrap());
/// let mut batches = Vec::new();
/// let mut sink = BatchSink::new(city, OutputSelection::default(), Coordinates::Blocks, chrono_tz::UTC, 1024,
///     |kind, batch| { batches.push((kind, batch)); Ok(()) });
/// let agent = AgentRecord { index: 0, id: "a".into(), home: BuildingIdx(0), workplace: BuildingIdx(0) };
/// let ping = Ping { timestamp: 0, x: 1.0, y: 2.0, ha: 0.5, location: None };
/// sink.write_agent(&AgentOutput { agent, sparse: vec![ping], ..Default::default() }).unwrap();
/// sink.finish().unwrap();
/// drop(sink);
/// assert_eq!(batches.iter().filter(|(k, _)| *k == OutputKind::Sparse).map(|(_, b)| b.num_rows()).sum::<usize>(), 1);
/// ```
pub struct BatchSink<F> {
    city: Arc<City>,
    outputs: OutputSelection,
    coordinates: Coordinates,
    schemas: [SchemaRef; 5],
    /// The city's building ids, the dictionary of building columns.
    building_ids: ArrayRef,
    buffers: [RowBuffer; 5],
    batch_rows: usize,
    emit: F,
    /// Rows accepted per output (an output with none gets an empty batch at the end).
    rows: [u64; 5],
    /// Agents accepted.
    agents: u64,
    /// Local days of the time zone: timestamps are checked as the writer checks them.
    days: DayCache,
}

impl<F> std::fmt::Debug for BatchSink<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchSink").field("outputs", &self.outputs).field("rows", &self.rows).finish_non_exhaustive()
    }
}

impl<F> BatchSink<F>
where
    F: FnMut(OutputKind, RecordBatch) -> Result<(), DatasetError>,
{
    /// A sink of the selected outputs, with coordinates converted as the dataset writer
    /// does and datetimes in `time_zone`; `batch_rows` is at least 1.
    pub fn new(
        city: Arc<City>,
        outputs: OutputSelection,
        coordinates: Coordinates,
        time_zone: chrono_tz::Tz,
        batch_rows: usize,
        emit: F,
    ) -> Self {
        BatchSink {
            building_ids: building_ids(&city),
            city,
            outputs,
            coordinates,
            schemas: OutputKind::ALL.map(|k| schema(k, time_zone.name())),
            buffers: Default::default(),
            batch_rows: batch_rows.max(1),
            emit,
            rows: [0; 5],
            agents: 0,
            days: DayCache::new(time_zone),
        }
    }

    /// Emits the rows still buffered (a last, shorter batch per output), and an empty
    /// batch for a selected output that had no rows, so that every output's schema is seen.
    pub fn finish(&mut self) -> Result<(), DatasetError> {
        for kind in self.outputs.kinds() {
            if self.rows[kind.index()] == 0 {
                let empty = RecordBatch::new_empty(self.schemas[kind.index()].clone());
                (self.emit)(kind, empty)?;
            } else {
                self.flush(kind)?;
            }
        }
        Ok(())
    }

    fn flush(&mut self, kind: OutputKind) -> Result<(), DatasetError> {
        let buf = &mut self.buffers[kind.index()];
        if buf.len() == 0 {
            return Ok(());
        }
        let schema = &self.schemas[kind.index()];
        let batch = buf
            .take_batch(kind, schema, &self.building_ids, true)
            .and_then(|b| plain_strings(&b, schema))
            .map_err(|source| DatasetError::Arrow { output: kind, path: "<memory>".into(), source })?;
        (self.emit)(kind, batch)
    }

    /// Appends `user`'s rows of one output, a batch's room at a time, emitting full batches.
    fn append<T>(
        &mut self,
        kind: OutputKind,
        user: &str,
        rows: &[T],
        mut extend: impl FnMut(&mut RowBuffer, &[T]),
    ) -> Result<(), DatasetError> {
        let mut rest = rows;
        while !rest.is_empty() {
            let buf = &mut self.buffers[kind.index()];
            let (run, tail) = rest.split_at(rest.len().min(self.batch_rows.saturating_sub(buf.len()).max(1)));
            extend(buf, run);
            buf.push_user(user, run.len());
            self.flush_if_full(kind)?;
            rest = tail;
        }
        self.rows[kind.index()] += rows.len() as u64;
        Ok(())
    }

    fn flush_if_full(&mut self, kind: OutputKind) -> Result<(), DatasetError> {
        if self.buffers[kind.index()].len() >= self.batch_rows {
            self.flush(kind)?;
        }
        Ok(())
    }
}

impl<F> OutputSink for BatchSink<F>
where
    F: FnMut(OutputKind, RecordBatch) -> Result<(), DatasetError>,
{
    type Error = DatasetError;

    /// Checks the agent's rows as the dataset writer does (nothing of a rejected agent
    /// is kept), then buffers them, emitting full batches.
    fn write_agent(&mut self, out: &AgentOutput) -> Result<(), DatasetError> {
        check_agent(out, self.outputs, self.city.buildings().len(), self.agents, &mut self.days)?;
        self.agents += u64::from(!out.continues);
        let agent = &out.agent;
        let user = agent.id.as_str();
        let g = *self.city.georef();
        for (kind, rows) in [(OutputKind::Sparse, &out.sparse), (OutputKind::Dense, &out.dense)] {
            if self.outputs.contains(kind) {
                let dense = kind == OutputKind::Dense;
                let coords = self.coordinates;
                self.append(kind, user, rows, |buf, run| buf.extend_pings(run, &g, coords, dense))?;
            }
        }
        for (kind, rows) in [(OutputKind::Diary, &out.diary), (OutputKind::Destinations, &out.destinations)] {
            if self.outputs.contains(kind) {
                self.append(kind, user, rows, RowBuffer::extend_entries)?;
            }
        }
        // The homes row once, with an agent's last piece.
        if self.outputs.homes && !out.continues {
            self.buffers[OutputKind::Homes.index()].push_home(user, agent.home, agent.workplace);
            self.rows[OutputKind::Homes.index()] += 1;
            self.flush_if_full(OutputKind::Homes)?;
        }
        Ok(())
    }
}
