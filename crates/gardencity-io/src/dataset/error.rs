//! Errors of dataset writing and reading.

use super::OutputKind;
use std::path::PathBuf;

/// An error writing or reading a dataset; every variant names the path or agent involved.
#[derive(Debug, thiserror::Error)]
pub enum DatasetError {
    /// A file-system operation failed (disk full, permission, ...).
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done (`creating`, `writing`, `renaming`...).
        op: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The Parquet library failed writing or reading a file.
    #[error("{op} Parquet file {path}: {source}")]
    Parquet {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: parquet::errors::ParquetError,
    },
    /// Building an Arrow record batch failed.
    #[error("building a {output} record batch for {path}: {source}")]
    Arrow {
        /// The table.
        output: OutputKind,
        /// The partition directory.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: arrow_schema::ArrowError,
    },
    /// The write stopped because the run was cancelled.
    #[error("the write was cancelled")]
    Cancelled,
    /// The output path exists and is not a directory.
    #[error("output path {path} exists and is not a directory")]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// Another run writes into the output directory.
    #[error("output directory {path} is being written by gardencity {holder} (lock file {lock}); wait for it to finish or choose another output directory (delete the lock file only if no such run is going on)")]
    Locked {
        /// The directory.
        path: PathBuf,
        /// Who holds the lock (`process PID`).
        holder: String,
        /// The lock file.
        lock: PathBuf,
    },
    /// The output directory is not empty and overwrite was not requested.
    #[error("output directory {path} is not empty (it holds {entry}); choose an empty directory or overwrite a previous gardencity dataset")]
    NotEmpty {
        /// The directory.
        path: PathBuf,
        /// One entry found in it.
        entry: String,
    },
    /// Overwrite was requested, but the directory holds something gardencity did not write.
    #[error("refusing to overwrite {path}: {entry} is not part of a gardencity dataset ({reason})")]
    Foreign {
        /// The directory.
        path: PathBuf,
        /// The offending entry, relative to the directory.
        entry: String,
        /// Why it is not ours.
        reason: String,
    },
    /// An option is out of range.
    #[error("invalid dataset option {name}: {reason}")]
    Option {
        /// The option's field name.
        name: &'static str,
        /// What was expected.
        reason: String,
    },
    /// An agent's [`gardencity::records::AgentRecord`] has an empty id (the default
    /// record, never filled in).
    #[error("agent output #{position} has no user id (its AgentRecord::id is empty)")]
    MissingAgent {
        /// Position of the agent output in the write sequence (0-based).
        position: u64,
    },
    /// A row names a building index the city does not have.
    #[error(
        "agent {agent}: {output} row {row}: building index {building} does not exist (the city has {count} buildings)"
    )]
    BadBuilding {
        /// The agent's id.
        agent: String,
        /// The table.
        output: OutputKind,
        /// Row index within the agent's rows of that table (homes: 0).
        row: usize,
        /// The bad index.
        building: gardencity::BuildingIdx,
        /// Number of buildings in the city.
        count: usize,
    },
    /// A timestamp cannot be represented as a datetime in milliseconds.
    #[error("agent {agent}: {output} row {row}: timestamp {timestamp} s is out of the supported datetime range")]
    BadTimestamp {
        /// The agent's id.
        agent: String,
        /// The table.
        output: OutputKind,
        /// Row index within the agent's rows of that table.
        row: usize,
        /// The bad value (Unix seconds).
        timestamp: i64,
    },
    /// The manifest passed to [`super::DatasetWriter::finish`] is not a JSON object.
    #[error("the run manifest must be a JSON object or null, got {kind}")]
    ManifestNotObject {
        /// The JSON type given.
        kind: &'static str,
    },
    /// Serializing or parsing a manifest failed.
    #[error("{op} manifest {path}: {source}")]
    Json {
        /// What was being done.
        op: &'static str,
        /// The manifest file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// A file being read does not have the expected content.
    #[error("reading {path}: {reason}")]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What was expected and found.
        reason: String,
    },
    /// An earlier write failed; the writer refuses to continue (the dataset is incomplete).
    #[error("the dataset writer for {path} failed earlier and cannot continue: {first_error}")]
    Failed {
        /// The output directory.
        path: PathBuf,
        /// The first error's message.
        first_error: String,
    },
}

impl DatasetError {
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> DatasetError {
        DatasetError::Io { op, path: path.into(), source }
    }
    pub(crate) fn parquet(
        op: &'static str,
        path: impl Into<PathBuf>,
        source: parquet::errors::ParquetError,
    ) -> DatasetError {
        DatasetError::Parquet { op, path: path.into(), source }
    }
    pub(crate) fn invalid(path: impl Into<PathBuf>, reason: impl Into<String>) -> DatasetError {
        DatasetError::Invalid { path: path.into(), reason: reason.into() }
    }
}
