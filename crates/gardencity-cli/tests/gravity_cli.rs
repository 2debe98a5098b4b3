//! `gardencity gravity` and `gardencity snapshot` end to end, through the binary.

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityMode, GravityParams};
use gardencity_io::gpkg::gravity::read_gravity;
use gardencity_io::gpkg::{read_city, write_city, WriteOptions};
use gardencity_io::snapshot::read_snapshot;
use std::process::Command;

fn run(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_gardencity")).args(args).output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stdout).into(), String::from_utf8_lossy(&out.stderr).into())
}

#[test]
fn gravity_then_snapshot() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("c.gpkg");
    let c = random_city(&RandomCityParams { width: 40, height: 40, seed: 9, ..Default::default() }).unwrap();
    write_city(&c, &p, &WriteOptions::default()).unwrap();
    let ps = p.to_str().unwrap();

    let (ok, out, err) = run(&["gravity", ps, "--hubs", "9", "--exponent", "1.5"]);
    assert!(ok, "{out}{err}");
    assert!(out.contains("9 hubs"), "{out}");
    let city = read_city(&p).unwrap();
    let g = read_gravity(&p, &city).unwrap().unwrap().gravity;
    let expected =
        Gravity::hub_proxy(&c, GravityParams { hub_size: Some(9), exponent: 1.5, ..Default::default() }).unwrap();
    assert_eq!(g, expected);

    let snap = dir.path().join("c.gcsnap");
    let (ok, out, err) = run(&["snapshot", ps, "-o", snap.to_str().unwrap()]);
    assert!(ok, "{out}{err}");
    let s = read_snapshot(&snap).unwrap();
    assert_eq!(s.city, city);
    assert_eq!(s.gravity, Some(expected));

    let (ok, out, err) = run(&["gravity", ps, "--exact"]);
    assert!(ok, "{out}{err}");
    assert_eq!(read_gravity(&p, &city).unwrap().unwrap().gravity.mode(), GravityMode::Exact);

    // Bad input: a typed error message naming the problem, non-zero exit, file intact.
    let (ok, _, err) = run(&["gravity", ps, "--hubs", "0"]);
    assert!(!ok);
    assert!(err.contains("invalid hub count 0"), "{err}");
    assert_eq!(read_gravity(&p, &city).unwrap().unwrap().gravity.mode(), GravityMode::Exact);
    let (ok, _, err) = run(&["gravity", dir.path().join("none.gpkg").to_str().unwrap()]);
    assert!(!ok && err.contains("none.gpkg"), "{err}");
    let (ok, _, err) = run(&["snapshot", ps, "-o", dir.path().join("no/such/dir/x.gcsnap").to_str().unwrap()]);
    assert!(!ok && err.contains("x.gcsnap"), "{err}");
}
