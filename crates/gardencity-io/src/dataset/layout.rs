//! File and directory names of a dataset, and the overwrite rules.

use super::lock::{DirLock, LOCK};
use super::{DatasetError, OutputKind};
use crate::atomic::AtomicPath;
use chrono::NaiveDate;
use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The manifest's file name.
pub(crate) const MANIFEST: &str = "manifest.json";
/// The manifest's temporary name while written.
pub(crate) const MANIFEST_TMP: &str = ".manifest.json.inprogress";
/// The completion marker.
pub(crate) const SUCCESS: &str = "_SUCCESS";
/// Suffix of part files being written.
pub(crate) const TMP_SUFFIX: &str = ".inprogress";
/// The hidden directory inside an output directory where the tasks of a distributed
/// run write their shards before they are committed (see [`super::OutReservation`]).
pub const STAGING_DIR: &str = ".gardencity-tasks";

/// `date=YYYY-MM-DD`.
pub(crate) fn partition_dir(date: NaiveDate) -> String {
    format!("date={}", date.format("%Y-%m-%d"))
}

/// `part-00000.parquet`.
pub(crate) fn part_name(n: u32, ext: &str) -> String {
    format!("part-{n:05}.{ext}")
}

/// `.part-00000.parquet.inprogress` (hidden: pyarrow, Spark and DuckDB skip it).
pub(crate) fn tmp_part_name(n: u32, ext: &str) -> String {
    format!(".part-{n:05}.{ext}{TMP_SUFFIX}")
}

/// `part-KKKKK-NNNNN.parquet`: part `n` of shard `k`, in a dataset committed from shards.
pub(crate) fn shard_part_name(k: u64, n: u32, ext: &str) -> String {
    format!("part-{k:05}-{n:05}.{ext}")
}

/// The part number and extension of a visible `part-NNNNN.ext` name.
pub(crate) fn parse_part_name(name: &str) -> Option<(u32, &str)> {
    let (num, ext) = name.strip_prefix("part-")?.split_once('.')?;
    let ok = num.len() >= 5 && num.bytes().all(|b| b.is_ascii_digit()) && (ext == "parquet" || ext == "csv");
    ok.then(|| num.parse().ok().map(|n| (n, ext))).flatten()
}

/// A part file name of ours: `part-NNNNN.ext` or `part-KKKKK-NNNNN.ext`, maybe hidden
/// and in progress.
fn is_part_name(name: &str) -> bool {
    let name = name.strip_prefix('.').and_then(|n| n.strip_suffix(TMP_SUFFIX)).unwrap_or(name);
    if parse_part_name(name).is_some() {
        return true;
    }
    let Some(rest) = name.strip_prefix("part-") else { return false };
    let Some((shard, part)) = rest.split_once('-') else { return false };
    shard.len() >= 5 && shard.bytes().all(|b| b.is_ascii_digit()) && parse_part_name(&format!("part-{part}")).is_some()
}

/// Before a resume: removes the hidden part files of an interrupted run that its last
/// checkpoint does not list (written after it), after checking that every listed one
/// is there and that nothing else is in the output directories.
pub(crate) fn remove_uncommitted(out: &Path, keep: &[PathBuf]) -> Result<(), DatasetError> {
    for k in keep {
        if !k.is_file() {
            return Err(DatasetError::invalid(
                k,
                "a part file of the checkpoint is missing; the run cannot be resumed (start again with overwrite)",
            ));
        }
    }
    let keep: std::collections::BTreeSet<&PathBuf> = keep.iter().collect();
    let mut stack: Vec<PathBuf> =
        OutputKind::ALL.iter().map(|k| out.join(k.dir_name())).filter(|d| d.is_dir()).collect();
    let mut remove = Vec::new();
    while let Some(d) = stack.pop() {
        for (name, ft) in entries(&d)? {
            let p = d.join(&name);
            if ft.is_dir() {
                stack.push(p);
            } else if name.starts_with('.') && name.ends_with(TMP_SUFFIX) && is_part_name(&name) {
                if !keep.contains(&p) {
                    remove.push(p);
                }
            } else {
                return Err(DatasetError::Foreign {
                    path: out.into(),
                    entry: p.strip_prefix(out).unwrap_or(&p).display().to_string(),
                    reason: "an interrupted run holds only hidden part files".into(),
                });
            }
        }
    }
    for p in remove {
        fs::remove_file(&p).map_err(|e| DatasetError::io("removing", &p, e))?;
    }
    let _ = fs::remove_file(out.join(MANIFEST_TMP));
    Ok(())
}

