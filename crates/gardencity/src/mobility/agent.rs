//! Agents: readable unique ids and home/workplace assignment.

use super::rng::{agent_rng, splitmix64, Stream};
use super::words::{ADJECTIVES, NOUNS};
use crate::city::{BuildingIdx, BuildingType, City};
use rand::Rng;

/// One simulated person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Agent {
    /// Position in the population; with the master seed it determines every random draw.
    pub index: u64,
    /// Readable unique id, `adjective_noun` (with a `_N` suffix past the first 26,860 agents).
    pub id: String,
    /// Home building.
    pub home: BuildingIdx,
    /// Workplace building.
    pub workplace: BuildingIdx,
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The readable id of agent `index` under `seed`: a seeded permutation of all
/// `adjective_noun` pairs, then the same permutation again with suffixes `_2`, `_3`, ...
/// Ids of distinct indices are distinct for every seed.
pub fn agent_id(seed: u64, index: u64) -> String {
    let n = NOUNS.len() as u64;
    let m = ADJECTIVES.len() as u64 * n;
    let mut a = splitmix64(seed ^ 0xA5A5_0001) % m;
    while a == 0 || gcd(a, m) != 1 {
        a = (a + 1) % m;
    }
    let b = splitmix64(seed ^ 0xA5A5_0002) % m;
    let (block, r) = (index / m, index % m);
    let p = ((a as u128 * r as u128 + b as u128) % m as u128) as u64;
    let base = format!("{}_{}", ADJECTIVES[(p / n) as usize], NOUNS[(p % n) as usize]);
    if block == 0 {
        base
    } else {
        format!("{base}_{}", block + 1)
    }
}

/// Why an agent could not be set up.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum AgentError {
    /// The city has no building of a type every agent needs.
    #[error("the city has no {0} building; every agent needs one")]
    NoBuildingOfType(BuildingType),
    /// A given home or workplace is not a building of the right type.
    #[error("agent {agent}: {role} {id} is {problem}")]
    BadAnchor {
        /// The agent's id.
        agent: String,
        /// `home` or `workplace`.
        role: &'static str,
        /// The building id given.
        id: String,
        /// What is wrong with it.
        problem: String,
    },
}

impl Agent {
    /// Agent `index`: its id, and home and workplace drawn uniformly among the city's
    /// homes and workplaces unless given.
    pub fn new(
        city: &City,
        seed: u64,
        index: u64,
        home: Option<BuildingIdx>,
        workplace: Option<BuildingIdx>,
    ) -> Result<Agent, AgentError> {
        let mut rng = agent_rng(seed, index, Stream::Setup);
        let id = agent_id(seed, index);
        let mut pick = |kind: BuildingType, given: Option<BuildingIdx>, role: &'static str| {
            let pool = city.buildings_of_type(kind);
            match given {
                Some(b) => {
                    let bad = |problem: String| AgentError::BadAnchor {
                        agent: id.clone(),
                        role,
                        id: city.buildings().get(b.index()).map_or(format!("#{b}"), |x| x.id.clone()),
                        problem,
                    };
                    match city.buildings().get(b.index()) {
                        None => Err(bad("not a building of the city".into())),
                        Some(x) if x.kind != kind => Err(bad(format!("a {} building, not a {kind}", x.kind))),
                        Some(_) => Ok(b),
                    }
                }
                None if pool.is_empty() => Err(AgentError::NoBuildingOfType(kind)),
                None => Ok(pool[rng.random_range(0..pool.len())]),
            }
        };
        let home = pick(BuildingType::Home, home, "home")?;
        let workplace = pick(BuildingType::Workplace, workplace, "workplace")?;
        Ok(Agent { index, id, home, workplace })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_readable_unique_and_seeded() {
        let mut seen = HashSet::new();
        for i in 0..60_000 {
            let id = agent_id(42, i);
            assert!(
                id.split('_').count() >= 2
                    && id.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
            );
            assert!(seen.insert(id), "duplicate id at {i}");
        }
        assert_eq!(agent_id(42, 5), agent_id(42, 5));
        assert_ne!(agent_id(42, 5), agent_id(43, 5));
        assert!(!agent_id(1, 0).contains(|c: char| c.is_ascii_digit()));
        assert!(agent_id(1, 30_000).ends_with("_2"));
    }

    #[test]
    fn word_lists_have_no_duplicates_or_separators() {
        for list in [ADJECTIVES, NOUNS] {
            let set: HashSet<_> = list.iter().collect();
            assert_eq!(set.len(), list.len());
            assert!(list.iter().all(|w| !w.contains('_') && !w.is_empty()));
        }
    }
}
