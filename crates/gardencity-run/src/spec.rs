//! [`RunSpec`]: everything a run needs, as one serde value with the keys of the
//! `--config` TOML file (and of `gardencity.simulate`'s keyword arguments).

use crate::time::{check_in_range, parse_time};
use crate::RunError;
use chrono::TimeZone;
use chrono_tz::Tz;
use gardencity::mobility::params::MobilityParams;
use gardencity::records::OutputSelection;
use gardencity::sampling::SamplingConfig;
use gardencity_io::dataset::{Coordinates, DatasetFormat};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// A run: city, population, time window, model tables, outputs.
///
/// Every key has the reference's default; `RunSpec::default()` is the README's default
/// run (100 agents for a week from 2024-01-01 in New York on the built-in city).
///
/// ```
/// use gardencity_run::RunSpec;
/// let spec = RunSpec::from_toml("agents = 10\ndays = 2\n[sampling]\nbeta_ping = 7.0\n").unwrap();
/// assert_eq!(spec.agents, 10);
/// let window = spec.window().unwrap();
/// assert_eq!(window.end - window.start, 2 * 86_400);
/// assert!(RunSpec::from_toml("agents = -1").unwrap_err().to_string().contains("agents"));
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RunSpec {
    /// City GeoPackage (its stored gravity is used when present) or `.gcsnap` snapshot;
    /// `None`: the built-in default city, or a city given to the runner directly.
    pub city: Option<PathBuf>,
    /// Output directory of the dataset (`None` when the records go to another sink).
    pub out: Option<PathBuf>,
    /// Agents of the whole population (a shard simulates a part of them).
    pub agents: u64,
    /// Start: a local datetime in `tz`, or one with an offset.
    pub start: String,
    /// End (exclusive), same formats; `None`: `start + days`.
    pub end: Option<String>,
    /// Length in days when `end` is not given (7).
    pub days: Option<f64>,
    /// IANA time zone of the schedule and of output datetimes.
    pub tz: String,
    /// Master seed.
    pub seed: u64,
    /// Outputs to produce.
    pub outputs: OutputSelection,
    /// Dataset file format.
    pub format: DatasetFormat,
    /// Coordinates of the outputs (`ha` follows them: blocks, or metres).
    pub coords: Coordinates,
    /// Worker threads (`None`: every core).
    pub threads: Option<usize>,
    /// CSV or Parquet table (or an earlier run's `homes/` dataset) fixing agents' homes
    /// and workplaces.
    pub anchors: Option<PathBuf>,
    /// Simulate only shard `k` of `n` of the population (`"K/N"` or `[k, n]`).
    pub shard: Option<Shard>,
    /// Replace a previous gardencity dataset in `out`.
    pub overwrite: bool,
    /// Continue the interrupted run in `out` from its last checkpoint (the same
    /// specification; the dataset equals an uninterrupted run's, file for file).
    pub resume: bool,
    /// Agents between checkpoints of a dataset (`None`: 100,000; 0: none). The part
    /// files are cut at checkpoints, so a run resumed must use the same value.
    pub checkpoint_agents: Option<u64>,
    /// Mean horizontal accuracy in metres: sets `sampling.ha` to this over the city's
    /// block side.
    pub ha_m: Option<f64>,
    /// `[longitude, latitude]` in degrees: re-places the city (the built-in one
    /// included) with its centre there; `None` keeps its georeference.
    pub origin: Option<[f64; 2]>,
    /// Mobility model (MODEL.md sections 4 and 5).
    pub mobility: MobilityParams,
    /// Sparse sampling (MODEL.md section 6).
    pub sampling: SamplingConfig,
    /// A sampling sweep: sparse pings of several configurations over one simulation
    /// (`sparse/config=NAME/date=...`); `None`: one phone, `sampling`.
    pub sweep: Option<crate::sweep::SweepSpec>,
    /// Gravity model choice.
    pub gravity: GravitySpec,
}

impl Default for RunSpec {
    fn default() -> Self {
        RunSpec {
            city: None,
            out: None,
            agents: 100,
            start: "2024-01-01".into(),
            end: None,
            days: None,
            tz: "America/New_York".into(),
            seed: 0,
            outputs: OutputSelection::default(),
            format: DatasetFormat::Parquet,
            coords: Coordinates::WebMercator,
            threads: None,
            anchors: None,
            shard: None,
            overwrite: false,
            resume: false,
            checkpoint_agents: None,
            ha_m: None,
            origin: None,
            mobility: MobilityParams::default(),
            sampling: SamplingConfig::default(),
            sweep: None,
            gravity: GravitySpec::default(),
        }
    }
}

/// The `[gravity]` table: stored gravity is used unless one of these asks otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GravitySpec {
    /// Hub count of the hub proxy (`None`: buildings / 1000 + 5).
    pub hubs: Option<usize>,
    /// Distance exponent (2).
    pub exponent: Option<f64>,
    /// Exact street distances instead of the hub proxy.
    pub exact: bool,
}

