//! `gardencity plot city|pings|heatmap`: PNG or SVG pictures of a city and of a run's data.

use crate::output::{check_output, outln};
use crate::time_arg::parse_time;
use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use gardencity::City;
use gardencity_io::dataset::{
    for_each_diary, read_diary, read_manifest, read_pings, read_user_ids, Manifest, OutputKind, RowFilter,
};
use gardencity_plot::data::check_georeference;
use gardencity_plot::{
    plot_city, plot_pings, plot_time_spent, save, user_pings, CityPlotOptions, HeatScale, HeatmapOptions, ImageFormat,
    PingPlotOptions, PlotError, Scene, TimeSpent,
};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// Users plotted when `--user` is not given.
const DEFAULT_USERS: usize = 5;

/// `gardencity plot ...`
#[derive(Args, Debug)]
pub struct PlotArgs {
    #[command(subcommand)]
    what: PlotCommand,
}

#[derive(Subcommand, Debug)]
enum PlotCommand {
    /// Map of a city: streets, buildings by type, legend.
    City(CityArgs),
    /// Sparse pings of some users over the faded city, with a time barcode.
    Pings(PingsArgs),
    /// Buildings shaded by minutes spent in them (ground-truth diaries).
    Heatmap(HeatmapArgs),
}

#[derive(Args, Debug)]
struct CityArgs {
    /// City GeoPackage; without it, the built-in default city of `gardencity simulate`.
    #[arg(long)]
    city: Option<PathBuf>,
    /// The city given without --city (as earlier versions took it).
    #[arg(value_name = "CITY", conflicts_with = "city", hide = true)]
    city_positional: Option<PathBuf>,
    /// Output picture, .png or .svg.
    #[arg(long, short = 'o')]
    out: PathBuf,
    /// Replace the output picture if it exists.
    #[arg(long)]
    overwrite: bool,
    /// Mark the doors.
    #[arg(long)]
    doors: bool,
    /// Draw the block grid.
    #[arg(long)]
    grid: bool,
    /// Write building ids.
    #[arg(long)]
    ids: bool,
    /// Picture width in pixels.
    #[arg(long, default_value_t = 1200)]
    width: u32,
}

#[derive(Args, Debug)]
struct PingsArgs {
    /// City GeoPackage of the run; without it, the built-in default city.
    #[arg(long)]
    city: Option<PathBuf>,
    /// The run's output directory (`gardencity simulate --out`).
    #[arg(long)]
    data: PathBuf,
    /// User ids to plot (repeat the flag or give several) [default: the first --max-users users].
    #[arg(long = "user", num_args = 1..)]
    users: Vec<String>,
    /// Without --user, plot this many users (the first by id).
    #[arg(long, default_value_t = DEFAULT_USERS)]
    max_users: usize,
    /// Window start, local time of the run ("2024-01-01", "2024-01-01T08:00") or RFC 3339 [default: the run's start].
    #[arg(long)]
    from: Option<String>,
    /// Window end, same formats [default: the run's end].
    #[arg(long)]
    to: Option<String>,
    /// Draw dense pings as lines (needs a run with `--outputs dense`).
    #[arg(long)]
    dense: bool,
    /// Outline the buildings of diary stays (needs the diaries output).
    #[arg(long)]
    stays: bool,
    /// Output picture, .png or .svg.
    #[arg(long, short = 'o')]
    out: PathBuf,
    /// Replace the output picture if it exists.
    #[arg(long)]
    overwrite: bool,
    /// Picture width in pixels.
    #[arg(long, default_value_t = 1200)]
    width: u32,
}

#[derive(Args, Debug)]
struct HeatmapArgs {
    /// City GeoPackage of the run; without it, the built-in default city.
    #[arg(long)]
    city: Option<PathBuf>,
    /// The run's output directory (`gardencity simulate --out`, with the diaries output).
    #[arg(long)]
    data: PathBuf,
    /// Only this user [default: everyone].
    #[arg(long)]
    user: Option<String>,
    /// Only stays starting at or after this time (local time of the run or RFC 3339).
    #[arg(long)]
    from: Option<String>,
    /// Only stays starting before this time.
    #[arg(long)]
    to: Option<String>,
    /// Colour scale: quantile (by rank: shows where time concentrates however skewed the
    /// hours are), log or linear.
    #[arg(long, value_enum, default_value_t = ScaleArg::Quantile)]
    scale: ScaleArg,
    /// Same as --scale linear (kept for older scripts).
    #[arg(long, hide = true, conflicts_with = "scale")]
    linear: bool,
    /// Output picture, .png or .svg.
    #[arg(long, short = 'o')]
    out: PathBuf,
    /// Replace the output picture if it exists.
    #[arg(long)]
    overwrite: bool,
    /// Picture width in pixels.
    #[arg(long, default_value_t = 1200)]
    width: u32,
}

/// `--scale` of `plot heatmap`.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum ScaleArg {
    Quantile,
    Log,
    Linear,
}

