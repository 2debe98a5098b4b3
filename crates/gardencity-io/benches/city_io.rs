//! City GeoPackage I/O: loading the reference garden city, and writing + reading a
//! 200 x 200 random city. Also path queries on the real garden city (the core crate's
//! routing bench cannot read GeoPackages).

use criterion::{criterion_group, criterion_main, Criterion};
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::routing::{RouteScratch, Router};
use gardencity::StreetIdx;
use gardencity_io::gpkg::{read_city, write_city, WriteOptions};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let garden = gardencity_testkit::workspace_root().join("../shared/data/garden-city.gpkg");
    if garden.exists() {
        c.bench_function("read garden-city.gpkg", |b| b.iter(|| black_box(read_city(&garden).unwrap())));
        let city = read_city(&garden).unwrap();
        let router = Router::new(&city);
        let mut scratch = RouteScratch::new(&router);
        let mut out = Vec::new();
        let m = city.streets().len() as u32;
        let pairs: Vec<(StreetIdx, StreetIdx)> =
            (0..4096u32).map(|i| (StreetIdx((i * 7919) % m), StreetIdx((i * 104_729 + 13) % m))).collect();
        let mut k = 0;
        let mut g = c.benchmark_group("garden city routing");
        g.throughput(criterion::Throughput::Elements(1));
        g.bench_function("path", |b| {
            b.iter(|| {
                let (a, t) = pairs[k & 4095];
                k += 1;
                black_box(router.path(a, t, &mut scratch, &mut out).unwrap())
            })
        });
        g.finish();
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
