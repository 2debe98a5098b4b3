//! Roulette-wheel selection: the one way the model picks an item with probability
//! proportional to its weight (building types of a random city, weighted sampling
//! parameters, preferential return, every step of the gravity draw).
//!
//! The caller draws `u` uniformly over `[0, total)` of the weights and walks the items in
//! a fixed order: the pick is the first item whose cumulative weight exceeds `u`. Items
//! of weight 0 are never picked. When rounding leaves `u` past every item (a float
//! total summed in another order), the last item of positive weight is picked.
//!
//! ```
//! use gardencity::roulette::roulette;
//! let weights = [0.5, 0.0, 2.0, 1.5];
//! let pick = roulette(1.6, weights.iter().enumerate(), |(_, w)| **w).unwrap();
//! assert_eq!(pick.item.0, 2);
//! assert!((pick.within - 1.1).abs() < 1e-12); // 1.6 - 0.5 into item 2's share
//! // Counts: visits 3, 1 and 2 of three buildings; u over 0..6.
//! assert_eq!(roulette(3u64, [10, 11, 12], |b| [3u64, 1, 2][(*b - 10) as usize]).unwrap().item, 11);
//! assert!(roulette(0.3, [0.0, 0.0], |w| *w).is_none());
//! ```

/// A weight of the wheel: `f64` or an integer count.
pub trait Weight: Copy + PartialOrd {
    /// The weight of nothing.
    const ZERO: Self;
    /// Takes `w`'s share off `u`: `true` when `u` falls in it. `u` is left as the caller
    /// of [`roulette`] needs it for [`Pick::within`].
    fn take(u: &mut Self, w: Self) -> bool;
    /// Where `u` (as left by [`Weight::take`]) lies within the share `w`.
    fn within(u: Self, w: Self) -> Self;
}

impl Weight for f64 {
    const ZERO: f64 = 0.0;
    /// `u - w < 0` exactly when `u < w` (the difference of two distinct finite floats
    /// is never rounded to zero).
    #[inline]
    fn take(u: &mut f64, w: f64) -> bool {
        *u -= w;
        *u < 0.0
    }
    #[inline]
    fn within(u: f64, w: f64) -> f64 {
        u + w
    }
}

impl Weight for u64 {
    const ZERO: u64 = 0;
    #[inline]
    fn take(u: &mut u64, w: u64) -> bool {
        if *u < w {
            return true;
        }
        *u -= w;
        false
    }
    #[inline]
    fn within(u: u64, _: u64) -> u64 {
        u
    }
}

/// The picked item, its weight, and where `u` fell within its share (in `[0, weight)`
/// for a regular pick; the leftover of the rounding for the fallback).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pick<I, W> {
    /// The item.
    pub item: I,
    /// Its weight.
    pub weight: W,
    /// `u` less the weights before the item.
    pub within: W,
}

/// The item of `items` (in order, weighed by `weight`) that `u` falls in; `None` when no
/// item has a positive weight (see the [module docs](self)).
#[inline]
pub fn roulette<I, W: Weight>(
    mut u: W,
    items: impl IntoIterator<Item = I>,
    weight: impl Fn(&I) -> W,
) -> Option<Pick<I, W>> {
    let mut last = None;
    for item in items {
        let w = weight(&item);
        if w > W::ZERO {
            if W::take(&mut u, w) {
                return Some(Pick { item, weight: w, within: W::within(u, w) });
            }
            last = Some((item, w));
        }
    }
    last.map(|(item, w)| Pick { item, weight: w, within: W::within(u, w) })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    #[test]
    fn frequencies_follow_the_weights() {
        let w = [0.1, 0.0, 0.6, 0.3, 2.0];
        let total: f64 = w.iter().sum();
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(9);
        let n = 200_000;
        let mut count = [0usize; 5];
        for _ in 0..n {
            let u = rng.random::<f64>() * total;
            count[roulette(u, 0..5, |&i| w[i]).unwrap().item] += 1;
        }
        for i in 0..5 {
            let p = w[i] / total;
            let sd = (p * (1.0 - p) / n as f64).sqrt();
            let f = count[i] as f64 / n as f64;
            assert!((f - p).abs() <= 5.0 * sd + 1e-12, "item {i}: {f} vs {p}");
        }
        assert_eq!(count[1], 0);
    }

    #[test]
    fn past_the_total_gives_the_last_positive_item() {
        let p = roulette(5.0, [1.0, 2.0, 0.0], |w| *w).unwrap();
        assert_eq!((p.item, p.weight), (2.0, 2.0));
        assert_eq!(roulette(9u64, [4u64, 5, 0], |w| *w).unwrap().item, 5);
        assert!(roulette(0u64, [0u64], |w| *w).is_none());
        // Integer shares: u = 4 is the first unit of the second item.
        let p = roulette(4u64, [4u64, 5], |w| *w).unwrap();
        assert_eq!((p.item, p.within), (5, 0));
    }
}