/// Writes a whole file (fsynced when `sync`).
pub(crate) fn write_file(path: &Path, bytes: &[u8], sync: bool) -> Result<(), DatasetError> {
    let mut f = fs::File::create(path).map_err(|e| DatasetError::io("creating", path, e))?;
    f.write_all(bytes).map_err(|e| DatasetError::io("writing", path, e))?;
    if sync {
        f.sync_all().map_err(|e| DatasetError::io("syncing", path, e))?;
    }
    Ok(())
}

/// The last step of every dataset: writes `manifest.json` (through a hidden temporary
/// name) and then the empty `_SUCCESS` marker, pushing each onto `published` as it
/// appears (so a caller that fails later can remove them).
pub(crate) fn publish_manifest(
    out: &Path,
    manifest: &serde_json::Value,
    sync: bool,
    published: &mut Vec<PathBuf>,
) -> Result<(), DatasetError> {
    let tmp = out.join(MANIFEST_TMP);
    let dest = out.join(MANIFEST);
    let mut text = serde_json::to_vec_pretty(manifest).map_err(|source| DatasetError::Json {
        op: "serializing",
        path: dest.clone(),
        source,
    })?;
    text.push(b'\n');
    AtomicPath::at(&dest, &tmp).write(&text, sync).map_err(|e| DatasetError::io("writing", &tmp, e))?;
    published.push(dest);
    let marker = out.join(SUCCESS);
    published.push(marker.clone());
    write_file(&marker, b"", sync)?;
    if let Some(d) = sync.then(|| fs::File::open(out).ok()).flatten() {
        // Persist the renames; not every platform can sync a directory.
        let _ = d.sync_all();
    }
    Ok(())
}

fn parse_partition(name: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(name.strip_prefix("date=")?, "%Y-%m-%d").ok()
}

