//! `gardencity simulate`: a population's synthetic mobility data, streamed to a dataset.

use crate::time_arg::parse_time;
use anyhow::{anyhow, bail, Context, Result};
use chrono::TimeZone;
use chrono_tz::Tz;
use clap::Args;
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityMode, GravityParams};
use gardencity::mobility::params::MobilityParams;
use gardencity::population::{OutputSelection, Population, PopulationConfig};
use gardencity::routing::Router;
use gardencity::sampling::{ParamSpec, SamplingConfig};
use gardencity::City;
use gardencity_io::dataset::{Coordinates, DatasetFormat, DatasetOptions, DatasetWriter};
use serde::Deserialize;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Options of `gardencity simulate`; every one can also come from `--config FILE.toml`
/// (command-line flags win).
#[derive(Args, Debug, Default)]
pub struct SimulateArgs {
    /// City GeoPackage (its stored gravity layers are used when present) or `.gcsnap`
    /// snapshot; without it, the built-in default city (a 50 x 50 random city, seed 1).
    #[arg(long)]
    city: Option<PathBuf>,
    /// TOML file with any of these options and the model tables ([mobility], [sampling], [gravity]).
    #[arg(long)]
    config: Option<PathBuf>,
    /// Output directory (a hive-partitioned dataset per output).
    #[arg(long, short = 'o')]
    out: Option<PathBuf>,
    /// Number of agents [default: 100].
    #[arg(long)]
    agents: Option<u64>,
    /// Start, local time in --tz ("2024-01-01", "2024-01-01T08:00") or RFC 3339 [default: 2024-01-01].
    #[arg(long)]
    start: Option<String>,
    /// End, same formats [default: start + 7 days].
    #[arg(long)]
    end: Option<String>,
    /// Length in days instead of --end.
    #[arg(long, conflicts_with = "end")]
    days: Option<f64>,
    /// IANA time zone of the schedule and datetimes [default: America/New_York].
    #[arg(long)]
    tz: Option<String>,
    /// Master seed [default: 0].
    #[arg(long)]
    seed: Option<u64>,
    /// Tick length in minutes (dt) [default: 1].
    #[arg(long)]
    dt: Option<f64>,
    /// Mean minutes between burst starts.
    #[arg(long)]
    beta_start: Option<f64>,
    /// Mean burst duration in minutes.
    #[arg(long)]
    beta_durations: Option<f64>,
    /// Mean minutes between pings in a burst [default: 5].
    #[arg(long)]
    beta_ping: Option<f64>,
    /// Mean horizontal accuracy in blocks [default: 0.75].
    #[arg(long)]
    ha: Option<f64>,
    /// Outputs, comma-separated: sparse, dense, diaries, destinations, homes [default: sparse,diaries,homes].
    #[arg(long, value_delimiter = ',')]
    outputs: Option<Vec<String>>,
    /// parquet or csv [default: parquet].
    #[arg(long)]
    format: Option<String>,
    /// blocks, web_mercator or lonlat [default: web_mercator].
    #[arg(long)]
    coords: Option<String>,
    /// Worker threads [default: all cores].
    #[arg(long)]
    threads: Option<usize>,
    /// Hubs of the gravity model [default: buildings / 1000 + 5].
    #[arg(long)]
    hubs: Option<usize>,
    /// Exact street distances for gravity instead of the hub proxy.
    #[arg(long)]
    exact_gravity: bool,
    /// CSV or Parquet table with columns home, workplace (building ids) and optionally
    /// agent (index; else row k is agent k) fixing agents' homes and workplaces; the homes
    /// table of an earlier run works as is.
    #[arg(long)]
    anchors: Option<PathBuf>,
    /// Simulate only shard K of N ("K/N", K from 0) of the --agents population: agents
    /// K*agents/N .. (K+1)*agents/N, with exactly the records the whole run gives them.
    #[arg(long)]
    shard: Option<String>,
    /// Replace a previous gardencity run in --out.
    #[arg(long)]
    overwrite: bool,
    /// No progress bar.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// The `--config` file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    city: Option<PathBuf>,
    out: Option<PathBuf>,
    agents: Option<u64>,
    start: Option<String>,
    end: Option<String>,
    days: Option<f64>,
    tz: Option<String>,
    seed: Option<u64>,
    outputs: Option<Vec<String>>,
    format: Option<String>,
    coords: Option<String>,
    threads: Option<usize>,
    #[serde(default)]
    mobility: Option<MobilityParams>,
    #[serde(default)]
    sampling: Option<SamplingConfig>,
    #[serde(default)]
    gravity: Option<GravityFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GravityFile {
    hubs: Option<usize>,
    exponent: Option<f64>,
    exact: Option<bool>,
}

/// The built-in default city: a 50 x 50 random city, seed 1, 15 m blocks, placed at the
/// reference garden city's Web Mercator origin.
pub fn default_city() -> Result<City> {
    let georef = gardencity::Georeference { origin_x: -4_265_699.0, origin_y: 4_392_976.0, ..Default::default() };
    Ok(random_city(&RandomCityParams {
        width: 50,
        height: 50,
        street_spacing: 5,
        seed: 1,
        georef,
        ..Default::default()
    })?)
}

fn parse_outputs(list: &[String]) -> Result<gardencity_io::dataset::OutputSelection> {
    let mut sel = gardencity_io::dataset::OutputSelection {
        sparse: false,
        dense: false,
        diary: false,
        destinations: false,
        homes: false,
    };
    for o in list {
        match o.trim() {
            "sparse" => sel.sparse = true,
            "dense" => sel.dense = true,
            "diaries" | "diary" => sel.diary = true,
            "destinations" => sel.destinations = true,
            "homes" => sel.homes = true,
            "all" => sel = gardencity_io::dataset::OutputSelection::all(),
            other => {
                bail!("--outputs: unknown output {other:?} (expected sparse, dense, diaries, destinations, homes, all)")
            }
        }
    }
    Ok(sel)
}

/// Runs `gardencity simulate`.
pub fn run(args: SimulateArgs) -> Result<()> {
    let file: ConfigFile = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading config {}", p.display()))?;
            toml::from_str(&text).with_context(|| format!("config {}", p.display()))?
        }
        None => ConfigFile::default(),
    };
    let tz_name = args.tz.clone().or(file.tz.clone()).unwrap_or_else(|| "America/New_York".into());
    let tz: Tz = tz_name.parse().map_err(|_| anyhow!("--tz {tz_name:?} is not an IANA time zone name"))?;
    let start_s = args.start.clone().or(file.start.clone()).unwrap_or_else(|| "2024-01-01".into());
    let start = parse_time(&start_s, tz, "start")?;
    let end = match (args.end.clone().or(file.end.clone()), args.days.or(file.days)) {
        (Some(e), _) => parse_time(&e, tz, "end")?,
        (None, Some(d)) => {
            if !(d > 0.0 && d.is_finite()) {
                bail!("--days {d}: expected a positive number of days");
            }
            start + (d * 86_400.0).round() as i64
        }
        (None, None) => start + 7 * 86_400,
    };
    if end <= start {
        bail!("--end must be after --start ({start_s})");
    }
    let out = args.out.clone().or(file.out.clone()).ok_or_else(|| anyhow!("--out DIR is required"))?;
    let agents = args.agents.or(file.agents).unwrap_or(100);
    let seed = args.seed.or(file.seed).unwrap_or(0);

    let mut mobility = file.mobility.unwrap_or_default();
    if let Some(dt) = args.dt {
        mobility.dt = dt;
    }
    let mut sampling = file.sampling.unwrap_or_default();
    if let Some(v) = args.beta_start {
        sampling.beta_start = Some(ParamSpec::Value(v));
    }
    if let Some(v) = args.beta_durations {
        sampling.beta_durations = Some(ParamSpec::Value(v));
    }
    if let Some(v) = args.beta_ping {
        sampling.beta_ping = Some(ParamSpec::Value(v));
    }
    if let Some(v) = args.ha {
        sampling.ha = ParamSpec::Value(v);
    }
    let outputs = parse_outputs(
        &args
            .outputs
            .clone()
            .or(file.outputs.clone())
            .unwrap_or_else(|| vec!["sparse".into(), "diaries".into(), "homes".into()]),
    )?;
    let format: DatasetFormat =
        args.format.clone().or(file.format.clone()).unwrap_or_else(|| "parquet".into()).parse()?;
    let coords: Coordinates =
        args.coords.clone().or(file.coords.clone()).unwrap_or_else(|| "web_mercator".into()).parse()?;
    let threads = args.threads.or(file.threads);
    let gfile = file.gravity.unwrap_or_default();

    let t_setup = Instant::now();
    let city_path = args.city.clone().or(file.city.clone());
    let gparams = GravityParams {
        exponent: gfile.exponent.unwrap_or(GravityParams::default().exponent),
        hub_size: args.hubs.or(gfile.hubs),
        ..GravityParams::default()
    };
    let exact = args.exact_gravity || gfile.exact.unwrap_or(false);
    // Gravity stored with the city is reused unless the run asks for other parameters.
    let wants_stored = args.hubs.is_none() && gfile.hubs.is_none() && gfile.exponent.is_none() && !exact;
    let (city, stored) = match &city_path {
        Some(p) if p.extension().is_some_and(|e| e == "gcsnap") => {
            let snap = gardencity_io::snapshot::read_snapshot(p)?;
            (snap.city, snap.gravity.filter(|_| wants_stored))
        }
        Some(p) => {
            let city = gardencity_io::gpkg::read_city(p)?;
            let stored = if wants_stored {
                gardencity_io::gpkg::gravity::read_gravity(p, &city)?.map(|r| {
                    for w in &r.warnings {
                        eprintln!("warning: {}: {w}", p.display());
                    }
                    r.gravity
                })
            } else {
                None
            };
            (city, stored)
        }
        None => (default_city()?, None),
    };
    let city = Arc::new(city);
    let router = Router::new(&city);
    let gravity_source = if stored.is_some() { "stored with the city" } else { "computed" };
    let gravity = match stored {
        Some(g) => g,
        None if exact => Gravity::exact(&city, gparams)?,
        None => Gravity::hub_proxy(&city, gparams)?,
    };
    let anchors = match &args.anchors {
        Some(p) => gardencity_io::anchors::read_anchors(p, &city)?,
        None => Vec::new(),
    };
    let setup_secs = t_setup.elapsed().as_secs_f64();

    let (first_agent, shard_agents) = match &args.shard {
        Some(s) => shard_range(s, agents)?,
        None => (0, agents),
    };
    let mut cfg = PopulationConfig::new(seed, shard_agents, start, end, tz);
    cfg.first_agent = first_agent;
    cfg.mobility = mobility;
    cfg.sampling = sampling;
    cfg.anchors = anchors;
    cfg.outputs = OutputSelection {
        sparse: outputs.sparse,
        dense: outputs.dense,
        diary: outputs.diary,
        destinations: outputs.destinations,
    };
    let pop = Population::new(&city, &router, &gravity, cfg)?;
    let start_date = tz.timestamp_opt(start, 0).single().map(|d| d.date_naive()).unwrap_or_default();
    let opts = DatasetOptions {
        format,
        outputs,
        coordinates: coords,
        time_zone: tz,
        start_date,
        overwrite: args.overwrite,
        ..DatasetOptions::default()
    };
    let mut writer = DatasetWriter::create(&out, Arc::clone(&city), opts)?;

    let show = !args.quiet && std::io::stderr().is_terminal() && std::env::var_os("CI").is_none();
    let bar = if show {
        let b = indicatif::ProgressBar::new(shard_agents);
        b.set_style(
            indicatif::ProgressStyle::with_template(
                "{bar:40} {human_pos}/{human_len} agents  {rate}  ETA {eta}  {elapsed_precise}",
            )
            .expect("valid template")
            .with_key("rate", |s: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.0} agents/s", s.per_sec());
            }),
        );
        b
    } else {
        indicatif::ProgressBar::hidden()
    };
    let t_run = Instant::now();
    let pool = {
        let mut b = rayon::ThreadPoolBuilder::new();
        if let Some(t) = threads {
            b = b.num_threads(t);
        }
        b.build()?
    };
    let stats = pool.install(|| pop.run(&mut writer, &|done| bar.set_position(done)))?;
    bar.finish_and_clear();
    let run_secs = t_run.elapsed().as_secs_f64();
    let c = pop.config();
    let manifest = serde_json::json!({
        "generator": "gardencity",
        "version": env!("CARGO_PKG_VERSION"),
        "city": city_path.as_ref().map_or_else(|| "built-in default (random 50x50, seed 1)".to_string(), |p| p.display().to_string()),
        "city_name": city.name(),
        "seed": seed,
        "agents": agents,
        "shard": args.shard,
        "first_agent": first_agent,
        "shard_agents": shard_agents,
        "start": start,
        "end": end,
        "start_local": tz.timestamp_opt(start, 0).single().map(|d| d.to_rfc3339()),
        "end_local": tz.timestamp_opt(end, 0).single().map(|d| d.to_rfc3339()),
        "time_zone": tz.name(),
        "threads": pool.current_num_threads(),
        "gravity": {
            "source": gravity_source,
            "mode": gravity.mode().as_str(),
            "exponent": gravity.exponent(),
            "hubs": (gravity.mode() == GravityMode::HubProxy).then(|| gravity.hubs().len()),
            "hub_size": gparams.hub_size,
        },
        "mobility": serde_json::to_value(&c.mobility)?,
        "sampling": serde_json::to_value(&c.sampling)?,
        "counts": {
            "agents": stats.agents,
            "sparse_pings": stats.sparse_pings,
            "dense_pings": stats.dense_pings,
            "diary_entries": stats.diary_entries,
            "destination_entries": stats.destination_entries,
        },
        "timings_s": { "setup": setup_secs, "simulate_and_write": run_secs },
    });
    let summary = writer.finish(manifest)?;
    let weeks = (end - start) as f64 / (7.0 * 86_400.0);
    let agent_weeks = stats.agents as f64 * weeks;
    let secs = run_secs.max(1e-9);
    eprintln!(
        "simulated {} agents ({agent_weeks:.1} agent-weeks) on {} threads in {run_secs:.2} s: {:.0} agent-weeks/s, \
         {:.0} dense pings/s, {:.0} sparse pings/s ({} sparse pings, {} diary entries); peak RSS {}; -> {} ({} files)",
        stats.agents,
        pool.current_num_threads(),
        agent_weeks / secs,
        stats.dense_pings as f64 / secs,
        stats.sparse_pings as f64 / secs,
        stats.sparse_pings,
        stats.diary_entries,
        peak_rss().map_or_else(|| "unknown".to_string(), |kb| format!("{:.0} MB", kb as f64 / 1024.0)),
        out.display(),
        summary.file_count()
    );
    Ok(())
}

/// Peak resident set size of this process in KiB (Linux `VmHWM`), if known.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Parses `K/N` into the first agent and the number of agents of shard K.
fn shard_range(s: &str, agents: u64) -> Result<(u64, u64)> {
    let parsed =
        s.split_once('/').and_then(|(k, n)| Some((k.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?)));
    match parsed {
        Some((k, n)) if n > 0 && k < n => {
            let at = |i: u64| ((i as u128 * agents as u128) / n as u128) as u64;
            Ok((at(k), at(k + 1) - at(k)))
        }
        _ => bail!("--shard {s:?}: expected K/N with 0 <= K < N, e.g. 0/4"),
    }
}
