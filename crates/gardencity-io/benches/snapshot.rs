//! Snapshot size, encode and load time for a 380 x 380 random city (>= 25,000 buildings)
//! with its hub-proxy gravity; GeoPackage city loading for comparison.

use criterion::{criterion_group, criterion_main, Criterion};
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity_io::gpkg::gravity::{read_gravity, write_gravity};
use gardencity_io::gpkg::{read_city, write_city, WriteOptions};
use gardencity_io::snapshot::{decode_snapshot, encode_snapshot, read_snapshot, write_snapshot};
use std::hint::black_box;
use std::path::Path;

fn snapshot(c: &mut Criterion) {
    let city =
        random_city(&RandomCityParams { width: 380, height: 380, street_spacing: 5, ..Default::default() }).unwrap();
    let nb = city.buildings().len();
    assert!(nb >= 25_000);
    let g = Gravity::hub_proxy(&city, GravityParams::default()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let snap = dir.path().join("city.gcsnap");
    let size = write_snapshot(&snap, &city, Some(&g)).unwrap();
    let gpkg = dir.path().join("city.gpkg");
    write_city(&city, &gpkg, &WriteOptions::default()).unwrap();
    write_gravity(&gpkg, &city, &g).unwrap();
    let gpkg_size = std::fs::metadata(&gpkg).unwrap().len();
    eprintln!(
        "snapshot of {nb} buildings, {} streets, {} nearby pairs: {size} bytes (GeoPackage with gravity: {gpkg_size} bytes)",
        city.streets().len(),
        g.nearby_pairs().count()
    );
    let bytes = std::fs::read(&snap).unwrap();
    let mut grp = c.benchmark_group(format!("snapshot/380x380 ({nb} buildings)"));
    grp.sample_size(10);
    grp.bench_function("encode", |b| b.iter(|| black_box(encode_snapshot(&city, Some(&g)).len())));
    grp.bench_function("decode (city + gravity)", |b| {
        b.iter(|| black_box(decode_snapshot(&bytes, Path::new("x")).unwrap()))
    });
    grp.bench_function("read_snapshot file", |b| b.iter(|| black_box(read_snapshot(&snap).unwrap())));
    grp.bench_function("gpkg read_city + read_gravity", |b| {
        b.iter(|| {
            let c = read_city(&gpkg).unwrap();
            black_box(read_gravity(&gpkg, &c).unwrap())
        })
    });
    grp.finish();
}

criterion_group!(benches, snapshot);
criterion_main!(benches);
