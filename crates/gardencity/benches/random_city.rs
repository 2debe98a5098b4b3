//! Random city generation (MODEL.md section 1) at 200 x 200 and 2000 x 2000 blocks.

use criterion::{criterion_group, criterion_main, Criterion};
use gardencity::city::random::{random_city, RandomCityParams};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("random_city");
    g.sample_size(10);
    for side in [200u32, 2000] {
        let p = RandomCityParams { width: side, height: side, seed: 1, ..Default::default() };
        g.bench_function(format!("{side}x{side}"), |b| b.iter(|| black_box(random_city(black_box(&p)).unwrap())));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
