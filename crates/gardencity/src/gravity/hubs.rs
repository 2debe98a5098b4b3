//! Hub selection (MODEL.md section 3): pandas `qcut` quantile buckets of street coordinates.

use crate::city::{Cell, City};

/// The `qcut` bin edges of sorted values into `n` quantile buckets, duplicates dropped.
///
/// Reproduces pandas' arithmetic: `np.linspace(0, 1, n + 1)` quantiles, passed through
/// `* 100 / 100` (pandas calls `np.percentile`), linear interpolation at virtual index
/// `(len - 1) * q` with numpy's two-sided `_lerp`.
pub(crate) fn qcut_edges(sorted: &[i32], n: usize) -> Vec<f64> {
    let len = sorted.len();
    if len == 0 || n == 0 {
        return Vec::new();
    }
    let step = 1.0 / n as f64;
    let mut edges: Vec<f64> = Vec::with_capacity(n + 1);
    for k in 0..=n {
        let q = if k == n { 1.0 } else { k as f64 * step };
        let q = (q * 100.0) / 100.0;
        let vi = (len - 1) as f64 * q;
        let (prev, next) = if vi >= (len - 1) as f64 {
            (len - 1, len - 1)
        } else {
            let p = vi.floor() as usize;
            (p, p + 1)
        };
        let gamma = vi - vi.floor();
        let (a, b) = (sorted[prev] as f64, sorted[next] as f64);
        let diff = b - a;
        let v = if gamma >= 0.5 { b - diff * (1.0 - gamma) } else { a + diff * gamma };
        if edges.last() != Some(&v) {
            edges.push(v);
        }
    }
    edges
}

/// The bucket of `v` for `qcut` edges: bins `(e_k, e_k+1]`, the lowest value in the first.
/// `None` outside `[e_0, e_last]`.
pub(crate) fn qcut_bin(edges: &[f64], v: f64) -> Option<usize> {
    if edges.len() < 2 {
        // A single edge (all values equal): pandas would mark every value NA and the
        // reference would get no hub; we keep one degenerate bin holding the value.
        return (edges.first() == Some(&v)).then_some(0);
    }
    // searchsorted(side = left): the first edge >= v.
    let ids = edges.partition_point(|&e| e < v);
    let ids = if v == edges[0] { 1 } else { ids };
    if ids == 0 || ids == edges.len() {
        None
    } else {
        Some(ids - 1)
    }
}

/// Hubs of a city for a requested `hub_size`: `n = floor(sqrt(hub_size))` quantile buckets
/// per axis over the street cells of the largest street component; for `bx` then `by`,
/// the first cell in `(x, y)` order in both buckets. Empty when there are no streets.
pub fn select_hubs(city: &City, hub_size: usize) -> Vec<Cell> {
    let comps = city.street_components();
    let Some(largest) = comps.largest() else { return Vec::new() };
    let cells: Vec<Cell> =
        city.streets().iter().zip(&comps.label).filter(|(_, &l)| l == largest).map(|(c, _)| *c).collect();
    let n = (hub_size as f64).sqrt().floor() as usize;
    let mut xs: Vec<i32> = cells.iter().map(|c| c.x).collect();
    let mut ys: Vec<i32> = cells.iter().map(|c| c.y).collect();
    xs.sort_unstable();
    ys.sort_unstable();
    let ex = qcut_edges(&xs, n);
    let ey = qcut_edges(&ys, n);
    let bins: Vec<(Option<usize>, Option<usize>)> =
        cells.iter().map(|c| (qcut_bin(&ex, c.x as f64), qcut_bin(&ey, c.y as f64))).collect();
    // First cell (cells are in (x, y) order) of each (bx, by) pair.
    let mut first = vec![usize::MAX; n * n];
    for (i, &(bx, by)) in bins.iter().enumerate() {
        if let (Some(bx), Some(by)) = (bx, by) {
            if bx < n && by < n && first[bx * n + by] == usize::MAX {
                first[bx * n + by] = i;
            }
        }
    }
    first.into_iter().filter(|&i| i != usize::MAX).map(|i| cells[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_like_pandas() {
        // pandas.qcut(range(10), 3, retbins=True) prints [0., 3., 6., 9.], but the edges
        // are np.percentile(range(10), linspace(0, 1, 4) * 100) exactly:
        // [0.0, 2.999999999999999, 5.999999999999998, 9.0], so 3 falls in the second bin.
        let v: Vec<i32> = (0..10).collect();
        let e = qcut_edges(&v, 3);
        assert_eq!(e, vec![0.0, 2.999999999999999, 5.999999999999998, 9.0]);
        assert_eq!(qcut_bin(&e, 3.0), Some(1));
        // pandas.qcut([0,1,2,3], 2, retbins=True) -> [0., 1.5, 3.]
        assert_eq!(qcut_edges(&[0, 1, 2, 3], 2), vec![0.0, 1.5, 3.0]);
        // duplicates dropped: qcut([0,0,0,0,5], 4, duplicates='drop') -> [0., 5.]
        assert_eq!(qcut_edges(&[0, 0, 0, 0, 5], 4), vec![0.0, 5.0]);
        let e = [0.0, 3.0, 6.0, 9.0];
        assert_eq!(qcut_bin(&e, 0.0), Some(0));
        assert_eq!(qcut_bin(&e, 3.0), Some(0));
        assert_eq!(qcut_bin(&e, 3.5), Some(1));
        assert_eq!(qcut_bin(&e, 9.0), Some(2));
        assert_eq!(qcut_bin(&e, 9.5), None);
    }
}
