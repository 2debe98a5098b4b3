//! gardencity runs as values.
//!
//! A [`RunSpec`] says everything about a run with the keys of the `--config` TOML file
//! (and of Python's `gardencity.simulate`). [`PreparedRun::new`] checks it and loads its
//! city ([`CityInput`]: a GeoPackage with or without stored gravity, a snapshot, the
//! built-in default, or a city in memory), the gravity actually used and the anchors;
//! then [`PreparedRun::simulate`] streams the records into any sink, or
//! [`PreparedRun::write_dataset`] writes the dataset and its [`RunManifest`]. The
//! command line and the Python package are thin layers over this crate.
//!
//! ```no_run
//! use gardencity_run::{run_to_dataset, Control, RunSpec};
//! use std::sync::atomic::AtomicBool;
//! let spec = RunSpec::from_toml("agents = 10\ndays = 1\nout = \"run\"\noverwrite = true").unwrap();
//! let report = run_to_dataset(&spec, None, &Control { progress: &|_| {}, cancel: &AtomicBool::new(false) }).unwrap();
//! println!("{} sparse pings", report.manifest.counts.sparse_pings);
//! ```
#![warn(missing_docs)]

pub mod city;
pub mod commit;
mod error;
pub mod manifest;
pub mod runner;
pub mod spec;
pub mod sweep;
pub mod time;

pub use city::{default_city, CityInput, CityRecord, GravityRecord, PreparedCity};
pub use commit::{commit_shards, Commit, ShardSet};
pub use error::RunError;
pub use manifest::{Counts, RunManifest, SweepRecord, TaskRecord, Timings};
pub use runner::{run_to_dataset, Control, PreparedRun, RunReport};
pub use spec::{GravitySpec, RunSpec, Shard, Window};
pub use sweep::{SweepConfig, SweepSpec};
