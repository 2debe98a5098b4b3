//! Sampling sweeps: one ground truth, many phones.
//!
//! A [`SweepSpec`] (the `--sweep` TOML file, or the `sweep` key of a run) lists named
//! sampling configurations and/or a grid (the cartesian product of value lists) over
//! the keys of the `[sampling]` table, each on top of a shared `base` table (itself on
//! top of the run's `[sampling]`). The trajectories do not depend on sampling, so one
//! simulation serves every configuration; each configuration's sparse pings equal those
//! of a separate run with it alone and the same seed.
//!
//! ```
//! use gardencity_run::sweep::SweepSpec;
//! let s = SweepSpec::from_toml(r#"
//!     [base]
//!     beta_start = 300.0
//!     beta_durations = 55.0
//!     [grid]
//!     ha_m = [13.0, 15.0]
//!     beta_ping = [5.0, 8.0]
//!     [[config]]
//!     name = "dense-phone"
//!     one_burst = true
//!     beta_start = "absent"
//! "#);
//! // `beta_start = "absent"` is not a number: the error names the configuration and key.
//! let e = s.unwrap().expand(&Default::default(), 15.0).unwrap_err().to_string();
//! assert!(e.contains("dense-phone") && e.contains("beta_start"), "{e}");
//! ```

use crate::RunError;
use gardencity::sampling::{ParamSpec, SamplingConfig};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The most configurations a sweep may have.
pub const MAX_CONFIGS: usize = 1000;

/// A sampling sweep as written: `base`, `grid` and `config` tables.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SweepSpec {
    /// Sampling keys shared by every configuration (over the run's `[sampling]`).
    pub base: Map<String, Value>,
    /// Keys with a list of values each: one configuration per combination, named
    /// `key-value_key-value` (keys in alphabetical order; a value that is not a number
    /// is named by its position, `key-i1`).
    pub grid: Map<String, Value>,
    /// Named configurations: a `name` and sampling keys.
    pub config: Vec<Map<String, Value>>,
}

/// One configuration of a sweep, ready to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SweepConfig {
    /// Its name: the `config=NAME` partition of the sparse pings.
    pub name: String,
    /// Its sampling parameters, every default applied (`ha` in blocks).
    pub sampling: SamplingConfig,
}

fn err(name: &str, key: &str, reason: impl std::fmt::Display) -> RunError {
    RunError::spec("sweep", format!("configuration {name:?}: {key}: {reason}"))
}

/// A name piece of a grid value.
fn value_label(key: &str, i: usize, v: &Value) -> String {
    match v.as_f64() {
        Some(x) => format!("{key}-{x}"),
        None => format!("{key}-i{i}"),
    }
}

impl SweepSpec {
    /// Parses a sweep file.
    pub fn from_toml(text: &str) -> Result<SweepSpec, RunError> {
        toml::from_str(text).map_err(|e| RunError::spec("sweep", e.message().to_string()))
    }

    /// The configurations, in order: the grid's combinations (last key varying fastest),
    /// then the named ones. Each is `sampling` overlaid with `base` and its own keys;
    /// `ha_m` (metres) becomes `ha` over `block_side`. Errors name the configuration and
    /// key: unknown keys, invalid values, an empty grid or list, duplicate names, no
    /// configuration at all.
    pub fn expand(&self, sampling: &SamplingConfig, block_side: f64) -> Result<Vec<SweepConfig>, RunError> {
        let mut raw: Vec<(String, Map<String, Value>)> = Vec::new();
        if !self.grid.is_empty() {
            let mut combos: Vec<(Vec<String>, Map<String, Value>)> = vec![(Vec::new(), Map::new())];
            for (key, values) in &self.grid {
                let list = match values {
                    Value::Array(a) if !a.is_empty() => a,
                    Value::Array(_) => return Err(err("grid", key, "an empty list of values")),
                    _ => return Err(err("grid", key, "expected a list of values")),
                };
                let mut next = Vec::with_capacity(combos.len() * list.len());
                for (names, table) in &combos {
                    for (i, v) in list.iter().enumerate() {
                        let mut names = names.clone();
                        names.push(value_label(key, i, v));
                        let mut table = table.clone();
                        table.insert(key.clone(), v.clone());
                        next.push((names, table));
                    }
                }
                if next.len() > MAX_CONFIGS {
                    return Err(err("grid", key, format!("more than {MAX_CONFIGS} configurations")));
                }
                combos = next;
            }
            raw.extend(combos.into_iter().map(|(names, t)| (names.join("_"), t)));
        }
        for (k, c) in self.config.iter().enumerate() {
            let mut table = c.clone();
            let name = match table.remove("name") {
                Some(Value::String(s)) => s,
                Some(other) => return Err(err(&format!("config {k}"), "name", format!("{other}: expected a string"))),
                None => return Err(err(&format!("config {k}"), "name", "missing")),
            };
            raw.push((name, table));
        }
        if raw.is_empty() {
            return Err(RunError::spec("sweep", "no configuration: give a [grid] or [[config]] tables"));
        }
        if raw.len() > MAX_CONFIGS {
            return Err(RunError::spec("sweep", format!("{} configurations, at most {MAX_CONFIGS}", raw.len())));
        }
        let base_json = serde_json::to_value(sampling).map_err(|e| RunError::spec("sweep", e.to_string()))?;
        let mut out: Vec<SweepConfig> = Vec::with_capacity(raw.len());
        for (name, own) in raw {
            let valid_name = !name.is_empty() && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.".contains(&b));
            if !valid_name {
                return Err(err(&name, "name", "expected letters, digits, -, _ or ."));
            }
            if out.iter().any(|c| c.name == name) {
                return Err(err(&name, "name", "used twice"));
            }
            let mut table = match &base_json {
                Value::Object(m) => m.clone(),
                _ => Map::new(),
            };
            let mut ha_m = None;
            for (k, v) in self.base.iter().chain(own.iter()) {
                if k == "ha_m" {
                    ha_m = Some(
                        v.as_f64()
                            .filter(|m| m.is_finite() && *m >= 0.0)
                            .ok_or_else(|| err(&name, "ha_m", format!("{v}: expected metres >= 0")))?,
                    );
                    continue;
                }
                if k == "ha" {
                    ha_m = None;
                }
                table.insert(k.clone(), v.clone());
            }
            let mut config: SamplingConfig = serde_path_to_error::deserialize(Value::Object(table))
                .map_err(|e| err(&name, &e.path().to_string(), e.inner()))?;
            if let Some(m) = ha_m {
                config.ha = ParamSpec::Value(m / block_side);
            }
            let config = config.resolved();
            config.validate().map_err(|e| err(&name, &e.name, format!("{} ({})", e.value, e.expected)))?;
            out.push(SweepConfig { name, sampling: config });
        }
        Ok(out)
    }
}
