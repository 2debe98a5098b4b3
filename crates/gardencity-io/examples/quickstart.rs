//! The library end to end, without the CLI: a random city, its router and gravity, a
//! population of 50 agents for three days, written as a hive-partitioned Parquet dataset.
//!
//! `cargo run --release -p gardencity-io --example quickstart -- [OUT_DIR]`

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity::population::{Population, PopulationConfig};
use gardencity::routing::Router;
use gardencity::sampling::ParamSpec;
use gardencity_io::dataset::{DatasetOptions, DatasetWriter};
use std::sync::Arc;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = std::env::args().nth(1).unwrap_or_else(|| "quickstart-out".into());
    // 1. The city: plain immutable data, shared by every thread.
    let city = Arc::new(random_city(&RandomCityParams { width: 40, height: 40, seed: 3, ..Default::default() })?);
    // 2. Street routing and the reference's hub-proxy gravity, built once.
    let router = Router::new(&city);
    let gravity = Gravity::hub_proxy(&city, GravityParams::default())?;
    // 3. The population: 50 agents from 2024-01-01 00:00 New York time, for three days,
    //    with the reference's sparse-sampling workload.
    let start = 1_704_085_200;
    let mut config = PopulationConfig::new(42, 50, start, start + 3 * 86_400, chrono_tz::America::New_York);
    config.sampling.beta_start = Some(ParamSpec::Value(300.0));
    config.sampling.beta_durations = Some(ParamSpec::Value(55.0));
    config.sampling.beta_ping = Some(ParamSpec::Value(7.0));
    let population = Population::new(&city, &router, &gravity, config)?;
    // 4. Stream every agent into a Parquet dataset (sparse pings, diaries, homes...).
    let mut writer =
        DatasetWriter::create(&out, Arc::clone(&city), DatasetOptions { overwrite: true, ..Default::default() })?;
    let stats = population.run(&mut writer, &|_| {})?;
    let summary = writer.finish(serde_json::json!({ "example": "quickstart", "seed": 42 }))?;
    println!(
        "{} agents, {} sparse pings, {} diary entries -> {} ({} file{})",
        stats.agents,
        stats.sparse_pings,
        stats.diary_entries,
        out,
        summary.file_count(),
        if summary.file_count() == 1 { "" } else { "s" }
    );
    Ok(())
}
