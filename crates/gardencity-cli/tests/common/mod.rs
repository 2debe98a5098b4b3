//! Running the real `gardencity` binary from the CLI tests.
// Each test file uses a different subset of these helpers.
#![allow(dead_code)]

use std::process::Command;

/// The `gardencity` binary built for these tests.
pub fn gardencity() -> Command {
    Command::new(env!("CARGO_BIN_EXE_gardencity"))
}

/// Runs the command, asserts success and returns its standard output.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "failed: {}\nstderr: {}", out.status, String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

/// Runs the command, asserts failure without a panic and returns its standard error.
pub fn run_err(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(!out.status.success(), "unexpected success: {}", String::from_utf8_lossy(&out.stdout));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(!err.contains("panicked"), "{err}");
    err
}

/// Every file under `dir`: path relative to `dir` -> bytes.
pub fn files_under(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(p.strip_prefix(dir).unwrap().to_path_buf(), std::fs::read(&p).unwrap());
            }
        }
    }
    out
}

/// Every file under `dir` but its manifest (a resumed run's manifest records the resume).
pub fn files_without_manifest(dir: &std::path::Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut f = files_under(dir);
    f.remove(std::path::Path::new("manifest.json"));
    f
}

/// `args`, then `--checkpoint-agents every --out out`: a run that checkpoints.
pub fn checkpointed(args: &[&str], every: u64, out: &std::path::Path) -> Vec<String> {
    let tail = ["--checkpoint-agents".to_string(), every.to_string(), "--out".into(), out.display().to_string()];
    args.iter().map(|s| s.to_string()).chain(tail).collect()
}

/// Runs `gardencity args` outside CI (progress as a user sees it) and returns its output.
pub fn run_outside_ci(args: &[String]) -> std::process::Output {
    gardencity().args(args).env_remove("CI").output().unwrap()
}

/// Asserts that the files under `dir` but its manifest are `expected` (names, then bytes).
pub fn assert_same_files(
    dir: &std::path::Path,
    expected: &std::collections::BTreeMap<std::path::PathBuf, Vec<u8>>,
    what: &str,
) {
    let got = files_without_manifest(dir);
    assert_eq!(got.keys().collect::<Vec<_>>(), expected.keys().collect::<Vec<_>>(), "{what}: file names");
    assert!(&got == expected, "{what}: the files differ from the uninterrupted run's");
}

/// Waits (up to a minute, polling) until the checkpoint journal `journal` records at
/// least `min` agents, and returns the agents it records; panics if none does by then.
pub fn wait_for_checkpoint(journal: &std::path::Path, min: u64) -> u64 {
    let t0 = std::time::Instant::now();
    loop {
        let agents = std::fs::read(journal)
            .ok()
            .and_then(|t| serde_json::from_slice::<serde_json::Value>(&t).ok())
            .and_then(|v| v["counts"]["agents"].as_u64())
            .unwrap_or(0);
        if agents >= min {
            return agents;
        }
        assert!(t0.elapsed().as_secs() <= 60, "no checkpoint of {min} agents in {} within a minute", journal.display());
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
}
