//! The outline of a set of blocks as polygon rings (the geometry of a building).

use crate::city::Cell;
use std::collections::HashMap;

/// A closed ring of integer vertices; the first vertex is repeated at the end.
pub type Ring = Vec<(i32, i32)>;

/// Polygons (exterior ring counter-clockwise, then holes clockwise) covering exactly
/// the union of the unit squares of `blocks`. Collinear vertices are merged.
/// One polygon per 4-connected component that is not inside another's hole.
pub fn outline(blocks: &[Cell]) -> Vec<Vec<Ring>> {
    let set: std::collections::HashSet<Cell> = blocks.iter().copied().collect();
    // Directed boundary edges, counter-clockwise around the interior.
    let mut next: HashMap<(i32, i32), Vec<(i32, i32)>> = HashMap::new();
    let mut edges = 0usize;
    for &c in blocks {
        let (x, y) = (c.x, c.y);
        let mut add = |a: (i32, i32), b: (i32, i32)| {
            next.entry(a).or_default().push(b);
            edges += 1;
        };
        if !set.contains(&Cell::new(x, y - 1)) {
            add((x, y), (x + 1, y));
        }
        if !set.contains(&Cell::new(x + 1, y)) {
            add((x + 1, y), (x + 1, y + 1));
        }
        if !set.contains(&Cell::new(x, y + 1)) {
            add((x + 1, y + 1), (x, y + 1));
        }
        if !set.contains(&Cell::new(x - 1, y)) {
            add((x, y + 1), (x, y));
        }
    }
    let mut starts: Vec<(i32, i32)> = next.keys().copied().collect();
    starts.sort_unstable();
    let mut rings: Vec<Ring> = Vec::new();
    for s in starts {
        while next.get(&s).is_some_and(|v| !v.is_empty()) {
            let mut ring = vec![s];
            let mut prev = s;
            let mut cur = take_edge(&mut next, s, None);
            while cur != s {
                ring.push(cur);
                let dir = (cur.0 - prev.0, cur.1 - prev.1);
                prev = cur;
                cur = take_edge(&mut next, cur, Some(dir));
            }
            ring.push(s);
            rings.push(simplify(ring));
        }
    }
    // Exterior rings have positive area; holes negative. Assign holes to the smallest
    // exterior containing them.
    let (mut exteriors, holes): (Vec<Ring>, Vec<Ring>) = rings.into_iter().partition(|r| signed_area2(r) > 0);
    exteriors.sort_by_key(|r| std::cmp::Reverse(signed_area2(r)));
    let mut polys: Vec<Vec<Ring>> = exteriors.into_iter().map(|r| vec![r]).collect();
    for h in holes {
        let probe = (h[0].0 as f64 + 0.5 * sign((h[1].0 - h[0].0) as f64), h[0].1 as f64);
        let target = polys
            .iter()
            .enumerate()
            .filter(|(_, p)| {
                point_in_ring(&p[0], probe.0, probe.1 - 0.25) || point_in_ring(&p[0], probe.0, probe.1 + 0.25)
            })
            .min_by_key(|(_, p)| signed_area2(&p[0]))
            .map(|(i, _)| i);
        match target {
            Some(i) => polys[i].push(h),
            None => polys.push(vec![h]),
        }
    }
    polys
}

fn sign(v: f64) -> f64 {
    if v > 0.0 {
        1.0
    } else if v < 0.0 {
        -1.0
    } else {
        0.0
    }
}

/// Takes one outgoing edge from `at`; at a pinch vertex prefer the left-most turn so
/// that rings stay simple.
fn take_edge(next: &mut HashMap<(i32, i32), Vec<(i32, i32)>>, at: (i32, i32), dir: Option<(i32, i32)>) -> (i32, i32) {
    let v = next.get_mut(&at).expect("boundary edges form closed rings");
    let i = match (dir, v.len()) {
        (Some(d), n) if n > 1 => {
            let left = (-d.1, d.0);
            v.iter().position(|&e| (e.0 - at.0, e.1 - at.1) == left).unwrap_or(0)
        }
        _ => 0,
    };
    v.swap_remove(i)
}

fn simplify(ring: Ring) -> Ring {
    let n = ring.len() - 1; // closed
    let pts = &ring[..n];
    let mut out: Ring = Vec::with_capacity(n + 1);
    for i in 0..n {
        let a = pts[(i + n - 1) % n];
        let b = pts[i];
        let c = pts[(i + 1) % n];
        let cross = (b.0 - a.0) * (c.1 - b.1) - (b.1 - a.1) * (c.0 - b.0);
        if cross != 0 {
            out.push(b);
        }
    }
    // Start at the lowest vertex for a canonical form.
    let k = out.iter().enumerate().min_by_key(|(_, &p)| (p.1, p.0)).map(|(i, _)| i).unwrap_or(0);
    out.rotate_left(k);
    out.push(out[0]);
    out
}

/// Twice the signed area (positive for counter-clockwise rings).
pub fn signed_area2(r: &Ring) -> i64 {
    r.windows(2).map(|w| w[0].0 as i64 * w[1].1 as i64 - w[1].0 as i64 * w[0].1 as i64).sum()
}

fn point_in_ring(r: &Ring, x: f64, y: f64) -> bool {
    let mut inside = false;
    for w in r.windows(2) {
        let (x1, y1) = (w[0].0 as f64, w[0].1 as f64);
        let (x2, y2) = (w[1].0 as f64, w[1].1 as f64);
        if (y1 > y) != (y2 > y) && x < x1 + (y - y1) / (y2 - y1) * (x2 - x1) {
            inside = !inside;
        }
    }
    inside
}

/// The blocks covered by polygons given as rings (exterior then holes) of any
/// orientation: a block belongs when its centre lies inside (even-odd rule).
/// Vertices need not be integers; blocks are searched within the rings' bounding box.
pub fn blocks_of_rings(rings: &[Vec<(f64, f64)>]) -> Vec<Cell> {
    let (mut x0, mut y0, mut x1, mut y1) = (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for r in rings {
        for &(x, y) in r {
            x0 = x0.min(x);
            y0 = y0.min(y);
            x1 = x1.max(x);
            y1 = y1.max(y);
        }
    }
    let mut out = Vec::new();
    if x0 > x1 {
        return out;
    }
    for cx in x0.floor() as i32..x1.ceil() as i32 {
        for cy in y0.floor() as i32..y1.ceil() as i32 {
            let (px, py) = (cx as f64 + 0.5, cy as f64 + 0.5);
            let mut inside = false;
            for r in rings {
                for w in r.windows(2) {
                    let ((xa, ya), (xb, yb)) = (w[0], w[1]);
                    if (ya > py) != (yb > py) && px < xa + (py - ya) / (yb - ya) * (xb - xa) {
                        inside = !inside;
                    }
                }
            }
            if inside {
                out.push(Cell::new(cx, cy));
            }
        }
    }
    out
}
