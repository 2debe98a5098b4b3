//! Running a [`RunSpec`]: [`PreparedRun`] resolves it (city, gravity, anchors, time
//! window), then simulates into any sink, or writes the dataset with its manifest.

use crate::city::{CityInput, PreparedCity};
use crate::manifest::{Counts, RunManifest, SweepRecord, Timings, GENERATOR};
use crate::spec::{RunSpec, Window};
use crate::sweep::SweepConfig;
use crate::RunError;
use chrono::TimeZone;
use gardencity::population::{Anchors, Population, PopulationConfig, RunStats};
use gardencity::records::OutputSink;
use gardencity::sampling::ParamSpec;
use gardencity_io::dataset::{DatasetOptions, DatasetSummary, DatasetWriter};
use std::sync::atomic::AtomicBool;
use std::time::Instant;

/// How a caller follows and stops a run.
pub struct Control<'a> {
    /// Called with the number of agents done, after each chunk.
    pub progress: &'a (dyn Fn(u64) + Sync),
    /// Set it to stop the run (a cancelled [`RunError`], see [`RunError::is_cancelled`]) within a chunk's time.
    pub cancel: &'a AtomicBool,
}

impl std::fmt::Debug for Control<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Control").field("cancel", &self.cancel).finish_non_exhaustive()
    }
}

/// A run ready to go: the spec checked, its city and gravity loaded, anchors read.
#[derive(Debug, Clone)]
pub struct PreparedRun {
    /// The specification (with `sampling.ha` set from `ha_m` when that was given).
    pub spec: RunSpec,
    /// Its time window and agents.
    pub window: Window,
    /// The city, router and gravity.
    pub city: PreparedCity,
    anchors: Vec<Anchors>,
    /// The configurations of the spec's sampling sweep (empty without one).
    pub sweep: Vec<SweepConfig>,
    setup_secs: f64,
}

/// What a finished run produced.
#[derive(Debug, Clone)]
pub struct RunReport {
    /// The run's manifest (with the dataset entry when a dataset was written).
    pub manifest: RunManifest,
    /// The dataset written, if any.
    pub dataset: Option<DatasetSummary>,
}

impl PreparedRun {
    /// Checks `spec` and loads what it needs; `city` replaces `spec.city` (a city
    /// already in memory, e.g. from Python).
    pub fn new(spec: &RunSpec, city: Option<CityInput>) -> Result<PreparedRun, RunError> {
        let t = Instant::now();
        let window = spec.window()?;
        spec.validate()?;
        let mut input = match city {
            Some(c) => c,
            None => CityInput::from_spec(spec.city.as_deref(), &spec.gravity)?,
        };
        if let Some([lon, lat]) = spec.origin {
            let c = &input.city;
            let georef = gardencity::Georeference::centred_at(lon, lat, c.width(), c.height(), c.georef().block_side)
                .map_err(|e| RunError::spec("origin", e))?;
            input.city = std::sync::Arc::new(c.relocated(georef));
        }
        let prepared = input.prepare(&spec.gravity)?;
        let mut spec = spec.clone();
        let block_side = prepared.city.georef().block_side;
        let sweep = match &spec.sweep {
            Some(s) => {
                let mut base = spec.sampling.clone();
                if let Some(m) = spec.ha_m {
                    base.ha = ParamSpec::Value(m / block_side);
                }
                s.expand(&base, block_side)?
            }
            None => Vec::new(),
        };
        spec.sampling = spec.sampling.resolved();
        if let Some(m) = spec.ha_m {
            spec.sampling.ha = ParamSpec::Value(m / prepared.city.georef().block_side);
        }
        let anchors = match &spec.anchors {
            Some(p) => {
                let table = gardencity_io::anchors::read_anchor_table(p, &prepared.city)?;
                table.check_agents(spec.agents)?;
                table.to_anchors()?
            }
            None => Vec::new(),
        };
        let run = PreparedRun { spec, window, city: prepared, anchors, sweep, setup_secs: 0.0 };
        // Model parameters are checked now, not after an output directory was made.
        run.population()?;
        Ok(PreparedRun { setup_secs: t.elapsed().as_secs_f64(), ..run })
    }

