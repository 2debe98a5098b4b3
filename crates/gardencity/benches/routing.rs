//! Path queries per second: a garden-city-sized 22 x 22 city (table and search), and
//! 500 x 500 and 2000 x 2000 random cities (A* search).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::routing::{RouteScratch, Router};
use gardencity::{City, StreetIdx};
use rand::{Rng, SeedableRng};
use std::hint::black_box;

fn pairs(city: &City, n: usize) -> Vec<(StreetIdx, StreetIdx)> {
    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(1);
    let m = city.streets().len() as u32;
    (0..n).map(|_| (StreetIdx(rng.random_range(0..m)), StreetIdx(rng.random_range(0..m)))).collect()
}

fn bench_city(c: &mut Criterion, name: &str, city: &City, table_limits: &[usize]) {
    let q = pairs(city, 4096);
    for &limit in table_limits {
        let router = Router::with_table_limit(city, limit);
        let method = if router.uses_table() { "table" } else { "astar" };
        let mut sc = RouteScratch::new(&router);
        let mut out = Vec::new();
        let mut g = c.benchmark_group(format!("routing/{name}/{method}"));
        g.throughput(Throughput::Elements(1));
        let mut k = 0;
        g.bench_function("path", |b| {
            b.iter(|| {
                let (a, t) = q[k & 4095];
                k += 1;
                black_box(router.path(a, t, &mut sc, &mut out).unwrap())
            })
        });
        g.bench_function("distance", |b| {
            b.iter(|| {
                let (a, t) = q[k & 4095];
                k += 1;
                black_box(router.distance(a, t, &mut sc).unwrap())
            })
        });
        g.finish();
    }
}

fn routing(c: &mut Criterion) {
    let small =
        random_city(&RandomCityParams { width: 22, height: 22, street_spacing: 4, ..Default::default() }).unwrap();
    bench_city(c, "22x22", &small, &[usize::MAX, 0]);
    let mid =
        random_city(&RandomCityParams { width: 500, height: 500, street_spacing: 5, ..Default::default() }).unwrap();
    bench_city(c, "500x500", &mid, &[0]);
    let big =
        random_city(&RandomCityParams { width: 2000, height: 2000, street_spacing: 5, ..Default::default() }).unwrap();
    bench_city(c, "2000x2000", &big, &[0]);
    let mut g = c.benchmark_group("routing/setup");
    g.sample_size(10);
    g.bench_function("22x22 table", |b| b.iter(|| black_box(Router::new(&small))));
    g.bench_function("500x500", |b| b.iter(|| black_box(Router::new(&mid))));
    g.finish();
}

criterion_group!(benches, routing);
criterion_main!(benches);
