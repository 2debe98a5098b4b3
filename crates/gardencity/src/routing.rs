//! Shortest paths on the 4-connected street graph (unit edge weights).
//!
//! A [`Router`] is built once from a [`City`] and shared by every thread (`Send + Sync`,
//! plain data). Each thread keeps its own [`RouteScratch`], so a query allocates
//! nothing in steady state.
//!
//! Two methods, chosen by size (see the `routing` benchmark):
//! - street graphs of at most [`TABLE_MAX_STREETS`] cells keep an all-pairs distance
//!   table (`u16`); a distance is one lookup and a path follows decreasing distances;
//! - larger graphs run A* with the Manhattan heuristic. With unit edges and a consistent
//!   heuristic `f = g + h` grows by 0 or 2 per step, so the open list is two stacks
//!   (current `f`, `f + 2`) and the visited marks are generation-stamped arrays.
//!
//! Cells of different connected components are rejected in O(1) with
//! [`RoutingError::Unreachable`], before any search.

use crate::city::graph::StreetGraph;
use crate::city::{Cell, City, StreetIdx};

/// Street graphs with at most this many cells use the all-pairs table.
pub const TABLE_MAX_STREETS: usize = 2048;

const NONE: StreetIdx = crate::city::graph::NO_STREET;
const UNREACHABLE16: u16 = u16::MAX;

/// Why a route query failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoutingError {
    /// The index does not name a street cell of the router's city.
    #[error("street index {index} is not a street cell (the city has {street_count} street cells)")]
    NotAStreet {
        /// The offending index.
        index: StreetIdx,
        /// Number of street cells.
        street_count: usize,
    },
    /// The two cells lie in different connected components of the street graph.
    #[error("street cell ({}, {}) cannot be reached from street cell ({}, {}): different street components", to.x, to.y, from.x, from.y)]
    Unreachable {
        /// Start cell.
        from: Cell,
        /// Target cell.
        to: Cell,
    },
}

/// Shortest-path oracle over the street graph of one city. Plain data, `Send + Sync`.
///
/// ```
/// use gardencity::city::random::{random_city, RandomCityParams};
/// use gardencity::routing::{RouteScratch, Router};
/// use gardencity::BuildingIdx;
/// let city = random_city(&RandomCityParams { width: 30, height: 30, seed: 1, ..Default::default() }).unwrap();
/// let router = Router::new(&city);
/// let mut scratch = RouteScratch::new(&router);
/// let (a, b) = (city.door_street(BuildingIdx(0)), city.door_street(BuildingIdx(1)));
/// let mut path = Vec::new();
/// let len = router.path(a, b, &mut scratch, &mut path).unwrap();
/// assert_eq!(len, router.distance(a, b, &mut scratch).unwrap());
/// assert_eq!((path.first(), path.last(), path.len() as u32), (Some(&a), Some(&b), len + 1));
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Router {
    /// Per street cell: its coordinates and neighbours, packed for locality.
    adj: Vec<Adj>,
    /// Connected-component label of each cell.
    comp: Vec<u32>,
    /// All-pairs distances, row-major `n x n`, `u16::MAX` when unreachable (small graphs only).
    table: Option<Vec<u16>>,
}

/// One street cell of the router: neighbours (east, west, north, south; `NONE` when
/// absent) and coordinates, in one cache-friendly record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Adj {
    nb: [StreetIdx; 4],
    x: i32,
    y: i32,
}

/// Search state of one node: generation stamp, distance from the start, parent.
#[derive(Debug, Clone, Copy, Default)]
struct NodeState {
    stamp: u32,
    g: u32,
    parent: StreetIdx,
}

/// Per-thread mutable search state of a [`Router`]; reuse it across queries.
#[derive(Debug, Clone, Default)]
pub struct RouteScratch {
    nodes: Vec<NodeState>,
    gen: u32,
    cur: Vec<StreetIdx>,
    next: Vec<StreetIdx>,
}

impl RouteScratch {
    /// Search state sized for `router` (empty when the router answers from its table).
    pub fn new(router: &Router) -> RouteScratch {
        let mut s = RouteScratch::default();
        if router.table.is_none() {
            s.ensure(router.adj.len());
        }
        s
    }

