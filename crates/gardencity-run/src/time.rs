//! Datetimes of a run: local times in the run's time zone, or datetimes with an offset.

use crate::RunError;
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, TimeZone};
use chrono_tz::Tz;

/// Formats with an offset, tried in order (RFC 3339 first, then what pandas and people
/// write: no seconds, a space instead of `T`).
const WITH_OFFSET: [&str; 4] =
    ["%Y-%m-%dT%H:%M:%S%.f%:z", "%Y-%m-%dT%H:%M%:z", "%Y-%m-%d %H:%M:%S%.f%:z", "%Y-%m-%d %H:%M%:z"];
/// Local formats, read in the run's time zone.
const LOCAL: [&str; 4] = ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d %H:%M"];

/// The latest year a run may reach: date partitions are `date=YYYY-MM-DD`.
pub const LAST_YEAR: i32 = 9999;

/// Parses `s` as Unix seconds: a datetime with an offset or `Z` (`2024-01-01T07:00-04:00`,
/// `2024-01-01T07:00Z`, `2024-01-01 07:00:00-04:00`, RFC 3339), or a local date or
/// datetime in `tz` (`2024-01-01`, `2024-01-01T08:00`, `2024-01-01 08:00:00`).
/// `key` names the parameter in errors.
///
/// ```
/// use gardencity_run::time::parse_time;
/// let tz: chrono_tz::Tz = "America/New_York".parse().unwrap();
/// assert_eq!(parse_time("2024-01-01T07:00-04:00", tz, "start").unwrap(), 1_704_106_800);
/// assert_eq!(parse_time("2024-01-01T07:00Z", tz, "start").unwrap(), 1_704_092_400);
/// assert_eq!(parse_time("2024-01-01", tz, "start").unwrap(), 1_704_085_200);
/// ```
pub fn parse_time(s: &str, tz: Tz, key: &str) -> Result<i64, RunError> {
    let t = s.trim();
    let with_z = t.strip_suffix(['Z', 'z']).map(|head| format!("{head}+00:00"));
    let offset_text = with_z.as_deref().unwrap_or(t);
    let parsed = WITH_OFFSET.iter().find_map(|f| DateTime::parse_from_str(offset_text, f).ok()).map(|d| d.timestamp());
    let ts = match parsed {
        Some(ts) => ts,
        None => {
            let naive = LOCAL
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(t, f).ok())
                .or_else(|| NaiveDate::parse_from_str(t, "%Y-%m-%d").ok().map(|d| d.and_time(chrono::NaiveTime::MIN)))
                .ok_or_else(|| {
                    RunError::spec(
                        key,
                        format!(
                            "{s:?} is not a datetime; expected 2024-01-01, 2024-01-01T08:00, \
                             2024-01-01 08:00:00 (local time in the run's time zone) or one with an offset \
                             such as 2024-01-01T08:00-04:00 or 2024-01-01T08:00Z"
                        ),
                    )
                })?;
            tz.from_local_datetime(&naive).earliest().map(|d| d.timestamp()).ok_or_else(|| {
                RunError::spec(key, format!("{s:?} does not exist in {tz} (skipped by a daylight-saving change)"))
            })?
        }
    };
    check_in_range(ts, tz, key, s)?;
    Ok(ts)
}

/// Fails unless `ts` falls in the years 1..=9999 in `tz` (the range of date partitions).
pub fn check_in_range(ts: i64, tz: Tz, key: &str, shown: &str) -> Result<(), RunError> {
    let year = tz.timestamp_opt(ts, 0).single().map(|d| d.year());
    match year {
        Some(y) if (1..=LAST_YEAR).contains(&y) => Ok(()),
        _ => Err(RunError::spec(key, format!("{shown} is outside the years 1 to {LAST_YEAR}"))),
    }
}
