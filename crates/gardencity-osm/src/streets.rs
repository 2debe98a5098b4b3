//! The reference's street clean-up before rasterizing (MODEL.md section 8): a simplified
//! street graph whose intersections closer than a tolerance are merged, without dead-end
//! nodes, and without edges shorter than a minimum length.
//!
//! This follows osmnx's `simplify_graph` + `consolidate_intersections(rebuild_graph=True,
//! dead_ends=False)` + the reference's `length >= 15` filter, with these simplifications:
//! a cluster's new node is the mean of its nodes (osmnx: the centroid of the union of
//! their buffers), clusters are not split into weakly connected sub-clusters, and
//! distances are Web Mercator distances scaled by the cosine of the area's mean latitude
//! (osmnx projects to UTM).

use gardencity::city::EARTH_RADIUS_M;
use geo_types::{Coord, LineString};
use std::collections::{HashMap, HashSet};

/// Counts of the street clean-up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConsolidationReport {
    /// Nodes of the simplified street graph (intersections, dead ends, loop anchors).
    pub graph_nodes: usize,
    /// Edges of the simplified street graph.
    pub graph_edges: usize,
    /// Dead-end nodes removed, with their edges.
    pub dead_ends_removed: usize,
    /// Edges removed with the dead ends.
    pub dead_end_edges_removed: usize,
    /// Clusters of two or more intersections merged into one.
    pub clusters_merged: usize,
    /// Intersections absorbed into such clusters.
    pub nodes_merged: usize,
    /// Edges whose two ends fell into the same cluster, dropped.
    pub intra_cluster_edges_removed: usize,
    /// Edges shorter than the minimum length, dropped.
    pub short_edges_removed: usize,
    /// Edges kept.
    pub edges_kept: usize,
}

/// One street way: node ids, and whether it is a major road.
pub(crate) struct Way<'a> {
    pub refs: &'a [i64],
    pub major: bool,
}

/// Metres per Web Mercator unit at the mean latitude of these coordinates.
fn metres_per_unit<'a>(coords: impl Iterator<Item = &'a Coord<f64>>) -> f64 {
    let (mut sum, mut n) = (0.0, 0usize);
    for c in coords {
        sum += c.y;
        n += 1;
    }
    if n == 0 {
        return 1.0;
    }
    let y = sum / n as f64;
    let lat = 2.0 * (y / EARTH_RADIUS_M).exp().atan() - std::f64::consts::FRAC_PI_2;
    lat.cos()
}

