//! The weighted destination draw: `P(j) ∝ weight(from, j)` over unvisited buildings of
//! the allowed types.
//!
//! Hub proxy: for a fixed origin, every non-nearby target's weight depends only on its
//! class `(hub, type, dist_to_hub)`. A proposal draws a "slot": either a nearby target
//! (weight `Manhattan^-e`) or any target through its class (weight of the hub-proxy
//! distance), in two steps (hub and type from per-`(hub, type)` sums, then the class,
//! then a member uniformly). Class slots of excluded targets (the origin itself and its
//! nearby buildings, whose true weight comes from the nearby slot) and visited targets are
//! rejected and the draw restarts, so accepted draws follow the exact weights. After
//! [`MAX_TRIES`] rejections an exact linear scan finishes the draw (also exact), so the
//! result is exact whatever the visited set.
//!
//! Exact mode: candidates of each type are cut into spatially compact blocks; per door
//! slot, the smallest distance to each block is precomputed. A far block is proposed with
//! weight `size * min_distance^-e` (an upper bound of its members' weights), a member
//! drawn uniformly and accepted with probability `weight / bound`; blocks within
//! `NEAR_BLOCK` of the origin are weighed and drawn exactly. Rejected, visited or self
//! draws restart, with the same exact scan after [`MAX_TRIES`].

use super::{Gravity, GravityMode, T};
use crate::city::{BuildingIdx, TypeSet};
use crate::roulette::roulette;
use rand::Rng;

/// Exact mode: blocks whose closest door is at most this far are weighed exactly.
const NEAR_BLOCK: u16 = 8;

/// Rejected proposals before the exact linear scan takes over.
pub(crate) const MAX_TRIES: usize = 48;

/// What a rejection sampler decided.
enum Draw {
    /// This building.
    Chosen(BuildingIdx),
    /// No candidate has a positive weight.
    NoCandidate,
    /// Every proposal was rejected: the exact scan decides.
    Undecided,
}

impl Gravity {
    /// Draws a destination for an agent at building `from`: a building whose type is in
    /// `allowed`, not `visited`, with probability proportional to `weight(from, j)`.
    /// `None` when no such building has a positive weight (or `from` is out of range).
    pub fn sample<R: Rng + ?Sized>(
        &self,
        from: BuildingIdx,
        allowed: TypeSet,
        visited: &impl Fn(BuildingIdx) -> bool,
        rng: &mut R,
    ) -> Option<BuildingIdx> {
        if from as usize >= self.kinds.len() || allowed.is_empty() {
            return None;
        }
        let decided = match self.mode {
            GravityMode::HubProxy => self.sample_classes(from, allowed, visited, rng),
            GravityMode::Exact => self.sample_blocks(from, allowed, visited, rng),
        };
        match decided {
            Draw::Chosen(j) => Some(j),
            Draw::NoCandidate => None,
            Draw::Undecided => self.sample_scan(from, allowed, visited, rng),
        }
    }

    #[inline]
    fn ht_w(&self, ht: usize, a: u32) -> f64 {
        if self.ht_weight.is_empty() {
            self.ht_sum(ht, a)
        } else {
            self.ht_weight[ht * (self.amax as usize + 1) + a as usize]
        }
    }

