//! The population runner: simulates agents in parallel and streams their records, in
//! agent order, into an [`OutputSink`].
//!
//! Every agent draws from its own random streams derived from (master seed, agent
//! index), so outputs are identical whatever the number of threads. Agents are
//! processed in chunks; a bounded channel between the simulating threads and the
//! writing thread keeps memory independent of the number of agents.

use crate::city::{BuildingIdx, City, TypeSet};
use crate::mobility::agent::{Agent, AgentError};
use crate::mobility::epr::{destination_diary, EprState, Explorer, StepClock};
use crate::mobility::movement::{building_anchor, MovementError, TrajectoryBuilder};
use crate::mobility::params::{MobilityParams, ParamError};
use crate::mobility::rng::{agent_rng, Stream};
use crate::mobility::track::TrackSink;
pub use crate::records::OutputSelection;
use crate::records::{AgentOutput, AgentRecord, DiaryEntry, OutputSink, Ping};
use crate::routing::Router;
use crate::sampling::{SamplingConfig, SparseSampler};
use rayon::prelude::*;

/// Home and workplace given for one agent (either may be left to the random draw).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Anchors {
    /// The agent's home building.
    pub home: Option<BuildingIdx>,
    /// The agent's workplace building.
    pub workplace: Option<BuildingIdx>,
}

/// The agent-days a chunk of agents spans at most (256 agents of a week): a run's memory
/// holds a few chunks of outputs, so this bounds it whatever the run's length.
pub const CHUNK_AGENT_DAYS: u64 = 256 * 7;

/// Everything a population run needs besides the city, router and explorer.
#[derive(Debug, Clone, PartialEq)]
pub struct PopulationConfig {
    /// Master seed.
    pub seed: u64,
    /// Number of agents simulated by this run.
    pub n_agents: u64,
    /// Index of the first agent: a shard of a larger population simulates agents
    /// `first_agent .. first_agent + n_agents`, with exactly the records the whole run
    /// would give them.
    pub first_agent: u64,
    /// Unix seconds of the start.
    pub start: i64,
    /// Unix seconds of the end (exclusive for EPR steps).
    pub end: i64,
    /// Time zone of the schedule and of output datetimes.
    pub tz: chrono_tz::Tz,
    /// Mobility model parameters.
    pub mobility: MobilityParams,
    /// Sparse sampling parameters.
    pub sampling: SamplingConfig,
    /// A sampling sweep: when not empty, the sparse pings of each of these
    /// configurations instead of `sampling` (into [`AgentOutput::sweep`]). Every
    /// configuration draws from the agent's own sampling streams, so its pings equal
    /// those of a run with that configuration alone.
    pub sweep: Vec<SamplingConfig>,
    /// Records to produce (the homes table needs nothing beyond the agent record, which
    /// every output carries).
    pub outputs: OutputSelection,
    /// Agents simulated per chunk, at most (memory is about two chunks of outputs): a
    /// long run takes fewer, so that a chunk spans about [`CHUNK_AGENT_DAYS`] agent-days.
    pub chunk_size: usize,
    /// Given homes/workplaces by agent index (shorter than `n_agents`: the rest are drawn).
    pub anchors: Vec<Anchors>,
}

impl PopulationConfig {
    /// A configuration with the reference's defaults.
    pub fn new(seed: u64, n_agents: u64, start: i64, end: i64, tz: chrono_tz::Tz) -> Self {
        PopulationConfig {
            seed,
            n_agents,
            first_agent: 0,
            start,
            end,
            tz,
            mobility: MobilityParams::default(),
            sampling: SamplingConfig::default(),
            sweep: Vec::new(),
            outputs: OutputSelection::default(),
            chunk_size: 256,
            anchors: Vec::new(),
        }
    }
}

/// Why a population run failed.
#[derive(Debug, thiserror::Error)]
pub enum SimError {
    /// A parameter is out of range.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// An agent could not be set up.
    #[error(transparent)]
    Agent(#[from] AgentError),
    /// Two buildings whose doors are on different street components: agents could not
    /// travel between them.
    #[error(
        "building {building}'s door is not connected by streets to building {other}'s; \
         keep only the largest street component (rasterizing does) or connect them"
    )]
    Disconnected {
        /// A building off the main network.
        building: String,
        /// A building on it.
        other: String,
    },
    /// An agent's movement failed.
    #[error("agent {agent}: {source}")]
    Movement {
        /// The agent's id.
        agent: String,
        /// What failed.
        source: MovementError,
    },
    /// The run was cancelled (its cancel flag was set) after `agents` agents.
    #[error("the run was cancelled after {agents} agents")]
    Cancelled {
        /// Agents written before the run stopped.
        agents: u64,
    },
    /// The sink failed to write.
    #[error("writing agent {agent}: {source}")]
    Sink {
        /// The agent's id.
        agent: String,
        /// The sink's error.
        source: Box<dyn std::error::Error + Send + Sync>,
    },
}

