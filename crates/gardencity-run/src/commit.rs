//! Committing shards as one dataset: [`ShardSet`] checks that finished datasets are the
//! shards of one run, [`Commit`] assembles them into one dataset with one manifest.
//!
//! Used by `gardencity commit OUT SHARD_DIR...` (shards run by a batch queue, each into
//! its own directory) and by the distributed runner (tasks write their shards into the
//! output's staging directory, then the driver commits).
//!
//! ```no_run
//! use gardencity_run::commit::commit_shards;
//! use std::path::PathBuf;
//! let dirs: Vec<PathBuf> = (0..4).map(|k| PathBuf::from(format!("shard-{k}"))).collect();
//! let report = commit_shards("run".as_ref(), &dirs, false).unwrap();
//! assert_eq!(report.manifest.tasks.len(), 4);
//! ```

use crate::manifest::{Counts, RunManifest, TaskRecord, Timings};
use crate::runner::RunReport;
use crate::spec::Shard;
use crate::RunError;
use gardencity_io::dataset::{OutReservation, ShardDataset};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Finished shard datasets checked to be every shard of one run, exactly once.
#[derive(Debug, Clone)]
pub struct ShardSet {
    /// The shards' directories and manifests, in shard order.
    shards: Vec<(PathBuf, RunManifest)>,
}

/// Why a commit was refused.
fn refuse(reason: impl Into<String>) -> RunError {
    RunError::Commit(reason.into())
}

/// The manifest entries that must be equal in every shard of one run (everything but
/// what is the shard's own: its index, agent range, counts, timings, threads, files,
/// and the path the city was read from).
pub(crate) fn run_identity(m: &RunManifest) -> Result<serde_json::Map<String, Value>, RunError> {
    let Value::Object(mut v) = m.to_json()? else { return Err(refuse("a manifest is not an object")) };
    for key in ["shard", "first_agent", "shard_agents", "counts", "timings_s", "threads", "dataset", "tasks"] {
        v.remove(key);
    }
    if let Some(city) = v.get_mut("city").and_then(Value::as_object_mut) {
        city.remove("source");
    }
    if let Some(Value::Array(sweep)) = v.get_mut("sweep") {
        for c in sweep.iter_mut().filter_map(Value::as_object_mut) {
            c.remove("sparse_pings");
        }
    }
    v.insert("shards".into(), Value::from(m.shard.map_or(1, |s| s.n)));
    Ok(v)
}

/// The first entry in which two manifests differ, as `key (a vs b)`.
fn first_difference(a: &serde_json::Map<String, Value>, b: &serde_json::Map<String, Value>) -> String {
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for k in keys {
        let (x, y) = (a.get(k), b.get(k));
        if x != y {
            let show = |v: Option<&Value>| {
                let t = v.map_or_else(|| "absent".to_string(), Value::to_string);
                if t.len() > 80 {
                    format!("{}...", &t[..t.char_indices().nth(77).map_or(t.len(), |(i, _)| i)])
                } else {
                    t
                }
            };
            return format!("{k} ({} vs {})", show(x), show(y));
        }
    }
    "nothing".into()
}

/// The first difference between two run keys (JSON objects of [`run_identity`]).
pub(crate) fn key_difference(a: &str, b: &str) -> String {
    let parse = |t: &str| serde_json::from_str::<serde_json::Map<String, Value>>(t).unwrap_or_default();
    first_difference(&parse(a), &parse(b))
}

impl ShardSet {
    /// Reads the manifests of `dirs` (each a finished run of `simulate --shard K/N`; a
    /// run without a shard counts as shard 0/1) and checks that they are shards of one
    /// run: same parameters, city, seed and version, every `K` of `0..N` exactly once.
    pub fn read(dirs: &[PathBuf]) -> Result<ShardSet, RunError> {
        if dirs.is_empty() {
            return Err(refuse("no shard directories given"));
        }
        let mut read = Vec::with_capacity(dirs.len());
        for d in dirs {
            let m = RunManifest::read(d).map_err(|e| refuse(format!("shard directory {}: {e}", d.display())))?;
            read.push((d.clone(), m));
        }
        let base = run_identity(&read[0].1)?;
        for (d, m) in &read[1..] {
            let id = run_identity(m)?;
            if id != base {
                return Err(refuse(format!(
                    "{} is not a shard of the same run as {}: they differ in {}",
                    d.display(),
                    read[0].0.display(),
                    first_difference(&base, &id)
                )));
            }
        }
        let shard_of = |m: &RunManifest| m.shard.unwrap_or(Shard { k: 0, n: 1 });
        let n = shard_of(&read[0].1).n;
        let mut slots: Vec<Option<usize>> = vec![None; usize::try_from(n).unwrap_or(usize::MAX).min(dirs.len() + 1)];
        if (slots.len() as u64) < n {
            return Err(refuse(format!(
                "the run has {n} shards but {} directories were given; every shard 0/{n} .. {}/{n} is needed",
                dirs.len(),
                n - 1
            )));
        }
        for (i, (d, m)) in read.iter().enumerate() {
            let s = shard_of(m);
            let (first, count) = s.range(m.agents);
            if (m.first_agent, m.shard_agents) != (first, count) {
                return Err(refuse(format!(
                    "{}: shard {s} should hold agents {first}..{} but its manifest says {}..{}",
                    d.display(),
                    first + count,
                    m.first_agent,
                    m.first_agent + m.shard_agents
                )));
            }
            let slot = &mut slots[s.k as usize];
            if let Some(j) = *slot {
                return Err(refuse(format!("shard {s} is given twice: {} and {}", read[j].0.display(), d.display())));
            }
            *slot = Some(i);
        }
        let missing: Vec<String> =
            slots.iter().enumerate().filter(|(_, s)| s.is_none()).map(|(k, _)| format!("{k}/{n}")).collect();
        if !missing.is_empty() {
            return Err(refuse(format!("shard {} of the run is missing", missing.join(", "))));
        }
        let mut shards = read;
        shards.sort_by_key(|(_, m)| shard_of(m).k);
        Ok(ShardSet { shards })
    }

