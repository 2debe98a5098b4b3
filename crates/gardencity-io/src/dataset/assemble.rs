//! [`OutReservation`]: one dataset assembled from the datasets of its shards.
//!
//! Shard `k`'s part file `DIR/OUTPUT/…/part-NNNNN.ext` becomes
//! `OUT/OUTPUT/…/part-KKKKK-NNNNN.ext`: the same bytes (a hard link where the file
//! system allows, else a copy), under a name unique to the shard and sorted in agent
//! order. Then `manifest.json` (rows and files of every shard, summed and listed) and
//! `_SUCCESS`, exactly as [`super::DatasetWriter::finish`] ends a dataset.

use super::layout::{self, STAGING_DIR, TMP_SUFFIX};
use super::lock::DirLock;
use super::read::{read_manifest, Manifest};
use super::{DatasetError, DatasetSummary, OutputKind};
use crate::atomic::AtomicPath;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// An output directory prepared and locked for a dataset assembled from shards.
///
/// A distributed run reserves its output first, lets its tasks write their shards into
/// [`OutReservation::staging_dir`], then calls [`OutReservation::assemble`]. Dropped
/// without assembling, it removes the staging directory and leaves no `_SUCCESS`.
#[derive(Debug)]
pub struct OutReservation {
    out: PathBuf,
    staging: PathBuf,
    sync: bool,
    _lock: DirLock,
}

/// One shard to assemble: its index `k` and its finished dataset directory.
#[derive(Debug, Clone, Copy)]
pub struct ShardDataset<'a> {
    /// The shard's index (`K` of `K/N`), which names its part files.
    pub index: u64,
    /// Its dataset directory (with `_SUCCESS`).
    pub dir: &'a Path,
}

impl OutReservation {
    /// Prepares `out` as [`super::DatasetWriter::create`] does (created, empty, or with
    /// `overwrite` a previous gardencity dataset deleted), locks it, and creates the
    /// hidden staging directory inside it.
    pub fn reserve(out: impl AsRef<Path>, overwrite: bool) -> Result<OutReservation, DatasetError> {
        let out = out.as_ref().to_path_buf();
        let lock = layout::prepare_out_dir(&out, overwrite)?;
        let staging = out.join(STAGING_DIR);
        fs::create_dir_all(&staging).map_err(|e| DatasetError::io("creating directory", &staging, e))?;
        Ok(OutReservation { out, staging, sync: true, _lock: lock })
    }

    /// The output directory.
    pub fn out_dir(&self) -> &Path {
        &self.out
    }

    /// Where tasks may write their shards (`OUT/.gardencity-tasks`, hidden from
    /// dataset readers; removed by [`OutReservation::assemble`] and on drop).
    pub fn staging_dir(&self) -> &Path {
        &self.staging
    }

    /// Brings the shards' part files into the output, in the given order, then writes
    /// `manifest.json` (the run manifest `manifest`, an object, with the merged
    /// `dataset` entry) and `_SUCCESS`. On error nothing that looks complete is left.
    pub fn assemble(self, shards: &[ShardDataset<'_>], manifest: Value) -> Result<DatasetSummary, DatasetError> {
        let mut published = Vec::new();
        let r = self.assemble_inner(shards, manifest, &mut published);
        if r.is_err() {
            // The marker first: an interrupted clean-up never looks complete.
            published.reverse();
            for p in &published {
                let _ = fs::remove_file(p);
            }
        }
        r
    }

    fn assemble_inner(
        &self,
        shards: &[ShardDataset<'_>],
        manifest: Value,
        published: &mut Vec<PathBuf>,
    ) -> Result<DatasetSummary, DatasetError> {
        let Value::Object(mut run) = manifest else {
            return Err(DatasetError::ManifestNotObject { kind: "not an object" });
        };
        let first =
            shards.first().ok_or(DatasetError::Option { name: "shards", reason: "no shard to assemble".into() })?;
        let manifests = shards.iter().map(|s| read_manifest(s.dir)).collect::<Result<Vec<_>, _>>()?;
        let base = &manifests[0];
        for (s, m) in shards.iter().zip(&manifests).skip(1) {
            same_layout(base, first.dir, m, s.dir)?;
        }
        let mut files: BTreeMap<OutputKind, Vec<String>> = BTreeMap::new();
        let mut rows: BTreeMap<OutputKind, u64> = BTreeMap::new();
        let mut agents = 0;
        // The configurations of the first shard, their rows summed over every shard.
        let mut sweep_rows: Vec<(String, u64)> =
            sweep_rows_of(base, first.dir)?.into_iter().map(|(name, _)| (name, 0)).collect();
        for (s, m) in shards.iter().zip(&manifests) {
            agents += m.agents;
            for (name, n) in sweep_rows.iter_mut().zip(sweep_rows_of(m, s.dir)?) {
                if name.0 != n.0 {
                    return Err(DatasetError::invalid(s.dir.join("manifest.json"), "its sweep configurations differ"));
                }
                name.1 += n.1;
            }
            for (&kind, o) in &m.outputs {
                *rows.entry(kind).or_default() += o.rows;
                let list = files.entry(kind).or_default();
                for rel in &o.files {
                    let new_rel = shard_rel(rel, s.index)
                        .ok_or_else(|| DatasetError::invalid(s.dir.join("manifest.json"), bad_file(rel)))?;
                    let dest = self.out.join(&new_rel);
                    if let Some(parent) = dest.parent() {
                        fs::create_dir_all(parent).map_err(|e| DatasetError::io("creating directory", parent, e))?;
                    }
                    link_or_copy(&s.dir.join(rel), &dest)?;
                    published.push(dest);
                    list.push(new_rel);
                }
            }
        }
        let mut outputs = serde_json::Map::new();
        for (kind, list) in &mut files {
            list.sort();
            let d = self.out.join(kind.dir_name());
            fs::create_dir_all(&d).map_err(|e| DatasetError::io("creating directory", &d, e))?;
            outputs.insert(kind.dir_name().into(), json!({ "rows": rows[kind], "files": list }));
        }
        let mut dataset = base.raw.get("dataset").cloned().unwrap_or(Value::Null);
        dataset["agents"] = json!(agents);
        dataset["outputs"] = Value::Object(outputs);
        dataset["shards"] = json!(shards.len());
        if !sweep_rows.is_empty() {
            dataset["sweep"] = Value::Array(
                sweep_rows.iter().map(|(name, rows)| json!({ "config": name, "sparse_rows": rows })).collect(),
            );
        }
        run.insert("dataset".into(), dataset.clone());
        layout::publish_manifest(&self.out, &Value::Object(run), self.sync, published)?;
        // The dataset is complete; the staging directory (whose files are linked or
        // copied) goes, best effort.
        let _ = fs::remove_dir_all(&self.staging);
        Ok(DatasetSummary { out_dir: self.out.clone(), agents, rows, files, sweep_rows, manifest_entry: dataset })
    }
}

impl Drop for OutReservation {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.staging);
    }
}

