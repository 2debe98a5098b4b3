//! The records a simulation produces for one agent, and the sink trait writers implement.
//!
//! Records carry building *indices* and positions in block units; writers turn them into
//! ids, datetimes and the requested coordinate system.

use crate::city::BuildingIdx;

/// One position fix: a dense (ground-truth) or sparse (sampled, noisy) ping.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ping {
    /// Unix seconds.
    pub timestamp: i64,
    /// Position in block units (noise included for sparse pings).
    pub x: f64,
    /// Position in block units.
    pub y: f64,
    /// Horizontal accuracy in blocks (0 for dense pings).
    pub ha: f64,
    /// The building the agent is in, `None` while travelling (ground truth).
    pub location: Option<BuildingIdx>,
}

/// One entry of a diary: a stay in a building, or a trip (`location == None`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DiaryEntry {
    /// Unix seconds of the entry's start.
    pub timestamp: i64,
    /// Duration in minutes.
    pub duration: f64,
    /// The building, or `None` for a trip.
    pub location: Option<BuildingIdx>,
}

/// Who an agent is: its position in the population, readable id, home and workplace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgentRecord {
    /// Index in the population (`0..n_agents`); seeds its random stream.
    pub index: u64,
    /// Readable unique id (`adjective_noun` style).
    pub id: String,
    /// Home building.
    pub home: BuildingIdx,
    /// Workplace building.
    pub workplace: BuildingIdx,
}

/// Everything simulated for one agent. Vectors not requested stay empty.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AgentOutput {
    /// The agent.
    pub agent: Option<AgentRecord>,
    /// Sparse pings, timestamps strictly increasing.
    pub sparse: Vec<Ping>,
    /// Dense pings, one per tick.
    pub dense: Vec<Ping>,
    /// Ground-truth stays and trips, merged from the dense trajectory.
    pub diary: Vec<DiaryEntry>,
    /// The EPR destination diary (condensed).
    pub destinations: Vec<DiaryEntry>,
    /// Dense pings simulated (whether or not `dense` was kept).
    pub ticks: u64,
}

impl AgentOutput {
    /// Empties every vector, keeping their capacity.
    pub fn clear(&mut self) {
        self.agent = None;
        self.sparse.clear();
        self.dense.clear();
        self.diary.clear();
        self.destinations.clear();
        self.ticks = 0;
    }
}

/// A consumer of simulated agents, called from one thread in agent-index order.
pub trait OutputSink {
    /// The sink's error type.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Writes one agent's records.
    fn write_agent(&mut self, out: &AgentOutput) -> Result<(), Self::Error>;
}
