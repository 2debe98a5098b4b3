//! MODEL.md section 4: the EPR destination diary.

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::city::{BuildingType, City, TypeSet};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity::mobility::epr::{destination_diary, epr_step, preferential_return, EprState, StepClock, StepKind};
use gardencity::mobility::params::{MobilityParams, Schedule};
use gardencity::mobility::rng::{agent_rng, SimRng, Stream};
use rand::SeedableRng;

fn city() -> City {
    random_city(&RandomCityParams { width: 60, height: 60, seed: 11, ..Default::default() }).unwrap()
}

fn gravity(c: &City) -> Gravity {
    Gravity::hub_proxy(c, GravityParams::default()).unwrap()
}

const START: i64 = 1_704_085_200; // 2024-01-01 00:00 America/New_York
const WEEK: i64 = 7 * 24 * 3600;

fn clock(weeks: i64) -> StepClock {
    StepClock::new(START, START + weeks * WEEK, 900, chrono_tz::America::New_York)
}

#[test]
fn step_clock_uses_local_hours() {
    let c = clock(1);
    assert_eq!(c.len(), 672);
    assert_eq!(c.hours[0], 0);
    assert_eq!(c.hours[4], 1);
    assert_eq!(c.hours[4 * 13 + 2], 13);
    // Across the March DST change the local hour jumps from 1 to 3.
    let dst = StepClock::new(1_710_050_400, 1_710_050_400 + 4 * 3600, 900, chrono_tz::America::New_York);
    assert_eq!(dst.hours[..8], [1, 1, 1, 1, 3, 3, 3, 3]);
}

#[test]
fn initial_visit_counts() {
    let c = city();
    let p = MobilityParams::default();
    for seed in 0..20 {
        let homes = c.buildings_of_type(BuildingType::Home);
        let works = c.buildings_of_type(BuildingType::Workplace);
        let (h, w) = (homes[seed % homes.len()], works[seed % works.len()]);
        let mut st = EprState::new(&c);
        st.initialize(&c, h, w, &p, &mut SimRng::seed_from_u64(seed as u64));
        assert_eq!(st.count(h), 20);
        assert_eq!(st.count(w), 20);
        let extra: Vec<_> = st.visited().iter().copied().filter(|&b| b != h && b != w).collect();
        assert!(extra.iter().all(|&b| st.count(b) == 2));
        let of = |t| extra.iter().filter(|&&b| c.building(b).kind == t).count();
        assert_eq!(of(BuildingType::Retail), 4);
        assert_eq!(of(BuildingType::Workplace), 2);
        assert_eq!(of(BuildingType::Home), 2);
        assert_eq!(of(BuildingType::Park), 2);
        assert_eq!(st.visited().len(), 12);
    }
}

/// Initial counts of zero visit nothing, and an agent's visits restored between two
/// blocks of time are the same state (the counts, the visited set, the per-type sums).
#[test]
fn zero_initial_counts_visit_nothing_and_visits_restore() {
    let c = city();
    let p = MobilityParams { initial_anchor_visits: 0, initial_extra_visits: 0, ..Default::default() };
    let homes = c.buildings_of_type(BuildingType::Home);
    let works = c.buildings_of_type(BuildingType::Workplace);
    let (h, w) = (homes[0], works[0]);
    let mut st = EprState::new(&c);
    st.initialize(&c, h, w, &p, &mut SimRng::seed_from_u64(1));
    assert!(st.visited().is_empty());
    assert_eq!(st.visits_of(TypeSet::of(&BuildingType::ALL)), 0);
    st.add(h, 3);
    st.add(w, 0);
    st.add(h, 2);
    assert_eq!(st.visits().collect::<Vec<_>>(), vec![(h, 5)]);
    let saved: Vec<_> = st.visits().collect();
    let mut back = EprState::new(&c);
    back.restore(&saved);
    assert_eq!(back.visits().collect::<Vec<_>>(), saved);
    assert_eq!(back.visited_of(TypeSet::of(&BuildingType::ALL)), 1);
    assert_eq!(back.visits_of(TypeSet::of(&BuildingType::ALL)), 5);
    // The sums are kept by type: the home's visits are the homes', none are workplaces'.
    assert_eq!(back.visits_of(TypeSet::of(&[BuildingType::Home])), 5);
    assert_eq!(back.visited_of(TypeSet::of(&[BuildingType::Home])), 1);
    assert_eq!(back.visits_of(TypeSet::of(&[BuildingType::Workplace])), 0);
    assert_eq!(back.visited_of(TypeSet::of(&[BuildingType::Workplace])), 0);
}

/// Every step's location is of a type allowed in that local hour (the test city has
/// every type, so the uniform fallback never fires), and the condensed diary merges
/// consecutive equal entries with durations summing to the whole window.
#[test]
fn diary_respects_allowed_hours_and_is_condensed() {
    let c = city();
    let g = gravity(&c);
    let p = MobilityParams::default();
    let clk = clock(2);
    let allowed = p.schedule.type_sets();
    let mut st = EprState::new(&c);
    let mut out = Vec::new();
    for agent in 0..10u64 {
        let home = c.buildings_of_type(BuildingType::Home)[agent as usize];
        let work = c.buildings_of_type(BuildingType::Workplace)[agent as usize];
        st.initialize(&c, home, work, &p, &mut agent_rng(1, agent, Stream::Visits));
        destination_diary(&c, &g, &p, &clk, &allowed, home, &mut st, &mut agent_rng(1, agent, Stream::Epr), &mut out);
        assert!(out.windows(2).all(|w| w[0].location != w[1].location), "not condensed");
        let total: f64 = out.iter().map(|e| e.duration).sum();
        assert_eq!(total, clk.len() as f64 * 15.0);
        assert_eq!(out[0].timestamp, START);
        for w in out.windows(2) {
            assert_eq!(w[1].timestamp, w[0].timestamp + (w[0].duration * 60.0) as i64);
        }
        for e in &out {
            let steps = (e.duration / 15.0) as i64;
            for k in 0..steps {
                let idx = ((e.timestamp - START) / 900 + k) as usize;
                let t = c.building(e.location.unwrap()).kind;
                assert!(allowed[clk.hours[idx] as usize].contains(t), "{t} not allowed at hour {}", clk.hours[idx]);
            }
        }
    }
}

