//! `gardencity simulate`: a population's synthetic mobility data, streamed to a dataset.

use anyhow::{anyhow, bail, Context, Result};
use clap::Args;
use gardencity::records::OutputSelection;
use gardencity::sampling::ParamSpec;
use gardencity_run::{Control, PreparedRun, RunError, RunSpec, Shard};
use signal_hook::consts::{SIGINT, SIGTERM};
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

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
    /// Start: local time in --tz ("2024-01-01", "2024-01-01T08:00", "2024-01-01 08:00:00") or with an
    /// offset ("2024-01-01T08:00-04:00", "2024-01-01T08:00Z") [default: 2024-01-01].
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
    /// Mean minutes between burst starts [default: 300 with --beta-durations 55 (the
    /// reference's typical sparse phone) when neither is given, nor q/f in --config].
    #[arg(long)]
    beta_start: Option<f64>,
    /// Mean burst duration in minutes [default: 55, see --beta-start].
    #[arg(long)]
    beta_durations: Option<f64>,
    /// Mean minutes between pings in a burst [default: 7].
    #[arg(long)]
    beta_ping: Option<f64>,
    /// No bursts: pings over the whole window at --beta-ping (the reference's
    /// sample_trajectory without burst parameters; a dense-like phone).
    #[arg(long, conflicts_with_all = ["beta_start", "beta_durations"])]
    one_burst: bool,
    /// Mean horizontal accuracy of the sampling model, in blocks [default: 11.5/15 = 0.767,
    /// i.e. 11.5 m on 15 m blocks]. The written `ha` column follows --coords: blocks, or
    /// metres (ha x block side) for web_mercator and lonlat.
    #[arg(long, conflicts_with = "ha_m")]
    ha: Option<f64>,
    /// Mean horizontal accuracy in metres (divided by the city's block side into --ha).
    #[arg(long)]
    ha_m: Option<f64>,
    /// A sampling sweep (TOML: [base], [grid] lists, [[config]] tables with a name): the
    /// ground truth is simulated once and the sparse pings of every configuration are
    /// written to sparse/config=NAME/date=.../ (each equal to a run with it alone).
    #[arg(long)]
    sweep: Option<PathBuf>,
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
    /// Continue the interrupted run in --out from its last checkpoint (give the same
    /// options; the dataset equals an uninterrupted run's, file for file).
    #[arg(long, conflicts_with = "overwrite")]
    resume: bool,
    /// Agents between checkpoints, from which --resume continues [default: 100000; 0: none].
    #[arg(long)]
    checkpoint_agents: Option<u64>,
    /// No progress bar.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// The run specification of these flags over the `--config` file (flags win).
pub fn spec_of(args: &SimulateArgs) -> Result<RunSpec> {
    let mut spec = match &args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("reading config {}", p.display()))?;
            RunSpec::from_toml(&text).with_context(|| format!("config {}", p.display()))?
        }
        None => RunSpec::default(),
    };
    macro_rules! set {
        ($($field:ident),*) => { $( if let Some(v) = &args.$field { spec.$field = v.clone().into(); } )* };
    }
    set!(agents, start, tz, seed);
    if let Some(v) = &args.city {
        spec.city = Some(v.clone());
    }
    if let Some(v) = &args.out {
        spec.out = Some(v.clone());
    }
    if let Some(e) = &args.end {
        spec.end = Some(e.clone());
        spec.days = None;
    }
    if let Some(d) = args.days {
        spec.days = Some(d);
        spec.end = None;
    }
    if let Some(v) = &args.outputs {
        spec.outputs = OutputSelection::from_names(v).map_err(|e| anyhow!("--outputs: {e}"))?;
    }
    if let Some(v) = &args.format {
        spec.format = v.parse().map_err(|e| anyhow!("--format: {e}"))?;
    }
    if let Some(v) = &args.coords {
        spec.coords = v.parse().map_err(|e| anyhow!("--coords: {e}"))?;
    }
    if let Some(t) = args.threads {
        spec.threads = Some(t);
    }
    if let Some(p) = &args.anchors {
        spec.anchors = Some(p.clone());
    }
    if let Some(s) = &args.shard {
        spec.shard = Some(s.parse::<Shard>().map_err(flag_error)?);
    }
    spec.overwrite |= args.overwrite;
    spec.resume |= args.resume;
    if let Some(c) = args.checkpoint_agents {
        spec.checkpoint_agents = Some(c);
    }
    if let Some(dt) = args.dt {
        spec.mobility.dt = dt;
    }
    if let Some(v) = args.beta_start {
        spec.sampling.beta_start = Some(ParamSpec::Value(v));
    }
    if let Some(v) = args.beta_durations {
        spec.sampling.beta_durations = Some(ParamSpec::Value(v));
    }
    if let Some(v) = args.beta_ping {
        spec.sampling.beta_ping = Some(ParamSpec::Value(v));
    }
    spec.sampling.one_burst |= args.one_burst;
    if let Some(p) = &args.sweep {
        let text = std::fs::read_to_string(p).with_context(|| format!("reading sweep {}", p.display()))?;
        spec.sweep =
            Some(gardencity_run::SweepSpec::from_toml(&text).with_context(|| format!("sweep {}", p.display()))?);
    }
    if let Some(v) = args.ha {
        spec.sampling.ha = ParamSpec::Value(v);
        spec.ha_m = None;
    }
    if let Some(v) = args.ha_m {
        spec.ha_m = Some(v);
    }
    if let Some(h) = args.hubs {
        spec.gravity.hubs = Some(h);
    }
    spec.gravity.exact |= args.exact_gravity;
    Ok(spec)
}

