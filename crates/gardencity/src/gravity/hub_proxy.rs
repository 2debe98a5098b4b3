//! The reference's hub-proxy distance: door -> closest hub (Manhattan) + hub -> hub
//! (street graph) + hub -> door, or the Manhattan door distance for nearby pairs; and
//! its draw by target classes.
//!
//! For a fixed origin, every non-nearby target's weight depends only on its class
//! `(hub, type, dist_to_hub)`. A proposal draws a "slot": either a nearby target
//! (weight `Manhattan^-e`) or any target through its class (weight of the hub-proxy
//! distance), in two steps (hub and type from per-`(hub, type)` sums, then the class,
//! then a member uniformly). Class slots of excluded targets (the origin itself and its
//! nearby buildings, whose true weight comes from the nearby slot) and visited targets
//! are rejected and the draw restarts, so accepted draws follow the exact weights.

use super::nearby::{DoorGrid, NearList, Nearby};
use super::sample::{Draw, MAX_TRIES};
use super::{check_exponent, inv_pow_table, Base, Gravity, GravityError, GravityParams, Model, T};
use crate::city::{BuildingIdx, Cell, City, StreetIdx, TypeSet};
use crate::roulette::roulette;
use rand::Rng;
use rayon::prelude::*;

/// Class tables larger than this many entries are not precomputed (summed on the fly).
const MAX_HT_TABLE: usize = 4 << 20;

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

/// The hub-proxy model: hubs, each building's closest hub, the nearby lists and the
/// target classes of the draw.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct HubProxy {
    /// Hub cells, in hub order.
    pub(super) hubs: Vec<Cell>,
    /// Hub-to-hub street distances, row-major in hub order (`u32::MAX` unreachable).
    pub(super) hub_dist: Vec<u32>,
    /// Each building's closest hub (index into `hubs`).
    pub(super) closest_hub: Vec<u32>,
    /// Each building's Manhattan distance door -> closest hub.
    pub(super) dist_to_hub: Vec<u32>,
    /// Nearby lists (their distance is the Manhattan distance of the doors) and their
    /// weight sums by type.
    pub(super) nearby: Nearby,
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
                idx.iter().map(|&t| d[t.index()]).collect()
            },
        )
        .collect();
    Ok(rows.concat())
}

impl Gravity {
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
        let hubs = super::select_hubs(city, hub_size);
        if hubs.is_empty() {
            return Err(GravityError::NoStreets);
        }
        Gravity::hub_proxy_with_hubs(city, hubs, params.exponent)
    }

    /// The reference's hub-proxy gravity on given hubs (in hub order) instead of the
    /// quantile-bucket selection of [`select_hubs`](super::select_hubs): hub distances
    /// from the street graph, each building's closest hub (Manhattan, first in hub order
    /// on ties) and the nearby pairs follow as in [`Gravity::hub_proxy`]. For checking
    /// files written elsewhere (e.g. by the reference) against what this crate computes
    /// on their hubs.
    ///
    /// Errors: an invalid exponent, no hubs, or a hub that is not a street cell.
    pub fn hub_proxy_with_hubs(city: &City, hubs: Vec<Cell>, exponent: f64) -> Result<Gravity, GravityError> {
        check_exponent(exponent)?;
        if hubs.is_empty() {
            return Err(GravityError::Mismatch { field: "hubs", index: None, reason: "no hubs".into() });
        }
        let hub_dist = hub_distances(city, &hubs)?;
        let mut base = Base::new(city, exponent);
        let (closest_hub, dist_to_hub): (Vec<u32>, Vec<u32>) = base
            .doors
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
        let hp = HubProxy::new(&mut base, hubs, hub_dist, closest_hub, dist_to_hub, |base| {
            Nearby::derived(DoorGrid::new(&base.doors), base.doors.len())
        });
        Ok(Gravity { base, model: Model::HubProxy(hp) })
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
    /// are derived from the doors and `dist_to_hub` by the rule of docs/MODEL.md section 3
    /// (faster than reading millions of stored pairs; see [`Gravity::nearby_follows_rule`]).
    pub fn from_hub_parts_derive_nearby(city: &City, parts: HubProxyParts) -> Result<Gravity, GravityError> {
        Gravity::from_hub_parts_impl(city, parts, true)
    }

    fn from_hub_parts_impl(city: &City, parts: HubProxyParts, derive: bool) -> Result<Gravity, GravityError> {
        check_exponent(parts.exponent)?;
        check_parts(city, &parts)?;
        let mut base = Base::new(city, parts.exponent);
        let grid = DoorGrid::new(&base.doors);
        // Given pairs that follow the rule are derived like our own (one form per model).
        let stored = if derive {
            None
        } else {
            let lists = nearby_from_pairs(city, &parts.nearby)?;
            let doors = &base.doors;
            let follows = lists.par_iter().enumerate().all(|(i, l)| *l == grid.near_of(doors, &parts.dist_to_hub, i));
            (!follows).then_some(lists)
        };
        let hp = HubProxy::new(&mut base, parts.hubs, parts.hub_dist, parts.closest_hub, parts.dist_to_hub, |base| {
            match stored {
                None => Nearby::derived(grid, base.doors.len()),
                Some(lists) => {
                    Nearby::Stored(lists.into_iter().enumerate().map(|(i, l)| near_list(base, i, l)).collect())
                }
            }
        });
        Ok(Gravity { base, model: Model::HubProxy(hp) })
    }

    /// True when the nearby pairs are exactly those the rule of docs/MODEL.md section 3
    /// gives for the doors and `dist_to_hub` (always so for a model built by
    /// [`Gravity::hub_proxy`]; false in exact mode).
    pub fn nearby_follows_rule(&self) -> bool {
        // Given lists are kept only when they differ from the rule's.
        matches!(&self.model, Model::HubProxy(h) if h.nearby.is_derived())
    }
}

