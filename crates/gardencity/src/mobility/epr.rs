//! The Exploration and Preferential Return destination diary (MODEL.md section 4).

use super::params::MobilityParams;
use super::rng::SimRng;
use crate::city::{BuildingIdx, BuildingType, City, TypeSet};
use crate::records::DiaryEntry;
use crate::roulette::roulette;
use rand::Rng;

/// Chooses a never-visited building to explore, e.g. by gravity from the current one.
///
/// Implemented by [`crate::gravity::Gravity`]; other exploration models can plug in here.
pub trait Explorer: Sync {
    /// A building whose type is in `allowed` and that is not in `visited` (a bit set
    /// over building indices), drawn from `from`; `None` when there is no candidate
    /// of positive weight.
    fn explore(&self, from: BuildingIdx, allowed: TypeSet, visited: &[u64], rng: &mut SimRng) -> Option<BuildingIdx>;
}

/// Local hour of day for each EPR step of a run (time zones are resolved once per run,
/// not per step).
#[derive(Debug, Clone, PartialEq)]
pub struct StepClock {
    /// Unix seconds of step 0.
    pub start: i64,
    /// Seconds per step.
    pub step_seconds: i64,
    /// Local hour (0-23) of each step.
    pub hours: Vec<u8>,
}

impl StepClock {
    /// The clock of steps `start, start + step, ...` strictly before `end`, with local hours in `tz`.
    pub fn new(start: i64, end: i64, step_seconds: i64, tz: chrono_tz::Tz) -> StepClock {
        use chrono::{TimeZone, Timelike};
        let n = if end > start { ((end - start) + step_seconds - 1) / step_seconds } else { 0 };
        let hours = (0..n)
            .map(|k| {
                let t = start + k * step_seconds;
                tz.timestamp_opt(t, 0).single().map_or(0, |d| d.hour() as u8)
            })
            .collect();
        StepClock { start, step_seconds, hours }
    }
    /// Number of steps.
    pub fn len(&self) -> usize {
        self.hours.len()
    }
    /// True when the run has no step.
    pub fn is_empty(&self) -> bool {
        self.hours.is_empty()
    }
}

/// Visit counts of one agent, reusable across agents without reallocating.
#[derive(Debug, Clone, Default)]
pub struct EprState {
    counts: Vec<u32>,
    visited_bits: Vec<u64>,
    visited: Vec<BuildingIdx>,
    /// The type of every building of the city.
    kinds: Vec<BuildingType>,
    /// Per building type (by index): visited buildings, and their visits in all (so that
    /// a step's `S` and return total take no pass over the visited list, which grows
    /// all run long).
    visited_of_type: [u32; BuildingType::COUNT],
    visits_of_type: [u64; BuildingType::COUNT],
}

impl EprState {
    /// Empty state for the buildings of `city`.
    pub fn new(city: &City) -> EprState {
        let n = city.buildings().len();
        EprState {
            counts: vec![0; n],
            visited_bits: vec![0; n.div_ceil(64)],
            visited: Vec::new(),
            kinds: city.buildings().iter().map(|b| b.kind).collect(),
            visited_of_type: [0; BuildingType::COUNT],
            visits_of_type: [0; BuildingType::COUNT],
        }
    }
    /// Forgets all visits (cost proportional to the number of visited buildings).
    pub fn reset(&mut self) {
        for &b in &self.visited {
            self.counts[b.index()] = 0;
            self.visited_bits[b.index() / 64] = 0;
        }
        self.visited.clear();
        self.visited_of_type = [0; BuildingType::COUNT];
        self.visits_of_type = [0; BuildingType::COUNT];
    }
    /// Adds `n` visits to building `b` (none for `n = 0`: a building with no visits
    /// is not visited, whatever the initial counts say).
    #[inline]
    pub fn add(&mut self, b: BuildingIdx, n: u32) {
        if n == 0 {
            return;
        }
        let kind = self.kinds[b.index()] as usize;
        if self.counts[b.index()] == 0 {
            self.visited.push(b);
            self.visited_bits[b.index() / 64] |= 1 << (b.0 % 64);
            self.visited_of_type[kind] += 1;
        }
        self.counts[b.index()] += n;
        self.visits_of_type[kind] += u64::from(n);
    }
    /// Visited buildings of the types in `allowed` (`S` of the exploration probability).
    #[inline]
    pub fn visited_of(&self, allowed: TypeSet) -> usize {
        allowed.iter().map(|t| self.visited_of_type[t as usize] as usize).sum()
    }
    /// Visits in all to buildings of the types in `allowed`.
    #[inline]
    pub fn visits_of(&self, allowed: TypeSet) -> u64 {
        allowed.iter().map(|t| self.visits_of_type[t as usize]).sum()
    }
    /// The type of building `b` (kept here, a byte per building, for the scans of the
    /// visited set).
    #[inline]
    pub fn kind(&self, b: BuildingIdx) -> BuildingType {
        self.kinds[b.index()]
    }
    /// The visit count of `b`.
    #[inline]
    pub fn count(&self, b: BuildingIdx) -> u32 {
        self.counts[b.index()]
    }
    /// Buildings with a positive count, in order of first visit.
    pub fn visited(&self) -> &[BuildingIdx] {
        &self.visited
    }
    /// The visited set as bits over building indices.
    pub fn visited_bits(&self) -> &[u64] {
        &self.visited_bits
    }

