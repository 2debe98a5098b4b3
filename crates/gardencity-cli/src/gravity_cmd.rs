//! `gardencity gravity` (gravity layers into a city GeoPackage) and `gardencity snapshot`
//! (a binary snapshot of a city and its gravity).

use crate::output::{check_output, outln};
use anyhow::Context;
use gardencity::gravity::{Gravity, GravityMode, GravityParams};
use gardencity_io::gpkg::gravity::{read_gravity, write_gravity_cancellable, GravityIoError};
use gardencity_io::gpkg::read_city;
use gardencity_io::snapshot::write_snapshot;
use signal_hook::consts::{SIGINT, SIGTERM};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Arguments of `gardencity gravity`.
#[derive(clap::Args, Debug)]
pub struct GravityArgs {
    /// The city GeoPackage; the gravity layers (hubs, hub_distances, grav_hub_info,
    /// nearby_doors, gravity_properties) are stored into it, replacing old ones.
    pub city: PathBuf,
    /// Requested hub count (hub_size; default: buildings / 1000 + 5).
    #[arg(long)]
    pub hubs: Option<usize>,
    /// Distance exponent of the gravity weights.
    #[arg(long, default_value_t = 2.0)]
    pub exponent: f64,
    /// True street distance door to door instead of the hub proxy.
    #[arg(long)]
    pub exact: bool,
}

/// Arguments of `gardencity snapshot`.
#[derive(clap::Args, Debug)]
pub struct SnapshotArgs {
    /// The city GeoPackage (with or without gravity layers).
    pub city: PathBuf,
    /// The snapshot file to write.
    #[arg(short, long = "out", visible_alias = "output")]
    pub output: PathBuf,
    /// Store no gravity model when the GeoPackage has none (default: compute the
    /// reference hub-proxy gravity with default parameters).
    #[arg(long)]
    pub no_gravity: bool,
    /// Replace the output file if it exists (never the input).
    #[arg(long)]
    pub overwrite: bool,
}

/// Runs `gardencity gravity`.
pub fn run_gravity(a: GravityArgs) -> anyhow::Result<()> {
    if a.exact && a.hubs.is_some() {
        anyhow::bail!("--hubs applies to the hub-proxy gravity; it cannot be combined with --exact");
    }
    let city = read_city(&a.city)?;
    let params = GravityParams { exponent: a.exponent, hub_size: a.hubs, ..Default::default() };
    let t = Instant::now();
    let mode = if a.exact { GravityMode::Exact } else { GravityMode::HubProxy };
    let g = Gravity::build(&city, mode, params)
        .with_context(|| format!("computing the gravity of {}", a.city.display()))?;
    let built = t.elapsed();
    // From here on (a temporary copy of the city exists) SIGINT and SIGTERM cancel the
    // write, which removes the copy and leaves the file unchanged; before, they end the
    // process at once with nothing to clean up.
    let cancel = Arc::new(AtomicBool::new(false));
    let terminated = Arc::new(AtomicBool::new(false));
    for sig in [SIGINT, SIGTERM] {
        signal_hook::flag::register_conditional_shutdown(sig, 128 + sig, Arc::clone(&cancel))?;
        signal_hook::flag::register(sig, Arc::clone(&cancel))?;
    }
    signal_hook::flag::register(SIGTERM, Arc::clone(&terminated))?;
    match write_gravity_cancellable(&a.city, &city, &g, &cancel) {
        Err(GravityIoError::Cancelled { .. }) => {
            let signal = if terminated.load(Ordering::Relaxed) { SIGTERM } else { SIGINT };
            let what = format!("nothing was stored: {} is unchanged", a.city.display());
            return Err(crate::output::Interrupted { signal, what }.into());
        }
        other => other?,
    }
    outln!("{} ({:.2} s); stored in {}", g.summary(), built.as_secs_f64(), a.city.display())
}

/// Runs `gardencity snapshot`.
pub fn run_snapshot(a: SnapshotArgs) -> anyhow::Result<()> {
    check_output(&a.output, &[&a.city], a.overwrite)?;
    let city = read_city(&a.city)?;
    let gravity = match read_gravity(&a.city, &city)? {
        Some(r) => {
            for w in &r.warnings {
                crate::output::errln!("warning: {w}");
            }
            Some(r.gravity)
        }
        None if a.no_gravity => None,
        None => Some(
            Gravity::hub_proxy(&city, GravityParams::default())
                .with_context(|| format!("computing the gravity of {}", a.city.display()))?,
        ),
    };
    let size = write_snapshot(&a.output, &city, gravity.as_ref())?;
    outln!(
        "{}: {} buildings, {} street cells, {}; {} bytes",
        a.output.display(),
        city.buildings().len(),
        city.streets().len(),
        gravity.as_ref().map_or_else(|| "no gravity".to_string(), |g| g.summary()),
        size
    )
}
