//! Parameters of the mobility model, with the reference's names and defaults.

use crate::city::{BuildingType, TypeSet};
use serde::{Deserialize, Serialize};

/// A value per building type (stay probabilities, still probabilities, speeds).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TypeTable {
    /// Value for homes.
    pub home: f64,
    /// Value for workplaces.
    pub workplace: f64,
    /// Value for retail.
    pub retail: f64,
    /// Value for parks.
    pub park: f64,
    /// Value for `other` buildings (not in the reference, whose default is 0.5).
    #[serde(default = "half")]
    pub other: f64,
}

fn half() -> f64 {
    0.5
}

impl TypeTable {
    /// The value for one type.
    #[inline]
    pub fn get(&self, t: BuildingType) -> f64 {
        match t {
            BuildingType::Home => self.home,
            BuildingType::Workplace => self.workplace,
            BuildingType::Retail => self.retail,
            BuildingType::Park => self.park,
            BuildingType::Other => self.other,
        }
    }
    fn values(&self) -> [(&'static str, f64); 5] {
        [
            ("home", self.home),
            ("workplace", self.workplace),
            ("retail", self.retail),
            ("park", self.park),
            ("other", self.other),
        ]
    }
}

/// Building types allowed as destinations in each local hour of the day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Schedule {
    /// 24 lists of type names, hour 0 first.
    pub hours: Vec<Vec<BuildingTypeName>>,
}

/// A building type name in configuration files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildingTypeName {
    /// `home`
    Home,
    /// `workplace`
    Workplace,
    /// `retail`
    Retail,
    /// `park`
    Park,
    /// `other`
    Other,
}

impl From<BuildingTypeName> for BuildingType {
    fn from(n: BuildingTypeName) -> Self {
        match n {
            BuildingTypeName::Home => BuildingType::Home,
            BuildingTypeName::Workplace => BuildingType::Workplace,
            BuildingTypeName::Retail => BuildingType::Retail,
            BuildingTypeName::Park => BuildingType::Park,
            BuildingTypeName::Other => BuildingType::Other,
        }
    }
}

impl Default for Schedule {
    /// The reference's table: 0-6 home; 7 home, park; 8 retail, workplace, park; 9-11
    /// workplace; 12-13 retail, park; 14-17 workplace; 18-19 retail, park, home; 20-23 home.
    fn default() -> Self {
        use BuildingTypeName::*;
        let hours = (0..24)
            .map(|h| match h {
                0..=6 => vec![Home],
                7 => vec![Home, Park],
                8 => vec![Retail, Workplace, Park],
                9..=11 => vec![Workplace],
                12..=13 => vec![Retail, Park],
                14..=17 => vec![Workplace],
                18..=19 => vec![Retail, Park, Home],
                _ => vec![Home],
            })
            .collect();
        Schedule { hours }
    }
}

impl Schedule {
    /// The allowed types per hour as bit sets.
    pub fn type_sets(&self) -> [TypeSet; 24] {
        let mut out = [TypeSet::EMPTY; 24];
        for (h, types) in self.hours.iter().enumerate().take(24) {
            out[h] = TypeSet::of(&types.iter().map(|&t| t.into()).collect::<Vec<_>>());
        }
        out
    }
}

/// Parameters of the EPR destination diary and of movement (MODEL.md sections 4 and 5).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct MobilityParams {
    /// Minutes per EPR step (`epr_time_res`, 15).
    pub epr_time_res: u32,
    /// Exploration scale `rho` (0.4).
    pub rho: f64,
    /// Exploration decay `gamma` (0.3).
    pub gamma: f64,
    /// Per-step probability of staying, by the current building's type.
    pub stay_probs: TypeTable,
    /// Allowed destination types by local hour.
    pub schedule: Schedule,
    /// Tick length in minutes (`dt`, 1); `60 * dt` must be a whole number of seconds.
    pub dt: f64,
    /// Probability of not moving during a tick inside a building, by type.
    pub still_probs: TypeTable,
    /// Standard deviation (blocks per sqrt(minute)) of a step inside a building, by type.
    pub speeds: TypeTable,
    /// Mean travel speed in blocks per minute (3.33).
    pub travel_speed: f64,
    /// Initial visit count of home and workplace (20).
    pub initial_anchor_visits: u32,
    /// Extra buildings pre-visited at start: (retail, workplace, home, park) counts (4, 2, 2, 2).
    pub initial_extra_buildings: [u32; 4],
    /// Visit count given to each extra building (2).
    pub initial_extra_visits: u32,
}

