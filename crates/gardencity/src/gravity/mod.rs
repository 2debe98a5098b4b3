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

mod hubs;
mod nearby;
mod sample;

pub use hubs::select_hubs;

use crate::city::{BuildingIdx, BuildingType, Cell, City, StreetIdx};
use nearby::{DoorGrid, NearList, Nearby};
use rayon::prelude::*;
use std::fmt;
use std::str::FromStr;

const UNREACHABLE16: u16 = u16::MAX;
/// Class tables larger than this many entries are not precomputed (summed on the fly).
const MAX_HT_TABLE: usize = 4 << 20;

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

/// Why a gravity model could not be built.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GravityError {
    /// The exponent is not a finite number `>= 0`.
    #[error("invalid gravity exponent {value}: expected a finite number >= 0")]
    Exponent {
        /// The given exponent.
        value: f64,
    },
    /// The hub count is 0 or larger than the number of street cells.
    #[error("invalid hub count {requested}: expected 1..={street_cells} (the number of street cells)")]
    HubCount {
        /// The requested hub count.
        requested: usize,
        /// Street cells of the largest component.
        street_cells: usize,
    },
    /// A gravity mode name other than `hub_proxy` and `exact`.
    #[error("unknown gravity mode {given:?}: expected hub_proxy or exact")]
    UnknownMode {
        /// The name given.
        given: String,
    },
    /// The city has no street cells.
    #[error("the city has no street cells: gravity needs a street network")]
    NoStreets,
    /// The exact distance matrix would exceed the memory limit.
    #[error("exact gravity needs a {doors} x {doors} door distance matrix ({bytes} bytes), above the limit of {limit} bytes")]
    ExactTooLarge {
        /// Distinct door cells.
        doors: usize,
        /// Bytes needed.
        bytes: u64,
        /// The limit ([`GravityParams::max_exact_bytes`]).
        limit: u64,
    },
    /// A street distance too large for the `u16` exact matrix.
    #[error("street distance {distance} between door cells exceeds the exact matrix range (max {max})")]
    DistanceOverflow {
        /// The distance found.
        distance: u32,
        /// The largest storable distance.
        max: u32,
    },
    /// Stored parts do not match the city (wrong lengths, indices, distances).
    #[error("gravity data does not match the city: {field}{}: {reason}", index.map(|i| format!(" (entry {i})")).unwrap_or_default())]
    Mismatch {
        /// The offending part (`hubs`, `hub_dist`, `closest_hub_idx`, `dist_to_hub`, `nearby`, ...).
        field: &'static str,
        /// The entry (building index, hub index, pair index) when one is at fault.
        index: Option<usize>,
        /// What was expected.
        reason: String,
    },
}

/// The persistent parts of a hub-proxy gravity (the GeoPackage layers of MODEL.md section 7).
#[derive(Debug, Clone, PartialEq)]
pub struct HubProxyParts {
    /// The distance exponent.
    pub exponent: f64,
    /// Hub cells, in hub order.
    pub hubs: Vec<Cell>,
    /// Hub-to-hub street distances, row-major `n_hubs x n_hubs` in hub order
    /// (`u32::MAX` where unreachable).
    pub hub_dist: Vec<u32>,
    /// Each building's closest hub (index into `hubs`).
    pub closest_hub: Vec<u32>,
    /// Each building's Manhattan distance door -> closest hub.
    pub dist_to_hub: Vec<u32>,
    /// Nearby pairs `(i, j, Manhattan door distance)`, both orders, `i != j`.
    pub nearby: Vec<(BuildingIdx, BuildingIdx, u32)>,
}

