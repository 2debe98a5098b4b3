//! The `gardencity` command line: a thin layer over the library crates.

use clap::{Parser, Subcommand};

mod city_cmd;
mod gravity_cmd;
mod osm_cmd;
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
    /// Compute a city's gravity model and store it in its GeoPackage.
    Gravity(gravity_cmd::GravityArgs),
    /// Write a binary snapshot (city + gravity) of a city GeoPackage.
    Snapshot(gravity_cmd::SnapshotArgs),
    /// Pictures (PNG or SVG): city maps, pings and time-spent heatmaps.
    Plot(plot_cmd::PlotArgs),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::City(a) => city_cmd::run(a),
        Command::Simulate(a) => simulate_cmd::run(*a),
        Command::Gravity(a) => gravity_cmd::run_gravity(a),
        Command::Snapshot(a) => gravity_cmd::run_snapshot(a),
        Command::Plot(a) => plot_cmd::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