/// A run error in command-line terms: a specification key becomes its flag (`--key-name`).
fn flag_error(e: RunError) -> anyhow::Error {
    match e {
        RunError::Spec { key, reason } if !key.starts_with("--") => anyhow!("--{}: {reason}", key.replace('_', "-")),
        other => other.into(),
    }
}

/// Runs `gardencity simulate`.
pub fn run(args: SimulateArgs) -> Result<()> {
    let spec = spec_of(&args)?;
    if spec.out.is_none() {
        bail!("--out DIR is required");
    }
    let prepared = PreparedRun::new(&spec, None).map_err(flag_error)?;
    for w in &prepared.city.warnings {
        crate::output::errln!("warning: {w}");
    }
    let shard_agents = prepared.window.shard_agents;
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
    // From here on SIGINT and SIGTERM stop the run (within a chunk of agents), which
    // removes its partial files; a second signal ends the process at once.
    let cancel = Arc::new(AtomicBool::new(false));
    let terminated = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        let code = 128 + sig;
        signal_hook::flag::register_conditional_shutdown(sig, code, Arc::clone(&cancel))?;
        signal_hook::flag::register(sig, Arc::clone(&cancel))?;
    }
    signal_hook::flag::register(SIGTERM, Arc::clone(&terminated))?;
    let report = match prepared.write_dataset(&Control { progress: &|done| bar.set_position(done), cancel: &cancel }) {
        Err(e) if e.is_cancelled() => {
            bar.finish_and_clear();
            let signal = if terminated.load(Ordering::Relaxed) { SIGTERM } else { SIGINT };
            let out = spec.out.clone().unwrap_or_default();
            let what = match gardencity_io::dataset::Checkpoint::read(&out).ok().flatten() {
                Some(cp) => format!(
                    "the run stopped; {} holds no complete dataset, but its first {} agents are checkpointed: \
                     the same command with --resume continues from there",
                    out.display(),
                    cp.counts.agents
                ),
                None => format!(
                    "the run stopped and removed its partial files; {} holds no complete dataset (run it again, \
                     with --overwrite if a previous run is there)",
                    out.display()
                ),
            };
            return Err(crate::output::Interrupted { signal, what }.into());
        }
        other => other.map_err(flag_error)?,
    };
    bar.finish_and_clear();
    let m = &report.manifest;
    let run_secs = m.timings_s.simulate_and_write;
    let weeks = (m.end - m.start) as f64 / (7.0 * 86_400.0);
    let agent_weeks = m.counts.agents as f64 * weeks;
    let secs = run_secs.max(1e-9);
    crate::output::errln!(
        "simulated {} agents ({agent_weeks:.1} agent-weeks) on {} threads in {run_secs:.2} s: {:.0} agent-weeks/s, \
         {:.0} dense pings/s, {:.0} sparse pings/s ({} sparse pings, {} diary entries); peak RSS {}; -> {} ({})",
        m.counts.agents,
        m.threads,
        agent_weeks / secs,
        m.counts.dense_pings as f64 / secs,
        m.counts.sparse_pings as f64 / secs,
        m.counts.sparse_pings,
        m.counts.diary_entries,
        peak_rss().map_or_else(|| "unknown".to_string(), |kb| format!("{:.0} MB", kb as f64 / 1024.0)),
        spec.out.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        crate::output::counted(report.dataset.as_ref().map_or(0, |d| d.file_count()), "file")
    );
    Ok(())
}

/// Peak resident set size of this process in KiB (Linux `VmHWM`), if known.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
