//! The weighted destination draw: `P(j) ∝ weight(from, j)` over unvisited buildings of
//! the allowed types.
//!
//! Each model proposes by rejection sampling (the hub proxy by target classes, see
//! [`hub_proxy`](super::hub_proxy); the exact model by blocks, see
//! [`exact`](super::exact)), so accepted draws follow the exact weights. After
//! [`MAX_TRIES`] rejections an exact linear scan finishes the draw (also exact), so the
//! result is exact whatever the visited set.

use super::{Gravity, Model};
use crate::city::{BuildingIdx, TypeSet};
use crate::roulette::roulette;
use rand::Rng;

/// Rejected proposals before the exact linear scan takes over.
pub(crate) const MAX_TRIES: usize = 48;

/// What a rejection sampler decided.
pub(super) enum Draw {
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
        if from.index() >= self.base.kinds.len() || allowed.is_empty() {
            return None;
        }
        let decided = match &self.model {
            Model::HubProxy(h) => h.sample(&self.base, from, allowed, visited, rng),
            Model::Exact(e) => e.sample(&self.base, from, allowed, visited, rng),
        };
        match decided {
            Draw::Chosen(j) => Some(j),
            Draw::NoCandidate => None,
            Draw::Undecided => match &self.model {
                Model::Exact(e) => self.scan(from, allowed, visited, rng, e.row_weight(&self.base, from)),
                Model::HubProxy(_) => self.scan(from, allowed, visited, rng, |j| self.weight(from, j)),
            },
        }
    }

    /// Exact linear scan over all candidates.
    #[inline]
    fn scan<R: Rng + ?Sized>(
        &self,
        from: BuildingIdx,
        allowed: TypeSet,
        visited: &impl Fn(BuildingIdx) -> bool,
        rng: &mut R,
        weight: impl Fn(BuildingIdx) -> f64,
    ) -> Option<BuildingIdx> {
        let by_type = &self.base.by_type;
        let w = |j: BuildingIdx| if j == from || visited(j) { 0.0 } else { weight(j) };
        let mut total = 0.0;
        for t in allowed.iter() {
            for &j in &by_type[t as usize] {
                total += w(j);
            }
        }
        if total.is_nan() || total <= 0.0 {
            return None;
        }
        let u = rng.random::<f64>() * total;
        let candidates = allowed.iter().flat_map(|t| by_type[t as usize].iter().copied());
        roulette(u, candidates, |&j| w(j)).map(|p| p.item)
    }
}
