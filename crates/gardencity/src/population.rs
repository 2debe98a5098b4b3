//! The population runner: simulates agents in parallel and streams their records, in
//! agent order, into an [`OutputSink`].
//!
//! Every agent draws from its own random streams derived from (master seed, agent
//! index), so outputs are identical whatever the number of threads. Agents are
//! processed in chunks; a bounded channel between the simulating threads and the
//! writing thread keeps memory independent of the number of agents.
//!
//! A run longer than [`BLOCK_DAYS`] also streams in time: a cohort of agents (at most
//! [`COHORT_AGENTS`]) is advanced a block of days at a time, each agent keeping a small
//! state between blocks, and each block's records are handed on as it completes (an
//! agent's records in pieces, [`AgentOutput::continues`]), so memory depends neither on
//! the number of agents nor on the run's length. An agent's records are the same
//! whatever the blocks: each stream's draws are taken in the same order.

use crate::city::{BuildingIdx, City, TypeSet};
use crate::mobility::agent::{Agent, AgentError};
use crate::mobility::epr::{EprState, EprWalk, Explorer, StepClock};
use crate::mobility::movement::{building_anchor, MovementError, TrajectoryBuilder, Walker};
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

/// With dense pings, chunks and cohorts hold this many times fewer agents.
const DENSE_SHARE: u64 = 8;

/// Days of one block of time in a run longer than that (see the [module docs](self)).
pub const BLOCK_DAYS: i64 = 7;

/// Agents advanced together through the blocks of a run longer than [`BLOCK_DAYS`]:
/// their records of a block are written together (each date's rows of a cohort in one
/// row group, and about a file per date and cohort), and a few blocks of them are in
/// memory at once.
pub const COHORT_AGENTS: u64 = 512;

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
    /// A run streaming in time takes cohorts of [`COHORT_AGENTS`] instead (an eighth of
    /// that with dense pings).
    pub chunk_size: usize,
    /// Given homes/workplaces by agent index (shorter than `n_agents`: the rest are drawn).
    pub anchors: Vec<Anchors>,
    /// Days of a block of time when the run is longer ([`BLOCK_DAYS`]; see the
    /// [module docs](self)): records are the same whatever the blocks.
    pub block_days: i64,
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
            block_days: BLOCK_DAYS,
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
    /// The sink failed to write out the records before a time (a run streaming in
    /// time, at the end of a block).
    #[error("writing out the records before Unix time {before}: {source}")]
    SinkFlush {
        /// The time (see [`OutputSink::flush_before`]).
        before: i64,
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
}

/// One agent between two blocks of time: its record, its destination walk, its
/// movement and its samplers (each with its own stream), and the ground-truth diary
/// entry that may still grow.
struct AgentSim {
    record: AgentRecord,
    epr: EprWalk,
    walker: Walker,
    samplers: Vec<SparseSampler>,
    tail: Option<DiaryEntry>,
}

impl AgentSim {
    /// The earliest time of a record this agent may still produce.
    fn next_record_time(&self) -> i64 {
        let t = self.walker.next_time();
        [self.tail.map(|e| e.timestamp), self.epr.pending_start()].into_iter().flatten().fold(t, i64::min)
    }
}

/// A block's records, in agent order, and the time before which every record of the
/// run has been produced (`None` after a cohort's last block).
type Block = (Vec<AgentOutput>, Option<i64>);

/// Where an agent's dense trajectory goes as it is simulated: into each sampling
/// configuration's sampler, and into the dense pings when they are kept.
struct AgentTrack<'o> {
    samplers: &'o mut [SparseSampler],
    sparse: Vec<Vec<Ping>>,
    dense: Option<&'o mut Vec<Ping>>,
    /// The earliest tick any sampler takes a ping at: runs ending at or before it feed
    /// no sampler (most runs, outside the bursts).
    due: u64,
}