/// Simplifies, consolidates and filters street ways; returns the edge geometries (Web
/// Mercator) with their major flags.
pub(crate) fn consolidate(
    ways: &[Way<'_>],
    nodes: &HashMap<i64, Coord<f64>>,
    tolerance_m: f64,
    min_length_m: f64,
) -> (Vec<(LineString<f64>, bool)>, ConsolidationReport) {
    let mut report = ConsolidationReport::default();
    // Undirected adjacency with a major flag per segment.
    let mut adj: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut seg_major: HashMap<(i64, i64), bool> = HashMap::new();
    let mut self_loop: HashSet<i64> = HashSet::new();
    for w in ways {
        for pair in w.refs.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if a == b {
                continue;
            }
            let key = (a.min(b), a.max(b));
            if seg_major.insert(key, w.major).is_none() {
                adj.entry(a).or_default().push(b);
                adj.entry(b).or_default().push(a);
            }
        }
        if w.refs.len() > 2 && w.refs.first() == w.refs.last() {
            self_loop.insert(w.refs[0]);
        }
    }
    let mut is_node: HashSet<i64> = adj.iter().filter(|(_, nb)| nb.len() != 2).map(|(&n, _)| n).collect();
    // Way ends joining exactly two neighbours are interstitial (osmnx merges them), except
    // the anchors of closed loops.
    is_node.extend(self_loop.iter().copied().filter(|n| adj.contains_key(n)));

    // Walk edges between graph nodes; pure cycles get an anchor.
    let mut visited: HashSet<(i64, i64)> = HashSet::new();
    let mut edges: Vec<(i64, i64, Vec<i64>, bool)> = Vec::new();
    let walk = |u: i64, is_node: &HashSet<i64>, visited: &mut HashSet<(i64, i64)>, edges: &mut Vec<_>| {
        let Some(nbs) = adj.get(&u) else { return };
        for &first in nbs {
            if visited.contains(&(u, first)) {
                continue;
            }
            let major = seg_major[&(u.min(first), u.max(first))];
            let mut path = vec![u, first];
            visited.insert((u, first));
            visited.insert((first, u));
            let (mut prev, mut cur) = (u, first);
            while !is_node.contains(&cur) {
                let Some(&next) = adj[&cur].iter().find(|&&n| n != prev && !visited.contains(&(cur, n))) else {
                    break;
                };
                visited.insert((cur, next));
                visited.insert((next, cur));
                path.push(next);
                prev = cur;
                cur = next;
            }
            edges.push((u, cur, path, major));
        }
    };
    let mut order: Vec<i64> = is_node.iter().copied().collect();
    order.sort_unstable();
    for &u in &order {
        walk(u, &is_node, &mut visited, &mut edges);
    }
    let mut rest: Vec<i64> = adj.keys().copied().collect();
    rest.sort_unstable();
    for u in rest {
        if adj[&u].iter().any(|&n| !visited.contains(&(u, n))) {
            is_node.insert(u);
            walk(u, &is_node, &mut visited, &mut edges);
        }
    }
    report.graph_nodes = is_node.len();
    report.graph_edges = edges.len();

    // Dead ends (one street) go, with their edges.
    let mut degree: HashMap<i64, usize> = HashMap::new();
    for (u, v, _, _) in &edges {
        // A self-loop meets its node twice (as osmnx counts streets per node).
        *degree.entry(*u).or_default() += 1;
        *degree.entry(*v).or_default() += 1;
    }
    let dead: HashSet<i64> = degree.iter().filter(|(_, &d)| d <= 1).map(|(&n, _)| n).collect();
    report.dead_ends_removed = dead.len();
    let before = edges.len();
    edges.retain(|(u, v, _, _)| !dead.contains(u) && !dead.contains(v));
    report.dead_end_edges_removed = before - edges.len();

    // Clusters of nodes whose tolerance buffers overlap (distance <= 2 * tolerance).
    let k = metres_per_unit(nodes.values());
    let mut ids: Vec<i64> = edges.iter().flat_map(|(u, v, _, _)| [*u, *v]).collect();
    ids.sort_unstable();
    ids.dedup();
    let pos: Vec<[f64; 2]> = ids.iter().map(|i| nodes[i]).map(|c| [c.x, c.y]).collect();
    let index: HashMap<i64, usize> = ids.iter().enumerate().map(|(i, &n)| (n, i)).collect();
    let mut parent: Vec<usize> = (0..ids.len()).collect();
    fn find(p: &mut [usize], mut i: usize) -> usize {
        while p[i] != i {
            p[i] = p[p[i]];
            i = p[i];
        }
        i
    }
    let tree = rstar::RTree::bulk_load(
        pos.iter().enumerate().map(|(i, p)| rstar::primitives::GeomWithData::new(*p, i)).collect(),
    );
    let reach = 2.0 * tolerance_m / k;
    for (i, p) in pos.iter().enumerate() {
        for o in tree.locate_within_distance(*p, reach * reach) {
            let (a, b) = (find(&mut parent, i), find(&mut parent, o.data));
            if a != b {
                parent[a.max(b)] = a.min(b);
            }
        }
    }
    let mut sums: HashMap<usize, (f64, f64, usize)> = HashMap::new();
    for (i, p) in pos.iter().enumerate() {
        let r = find(&mut parent, i);
        let e = sums.entry(r).or_insert((0.0, 0.0, 0));
        e.0 += p[0];
        e.1 += p[1];
        e.2 += 1;
    }
    for (_, _, n) in sums.values() {
        if *n > 1 {
            report.clusters_merged += 1;
            report.nodes_merged += n;
        }
    }
    let centre = |root: usize| {
        let (x, y, n) = sums[&root];
        Coord { x: x / n as f64, y: y / n as f64 }
    };

    let mut out = Vec::new();
    for (u, v, path, major) in edges {
        let (cu, cv) = (find(&mut parent, index[&u]), find(&mut parent, index[&v]));
        if cu == cv && u != v {
            report.intra_cluster_edges_removed += 1;
            continue;
        }
        let coords: Vec<Coord<f64>> = path.iter().map(|n| nodes[n]).collect();
        let length_m: f64 = coords.windows(2).map(|w| (w[1].x - w[0].x).hypot(w[1].y - w[0].y)).sum::<f64>() * k;
        if length_m < min_length_m {
            report.short_edges_removed += 1;
            continue;
        }
        let mut line = Vec::with_capacity(coords.len() + 2);
        let (a, b) = (centre(cu), centre(cv));
        if a != coords[0] {
            line.push(a);
        }
        line.extend_from_slice(&coords);
        if b != *coords.last().expect("paths have two nodes") {
            line.push(b);
        }
        out.push((LineString::new(line), major));
    }
    report.edges_kept = out.len();
    (out, report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Nodes on the equator (scale 1): metres are Mercator units.
    fn nodes(list: &[(i64, f64, f64)]) -> HashMap<i64, Coord<f64>> {
        list.iter().map(|&(id, x, y)| (id, Coord { x, y })).collect()
    }

    #[test]
    fn close_intersections_merge_dead_ends_and_short_edges_go() {
        // A ladder: streets y = 0 and y = 100 (x 0..200) with rungs at x = 0 and x = 200
        // (corners of two neighbours are not intersections), two rungs 5 m apart at x = 100
        // and x = 105, and a dead-end stub from (50, 0).
        let n = nodes(&[
            (1, 0.0, 0.0),
            (2, 100.0, 0.0),
            (3, 105.0, 0.0),
            (4, 200.0, 0.0),
            (5, 0.0, 100.0),
            (6, 100.0, 100.0),
            (7, 200.0, 100.0),
            (8, 105.0, 100.0),
            (9, 50.0, -40.0),
            (10, 50.0, 0.0),
        ]);
        let ways =
            [vec![1, 10, 2, 3, 4], vec![5, 6, 8, 7], vec![1, 5], vec![4, 7], vec![2, 6], vec![3, 8], vec![10, 9]];
        let ways: Vec<Way<'_>> = ways.iter().map(|r| Way { refs: r, major: false }).collect();
        let (lines, rep) = consolidate(&ways, &n, 12.0, 15.0);
        // Graph nodes: 2, 3, 6, 8, 10 (three streets each) and 9 (dead end); edges 2-10,
        // 2-3, 2-6, 3-8 (rung), 3-4-7-8, 6-8, 6-5-1-10, 9-10.
        assert_eq!(rep.graph_nodes, 6);
        assert_eq!(rep.graph_edges, 8);
        assert_eq!((rep.dead_ends_removed, rep.dead_end_edges_removed), (1, 1));
        // {2, 3} and {6, 8} merge (5 m apart); the 5 m edges inside them go.
        assert_eq!((rep.clusters_merged, rep.nodes_merged), (2, 4));
        assert_eq!(rep.intra_cluster_edges_removed, 2);
        assert_eq!(rep.short_edges_removed, 0);
        assert_eq!(rep.edges_kept, 5);
        assert_eq!(lines.len(), 5);
        // Edges into a merged cluster end at its centre (102.5, 0).
        let ends: Vec<Coord<f64>> = lines.iter().flat_map(|(l, _)| [l.0[0], *l.0.last().unwrap()]).collect();
        assert!(ends.contains(&Coord { x: 102.5, y: 0.0 }));
        assert!(!ends.contains(&Coord { x: 100.0, y: 0.0 }));
        // With a 60 m minimum the 50 m edge 2-10 goes too.
        let (_, rep) = consolidate(&ways, &n, 12.0, 60.0);
        assert_eq!((rep.short_edges_removed, rep.edges_kept), (1, 4));
    }

    #[test]
    fn a_closed_loop_without_intersections_is_one_edge() {
        let n = nodes(&[(1, 0.0, 0.0), (2, 100.0, 0.0), (3, 100.0, 100.0), (4, 0.0, 100.0)]);
        let r = [1, 2, 3, 4, 1];
        let (lines, rep) = consolidate(&[Way { refs: &r, major: true }], &n, 12.0, 15.0);
        assert_eq!((rep.graph_nodes, rep.graph_edges, rep.edges_kept), (1, 1, 1));
        assert_eq!(lines[0].0 .0.len(), 5);
        assert!(lines[0].1);
    }
}
