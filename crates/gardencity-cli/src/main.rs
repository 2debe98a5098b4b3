//! The `gardencity` command line: a thin layer over the library crates.
//!
//! Errors are printed on standard error as one line, `error: ` and the error's causes,
//! each cause only when it adds to what the outer messages say; the exit status is 1.
//! When the reader of standard output goes away (`gardencity city info x | head -1`,
//! `EPIPE`), the command stops quietly with status 0, like a reader that has read
//! what it wanted; any other failure to write standard output (`> /dev/full`) is an
//! error with status 1.

use clap::{Parser, Subcommand};

mod city_cmd;
mod commit_cmd;
mod gravity_cmd;
mod malloc;
mod osm_cmd;
mod output;
mod plot_cmd;
mod simulate_cmd;
mod time_arg;

#[derive(Parser)]
#[command(name = "gardencity", version, about = "Synthetic human-mobility data with ground truth")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Random cities and city GeoPackages.
    City(city_cmd::CityArgs),
    /// Simulate a population and write its mobility data (sparse pings, diaries, homes...).
    Simulate(Box<simulate_cmd::SimulateArgs>),
    /// Commit the shards of one run (`simulate --shard K/N`, run separately) as one dataset.
    Commit(commit_cmd::CommitArgs),
    /// Compute a city's gravity model and store it in its GeoPackage.
    Gravity(gravity_cmd::GravityArgs),
    /// Write a binary snapshot (city + gravity) of a city GeoPackage.
    Snapshot(gravity_cmd::SnapshotArgs),
    /// Pictures (PNG or SVG): city maps, pings and time-spent heatmaps.
    Plot(plot_cmd::PlotArgs),
}

fn main() -> std::process::ExitCode {
    // A decoder panic on a corrupt input file is reported as that file's error: the
    // default panic message would only repeat it as if gardencity had crashed.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !gardencity_io::untrusted::in_guarded_decode() {
            default_hook(info)
        }
    }));
    malloc::keep_freed_memory();
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::City(a) => city_cmd::run(a),
        Command::Simulate(a) => simulate_cmd::run(*a),
        Command::Commit(a) => commit_cmd::run(a),
        Command::Gravity(a) => gravity_cmd::run_gravity(a),
        Command::Snapshot(a) => gravity_cmd::run_snapshot(a),
        Command::Plot(a) => plot_cmd::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) if e.chain().any(|c| c.downcast_ref::<output::StdoutError>().is_some_and(|s| s.is_broken_pipe())) => {
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            use std::io::Write;
            // Not eprintln!, which panics when standard error cannot be written.
            let _ = writeln!(std::io::stderr().lock(), "error: {}", output::error_text(&e));
            match e.downcast_ref::<output::Interrupted>() {
                Some(i) => std::process::ExitCode::from((128 + i.signal) as u8),
                None => std::process::ExitCode::FAILURE,
            }
        }
    }
}
