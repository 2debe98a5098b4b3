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
