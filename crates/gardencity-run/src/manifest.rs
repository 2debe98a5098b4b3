//! [`RunManifest`]: what `manifest.json` says of a run, written and read through this
//! one struct.

use crate::city::{CityRecord, GravityRecord};
use crate::spec::Shard;
use crate::RunError;
use gardencity::mobility::params::MobilityParams;
use gardencity::population::RunStats;
use gardencity::records::OutputSelection;
use gardencity::sampling::SamplingConfig;
use gardencity_io::dataset::{Coordinates, DatasetFormat};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// The generator name written in manifests.
pub const GENERATOR: &str = "gardencity";

/// The manifest of a run (a dataset's `manifest.json`, or `Run.manifest` in Python).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunManifest {
    /// Always `gardencity`.
    pub generator: String,
    /// The gardencity version that made the run.
    pub version: String,
    /// The city used.
    pub city: CityRecord,
    /// The gravity model used (the one actually used: stored or computed, mode, hubs).
    pub gravity: GravityRecord,
    /// Master seed.
    pub seed: u64,
    /// Agents of the whole population.
    pub agents: u64,
    /// The shard simulated, if the run is one.
    pub shard: Option<Shard>,
    /// First agent simulated.
    pub first_agent: u64,
    /// Agents simulated.
    pub shard_agents: u64,
    /// Unix seconds of the start.
    pub start: i64,
    /// Unix seconds of the end (exclusive).
    pub end: i64,
    /// The start in local time (RFC 3339).
    pub start_local: String,
    /// The end in local time (RFC 3339).
    pub end_local: String,
    /// IANA time zone.
    pub time_zone: String,
    /// Outputs produced.
    pub outputs: OutputSelection,
    /// Dataset format.
    pub format: DatasetFormat,
    /// Output coordinates.
    pub coords: Coordinates,
    /// Threads that simulated.
    pub threads: usize,
    /// Mobility parameters.
    pub mobility: MobilityParams,
    /// Sampling parameters (`ha` in blocks).
    pub sampling: SamplingConfig,
    /// The configurations of a sampling sweep (absent without one): name, effective
    /// parameters and sparse pings of each.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sweep: Vec<SweepRecord>,
    /// What the run produced.
    pub counts: Counts,
    /// Seconds spent.
    pub timings_s: Timings,
    /// A run committed from shards: one record per shard, in shard order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<TaskRecord>,
    /// A distributed run: engine, tasks, workers and wall time, as the runner reports.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distributed: Option<serde_json::Value>,
    /// The dataset writer's own entry (format, georeference, rows and files per output;
    /// read typed by `gardencity_io::dataset::read_manifest`); absent for in-memory runs.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dataset: Option<serde_json::Value>,
}

/// One configuration of a sweep, as a manifest records it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepRecord {
    /// The configuration's name (its `config=NAME` partition).
    pub name: String,
    /// Its effective sampling parameters (`ha` in blocks).
    pub sampling: SamplingConfig,
    /// Its sparse pings.
    pub sparse_pings: u64,
}

/// One shard of a run committed from shards (`gardencity commit`, distributed runs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TaskRecord {
    /// The shard, `K/N`.
    pub shard: Shard,
    /// The name of the directory it was written to.
    pub dir: String,
    /// Its first agent.
    pub first_agent: u64,
    /// Its agents.
    pub agents: u64,
    /// Threads that simulated it.
    pub threads: usize,
    /// What it produced.
    pub counts: Counts,
    /// Its own timings.
    pub timings_s: Timings,
}

/// Counts of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Agents simulated.
    pub agents: u64,
    /// Sparse pings.
    pub sparse_pings: u64,
    /// Dense pings simulated (written only with the `dense` output).
    pub dense_pings: u64,
    /// Ground-truth diary entries.
    pub diary_entries: u64,
    /// Destination diary entries.
    pub destination_entries: u64,
}

impl From<RunStats> for Counts {
    fn from(s: RunStats) -> Counts {
        Counts {
            agents: s.agents,
            sparse_pings: s.sparse_pings,
            dense_pings: s.dense_pings,
            diary_entries: s.diary_entries,
            destination_entries: s.destination_entries,
        }
    }
}

/// Seconds spent by a run.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Timings {
    /// Loading the city, gravity and anchors.
    pub setup: f64,
    /// Simulating and writing.
    pub simulate_and_write: f64,
}

impl RunManifest {
    /// The manifest as a JSON value (what the dataset writer stores).
    pub fn to_json(&self) -> Result<serde_json::Value, RunError> {
        serde_json::to_value(self).map_err(|e| RunError::Manifest(e.to_string()))
    }

    /// Reads `DIR/manifest.json` of a finished run (one with `_SUCCESS`).
    pub fn read(dir: impl AsRef<Path>) -> Result<RunManifest, RunError> {
        let dir = dir.as_ref();
        // The dataset reader checks completeness and parses the JSON.
        let m = gardencity_io::dataset::read_manifest(dir)?;
        let path = dir.join("manifest.json");
        serde_path_to_error::deserialize(m.raw)
            .map_err(|e| RunError::Manifest(format!("{}: {}: {}", path.display(), e.path(), e.inner())))
    }
}
