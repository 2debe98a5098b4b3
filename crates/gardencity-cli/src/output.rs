//! What the commands write: lines on standard output, and output files that must never
//! replace an input or, without `--overwrite`, an existing file.

use anyhow::bail;
use std::io::Write;
use std::path::Path;

/// Writing to standard output failed. `main` exits quietly (status 0) when the reader
/// closed the pipe (`EPIPE`), and reports any other failure (`/dev/full`: no space).
#[derive(Debug)]
pub struct StdoutError(pub std::io::Error);

impl std::fmt::Display for StdoutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("writing to standard output")
    }
}

impl std::error::Error for StdoutError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

impl StdoutError {
    /// True when the reader of standard output has gone (`EPIPE`).
    pub fn is_broken_pipe(&self) -> bool {
        self.0.kind() == std::io::ErrorKind::BrokenPipe
    }
}

/// Writes `args` and a newline to the locked standard output and flushes it; errors
/// become [`StdoutError`] instead of the panic of `println!`.
pub fn line(args: std::fmt::Arguments<'_>) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    writeln!(out, "{args}").and_then(|()| out.flush()).map_err(|e| StdoutError(e).into())
}

/// `n` and `word`, plural unless `n` is 1: `1 file`, `3 files`.
pub fn counted(n: usize, word: &str) -> String {
    match n {
        1 => format!("1 {word}"),
        n => format!("{n} {word}s"),
    }
}

/// `println!` that returns an error instead of panicking: `outln!("...", x)?`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::output::line(format_args!($($arg)*))
    };
}
pub(crate) use outln;

/// Writes a line of notes (warnings, summaries) to standard error; an unwritable
/// standard error (`2>/dev/full`) loses the note instead of failing the command.
pub fn note(args: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "{args}");
}

/// `eprintln!` that never panics: `errln!("warning: {w}")`.
macro_rules! errln {
    ($($arg:tt)*) => {
        $crate::output::note(format_args!($($arg)*))
    };
}
pub(crate) use errln;

/// True when both paths exist and are the same file (same device and inode, so also
/// through hard links and symbolic links, or the same canonical path).
fn same_file(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else { return false };
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if ma.dev() == mb.dev() && ma.ino() == mb.ino() {
            return true;
        }
    }
    let _ = (ma, mb);
    matches!((a.canonicalize(), b.canonicalize()), (Ok(x), Ok(y)) if x == y)
}

/// Refuses an output path that is one of the command's inputs (even with
/// `--overwrite`), or that exists when `overwrite` is false.
pub fn check_output(output: &Path, inputs: &[&Path], overwrite: bool) -> anyhow::Result<()> {
    for input in inputs {
        if same_file(output, input) {
            bail!(
                "the output {} is the input {}: refusing to write onto an input (choose another output file)",
                output.display(),
                input.display()
            );
        }
    }
    if !overwrite && std::fs::symlink_metadata(output).is_ok() {
        bail!("{} already exists (pass --overwrite to replace it)", output.display());
    }
    Ok(())
}

/// The error and its causes as one line, each cause only when it adds something: a
/// cause whose text an outer message already contains is left out.
pub fn error_text(e: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if text.is_empty() || parts.iter().any(|p| p.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn causes_already_said_are_left_out() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory (os error 2)");
        let e = anyhow::Error::new(io)
            .context("x.gcsnap: No such file or directory (os error 2)")
            .context("reading the city");
        assert_eq!(error_text(&e), "reading the city: x.gcsnap: No such file or directory (os error 2)");
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(error_text(&e), "outer: inner");
    }

    #[test]
    fn outputs_onto_inputs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a.gpkg");
        std::fs::write(&a, "x").unwrap();
        let e = check_output(&a, &[&a], true).unwrap_err().to_string();
        assert!(e.contains("refusing to write onto an input"), "{e}");
        // Through another spelling of the same path, and through a hard link.
        let other = dir.path().join(".").join("a.gpkg");
        assert!(check_output(&other, &[&a], true).is_err());
        let link = dir.path().join("b.gpkg");
        std::fs::hard_link(&a, &link).unwrap();
        assert!(check_output(&link, &[&a], true).is_err());
        assert!(check_output(&link, &[], false).unwrap_err().to_string().contains("already exists"));
        assert!(check_output(&dir.path().join("new.gpkg"), &[&a], false).is_ok());
    }
}

/// A command stopped by a signal after cleaning up: the process exits with
/// `128 + signal` (130 for SIGINT, 143 for SIGTERM).
#[derive(Debug)]
pub struct Interrupted {
    /// The signal.
    pub signal: i32,
    /// What was left, and what to do.
    pub what: String,
}

impl std::fmt::Display for Interrupted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name = if self.signal == signal_hook::consts::SIGTERM { "SIGTERM" } else { "SIGINT" };
        write!(f, "interrupted by {name}: {}", self.what)
    }
}

impl std::error::Error for Interrupted {}
