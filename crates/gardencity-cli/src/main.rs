//! The `gardencity` command line: a thin layer over the library crates.

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "gardencity", version, about = "Synthetic human-mobility data with ground truth")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result: anyhow::Result<()> = match cli.command {};
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