/// The gravity model of one city: weights and the weighted destination draw.
///
/// ```
/// use gardencity::city::random::{random_city, RandomCityParams};
/// use gardencity::gravity::{Gravity, GravityParams};
/// use gardencity::{BuildingType, TypeSet};
/// use rand::SeedableRng;
/// let city = random_city(&RandomCityParams { width: 30, height: 30, seed: 1, ..Default::default() }).unwrap();
/// let g = Gravity::hub_proxy(&city, GravityParams::default()).unwrap();
/// let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(7);
/// let retail = TypeSet::of(&[BuildingType::Retail]);
/// let to = g.sample(0, retail, &|_| false, &mut rng).expect("the city has shops");
/// assert_eq!(city.building(to).kind, BuildingType::Retail);
/// assert!(g.weight(0, to) > 0.0);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Gravity {
    exponent: f64,
    mode: GravityMode,
    kinds: Vec<BuildingType>,
    by_type: [Vec<BuildingIdx>; BuildingType::COUNT],
    doors: Vec<Cell>,
    /// `inv_pow[d] = max(d, 1)^-exponent`.
    inv_pow: Vec<f64>,
    // Hub proxy.
    hubs: Vec<Cell>,
    hub_dist: Vec<u32>,
    closest_hub: Vec<u32>,
    dist_to_hub: Vec<u32>,
    /// Nearby lists (their distance is the Manhattan distance of the doors) and their
    /// weight sums by type.
    nearby: Nearby,
    /// Target classes `(hub, type, dist_to_hub)`: classes of `(h, t)` are
    /// `class_off[h*T+t]..class_off[h*T+t+1]`; class `c` has `class_delta[c]` and members
    /// `members[class_start[c]..class_start[c+1]]`.
    class_off: Vec<u32>,
    class_delta: Vec<u32>,
    class_start: Vec<u32>,
    members: Vec<BuildingIdx>,
    /// `ht_weight[(h*T+t)*(amax+1)+a] = sum over classes of (h, t) of n * inv_pow[a + delta]`
    /// (empty when too large; then summed on the fly).
    amax: u32,
    ht_weight: Vec<f64>,
    // Exact.
    door_slot: Vec<u32>,
    n_slots: usize,
    door_dist: Vec<u16>,
    /// Exact-mode draw: spatially compact blocks of at most [`BLOCK`] buildings of one
    /// type; blocks of type `t` are `blk_type_off[t]..blk_type_off[t+1]`, block `b` holds
    /// `blk_members[blk_start[b]..blk_start[b+1]]`, and `blk_min[s * nblk + b]` is the
    /// smallest door distance from door slot `s` to the block (`u16::MAX` unreachable).
    blk_type_off: Vec<u32>,
    blk_start: Vec<u32>,
    blk_members: Vec<BuildingIdx>,
    blk_min: Vec<u16>,
}

/// Buildings per block of the exact-mode draw.
const BLOCK: usize = 32;

const T: usize = BuildingType::COUNT;

fn check_exponent(e: f64) -> Result<(), GravityError> {
    if e.is_finite() && e >= 0.0 {
        Ok(())
    } else {
        Err(GravityError::Exponent { value: e })
    }
}