    /// Rejection sampling over classes.
    fn sample_classes<R: Rng + ?Sized>(
        &self,
        from: BuildingIdx,
        allowed: TypeSet,
        visited: &impl Fn(BuildingIdx) -> bool,
        rng: &mut R,
    ) -> Draw {
        let i = from as usize;
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
        let near = self.near(i);
        let near_total: f64 = tl.iter().map(|&t| near.sum[t]).sum();
        let mut class_total = 0.0;
        for (h, &hd) in hrow.iter().enumerate() {
            if hd == u32::MAX {
                continue;
            }
            for &t in tl {
                class_total += self.ht_w(h * T + t, di + hd);
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
                    if types[self.kinds[j as usize] as usize] {
                        self.inv(self.doors[i].manhattan(self.doors[j as usize]))
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
            let Some(hub_type) = roulette(u, hub_types, |&(ht, a)| self.ht_w(ht, a)) else { continue };
            let (ht, a) = hub_type.item;
            // Class within (hub, type).
            let (c0, c1) = (self.class_off[ht] as usize, self.class_off[ht + 1] as usize);
            let class_weight =
                |&c: &usize| (self.class_start[c + 1] - self.class_start[c]) as f64 * self.inv(a + self.class_delta[c]);
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

    /// Exact mode: rejection sampling over blocks. A block's proposal weight is its size
    /// times the weight of its closest door (an upper bound of each member's weight);
    /// a uniformly drawn member is accepted with probability `weight / bound`.
    fn sample_blocks<R: Rng + ?Sized>(
        &self,
        from: BuildingIdx,
        allowed: TypeSet,
        visited: &impl Fn(BuildingIdx) -> bool,
        rng: &mut R,
    ) -> Draw {
        let nblk = self.blk_start.len() - 1;
        let s = self.door_slot[from as usize] as usize;
        let mins = &self.blk_min[s * nblk..(s + 1) * nblk];
        let row_weight = self.exact_row_weight(from);
        let w_of = |j: BuildingIdx| if j == from { 0.0 } else { row_weight(j) };
        let members = |b: usize| &self.blk_members[self.blk_start[b] as usize..self.blk_start[b + 1] as usize];
        // Proposal mass of a block: exact for blocks within NEAR_BLOCK of the origin (their
        // members' weights vary too much for a useful bound), else size * bound.
        let mass = |b: usize| {
            let m = mins[b];
            if m == u16::MAX {
                0.0
            } else if m <= NEAR_BLOCK {
                members(b).iter().map(|&j| w_of(j)).sum()
            } else {
                members(b).len() as f64 * self.inv_pow[m as usize]
            }
        };
        let ranges = || {
            (0..T)
                .filter(move |&t| allowed.0 & (1 << t) != 0)
                .flat_map(|t| self.blk_type_off[t] as usize..self.blk_type_off[t + 1] as usize)
        };
        let total: f64 = ranges().map(mass).sum();
        if total.is_nan() || total <= 0.0 {
            return Draw::NoCandidate;
        }
        for _ in 0..MAX_TRIES {
            let u = rng.random::<f64>() * total;
            let Some(block) = roulette(u, ranges(), |&b| mass(b)) else { continue };
            let b = block.item;
            let j = if mins[b] <= NEAR_BLOCK {
                // Exact choice within the block.
                match roulette(block.within, members(b).iter().copied(), |&j| w_of(j)) {
                    Some(p) => p.item,
                    None => continue,
                }
            } else {
                let m = members(b);
                let j = m[rng.random_range(0..m.len())];
                let x = w_of(j);
                if x <= 0.0 {
                    continue;
                }
                let ratio = x / self.inv_pow[mins[b] as usize];
                if ratio < 1.0 && rng.random::<f64>() >= ratio {
                    continue;
                }
                j
            };
            if visited(j) {
                continue;
            }
            return Draw::Chosen(j);
        }
        Draw::Undecided
    }

    /// Exact linear scan over all candidates.
    fn sample_scan<R: Rng + ?Sized>(
        &self,
        from: BuildingIdx,
        allowed: TypeSet,
        visited: &impl Fn(BuildingIdx) -> bool,
        rng: &mut R,
    ) -> Option<BuildingIdx> {
        if self.mode == GravityMode::Exact {
            self.scan_with(from, allowed, visited, rng, self.exact_row_weight(from))
        } else {
            self.scan_with(from, allowed, visited, rng, |j| self.weight(from, j))
        }
    }

    /// Exact mode: the weight from `from` to any building, read from `from`'s row of the
    /// door distance matrix (0 when unreachable; `inv_pow` covers every stored distance).
    #[inline]
    fn exact_row_weight(&self, from: BuildingIdx) -> impl Fn(BuildingIdx) -> f64 + '_ {
        let n = self.n_slots;
        let s = self.door_slot[from as usize] as usize;
        let row = &self.door_dist[s * n..(s + 1) * n];
        move |j: BuildingIdx| {
            let d = row[self.door_slot[j as usize] as usize];
            if d == u16::MAX {
                0.0
            } else {
                self.inv_pow[d as usize]
            }
        }
    }

    #[inline]
    fn scan_with<R: Rng + ?Sized>(
        &self,
        from: BuildingIdx,
        allowed: TypeSet,
        visited: &impl Fn(BuildingIdx) -> bool,
        rng: &mut R,
        weight: impl Fn(BuildingIdx) -> f64,
    ) -> Option<BuildingIdx> {
        let w = |j: BuildingIdx| if j == from || visited(j) { 0.0 } else { weight(j) };
        let mut total = 0.0;
        for t in allowed.iter() {
            for &j in &self.by_type[t as usize] {
                total += w(j);
            }
        }
        if total.is_nan() || total <= 0.0 {
            return None;
        }
        let u = rng.random::<f64>() * total;
        let candidates = allowed.iter().flat_map(|t| self.by_type[t as usize].iter().copied());
        roulette(u, candidates, |&j| w(j)).map(|p| p.item)
    }
}
