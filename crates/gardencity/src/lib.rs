//! gardencity: synthetic human-mobility data with ground truth.
//!
//! The crate follows the pipeline of the reference model (NOMAD), written out in `docs/MODEL.md`:
//!
//! 1. [`city`]: the grid city model (streets, buildings, doors) and its random builder
//!    (GeoPackage and OpenStreetMap builders live in sibling crates).
//! 2. `routing` and `gravity`: street shortest paths and the gravity model between buildings.
//! 3. `mobility`: agents, the EPR destination diary and minute-level movement.
//! 4. `sampling`: bursty sparse pings with GPS-like horizontal noise.
//! 5. `population`: the parallel, deterministic population runner that streams records to sinks.
//!
//! The library never prints and never exits: every fallible call returns a typed error.
#![warn(missing_docs)]

pub mod city;
pub mod error;
pub mod gravity;
pub mod mobility;
pub mod population;
pub mod records;
pub mod roulette;
pub mod routing;
pub mod sampling;

pub use city::{
    Building, BuildingIdx, BuildingSpec, BuildingType, Cell, CellKind, City, CityParts, Georeference, Point, StreetIdx,
    TypeSet,
};
pub use error::CityError;
