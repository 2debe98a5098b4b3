//! The `gardencity` command line: a thin layer over the library crates.

use clap::{Parser, Subcommand};

mod city_cmd;

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
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {
        Command::City(a) => city_cmd::run(a),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