fn bad_file(rel: &str) -> String {
    format!("listed file {rel:?} is not a part-NNNNN file of an output directory")
}

/// `sparse/date=D/part-00001.parquet` of shard 3 → `sparse/date=D/part-00003-00001.parquet`.
fn shard_rel(rel: &str, k: u64) -> Option<String> {
    let (dir, name) = rel.rsplit_once('/')?;
    let top = dir.split('/').next()?;
    OutputKind::from_dir_name(top)?;
    if dir.split('/').any(|c| c.is_empty() || c == "." || c == "..") {
        return None;
    }
    let (n, ext) = layout::parse_part_name(name)?;
    Some(format!("{dir}/{}", layout::shard_part_name(k, n, ext)))
}

/// Hard-links `src` as `dest`, or copies it (through a hidden temporary name) where
/// links are not possible (another file system).
fn link_or_copy(src: &Path, dest: &Path) -> Result<(), DatasetError> {
    if !src.is_file() {
        return Err(DatasetError::invalid(src, "a part file listed in the shard's manifest is missing"));
    }
    if fs::hard_link(src, dest).is_ok() {
        return Ok(());
    }
    let name = dest.file_name().and_then(|n| n.to_str()).unwrap_or("part");
    let tmp = dest.with_file_name(format!(".{name}{TMP_SUFFIX}"));
    let a = AtomicPath::at(dest, &tmp);
    fs::copy(src, &tmp).map_err(|e| DatasetError::io("copying", src, e))?;
    a.commit().map_err(|e| DatasetError::io("renaming", &tmp, e))
}

/// The configurations and sparse rows of a manifest's sweep (empty without one).
fn sweep_rows_of(m: &Manifest, dir: &Path) -> Result<Vec<(String, u64)>, DatasetError> {
    let Some(list) = m.raw.get("dataset").and_then(|d| d.get("sweep")) else { return Ok(Vec::new()) };
    let bad = || DatasetError::invalid(dir.join("manifest.json"), "dataset.sweep is invalid");
    list.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|c| {
            let name = c.get("config").and_then(Value::as_str).ok_or_else(bad)?;
            let rows = c.get("sparse_rows").and_then(Value::as_u64).ok_or_else(bad)?;
            Ok((name.to_string(), rows))
        })
        .collect()
}

/// Shards are assembled only when their files are alike: format, coordinates, time
/// zone, start date, georeference and outputs.
fn same_layout(a: &Manifest, a_dir: &Path, b: &Manifest, b_dir: &Path) -> Result<(), DatasetError> {
    let diff = if a.format != b.format {
        Some(format!("format {} vs {}", a.format.as_str(), b.format.as_str()))
    } else if a.coordinates != b.coordinates {
        Some(format!("coordinates {} vs {}", a.coordinates.as_str(), b.coordinates.as_str()))
    } else if a.time_zone != b.time_zone {
        Some(format!("time zone {} vs {}", a.time_zone.name(), b.time_zone.name()))
    } else if a.start_date != b.start_date {
        Some(format!("start date {} vs {}", a.start_date, b.start_date))
    } else if a.georeference != b.georeference {
        Some("georeference".to_string())
    } else if a.outputs.keys().ne(b.outputs.keys()) {
        Some("outputs".to_string())
    } else {
        None
    };
    match diff {
        Some(d) => Err(DatasetError::invalid(
            b_dir,
            format!("its files differ from those of {} ({d}): not shards of one run", a_dir.display()),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_file_names() {
        assert_eq!(
            shard_rel("sparse/date=2024-01-01/part-00001.parquet", 3).as_deref(),
            Some("sparse/date=2024-01-01/part-00003-00001.parquet")
        );
        assert_eq!(
            shard_rel("sparse/config=a/date=2024-01-01/part-00000.csv", 12).as_deref(),
            Some("sparse/config=a/date=2024-01-01/part-00012-00000.csv")
        );
        assert_eq!(shard_rel("homes/part-00000.parquet", 0).as_deref(), Some("homes/part-00000-00000.parquet"));
        assert_eq!(shard_rel("../x/part-00000.parquet", 0), None);
        assert_eq!(shard_rel("sparse/../../part-00000.parquet", 0), None);
        assert_eq!(shard_rel("part-00000.parquet", 0), None);
        assert_eq!(shard_rel("sparse/date=2024-01-01/notes.txt", 0), None);
    }
}
