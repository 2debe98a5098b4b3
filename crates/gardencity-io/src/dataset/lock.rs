//! [`DirLock`]: one writer per output directory, for the whole run.
//!
//! The lock is a file `OUT/.gardencity.lock` created exclusively (`O_EXCL`), holding
//! the writer's process id, start time and host name; it is removed when the writer finishes or
//! is dropped. A lock whose process no longer runs (killed) on this host is stale and
//! taken over; a lock of another host (a shared file system) never is.

use super::DatasetError;
use std::fs::{self, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The lock file's name inside the output directory.
pub(crate) const LOCK: &str = ".gardencity.lock";

/// A held lock on an output directory (released on drop).
#[derive(Debug)]
pub(crate) struct DirLock {
    path: PathBuf,
}

/// This machine's host name (Linux), so that a lock taken on another machine of a
/// shared file system is never judged stale by looking up its process here.
fn host_name() -> String {
    fs::read_to_string("/proc/sys/kernel/hostname").map(|h| h.trim().to_string()).unwrap_or_default()
}

/// Whether process `pid` runs (Linux: `/proc/PID`; elsewhere it is assumed to run).
fn alive(pid: u32) -> bool {
    if cfg!(target_os = "linux") {
        Path::new("/proc").join(pid.to_string()).exists()
    } else {
        true
    }
}

/// When process `pid` started, in Unix seconds (Linux: `/proc/PID/stat` field 22, in
/// clock ticks after boot, plus the boot time of `/proc/stat`); `None` when unknown.
fn started_at(pid: u32) -> Option<u64> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the parenthesised command name (which may hold spaces).
    let rest = &stat[stat.rfind(')')? + 2..];
    let ticks: u64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let boot: u64 =
        fs::read_to_string("/proc/stat").ok()?.lines().find_map(|l| l.strip_prefix("btime "))?.trim().parse().ok()?;
    // USER_HZ is 100 on every Linux platform Rust targets.
    Some(boot + ticks / 100)
}

/// True when the lock's process still runs: its pid is alive and (when both are
/// known) started no later than the lock was taken, so a pid reused by another
/// process after the writer died does not hold the directory.
fn holder_runs(pid: u32, lock_started: Option<u64>) -> bool {
    if !alive(pid) {
        return false;
    }
    match (started_at(pid), lock_started) {
        // A second of slack for rounding.
        (Some(p), Some(l)) => p <= l + 1,
        _ => true,
    }
}

impl DirLock {
    /// Takes the lock of `dir` (which exists), or says which process holds it.
    pub(crate) fn acquire(dir: &Path) -> Result<DirLock, DatasetError> {
        let path = dir.join(LOCK);
        // Two tries: the second after removing a stale lock.
        for _ in 0..2 {
            match OpenOptions::new().write(true).create_new(true).open(&path) {
                Ok(mut f) => {
                    let now =
                        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
                    writeln!(f, "pid={}\nstarted={now}\nhost={}", std::process::id(), host_name())
                        .map_err(|e| DatasetError::io("writing", &path, e))?;
                    return Ok(DirLock { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let text = fs::read_to_string(&path).unwrap_or_default();
                    let pid = text.lines().find_map(|l| l.strip_prefix("pid=")).and_then(|p| p.trim().parse().ok());
                    let host = text.lines().find_map(|l| l.strip_prefix("host=")).map(str::trim);
                    let here = host.is_none_or(|h| h == host_name());
                    let started =
                        text.lines().find_map(|l| l.strip_prefix("started=")).and_then(|s| s.trim().parse().ok());
                    match pid {
                        Some(pid) if here && !holder_runs(pid, started) => {
                            // Left by a killed run: take it over.
                            let _ = fs::remove_file(&path);
                        }
                        _ => {
                            let holder = match (pid, host) {
                                (None, _) => "an unknown process".to_string(),
                                (Some(p), Some(h)) if !here => format!("process {p} on host {h}"),
                                (Some(p), _) => format!("process {p}"),
                            };
                            return Err(DatasetError::Locked { path: dir.into(), holder, lock: path });
                        }
                    }
                }
                Err(e) => return Err(DatasetError::io("creating", &path, e)),
            }
        }
        Err(DatasetError::Locked { path: dir.into(), holder: "another process".into(), lock: path })
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        let _ = fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_holder_at_a_time_and_stale_locks_are_taken_over() {
        let dir = tempfile::tempdir().unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(err.contains(&format!("process {}", std::process::id())), "{err}");
        drop(lock);
        assert!(!dir.path().join(LOCK).exists());
        // A lock of a process that no longer runs (pid beyond any real one).
        fs::write(dir.path().join(LOCK), "pid=4000000000\nstarted=0\n").unwrap();
        let lock = DirLock::acquire(dir.path()).unwrap();
        drop(lock);
        // A lock whose pid now belongs to a process started later (pid 1 started at boot,
        // so a lock "taken" at time 1 by pid 1) is stale too.
        fs::write(dir.path().join(LOCK), format!("pid=1\nstarted=1\nhost={}\n", host_name())).unwrap();
        if started_at(1).is_some() {
            drop(DirLock::acquire(dir.path()).expect("a reused pid does not hold the lock"));
        }
        // A lock of another host is never taken over (its process cannot be looked up here).
        fs::write(dir.path().join(LOCK), "pid=4000000000\nstarted=0\nhost=elsewhere-xyz\n").unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err().to_string();
        assert!(err.contains("process 4000000000 on host elsewhere-xyz"), "{err}");
        // A lock without a readable pid is never taken over.
        fs::write(dir.path().join(LOCK), "garbage").unwrap();
        assert!(DirLock::acquire(dir.path()).unwrap_err().to_string().contains("unknown process"));
    }
}
