//! The records a simulation produces for one agent, and the sink trait writers implement.
//!
//! Records carry building *indices* and positions in block units; writers turn them into
//! ids, datetimes and the requested coordinate system.

use crate::city::BuildingIdx;
use std::sync::atomic::AtomicBool;

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
///
/// The default (index 0, empty id) is a placeholder a writer refuses: every agent has an id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
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
    pub agent: AgentRecord,
    /// Sparse pings, timestamps strictly increasing.
    pub sparse: Vec<Ping>,
    /// With a sampling sweep: the sparse pings of each configuration of the sweep, in
    /// its order (then `sparse` stays empty).
    pub sweep: Vec<Vec<Ping>>,
    /// Dense pings, one per tick.
    pub dense: Vec<Ping>,
    /// Ground-truth stays and trips, merged from the dense trajectory.
    pub diary: Vec<DiaryEntry>,
    /// The EPR destination diary (condensed).
    pub destinations: Vec<DiaryEntry>,
    /// Dense pings simulated (whether or not `dense` was kept).
    pub ticks: u64,
    /// Whether more of this agent's records follow: a run streaming in time hands an
    /// agent's records on a block of time at a time, each piece continuing the last
    /// (records in time order, and a diary entry never split). `false` for the last
    /// piece, and for an agent handed on whole.
    pub continues: bool,
}

impl AgentOutput {
    /// Empties every vector, keeping their capacity, and resets the agent record to
    /// the default (empty id, keeping its capacity).
    pub fn clear(&mut self) {
        self.agent.id.clear();
        (self.agent.index, self.agent.home, self.agent.workplace) = (0, BuildingIdx(0), BuildingIdx(0));
        self.sparse.clear();
        self.sweep.clear();
        self.dense.clear();
        self.diary.clear();
        self.destinations.clear();
        self.ticks = 0;
        self.continues = false;
    }
}

/// A consumer of simulated agents, called from one thread in agent-index order.
pub trait OutputSink {
    /// The sink's error type.
    type Error: std::error::Error + Send + Sync + 'static;
    /// Writes one agent's records.
    fn write_agent(&mut self, out: &AgentOutput) -> Result<(), Self::Error>;

    /// Writes one agent's records, or gives up with an error once `cancel` is set: a run
    /// that is cancelled calls this, so a sink whose write of one agent can take long
    /// (thousands of files) stops promptly. By default the whole agent is written.
    fn write_agent_cancellable(&mut self, out: &AgentOutput, cancel: &AtomicBool) -> Result<(), Self::Error> {
        let _ = cancel;
        self.write_agent(out)
    }

    /// Every record the agents in progress still produce starts at or after Unix time
    /// `t` (a block of time is done): a sink may write out what it holds of earlier
    /// times. The next cohort of agents starts again at the window's start, so a sink
    /// must still take earlier records afterwards (write them out, not close those
    /// times). Does nothing by default.
    fn flush_before(&mut self, t: i64) -> Result<(), Self::Error> {
        let _ = t;
        Ok(())
    }
}

/// One of the tables a simulation can produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum OutputKind {
    /// Sparse (sampled, noisy) pings.
    Sparse,
    /// Dense (ground-truth, one per tick) pings, with the building.
    Dense,
    /// Ground-truth diary of stays and trips.
    Diary,
    /// The EPR destination diary.
    Destinations,
    /// One row per agent: home and workplace.
    Homes,
}

impl OutputKind {
    /// Every output, in directory order.
    pub const ALL: [OutputKind; 5] =
        [OutputKind::Sparse, OutputKind::Dense, OutputKind::Diary, OutputKind::Destinations, OutputKind::Homes];

    /// The output's name, also its dataset directory (`sparse`, `dense`, `diaries`,
    /// `destinations`, `homes`).
    pub fn dir_name(self) -> &'static str {
        match self {
            OutputKind::Sparse => "sparse",
            OutputKind::Dense => "dense",
            OutputKind::Diary => "diaries",
            OutputKind::Destinations => "destinations",
            OutputKind::Homes => "homes",
        }
    }

    /// The output whose directory is `name`.
    pub fn from_dir_name(name: &str) -> Option<OutputKind> {
        OutputKind::ALL.into_iter().find(|k| k.dir_name() == name)
    }

    /// The output named `name` (a directory name, or `diary` for `diaries`), any case.
    pub fn from_name(name: &str) -> Option<OutputKind> {
        let name = name.trim().to_ascii_lowercase();
        if name == "diary" {
            return Some(OutputKind::Diary);
        }
        OutputKind::from_dir_name(&name)
    }

    /// Position in [`OutputKind::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }
}