/// Checks stored parts against the city (all but the nearby pairs).
fn check_parts(city: &City, parts: &HubProxyParts) -> Result<(), GravityError> {
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
        return Err(mm("hub_dist", None, format!("{} entries, expected n_hubs^2 = {}", parts.hub_dist.len(), h * h)));
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
    Ok(())
}

/// Stored nearby pairs as one ascending list per building, checked against the doors.
fn nearby_from_pairs(
    city: &City,
    pairs: &[(BuildingIdx, BuildingIdx, u32)],
) -> Result<Vec<Vec<BuildingIdx>>, GravityError> {
    let nb = city.buildings().len();
    let mm = |field, index, reason: String| GravityError::Mismatch { field, index, reason };
    let mut lists: Vec<Vec<BuildingIdx>> = vec![Vec::new(); nb];
    for (p, &(i, j, d)) in pairs.iter().enumerate() {
        if i.index() >= nb || j.index() >= nb {
            return Err(mm("nearby", Some(p), format!("building index ({i}, {j}) out of range 0..{nb}")));
        }
        if i == j {
            continue;
        }
        let m = city.building(i).door.manhattan(city.building(j).door);
        if m != d {
            return Err(mm("nearby", Some(p), format!("distance {d}, but the doors are {m} apart")));
        }
        lists[i.index()].push(j);
        lists[j.index()].push(i);
    }
    for l in &mut lists {
        l.sort_unstable();
        l.dedup();
    }
    Ok(lists)
}

/// The nearby list of `i` with its weight sums (the power table must be ready).
fn near_list(base: &Base, i: usize, j: Vec<BuildingIdx>) -> NearList {
    let mut sum = [0.0; T];
    for &k in &j {
        sum[base.kinds[k.index()] as usize] += base.inv(base.doors[i].manhattan(base.doors[k.index()]));
    }
    NearList { j: j.into_boxed_slice(), sum }
}

impl HubProxy {
    /// The model on its hubs: the power table of `base` (up to the largest hub-proxy
    /// distance), the nearby lists `nearby(base)` and the target classes.
    fn new(
        base: &mut Base,
        hubs: Vec<Cell>,
        hub_dist: Vec<u32>,
        closest_hub: Vec<u32>,
        dist_to_hub: Vec<u32>,
        nearby: impl FnOnce(&Base) -> Nearby,
    ) -> HubProxy {
        let nb = base.kinds.len();
        let h = hubs.len();
        let max_dth = dist_to_hub.iter().copied().max().unwrap_or(0);
        let max_hd = hub_dist.iter().copied().filter(|&d| d != u32::MAX).max().unwrap_or(0);
        let amax = max_dth + max_hd;
        base.inv_pow = inv_pow_table(base.exponent, (amax + max_dth) as usize + 1);
        // Classes: buildings sorted by (hub, type, dist_to_hub, index).
        let mut order: Vec<BuildingIdx> = (0..nb as u32).map(BuildingIdx).collect();
        order.sort_unstable_by_key(|&j| {
            let j = j.index();
            (closest_hub[j], base.kinds[j] as u8, dist_to_hub[j], j)
        });
        let mut class_off = vec![0; h * T + 1];
        let (mut class_delta, mut class_start) = (Vec::new(), Vec::new());
        let mut prev: Option<(u32, u8, u32)> = None;
        let mut counts = vec![0u32; h * T];
        for (pos, &j) in order.iter().enumerate() {
            let ju = j.index();
            let key = (closest_hub[ju], base.kinds[ju] as u8, dist_to_hub[ju]);
            if prev != Some(key) {
                class_delta.push(key.2);
                class_start.push(pos as u32);
                counts[key.0 as usize * T + key.1 as usize] += 1;
                prev = Some(key);
            }
        }
        class_start.push(order.len() as u32);
        for (k, &c) in counts.iter().enumerate() {
            class_off[k + 1] = class_off[k] + c;
        }
        let mut hp = HubProxy {
            nearby: nearby(base),
            hubs,
            hub_dist,
            closest_hub,
            dist_to_hub,
            class_off,
            class_delta,
            class_start,
            members: order,
            amax,
            ht_weight: Vec::new(),
        };
        let width = amax as usize + 1;
        if h * T * width <= MAX_HT_TABLE {
            let mut w = vec![0.0; h * T * width];
            for ht in 0..h * T {
                for a in 0..width {
                    w[ht * width + a] = hp.ht_sum(base, ht, a as u32);
                }
            }
            hp.ht_weight = w;
        }
        hp
    }

