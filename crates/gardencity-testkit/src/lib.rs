//! Test support: locating `../shared/data` files and the test Python interpreter.
//!
//! Policy (shared/data/README.md): a test that needs an outside resource runs when it
//! is there; when it is missing the test fails under `CI=true` and otherwise says
//! plainly that it was skipped.
#![warn(missing_docs)]

pub mod fuzz;

use std::path::PathBuf;

/// The workspace root (the directory holding the top `Cargo.toml`).
///
/// Found at run time from the `CARGO_MANIFEST_DIR` that cargo sets for the test being
/// run (walking up to the `Cargo.toml` with a `[workspace]`), so a test binary built
/// from another checkout into a shared target directory still looks in its own tree.
pub fn workspace_root() -> PathBuf {
    let start = std::env::var_os("CARGO_MANIFEST_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")));
    let mut dir = start.canonicalize().unwrap_or(start);
    loop {
        let manifest = dir.join("Cargo.toml");
        if std::fs::read_to_string(&manifest).is_ok_and(|t| t.contains("[workspace]")) {
            return dir;
        }
        if !dir.pop() {
            panic!("no workspace Cargo.toml above CARGO_MANIFEST_DIR");
        }
    }
}

fn in_ci() -> bool {
    std::env::var("CI").map(|v| v == "true" || v == "1").unwrap_or(false)
}

fn missing(what: &str) -> Option<PathBuf> {
    if in_ci() {
        panic!("{what} is missing, and CI=true requires it");
    }
    eprintln!("SKIPPED: {what} is missing; this test did not run");
    None
}

/// The path of `../shared/data/<name>`, or `None` (with a skip message) when absent
/// outside CI. Panics under `CI=true` when absent.
pub fn shared_data(name: &str) -> Option<PathBuf> {
    let p = workspace_root().join("../shared/data").join(name);
    if p.exists() {
        Some(p)
    } else {
        missing(&format!("shared data file {}", p.display()))
    }
}

/// The Python interpreter of the test venv (`GARDENCITY_TEST_PYTHON`, else
/// `<root>/.venv/bin/python`, made by `scripts/setup-test-venv.sh`), or `None` with a
/// skip message outside CI. Panics under `CI=true` when absent.
pub fn python() -> Option<PathBuf> {
    let p = std::env::var_os("GARDENCITY_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join(".venv/bin/python"));
    if p.exists() {
        Some(p)
    } else {
        missing(&format!("test Python venv {} (run scripts/setup-test-venv.sh)", p.display()))
    }
}

/// Runs a Python script with the test venv; returns its stdout. Panics with stderr on failure.
pub fn run_python(python: &std::path::Path, script: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(python).arg("-c").arg(script).args(args).output().expect("python starts");
    assert!(
        out.status.success(),
        "python failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}