/// Counts of what a run produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RunStats {
    /// Agents simulated.
    pub agents: u64,
    /// Dense pings simulated (whether written or not).
    pub dense_pings: u64,
    /// Sparse pings produced.
    pub sparse_pings: u64,
    /// Ground-truth diary entries.
    pub diary_entries: u64,
    /// Destination diary entries.
    pub destination_entries: u64,
}

/// Per-thread buffers, reused from agent to agent (and chunk to chunk, through [`WorkerPool`]).
struct Worker {
    epr: EprState,
    movement: TrajectoryBuilder,
    destinations: Vec<DiaryEntry>,
}

/// Where an agent's dense trajectory goes as it is simulated: into each sampling
/// configuration's sampler, and into the dense pings when they are kept.
struct AgentTrack<'o> {
    samplers: Vec<SparseSampler>,
    sparse: Vec<Vec<Ping>>,
    dense: Option<&'o mut Vec<Ping>>,
    /// The earliest tick any sampler takes a ping at: runs ending at or before it feed
    /// no sampler (most runs, outside the bursts).
    due: u64,
}

impl<'o> AgentTrack<'o> {
    /// A track feeding `samplers`, which serve the output slots `0..configs` between them.
    fn new(samplers: Vec<SparseSampler>, configs: usize, dense: Option<&'o mut Vec<Ping>>) -> Self {
        let due = samplers.iter().map(SparseSampler::next_tick).min().unwrap_or(u64::MAX);
        let mut sparse = vec![Vec::new(); configs];
        for s in &samplers {
            for slot in s.slots() {
                sparse[slot].reserve_exact(s.expected_pings());
            }
        }
        AgentTrack { sparse, samplers, dense, due }
    }

    fn feed(&mut self, first: u64, count: u64, ping: &Ping) {
        let mut due = u64::MAX;
        for s in &mut self.samplers {
            s.feed(first, count, ping, &mut self.sparse);
            due = due.min(s.next_tick());
        }
        self.due = due;
    }

    /// The sparse pings of each configuration, in order (once the trajectory ended).
    fn finish(self) -> Vec<Vec<Ping>> {
        self.sparse
    }
}

impl TrackSink for AgentTrack<'_> {
    #[inline]
    fn run(&mut self, first: u64, count: u64, tick: i64, ping: &Ping) {
        if first + count > self.due {
            self.feed(first, count, ping);
        }
        if let Some(dense) = self.dense.as_deref_mut() {
            dense.run(first, count, tick, ping);
        }
    }

    /// The samplers finish at the last tick.
    fn end(&mut self, last: u64, ping: &Ping) {
        for s in &mut self.samplers {
            s.finish(last, ping, &mut self.sparse);
        }
    }
}

/// Idle workers, so that buffers sized by the city (the trip stamp grid, visit counts)
/// are allocated once per thread, not once per parallel job.
struct WorkerPool<'p, 'a> {
    population: &'p Population<'a>,
    idle: std::sync::Mutex<Vec<Worker>>,
}

/// A worker taken from the pool; it goes back when dropped.
struct PooledWorker<'w, 'p, 'a> {
    pool: &'w WorkerPool<'p, 'a>,
    worker: Option<Worker>,
}

impl<'p, 'a> WorkerPool<'p, 'a> {
    fn take(&self) -> PooledWorker<'_, 'p, 'a> {
        let idle = self.idle.lock().map(|mut v| v.pop()).unwrap_or(None);
        PooledWorker { pool: self, worker: Some(idle.unwrap_or_else(|| self.population.worker())) }
    }
}

impl Drop for PooledWorker<'_, '_, '_> {
    fn drop(&mut self) {
        if let (Some(w), Ok(mut idle)) = (self.worker.take(), self.pool.idle.lock()) {
            idle.push(w);
        }
    }
}

