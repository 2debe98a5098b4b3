//! Gravity between buildings (MODEL.md section 3) and the weighted destination draw of EPR.
//!
//! `weight(i, j) = 1 / d(i, j)^exponent`, `weight(i, i) = 0`, `d = 1` for distinct
//! buildings sharing a door cell. Two distances:
//! - [`GravityMode::HubProxy`] (the reference): door -> closest hub (Manhattan) + hub ->
//!   hub (street graph) + hub -> door, or the Manhattan door-to-door distance for
//!   "nearby" pairs;
//! - [`GravityMode::Exact`]: the true street distance door cell to door cell, kept as a
//!   `u16` matrix over distinct door cells (BFS from each), so it scales to tens of
//!   thousands of buildings within [`GravityParams::max_exact_bytes`].
//!
//! A [`Gravity`] is plain data (`Clone`, `PartialEq`, `Send + Sync`). Its persistent
//! parts ([`HubProxyParts`]) rebuild it with [`Gravity::from_hub_parts`]; everything else
//! (sampling tables) is derived.

mod error;
mod exact;
mod hub_proxy;
mod hubs;
mod nearby;
mod sample;

pub use error::GravityError;
pub use hub_proxy::{hub_distances, HubProxyParts};
pub use hubs::select_hubs;

use crate::city::{BuildingIdx, BuildingType, Cell, City};
use exact::Exact;
use hub_proxy::HubProxy;
use std::fmt;
use std::str::FromStr;

/// Parameters of a gravity model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GravityParams {
    /// The distance exponent (2 in the reference); finite and `>= 0`.
    pub exponent: f64,
    /// Requested hub count (`hub_size`); `None` = `n_buildings / 1000 + 5` (capped at the
    /// number of street cells).
    pub hub_size: Option<usize>,
    /// Exact mode: the largest door-distance matrix allowed, in bytes (2 per entry).
    pub max_exact_bytes: u64,
}

impl Default for GravityParams {
    fn default() -> Self {
        GravityParams { exponent: 2.0, hub_size: None, max_exact_bytes: 2 << 30 }
    }
}

/// Which distance the gravity uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GravityMode {
    /// The reference's hub-proxy distance.
    HubProxy,
    /// True street distance door to door.
    Exact,
}

impl GravityMode {
    /// The name used in files: `hub_proxy` or `exact`.
    pub fn as_str(self) -> &'static str {
        match self {
            GravityMode::HubProxy => "hub_proxy",
            GravityMode::Exact => "exact",
        }
    }
}

impl fmt::Display for GravityMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for GravityMode {
    type Err = GravityError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "hub_proxy" => Ok(GravityMode::HubProxy),
            "exact" => Ok(GravityMode::Exact),
            _ => Err(GravityError::UnknownMode { given: s.to_string() }),
        }
    }
}

/// The gravity model of one city: weights and the weighted destination draw.
///
/// ```
/// use gardencity::city::random::{random_city, RandomCityParams};
/// use gardencity::gravity::{Gravity, GravityParams};
/// use gardencity::{BuildingIdx, BuildingType, TypeSet};
/// use rand::SeedableRng;
/// let city = random_city(&RandomCityParams { width: 30, height: 30, seed: 1, ..Default::default() }).unwrap();
/// let g = Gravity::hub_proxy(&city, GravityParams::default()).unwrap();
/// let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
/// let retail = TypeSet::of(&[BuildingType::Retail]);
/// let to = g.sample(BuildingIdx(0), retail, &|_| false, &mut rng).expect("the city has shops");
/// assert_eq!(city.building(to).kind, BuildingType::Retail);
/// assert!(g.weight(BuildingIdx(0), to) > 0.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Gravity {
    base: Base,
    model: Model,
}

/// The distance model of a [`Gravity`], with the tables of its draw.
#[derive(Debug, Clone, PartialEq)]
enum Model {
    /// The reference's hub proxy ([`hub_proxy`]).
    HubProxy(HubProxy),
    /// The true street distance ([`exact`]).
    Exact(Exact),
}

/// What every model shares: the exponent, the buildings' types and doors, and the
/// power table.
#[derive(Debug, Clone, PartialEq)]
struct Base {
    exponent: f64,
    kinds: Vec<BuildingType>,
    by_type: [Vec<BuildingIdx>; BuildingType::COUNT],
    doors: Vec<Cell>,
    /// `inv_pow[d] = max(d, 1)^-exponent`, up to the largest distance the model stores
    /// (filled by the model's builder).
    inv_pow: Vec<f64>,
}

const T: usize = BuildingType::COUNT;

impl Base {
    /// The city's buildings, with an empty power table.
    fn new(city: &City, exponent: f64) -> Base {
        let mut by_type: [Vec<BuildingIdx>; T] = Default::default();
        for t in BuildingType::ALL {
            by_type[t as usize] = city.buildings_of_type(t).to_vec();
        }
        Base {
            exponent,
            kinds: city.buildings().iter().map(|b| b.kind).collect(),
            by_type,
            doors: city.buildings().iter().map(|b| b.door).collect(),
            inv_pow: Vec::new(),
        }
    }

    /// `max(d, 1)^-exponent` (from the table when it covers `d`).
    #[inline]
    fn inv(&self, d: u32) -> f64 {
        match self.inv_pow.get(d as usize) {
            Some(&w) => w,
            None => (d.max(1) as f64).powf(-self.exponent),
        }
    }
}