    fn ensure(&mut self, n: usize) {
        if self.nodes.len() != n {
            self.nodes = vec![NodeState::default(); n];
            self.gen = 0;
        }
    }

    /// Starts a new search generation: stamps `2*gen` mean "seen", `2*gen+1` "closed".
    fn next_gen(&mut self) -> u32 {
        if self.gen >= u32::MAX / 2 - 1 {
            self.nodes.iter_mut().for_each(|s| s.stamp = 0);
            self.gen = 0;
        }
        self.gen += 1;
        self.cur.clear();
        self.next.clear();
        self.gen
    }
}

impl Router {
    /// Builds the router for a city's street graph (the table for small graphs).
    pub fn new(city: &City) -> Router {
        Router::with_table_limit(city, TABLE_MAX_STREETS)
    }

    /// Builds the router, using the all-pairs table only when the street graph has at
    /// most `table_max_streets` cells (0 forces the search; for benchmarks and tests) and
    /// never above `u16::MAX` cells (the table holds `u16` distances).
    pub fn with_table_limit(city: &City, table_max_streets: usize) -> Router {
        let n = city.streets().len();
        let adj: Vec<Adj> =
            city.streets().iter().zip(city.street_adjacency()).map(|(c, &nb)| Adj { nb, x: c.x, y: c.y }).collect();
        let comp = city.street_components().label;
        let mut r = Router { adj, comp, table: None };
        if n <= table_max_streets.min(UNREACHABLE16 as usize) {
            r.table = Some(Router::build_table(city.street_graph()));
        }
        r
    }

    /// The all-pairs table: one breadth-first search of the street graph per source.
    fn build_table(graph: &StreetGraph) -> Vec<u16> {
        let n = graph.len();
        let mut table = vec![UNREACHABLE16; n * n];
        let (mut dist, mut queue) = (vec![u32::MAX; n], Vec::with_capacity(n));
        for src in 0..n {
            graph.bfs_into(StreetIdx(src as u32), &mut dist, &mut queue);
            let row = &mut table[src * n..(src + 1) * n];
            // Reached distances are below n <= u16::MAX (see with_table_limit): they fit, below UNREACHABLE16.
            for &s in &queue {
                row[s.index()] = dist[s.index()] as u16;
            }
        }
        table
    }

    /// Number of street cells.
    pub fn street_count(&self) -> usize {
        self.adj.len()
    }
    /// The cell of a street index, if valid.
    pub fn cell(&self, s: StreetIdx) -> Option<Cell> {
        self.adj.get(s.index()).map(|a| Cell::new(a.x, a.y))
    }
    /// True when queries are answered from the all-pairs table.
    pub fn uses_table(&self) -> bool {
        self.table.is_some()
    }
    /// True when both indices are street cells of the same connected component.
    pub fn connected(&self, a: StreetIdx, b: StreetIdx) -> bool {
        match (self.comp.get(a.index()), self.comp.get(b.index())) {
            (Some(x), Some(y)) => x == y,
            _ => false,
        }
    }

    fn check(&self, from: StreetIdx, to: StreetIdx) -> Result<(), RoutingError> {
        let n = self.adj.len();
        for index in [from, to] {
            if index.index() >= n {
                return Err(RoutingError::NotAStreet { index, street_count: n });
            }
        }
        if self.comp[from.index()] != self.comp[to.index()] {
            let cell = |s: StreetIdx| Cell::new(self.adj[s.index()].x, self.adj[s.index()].y);
            return Err(RoutingError::Unreachable { from: cell(from), to: cell(to) });
        }
        Ok(())
    }

    /// Street-graph distance in blocks from `from` to `to`.
    pub fn distance(&self, from: StreetIdx, to: StreetIdx, scratch: &mut RouteScratch) -> Result<u32, RoutingError> {
        self.check(from, to)?;
        if let Some(t) = &self.table {
            return Ok(t[to.index() * self.adj.len() + from.index()] as u32);
        }
        Ok(self.astar(from, to, scratch))
    }

