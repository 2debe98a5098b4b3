//! One way to write a file so that readers never see it half-written: under a hidden
//! temporary name beside it (`.NAME.TAG-PID.tmp`, same directory, so the rename is
//! atomic), renamed onto it at the end; removed (with an SQLite journal of it) when
//! the write fails or is dropped. Snapshots, pictures, city GeoPackages and gravity
//! layers are written through it, and so are a dataset's manifest, journal and copied
//! part files (under the hidden names the dataset layout recognises, [`AtomicPath::at`]);
//! datasets rename their part files the same way at `finish`.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};

/// A destination and its temporary file, removed on drop unless committed.
#[derive(Debug)]
pub struct AtomicPath {
    tmp: PathBuf,
    dest: PathBuf,
    committed: bool,
}

/// The temporary name of `dest` for `tag`: `.NAME.TAG-PID.tmp`.
pub fn temp_name(dest: &Path, tag: &str) -> PathBuf {
    let name = dest.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "file".into());
    dest.with_file_name(format!(".{name}.{tag}-{}.tmp", std::process::id()))
}

impl AtomicPath {
    /// The temporary path for `dest` (nothing is created yet; a stale file of this very
    /// process at that name is removed).
    pub fn new(dest: impl AsRef<Path>, tag: &str) -> AtomicPath {
        let dest = dest.as_ref().to_path_buf();
        let tmp = temp_name(&dest, tag);
        let _ = std::fs::remove_file(&tmp);
        AtomicPath { tmp, dest, committed: false }
    }

    /// `dest` written through the given temporary path, for temporary names that other
    /// code recognises (a dataset's hidden files). Nothing is created or removed yet.
    pub fn at(dest: impl Into<PathBuf>, tmp: impl Into<PathBuf>) -> AtomicPath {
        AtomicPath { tmp: tmp.into(), dest: dest.into(), committed: false }
    }

    /// Writes `bytes` as the whole temporary file (fsynced when `sync`), then renames
    /// it onto the destination.
    pub fn write(self, bytes: &[u8], sync: bool) -> std::io::Result<()> {
        let mut f = std::fs::File::create(&self.tmp)?;
        f.write_all(bytes)?;
        if sync {
            f.sync_all()?;
        }
        drop(f);
        self.commit()
    }

    /// Where to write.
    pub fn tmp(&self) -> &Path {
        &self.tmp
    }

    /// The destination.
    pub fn dest(&self) -> &Path {
        &self.dest
    }

    /// Renames the temporary file onto the destination.
    pub fn commit(mut self) -> std::io::Result<()> {
        std::fs::rename(&self.tmp, &self.dest)?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for AtomicPath {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.tmp);
            let mut journal = OsString::from(self.tmp.as_os_str());
            journal.push("-journal");
            let _ = std::fs::remove_file(PathBuf::from(journal));
        }
    }
}

/// Writes `bytes` to `dest` atomically (fsynced before the rename when `sync`).
pub fn write_atomic(dest: impl AsRef<Path>, tag: &str, bytes: &[u8], sync: bool) -> std::io::Result<()> {
    AtomicPath::new(dest, tag).write(bytes, sync)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn committed_or_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("x.bin");
        write_atomic(&dest, "t", b"hello", true).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        {
            let a = AtomicPath::new(&dest, "t");
            std::fs::write(a.tmp(), b"partial").unwrap();
            std::fs::write(format!("{}-journal", a.tmp().display()), b"j").unwrap();
        }
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "the temporary file and journal are gone");
        assert_eq!(std::fs::read(&dest).unwrap(), b"hello");
        // A given temporary name: written, renamed, gone.
        let tmp = dir.path().join(".x.bin.inprogress");
        AtomicPath::at(&dest, &tmp).write(b"again", false).unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"again");
        assert!(!tmp.exists());
        // Into a directory that is not there: an error, and nothing is left.
        let blocked = dir.path().join("sub").join("z");
        assert!(AtomicPath::at(&blocked, dir.path().join("sub").join(".z")).write(b"x", false).is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let bad = dir.path().join("no-such-dir").join("y");
        assert!(write_atomic(&bad, "t", b"x", false).is_err());
    }
}
