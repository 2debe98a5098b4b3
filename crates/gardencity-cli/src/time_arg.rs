//! Datetime arguments shared by the commands (`--start`, `--end`, `--from`, `--to`).

use anyhow::{anyhow, Result};
use chrono::{NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// Parses a local datetime in `tz`, or an RFC 3339 datetime with offset.
pub fn parse_time(s: &str, tz: Tz, flag: &str) -> Result<i64> {
    if let Ok(d) = chrono::DateTime::parse_from_rfc3339(s) {
        return Ok(d.timestamp());
    }
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M"))
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M"))
        .or_else(|_| NaiveDate::parse_from_str(s, "%Y-%m-%d").map(|d| d.and_time(chrono::NaiveTime::MIN)))
        .map_err(|_| anyhow!("--{flag} {s:?}: expected a date like 2024-01-01, 2024-01-01T08:00 or RFC 3339"))?;
    tz.from_local_datetime(&naive)
        .earliest()
        .map(|d| d.timestamp())
        .ok_or_else(|| anyhow!("--{flag} {s:?} does not exist in {tz} (skipped by a daylight-saving change)"))
}
