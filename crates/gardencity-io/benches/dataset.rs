//! Rows per second written by `DatasetWriter`: sparse pings and diaries to Parquet (and
//! sparse pings to CSV for comparison), a week of data, Web Mercator, New York time.
//!
//! `cargo bench -p gardencity-io --bench dataset -- --warm-up-time 1 --measurement-time 3`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::records::{AgentOutput, AgentRecord, DiaryEntry, OutputSink, Ping};
use gardencity::{BuildingType, City, Georeference};
use gardencity_io::dataset::{Coordinates, DatasetFormat, DatasetOptions, DatasetWriter, OutputSelection};
use std::hint::black_box;
use std::sync::Arc;

const START: i64 = 1_704_085_200; // 2024-01-01T00:00:00-05:00
const DAYS: i64 = 7;

fn city() -> Arc<City> {
    let georef = Georeference { origin_x: -8_366_000.0, origin_y: 4_859_000.0, ..Default::default() };
    Arc::new(random_city(&RandomCityParams { width: 60, height: 60, seed: 3, georef, ..Default::default() }).unwrap())
}

/// Agents with a sparse ping every 5 minutes (288 a day) and a diary entry every hour
/// (every third one a trip), positions from a cheap deterministic hash.
fn agents(city: &City, n: usize) -> Vec<AgentOutput> {
    let homes = city.buildings_of_type(BuildingType::Home);
    let works = city.buildings_of_type(BuildingType::Workplace);
    let w = f64::from(city.width());
    (0..n)
        .map(|k| {
            let (home, work) = (homes[k % homes.len()], works[k % works.len()]);
            let mut h = k as u64 * 0x9E37_79B9_7F4A_7C15 + 1;
            let mut next = || {
                h ^= h << 13;
                h ^= h >> 7;
                h ^= h << 17;
                (h >> 11) as f64 / (1u64 << 53) as f64
            };
            let sparse = (0..DAYS * 288)
                .map(|i| Ping {
                    timestamp: START + i * 300 + k as i64 % 60,
                    x: next() * w,
                    y: next() * w,
                    ha: 0.5 + next(),
                    location: None,
                })
                .collect();
            let diary = (0..DAYS * 24)
                .map(|i| DiaryEntry {
                    timestamp: START + i * 3600,
                    duration: 60.0,
                    location: if i % 3 == 2 {
                        None
                    } else if i % 24 < 8 {
                        Some(home)
                    } else {
                        Some(work)
                    },
                })
                .collect();
            AgentOutput {
                agent: AgentRecord { index: k as u64, id: format!("agent_{k:06}"), home, workplace: work },
                sparse,
                diary,
                ..Default::default()
            }
        })
        .collect()
}

fn only(sparse: bool, diary: bool) -> OutputSelection {
    OutputSelection { sparse, dense: false, diary, destinations: false, homes: false }
}

fn bench(c: &mut Criterion) {
    let city = city();
    let tmp = tempfile::tempdir().unwrap();
    let mut run = 0u32;
    let mut group = c.benchmark_group("dataset_write");
    group.sample_size(10);
    let cases = [
        ("sparse_parquet", DatasetFormat::Parquet, only(true, false), 100),
        ("diary_parquet", DatasetFormat::Parquet, only(false, true), 1000),
        ("sparse_csv", DatasetFormat::Csv, only(true, false), 100),
    ];
    // SYNC=0 measures without fsync (the disk is shared and fsync dominates when busy).
    let sync = std::env::var("SYNC").map_or(true, |v| v != "0");
    for (name, format, outputs, n_agents) in cases {
        let agents = agents(&city, n_agents);
        let rows: usize = agents.iter().map(|a| if outputs.sparse { a.sparse.len() } else { a.diary.len() }).sum();
        group.throughput(Throughput::Elements(rows as u64));
        group.bench_function(name, |b| {
            b.iter(|| {
                run += 1;
                let dir = tmp.path().join(format!("run{run}"));
                let opts = DatasetOptions {
                    format,
                    outputs,
                    coordinates: Coordinates::WebMercator,
                    sync,
                    ..Default::default()
                };
                let mut w = DatasetWriter::create(&dir, city.clone(), opts).unwrap();
                for a in &agents {
                    w.write_agent(a).unwrap();
                }
                let s = w.finish(serde_json::json!({})).unwrap();
                std::fs::remove_dir_all(&dir).unwrap();
                black_box(s)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