    /// The visited buildings with their counts, in order of first visit: what
    /// [`EprState::restore`] takes back (an agent's state between two blocks of time,
    /// without the city-sized arrays).
    pub fn visits(&self) -> impl Iterator<Item = (BuildingIdx, u32)> + '_ {
        self.visited.iter().map(|&b| (b, self.counts[b.index()]))
    }

    /// Makes this the state whose [`EprState::visits`] are `visits`.
    pub fn restore(&mut self, visits: &[(BuildingIdx, u32)]) {
        self.reset();
        for &(b, n) in visits {
            self.add(b, n);
        }
    }

    /// The reference's initial counts: home and workplace `initial_anchor_visits` each;
    /// then, excluding those two, distinct random retail, workplace, home and park
    /// buildings (`initial_extra_buildings`) get `initial_extra_visits` each.
    pub fn initialize(
        &mut self,
        city: &City,
        home: BuildingIdx,
        workplace: BuildingIdx,
        p: &MobilityParams,
        rng: &mut SimRng,
    ) {
        self.reset();
        self.add(home, p.initial_anchor_visits);
        self.add(workplace, p.initial_anchor_visits);
        let kinds = [BuildingType::Retail, BuildingType::Workplace, BuildingType::Home, BuildingType::Park];
        for (kind, &k) in kinds.iter().zip(&p.initial_extra_buildings) {
            let pool = city.buildings_of_type(*kind);
            // Counting the candidates costs a pass over the pool: only needed when the
            // pool is too small to be sure rejection sampling finds `k` of them.
            let excluded_at_most = 2 + self.visited.len();
            let available = if pool.len() >= k as usize + excluded_at_most {
                k as usize
            } else {
                pool.iter().filter(|&&b| b != home && b != workplace && self.count(b) == 0).count()
            };
            let mut chosen = 0;
            let mut picked: Vec<BuildingIdx> = Vec::with_capacity(k as usize);
            while chosen < (k as usize).min(available) {
                let b = pool[rng.random_range(0..pool.len())];
                if b == home || b == workplace || self.count(b) != 0 || picked.contains(&b) {
                    continue;
                }
                picked.push(b);
                chosen += 1;
            }
            for b in picked {
                self.add(b, p.initial_extra_visits);
            }
        }
    }
}

/// Appends `(timestamp, minutes, location)` to a diary, merging with the previous
/// entry when the location is the same.
#[inline]
pub fn push_merged(diary: &mut Vec<DiaryEntry>, timestamp: i64, minutes: f64, location: Option<BuildingIdx>) {
    if let Some(last) = diary.last_mut() {
        if last.location == location {
            last.duration += minutes;
            return;
        }
    }
    diary.push(DiaryEntry { timestamp, duration: minutes, location });
}

/// What one EPR step decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StepKind {
    /// Stayed (the current type is allowed and the stay draw succeeded).
    Stay,
    /// Explored a never-visited building.
    Explore,
    /// Returned to a visited building, proportionally to visit counts.
    Return,
    /// No allowed building was visited and exploration found none: uniform among all.
    Uniform,
}

/// One EPR step from `curr` in an hour whose allowed types are `allowed`; updates the
/// visit counts and returns the new location, what was decided, and `S` (the number of
/// allowed visited buildings, at least 1; 0 for a stay, where it is not computed).
#[inline]
pub fn epr_step(
    city: &City,
    explorer: &dyn Explorer,
    p: &MobilityParams,
    allowed: TypeSet,
    curr: BuildingIdx,
    state: &mut EprState,
    rng: &mut SimRng,
) -> (BuildingIdx, StepKind, usize) {
    let curr_type = state.kind(curr);
    if allowed.contains(curr_type) && rng.random::<f64>() < p.stay_probs.get(curr_type) {
        return (curr, StepKind::Stay, 0);
    }
    let s = state.visited_of(allowed).max(1);
    let p_explore = p.rho * (s as f64).powf(-p.gamma);
    let explored =
        if rng.random::<f64>() < p_explore { explorer.explore(curr, allowed, state.visited_bits(), rng) } else { None };
    let (next, kind) = match explored {
        Some(b) => (b, StepKind::Explore),
        None => match preferential_return(state, allowed, rng) {
            Some(b) => (b, StepKind::Return),
            None => (BuildingIdx(rng.random_range(0..city.buildings().len()) as u32), StepKind::Uniform),
        },
    };
    state.add(next, 1);
    (next, kind, s)
}