    /// A shortest path: clears `out` and fills it with the street cells from `from` to
    /// `to` inclusive, consecutive cells 4-adjacent. Returns its length in blocks
    /// (`out.len() - 1`). On error `out` is left empty.
    pub fn path(
        &self,
        from: StreetIdx,
        to: StreetIdx,
        scratch: &mut RouteScratch,
        out: &mut Vec<StreetIdx>,
    ) -> Result<u32, RoutingError> {
        out.clear();
        self.check(from, to)?;
        if let Some(t) = &self.table {
            let n = self.adj.len();
            let row = &t[to.index() * n..(to.index() + 1) * n];
            let mut cur = from;
            out.push(cur);
            let mut d = row[cur.index()];
            while d > 0 {
                // A neighbour one step closer always exists on a shortest-path graph.
                let step = self.adj[cur.index()].nb.iter().copied().find(|&nb| nb != NONE && row[nb.index()] == d - 1);
                match step {
                    Some(nb) => {
                        cur = nb;
                        d -= 1;
                        out.push(cur);
                    }
                    None => break,
                }
            }
            return Ok(out.len() as u32 - 1);
        }
        let d = self.astar(from, to, scratch);
        let mut cur = to;
        out.push(cur);
        while cur != from {
            cur = scratch.nodes[cur.index()].parent;
            out.push(cur);
        }
        out.reverse();
        Ok(d)
    }