    /// The shards, in shard order: directory and manifest.
    pub fn shards(&self) -> &[(PathBuf, RunManifest)] {
        &self.shards
    }

    /// The manifest of the whole run: the shards' parameters, their counts summed,
    /// one [`TaskRecord`] per shard, and timings of the longest shard.
    pub fn merged_manifest(&self) -> RunManifest {
        let mut m = self.shards[0].1.clone();
        m.shard = None;
        m.first_agent = 0;
        m.shard_agents = m.agents;
        m.dataset = None;
        m.city.source = self.shards.iter().map(|(_, s)| s.city.source.clone()).next().unwrap_or_default();
        let mut counts = Counts::default();
        let mut timings = Timings::default();
        for (i, c) in m.sweep.iter_mut().enumerate() {
            c.sparse_pings = self.shards.iter().map(|(_, s)| s.sweep.get(i).map_or(0, |r| r.sparse_pings)).sum();
        }
        m.tasks = self
            .shards
            .iter()
            .map(|(dir, s)| {
                counts.agents += s.counts.agents;
                counts.sparse_pings += s.counts.sparse_pings;
                counts.dense_pings += s.counts.dense_pings;
                counts.diary_entries += s.counts.diary_entries;
                counts.destination_entries += s.counts.destination_entries;
                timings.setup = timings.setup.max(s.timings_s.setup);
                timings.simulate_and_write = timings.simulate_and_write.max(s.timings_s.simulate_and_write);
                TaskRecord {
                    shard: s.shard.unwrap_or(Shard { k: 0, n: 1 }),
                    dir: dir.file_name().map_or_else(|| dir.display().to_string(), |n| n.to_string_lossy().into()),
                    first_agent: s.first_agent,
                    agents: s.shard_agents,
                    threads: s.threads,
                    counts: s.counts,
                    timings_s: s.timings_s,
                }
            })
            .collect();
        m.threads = self.shards.iter().map(|(_, s)| s.threads).sum();
        m.counts = counts;
        m.timings_s = timings;
        m
    }
}

/// An output directory reserved for a commit (created or emptied, and locked).
#[derive(Debug)]
pub struct Commit {
    reservation: OutReservation,
}

impl Commit {
    /// Reserves `out`: created, empty, or (with `overwrite`) a previous gardencity
    /// dataset deleted; locked until the commit ends.
    pub fn reserve(out: &Path, overwrite: bool) -> Result<Commit, RunError> {
        Ok(Commit { reservation: OutReservation::reserve(out, overwrite)? })
    }

    /// The hidden directory inside the output where tasks may write their shards
    /// (removed when the commit ends, or when it is dropped).
    pub fn staging_dir(&self) -> &Path {
        self.reservation.staging_dir()
    }

    /// Assembles `shards` into the output; `distributed` (how a distributed run went:
    /// engine, tasks, wall time) is recorded in the manifest as is.
    pub fn finish(self, shards: &ShardSet, distributed: Option<Value>) -> Result<RunReport, RunError> {
        let mut manifest = shards.merged_manifest();
        manifest.distributed = distributed;
        let list: Vec<ShardDataset<'_>> =
            shards.shards.iter().map(|(dir, m)| ShardDataset { index: m.shard.map_or(0, |s| s.k), dir }).collect();
        let summary = self.reservation.assemble(&list, manifest.to_json()?)?;
        manifest.dataset = Some(summary.manifest_entry.clone());
        Ok(RunReport { manifest, dataset: Some(summary) })
    }
}

/// `gardencity commit OUT DIR...`: checks `dirs` ([`ShardSet::read`]) before `out` is
/// touched, then assembles them into `out` with one manifest and `_SUCCESS`. The shard
/// directories are left as they are (their files are hard-linked, or copied).
pub fn commit_shards(out: &Path, dirs: &[PathBuf], overwrite: bool) -> Result<RunReport, RunError> {
    let set = ShardSet::read(dirs)?;
    // The absolute form of a path that may not exist yet (its nearest existing
    // ancestor resolved).
    let absolute = |p: &Path| -> Option<PathBuf> {
        let mut tail = Vec::new();
        let mut cur = p;
        loop {
            if let Ok(c) = cur.canonicalize() {
                return Some(tail.iter().rev().fold(c, |acc: PathBuf, n| acc.join(n)));
            }
            tail.push(cur.file_name()?.to_os_string());
            cur = cur.parent().filter(|q| !q.as_os_str().is_empty()).unwrap_or(Path::new("."));
        }
    };
    let out_abs = absolute(out);
    for (d, _) in set.shards() {
        let inside = match (absolute(d), &out_abs) {
            (Some(d), Some(o)) => d.starts_with(o) || o.starts_with(&d),
            _ => false,
        };
        if inside {
            return Err(refuse(format!(
                "the output {} and the shard directory {} must not be inside one another",
                out.display(),
                d.display()
            )));
        }
    }
    Commit::reserve(out, overwrite)?.finish(&set, None)
}
