//! Getting part files to disk without stalling the run.
//!
//! While a run goes on, a [`Writeback`] thread asks the system to write each part
//! file's data to disk, a few MiB at a time, so that the sync that makes a file durable
//! when it is closed has little left to wait for. That sync stays the only one whose
//! error counts: a failed early writeback is left for it to report. [`sync_files`]
//! makes many closed files durable at once (the disk serves several syncs faster than
//! one after another).

use super::DatasetError;
use std::fs::File;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;

/// Bytes a file may gain before its writeback is asked for.
const STEP: u64 = 2 << 20;

/// Files waiting for the writeback thread past which a request is dropped (each holds
/// a file descriptor).
const QUEUE: usize = 32;

/// Closed files a writer keeps open until it syncs them together (the descriptors it
/// holds beyond its open part files).
pub(crate) const SYNC_BATCH: usize = 64;

/// Threads that sync closed files at once.
const SYNC_THREADS: usize = 4;

/// The early-writeback thread of one dataset writer (started on first use).
#[derive(Debug, Default)]
pub(crate) struct Writeback {
    tx: Option<mpsc::SyncSender<File>>,
    started: bool,
}

/// A part file's own handle for early writeback, and its length when writeback was
/// last asked for.
#[derive(Debug)]
pub(crate) struct Tracked {
    file: File,
    asked: u64,
}

impl Writeback {
    /// A handle on `file` for [`Writeback::poll`]; `None` if the system refuses one (the
    /// file is then only synced when closed).
    pub fn track(file: &File) -> Option<Tracked> {
        file.try_clone().ok().map(|file| Tracked { file, asked: 0 })
    }

    /// Asks for the writeback of `t`'s file if it grew by at least [`STEP`] since the
    /// last request. Never waits for the disk.
    pub fn poll(&mut self, t: &mut Tracked) {
        let Ok(len) = t.file.metadata().map(|m| m.len()) else { return };
        if len < t.asked + STEP {
            return;
        }
        t.asked = len;
        let Some(tx) = self.sender() else { return };
        if let Ok(f) = t.file.try_clone() {
            // A full queue means the disk is behind: the sync at close does the rest.
            let _ = tx.try_send(f);
        }
    }

    fn sender(&mut self) -> Option<&mpsc::SyncSender<File>> {
        if !self.started {
            self.started = true;
            let (tx, rx) = mpsc::sync_channel::<File>(QUEUE);
            let thread = std::thread::Builder::new().name("gardencity-writeback".into());
            // The thread ends when the writer (the sender) is dropped.
            if thread.spawn(move || rx.into_iter().for_each(|f| drop(f.sync_data()))).is_ok() {
                self.tx = Some(tx);
            }
        }
        self.tx.as_ref()
    }
}

/// Makes `files` durable (data and metadata), several at a time; the first error names
/// its file.
pub(crate) fn sync_files(files: Vec<(File, PathBuf)>) -> Result<(), DatasetError> {
    let next = AtomicUsize::new(0);
    let failed: Mutex<Option<DatasetError>> = Mutex::new(None);
    let work = || {
        while let Some((f, path)) = files.get(next.fetch_add(1, Ordering::Relaxed)) {
            if let Err(e) = f.sync_all() {
                let mut failed = failed.lock().unwrap_or_else(|p| p.into_inner());
                failed.get_or_insert(DatasetError::io("syncing", path, e));
                return;
            }
        }
    };
    std::thread::scope(|s| {
        for _ in 1..SYNC_THREADS.min(files.len()) {
            // Without another thread, the calling one syncs every file.
            if std::thread::Builder::new().spawn_scoped(s, work).is_err() {
                break;
            }
        }
        work();
    });
    failed.into_inner().unwrap_or_else(|p| p.into_inner()).map_or(Ok(()), Err)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    #[test]
    fn synced_files_keep_their_bytes_and_a_growing_file_is_polled() {
        let dir = tempfile::tempdir().unwrap();
        let mut wb = Writeback::default();
        let mut files = Vec::new();
        for i in 0..6 {
            let path = dir.path().join(format!("f{i}"));
            let mut f = File::create(&path).unwrap();
            let mut t = Writeback::track(&f).unwrap();
            for _ in 0..3 {
                f.write_all(&vec![i as u8; (STEP as usize) + 1]).unwrap();
                wb.poll(&mut t);
            }
            assert_eq!(t.asked, 3 * (STEP + 1));
            files.push((f, path));
        }
        let paths: Vec<_> = files.iter().map(|(_, p)| p.clone()).collect();
        sync_files(files).unwrap();
        for (i, p) in paths.iter().enumerate() {
            let b = std::fs::read(p).unwrap();
            assert_eq!(b.len() as u64, 3 * (STEP + 1));
            assert!(b.iter().all(|&x| x == i as u8));
        }
        sync_files(Vec::new()).unwrap();
    }
}
