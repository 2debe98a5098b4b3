//! Exact gravity: the true street distance door cell to door cell, kept as a `u16`
//! matrix over distinct door cells (BFS from each), and its draw by blocks.
//!
//! Candidates of each type are cut into spatially compact blocks; per door slot, the
//! smallest distance to each block is precomputed. A far block is proposed with weight
//! `size * min_distance^-e` (an upper bound of its members' weights), a member drawn
//! uniformly and accepted with probability `weight / bound`; blocks within
//! [`NEAR_BLOCK`] of the origin are weighed and drawn exactly. Rejected, visited or self
//! draws restart.

use super::sample::{Draw, MAX_TRIES};
use super::{check_exponent, inv_pow_table, Base, Gravity, GravityError, GravityParams, Model, T};
use crate::city::{BuildingIdx, City, StreetIdx, TypeSet};
use crate::roulette::roulette;
use rand::Rng;
use rayon::prelude::*;

/// An unreachable pair in the `u16` matrices.
const UNREACHABLE16: u16 = u16::MAX;

/// Buildings per block of the draw.
const BLOCK: usize = 32;

/// Blocks whose closest door is at most this far are weighed exactly.
const NEAR_BLOCK: u16 = 8;

/// The exact model: door slots, their distance matrix and the blocks of the draw.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Exact {
    /// Each building's door slot (index of its distinct door street cell).
    door_slot: Vec<u32>,
    /// Number of distinct door cells.
    pub(super) n_slots: usize,
    /// `door_dist[s * n_slots + t]`: street distance between slots (`UNREACHABLE16`).
    door_dist: Vec<u16>,
    /// Spatially compact blocks of at most [`BLOCK`] buildings of one type; blocks of
    /// type `t` are `blk_type_off[t]..blk_type_off[t+1]`, block `b` holds
    /// `blk_members[blk_start[b]..blk_start[b+1]]`, and `blk_min[s * nblk + b]` is the
    /// smallest door distance from door slot `s` to the block (`u16::MAX` unreachable).
    blk_type_off: Vec<u32>,
    /// Where each block's members start in `blk_members` (one more entry than blocks).
    pub(super) blk_start: Vec<u32>,
    blk_members: Vec<BuildingIdx>,
    blk_min: Vec<u16>,
}

impl Gravity {
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
        for b in city.building_indices() {
            let s = city.door_street(b);
            if slot_of_street[s.index()] == u32::MAX {
                slot_of_street[s.index()] = slot_street.len() as u32;
                slot_street.push(s);
            }
            door_slot.push(slot_of_street[s.index()]);
        }
        let n = slot_street.len();
        let bytes = (n as u64) * (n as u64) * 2;
        if bytes > params.max_exact_bytes {
            return Err(GravityError::ExactTooLarge { doors: n, bytes, limit: params.max_exact_bytes });
        }
        let door_dist = door_distances(city, &slot_street)?;
        let mut base = Base::new(city, params.exponent);
        let maxd = door_dist.iter().filter(|&&d| d != UNREACHABLE16).max().copied().unwrap_or(0) as usize;
        base.inv_pow = inv_pow_table(base.exponent, maxd + 1);
        let mut ex = Exact {
            door_slot,
            n_slots: n,
            door_dist,
            blk_type_off: Vec::new(),
            blk_start: Vec::new(),
            blk_members: Vec::new(),
            blk_min: Vec::new(),
        };
        ex.build_blocks(&base);
        Ok(Gravity { base, model: Model::Exact(ex) })
    }
}

