//! The street graph: 4-connected street cells with unit edge weights.
//!
//! One [`StreetGraph`] (adjacency plus breadth-first search) serves the city, the router's
//! distance table, gravity's street distances and the rasterizer's component search.
//!
//! ```
//! use gardencity::city::graph::StreetGraph;
//! use gardencity::city::{Cell, StreetIdx};
//! // Two streets: an L of three cells and a lone cell.
//! let cells = [Cell::new(0, 0), Cell::new(1, 0), Cell::new(1, 1), Cell::new(5, 5)];
//! let g = StreetGraph::from_cells(&cells, |c| cells.iter().position(|&d| d == c).map(|i| StreetIdx(i as u32)));
//! assert_eq!(g.distances(StreetIdx(0)), vec![0, 1, 2, u32::MAX]);
//! let comps = g.components();
//! assert_eq!((comps.label, comps.sizes), (vec![0, 0, 0, 1], vec![3, 1]));
//! ```

use crate::city::{Cell, City, StreetIdx};

/// No street in this direction (an entry of [`StreetGraph::adjacency`]).
pub const NO_STREET: StreetIdx = StreetIdx(u32::MAX);

/// The street graph: each street cell's street neighbours by direction, in
/// [`Cell::neighbors4`] order ([`NO_STREET`] where the neighbour is not a street).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StreetGraph {
    adjacency: Vec<[StreetIdx; 4]>,
}

/// Connected components of the street graph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreetComponents {
    /// Component label of each street cell (`0..count`), labels in order of first street index.
    pub label: Vec<u32>,
    /// Number of cells of each component.
    pub sizes: Vec<u32>,
}

impl StreetComponents {
    /// Number of components.
    pub fn count(&self) -> usize {
        self.sizes.len()
    }
    /// The label of the largest component (the lowest label on ties), if any street exists.
    pub fn largest(&self) -> Option<u32> {
        let max = *self.sizes.iter().max()?;
        self.sizes.iter().position(|&s| s == max).map(|i| i as u32)
    }
}

impl StreetGraph {
    /// The graph of the street cells `streets`, where `street_at` gives the index of the
    /// street cell at a cell (if it is one).
    pub fn from_cells(streets: &[Cell], street_at: impl Fn(Cell) -> Option<StreetIdx>) -> StreetGraph {
        let adjacency = streets
            .iter()
            .map(|c| {
                let mut nb = [NO_STREET; 4];
                for (k, nc) in c.neighbors4().into_iter().enumerate() {
                    if let Some(t) = street_at(nc) {
                        nb[k] = t;
                    }
                }
                nb
            })
            .collect();
        StreetGraph { adjacency }
    }

    /// Number of street cells.
    pub fn len(&self) -> usize {
        self.adjacency.len()
    }

    /// Whether the graph has no street cell.
    pub fn is_empty(&self) -> bool {
        self.adjacency.is_empty()
    }

    /// Each street cell's neighbours by direction ([`NO_STREET`] where absent).
    #[inline]
    pub fn adjacency(&self) -> &[[StreetIdx; 4]] {
        &self.adjacency
    }

    /// Labels the connected components (breadth-first search, in order of street index).
    pub fn components(&self) -> StreetComponents {
        let n = self.len();
        let mut label = vec![u32::MAX; n];
        let mut sizes = Vec::new();
        let mut dist = vec![u32::MAX; n];
        let mut queue = Vec::new();
        for start in 0..n {
            if label[start] != u32::MAX {
                continue;
            }
            let comp = sizes.len() as u32;
            self.reach(StreetIdx(start as u32), &mut dist, &mut queue);
            for &s in &queue {
                label[s.index()] = comp;
            }
            sizes.push(queue.len() as u32);
        }
        StreetComponents { label, sizes }
    }

    /// Distances (in blocks) from `source` to every street cell, `u32::MAX` where unreachable.
    pub fn distances(&self, source: StreetIdx) -> Vec<u32> {
        let mut dist = vec![u32::MAX; self.len()];
        self.bfs_into(source, &mut dist, &mut Vec::new());
        dist
    }

    /// The breadth-first search: distances from `source` into `dist` (one entry per street
    /// cell, reset here; `u32::MAX` where unreachable), reusing `queue`, which ends holding
    /// the reached cells in order of distance.
    pub fn bfs_into(&self, source: StreetIdx, dist: &mut [u32], queue: &mut Vec<StreetIdx>) {
        dist.fill(u32::MAX);
        self.reach(source, dist, queue);
    }

    /// [`StreetGraph::bfs_into`] without the reset: cells already at a distance are not
    /// entered (so components can be labelled with one array).
    fn reach(&self, source: StreetIdx, dist: &mut [u32], queue: &mut Vec<StreetIdx>) {
        queue.clear();
        dist[source.index()] = 0;
        queue.push(source);
        let mut head = 0;
        while head < queue.len() {
            let s = queue[head].index();
            head += 1;
            let d = dist[s] + 1;
            for &t in &self.adjacency[s] {
                if t != NO_STREET && dist[t.index()] == u32::MAX {
                    dist[t.index()] = d;
                    queue.push(t);
                }
            }
        }
    }
}

impl City {
    /// The street graph, built once with the city.
    #[inline]
    pub fn street_graph(&self) -> &StreetGraph {
        &self.graph
    }

    /// The street neighbours of street cell `s` (up to 4), written into `out`; returns how many.
    #[inline]
    pub fn street_neighbors(&self, s: StreetIdx, out: &mut [StreetIdx; 4]) -> usize {
        let mut n = 0;
        for &t in &self.graph.adjacency[s.index()] {
            if t != NO_STREET {
                out[n] = t;
                n += 1;
            }
        }
        n
    }

    /// Each street cell's neighbours by direction: [`StreetGraph::adjacency`].
    #[inline]
    pub fn street_adjacency(&self) -> &[[StreetIdx; 4]] {
        self.graph.adjacency()
    }

    /// The street graph's connected components: [`StreetGraph::components`].
    pub fn street_components(&self) -> StreetComponents {
        self.graph.components()
    }

    /// Street-graph distances from `source`: [`StreetGraph::distances`].
    pub fn bfs_distances(&self, source: StreetIdx) -> Vec<u32> {
        self.graph.distances(source)
    }

    /// The street graph's breadth-first search: [`StreetGraph::bfs_into`].
    pub fn bfs_into(&self, source: StreetIdx, dist: &mut [u32], queue: &mut Vec<StreetIdx>) {
        self.graph.bfs_into(source, dist, queue)
    }
}
