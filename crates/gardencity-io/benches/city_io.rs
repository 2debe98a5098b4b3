//! City GeoPackage I/O: loading the reference garden city, and writing + reading a
//! 200 x 200 random city.

use criterion::{criterion_group, criterion_main, Criterion};
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity_io::gpkg::{read_city, write_city, WriteOptions};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let garden = gardencity_testkit::workspace_root().join("../shared/data/garden-city.gpkg");
    if garden.exists() {
        c.bench_function("read garden-city.gpkg", |b| b.iter(|| black_box(read_city(&garden).unwrap())));
    } else {
        eprintln!("SKIPPED: {} is missing", garden.display());
    }
    let city = random_city(&RandomCityParams { width: 200, height: 200, seed: 7, ..Default::default() }).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("random200.gpkg");
    let opts = WriteOptions { overwrite: true };
    let mut g = c.benchmark_group("random 200x200");
    g.sample_size(10);
    g.bench_function("write", |b| b.iter(|| write_city(&city, &path, &opts).unwrap()));
    write_city(&city, &path, &opts).unwrap();
    g.bench_function("read", |b| b.iter(|| black_box(read_city(&path).unwrap())));
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
