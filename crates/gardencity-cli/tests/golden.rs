//! The golden run: a small pinned run whose files are checked against recorded hashes,
//! so that any change of a random stream, a draw's order or a file format fails here
//! (on 1 and 2 threads alike). A deliberate change records new hashes:
//! `GARDENCITY_BLESS=1 cargo test --release -p gardencity-cli --test golden -- --nocapture`
//! prints them, and the change says in its commit why the data changed.

use std::path::Path;

mod common;

/// FNV-1a, 64 bits: change detection, not security.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3))
}

/// The files of the golden run (CSV: independent of the Parquet library's version) and
/// their hashes, as recorded.
/// (The window crosses the start of daylight saving time, 2024-03-10 in New York.)
const GOLDEN: &[(&str, u64)] = &[
    ("destinations/date=2024-03-09/part-00000.csv", 0xf227cdcdb72489b4),
    ("destinations/date=2024-03-10/part-00000.csv", 0x536f2757b4dbdc02),
    ("diaries/date=2024-03-09/part-00000.csv", 0x07b11774d4ddc763),
    ("diaries/date=2024-03-10/part-00000.csv", 0xea0301090113e1c5),
    ("homes/date=2024-03-09/part-00000.csv", 0x59581114e97e5b53),
    ("sparse/date=2024-03-09/part-00000.csv", 0xbf211e0b72761e53),
    ("sparse/date=2024-03-10/part-00000.csv", 0x0189361f7d68a38a),
    ("sparse/date=2024-03-11/part-00000.csv", 0xcf8001ed3722197b),
];

fn golden_run(out: &Path, threads: &str) -> Vec<(String, u64)> {
    let o = common::gardencity()
        .args(["simulate", "--agents", "9", "--days", "2", "--seed", "20261202", "--threads", threads, "-q"])
        .args(["--start", "2024-03-09T05:00", "--tz", "America/New_York", "--format", "csv"])
        .args(["--outputs", "sparse,diaries,destinations,homes", "--out"])
        .arg(out)
        .env_remove("CI")
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    common::files_under(out)
        .into_iter()
        .filter(|(p, _)| p.extension().is_some_and(|e| e == "csv"))
        .map(|(p, bytes)| (p.display().to_string(), fnv1a(&bytes)))
        .collect()
}

#[test]
fn the_golden_run_is_unchanged() {
    let tmp = tempfile::tempdir().unwrap();
    let one = golden_run(&tmp.path().join("t1"), "1");
    let two = golden_run(&tmp.path().join("t2"), "2");
    assert_eq!(one, two, "the golden run depends on the thread count");
    if std::env::var_os("GARDENCITY_BLESS").is_some() {
        for (p, h) in &one {
            println!("    (\"{p}\", 0x{h:016x}),");
        }
        return;
    }
    let recorded: Vec<(String, u64)> = GOLDEN.iter().map(|(p, h)| (p.to_string(), *h)).collect();
    assert_eq!(
        one, recorded,
        "the golden run changed: a random stream, a draw's order or a format changed (see this file's docs)"
    );
}
