//! [`RunError`]: why a run could not be specified, prepared or completed.

use gardencity_io::anchors::AnchorError;
use gardencity_io::dataset::DatasetError;
use gardencity_io::gpkg::gravity::GravityIoError;
use gardencity_io::gpkg::GpkgError;
use gardencity_io::snapshot::SnapshotError;

/// Why a run failed; every variant names the key, file, layer, row or agent at fault.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// A key of the run specification is invalid.
    #[error("{key}: {reason}")]
    Spec {
        /// The key (as in the TOML file and the Python keywords).
        key: String,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// A configuration text (TOML or JSON) could not be read as a run specification.
    #[error("{0}")]
    Config(String),
    /// The city GeoPackage could not be read.
    #[error(transparent)]
    City(#[from] GpkgError),
    /// The stored gravity could not be read.
    #[error(transparent)]
    GravityFile(#[from] GravityIoError),
    /// The snapshot could not be read.
    #[error(transparent)]
    Snapshot(#[from] SnapshotError),
    /// The city has no valid gravity model with these parameters.
    #[error("gravity: {0}")]
    Gravity(#[from] gardencity::gravity::GravityError),
    /// The built-in city could not be built.
    #[error(transparent)]
    BuiltinCity(#[from] gardencity::CityError),
    /// The anchors table could not be read.
    #[error(transparent)]
    Anchors(#[from] AnchorError),
    /// The simulation failed (or was cancelled: see [`RunError::is_cancelled`]).
    #[error(transparent)]
    Simulation(#[from] gardencity::population::SimError),
    /// The dataset could not be written or read.
    #[error(transparent)]
    Dataset(#[from] DatasetError),
    /// Shard datasets could not be committed as one run.
    #[error("commit: {0}")]
    Commit(String),
    /// A manifest could not be written or read.
    #[error("manifest: {0}")]
    Manifest(String),
}

impl RunError {
    /// An invalid key of the specification.
    pub fn spec(key: impl Into<String>, reason: impl Into<String>) -> RunError {
        RunError::Spec { key: key.into(), reason: reason.into() }
    }

    /// True when the run stopped because it was cancelled.
    pub fn is_cancelled(&self) -> bool {
        matches!(self, RunError::Simulation(gardencity::population::SimError::Cancelled { .. }))
    }
}
