//! Rendering speed of the city map: a 1000 x 1000 block city (raster level of detail)
//! and a 200 x 200 block city (vector shapes), scene building and PNG encoding.

use criterion::{criterion_group, criterion_main, Criterion};
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity_plot::{plot_city, png, CityPlotOptions};
use std::hint::black_box;

fn bench(c: &mut Criterion) {
    let big = random_city(&RandomCityParams { width: 1000, height: 1000, seed: 3, ..Default::default() }).unwrap();
    let mid = random_city(&RandomCityParams { width: 200, height: 200, seed: 3, ..Default::default() }).unwrap();
    let opts = CityPlotOptions::default();
    let mut g = c.benchmark_group("plot_city");
    g.sample_size(10);
    g.bench_function("1000x1000 raster, scene + png", |b| {
        b.iter(|| png::to_png(&plot_city(black_box(&big), &opts)).unwrap().len())
    });
    g.bench_function("200x200 vector, scene + png", |b| {
        b.iter(|| png::to_png(&plot_city(black_box(&mid), &opts)).unwrap().len())
    });
    g.bench_function("200x200 vector, scene + svg", |b| {
        b.iter(|| gardencity_plot::svg::to_svg(&plot_city(black_box(&mid), &opts)).len())
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
