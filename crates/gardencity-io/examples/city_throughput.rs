//! The simulation alone on a city file (GeoPackage or snapshot), with a sink that only
//! counts: agent-weeks per second and microseconds per agent-week, without writing.
//!
//! `cargo run --release -p gardencity-io --example city_throughput -- CITY [agents] [days] [threads]`
//! (reference workload: beta_start 300, beta_durations 55, beta_ping 7, ha 11.5/15).

use gardencity::gravity::{Gravity, GravityParams};
use gardencity::population::{Population, PopulationConfig};
use gardencity::records::{AgentOutput, OutputSink};
use gardencity::routing::Router;
use gardencity::sampling::ParamSpec;
use std::time::Instant;

/// Counts sparse pings and diary entries.
struct Count(u64, u64);

impl OutputSink for Count {
    type Error = std::io::Error;
    fn write_agent(&mut self, out: &AgentOutput) -> Result<(), Self::Error> {
        self.0 += out.sparse.len() as u64;
        self.1 += out.diary.len() as u64;
        Ok(())
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = args.first().ok_or("usage: city_throughput CITY [agents] [days] [threads]")?;
    let number = |i: usize, default: u64| args.get(i).map_or(Ok(default), |s| s.parse::<u64>());
    let (agents, days, threads) = (number(1, 5000)?, number(2, 7)? as i64, number(3, 1)? as usize);
    let city = if path.ends_with(".gcsnap") {
        gardencity_io::snapshot::read_snapshot(path)?.city
    } else {
        gardencity_io::gpkg::read_city(path)?
    };
    let router = Router::new(&city);
    let gravity = Gravity::hub_proxy(&city, GravityParams::default())?;
    let start = 1_704_085_200; // 2024-01-01 00:00 in New York
    let mut cfg = PopulationConfig::new(1, agents, start, start + days * 86_400, chrono_tz::America::New_York);
    cfg.sampling.beta_start = Some(ParamSpec::Value(300.0));
    cfg.sampling.beta_durations = Some(ParamSpec::Value(55.0));
    cfg.sampling.beta_ping = Some(ParamSpec::Value(7.0));
    cfg.sampling.ha = ParamSpec::Value(11.5 / 15.0);
    let population = Population::new(&city, &router, &gravity, cfg)?;
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let t = Instant::now();
    let mut sink = Count(0, 0);
    pool.install(|| population.run(&mut sink, &|_| {}))?;
    let secs = t.elapsed().as_secs_f64();
    let agent_weeks = agents as f64 * days as f64 / 7.0;
    println!(
        "{agents} agents x {days} days on {threads} threads: {secs:.3} s, {:.0} agent-weeks/s, {:.1} us per \
         agent-week; {} sparse pings, {} diary entries",
        agent_weeks / secs,
        secs * 1e6 / agent_weeks,
        sink.0,
        sink.1
    );
    Ok(())
}