    fn config(&self) -> PopulationConfig {
        let w = &self.window;
        let mut cfg = PopulationConfig::new(self.spec.seed, w.shard_agents, w.start, w.end, w.tz);
        cfg.first_agent = w.first_agent;
        cfg.mobility = self.spec.mobility.clone();
        cfg.sampling = self.spec.sampling.clone();
        cfg.sweep = self.sweep.iter().map(|c| c.sampling.clone()).collect();
        cfg.outputs = self.spec.outputs;
        cfg.anchors = self.anchors.clone();
        cfg
    }

    fn population(&self) -> Result<Population<'_>, RunError> {
        let c = &self.city;
        Ok(Population::new(&c.city, &c.router, c.gravity.as_ref(), self.config())?)
    }

    fn pool(&self) -> Result<rayon::ThreadPool, RunError> {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(t) = self.spec.threads {
            b = b.num_threads(t);
        }
        b.build().map_err(|e| RunError::spec("threads", format!("cannot start the worker threads: {e}")))
    }

    /// Simulates every agent of the run into `sink`, in agent order; returns the
    /// manifest (without a dataset entry).
    /// A sweep's pings go to the sink's [`gardencity::records::AgentOutput::sweep`]; only
    /// the dataset writer partitions them (see [`PreparedRun::write_dataset`]), so other
    /// sinks are refused a sweep.
    pub fn simulate<S: OutputSink + Send>(&self, sink: &mut S, control: &Control<'_>) -> Result<RunManifest, RunError> {
        if !self.sweep.is_empty() {
            return Err(RunError::spec("sweep", "a sweep is written as a dataset: give an output directory (out)"));
        }
        let pop = self.population()?;
        let pool = self.pool()?;
        let t = Instant::now();
        let stats = pool.install(|| pop.run_cancellable(sink, control.progress, control.cancel))?;
        Ok(self.manifest(stats, pool.current_num_threads(), t.elapsed().as_secs_f64()))
    }

    /// Simulates into a new dataset at `spec.out` and commits it (manifest, then
    /// `_SUCCESS`). On any error, or when cancelled, nothing that looks complete is left.
    pub fn write_dataset(&self, control: &Control<'_>) -> Result<RunReport, RunError> {
        let out = self.spec.out.as_ref().ok_or_else(|| RunError::spec("out", "an output directory is required"))?;
        let w = &self.window;
        let start_date = w.tz.timestamp_opt(w.start, 0).single().map(|d| d.date_naive()).unwrap_or_default();
        let run_key = self.run_key()?;
        // Checked before the directory is touched.
        let pool = self.pool()?;
        let opts = DatasetOptions {
            format: self.spec.format,
            outputs: self.spec.outputs,
            coordinates: self.spec.coords,
            time_zone: w.tz,
            start_date,
            overwrite: self.spec.overwrite,
            sweep: self.sweep.iter().map(|c| c.name.clone()).collect(),
            checkpoint_agents: self.spec.checkpoint_agents.unwrap_or(DatasetOptions::default().checkpoint_agents),
            run_key: run_key.clone(),
            // As many encoding threads as simulating ones.
            encode_threads: pool.current_num_threads(),
            ..DatasetOptions::default()
        };
        let (mut writer, before) = if self.spec.resume {
            if let Some(cp) = gardencity_io::dataset::Checkpoint::read(out)? {
                if cp.run_key != run_key {
                    let diff = crate::commit::key_difference(&cp.run_key, &run_key);
                    return Err(RunError::spec(
                        "resume",
                        format!(
                            "{} holds an interrupted run with other parameters (they differ in {diff}); resume it \
                             with the same ones, or start again with overwrite",
                            out.display()
                        ),
                    ));
                }
            }
            let (writer, cp) = DatasetWriter::resume(out, self.city.city.clone(), opts)?;
            (writer, cp.counts)
        } else {
            (DatasetWriter::create(out, self.city.city.clone(), opts)?, Default::default())
        };
        let mut cfg = self.config();
        cfg.first_agent += before.agents;
        cfg.n_agents -= before.agents.min(cfg.n_agents);
        let c = &self.city;
        let pop = Population::new(&c.city, &c.router, c.gravity.as_ref(), cfg)?;
        let t = Instant::now();
        let mut stats = pool.install(|| pop.run_cancellable(&mut writer, control.progress, control.cancel))?;
        stats.agents += before.agents;
        stats.sparse_pings += before.sparse_pings;
        stats.dense_pings += before.dense_pings;
        stats.diary_entries += before.diary_entries;
        stats.destination_entries += before.destination_entries;
        let mut manifest = self.manifest(stats, pool.current_num_threads(), t.elapsed().as_secs_f64());
        manifest.sweep = self
            .sweep
            .iter()
            .zip(writer.sweep_rows())
            .map(|(c, &n)| SweepRecord { name: c.name.clone(), sampling: c.sampling.clone(), sparse_pings: n })
            .collect();
        let summary = writer.finish(manifest.to_json()?)?;
        manifest.dataset = Some(summary.manifest_entry.clone());
        Ok(RunReport { manifest, dataset: Some(summary) })
    }

    /// The identity of this run as checkpoints record it: its manifest without what a
    /// run measures (counts, timings, threads), as canonical JSON.
    fn run_key(&self) -> Result<String, RunError> {
        let mut id = crate::commit::run_identity(&self.manifest(RunStats::default(), 0, 0.0))?;
        id.insert(
            "shard".into(),
            serde_json::to_value(self.spec.shard).map_err(|e| RunError::Manifest(e.to_string()))?,
        );
        let every = self.spec.checkpoint_agents.unwrap_or(DatasetOptions::default().checkpoint_agents);
        id.insert("checkpoint_agents".into(), every.into());
        serde_json::to_string(&id).map_err(|e| RunError::Manifest(e.to_string()))
    }

    /// The manifest of this run after it produced `stats`.
    pub fn manifest(&self, stats: RunStats, threads: usize, secs: f64) -> RunManifest {
        let w = &self.window;
        let local = |ts: i64| w.tz.timestamp_opt(ts, 0).single().map(|d| d.to_rfc3339()).unwrap_or_default();
        RunManifest {
            generator: GENERATOR.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            city: self.city.city_record.clone(),
            gravity: self.city.gravity_record.clone(),
            seed: self.spec.seed,
            agents: self.spec.agents,
            shard: self.spec.shard,
            first_agent: w.first_agent,
            shard_agents: w.shard_agents,
            start: w.start,
            end: w.end,
            start_local: local(w.start),
            end_local: local(w.end),
            time_zone: w.tz.name().into(),
            outputs: self.spec.outputs,
            format: self.spec.format,
            coords: self.spec.coords,
            threads,
            mobility: self.spec.mobility.clone(),
            sampling: self.spec.sampling.clone(),
            sweep: Vec::new(),
            tasks: Vec::new(),
            distributed: None,
            counts: Counts::from(stats),
            timings_s: Timings { setup: self.setup_secs, simulate_and_write: secs },
            dataset: None,
        }
    }
}

