//! SPEC section 5: the dense trajectory and its ground-truth diary.

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::city::{BuildingType, City};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity::mobility::epr::{destination_diary, EprState, StepClock};
use gardencity::mobility::movement::{building_anchor, Trajectory, TrajectoryBuilder};
use gardencity::mobility::params::MobilityParams;
use gardencity::mobility::rng::{agent_rng, Stream};
use gardencity::routing::Router;

const START: i64 = 1_704_085_200;

struct Run {
    city: City,
    trajectories: Vec<(Vec<gardencity::records::DiaryEntry>, Trajectory)>,
}

fn simulate(p: &MobilityParams, agents: u64, days: i64) -> Run {
    let city = random_city(&RandomCityParams { width: 40, height: 40, seed: 5, ..Default::default() }).unwrap();
    let router = Router::new(&city);
    let g = Gravity::hub_proxy(&city, GravityParams::default()).unwrap();
    let clk = StepClock::new(START, START + days * 86_400, p.epr_time_res as i64 * 60, chrono_tz::America::New_York);
    let allowed = p.schedule.type_sets();
    let mut st = EprState::new(city.buildings().len());
    let mut tb = TrajectoryBuilder::new(&city, &router);
    let mut trajectories = Vec::new();
    for a in 0..agents {
        let homes = city.buildings_of_type(BuildingType::Home);
        let works = city.buildings_of_type(BuildingType::Workplace);
        let (h, w) = (homes[a as usize % homes.len()], works[a as usize % works.len()]);
        st.initialize(&city, h, w, p, &mut agent_rng(3, a, Stream::Visits));
        let mut dest = Vec::new();
        destination_diary(&city, &g, p, &clk, &allowed, h, &mut st, &mut agent_rng(3, a, Stream::Epr), &mut dest);
        let mut tr = Trajectory::default();
        tb.simulate(
            &city,
            &router,
            p,
            &dest,
            building_anchor(&city, h),
            START,
            &mut agent_rng(3, a, Stream::Movement),
            &mut tr,
        )
        .unwrap();
        trajectories.push((dest, tr));
    }
    Run { city, trajectories }
}

/// Each destination entry lasts floor(duration / dt) ticks of 60 dt seconds, after one
/// starting ping; the diary merges ticks and its durations add up.
#[test]
fn tick_counts_timestamps_and_diary() {
    for dt in [1.0, 0.5, 2.0] {
        let p = MobilityParams { dt, ..Default::default() };
        let run = simulate(&p, 4, 3);
        for (dest, tr) in &run.trajectories {
            let ticks: i64 = dest.iter().map(|e| (e.duration / dt).floor() as i64).sum();
            assert_eq!(tr.pings.len() as i64, ticks + 1);
            assert_eq!(tr.pings[0].timestamp, START);
            let tick = (60.0 * dt) as i64;
            assert!(tr.pings.windows(2).all(|w| w[1].timestamp - w[0].timestamp == tick));
            let total: f64 = tr.diary.iter().map(|e| e.duration).sum();
            assert_eq!(total, ticks as f64 * dt);
            assert!(tr.diary.windows(2).all(|w| w[0].location != w[1].location));
            assert_eq!(tr.diary[0].timestamp, START + tick);
            // Re-expand the diary: each tick's location matches the ping's.
            let mut k = 1;
            for e in &tr.diary {
                let n = (e.duration / dt).round() as usize;
                for ping in &tr.pings[k..k + n] {
                    assert_eq!(ping.location, e.location);
                }
                k += n;
            }
        }
    }
}

/// A ping with a location lies inside that building; a travelling ping lies on a
/// street cell of the city or in the building being left or entered.
#[test]
fn pings_lie_in_their_building_or_on_the_trip() {
    let p = MobilityParams::default();
    let run = simulate(&p, 6, 4);
    let c = &run.city;
    let mut travel = 0;
    for (_, tr) in &run.trajectories {
        let mut last_building = tr.pings[0].location;
        for (i, ping) in tr.pings.iter().enumerate() {
            let pt = gardencity::Point::new(ping.x, ping.y);
            match ping.location {
                Some(b) => {
                    assert!(c.building_contains(b, pt), "ping {i} at {pt:?} outside {}", c.building(b).id);
                    last_building = Some(b);
                }
                None => {
                    travel += 1;
                    let next_building = tr.pings[i..].iter().find_map(|q| q.location);
                    let ok = pt.touching_cells().any(|cell| {
                        c.street_at(cell).is_some()
                            || c.building_at(cell).is_some_and(|b| Some(b) == last_building || Some(b) == next_building)
                    });
                    assert!(ok, "travel ping {i} at {pt:?} is off the street network");
                }
            }
        }
    }
    assert!(travel > 100, "the agents must travel ({travel} travel pings)");
}