fn entries(dir: &Path) -> Result<Vec<(String, fs::FileType)>, DatasetError> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir).map_err(|e| DatasetError::io("listing", dir, e))? {
        let e = e.map_err(|e| DatasetError::io("listing", dir, e))?;
        let ft = e.file_type().map_err(|err| DatasetError::io("inspecting", e.path(), err))?;
        out.push((e.file_name().to_string_lossy().into_owned(), ft));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// Prepares the output directory and locks it for the run: creates it, accepts it
/// empty, or (with `overwrite`) deletes a previous gardencity dataset after checking
/// that it holds nothing else. Fails when another run holds the lock.
pub(crate) fn prepare_out_dir(out: &Path, overwrite: bool) -> Result<DirLock, DatasetError> {
    match fs::symlink_metadata(out) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            fs::create_dir_all(out).map_err(|e| DatasetError::io("creating directory", out, e))?;
        }
        Err(e) => return Err(DatasetError::io("inspecting", out, e)),
        Ok(m) if !m.is_dir() => return Err(DatasetError::NotADirectory { path: out.into() }),
        Ok(_) => {}
    }
    // The lock first: nothing is checked or deleted while another run writes here.
    let lock = DirLock::acquire(out)?;
    let top: Vec<_> = entries(out)?.into_iter().filter(|(name, _)| name != LOCK).collect();
    if top.is_empty() {
        return Ok(lock);
    }
    if !overwrite {
        let ours = top.iter().any(|(n, _)| OutputKind::from_dir_name(n).is_some() || n == MANIFEST);
        let complete = top.iter().any(|(n, _)| n == SUCCESS);
        let checkpoint = super::checkpoint::Checkpoint::read(out).ok().flatten();
        let entry = if let Some(cp) = checkpoint {
            format!(
                "an interrupted gardencity run, checkpointed after {} agents: resume it with the same parameters and \
                 --resume (Python: resume=True), or start again with overwrite",
                cp.counts.agents
            )
        } else if top.iter().any(|(n, _)| n == STAGING_DIR) {
            format!("{STAGING_DIR}, the shards of an interrupted or failed distributed run")
        } else if ours && !complete {
            "an interrupted or failed gardencity run: no _SUCCESS".to_string()
        } else {
            top[0].0.clone()
        };
        return Err(DatasetError::NotEmpty { path: out.into(), entry });
    }
    // Check everything first, delete only when all of it is ours.
    let foreign =
        |entry: String, reason: &str| DatasetError::Foreign { path: out.into(), entry, reason: reason.into() };
    let mut remove_dirs: Vec<PathBuf> = Vec::new();
    let mut remove_files: Vec<PathBuf> = Vec::new();
    for (name, ft) in top {
        if OutputKind::from_dir_name(&name).is_some() {
            if !ft.is_dir() {
                return Err(foreign(name, "expected an output directory"));
            }
            let sub = out.join(&name);
            // date= partitions, or (sparse pings of a sampling sweep) config=NAME
            // directories of date= partitions.
            let mut dirs = vec![(sub.clone(), name.clone(), true)];
            while let Some((dir, rel_dir, top)) = dirs.pop() {
                for (pname, pft) in entries(&dir)? {
                    let rel = format!("{rel_dir}/{pname}");
                    if top && pname.starts_with("config=") && pft.is_dir() {
                        dirs.push((dir.join(&pname), rel, false));
                        continue;
                    }
                    if parse_partition(&pname).is_none() || !pft.is_dir() {
                        return Err(foreign(rel, "expected a date=YYYY-MM-DD partition directory"));
                    }
                    for (fname, fft) in entries(&dir.join(&pname))? {
                        if !fft.is_file() || !is_part_name(&fname) {
                            return Err(foreign(
                                format!("{rel}/{fname}"),
                                "expected a part-NNNNN.parquet or .csv file",
                            ));
                        }
                    }
                }
            }
            remove_dirs.push(sub);
        } else if name == STAGING_DIR && ft.is_dir() {
            // The shards of an interrupted distributed run (each a dataset of its own).
            remove_dirs.push(out.join(name));
        } else if (name == super::checkpoint::CHECKPOINT
            || name == format!("{}.inprogress", super::checkpoint::CHECKPOINT))
            && ft.is_file()
        {
            remove_files.push(out.join(name));
        } else if name == MANIFEST || name == MANIFEST_TMP || name == SUCCESS {
            if !ft.is_file() {
                return Err(foreign(name, "expected a file"));
            }
            remove_files.push(out.join(name));
        } else {
            return Err(foreign(name, "gardencity writes only output directories, manifest.json and _SUCCESS"));
        }
    }
    // The marker first, so an interrupted delete never leaves a dataset that looks complete.
    remove_files.sort_by_key(|p| p.file_name().map(|n| n != SUCCESS));
    for f in remove_files {
        fs::remove_file(&f).map_err(|e| DatasetError::io("removing", &f, e))?;
    }
    for d in remove_dirs {
        fs::remove_dir_all(&d).map_err(|e| DatasetError::io("removing directory", &d, e))?;
    }
    Ok(lock)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn part_names() {
        assert_eq!(part_name(3, "csv"), "part-00003.csv");
        assert_eq!(tmp_part_name(12, "parquet"), ".part-00012.parquet.inprogress");
        assert!(is_part_name("part-00000.parquet"));
        assert!(is_part_name(".part-00001.csv.inprogress"));
        assert!(!is_part_name("part-00001.txt"));
        assert!(!is_part_name("notes.parquet"));
        assert_eq!(shard_part_name(3, 12, "parquet"), "part-00003-00012.parquet");
        assert!(is_part_name("part-00003-00012.parquet"));
        assert!(is_part_name(".part-00003-00012.csv.inprogress"));
        assert!(!is_part_name("part-00003-12.parquet"));
        assert!(!is_part_name("part-003-00012.parquet"));
        assert_eq!(parse_part_name("part-00012.csv"), Some((12, "csv")));
        assert_eq!(parse_part_name("part-00003-00012.csv"), None);
        assert_eq!(partition_dir(NaiveDate::from_ymd_opt(2024, 3, 9).unwrap()), "date=2024-03-09");
        assert_eq!(parse_partition("date=2024-03-09"), NaiveDate::from_ymd_opt(2024, 3, 9));
        assert_eq!(parse_partition("date=2024-13-09"), None);
    }
}