/// The street distances between the given door cells, row-major (BFS from each);
/// an error when one does not fit the `u16` matrix.
fn door_distances(city: &City, slot_street: &[StreetIdx]) -> Result<Vec<u16>, GravityError> {
    let n = slot_street.len();
    let mut door_dist = vec![UNREACHABLE16; n * n];
    if n == 0 {
        return Ok(door_dist);
    }
    let ns = city.streets().len();
    let overflow = door_dist
        .par_chunks_mut(n)
        .enumerate()
        .map_init(
            || (vec![u32::MAX; ns], Vec::with_capacity(ns)),
            |(d, queue), (r, row)| {
                city.bfs_into(slot_street[r], d, queue);
                let mut over = None;
                for (k, &s) in slot_street.iter().enumerate() {
                    let v = d[s.index()];
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
    match overflow {
        Some(distance) => Err(GravityError::DistanceOverflow { distance, max: UNREACHABLE16 as u32 - 1 }),
        None => Ok(door_dist),
    }
}

impl Exact {
    /// Blocks of the draw: per type, buildings sorted by the Z-order (Morton) code of
    /// their door (then index), cut into runs of [`BLOCK`] (spatially compact); per door
    /// slot, the minimum distance to each block.
    fn build_blocks(&mut self, base: &Base) {
        self.blk_type_off = vec![0];
        self.blk_start = vec![0];
        self.blk_members.clear();
        for t in 0..T {
            let mut v = base.by_type[t].clone();
            v.sort_by_key(|&j| {
                let d = base.doors[j.index()];
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
                        .map(|&j| row[slots[j.index()] as usize])
                        .min()
                        .unwrap_or(UNREACHABLE16);
                }
            });
        }
        self.blk_min = mins;
    }

    /// The street distance of two buildings' doors (`None` when unreachable).
    pub(super) fn distance(&self, i: BuildingIdx, j: BuildingIdx) -> Option<u32> {
        let d = self.door_dist[self.door_slot[i.index()] as usize * self.n_slots + self.door_slot[j.index()] as usize];
        (d != UNREACHABLE16).then_some(d as u32)
    }

    /// The weight from `from` to any building, read from `from`'s row of the door
    /// distance matrix (0 when unreachable; `inv_pow` covers every stored distance).
    #[inline]
    pub(super) fn row_weight<'a>(&'a self, base: &'a Base, from: BuildingIdx) -> impl Fn(BuildingIdx) -> f64 + 'a {
        let n = self.n_slots;
        let s = self.door_slot[from.index()] as usize;
        let row = &self.door_dist[s * n..(s + 1) * n];
        move |j: BuildingIdx| {
            let d = row[self.door_slot[j.index()] as usize];
            if d == UNREACHABLE16 {
                0.0
            } else {
                base.inv_pow[d as usize]
            }
        }
    }

    /// Rejection sampling over blocks. A block's proposal weight is its size times the
    /// weight of its closest door (an upper bound of each member's weight); a uniformly
    /// drawn member is accepted with probability `weight / bound`.
    pub(super) fn sample<R: Rng + ?Sized>(
        &self,
        base: &Base,
        from: BuildingIdx,
        allowed: TypeSet,
        visited: &impl Fn(BuildingIdx) -> bool,
        rng: &mut R,
    ) -> Draw {
        let nblk = self.blk_start.len() - 1;
        let s = self.door_slot[from.index()] as usize;
        let mins = &self.blk_min[s * nblk..(s + 1) * nblk];
        let row_weight = self.row_weight(base, from);
        let w_of = |j: BuildingIdx| if j == from { 0.0 } else { row_weight(j) };
        let members = |b: usize| &self.blk_members[self.blk_start[b] as usize..self.blk_start[b + 1] as usize];
        // Proposal mass of a block: exact for blocks within NEAR_BLOCK of the origin (their
        // members' weights vary too much for a useful bound), else size * bound.
        let mass = |b: usize| {
            let m = mins[b];
            if m == UNREACHABLE16 {
                0.0
            } else if m <= NEAR_BLOCK {
                members(b).iter().map(|&j| w_of(j)).sum()
            } else {
                members(b).len() as f64 * base.inv_pow[m as usize]
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
                let ratio = x / base.inv_pow[mins[b] as usize];
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
