//! MODEL.md section 5: the dense trajectory and its ground-truth diary.

use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::city::{BuildingType, City};
use gardencity::gravity::{Gravity, GravityParams};
use gardencity::mobility::epr::{destination_diary, EprState, StepClock};
use gardencity::mobility::movement::{building_anchor, TrajectoryBuilder};
use gardencity::mobility::params::MobilityParams;
use gardencity::mobility::rng::{agent_rng, Stream};
use gardencity::routing::Router;

const START: i64 = 1_704_085_200;

/// One agent's dense pings and ground-truth diary.
#[derive(Default)]
struct Trajectory {
    pings: Vec<gardencity::records::Ping>,
    diary: Vec<gardencity::records::DiaryEntry>,
}

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
    let mut st = EprState::new(&city);
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
            START + days * 86_400,
            &mut agent_rng(3, a, Stream::Movement),
            &mut tr.diary,
            &mut tr.pings,
            &std::sync::atomic::AtomicBool::new(false),
        )
        .unwrap();
        trajectories.push((dest, tr));
    }
    Run { city, trajectories }
}

/// Each destination entry lasts floor(duration / dt) ticks of 60 dt seconds; the window
/// is half-open: one ping per tick from the start (the start ping included), none at or
/// after the end, and every ping inside exactly one diary entry with the same location.
#[test]
fn tick_counts_timestamps_and_the_half_open_window() {
    // 0.7 minutes (42 s) does not divide the window: the last tick's entry is cut at the end.
    for dt in [1.0, 0.5, 2.0, 0.7] {
        let p = MobilityParams { dt, ..Default::default() };
        let days = 3;
        let end = START + days * 86_400;
        let run = simulate(&p, 4, days);
        let tick = (60.0 * dt).round() as i64;
        for (dest, tr) in &run.trajectories {
            let ticks: i64 = dest.iter().map(|e| (e.duration / dt).floor() as i64).sum();
            // The start ping plus one per tick, less those at or after the end.
            let in_window = (end - START + tick - 1) / tick;
            assert_eq!(tr.pings.len() as i64, (ticks + 1).min(in_window), "dt {dt}");
            assert_eq!(tr.pings[0].timestamp, START);
            assert!(tr.pings.iter().all(|q| q.timestamp < end));
            assert!(tr.pings.windows(2).all(|w| w[1].timestamp - w[0].timestamp == tick));
            let total: f64 = tr.diary.iter().map(|e| e.duration).sum();
            let covered = (tr.pings.len() as f64 * dt).min((end - START) as f64 / 60.0);
            assert!((total - covered).abs() < 1e-6, "dt {dt}: diary {total} min, pings cover {covered}");
            assert!(tr.diary.windows(2).all(|w| w[0].location != w[1].location));
            assert_eq!(tr.diary[0].timestamp, START);
            let last = tr.diary.last().unwrap();
            assert!(
                last.timestamp as f64 + last.duration * 60.0 <= end as f64 + 1e-6,
                "dt {dt}: the diary runs past the end"
            );
            // Re-expand the diary: every ping, the start ping included, in exactly one
            // entry with its location (the last entry may hold a cut tick).
            let mut k = 0;
            for e in &tr.diary {
                let n = (e.duration / dt - 1e-9).ceil() as usize;
                assert_eq!(tr.pings[k].timestamp, e.timestamp);
                for ping in &tr.pings[k..k + n] {
                    assert_eq!(ping.location, e.location);
                }
                k += n;
            }
            assert_eq!(k, tr.pings.len());
        }
    }
}

/// Path coordinates as the reference computes them every tick (shapely's `project` and
/// `interpolate`, the direction of travel 0.001 blocks back).
#[test]
fn path_coordinates_follow_shapely() {
    use gardencity::mobility::movement::Polyline;
    use gardencity::Point;
    // East 2, north 2, east 2.
    let line = Polyline::new(&[Point::new(0.0, 0.0), Point::new(2.0, 0.0), Point::new(2.0, 2.0), Point::new(4.0, 2.0)]);
    assert_eq!(line.length(), 6.0);
    // Collinear vertices merge: the same line with its corners only.
    let straight =
        Polyline::new(&[Point::new(0.0, 0.0), Point::new(1.0, 0.0), Point::new(2.0, 0.0), Point::new(2.0, 1.0)]);
    assert_eq!(straight.vertices(), &[Point::new(0.0, 0.0), Point::new(2.0, 0.0), Point::new(2.0, 1.0)]);
    // A reversal is a corner, not a continuation.
    let back = Polyline::new(&[Point::new(0.0, 0.0), Point::new(2.0, 0.0), Point::new(1.0, 0.0)]);
    assert_eq!(back.vertices().len(), 3);
    assert_eq!(back.length(), 3.0);
    // Nearest points, measured along the line.
    assert_eq!(line.project(Point::new(1.0, -0.4)), 1.0);
    assert_eq!(line.project(Point::new(2.3, 1.0)), 3.0);
    // The outer wedge of a corner is equidistant from both segments: the first wins,
    // so the point projects onto the corner itself.
    assert_eq!(line.project(Point::new(2.4, -0.3)), 2.0);
    // Inside a corner, the nearer segment wins (here the second, after the turn).
    assert_eq!(line.project(Point::new(1.9, 0.5)), 2.5);
    // Beyond the ends, the ends.
    assert_eq!(line.project(Point::new(-1.0, 0.0)), 0.0);
    assert_eq!(line.project(Point::new(9.0, 2.0)), 6.0);
    // Offsets: positive to the left of travel, measured with the incoming direction at a
    // vertex (east at the first corner: a point north-east of it has offset +y).
    assert!((line.offset(Point::new(1.0, 0.3), 1.0) - 0.3).abs() < 1e-12);
    assert!((line.offset(Point::new(2.3, 1.0), 3.0) + 0.3).abs() < 1e-12);
    assert!((line.offset(Point::new(2.4, -0.3), 2.0) + 0.3).abs() < 1e-12);
    // Cartesian points inverse to (project, offset) away from corners.
    let q = line.cartesian(4.5, 0.2);
    assert!((q.x - 2.5).abs() < 1e-12 && (q.y - 2.2).abs() < 1e-12, "{q:?}");
    assert!((line.project(q) - 4.5).abs() < 1e-12 && (line.offset(q, 4.5) - 0.2).abs() < 1e-12);
    // interpolate: negative distances count from the end, and clamp to the line.
    assert_eq!(line.point_at(-1.0), Point::new(3.0, 2.0));
    assert_eq!(line.point_at(7.0), Point::new(4.0, 2.0));
    assert_eq!(line.point_at(2.0), Point::new(2.0, 0.0));
}