    /// A* with two stacks; `from` and `to` are valid and connected.
    fn astar(&self, from: StreetIdx, to: StreetIdx, sc: &mut RouteScratch) -> u32 {
        sc.ensure(self.adj.len());
        if from == to {
            return 0;
        }
        let gen = sc.next_gen();
        let seen = 2 * gen;
        let closed = 2 * gen + 1;
        let (tx, ty) = (self.adj[to.index()].x, self.adj[to.index()].y);
        let h = |a: &Adj| (a.x - tx).unsigned_abs() + (a.y - ty).unsigned_abs();
        sc.nodes[from.index()] = NodeState { stamp: seen, g: 0, parent: NONE };
        sc.cur.push(from);
        loop {
            while let Some(v) = sc.cur.pop() {
                let vi = v.index();
                let node = &mut sc.nodes[vi];
                if node.stamp == closed {
                    continue;
                }
                node.stamp = closed;
                let ng = node.g + 1;
                let av = &self.adj[vi];
                let hv = h(av);
                for &t in &av.nb {
                    if t == NONE {
                        continue;
                    }
                    let st = &mut sc.nodes[t.index()];
                    if (st.stamp == seen || st.stamp == closed) && st.g <= ng {
                        continue;
                    }
                    *st = NodeState { stamp: seen, g: ng, parent: v };
                    if t == to {
                        // h(to) = 0 < h(v): f(to) equals the current minimum f, so ng is optimal.
                        return ng;
                    }
                    if h(&self.adj[t.index()]) < hv {
                        sc.cur.push(t);
                    } else {
                        sc.next.push(t);
                    }
                }
            }
            if sc.next.is_empty() {
                // Unreachable despite equal component labels: impossible by construction.
                return u32::MAX;
            }
            std::mem::swap(&mut sc.cur, &mut sc.next);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::city::random::{random_city, RandomCityParams};
    use crate::city::{BuildingSpec, BuildingType, CityParts};
    use rand::{Rng, SeedableRng};

    fn check_city(city: &City, force_search: bool, queries: usize, seed: u64) {
        let mut router = Router::new(city);
        if force_search {
            router.table = None;
        }
        let mut sc = RouteScratch::new(&router);
        let mut out = Vec::new();
        let n = city.streets().len() as u32;
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        for _ in 0..queries {
            let a = StreetIdx(rng.random_range(0..n));
            let bfs = city.bfs_distances(a);
            for _ in 0..8 {
                let b = StreetIdx(rng.random_range(0..n));
                let expected = bfs[b.index()];
                let d = router.distance(a, b, &mut sc);
                let p = router.path(a, b, &mut sc, &mut out);
                if expected == u32::MAX {
                    assert!(matches!(d, Err(RoutingError::Unreachable { .. })));
                    assert!(matches!(p, Err(RoutingError::Unreachable { .. })));
                    assert!(out.is_empty());
                    continue;
                }
                assert_eq!(d.unwrap(), expected, "distance {a}->{b}");
                assert_eq!(p.unwrap(), expected, "path length {a}->{b}");
                assert_eq!(out.len() as u32, expected + 1);
                assert_eq!(out[0], a);
                assert_eq!(*out.last().unwrap(), b);
                for w in out.windows(2) {
                    let (c0, c1) = (city.streets()[w[0].index()], city.streets()[w[1].index()]);
                    assert!(c0.is_adjacent4(c1), "{c0:?} -> {c1:?} not adjacent");
                }
            }
        }
    }

    #[test]
    fn matches_bfs_on_random_cities_table_and_search() {
        for seed in 0..12 {
            let (w, sp) = (20 + 3 * seed as u32, 3 + (seed as u32 % 4));
            let city = random_city(&RandomCityParams {
                width: w,
                height: w + 5,
                street_spacing: sp,
                seed,
                ..Default::default()
            })
            .unwrap();
            assert!(Router::new(&city).uses_table());
            check_city(&city, false, 20, seed);
            check_city(&city, true, 20, seed + 100);
        }
    }

    #[test]
    fn matches_bfs_on_large_city_with_search() {
        let city = random_city(&RandomCityParams {
            width: 150,
            height: 120,
            street_spacing: 6,
            seed: 7,
            ..Default::default()
        })
        .unwrap();
        let router = Router::new(&city);
        assert!(!router.uses_table());
        check_city(&city, false, 30, 1);
    }

    /// A maze-like street set (random cells kept) exercises detours and several components.
    fn maze(seed: u64) -> City {
        let mut rng = rand_pcg::Pcg64Mcg::seed_from_u64(seed);
        let (w, h) = (40, 30);
        let streets: Vec<Cell> =
            (0..w).flat_map(|x| (0..h).map(move |y| Cell::new(x, y))).filter(|_| rng.random::<f64>() < 0.62).collect();
        City::new(CityParts { name: "maze".into(), width: w as u32, height: h as u32, streets, ..Default::default() })
            .unwrap()
    }

    #[test]
    fn matches_bfs_on_mazes_with_several_components() {
        for seed in 0..6 {
            let city = maze(seed);
            assert!(city.street_components().count() > 1);
            check_city(&city, false, 25, seed);
            check_city(&city, true, 25, seed);
        }
    }

    #[test]
    fn errors() {
        // Two street components: row y = 0 (x 0..3) and row y = 2 (x 0..3), a home between.
        let city = City::new(CityParts {
            name: "two".into(),
            width: 3,
            height: 3,
            streets: (0..3).flat_map(|x| [Cell::new(x, 0), Cell::new(x, 2)]).collect(),
            buildings: vec![BuildingSpec {
                id: None,
                kind: BuildingType::Home,
                blocks: vec![Cell::new(1, 1)],
                door: Cell::new(1, 0),
                door_point: None,
            }],
            ..Default::default()
        })
        .unwrap();
        for force_search in [false, true] {
            let mut router = Router::new(&city);
            if force_search {
                router.table = None;
            }
            let mut sc = RouteScratch::new(&router);
            let mut out = vec![StreetIdx(7)];
            let a = city.street_at(Cell::new(0, 0)).unwrap();
            let b = city.street_at(Cell::new(2, 2)).unwrap();
            let err = router.path(a, b, &mut sc, &mut out).unwrap_err();
            assert_eq!(err, RoutingError::Unreachable { from: Cell::new(0, 0), to: Cell::new(2, 2) });
            assert!(out.is_empty());
            assert_eq!(
                router.distance(a, StreetIdx(6), &mut sc).unwrap_err(),
                RoutingError::NotAStreet { index: StreetIdx(6), street_count: 6 }
            );
            assert!(router.distance(StreetIdx(u32::MAX), a, &mut sc).is_err());
            let c = city.street_at(Cell::new(2, 0)).unwrap();
            assert_eq!(router.path(a, c, &mut sc, &mut out).unwrap(), 2);
            assert_eq!(router.path(a, a, &mut sc, &mut out).unwrap(), 0);
            assert_eq!(out, vec![a]);
            assert!(router.connected(a, c) && !router.connected(a, b));
        }
    }

    #[test]
    fn router_is_send_sync() {
        fn f<T: Send + Sync>() {}
        f::<Router>();
        f::<RouteScratch>();
    }
}