impl GravitySpec {
    /// Computes the gravity model this table asks for.
    pub fn build(
        &self,
        city: &gardencity::City,
    ) -> Result<gardencity::gravity::Gravity, gardencity::gravity::GravityError> {
        use gardencity::gravity::{Gravity, GravityMode, GravityParams};
        let params = GravityParams {
            exponent: self.exponent.unwrap_or(GravityParams::default().exponent),
            hub_size: self.hubs,
            ..GravityParams::default()
        };
        Gravity::build(city, if self.exact { GravityMode::Exact } else { GravityMode::HubProxy }, params)
    }

    /// True when gravity stored with the city may be used as is.
    pub fn accepts_stored(&self) -> bool {
        self.hubs.is_none() && self.exponent.is_none() && !self.exact
    }
}

/// Shard `k` of `n` (from 0) of a population: agents `k*agents/n .. (k+1)*agents/n`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Shard {
    /// This shard, `0 <= k < n`.
    pub k: u64,
    /// Number of shards.
    pub n: u64,
}

impl Shard {
    /// Checks `0 <= k < n`.
    pub fn new(k: u64, n: u64) -> Result<Shard, RunError> {
        if n == 0 || k >= n {
            return Err(RunError::spec("shard", format!("{k}/{n}: expected K/N with 0 <= K < N, e.g. 0/4")));
        }
        Ok(Shard { k, n })
    }

    /// The first agent and the number of agents of this shard of `agents`.
    pub fn range(&self, agents: u64) -> (u64, u64) {
        let at = |i: u64| ((i as u128 * agents as u128) / self.n as u128) as u64;
        (at(self.k), at(self.k + 1) - at(self.k))
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.k, self.n)
    }
}

impl std::str::FromStr for Shard {
    type Err = RunError;
    fn from_str(s: &str) -> Result<Shard, RunError> {
        let parsed =
            s.split_once('/').and_then(|(k, n)| Some((k.trim().parse::<u64>().ok()?, n.trim().parse::<u64>().ok()?)));
        match parsed {
            Some((k, n)) => Shard::new(k, n),
            None => Err(RunError::spec("shard", format!("{s:?}: expected K/N with 0 <= K < N, e.g. 0/4"))),
        }
    }
}

impl Serialize for Shard {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Shard {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Text(String),
            Pair(u64, u64),
        }
        match Form::deserialize(d)? {
            Form::Text(t) => t.parse().map_err(serde::de::Error::custom),
            Form::Pair(k, n) => Shard::new(k, n).map_err(serde::de::Error::custom),
        }
    }
}

/// The time window and population slice of a spec, checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// Unix seconds of the start.
    pub start: i64,
    /// Unix seconds of the end (exclusive).
    pub end: i64,
    /// The time zone.
    pub tz: Tz,
    /// First agent simulated.
    pub first_agent: u64,
    /// Agents simulated (the shard's, or all).
    pub shard_agents: u64,
}

impl RunSpec {
    /// A spec from TOML text (the `--config` file); errors name the key.
    pub fn from_toml(text: &str) -> Result<RunSpec, RunError> {
        let de = toml::Deserializer::parse(text).map_err(|e| RunError::Config(e.to_string()))?;
        serde_path_to_error::deserialize(de).map_err(|e| RunError::Config(path_message(&e)))
    }

    /// A spec from JSON text (what the Python package sends); errors name the key.
    pub fn from_json(text: &str) -> Result<RunSpec, RunError> {
        let mut de = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut de).map_err(|e| RunError::Config(path_message(&e)))
    }

    /// The time window and the shard's agents, checked (see [`RunSpec::validate`] for
    /// the other keys): a known time zone, start before end within the years 1-9999, at
    /// least one agent. A whole number of `days` counts calendar days in `tz`, so a week
    /// from midnight ends at midnight across a daylight-saving change too.
    pub fn window(&self) -> Result<Window, RunError> {
        let tz: Tz = self
            .tz
            .parse()
            .map_err(|_| RunError::spec("tz", format!("{:?} is not an IANA time zone name", self.tz)))?;
        let start = parse_time(&self.start, tz, "start")?;
        let (end, end_key) = match (&self.end, self.days) {
            (Some(_), Some(_)) => return Err(RunError::spec("days", "give either end or days, not both")),
            (Some(e), None) => (parse_time(e, tz, "end")?, "end"),
            (None, days) => (end_after_days(start, days.unwrap_or(7.0), tz)?, "days"),
        };
        if end <= start {
            let end_text =
                self.end.clone().unwrap_or_else(|| format!("{} days after the start", self.days.unwrap_or(7.0)));
            return Err(RunError::spec(end_key, format!("{end_text} is not after the start {}", self.start)));
        }
        if self.agents == 0 {
            return Err(RunError::spec("agents", "0: expected at least 1 agent"));
        }
        let (first_agent, shard_agents) = self.shard.map_or((0, self.agents), |s| s.range(self.agents));
        Ok(Window { start, end, tz, first_agent, shard_agents })
    }

    /// Checks the keys outside the time window: `threads` and `ha_m` (the model tables
    /// are checked by the population, the files when they are read).
    pub fn validate(&self) -> Result<(), RunError> {
        if let Some(t) = self.threads {
            let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
            let most = (8 * cores).max(64);
            if t == 0 || t > most {
                return Err(RunError::spec(
                    "threads",
                    format!("{t}: expected 1 to {most} ({cores} cores here; omit it to use every core)"),
                ));
            }
        }
        if self.resume && self.overwrite {
            return Err(RunError::spec(
                "resume",
                "cannot be combined with overwrite (resume keeps the files, overwrite deletes them)",
            ));
        }
        if let Some(h) = self.ha_m {
            if !(h >= 0.0 && h.is_finite()) {
                return Err(RunError::spec("ha_m", format!("{h}: expected metres >= 0")));
            }
        }
        Ok(())
    }
}