/// Street-graph distances between hubs (BFS from each), row-major in hub order,
/// `u32::MAX` where unreachable. Errors when a hub is not a street cell.
pub fn hub_distances(city: &City, hubs: &[Cell]) -> Result<Vec<u32>, GravityError> {
    let idx: Vec<StreetIdx> = hubs
        .iter()
        .enumerate()
        .map(|(k, &c)| {
            city.street_at(c).ok_or_else(|| GravityError::Mismatch {
                field: "hubs",
                index: Some(k),
                reason: format!("hub ({}, {}) is not a street cell", c.x, c.y),
            })
        })
        .collect::<Result<_, _>>()?;
    let ns = city.streets().len();
    let rows: Vec<Vec<u32>> = idx
        .par_iter()
        .map_init(
            || (vec![u32::MAX; ns], Vec::with_capacity(ns)),
            |(d, queue), &s| {
                city.bfs_into(s, d, queue);
                idx.iter().map(|&t| d[t as usize]).collect()
            },
        )
        .collect();
    Ok(rows.concat())
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

    /// The reference's hub-proxy gravity.
    pub fn hub_proxy(city: &City, params: GravityParams) -> Result<Gravity, GravityError> {
        check_exponent(params.exponent)?;
        let n_streets = city.streets().len();
        if n_streets == 0 {
            return Err(GravityError::NoStreets);
        }
        // The default is capped at the street count; an explicit request is checked.
        let hub_size = params.hub_size.unwrap_or((city.buildings().len() / 1000 + 5).min(n_streets));
        if hub_size == 0 || hub_size > n_streets {
            return Err(GravityError::HubCount { requested: hub_size, street_cells: n_streets });
        }
        let hubs = select_hubs(city, hub_size);
        if hubs.is_empty() {
            return Err(GravityError::NoStreets);
        }
        Gravity::hub_proxy_with_hubs(city, hubs, params.exponent)
    }

    /// The reference's hub-proxy gravity on given hubs (in hub order) instead of the
    /// quantile-bucket selection of [`select_hubs`]: hub distances from the street graph,
    /// each building's closest hub (Manhattan, first in hub order on ties) and the nearby
    /// pairs follow as in [`Gravity::hub_proxy`]. For checking files written elsewhere
    /// (e.g. by the reference) against what this crate computes on their hubs.
    ///
    /// Errors: an invalid exponent, no hubs, or a hub that is not a street cell.
    pub fn hub_proxy_with_hubs(city: &City, hubs: Vec<Cell>, exponent: f64) -> Result<Gravity, GravityError> {
        check_exponent(exponent)?;
        if hubs.is_empty() {
            return Err(GravityError::Mismatch { field: "hubs", index: None, reason: "no hubs".into() });
        }
        let hub_dist = hub_distances(city, &hubs)?;
        let doors: Vec<Cell> = city.buildings().iter().map(|b| b.door).collect();
        let (closest_hub, dist_to_hub): (Vec<u32>, Vec<u32>) = doors
            .iter()
            .map(|&d| {
                let mut best = (0u32, u32::MAX);
                for (k, h) in hubs.iter().enumerate() {
                    let m = d.manhattan(*h);
                    if m < best.1 {
                        best = (k as u32, m);
                    }
                }
                best
            })
            .unzip();
        let mut g = Gravity::empty(city, exponent, GravityMode::HubProxy);
        g.nearby = Nearby::derived(DoorGrid::new(&doors), doors.len());
        g.hubs = hubs;
        g.hub_dist = hub_dist;
        g.closest_hub = closest_hub;
        g.dist_to_hub = dist_to_hub;
        g.finish_hub_proxy();
        Ok(g)
    }

    /// Exact gravity: true street distance door cell to door cell (unreachable pairs weigh 0).
    pub fn exact(city: &City, params: GravityParams) -> Result<Gravity, GravityError> {
        check_exponent(params.exponent)?;
        if city.streets().is_empty() {
            return Err(GravityError::NoStreets);
        }
        let nb = city.buildings().len();
        let mut slot_of_street = vec![u32::MAX; city.streets().len()];
        let mut slot_street: Vec<StreetIdx> = Vec::new();
        let mut door_slot = Vec::with_capacity(nb);
        for b in 0..nb as BuildingIdx {
            let s = city.door_street(b);
            if slot_of_street[s as usize] == u32::MAX {
                slot_of_street[s as usize] = slot_street.len() as u32;
                slot_street.push(s);
            }
            door_slot.push(slot_of_street[s as usize]);
        }
        let n = slot_street.len();
        let bytes = (n as u64) * (n as u64) * 2;
        if bytes > params.max_exact_bytes {
            return Err(GravityError::ExactTooLarge { doors: n, bytes, limit: params.max_exact_bytes });
        }
        let mut door_dist = vec![UNREACHABLE16; n * n];
        let mut overflow: Option<u32> = None;
        if n > 0 {
            let ns = city.streets().len();
            overflow = door_dist
                .par_chunks_mut(n)
                .enumerate()
                .map_init(
                    || (vec![u32::MAX; ns], Vec::with_capacity(ns)),
                    |(d, queue), (r, row)| {
                        city.bfs_into(slot_street[r], d, queue);
                        let mut over = None;
                        for (k, &s) in slot_street.iter().enumerate() {
                            let v = d[s as usize];
                            if v == u32::MAX {
                                continue;
                            }
                            if v >= UNREACHABLE16 as u32 {
                                over = Some(v);
                            } else {
                                row[k] = v as u16;
                            }
                        }
                        over
                    },
                )
                .reduce(|| None, |a, b| a.or(b));
        }
        if let Some(distance) = overflow {
            return Err(GravityError::DistanceOverflow { distance, max: UNREACHABLE16 as u32 - 1 });
        }
        let mut g = Gravity::empty(city, params.exponent, GravityMode::Exact);
        g.door_slot = door_slot;
        g.n_slots = n;
        g.door_dist = door_dist;
        let maxd = g.door_dist.iter().filter(|&&d| d != UNREACHABLE16).max().copied().unwrap_or(0) as usize;
        g.inv_pow = inv_pow_table(g.exponent, maxd + 1);
        g.build_blocks(city);
        Ok(g)
    }

    /// Rebuilds a hub-proxy gravity from stored parts, checking them against the city:
    /// lengths, hub cells on streets, the hub distance matrix equal to the street graph's
    /// (see [`hub_distances`]), hub indices, `dist_to_hub` equal to the Manhattan
    /// distance door -> hub, nearby distances equal to the Manhattan door distances.
    /// Nearby pairs may be given in one or both orders; `i == j` entries are ignored.
    pub fn from_hub_parts(city: &City, parts: HubProxyParts) -> Result<Gravity, GravityError> {
        Gravity::from_hub_parts_impl(city, parts, false)
    }

    /// As [`Gravity::from_hub_parts`], but `parts.nearby` is ignored and the nearby pairs
    /// are derived from the doors and `dist_to_hub` by the rule of docs/MODEL.md section 3 (faster than reading
    /// millions of stored pairs; see [`Gravity::nearby_follows_rule`]).
    pub fn from_hub_parts_derive_nearby(city: &City, parts: HubProxyParts) -> Result<Gravity, GravityError> {
        Gravity::from_hub_parts_impl(city, parts, true)
    }

    fn from_hub_parts_impl(city: &City, parts: HubProxyParts, derive: bool) -> Result<Gravity, GravityError> {
        check_exponent(parts.exponent)?;
        let nb = city.buildings().len();
        let h = parts.hubs.len();
        let mm = |field, index, reason: String| GravityError::Mismatch { field, index, reason };
        if h == 0 {
            return Err(mm("hubs", None, "no hubs".into()));
        }
        for (k, c) in parts.hubs.iter().enumerate() {
            if city.street_at(*c).is_none() {
                return Err(mm("hubs", Some(k), format!("hub ({}, {}) is not a street cell", c.x, c.y)));
            }
        }
        if parts.hub_dist.len() != h * h {
            return Err(mm(
                "hub_dist",
                None,
                format!("{} entries, expected n_hubs^2 = {}", parts.hub_dist.len(), h * h),
            ));
        }
        // The matrix must be the street graph's (a few BFS): this also bounds every
        // distance, and so the size of the derived tables.
        let truth = hub_distances(city, &parts.hubs)?;
        if let Some(e) = (0..h * h).find(|&e| truth[e] != parts.hub_dist[e]) {
            return Err(mm(
                "hub_dist",
                Some(e),
                format!("hubs {} -> {}: {} but the street distance is {}", e / h, e % h, parts.hub_dist[e], truth[e]),
            ));
        }
        for (field, len) in [("closest_hub_idx", parts.closest_hub.len()), ("dist_to_hub", parts.dist_to_hub.len())] {
            if len != nb {
                return Err(mm(field, None, format!("{len} entries, the city has {nb} buildings")));
            }
        }
        for (i, b) in city.buildings().iter().enumerate() {
            let k = parts.closest_hub[i];
            let Some(hc) = parts.hubs.get(k as usize) else {
                return Err(mm("closest_hub_idx", Some(i), format!("hub index {k} out of range 0..{h}")));
            };
            let m = b.door.manhattan(*hc);
            if parts.dist_to_hub[i] != m {
                return Err(mm(
                    "dist_to_hub",
                    Some(i),
                    format!(
                        "building {}: {} but its door ({}, {}) is {m} from hub {k}",
                        b.id, parts.dist_to_hub[i], b.door.x, b.door.y
                    ),
                ));
            }
        }
        let doors: Vec<Cell> = city.buildings().iter().map(|b| b.door).collect();
        let grid = DoorGrid::new(&doors);
        // Given pairs that follow the rule are derived like our own (one form per model).
        let stored = if derive {
            None
        } else {
            let lists = Gravity::nearby_from_pairs(city, &parts.nearby)?;
            let follows = lists.par_iter().enumerate().all(|(i, l)| *l == grid.near_of(&doors, &parts.dist_to_hub, i));
            (!follows).then_some(lists)
        };
        let mut g = Gravity::empty(city, parts.exponent, GravityMode::HubProxy);
        g.hubs = parts.hubs;
        g.hub_dist = parts.hub_dist;
        g.closest_hub = parts.closest_hub;
        g.dist_to_hub = parts.dist_to_hub;
        g.finish_hub_proxy();
        g.nearby = match stored {
            None => Nearby::derived(grid, doors.len()),
            Some(lists) => Nearby::Stored(lists.into_iter().enumerate().map(|(i, l)| g.near_list(i, l)).collect()),
        };
        Ok(g)
    }

    /// True when the nearby pairs are exactly those the rule of docs/MODEL.md section 3 gives for the doors and
    /// `dist_to_hub` (always so for a model built by [`Gravity::hub_proxy`]).
    pub fn nearby_follows_rule(&self) -> bool {
        // Given lists are kept only when they differ from the rule's.
        self.mode == GravityMode::HubProxy && self.nearby.is_derived()
    }

    fn nearby_from_pairs(
        city: &City,
        pairs: &[(BuildingIdx, BuildingIdx, u32)],
    ) -> Result<Vec<Vec<BuildingIdx>>, GravityError> {
        let nb = city.buildings().len();
        let mm = |field, index, reason: String| GravityError::Mismatch { field, index, reason };
        let mut lists: Vec<Vec<BuildingIdx>> = vec![Vec::new(); nb];
        for (p, &(i, j, d)) in pairs.iter().enumerate() {
            if i as usize >= nb || j as usize >= nb {
                return Err(mm("nearby", Some(p), format!("building index ({i}, {j}) out of range 0..{nb}")));
            }
            if i == j {
                continue;
            }
            let m = city.building(i).door.manhattan(city.building(j).door);
            if m != d {
                return Err(mm("nearby", Some(p), format!("distance {d}, but the doors are {m} apart")));
            }
            lists[i as usize].push(j);
            lists[j as usize].push(i);
        }
        for l in &mut lists {
            l.sort_unstable();
            l.dedup();
        }
        Ok(lists)
    }

    fn empty(city: &City, exponent: f64, mode: GravityMode) -> Gravity {
        let mut by_type: [Vec<BuildingIdx>; T] = Default::default();
        for t in BuildingType::ALL {
            by_type[t as usize] = city.buildings_of_type(t).to_vec();
        }
        Gravity {
            exponent,
            mode,
            kinds: city.buildings().iter().map(|b| b.kind).collect(),
            by_type,
            doors: city.buildings().iter().map(|b| b.door).collect(),
            inv_pow: Vec::new(),
            hubs: Vec::new(),
            hub_dist: Vec::new(),
            closest_hub: Vec::new(),
            dist_to_hub: Vec::new(),
            nearby: Nearby::none(),
            class_off: Vec::new(),
            class_delta: Vec::new(),
            class_start: Vec::new(),
            members: Vec::new(),
            amax: 0,
            ht_weight: Vec::new(),
            door_slot: Vec::new(),
            n_slots: 0,
            door_dist: Vec::new(),
            blk_type_off: Vec::new(),
            blk_start: Vec::new(),
            blk_members: Vec::new(),
            blk_min: Vec::new(),
        }
    }

    /// The nearby list of origin `i` (derived on the first call for it).
    #[inline]
    fn near(&self, i: usize) -> &NearList {
        self.nearby.get(i, |grid| self.near_list(i, grid.near_of(&self.doors, &self.dist_to_hub, i)))
    }

    /// The nearby list of `i` with its weight sums (the power table must be ready).
    fn near_list(&self, i: usize, j: Vec<BuildingIdx>) -> NearList {
        let mut sum = [0.0; T];
        for &k in &j {
            sum[self.kinds[k as usize] as usize] += self.inv(self.doors[i].manhattan(self.doors[k as usize]));
        }
        NearList { j: j.into_boxed_slice(), sum }
    }

    /// Blocks of the exact-mode draw: per type, buildings sorted by the Z-order (Morton)
    /// code of their door (then index), cut into runs of [`BLOCK`] (spatially compact);
    /// per door slot, the minimum distance to each block.
    fn build_blocks(&mut self, city: &City) {
        self.blk_type_off = vec![0];
        self.blk_start = vec![0];
        self.blk_members.clear();
        for t in 0..T {
            let mut v = self.by_type[t].clone();
            v.sort_by_key(|&j| {
                let d = city.building(j).door;
                (morton(d.x as u32, d.y as u32), j)
            });
            for chunk in v.chunks(BLOCK) {
                self.blk_members.extend_from_slice(chunk);
                self.blk_start.push(self.blk_members.len() as u32);
            }
            self.blk_type_off.push(self.blk_start.len() as u32 - 1);
        }
        let nblk = self.blk_start.len() - 1;
        let n = self.n_slots;
        let mut mins = vec![UNREACHABLE16; n * nblk];
        if nblk > 0 && n > 0 {
            let (starts, members, slots, dist) = (&self.blk_start, &self.blk_members, &self.door_slot, &self.door_dist);
            mins.par_chunks_mut(nblk).enumerate().for_each(|(s, out)| {
                let row = &dist[s * n..(s + 1) * n];
                for (b, m) in out.iter_mut().enumerate() {
                    *m = members[starts[b] as usize..starts[b + 1] as usize]
                        .iter()
                        .map(|&j| row[slots[j as usize] as usize])
                        .min()
                        .unwrap_or(UNREACHABLE16);
                }
            });
        }
        self.blk_min = mins;
    }

    /// Derived tables of the hub proxy: power table, nearby sums, target classes.
    fn finish_hub_proxy(&mut self) {
        let nb = self.kinds.len();
        let h = self.hubs.len();
        let max_dth = self.dist_to_hub.iter().copied().max().unwrap_or(0);
        let max_hd = self.hub_dist.iter().copied().filter(|&d| d != u32::MAX).max().unwrap_or(0);
        self.amax = max_dth + max_hd;
        let top = (self.amax + max_dth) as usize;
        self.inv_pow = inv_pow_table(self.exponent, top + 1);
        // Classes: buildings sorted by (hub, type, dist_to_hub, index).
        let mut order: Vec<BuildingIdx> = (0..nb as BuildingIdx).collect();
        order.sort_unstable_by_key(|&j| {
            let j = j as usize;
            (self.closest_hub[j], self.kinds[j] as u8, self.dist_to_hub[j], j)
        });
        self.class_off = vec![0; h * T + 1];
        self.class_delta.clear();
        self.class_start.clear();
        let mut prev: Option<(u32, u8, u32)> = None;
        let mut counts = vec![0u32; h * T];
        for (pos, &j) in order.iter().enumerate() {
            let ju = j as usize;
            let key = (self.closest_hub[ju], self.kinds[ju] as u8, self.dist_to_hub[ju]);
            if prev != Some(key) {
                self.class_delta.push(key.2);
                self.class_start.push(pos as u32);
                counts[key.0 as usize * T + key.1 as usize] += 1;
                prev = Some(key);
            }
        }
        self.class_start.push(order.len() as u32);
        for (k, &c) in counts.iter().enumerate() {
            self.class_off[k + 1] = self.class_off[k] + c;
        }
        self.members = order;
        let width = self.amax as usize + 1;
        self.ht_weight = Vec::new();
        if h * T * width <= MAX_HT_TABLE {
            let mut w = vec![0.0; h * T * width];
            for ht in 0..h * T {
                for a in 0..width {
                    w[ht * width + a] = self.ht_sum(ht, a as u32);
                }
            }
            self.ht_weight = w;
        }
    }

    /// Sum over the classes of `(hub, type)` index `ht` of `n * inv_pow[a + delta]`.
    #[inline]
    fn ht_sum(&self, ht: usize, a: u32) -> f64 {
        let (c0, c1) = (self.class_off[ht] as usize, self.class_off[ht + 1] as usize);
        let mut s = 0.0;
        for c in c0..c1 {
            let n = (self.class_start[c + 1] - self.class_start[c]) as f64;
            s += n * self.inv(a + self.class_delta[c]);
        }
        s
    }

    #[inline]
    fn inv(&self, d: u32) -> f64 {
        match self.inv_pow.get(d as usize) {
            Some(&w) => w,
            None => (d.max(1) as f64).powf(-self.exponent),
        }
    }

    /// The gravity weight `1 / d(i, j)^exponent` (0 for `i == j`, unreachable pairs or
    /// indices out of range).
    pub fn weight(&self, i: BuildingIdx, j: BuildingIdx) -> f64 {
        let n = self.kinds.len();
        if i == j || i as usize >= n || j as usize >= n {
            return 0.0;
        }
        match self.distance(i, j) {
            Some(d) => self.inv(d.max(1)),
            None => 0.0,
        }
    }

    /// The gravity distance `d(i, j)` before the `d = 1` rule (`None` when unreachable or
    /// out of range; 0 for a building with itself or buildings sharing a door cell).
    pub fn distance(&self, i: BuildingIdx, j: BuildingIdx) -> Option<u32> {
        let n = self.kinds.len();
        if i as usize >= n || j as usize >= n {
            return None;
        }
        if i == j {
            return Some(0);
        }
        match self.mode {
            GravityMode::Exact => {
                let d = self.door_dist
                    [self.door_slot[i as usize] as usize * self.n_slots + self.door_slot[j as usize] as usize];
                (d != UNREACHABLE16).then_some(d as u32)
            }
            GravityMode::HubProxy => {
                if self.near(i as usize).j.binary_search(&j).is_ok() {
                    return Some(self.doors[i as usize].manhattan(self.doors[j as usize]));
                }
                self.class_distance(i, j)
            }
        }
    }

    #[inline]
    fn class_distance(&self, i: BuildingIdx, j: BuildingIdx) -> Option<u32> {
        let (i, j) = (i as usize, j as usize);
        let hd = self.hub_dist[self.closest_hub[i] as usize * self.hubs.len() + self.closest_hub[j] as usize];
        (hd != u32::MAX).then(|| self.dist_to_hub[i] + hd + self.dist_to_hub[j])
    }

    /// The distance exponent.
    pub fn exponent(&self) -> f64 {
        self.exponent
    }
    /// The distance mode.
    pub fn mode(&self) -> GravityMode {
        self.mode
    }
    /// Number of buildings.
    pub fn building_count(&self) -> usize {
        self.kinds.len()
    }
    /// Hub cells in hub order (empty in exact mode).
    pub fn hubs(&self) -> &[Cell] {
        &self.hubs
    }
    /// Hub-to-hub street distances, row-major in hub order (`u32::MAX` unreachable).
    pub fn hub_dist(&self) -> &[u32] {
        &self.hub_dist
    }
    /// Each building's closest hub index (empty in exact mode).
    pub fn closest_hub(&self) -> &[u32] {
        &self.closest_hub
    }
    /// Each building's Manhattan distance door -> closest hub (empty in exact mode).
    pub fn dist_to_hub(&self) -> &[u32] {
        &self.dist_to_hub
    }
    /// Nearby pairs `(i, j, Manhattan door distance)`, both orders, sorted by `(i, j)`.
    pub fn nearby_pairs(&self) -> impl Iterator<Item = (BuildingIdx, BuildingIdx, u32)> + '_ {
        (0..self.nearby.len()).flat_map(move |i| {
            let (doors, near) = (&self.doors, self.near(i));
            near.j.iter().map(move |&j| (i as BuildingIdx, j, doors[i].manhattan(doors[j as usize])))
        })
    }
    /// The persistent parts of a hub-proxy gravity (`None` in exact mode).
    pub fn hub_parts(&self) -> Option<HubProxyParts> {
        (self.mode == GravityMode::HubProxy).then(|| HubProxyParts {
            exponent: self.exponent,
            hubs: self.hubs.clone(),
            hub_dist: self.hub_dist.clone(),
            closest_hub: self.closest_hub.clone(),
            dist_to_hub: self.dist_to_hub.clone(),
            nearby: self.nearby_pairs().collect(),
        })
    }
    /// Distinct door cells of the exact matrix (0 in hub-proxy mode).
    pub fn exact_door_count(&self) -> usize {
        self.n_slots
    }
    /// A one-line human summary (for `city info`).
    pub fn summary(&self) -> String {
        match self.mode {
            GravityMode::HubProxy => format!(
                "gravity hub_proxy: exponent {}, {} hubs, {} nearby pairs, {} buildings",
                self.exponent,
                self.hubs.len(),
                // Each unordered pair once (the lists hold both orders), as the reference counts.
                self.nearby.ordered_pairs(&self.doors, &self.dist_to_hub) / 2,
                self.kinds.len()
            ),
            GravityMode::Exact => format!(
                "gravity exact: exponent {}, {} distinct door cells, {} buildings",
                self.exponent,
                self.n_slots,
                self.kinds.len()
            ),
        }
    }
}

/// Z-order code: the bits of `x` and `y` interleaved.
fn morton(x: u32, y: u32) -> u64 {
    fn spread(v: u32) -> u64 {
        let mut v = v as u64;
        v = (v | (v << 16)) & 0x0000_FFFF_0000_FFFF;
        v = (v | (v << 8)) & 0x00FF_00FF_00FF_00FF;
        v = (v | (v << 4)) & 0x0F0F_0F0F_0F0F_0F0F;
        v = (v | (v << 2)) & 0x3333_3333_3333_3333;
        v = (v | (v << 1)) & 0x5555_5555_5555_5555;
        v
    }
    spread(x) | (spread(y) << 1)
}

fn inv_pow_table(exponent: f64, len: usize) -> Vec<f64> {
    (0..len.max(2)).map(|d| (d.max(1) as f64).powf(-exponent)).collect()
}

#[cfg(test)]
mod tests;
