//! Datetime arguments shared by the commands (`--start`, `--end`, `--from`, `--to`):
//! the run library's one parser.

use anyhow::Result;
use chrono_tz::Tz;

/// Parses a local datetime in `tz`, or one with an offset (see
/// [`gardencity_run::time::parse_time`] for the formats).
pub fn parse_time(s: &str, tz: Tz, flag: &str) -> Result<i64> {
    Ok(gardencity_run::time::parse_time(s, tz, &format!("--{flag}"))?)
}
