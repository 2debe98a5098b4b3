//! The mobility model (MODEL.md sections 4 and 5): agents, the EPR destination diary and
//! minute-level movement with its ground-truth diary.

pub mod agent;
pub mod epr;
pub mod movement;
pub mod params;
pub mod rng;
pub mod track;
mod words;

pub use agent::{agent_id, Agent};
pub use epr::{destination_diary, EprState};
pub use movement::TrajectoryBuilder;
pub use params::{MobilityParams, Schedule, TypeTable};
pub use track::TrackSink;
