//! Committing shards from Python: `commit` (shards run separately) and `Reservation`
//! (an output reserved by a distributed run while its tasks write their shards).

use crate::errors::{guard, Kind, PyFail};
use gardencity_run::{Commit, RunReport, ShardSet};
use pyo3::prelude::*;
use std::path::PathBuf;
use std::sync::Mutex;

fn manifest_json(report: &RunReport) -> Result<String, PyFail> {
    serde_json::to_string(&report.manifest).map_err(|e| PyFail::new(Kind::Other, e.to_string()))
}

/// Checks that `dirs` are the shards of one run and commits them as one dataset at
/// `out`; returns its manifest as JSON.
#[pyfunction]
#[pyo3(signature = (out, dirs, overwrite = false))]
pub fn commit(py: Python<'_>, out: PathBuf, dirs: Vec<PathBuf>, overwrite: bool) -> PyResult<String> {
    py.detach(|| {
        guard("committing shards", || {
            let report = gardencity_run::commit_shards(&out, &dirs, overwrite)?;
            manifest_json(&report)
        })
    })
    .map_err(PyErr::from)
}

/// An output directory reserved (prepared and locked) for a distributed run; its
/// tasks write their shards into `staging`.
#[pyclass(module = "gardencity._gardencity")]
pub struct Reservation {
    commit: Mutex<Option<Commit>>,
    staging: PathBuf,
}

/// Reserves `out` for a distributed run (created, empty, or with `overwrite` a previous
/// gardencity dataset deleted), locked until committed or released.
#[pyfunction]
#[pyo3(signature = (out, overwrite = false))]
pub fn reserve_out(py: Python<'_>, out: PathBuf, overwrite: bool) -> PyResult<Reservation> {
    let commit = py.detach(|| guard("reserving the output", || Ok(Commit::reserve(&out, overwrite)?)))?;
    let staging = commit.staging_dir().to_path_buf();
    Ok(Reservation { commit: Mutex::new(Some(commit)), staging })
}

#[pymethods]
impl Reservation {
    /// The hidden directory inside the output where tasks write their shards.
    #[getter]
    fn staging(&self) -> PathBuf {
        self.staging.clone()
    }

    /// Checks that `dirs` are every shard of one run and commits them (manifest with
    /// `distributed_json` recorded, then `_SUCCESS`); returns the manifest as JSON.
    #[pyo3(signature = (dirs, distributed_json = None))]
    fn commit(&self, py: Python<'_>, dirs: Vec<PathBuf>, distributed_json: Option<String>) -> PyResult<String> {
        let taken = self.commit.lock().ok().and_then(|mut c| c.take());
        let Some(commit) = taken else {
            return Err(PyFail::new(Kind::Parameter, "this reservation was already committed or released").into());
        };
        py.detach(|| {
            guard("committing shards", || {
                let distributed = match distributed_json {
                    Some(t) => Some(serde_json::from_str(&t).map_err(|e| PyFail::new(Kind::Parameter, e.to_string()))?),
                    None => None,
                };
                let set = ShardSet::read(&dirs)?;
                manifest_json(&commit.finish(&set, distributed)?)
            })
        })
        .map_err(PyErr::from)
    }

    /// Gives the output up: removes the staging directory and the lock; no `_SUCCESS`.
    fn release(&self) {
        if let Ok(mut c) = self.commit.lock() {
            c.take();
        }
    }
}
