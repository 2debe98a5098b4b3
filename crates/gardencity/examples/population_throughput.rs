//! Simulates a population on a random city with a sink that only counts, and prints
//! agent-weeks per second: the simulation's own speed, without file writing.
//!
//! `cargo run --release -p gardencity --example population_throughput -- [agents] [weeks] [threads] [city side]`

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity::population::{Population, PopulationConfig};
use gardencity::records::{AgentOutput, OutputSink};
use gardencity::routing::Router;
use gardencity::sampling::ParamSpec;
use std::time::Instant;

struct Count(u64);

impl OutputSink for Count {
    type Error = std::io::Error;
    fn write_agent(&mut self, out: &AgentOutput) -> Result<(), Self::Error> {
        self.0 += out.sparse.len() as u64;
        Ok(())
    }
}

fn main() {
    let args: Vec<u64> = std::env::args().skip(1).map(|a| a.parse().expect("numbers")).collect();
    let agents = args.first().copied().unwrap_or(2000);
    let weeks = args.get(1).copied().unwrap_or(1) as i64;
    let threads = args.get(2).copied().unwrap_or(2) as usize;
    let side = args.get(3).copied().unwrap_or(22) as u32;
    let t = Instant::now();
    let city = random_city(&RandomCityParams { width: side, height: side, seed: 1, ..Default::default() }).unwrap();
    let router = Router::new(&city);
    let gravity = Gravity::hub_proxy(&city, GravityParams::default()).unwrap();
    println!(
        "city {side}x{side}: {} buildings, {} street cells; city + router + gravity in {:.3} s",
        city.buildings().len(),
        city.streets().len(),
        t.elapsed().as_secs_f64()
    );
    let start = 1_704_085_200;
    let mut cfg = PopulationConfig::new(1, agents, start, start + weeks * 7 * 86_400, chrono_tz::America::New_York);
    cfg.sampling.beta_start = Some(ParamSpec::Value(300.0));
    cfg.sampling.beta_durations = Some(ParamSpec::Value(55.0));
    cfg.sampling.beta_ping = Some(ParamSpec::Value(7.0));
    cfg.sampling.ha = ParamSpec::Value(11.5 / 15.0);
    let pop = Population::new(&city, &router, &gravity, cfg).unwrap();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    let t = Instant::now();
    let mut sink = Count(0);
    let stats = pool.install(|| pop.run(&mut sink, &|_| {})).unwrap();
    let secs = t.elapsed().as_secs_f64();
    let aw = (agents as i64 * weeks) as f64;
    println!(
        "{agents} agents x {weeks} weeks, {threads} threads: {secs:.3} s, {:.0} agent-weeks/s, {:.0} sparse pings/s, {} diary entries",
        aw / secs,
        sink.0 as f64 / secs,
        stats.diary_entries
    );
}