/// Runs `gardencity plot`.
pub fn run(args: PlotArgs) -> Result<()> {
    match args.what {
        PlotCommand::City(a) => run_city(a),
        PlotCommand::Pings(a) => run_pings(a),
        PlotCommand::Heatmap(a) => run_heatmap(a),
    }
}

/// Refuses a city other than the run's: the manifest records the city's checksum
/// (runs written before it was recorded are checked by georeference only).
fn check_city(city: &City, m: &Manifest, given: bool) -> Result<()> {
    let recorded = m.raw.get("city").and_then(|c| Some((c.get("checksum")?.as_str()?, c.get("source")?.as_str()?)));
    let Some((checksum, source)) = recorded else { return Ok(()) };
    let ours = gardencity_run::city::city_checksum(city);
    if ours == checksum {
        return Ok(());
    }
    let which = if given { "the city given with --city" } else { "the built-in default city (no --city)" };
    anyhow::bail!(
        "the run was made on another city ({source}, checksum {checksum}) than {which} ({:?}, checksum {ours}): \
         give the run's city with --city",
        city.name()
    )
}

fn load_city(path: Option<&Path>) -> Result<City> {
    match path {
        Some(p) => gardencity_io::gpkg::read_city(p).context("cannot read the city"),
        None => Ok(gardencity_run::default_city()?),
    }
}

fn write(scene: &Scene, out: &Path) -> Result<()> {
    save(scene, out)?;
    outln!("wrote {} ({} x {} px)", out.display(), scene.width, scene.height)
}

fn run_city(mut a: CityArgs) -> Result<()> {
    a.city = a.city.take().or(a.city_positional.take());
    ImageFormat::from_path(&a.out)?;
    check_output(&a.out, &a.city.as_deref().into_iter().collect::<Vec<_>>(), a.overwrite)?;
    let city = load_city(a.city.as_deref())?;
    let opts = CityPlotOptions { width: a.width, doors: a.doors, grid: a.grid, ids: a.ids, ..Default::default() };
    write(&plot_city(&city, &opts), &a.out)
}

/// The window from `--from`/`--to`, defaulting to the run's start and end from the manifest.
fn window(m: &Manifest, from: Option<&str>, to: Option<&str>, data: &Path) -> Result<(Option<i64>, Option<i64>)> {
    let tz = m.time_zone;
    let start = match from {
        Some(s) => Some(parse_time(s, tz, "from")?),
        None => m.raw.get("start").and_then(|v| v.as_i64()),
    };
    let end = match to {
        Some(s) => Some(parse_time(s, tz, "to")?),
        None => m.raw.get("end").and_then(|v| v.as_i64()),
    };
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            return Err(PlotError::EmptyWindow { start: s, end: e })
                .with_context(|| format!("--from/--to for {}", data.display()));
        }
    }
    Ok((start, end))
}

/// The run directory and its manifest. A table directory of a run (`RUN/sparse`) is taken
/// as the run itself, with a note on stderr.
fn open_run(data: &Path) -> Result<(PathBuf, Manifest)> {
    let err = match read_manifest(data) {
        Ok(m) => return Ok((data.to_path_buf(), m)),
        Err(e) => e,
    };
    let name = data.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if let (Some(kind), Some(parent)) = (OutputKind::from_dir_name(name), data.parent()) {
        let run = if parent.as_os_str().is_empty() { Path::new(".") } else { parent };
        if let Ok(m) = read_manifest(run) {
            crate::output::errln!(
                "note: {} is the {kind} table of the run {}; plotting that run",
                data.display(),
                run.display()
            );
            return Ok((run.to_path_buf(), m));
        }
    }
    Err(err.into())
}

/// Fails with some known users when some requested users have no rows; an id that
/// differs from a known one only in case is named as the likely one.
fn check_users(requested: &[String], all: &BTreeSet<String>) -> Result<()> {
    let missing: Vec<&str> = requested.iter().filter(|u| !all.contains(*u)).map(String::as_str).collect();
    if missing.is_empty() {
        return Ok(());
    }
    let mut avail: Vec<String> = all.iter().take(10).cloned().collect();
    if all.len() > 10 {
        avail.push(format!("... {} in all", all.len()));
    }
    let close: Vec<&str> =
        missing.iter().filter_map(|m| all.iter().find(|u| u.eq_ignore_ascii_case(m)).map(String::as_str)).collect();
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!("; user ids are case-sensitive: did you mean {}?", close.join(", "))
    };
    Err(PlotError::UnknownUser { missing: missing.join(", "), available: avail.join(", "), hint }.into())
}