/// Runs `spec` into its dataset: [`PreparedRun::new`] then [`PreparedRun::write_dataset`].
pub fn run_to_dataset(spec: &RunSpec, city: Option<CityInput>, control: &Control<'_>) -> Result<RunReport, RunError> {
    PreparedRun::new(spec, city)?.write_dataset(control)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `origin = [lon, lat]` re-places the city (here the built-in one) with its centre
    /// there; a latitude off the Web Mercator map is refused, naming the key.
    #[test]
    fn origin_places_the_city() {
        let spec = RunSpec::from_toml("agents = 2\ndays = 1\norigin = [2.3522, 48.8566]").unwrap();
        let run = PreparedRun::new(&spec, None).unwrap();
        let c = &run.city.city;
        let (lon, lat) = c.georef().to_lonlat(gardencity::Point::new(c.width() as f64 / 2.0, c.height() as f64 / 2.0));
        assert!((lon - 2.3522).abs() < 1e-9 && (lat - 48.8566).abs() < 1e-9, "{lon} {lat}");
        let bad = RunSpec::from_toml("agents = 2\ndays = 1\norigin = [2.0, 89.0]").unwrap();
        let e = PreparedRun::new(&bad, None).unwrap_err().to_string();
        assert!(e.starts_with("origin") && e.contains("latitude 89"), "{e}");
    }
}