/// Stay decisions happen with the type's stay probability when the type is allowed,
/// never otherwise; explorations happen with probability rho * S^-gamma.
#[test]
fn stay_and_exploration_probabilities() {
    let c = city();
    let g = gravity(&c);
    let p = MobilityParams::default();
    let all = TypeSet::of(&BuildingType::ALL[..4]);
    let only_home = TypeSet::of(&[BuildingType::Home]);
    let mut rng = SimRng::seed_from_u64(77);
    let mut st = EprState::new(&c);
    let (h, w) = (c.buildings_of_type(BuildingType::Home)[0], c.buildings_of_type(BuildingType::Workplace)[0]);
    // Per type: (stays, opportunities).
    let mut stays = [(0u64, 0u64); 4];
    let (mut explores, mut expected, mut var) = (0.0, 0.0, 0.0);
    for round in 0..2000 {
        st.initialize(&c, h, w, &p, &mut rng);
        let mut curr = h;
        for k in 0..200 {
            // Alternate hours where everything is allowed and where only homes are.
            let allowed = if (k / 7) % 3 == 0 { only_home } else { all };
            let t = c.building(curr).kind;
            let (next, kind, s) = epr_step(&c, &g, &p, allowed, curr, &mut st, &mut rng);
            if allowed.contains(t) {
                stays[t as usize].1 += 1;
                stays[t as usize].0 += (kind == StepKind::Stay) as u64;
            } else {
                assert_ne!(kind, StepKind::Stay, "stayed in a disallowed type");
            }
            if kind != StepKind::Stay {
                let pe = p.rho * (s as f64).powf(-p.gamma);
                expected += pe;
                var += pe * (1.0 - pe);
                explores += (kind == StepKind::Explore) as u64 as f64;
                assert!(allowed.contains(c.building(next).kind));
            }
            curr = next;
        }
        let _ = round;
    }
    for t in [BuildingType::Home, BuildingType::Workplace, BuildingType::Retail, BuildingType::Park] {
        let (k, n) = stays[t as usize];
        let q = p.stay_probs.get(t);
        let f = k as f64 / n as f64;
        assert!(n > 500, "{t}: only {n} opportunities");
        assert!((f - q).abs() < 4.0 * (q * (1.0 - q) / n as f64).sqrt(), "{t}: stay {f} vs {q} over {n}");
    }
    assert!((explores - expected).abs() < 4.0 * var.sqrt(), "explorations {explores} vs expected {expected}");
}

/// Preferential return picks allowed visited buildings proportionally to their counts.
#[test]
fn preferential_return_follows_counts() {
    let c = city();
    let mut st = EprState::new(&c);
    let homes = c.buildings_of_type(BuildingType::Home);
    let retail = c.buildings_of_type(BuildingType::Retail);
    st.add(homes[0], 1);
    st.add(homes[1], 3);
    st.add(homes[2], 6);
    st.add(retail[0], 50); // not allowed below
    let allowed = TypeSet::of(&[BuildingType::Home]);
    let mut rng = SimRng::seed_from_u64(5);
    let n = 100_000;
    let mut counts = [0f64; 3];
    for _ in 0..n {
        let b = preferential_return(&st, allowed, &mut rng).unwrap();
        counts[homes.iter().position(|&h| h == b).unwrap()] += 1.0;
    }
    let expect = [0.1, 0.3, 0.6];
    let chi2: f64 = counts.iter().zip(expect).map(|(o, e)| (o - e * n as f64).powi(2) / (e * n as f64)).sum();
    assert!(chi2 < 13.8, "chi-square {chi2} with 2 df (p = 0.001)");
    assert_eq!(preferential_return(&st, TypeSet::of(&[BuildingType::Park]), &mut rng), None);
}

/// With no allowed type visited and nothing to explore, the step is uniform over all buildings.
#[test]
fn uniform_fallback_when_nothing_allowed() {
    let c = city();
    let g = gravity(&c);
    // Never explore, nothing allowed.
    let p = MobilityParams { rho: 0.0, schedule: Schedule { hours: vec![vec![]; 24] }, ..Default::default() };
    let mut st = EprState::new(&c);
    let mut rng = SimRng::seed_from_u64(8);
    let h = c.buildings_of_type(BuildingType::Home)[0];
    let n = c.buildings().len();
    let mut hits = vec![0u32; n];
    let draws = 50 * n;
    for _ in 0..draws {
        let (b, kind, _) = epr_step(&c, &g, &p, TypeSet::EMPTY, h, &mut st, &mut rng);
        assert_eq!(kind, StepKind::Uniform);
        hits[b.index()] += 1;
    }
    let chi2: f64 = hits.iter().map(|&o| (o as f64 - 50.0).powi(2) / 50.0).sum();
    let df = (n - 1) as f64;
    assert!(chi2 < df + 5.0 * (2.0 * df).sqrt(), "chi-square {chi2} with {df} df");
}
