//! Checkpoints of a dataset being written, so that an interrupted run can be resumed.
//!
//! Every [`super::DatasetOptions::checkpoint_agents`] agents (for a run streaming in
//! time, at the first cohort's end past that count) the writer closes every
//! open part file (they stay hidden, `.part-NNNNN.ext.inprogress`) and records them in
//! `OUT/.gardencity-resume.json` with its counts and the run's key. An interrupted run
//! (a signal, an error, a killed process) keeps the checkpointed files and the journal;
//! [`super::DatasetWriter::resume`] continues from the last checkpoint, and since the
//! files are cut at the same agents whether or not a run was interrupted, the resumed
//! dataset's files equal those of an uninterrupted run.

use super::{DatasetError, OutputKind};
use crate::atomic::AtomicPath;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The journal's file name inside the output directory.
pub const CHECKPOINT: &str = ".gardencity-resume.json";

/// What the writer counted of the agents before a checkpoint (the run's counts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct CheckpointCounts {
    /// Agents written.
    pub agents: u64,
    /// Sparse pings (of every sweep configuration).
    pub sparse_pings: u64,
    /// Dense pings simulated (ticks).
    pub dense_pings: u64,
    /// Diary entries.
    pub diary_entries: u64,
    /// Destination entries.
    pub destination_entries: u64,
}

/// One partition's next part number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PartState {
    pub output: String,
    pub config: usize,
    pub date: String,
    pub next_part: u32,
}

/// One closed (complete, still hidden) part file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileState {
    pub output: String,
    /// Hidden name, relative to the output directory.
    pub tmp: String,
    /// Visible name it gets when the dataset is finished.
    pub rel: String,
}

/// The journal of the last checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The run's key ([`super::DatasetOptions::run_key`]): a resume must give the same.
    pub run_key: String,
    /// Counts up to the checkpoint.
    pub counts: CheckpointCounts,
    /// Rows per output (in [`OutputKind::ALL`] order).
    pub(crate) rows: [u64; 5],
    /// Sparse rows per sweep configuration.
    pub(crate) sweep_rows: Vec<u64>,
    pub(crate) parts: Vec<PartState>,
    pub(crate) files: Vec<FileState>,
}

impl Checkpoint {
    /// Reads `OUT/.gardencity-resume.json`, if the directory holds one.
    pub fn read(out: &Path) -> Result<Option<Checkpoint>, DatasetError> {
        let path = out.join(CHECKPOINT);
        let text = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(DatasetError::io("reading", &path, e)),
        };
        let cp: Checkpoint = serde_json::from_slice(&text).map_err(|source| DatasetError::Json {
            op: "parsing",
            path: path.clone(),
            source,
        })?;
        for f in &cp.files {
            let ok = OutputKind::from_dir_name(&f.output).is_some()
                && [&f.tmp, &f.rel].iter().all(|p| !p.split('/').any(|c| c.is_empty() || c == "." || c == ".."));
            if !ok {
                return Err(DatasetError::invalid(
                    &path,
                    format!("file entry {:?} is not a part file of the dataset", f.tmp),
                ));
            }
        }
        Ok(Some(cp))
    }

    /// Writes the journal atomically (a temporary name, then a rename).
    pub(crate) fn write(&self, out: &Path, sync: bool) -> Result<(), DatasetError> {
        let path = out.join(CHECKPOINT);
        let tmp = out.join(format!("{CHECKPOINT}.inprogress"));
        let text = serde_json::to_vec(self).map_err(|source| DatasetError::Json {
            op: "serializing",
            path: path.clone(),
            source,
        })?;
        AtomicPath::at(&path, &tmp).write(&text, sync).map_err(|e| DatasetError::io("writing", &tmp, e))
    }

    /// The hidden files it lists, as paths.
    pub(crate) fn tmp_paths(&self, out: &Path) -> Vec<PathBuf> {
        self.files.iter().map(|f| out.join(&f.tmp)).collect()
    }
}
