//! `gardencity commit`: the shards of one run, run separately, committed as one dataset.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;

/// Options of `gardencity commit`.
#[derive(Args, Debug)]
pub struct CommitArgs {
    /// The dataset to create.
    out: PathBuf,
    /// The shards' output directories (`gardencity simulate --shard K/N --out DIR`), in any order.
    #[arg(required = true)]
    shard_dirs: Vec<PathBuf>,
    /// Replace a previous gardencity dataset at OUT.
    #[arg(long)]
    overwrite: bool,
    /// Print nothing on success.
    #[arg(long, short = 'q')]
    quiet: bool,
}

/// Runs `gardencity commit`.
pub fn run(args: CommitArgs) -> Result<()> {
    let report = gardencity_run::commit_shards(&args.out, &args.shard_dirs, args.overwrite)?;
    if !args.quiet {
        let m = &report.manifest;
        use std::io::Write;
        let _ = writeln!(
            std::io::stderr().lock(),
            "committed {} of {} agents ({} sparse pings, {} diary entries) -> {} ({})",
            crate::output::counted(m.tasks.len(), "shard"),
            m.agents,
            m.counts.sparse_pings,
            m.counts.diary_entries,
            args.out.display(),
            crate::output::counted(report.dataset.as_ref().map_or(0, |d| d.file_count()), "file")
        );
    }
    Ok(())
}