/// A population simulation over one immutable city.
///
/// ```
/// use gardencity::city::random::{random_city, RandomCityParams};
/// use gardencity::gravity::{Gravity, GravityParams};
/// use gardencity::population::{Population, PopulationConfig};
/// use gardencity::records::{AgentOutput, OutputSink};
/// use gardencity::routing::Router;
/// /// A sink that counts sparse pings.
/// struct Count(usize);
/// impl OutputSink for Count {
///     type Error = std::convert::Infallible;
///     fn write_agent(&mut self, out: &AgentOutput) -> Result<(), Self::Error> {
///         self.0 += out.sparse.len();
///         Ok(())
///     }
/// }
/// let city = random_city(&RandomCityParams { width: 30, height: 30, seed: 1, ..Default::default() }).unwrap();
/// let (router, gravity) = (Router::new(&city), Gravity::hub_proxy(&city, GravityParams::default()).unwrap());
/// let start = 1_704_085_200; // 2024-01-01 00:00 in New York
/// let config = PopulationConfig::new(42, 5, start, start + 86_400, chrono_tz::America::New_York);
/// let population = Population::new(&city, &router, &gravity, config).unwrap();
/// let mut sink = Count(0);
/// let stats = population.run(&mut sink, &|_| {}).unwrap();
/// assert_eq!((stats.agents, stats.sparse_pings as usize), (5, sink.0));
/// ```
pub struct Population<'a> {
    city: &'a City,
    router: &'a Router,
    explorer: &'a dyn Explorer,
    config: PopulationConfig,
    clock: StepClock,
    allowed: [TypeSet; 24],
}

