//! Gravity setup time and draw cost on a 380 x 380 random city (>= 25,000 buildings).

use criterion::{criterion_group, criterion_main, Criterion};
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity::{BuildingIdx, BuildingType, TypeSet};
use rand::{Rng, SeedableRng};
use std::hint::black_box;

fn gravity(c: &mut Criterion) {
    let city =
        random_city(&RandomCityParams { width: 380, height: 380, street_spacing: 5, ..Default::default() }).unwrap();
    let nb = city.buildings().len();
    assert!(nb >= 25_000, "{nb} buildings");
    let mut g = c.benchmark_group(format!("gravity/380x380 ({nb} buildings)"));
    g.sample_size(10);
    g.bench_function("setup hub_proxy", |b| b.iter(|| black_box(Gravity::hub_proxy(&city, GravityParams::default()))));
    let grav = Gravity::hub_proxy(&city, GravityParams::default()).unwrap();
    g.finish();

    let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(3);
    let origins: Vec<BuildingIdx> = (0..1024).map(|_| BuildingIdx(rng.random_range(0..nb as u32))).collect();
    let all = TypeSet::of(&BuildingType::ALL);
    let retail = TypeSet::of(&[BuildingType::Retail, BuildingType::Park]);
    // A visited set of 20 buildings per origin region: a typical EPR agent.
    let mut visited = vec![0u64; nb.div_ceil(64)];
    for _ in 0..20 {
        let j = rng.random_range(0..nb);
        visited[j / 64] |= 1 << (j % 64);
    }
    let vis = |j: BuildingIdx| visited[j.index() / 64] >> (j.0 % 64) & 1 == 1;
    let mut g = c.benchmark_group("gravity/draw");
    let mut k = 0;
    g.bench_function("hub_proxy all types", |b| {
        b.iter(|| {
            k += 1;
            black_box(grav.sample(origins[k & 1023], all, &vis, &mut rng))
        })
    });
    g.bench_function("hub_proxy retail+park", |b| {
        b.iter(|| {
            k += 1;
            black_box(grav.sample(origins[k & 1023], retail, &vis, &mut rng))
        })
    });
    g.finish();

    // Exact mode on a smaller city (the matrix grows with the square of the doors).
    let small =
        random_city(&RandomCityParams { width: 120, height: 120, street_spacing: 5, ..Default::default() }).unwrap();
    let mut g = c.benchmark_group(format!("gravity/exact 120x120 ({} buildings)", small.buildings().len()));
    g.sample_size(10);
    g.bench_function("setup", |b| b.iter(|| black_box(Gravity::exact(&small, GravityParams::default()))));
    let ex = Gravity::exact(&small, GravityParams::default()).unwrap();
    let ns = small.buildings().len() as u32;
    g.bench_function("draw all types", |b| {
        b.iter(|| {
            k += 1;
            black_box(ex.sample(BuildingIdx(k as u32 % ns), all, &|_| false, &mut rng))
        })
    });
    g.finish();

    // Exact mode at scale: the draw (a linear scan) on the >= 25,000-building city.
    let ex = Gravity::exact(&city, GravityParams::default()).unwrap();
    let mut g = c.benchmark_group(format!("gravity/exact 380x380 ({nb} buildings)"));
    g.sample_size(10);
    g.bench_function("draw all types", |b| {
        b.iter(|| {
            k += 1;
            black_box(ex.sample(origins[k & 1023], all, &vis, &mut rng))
        })
    });
    g.finish();
}

criterion_group!(benches, gravity);
criterion_main!(benches);
