//! The "nearby" pairs of the hub proxy: for building `i`, the buildings `j != i` with
//! `Manhattan(door_i, door_j) <= min(dth_i, dth_j)` (`dth`: door -> closest hub), whose
//! gravity distance is the Manhattan door distance instead of the hub route.
//!
//! A city of 25,000 buildings has millions of such pairs (12.8 M for a 380 x 380 random
//! city with its default 31 hubs): deriving them all took about half a second, the bulk
//! of loading a snapshot, and 50 MB per process. They are therefore derived per origin,
//! on the first draw from it, from a bucket grid of the doors built at load time
//! (`O(buildings)`), and kept ([`OnceLock`]: every later draw reads them without a
//! lock). A run touches only the origins its agents explore from. Pairs stored with a
//! city written elsewhere that do not follow the rule are kept as given.

use super::T;
use crate::city::{BuildingIdx, Cell};
use rayon::prelude::*;
use std::sync::OnceLock;

/// Side of a bucket of the door grid, in cells.
const BUCKET: i32 = 8;

/// One origin's nearby buildings (ascending) and the sum of their weights by type.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct NearList {
    /// Nearby buildings, ascending.
    pub j: Box<[BuildingIdx]>,
    /// Per building type: the sum of the nearby weights `Manhattan^-exponent`.
    pub sum: [f64; T],
}

/// Doors bucketed on a coarse grid: the candidates within a Manhattan radius of a door.
#[derive(Debug, Clone)]
pub(super) struct DoorGrid {
    gw: i32,
    gh: i32,
    /// Bucket `k` holds `items[off[k]..off[k + 1]]`, ascending.
    off: Vec<u32>,
    items: Vec<BuildingIdx>,
}

impl DoorGrid {
    /// The grid of `doors` (non-negative cells).
    pub fn new(doors: &[Cell]) -> DoorGrid {
        let w = doors.iter().map(|d| d.x).max().unwrap_or(0).max(0) + 1;
        let h = doors.iter().map(|d| d.y).max().unwrap_or(0).max(0) + 1;
        let (gw, gh) = ((w + BUCKET - 1) / BUCKET, (h + BUCKET - 1) / BUCKET);
        let nbk = gw as usize * gh as usize;
        let bucket = |c: Cell| ((c.y / BUCKET) * gw + c.x / BUCKET) as usize;
        let mut off = vec![0u32; nbk + 1];
        for &d in doors {
            off[bucket(d) + 1] += 1;
        }
        for k in 0..nbk {
            off[k + 1] += off[k];
        }
        let mut fill = off.clone();
        let mut items = vec![BuildingIdx(0); doors.len()];
        for (i, &d) in doors.iter().enumerate() {
            let b = bucket(d);
            items[fill[b] as usize] = BuildingIdx(i as u32);
            fill[b] += 1;
        }
        DoorGrid { gw, gh, off, items }
    }

    /// Calls `f(j)` for each nearby building of `i` (any order).
    fn for_each_near(&self, doors: &[Cell], dth: &[u32], i: usize, mut f: impl FnMut(BuildingIdx)) {
        let (di, r) = (doors[i], dth[i] as i64);
        let b = BUCKET as i64;
        let bx0 = ((di.x as i64 - r).max(0) / b) as i32;
        let bx1 = (((di.x as i64 + r) / b).min(self.gw as i64 - 1)) as i32;
        let by0 = ((di.y as i64 - r).max(0) / b) as i32;
        let by1 = (((di.y as i64 + r) / b).min(self.gh as i64 - 1)) as i32;
        for by in by0..=by1 {
            // Rows of buckets farther than r from the door in y hold no candidate in x
            // range beyond what remains of the radius.
            let dy = axis_gap(di.y as i64, by as i64 * b, b);
            if dy > r {
                continue;
            }
            for bx in bx0..=bx1 {
                if dy + axis_gap(di.x as i64, bx as i64 * b, b) > r {
                    continue;
                }
                let k = (by * self.gw + bx) as usize;
                for &j in &self.items[self.off[k] as usize..self.off[k + 1] as usize] {
                    if j.index() != i && di.manhattan(doors[j.index()]) <= dth[i].min(dth[j.index()]) {
                        f(j);
                    }
                }
            }
        }
    }

    /// The nearby buildings of `i`, ascending.
    pub fn near_of(&self, doors: &[Cell], dth: &[u32], i: usize) -> Vec<BuildingIdx> {
        let mut out = Vec::new();
        self.for_each_near(doors, dth, i, |j| out.push(j));
        out.sort_unstable();
        out
    }

    /// The number of nearby buildings of `i`.
    pub fn count_of(&self, doors: &[Cell], dth: &[u32], i: usize) -> usize {
        let mut n = 0;
        self.for_each_near(doors, dth, i, |_| n += 1);
        n
    }
}

/// Distance along one axis from coordinate `v` to the bucket `[lo, lo + len)`.
fn axis_gap(v: i64, lo: i64, len: i64) -> i64 {
    if v < lo {
        lo - v
    } else if v >= lo + len {
        v - (lo + len - 1)
    } else {
        0
    }
}

/// The nearby lists of a hub-proxy gravity.
#[derive(Debug, Clone)]
pub(super) enum Nearby {
    /// Given lists (pairs stored with a city written elsewhere, not following the rule),
    /// one per building.
    Stored(Vec<NearList>),
    /// Derived by the rule, per origin on first use.
    Derived {
        /// The door grid.
        grid: DoorGrid,
        /// Per building: its list once derived.
        lists: Vec<OnceLock<NearList>>,
    },
}

/// Equal when both are derived (the lists follow from the doors and `dth`, compared
/// with the rest of the model) or both are the same given lists.
impl PartialEq for Nearby {
    fn eq(&self, other: &Nearby) -> bool {
        match (self, other) {
            (Nearby::Stored(a), Nearby::Stored(b)) => a == b,
            (Nearby::Derived { lists: a, .. }, Nearby::Derived { lists: b, .. }) => a.len() == b.len(),
            _ => false,
        }
    }
}

impl Nearby {
    /// Lists derived by the rule for `n` buildings on `grid`.
    pub fn derived(grid: DoorGrid, n: usize) -> Nearby {
        Nearby::Derived { grid, lists: (0..n).map(|_| OnceLock::new()).collect() }
    }

    /// Number of buildings covered.
    pub fn len(&self) -> usize {
        match self {
            Nearby::Stored(l) => l.len(),
            Nearby::Derived { lists, .. } => lists.len(),
        }
    }

    /// The list of `i`, derived with `make` when not yet known.
    #[inline]
    pub fn get(&self, i: usize, make: impl FnOnce(&DoorGrid) -> NearList) -> &NearList {
        match self {
            Nearby::Stored(l) => &l[i],
            Nearby::Derived { grid, lists } => lists[i].get_or_init(|| make(grid)),
        }
    }

    /// True when derived by the rule.
    pub fn is_derived(&self) -> bool {
        matches!(self, Nearby::Derived { .. })
    }

    /// The number of ordered pairs (both orders), counted without keeping the lists.
    pub fn ordered_pairs(&self, doors: &[Cell], dth: &[u32]) -> usize {
        match self {
            Nearby::Stored(l) => l.iter().map(|n| n.j.len()).sum(),
            Nearby::Derived { grid, lists } => (0..lists.len())
                .into_par_iter()
                .map(|i| match lists[i].get() {
                    Some(n) => n.j.len(),
                    None => grid.count_of(doors, dth, i),
                })
                .sum(),
        }
    }
}