impl<'o> AgentTrack<'o> {
    /// A track feeding `samplers`, which serve the output slots `0..configs` between
    /// them, for about `seconds` of the window.
    fn new(samplers: &'o mut [SparseSampler], configs: usize, dense: Option<&'o mut Vec<Ping>>, seconds: f64) -> Self {
        let due = samplers.iter().map(SparseSampler::next_tick).min().unwrap_or(u64::MAX);
        let mut sparse = vec![Vec::new(); configs];
        for s in samplers.iter() {
            for slot in s.slots() {
                sparse[slot].reserve_exact(s.expected_pings_in(seconds));
            }
        }
        AgentTrack { sparse, samplers, dense, due }
    }

    fn feed(&mut self, first: u64, count: u64, ping: &Ping) {
        let mut due = u64::MAX;
        for s in self.samplers.iter_mut() {
            s.feed(first, count, ping, &mut self.sparse);
            due = due.min(s.next_tick());
        }
        self.due = due;
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
        for s in self.samplers.iter_mut() {
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
        if config.block_days < 1 {
            return Err(ParamError::new("block_days", config.block_days, "at least 1 day").into());
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
        Worker { epr: EprState::new(self.city), movement: TrajectoryBuilder::new(self.city, self.router) }
    }

    /// The sampling configurations of the run's sparse pings (none without them).
    fn sampling_configs(&self) -> &[SamplingConfig] {
        let c = &self.config;
        match (c.outputs.sparse, c.sweep.is_empty()) {
            (false, _) => &[],
            (true, true) => std::slice::from_ref(&c.sampling),
            (true, false) => &c.sweep,
        }
    }

    /// Sets agent `index` up at the start of the window, with the worker's buffers.
    fn start_agent(&self, w: &mut Worker, index: u64) -> Result<AgentSim, SimError> {
        let c = &self.config;
        let anchors = c.anchors.get(index as usize).copied().unwrap_or_default();
        let agent = Agent::new(self.city, c.seed, index, anchors.home, anchors.workplace)?;
        let mut rng = agent_rng(c.seed, index, Stream::Visits);
        w.epr.initialize(self.city, agent.home, agent.workplace, &c.mobility, &mut rng);
        let epr = EprWalk::new(agent.home, agent_rng(c.seed, index, Stream::Epr), &w.epr);
        let start = building_anchor(self.city, agent.home);
        let walker = Walker::new(start, c.start, c.end, &c.mobility, agent_rng(c.seed, index, Stream::Movement));
        // Sampling draws from the agent's own streams, the same for every configuration
        // of a sweep: each sees the agent as a run with it alone would. Every
        // configuration's sampler draws from the same stream: configurations that draw
        // alike (a sweep over accuracies) share one sampler, which takes each ping time
        // once for all of them.
        let configs = self.sampling_configs();
        let mut samplers: Vec<SparseSampler> = Vec::with_capacity(configs.len());
        for (slot, config) in configs.iter().enumerate() {
            let params = config.draw(&mut agent_rng(c.seed, index, Stream::Params))?;
            if !samplers.iter_mut().any(|s| s.share(slot, params)) {
                let rng = agent_rng(c.seed, index, Stream::Sampling);
                samplers.push(SparseSampler::with_slot(slot, params, rng, c.start, c.mobility.tick_seconds(), c.end));
            }
        }
        let record = AgentRecord { index, id: agent.id, home: agent.home, workplace: agent.workplace };
        Ok(AgentSim { record, epr, walker, samplers, tail: None })
    }

    /// Simulates agent `sim` on to the first stay at or after tick `until` (a block's
    /// end; `u64::MAX` for the whole window) with the worker's buffers: its records of
    /// that stretch, `continues` unless its window is done.
    fn advance_agent(
        &self,
        w: &mut Worker,
        sim: &mut AgentSim,
        until: u64,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<AgentOutput, SimError> {
        let c = &self.config;
        let mut out = AgentOutput { agent: sim.record.clone(), ..AgentOutput::default() };
        let configs = self.sampling_configs().len();
        let tick = c.mobility.tick_seconds();
        let seconds = match until {
            u64::MAX => (c.end - sim.walker.next_time()) as f64,
            _ => (until as i64 * tick + c.start - sim.walker.next_time()) as f64,
        }
        .max(0.0);
        if c.outputs.dense {
            // A ping per tick to the block's end, reserved at once rather than grown by
            // copying; a block runs on to the end of the stay or trip in progress at its
            // last tick, hence the slack (an eighth: a night at home in a week).
            let ticks = seconds as usize / tick.max(1) as usize;
            out.dense.reserve(ticks + ticks / 8 + 64);
        }
        let dense = c.outputs.dense.then_some(&mut out.dense);
        let mut track = AgentTrack::new(&mut sim.samplers, configs, dense, seconds);
        sim.epr.resume(&mut w.epr);
        let mut diary: Vec<DiaryEntry> = sim.tail.take().into_iter().collect();
        let destinations = &mut out.destinations;
        let keep_destinations = c.outputs.destinations;
        let (epr, explorer, clock, allowed) = (&mut sim.epr, self.explorer, &self.clock, &self.allowed);
        let (city, epr_state) = (self.city, &mut w.epr);
        let mut next_entry = || {
            let entry = epr.next_entry(city, explorer, &c.mobility, clock, allowed, epr_state);
            if keep_destinations {
                destinations.extend(entry);
            }
            entry
        };
        let ticks_before = sim.walker.ticks();
        let done = w
            .movement
            .advance(
                city,
                self.router,
                &c.mobility,
                &mut sim.walker,
                &mut next_entry,
                until,
                &mut diary,
                &mut track,
                cancel,
            )
            .map_err(|source| match source {
                MovementError::Cancelled => SimError::Cancelled { agents: sim.record.index - c.first_agent },
                source => SimError::Movement { agent: sim.record.id.clone(), source },
            })?;
        if done {
            // The destinations movement did not reach (a window not a whole number of ticks).
            if keep_destinations {
                while next_entry().is_some() {}
            }
        } else {
            sim.tail = diary.pop();
            sim.epr.suspend(&w.epr);
        }
        out.ticks = sim.walker.ticks() - ticks_before;
        let mut sparse = std::mem::take(&mut track.sparse);
        if c.sweep.is_empty() {
            out.sparse = sparse.pop().unwrap_or_default();
        } else {
            out.sweep = sparse;
        }
        if c.outputs.diary {
            out.diary = diary;
        }
        out.continues = !done;
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
    /// (checked before each chunk of agents or block of time, and by each agent at each
    /// destination: within a chunk's time, tens of milliseconds with the default chunk
    /// size).
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
        let (start, end) = (self.config.start, self.config.end);
        let days = ((end - start + 86_399) / 86_400).max(1);
        // The ticks ending each block of time (the whole window for a run of one block).
        let tick = self.config.mobility.tick_seconds();
        let block = self.config.block_days;
        let block_ends: Vec<u64> = if days <= block {
            vec![u64::MAX]
        } else {
            let blocks = (days + block - 1) / block;
            (1..blocks).map(|b| (b * block * 86_400 / tick) as u64).chain([u64::MAX]).collect()
        };
        // Dense pings are a ping a tick (400 kB an agent-week): a fraction of the agents
        // at once keeps their memory that of the other outputs.
        let share = if self.config.outputs.dense { DENSE_SHARE } else { 1 };
        let chunk = match block_ends.len() {
            1 => (self.config.chunk_size as u64).min((CHUNK_AGENT_DAYS / share / days as u64).max(1)),
            _ => COHORT_AGENTS / share,
        };
        let (tx, rx) = std::sync::mpsc::sync_channel::<Result<Block, SimError>>(0);
        std::thread::scope(|scope| -> Result<RunStats, SimError> {
            // Consumer, on its own thread: writes in agent order.
            let consumer = scope.spawn(move || -> Result<RunStats, SimError> {
                let mut stats = RunStats::default();
                for block in rx {
                    let (outs, written_before) = block?;
                    for o in &outs {
                        // Writing an agent can take long too (a long run has many
                        // partitions): the cancel is checked between agents here as well.
                        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                            return Err(SimError::Cancelled { agents: stats.agents });
                        }
                        stats.sparse_pings +=
                            o.sparse.len() as u64 + o.sweep.iter().map(|v| v.len() as u64).sum::<u64>();
                        stats.dense_pings += o.ticks;
                        stats.diary_entries += o.diary.len() as u64;
                        stats.destination_entries += o.destinations.len() as u64;
                        sink.write_agent_cancellable(o, cancel).map_err(|e| {
                            // A sink gives up when cancelled: that is the cancel, not its error.
                            if cancel.load(std::sync::atomic::Ordering::Relaxed) {
                                SimError::Cancelled { agents: stats.agents }
                            } else {
                                SimError::Sink { agent: o.agent.id.clone(), source: Box::new(e) }
                            }
                        })?;
                        stats.agents += u64::from(!o.continues);
                    }
                    if let Some(t) = written_before {
                        sink.flush_before(t).map_err(|e| SimError::SinkFlush { before: t, source: Box::new(e) })?;
                    }
                    progress(stats.agents);
                }
                Ok(stats)
            });
            // Producer, on the calling thread so that the caller's rayon pool (and its
            // thread count) does the work: simulates chunks in parallel, in order.
            let pool = WorkerPool { population: self, idle: std::sync::Mutex::new(Vec::new()) };
            let mut lo = first;
            while lo < n {
                let hi = (lo + chunk).min(n);
                if !self.send_chunk(&pool, lo..hi, &block_ends, &tx, cancel) {
                    break;
                }
                lo = hi;
            }
            drop(tx);
            consumer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
        })
    }

    /// Simulates the agents of `range` and sends their records, a block of time at a
    /// time (blocks ending at the ticks `block_ends`), to the consumer; `false` when the
    /// run stops (an error, a cancel, or a consumer gone).
    fn send_chunk(
        &self,
        pool: &WorkerPool<'_, '_>,
        range: std::ops::Range<u64>,
        block_ends: &[u64],
        tx: &std::sync::mpsc::SyncSender<Result<Block, SimError>>,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> bool {
        let send = |block: Result<Block, SimError>| {
            let failed = block.is_err();
            tx.send(block).is_ok() && !failed
        };
        // The consumer sees the cancel after the blocks already sent.
        let cancelled = || SimError::Cancelled { agents: range.start - self.config.first_agent };
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return send(Err(cancelled()));
        }
        if let [u64::MAX] = block_ends {
            return send(self.whole_agents(pool, range, cancel).map(|outs| (outs, None)));
        }
        // A cohort, block after block.
        let sims: Result<Vec<AgentSim>, SimError> = range
            .clone()
            .into_par_iter()
            .map_init(|| pool.take(), |w, i| self.start_agent(w.worker.as_mut().expect("taken until dropped"), i))
            .collect();
        let mut sims = match sims {
            Ok(sims) => sims,
            Err(e) => return send(Err(e)),
        };
        for (b, &until) in block_ends.iter().enumerate() {
            if b > 0 && cancel.load(std::sync::atomic::Ordering::Relaxed) {
                return send(Err(cancelled()));
            }
            let advance = |w: &mut PooledWorker<'_, '_, '_>, sim: &mut AgentSim| {
                self.advance_agent(w.worker.as_mut().expect("taken until dropped"), sim, until, cancel)
            };
            let outs: Result<Vec<AgentOutput>, SimError> =
                sims.par_iter_mut().map_init(|| pool.take(), advance).collect();
            let last = b + 1 == block_ends.len();
            let before = if last { None } else { sims.iter().map(AgentSim::next_record_time).min() };
            if !send(outs.map(|outs| (outs, before))) {
                return false;
            }
        }
        true
    }

    /// Simulates agents `range` over the whole window, in parallel, in agent order.
    fn whole_agents(
        &self,
        pool: &WorkerPool<'_, '_>,
        range: std::ops::Range<u64>,
        cancel: &std::sync::atomic::AtomicBool,
    ) -> Result<Vec<AgentOutput>, SimError> {
        range
            .into_par_iter()
            .map_init(
                || pool.take(),
                |w, i| {
                    let w = w.worker.as_mut().expect("taken until dropped");
                    let mut sim = self.start_agent(w, i)?;
                    self.advance_agent(w, &mut sim, u64::MAX, cancel)
                },
            )
            .collect()
    }
}