/// The end of a run of `days` days from `start`: whole days are calendar days in `tz`
/// (the same local time), fractions are seconds.
fn end_after_days(start: i64, days: f64, tz: Tz) -> Result<i64, RunError> {
    if !(days > 0.0 && days.is_finite()) {
        return Err(RunError::spec("days", format!("{days}: expected a positive number of days")));
    }
    // 1e8 days is beyond the year 9999 from any start: refuse before converting.
    if days > 1e8 {
        return Err(RunError::spec("days", format!("{days}: the run would end after the year 9999")));
    }
    let whole = days.trunc();
    let rest = ((days - whole) * 86_400.0).round() as i64;
    let local = tz.timestamp_opt(start, 0).single().map(|d| d.naive_local());
    let shifted = local
        .and_then(|l| l.checked_add_days(chrono::Days::new(whole as u64)))
        .and_then(|l| tz.from_local_datetime(&l).earliest())
        .map(|d| d.timestamp());
    let end = match shifted {
        Some(t) => t + rest,
        // The same local time is skipped that day (daylight saving): count seconds.
        None => start + (days * 86_400.0).round() as i64,
    };
    check_in_range(end, tz, "days", &format!("{days} days after the start"))?;
    Ok(end)
}

fn path_message<E: std::fmt::Display>(e: &serde_path_to_error::Error<E>) -> String {
    let path = e.path().to_string();
    let inner = e.inner().to_string();
    // The TOML error carries its own location and source excerpt; keep its first line.
    let inner =
        inner.lines().find(|l| !l.trim().is_empty()).unwrap_or("").trim().trim_start_matches("TOML parse error").trim();
    if path == "." || path.is_empty() {
        inner.to_string()
    } else {
        format!("{path}: {inner}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(toml: &str) -> RunSpec {
        RunSpec::from_toml(toml).unwrap()
    }

    #[test]
    fn whole_days_are_calendar_days_across_daylight_saving() {
        // New York springs forward on 2024-03-10: the week has 167 hours.
        let w = spec("start = \"2024-03-04\"\ndays = 7").window().unwrap();
        assert_eq!(w.end - w.start, 7 * 86_400 - 3600);
        let local = w.tz.timestamp_opt(w.end, 0).unwrap().naive_local().to_string();
        assert_eq!(local, "2024-03-11 00:00:00");
        // Fractions are seconds on top.
        let w = spec("start = \"2024-03-04\"\ndays = 1.5").window().unwrap();
        assert_eq!(w.end - w.start, 86_400 + 43_200);
    }

    #[test]
    fn bad_windows_name_their_key() {
        let err = |t: &str| spec(t).window().unwrap_err().to_string();
        assert!(err("days = 1e-9").starts_with("days:"), "{}", err("days = 1e-9"));
        assert!(err("start = \"2024-02-01\"\nend = \"2024-01-01\"").starts_with("end: 2024-01-01 is not after"));
        assert!(err("days = -1").starts_with("days: -1"));
        assert!(err("days = 1e9").contains("after the year 9999"));
        assert!(err("agents = 0").starts_with("agents: 0"));
        assert!(err("tz = \"Mars/Olympus\"").starts_with("tz:"));
        assert!(spec("threads = 0").validate().unwrap_err().to_string().starts_with("threads: 0"));
        assert!(spec("ha_m = -2.0").validate().unwrap_err().to_string().starts_with("ha_m: -2"));
        assert!(RunSpec::from_toml("shard = \"3/2\"").unwrap_err().to_string().contains("shard"));
        assert!(RunSpec::from_json("{\"agents\": -1}").unwrap_err().to_string().starts_with("agents: invalid value"));
    }

    #[test]
    fn shards_partition_the_population() {
        for (agents, n) in [(10_u64, 3_u64), (1, 2), (1000, 7)] {
            let mut next = 0;
            for k in 0..n {
                let (first, count) = Shard::new(k, n).unwrap().range(agents);
                assert_eq!(first, next);
                next += count;
            }
            assert_eq!(next, agents);
        }
        // A shard may be empty (more shards than agents).
        assert_eq!(Shard::new(0, 2).unwrap().range(1), (0, 0));
    }
}
