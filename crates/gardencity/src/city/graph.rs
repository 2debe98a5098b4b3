//! The street graph: 4-connected street cells with unit edge weights.

use crate::city::{City, StreetIdx};
use std::collections::VecDeque;

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

impl City {
    /// The street neighbours of street cell `s` (up to 4), written into `out`; returns how many.
    #[inline]
    pub fn street_neighbors(&self, s: StreetIdx, out: &mut [StreetIdx; 4]) -> usize {
        let mut n = 0;
        for c in self.streets()[s as usize].neighbors4() {
            if let Some(t) = self.street_at(c) {
                out[n] = t;
                n += 1;
            }
        }
        n
    }

    /// Labels the connected components of the street graph (breadth-first search).
    pub fn street_components(&self) -> StreetComponents {
        let n = self.streets().len();
        let mut label = vec![u32::MAX; n];
        let mut sizes = Vec::new();
        let mut queue = VecDeque::new();
        let mut nb = [0; 4];
        for start in 0..n {
            if label[start] != u32::MAX {
                continue;
            }
            let comp = sizes.len() as u32;
            label[start] = comp;
            let mut size = 0u32;
            queue.push_back(start as StreetIdx);
            while let Some(s) = queue.pop_front() {
                size += 1;
                let k = self.street_neighbors(s, &mut nb);
                for &t in &nb[..k] {
                    if label[t as usize] == u32::MAX {
                        label[t as usize] = comp;
                        queue.push_back(t);
                    }
                }
            }
            sizes.push(size);
        }
        StreetComponents { label, sizes }
    }

    /// Street-graph distances (in blocks) from `source` to every street cell,
    /// `u32::MAX` where unreachable. A plain BFS: the reference for tests and small cities.
    pub fn bfs_distances(&self, source: StreetIdx) -> Vec<u32> {
        let mut dist = vec![u32::MAX; self.streets().len()];
        let mut queue = VecDeque::new();
        dist[source as usize] = 0;
        queue.push_back(source);
        let mut nb = [0; 4];
        while let Some(s) = queue.pop_front() {
            let d = dist[s as usize] + 1;
            let k = self.street_neighbors(s, &mut nb);
            for &t in &nb[..k] {
                if dist[t as usize] == u32::MAX {
                    dist[t as usize] = d;
                    queue.push_back(t);
                }
            }
        }
        dist
    }
}