/// One agent's destination diary drawn entry by entry, as movement follows it (see
/// [`destination_diary`], whose entries it gives, from the same draws): an entry is
/// handed on once the next step leaves its building. Between blocks of time the walk
/// keeps its visit counts as a short list ([`EprState::visits`]); during a block they
/// live in a thread's [`EprState`].
#[derive(Debug, Clone)]
pub struct EprWalk {
    rng: SimRng,
    curr: BuildingIdx,
    /// The next step of the clock.
    step: usize,
    /// The entry growing while the agent stays.
    pending: Option<DiaryEntry>,
    /// The visit counts, while the walk is put away.
    visits: Vec<(BuildingIdx, u32)>,
}

impl EprWalk {
    /// A walk from `start`, drawing from `rng` (the agent's EPR stream), whose visit
    /// counts are those of `state` now.
    pub fn new(start: BuildingIdx, rng: SimRng, state: &EprState) -> EprWalk {
        EprWalk { rng, curr: start, step: 0, pending: None, visits: state.visits().collect() }
    }

    /// Puts the walk's visit counts into `state` (a thread's), for a block.
    pub fn resume(&self, state: &mut EprState) {
        state.restore(&self.visits);
    }

    /// Takes the visit counts back from `state` after a block.
    pub fn suspend(&mut self, state: &EprState) {
        self.visits.clear();
        self.visits.extend(state.visits());
    }

    /// The start of the entry still growing, if any: no later entry starts before it.
    pub fn pending_start(&self) -> Option<i64> {
        self.pending.map(|e| e.timestamp)
    }

    /// The next entry of the diary (`None` once the clock is done), stepping the walk
    /// with `state` holding its visit counts ([`EprWalk::resume`]).
    #[allow(clippy::too_many_arguments)]
    pub fn next_entry(
        &mut self,
        city: &City,
        explorer: &dyn Explorer,
        p: &MobilityParams,
        clock: &StepClock,
        allowed_by_hour: &[TypeSet; 24],
        state: &mut EprState,
    ) -> Option<DiaryEntry> {
        let minutes = p.epr_time_res as f64;
        while let Some(&hour) = clock.hours.get(self.step) {
            let timestamp = clock.start + self.step as i64 * clock.step_seconds;
            self.step += 1;
            self.curr = epr_step(city, explorer, p, allowed_by_hour[hour as usize], self.curr, state, &mut self.rng).0;
            match &mut self.pending {
                Some(e) if e.location == Some(self.curr) => e.duration += minutes,
                _ => {
                    let entry = DiaryEntry { timestamp, duration: minutes, location: Some(self.curr) };
                    if let Some(done) = self.pending.replace(entry) {
                        return Some(done);
                    }
                }
            }
        }
        self.pending.take()
    }
}

/// Generates the condensed destination diary for steps of `clock`, starting in `start`.
///
/// Each step ([`epr_step`]): stay with the current type's stay probability when that
/// type is allowed this hour; otherwise explore with probability `rho * S^-gamma` (S =
/// number of allowed visited buildings, at least 1) a never-visited allowed building
/// drawn by `explorer`, or return to an allowed visited building with probability
/// proportional to its count (uniformly among all buildings when none is allowed).
/// Consecutive equal entries merge.
#[allow(clippy::too_many_arguments)]
pub fn destination_diary(
    city: &City,
    explorer: &dyn Explorer,
    p: &MobilityParams,
    clock: &StepClock,
    allowed_by_hour: &[TypeSet; 24],
    start: BuildingIdx,
    state: &mut EprState,
    rng: &mut SimRng,
    out: &mut Vec<DiaryEntry>,
) {
    out.clear();
    let mut walk = EprWalk { rng: rng.clone(), curr: start, step: 0, pending: None, visits: Vec::new() };
    while let Some(entry) = walk.next_entry(city, explorer, p, clock, allowed_by_hour, state) {
        out.push(entry);
    }
    *rng = walk.rng;
}

/// An allowed visited building with probability proportional to its visit count
/// (`None` when no allowed building was visited).
pub fn preferential_return(state: &EprState, allowed: TypeSet, rng: &mut SimRng) -> Option<BuildingIdx> {
    let total = state.visits_of(allowed);
    if total == 0 {
        return None;
    }
    let u = rng.random_range(0..total);
    let allowed_count = |b: &BuildingIdx| if allowed.contains(state.kind(*b)) { state.count(*b) as u64 } else { 0 };
    roulette(u, state.visited().iter().copied(), allowed_count).map(|p| p.item)
}

impl Explorer for crate::gravity::Gravity {
    /// Gravity from `from` to never-visited buildings of the allowed types.
    #[inline]
    fn explore(&self, from: BuildingIdx, allowed: TypeSet, visited: &[u64], rng: &mut SimRng) -> Option<BuildingIdx> {
        self.sample(from, allowed, &|b: BuildingIdx| visited[b.index() / 64] >> (b.0 % 64) & 1 == 1, rng)
    }
}
