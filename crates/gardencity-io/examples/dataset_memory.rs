//! Peak memory and files of a long run written with `DatasetWriter`'s default options:
//! `AGENTS` agents over `DAYS` days with dense pings (one a minute), sparse pings (every
//! 5 minutes) and hourly diaries, generated one agent at a time.
//!
//! `cargo run --release -p gardencity-io --example dataset_memory -- [AGENTS] [DAYS] [OUT]`
//! (prints rows, seconds, files and the peak resident set size from /proc/self/status).

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::records::{AgentOutput, AgentRecord, DiaryEntry, OutputSink, Ping};
use gardencity::{BuildingType, Georeference};
use gardencity_io::dataset::{DatasetOptions, DatasetWriter, OutputSelection};
use std::sync::Arc;
use std::time::Instant;

const START: i64 = 1_704_085_200; // 2024-01-01T00:00:00-05:00

fn peak_rss_kib() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// CPU time of this thread so far (Linux schedstat), seconds.
fn cpu_secs() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    Some(s.split_whitespace().next()?.parse::<f64>().ok()? / 1e9)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let agents: usize = args.get(1).map_or(Ok(200), |a| a.parse())?;
    let days: i64 = args.get(2).map_or(Ok(90), |a| a.parse())?;
    let tmp = tempfile::tempdir()?;
    let out = args.get(3).map_or_else(|| tmp.path().join("out"), std::path::PathBuf::from);
    let georef = Georeference { origin_x: -8_366_000.0, origin_y: 4_859_000.0, ..Default::default() };
    let city =
        Arc::new(random_city(&RandomCityParams { width: 60, height: 60, seed: 3, georef, ..Default::default() })?);
    let homes = city.buildings_of_type(BuildingType::Home).to_vec();
    let works = city.buildings_of_type(BuildingType::Workplace).to_vec();
    let max_open_files =
        std::env::var("MAX_OPEN").ok().and_then(|v| v.parse().ok()).unwrap_or(DatasetOptions::default().max_open_files);
    let opts =
        DatasetOptions { outputs: OutputSelection::all(), overwrite: true, max_open_files, ..Default::default() };
    let rss0 = peak_rss_kib();
    let t = Instant::now();
    let cpu0 = cpu_secs();
    let mut w = DatasetWriter::create(&out, city.clone(), opts)?;
    let mut o = AgentOutput::default();
    let mut rows = 0u64;
    for k in 0..agents {
        let (home, work) = (homes[k % homes.len()], works[k % works.len()]);
        o.clear();
        o.agent = AgentRecord { index: k as u64, id: format!("agent_{k:06}"), home, workplace: work };
        for m in 0..days * 1440 {
            let at_work = (m % 1440) / 60 >= 9 && (m % 1440) / 60 < 17;
            let b = if at_work { work } else { home };
            let p = Ping { timestamp: START + m * 60, x: 1.5 + (m % 7) as f64, y: 2.5, ha: 0.0, location: Some(b) };
            o.dense.push(p);
            if m % 5 == 0 {
                o.sparse.push(Ping { ha: 1.3, location: None, ..p });
            }
            if m % 60 == 0 {
                o.diary.push(DiaryEntry { timestamp: p.timestamp, duration: 60.0, location: Some(b) });
            }
        }
        rows += (o.dense.len() + o.sparse.len() + o.diary.len() + 1) as u64;
        w.write_agent(&o)?;
    }
    let s = w.finish(serde_json::json!({}))?;
    let secs = t.elapsed().as_secs_f64();
    let cpu = cpu_secs().zip(cpu0).map(|(b, a)| b - a);
    println!(
        "{agents} agents x {days} days: {rows} rows in {secs:.1} s ({:.2} M rows/s; {:.1} s on CPU: {:.2} M rows/CPU-s, generation included), {} files, peak RSS {} MiB (before writing {} MiB)",
        rows as f64 / secs / 1e6,
        cpu.unwrap_or(f64::NAN),
        cpu.map_or(f64::NAN, |c| rows as f64 / c / 1e6),
        s.file_count(),
        peak_rss_kib().unwrap_or(0) / 1024,
        rss0.unwrap_or(0) / 1024,
    );
    Ok(())
}