impl Default for MobilityParams {
    fn default() -> Self {
        MobilityParams {
            epr_time_res: 15,
            rho: 0.4,
            gamma: 0.3,
            stay_probs: TypeTable {
                home: 1.0 - 1.0 / 56.0,
                workplace: 1.0 - 1.0 / 28.0,
                retail: 0.5,
                park: 0.75,
                other: 0.5,
            },
            schedule: Schedule::default(),
            dt: 1.0,
            still_probs: TypeTable { home: 0.9, workplace: 0.9, retail: 0.5, park: 0.5, other: 0.5 },
            speeds: TypeTable {
                home: 0.75 / 1.96,
                workplace: 0.75 / 1.96,
                retail: 1.75 / 1.96,
                park: 2.0 / 1.96,
                other: 0.75 / 1.96,
            },
            travel_speed: 3.33,
            initial_anchor_visits: 20,
            initial_extra_buildings: [4, 2, 2, 2],
            initial_extra_visits: 2,
        }
    }
}

/// A parameter that is out of its range.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid parameter {name} = {value}: {expected}")]
pub struct ParamError {
    /// The parameter's name as in configuration files.
    pub name: String,
    /// Its value.
    pub value: String,
    /// What was expected.
    pub expected: String,
}

impl ParamError {
    /// A new error.
    pub fn new(name: impl Into<String>, value: impl ToString, expected: impl Into<String>) -> Self {
        ParamError { name: name.into(), value: value.to_string(), expected: expected.into() }
    }
}

impl MobilityParams {
    /// Ticks per second of simulated time: `60 * dt` seconds per tick.
    pub fn tick_seconds(&self) -> i64 {
        (self.dt * 60.0).round() as i64
    }

    /// Checks every parameter's range.
    pub fn validate(&self) -> Result<(), ParamError> {
        if self.epr_time_res == 0 {
            return Err(ParamError::new("epr_time_res", self.epr_time_res, "a positive number of minutes"));
        }
        if !(self.dt > 0.0 && self.dt.is_finite()) {
            return Err(ParamError::new("dt", self.dt, "a positive number of minutes"));
        }
        let secs = self.dt * 60.0;
        if (secs - secs.round()).abs() > 1e-9 {
            return Err(ParamError::new("dt", self.dt, "a tick of a whole number of seconds (60 * dt integral)"));
        }
        if !(self.rho >= 0.0 && self.rho <= 1.0) {
            return Err(ParamError::new("rho", self.rho, "a number in [0, 1]"));
        }
        if !(self.gamma >= 0.0 && self.gamma.is_finite()) {
            return Err(ParamError::new("gamma", self.gamma, "a non-negative number"));
        }
        if !(self.travel_speed > 0.0 && self.travel_speed.is_finite()) {
            return Err(ParamError::new("travel_speed", self.travel_speed, "a positive number of blocks per minute"));
        }
        for (table, t) in [("stay_probs", &self.stay_probs), ("still_probs", &self.still_probs)] {
            for (k, v) in t.values() {
                if !(0.0..=1.0).contains(&v) {
                    return Err(ParamError::new(format!("{table}.{k}"), v, "a probability in [0, 1]"));
                }
            }
        }
        for (k, v) in self.speeds.values() {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(ParamError::new(format!("speeds.{k}"), v, "a non-negative number"));
            }
        }
        if self.schedule.hours.len() != 24 {
            return Err(ParamError::new(
                "schedule",
                self.schedule.hours.len(),
                "24 lists of building types, one per hour",
            ));
        }
        Ok(())
    }
}