fn run_pings(a: PingsArgs) -> Result<()> {
    ImageFormat::from_path(&a.out)?;
    check_output(&a.out, &a.city.as_deref().into_iter().collect::<Vec<_>>(), a.overwrite)?;
    let (data_dir, m) = open_run(&a.data)?;
    let city = load_city(a.city.as_deref())?;
    check_city(&city, &m, a.city.is_some())?;
    check_georeference(&city, &m)?;
    let (start, end) = window(&m, a.from.as_deref(), a.to.as_deref(), &a.data)?;
    // Only what is drawn is read: first the user ids (one column), then the rows of the
    // chosen users in the window.
    let users: Vec<String> = if a.users.is_empty() {
        let in_window = RowFilter { users: None, start, end };
        let seen = read_user_ids(&data_dir, OutputKind::Sparse, &in_window)?;
        let n = a.max_users.max(1);
        let users: Vec<String> = seen.iter().take(n).cloned().collect();
        if seen.len() > n {
            crate::output::errln!(
                "plotting the first {n} of {} users with pings in the window ({}); choose others with --user",
                seen.len(),
                users.join(", ")
            );
        }
        users
    } else {
        let mut seen = BTreeSet::new();
        a.users.iter().filter(|u| seen.insert(u.as_str())).cloned().collect()
    };
    if users.is_empty() {
        bail!("{}: the run has no sparse pings in the window", a.data.display());
    }
    let chosen: BTreeSet<String> = users.iter().cloned().collect();
    let sparse = read_pings(&data_dir, OutputKind::Sparse, &RowFilter { users: Some(chosen.clone()), start, end })?;
    if !a.users.is_empty() {
        // Users without pings in the window: an error only when they have none at all.
        let found: BTreeSet<&str> = sparse.iter().map(|r| r.user_id.as_str()).collect();
        let absent: Vec<String> = users.iter().filter(|u| !found.contains(u.as_str())).cloned().collect();
        if !absent.is_empty() {
            check_users(&absent, &read_user_ids(&data_dir, OutputKind::Sparse, &RowFilter::default())?)?;
        }
    }
    let (start, end) = match (start, end) {
        (Some(s), Some(e)) => (s, e),
        (s, e) => {
            let (lo, hi) =
                sparse.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| (lo.min(r.timestamp), hi.max(r.timestamp)));
            (s.unwrap_or(lo), e.unwrap_or(hi.saturating_add(1)))
        }
    };
    let sel = RowFilter { users: Some(chosen), start: Some(start), end: Some(end) };
    let dense = if a.dense {
        read_pings(&data_dir, OutputKind::Dense, &sel).context("--dense needs a run with --outputs ...,dense")?
    } else {
        Vec::new()
    };
    let diary = if a.stays {
        let f = RowFilter { start: None, end: Some(end), ..sel.clone() };
        read_diary(&data_dir, OutputKind::Diary, &f).context("--stays needs a run with --outputs ...,diaries")?
    } else {
        Vec::new()
    };
    let data = user_pings(&city, m.coordinates, &users, &sparse, &dense, &diary)?;
    drop((sparse, dense, diary));
    let mut opts = PingPlotOptions::new(start, end, m.time_zone);
    opts.width = a.width;
    opts.dense = a.dense;
    opts.stays = a.stays;
    let scene = plot_pings(&city, &data, &opts).with_context(|| format!("plotting pings of {}", a.data.display()))?;
    write(&scene, &a.out)
}

fn run_heatmap(a: HeatmapArgs) -> Result<()> {
    ImageFormat::from_path(&a.out)?;
    check_output(&a.out, &a.city.as_deref().into_iter().collect::<Vec<_>>(), a.overwrite)?;
    let (data_dir, m) = open_run(&a.data)?;
    let city = load_city(a.city.as_deref())?;
    check_city(&city, &m, a.city.is_some())?;
    check_georeference(&city, &m)?;
    let tz = m.time_zone;
    let start = a.from.as_deref().map(|s| parse_time(s, tz, "from")).transpose()?;
    let end = a.to.as_deref().map(|s| parse_time(s, tz, "to")).transpose()?;
    if let (Some(s), Some(e)) = (start, end) {
        if e <= s {
            return Err(PlotError::EmptyWindow { start: s, end: e }.into());
        }
    }
    // Streamed: minutes per building add up row by row, no row is kept.
    let users = a.user.as_ref().map(|u| BTreeSet::from([u.clone()]));
    let mut spent = TimeSpent::new(&city);
    let mut bad = None;
    for_each_diary(&data_dir, OutputKind::Diary, &RowFilter { users, start, end }, |r| {
        if bad.is_none() {
            bad = spent.add(&city, &r).err();
        }
        Ok(())
    })
    .context("the heatmap needs a run with the diaries output")?;
    if let Some(e) = bad {
        return Err(e).with_context(|| format!("plotting the heatmap of {}", a.data.display()));
    }
    if let Some(u) = &a.user {
        if spent.rows == 0 {
            check_users(std::slice::from_ref(u), &read_user_ids(&data_dir, OutputKind::Diary, &RowFilter::default())?)?;
        }
    }
    let scale = match (a.linear, a.scale) {
        (true, _) | (false, ScaleArg::Linear) => HeatScale::Linear,
        (false, ScaleArg::Log) => HeatScale::Log,
        (false, ScaleArg::Quantile) => HeatScale::Quantile,
    };
    let opts = HeatmapOptions { width: a.width, scale, ..Default::default() };
    let scene = plot_time_spent(&city, &spent, &opts)
        .with_context(|| format!("plotting the heatmap of {}", a.data.display()))?;
    write(&scene, &a.out)
}