    /// The nearby list of origin `i` (derived on the first call for it).
    #[inline]
    pub(super) fn near<'a>(&'a self, base: &Base, i: usize) -> &'a NearList {
        self.nearby.get(i, |grid| near_list(base, i, grid.near_of(&base.doors, &self.dist_to_hub, i)))
    }

    /// Sum over the classes of `(hub, type)` index `ht` of `n * inv_pow[a + delta]`.
    #[inline]
    fn ht_sum(&self, base: &Base, ht: usize, a: u32) -> f64 {
        let (c0, c1) = (self.class_off[ht] as usize, self.class_off[ht + 1] as usize);
        let mut s = 0.0;
        for c in c0..c1 {
            let n = (self.class_start[c + 1] - self.class_start[c]) as f64;
            s += n * base.inv(a + self.class_delta[c]);
        }
        s
    }

    #[inline]
    fn ht_w(&self, base: &Base, ht: usize, a: u32) -> f64 {
        if self.ht_weight.is_empty() {
            self.ht_sum(base, ht, a)
        } else {
            self.ht_weight[ht * (self.amax as usize + 1) + a as usize]
        }
    }

    /// The gravity distance of distinct buildings `i != j` (`None` when unreachable).
    pub(super) fn distance(&self, base: &Base, i: BuildingIdx, j: BuildingIdx) -> Option<u32> {
        if self.near(base, i.index()).j.binary_search(&j).is_ok() {
            return Some(base.doors[i.index()].manhattan(base.doors[j.index()]));
        }
        let (i, j) = (i.index(), j.index());
        let hd = self.hub_dist[self.closest_hub[i] as usize * self.hubs.len() + self.closest_hub[j] as usize];
        (hd != u32::MAX).then(|| self.dist_to_hub[i] + hd + self.dist_to_hub[j])
    }

    /// Rejection sampling over classes.
    pub(super) fn sample<R: Rng + ?Sized>(
        &self,
        base: &Base,
        from: BuildingIdx,
        allowed: TypeSet,
        visited: &impl Fn(BuildingIdx) -> bool,
        rng: &mut R,
    ) -> Draw {
        let i = from.index();
        let nh = self.hubs.len();
        let hi = self.closest_hub[i] as usize;
        let di = self.dist_to_hub[i];
        let hrow = &self.hub_dist[hi * nh..(hi + 1) * nh];
        let types: [bool; T] = std::array::from_fn(|t| allowed.0 & (1 << t) != 0);
        let mut tl = [0usize; T];
        let mut nt = 0;
        for (t, _) in types.iter().enumerate().filter(|(_, &b)| b) {
            tl[nt] = t;
            nt += 1;
        }
        let tl = &tl[..nt];
        let near = self.near(base, i);
        let near_total: f64 = tl.iter().map(|&t| near.sum[t]).sum();
        let mut class_total = 0.0;
        for (h, &hd) in hrow.iter().enumerate() {
            if hd == u32::MAX {
                continue;
            }
            for &t in tl {
                class_total += self.ht_w(base, h * T + t, di + hd);
            }
        }
        let total = near_total + class_total;
        if total.is_nan() || total <= 0.0 {
            return Draw::NoCandidate;
        }
        for _ in 0..MAX_TRIES {
            let mut u = rng.random::<f64>() * total;
            if u < near_total {
                let near_weight = |&j: &BuildingIdx| {
                    if types[base.kinds[j.index()] as usize] {
                        base.inv(base.doors[i].manhattan(base.doors[j.index()]))
                    } else {
                        0.0
                    }
                };
                match roulette(u, near.j.iter().copied(), near_weight) {
                    Some(p) if !visited(p.item) => return Draw::Chosen(p.item),
                    _ => continue,
                }
            }
            u -= near_total;
            // Hub and type.
            let hub_types = hrow
                .iter()
                .enumerate()
                .filter(|(_, &hd)| hd != u32::MAX)
                .flat_map(|(h, &hd)| tl.iter().map(move |&t| (h * T + t, di + hd)));
            let Some(hub_type) = roulette(u, hub_types, |&(ht, a)| self.ht_w(base, ht, a)) else { continue };
            let (ht, a) = hub_type.item;
            // Class within (hub, type).
            let (c0, c1) = (self.class_off[ht] as usize, self.class_off[ht + 1] as usize);
            let class_weight =
                |&c: &usize| (self.class_start[c + 1] - self.class_start[c]) as f64 * base.inv(a + self.class_delta[c]);
            let class = roulette(hub_type.within, c0..c1, class_weight).map_or(c1 - 1, |p| p.item);
            let (m0, m1) = (self.class_start[class] as usize, self.class_start[class + 1] as usize);
            let j = self.members[m0 + rng.random_range(0..m1 - m0)];
            if j == from || near.j.binary_search(&j).is_ok() || visited(j) {
                continue;
            }
            return Draw::Chosen(j);
        }
        Draw::Undecided
    }
}