/// Inside a building, a tick keeps the position with the type's still probability.
#[test]
fn still_probability_inside_buildings() {
    let p = MobilityParams::default();
    let run = simulate(&p, 20, 5);
    let mut by_type = [(0u64, 0u64); 4];
    for (_, tr) in &run.trajectories {
        for w in tr.pings.windows(2) {
            if let (Some(a), Some(b)) = (w[0].location, w[1].location) {
                if a == b {
                    let t = run.city.building(a).kind as usize;
                    by_type[t].1 += 1;
                    by_type[t].0 += (w[0].x == w[1].x && w[0].y == w[1].y) as u64;
                }
            }
        }
    }
    for t in [BuildingType::Home, BuildingType::Workplace, BuildingType::Retail] {
        let (k, n) = by_type[t as usize];
        let q = p.still_probs.get(t);
        let f = k as f64 / n as f64;
        assert!(n > 1000, "{t}: {n} ticks");
        assert!((f - q).abs() < 4.0 * (q * (1.0 - q) / n as f64).sqrt(), "{t}: still {f} vs {q} ({n} ticks)");
    }
}

/// Mean displacement per tick between travelling ticks whose neighbours travel too,
/// and how many such ticks there were.
fn travel_displacement(run: &Run) -> (f64, f64) {
    let (mut sum, mut n) = (0.0, 0.0);
    for (_, tr) in &run.trajectories {
        for w in tr.pings.windows(3) {
            if w.iter().all(|q| q.location.is_none()) {
                sum += (w[1].x - w[0].x).hypot(w[1].y - w[0].y);
                n += 1.0;
            }
        }
    }
    (sum / n, n)
}

/// Travel advances about 3.33 blocks per minute along the path.
#[test]
fn travel_speed() {
    let (mean, n) = travel_displacement(&simulate(&MobilityParams::default(), 20, 3));
    assert!(n > 200.0);
    // Corners cut the straight-line displacement a little below the arc length.
    assert!(mean > 2.8 && mean < 3.6, "mean displacement {mean} blocks per minute");
    let slow = MobilityParams { travel_speed: 1.0, ..Default::default() };
    let (mean, _) = travel_displacement(&simulate(&slow, 20, 3));
    assert!(mean < 1.2, "slow agents move {mean} blocks per minute");
}

/// A trip ends with a travelling ping (location none) exactly at the destination's door
/// point, unless the agent strayed into the destination sideways first; the next ping is
/// inside the destination.
#[test]
fn trips_end_at_the_door_point_with_no_location() {
    let p = MobilityParams::default();
    let run = simulate(&p, 10, 3);
    let c = &run.city;
    let (mut trips, mut at_door) = (0, 0);
    for (_, tr) in &run.trajectories {
        for w in tr.pings.windows(2) {
            if let (None, Some(b)) = (w[0].location, w[1].location) {
                trips += 1;
                let door = c.building(b).door_point;
                if w[0].x == door.x && w[0].y == door.y {
                    at_door += 1;
                }
                assert!(c.building_contains(b, gardencity::Point::new(w[1].x, w[1].y)));
            }
        }
    }
    assert!(trips > 50, "{trips} trips");
    assert!(at_door * 10 >= trips * 8, "only {at_door} of {trips} trips end at the door point");
}

/// A step inside a building is Gaussian with sd `speed * sqrt(dt)` per axis (speeds small
/// enough that the redraw at walls hardly truncates it).
#[test]
fn in_building_steps_follow_the_speed_table() {
    use gardencity::mobility::TypeTable;
    let speed = 0.04;
    let table = TypeTable { home: speed, workplace: speed, retail: speed, park: speed, other: speed };
    for dt in [1.0, 0.5] {
        let p = MobilityParams { dt, speeds: table, ..Default::default() };
        let run = simulate(&p, 10, 3);
        let (mut sum2, mut n) = (0.0, 0.0);
        for (_, tr) in &run.trajectories {
            for w in tr.pings.windows(2) {
                if let (Some(a), Some(b)) = (w[0].location, w[1].location) {
                    let moved = w[0].x != w[1].x || w[0].y != w[1].y;
                    if a == b && moved {
                        sum2 += (w[1].x - w[0].x).powi(2) + (w[1].y - w[0].y).powi(2);
                        n += 2.0;
                    }
                }
            }
        }
        let sd = (sum2 / n).sqrt();
        let want = speed * dt.sqrt();
        assert!(n > 2000.0, "{n} steps");
        // sd of a sample sd is sd / sqrt(2n); walls truncate a little, so allow 6 of those.
        assert!((sd - want).abs() < 6.0 * want / (2.0 * n).sqrt() + 0.01 * want, "dt {dt}: sd {sd} vs {want}");
    }
}