impl std::fmt::Display for OutputKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.dir_name())
    }
}

/// Which outputs a run produces: one list shared by the population runner (which
/// skips what is not selected), the dataset writer and the command line. Serialized
/// as a list of names (`["sparse", "diaries", "homes"]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OutputSelection {
    /// Sparse pings.
    pub sparse: bool,
    /// Dense pings.
    pub dense: bool,
    /// Ground-truth diary.
    pub diary: bool,
    /// Destination diary.
    pub destinations: bool,
    /// Homes table.
    pub homes: bool,
}

impl Default for OutputSelection {
    /// Sparse pings, diaries and homes: what a stop-detection study reads.
    fn default() -> Self {
        OutputSelection { sparse: true, dense: false, diary: true, destinations: false, homes: true }
    }
}

impl OutputSelection {
    /// No output.
    pub const NONE: OutputSelection =
        OutputSelection { sparse: false, dense: false, diary: false, destinations: false, homes: false };

    /// All five outputs.
    pub fn all() -> Self {
        OutputSelection { sparse: true, dense: true, diary: true, destinations: true, homes: true }
    }
    /// True when `kind` is selected.
    pub fn contains(&self, kind: OutputKind) -> bool {
        match kind {
            OutputKind::Sparse => self.sparse,
            OutputKind::Dense => self.dense,
            OutputKind::Diary => self.diary,
            OutputKind::Destinations => self.destinations,
            OutputKind::Homes => self.homes,
        }
    }
    /// Selects or deselects `kind`.
    pub fn set(&mut self, kind: OutputKind, on: bool) {
        match kind {
            OutputKind::Sparse => self.sparse = on,
            OutputKind::Dense => self.dense = on,
            OutputKind::Diary => self.diary = on,
            OutputKind::Destinations => self.destinations = on,
            OutputKind::Homes => self.homes = on,
        }
    }
    /// The selected outputs, in [`OutputKind::ALL`] order.
    pub fn kinds(&self) -> Vec<OutputKind> {
        OutputKind::ALL.into_iter().filter(|k| self.contains(*k)).collect()
    }
    /// The selection of the given names (`all` selects everything).
    pub fn from_names<S: AsRef<str>>(names: &[S]) -> Result<Self, UnknownOutput> {
        let mut sel = OutputSelection::NONE;
        for name in names.iter().map(|n| n.as_ref().trim()).filter(|n| !n.is_empty()) {
            if name.eq_ignore_ascii_case("all") {
                sel = OutputSelection::all();
                continue;
            }
            let kind = OutputKind::from_name(name).ok_or_else(|| UnknownOutput(name.to_string()))?;
            sel.set(kind, true);
        }
        Ok(sel)
    }
}

/// An output name that is none of `sparse, dense, diaries, destinations, homes, all`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown output {0:?} (expected sparse, dense, diaries, destinations, homes or all)")]
pub struct UnknownOutput(pub String);

impl std::str::FromStr for OutputSelection {
    type Err = UnknownOutput;
    /// Parses a comma-separated list of outputs (`sparse,dense,diaries,destinations,homes`;
    /// `diary` is accepted for `diaries`, `all` for everything).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        OutputSelection::from_names(&s.split(',').collect::<Vec<_>>())
    }
}

impl serde::Serialize for OutputSelection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.kinds().into_iter().map(OutputKind::dir_name))
    }
}

impl<'de> serde::Deserialize<'de> for OutputSelection {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Names {
            List(Vec<String>),
            Text(String),
        }
        let names = match Names::deserialize(d)? {
            Names::List(l) => l,
            Names::Text(t) => t.split(',').map(str::to_string).collect(),
        };
        OutputSelection::from_names(&names).map_err(serde::de::Error::custom)
    }
}