fn check_exponent(e: f64) -> Result<(), GravityError> {
    if e.is_finite() && e >= 0.0 {
        Ok(())
    } else {
        Err(GravityError::Exponent { value: e })
    }
}

impl Gravity {
    /// The gravity model of `mode`: [`Gravity::hub_proxy`] or [`Gravity::exact`] (the one
    /// place that chooses between them).
    pub fn build(city: &City, mode: GravityMode, params: GravityParams) -> Result<Gravity, GravityError> {
        match mode {
            GravityMode::HubProxy => Gravity::hub_proxy(city, params),
            GravityMode::Exact => Gravity::exact(city, params),
        }
    }

    /// The hub-proxy tables (`None` in exact mode).
    fn hub(&self) -> Option<&HubProxy> {
        match &self.model {
            Model::HubProxy(h) => Some(h),
            Model::Exact(_) => None,
        }
    }

    /// The gravity weight `1 / d(i, j)^exponent` (0 for `i == j`, unreachable pairs or
    /// indices out of range).
    pub fn weight(&self, i: BuildingIdx, j: BuildingIdx) -> f64 {
        let n = self.base.kinds.len();
        if i == j || i.index() >= n || j.index() >= n {
            return 0.0;
        }
        match self.distance(i, j) {
            Some(d) => self.base.inv(d.max(1)),
            None => 0.0,
        }
    }

    /// The gravity distance `d(i, j)` before the `d = 1` rule (`None` when unreachable or
    /// out of range; 0 for a building with itself or buildings sharing a door cell).
    pub fn distance(&self, i: BuildingIdx, j: BuildingIdx) -> Option<u32> {
        let n = self.base.kinds.len();
        if i.index() >= n || j.index() >= n {
            return None;
        }
        if i == j {
            return Some(0);
        }
        match &self.model {
            Model::Exact(e) => e.distance(i, j),
            Model::HubProxy(h) => h.distance(&self.base, i, j),
        }
    }

    /// The distance exponent.
    pub fn exponent(&self) -> f64 {
        self.base.exponent
    }
    /// The distance mode.
    pub fn mode(&self) -> GravityMode {
        match self.model {
            Model::HubProxy(_) => GravityMode::HubProxy,
            Model::Exact(_) => GravityMode::Exact,
        }
    }
    /// Number of buildings.
    pub fn building_count(&self) -> usize {
        self.base.kinds.len()
    }
    /// Hub cells in hub order (empty in exact mode).
    pub fn hubs(&self) -> &[Cell] {
        self.hub().map_or(&[], |h| &h.hubs)
    }
    /// Hub-to-hub street distances, row-major in hub order (`u32::MAX` unreachable;
    /// empty in exact mode).
    pub fn hub_dist(&self) -> &[u32] {
        self.hub().map_or(&[], |h| &h.hub_dist)
    }
    /// Each building's closest hub index (empty in exact mode).
    pub fn closest_hub(&self) -> &[u32] {
        self.hub().map_or(&[], |h| &h.closest_hub)
    }
    /// Each building's Manhattan distance door -> closest hub (empty in exact mode).
    pub fn dist_to_hub(&self) -> &[u32] {
        self.hub().map_or(&[], |h| &h.dist_to_hub)
    }
    /// Nearby pairs `(i, j, Manhattan door distance)`, both orders, sorted by `(i, j)`
    /// (none in exact mode).
    pub fn nearby_pairs(&self) -> impl Iterator<Item = (BuildingIdx, BuildingIdx, u32)> + '_ {
        let base = &self.base;
        self.hub().into_iter().flat_map(move |h| {
            (0..h.nearby.len()).flat_map(move |i| {
                let (doors, near) = (&base.doors, h.near(base, i));
                near.j.iter().map(move |&j| (BuildingIdx(i as u32), j, doors[i].manhattan(doors[j.index()])))
            })
        })
    }
    /// The persistent parts of a hub-proxy gravity (`None` in exact mode).
    pub fn hub_parts(&self) -> Option<HubProxyParts> {
        self.hub().map(|h| HubProxyParts {
            exponent: self.base.exponent,
            hubs: h.hubs.clone(),
            hub_dist: h.hub_dist.clone(),
            closest_hub: h.closest_hub.clone(),
            dist_to_hub: h.dist_to_hub.clone(),
            nearby: self.nearby_pairs().collect(),
        })
    }
    /// Distinct door cells of the exact matrix (0 in hub-proxy mode).
    pub fn exact_door_count(&self) -> usize {
        match &self.model {
            Model::Exact(e) => e.n_slots,
            Model::HubProxy(_) => 0,
        }
    }
    /// A one-line human summary (for `city info`).
    pub fn summary(&self) -> String {
        let (exponent, nb) = (self.base.exponent, self.base.kinds.len());
        match &self.model {
            Model::HubProxy(h) => format!(
                "gravity hub_proxy: exponent {exponent}, {} hubs, {} nearby pairs, {nb} buildings",
                h.hubs.len(),
                // Each unordered pair once (the lists hold both orders), as the reference counts.
                h.nearby.ordered_pairs(&self.base.doors, &h.dist_to_hub) / 2,
            ),
            Model::Exact(e) => {
                format!("gravity exact: exponent {exponent}, {} distinct door cells, {nb} buildings", e.n_slots)
            }
        }
    }
}

fn inv_pow_table(exponent: f64, len: usize) -> Vec<f64> {
    (0..len.max(2)).map(|d| (d.max(1) as f64).powf(-exponent)).collect()
}

#[cfg(test)]
mod tests;