impl<'a> Population<'a> {
    /// Validates the configuration and prepares the shared step clock.
    pub fn new(
        city: &'a City,
        router: &'a Router,
        explorer: &'a dyn Explorer,
        mut config: PopulationConfig,
    ) -> Result<Population<'a>, SimError> {
        config.sampling = config.sampling.resolved();
        config.mobility.validate()?;
        config.sampling.validate()?;
        for c in &mut config.sweep {
            *c = c.resolved();
            c.validate()?;
        }
        if config.end <= config.start {
            return Err(ParamError::new("end", config.end, format!("a time after the start ({})", config.start)).into());
        }
        if config.chunk_size == 0 {
            return Err(ParamError::new("chunk_size", 0, "at least 1").into());
        }
        for kind in [crate::city::BuildingType::Home, crate::city::BuildingType::Workplace] {
            if city.buildings_of_type(kind).is_empty() {
                return Err(AgentError::NoBuildingOfType(kind).into());
            }
        }
        // Every door on one street component, or some trip would fail mid-run.
        if let Some(first) = city.buildings().first().map(|_| city.door_street(BuildingIdx(0))) {
            for b in city.building_indices().skip(1) {
                if !router.connected(first, city.door_street(b)) {
                    return Err(SimError::Disconnected {
                        building: city.building(b).id.clone(),
                        other: city.building(BuildingIdx(0)).id.clone(),
                    });
                }
            }
        }
        let clock = StepClock::new(config.start, config.end, config.mobility.epr_time_res as i64 * 60, config.tz);
        let allowed = config.mobility.schedule.type_sets();
        Ok(Population { city, router, explorer, config, clock, allowed })
    }

    /// The configuration.
    pub fn config(&self) -> &PopulationConfig {
        &self.config
    }

    fn worker(&self) -> Worker {
        Worker {
            epr: EprState::new(self.city.buildings().len()),
            movement: TrajectoryBuilder::new(self.city, self.router),
            destinations: Vec::new(),
        }
    }

    /// Simulates agent `index` with the worker's buffers.
    fn simulate_agent(
        &self,
        w: &mut Worker,
        index: u64,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<AgentOutput, SimError> {
        let c = &self.config;
        let anchors = c.anchors.get(index as usize).copied().unwrap_or_default();
        let agent = Agent::new(self.city, c.seed, index, anchors.home, anchors.workplace)?;
        let mut rng = agent_rng(c.seed, index, Stream::Visits);
        w.epr.initialize(self.city, agent.home, agent.workplace, &c.mobility, &mut rng);
        let start_point = building_anchor(self.city, agent.home);
        let mut rng = agent_rng(c.seed, index, Stream::Epr);
        destination_diary(
            self.city,
            self.explorer,
            &c.mobility,
            &self.clock,
            &self.allowed,
            agent.home,
            &mut w.epr,
            &mut rng,
            &mut w.destinations,
        );
        let mut out = AgentOutput::default();
        // Sampling draws from the agent's own streams, the same for every configuration
        // of a sweep: each sees the agent as a run with it alone would.
        let configs: &[SamplingConfig] = match (c.outputs.sparse, c.sweep.is_empty()) {
            (false, _) => &[],
            (true, true) => std::slice::from_ref(&c.sampling),
            (true, false) => &c.sweep,
        };
        // Every configuration's sampler draws from the same stream: configurations that
        // draw alike (a sweep over accuracies) share one sampler, which takes each ping
        // time once for all of them.
        let mut samplers: Vec<SparseSampler> = Vec::with_capacity(configs.len());
        for (slot, config) in configs.iter().enumerate() {
            let params = config.draw(&mut agent_rng(c.seed, index, Stream::Params))?;
            if !samplers.iter_mut().any(|s| s.share(slot, params)) {
                let rng = agent_rng(c.seed, index, Stream::Sampling);
                samplers.push(SparseSampler::with_slot(slot, params, rng, c.start, c.mobility.tick_seconds(), c.end));
            }
        }
        let mut track = AgentTrack::new(samplers, configs.len(), c.outputs.dense.then_some(&mut out.dense));
        let mut rng = agent_rng(c.seed, index, Stream::Movement);
        out.ticks = w
            .movement
            .simulate(
                self.city,
                self.router,
                &c.mobility,
                &w.destinations,
                start_point,
                c.start,
                c.end,
                &mut rng,
                &mut out.diary,
                &mut track,
                cancel,
            )
            .map_err(|source| match source {
                MovementError::Cancelled => SimError::Cancelled { agents: index - c.first_agent },
                source => SimError::Movement { agent: agent.id.clone(), source },
            })?;
        let mut sparse = track.finish();
        if c.sweep.is_empty() {
            out.sparse = sparse.pop().unwrap_or_default();
        } else {
            out.sweep = sparse;
        }
        if !c.outputs.diary {
            out.diary.clear();
        }
        if c.outputs.destinations {
            out.destinations.extend_from_slice(&w.destinations);
        }
        out.agent = AgentRecord { index, id: agent.id, home: agent.home, workplace: agent.workplace };
        Ok(out)
    }

    /// Runs every agent on the current rayon pool, writing into `sink` in agent order;
    /// `progress(done)` is called after each chunk is written.
    pub fn run<S: OutputSink + Send>(
        &self,
        sink: &mut S,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<RunStats, SimError> {
        self.run_cancellable(sink, progress, &std::sync::atomic::AtomicBool::new(false))
    }

    /// [`Population::run`], stopping with [`SimError::Cancelled`] once `cancel` is set
    /// (checked before each chunk of agents, so within a chunk's time: tens of
    /// milliseconds with the default chunk size).
    pub fn run_cancellable<S: OutputSink + Send>(
        &self,
        sink: &mut S,
        progress: &(dyn Fn(u64) + Sync),
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<RunStats, SimError> {
        let first = self.config.first_agent;
        let n = first
            .checked_add(self.config.n_agents)
            .ok_or_else(|| ParamError::new("first_agent", first, "a shard whose agent indices fit in 64 bits"))?;
        let days = ((self.config.end - self.config.start + 86_399) / 86_400).max(1) as u64;
        let chunk = (self.config.chunk_size as u64).min((CHUNK_AGENT_DAYS / days).max(1));
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Vec<AgentOutput>, SimError>>(1);
        std::thread::scope(|scope| -> Result<RunStats, SimError> {
            // Consumer, on its own thread: writes in agent order.
            let consumer = scope.spawn(move || -> Result<RunStats, SimError> {
                let mut stats = RunStats::default();
                for outs in rx {
                    let outs = outs?;
                    for (k, o) in outs.iter().enumerate() {
                        // Writing an agent can take long too (a long run has many
                        // partitions): the cancel is checked between agents here as well.
                        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                            return Err(SimError::Cancelled { agents: stats.agents + k as u64 });
                        }
                        stats.sparse_pings +=
                            o.sparse.len() as u64 + o.sweep.iter().map(|v| v.len() as u64).sum::<u64>();
                        stats.dense_pings += o.ticks;
                        stats.diary_entries += o.diary.len() as u64;
                        stats.destination_entries += o.destinations.len() as u64;
                        sink.write_agent_cancellable(o, cancel).map_err(|e| {
                            // A sink gives up when cancelled: that is the cancel, not its error.
                            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                                SimError::Cancelled { agents: stats.agents + k as u64 }
                            } else {
                                SimError::Sink { agent: o.agent.id.clone(), source: Box::new(e) }
                            }
                        })?;
                    }
                    stats.agents += outs.len() as u64;
                    progress(stats.agents);
                }
                Ok(stats)
            });
            // Producer, on the calling thread so that the caller's rayon pool (and its
            // thread count) does the work: simulates chunks in parallel, in order.
            let pool = WorkerPool { population: self, idle: std::sync::Mutex::new(Vec::new()) };
            let mut lo = first;
            while lo < n {
                if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                    // The consumer sees the error after the chunks already sent.
                    let _ = tx.send(Err(SimError::Cancelled { agents: lo - first }));
                    break;
                }
                let hi = (lo + chunk).min(n);
                let outs: Result<Vec<AgentOutput>, SimError> = (lo..hi)
                    .into_par_iter()
                    .map_init(
                        || pool.take(),
                        |w, i| self.simulate_agent(w.worker.as_mut().expect("taken until dropped"), i, cancel),
                    )
                    .collect();
                let failed = outs.is_err();
                if tx.send(outs).is_err() || failed {
                    break;
                }
                lo = hi;
            }
            drop(tx);
            consumer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }
}