/// A trip from inside a building starts at the agent's point, then the building's door
/// point; a trip redirected on the way (the agent on a street) starts at the centre of
/// the street cell under the agent, which is not a vertex itself.
#[test]
fn trip_polylines_leaving_a_building_and_redirected() {
    let city = random_city(&RandomCityParams { width: 40, height: 40, seed: 5, ..Default::default() }).unwrap();
    let router = Router::new(&city);
    let mut tb = TrajectoryBuilder::new(&city, &router);
    let homes = city.buildings_of_type(BuildingType::Home);
    let (a, b) = (homes[0], homes[homes.len() - 1]);
    let inside = building_anchor(&city, a);
    let line = tb.plan_trip(&city, &router, inside, b).unwrap().clone();
    assert_eq!(line.vertices()[0], inside);
    // Through the door point (a vertex, unless straight ahead of the agent's point).
    let door = city.building(a).door_point;
    let on_line = |q: gardencity::Point| {
        let s = line.project(q);
        line.point_at(s).dist(q) < 1e-12
    };
    assert!(on_line(door));
    assert!(line.project(door) <= inside.dist(door) + 1e-12);
    // And every street-cell centre of the path.
    for &c in tb.current_path() {
        assert!(on_line(city.streets()[c.index()].center()));
    }
    assert_eq!(*line.vertices().last().unwrap(), city.building(b).door_point);
    assert_eq!(tb.current_path()[0], city.door_street(a));
    // On a street cell, off its centre.
    let cell = city.streets()[city.door_street(a).index()];
    let on_street = gardencity::Point::new(cell.x as f64 + 0.3, cell.y as f64 + 0.6);
    let line = tb.plan_trip(&city, &router, on_street, b).unwrap().clone();
    assert_eq!(line.vertices()[0], cell.center());
    assert!(!line.vertices().contains(&on_street));
    assert!(line.point_at(line.project(on_street)).dist(on_street) > 0.1, "the agent's point is off the line");
    assert_eq!(tb.current_path()[0], city.door_street(a));
    assert_eq!(*line.vertices().last().unwrap(), city.building(b).door_point);
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

/// Still ticks are independent from tick to tick (movement draws how many still ticks
/// come before the next move, a geometric count): a tick after a move is still with the
/// same probability as a tick after a still one, and still runs have geometric lengths
/// (mean `q / (1 - q)` between moves).
#[test]
fn still_ticks_are_independent() {
    let p = MobilityParams::default();
    let run = simulate(&p, 20, 5);
    let q = p.still_probs.get(BuildingType::Home);
    // (still after a move, ticks after a move), (still after still, ticks after still).
    let (mut after_move, mut after_still) = ((0u64, 0u64), (0u64, 0u64));
    let (mut runs, mut still_in_runs) = (0u64, 0u64);
    for (_, tr) in &run.trajectories {
        let mut current: Option<u64> = None;
        for w in tr.pings.windows(3) {
            let same = w.iter().all(|x| x.location.is_some() && x.location == w[0].location);
            let home = w[0].location.is_some_and(|b| run.city.building(b).kind == BuildingType::Home);
            if !(same && home) {
                current = None;
                continue;
            }
            let still = |a: &gardencity::records::Ping, b: &gardencity::records::Ping| a.x == b.x && a.y == b.y;
            let slot = if still(&w[0], &w[1]) { &mut after_still } else { &mut after_move };
            slot.1 += 1;
            slot.0 += still(&w[1], &w[2]) as u64;
            // Still runs between two moves.
            match (still(&w[0], &w[1]), still(&w[1], &w[2])) {
                (false, true) => current = Some(1),
                (true, true) => current = current.map(|c| c + 1),
                (true, false) => {
                    if let Some(c) = current.take() {
                        runs += 1;
                        still_in_runs += c;
                    }
                }
                (false, false) => {
                    runs += 1;
                    current = None;
                }
            }
        }
    }
    for (name, (k, n)) in [("after a move", after_move), ("after a still tick", after_still)] {
        let f = k as f64 / n as f64;
        assert!(n > 1000, "{name}: {n} ticks");
        assert!((f - q).abs() < 4.0 * (q * (1.0 - q) / n as f64).sqrt(), "{name}: still {f} vs {q} ({n} ticks)");
    }
    // A geometric count of mean q / (1 - q), variance q / (1 - q)^2.
    let mean = still_in_runs as f64 / runs as f64;
    let sd = (q / (1.0 - q).powi(2) / runs as f64).sqrt();
    assert!((mean - q / (1.0 - q)).abs() < 4.0 * sd, "still run mean {mean} vs {} ({runs} runs)", q / (1.0 - q));
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
