use super::*;
use crate::city::random::{random_city, RandomCityParams};
use crate::city::{BuildingSpec, CityParts, TypeSet};
use rand::SeedableRng;
use rand_pcg::Pcg64Mcg;

fn city(w: u32, seed: u64) -> City {
    random_city(&RandomCityParams { width: w, height: w, street_spacing: 5, seed, ..Default::default() }).unwrap()
}

/// The garden city's street cells, read straight from the shared GeoPackage with SQL.
fn garden_city_streets() -> Option<Vec<Cell>> {
    let path = gardencity_testkit::shared_data("garden-city.gpkg")?;
    let conn = rusqlite::Connection::open(path).unwrap();
    let mut st = conn.prepare("SELECT coord_x, coord_y FROM streets").unwrap();
    let cells = st.query_map([], |r| Ok(Cell::new(r.get(0)?, r.get(1)?))).unwrap().map(|c| c.unwrap()).collect();
    Some(cells)
}

#[test]
fn garden_city_hubs_match_the_reference() {
    let Some(streets) = garden_city_streets() else { return };
    assert_eq!(streets.len(), 224);
    let city =
        City::new(CityParts { name: "garden".into(), width: 22, height: 22, streets, ..Default::default() }).unwrap();
    let hubs = select_hubs(&city, 16);
    let expected = [
        (0, 0),
        (0, 6),
        (0, 12),
        (0, 17),
        (6, 0),
        (6, 6),
        (6, 12),
        (6, 18),
        (11, 0),
        (11, 6),
        (11, 13),
        (11, 18),
        (17, 0),
        (18, 6),
        (17, 12),
        (17, 18),
    ];
    let got: Vec<(i32, i32)> = hubs.iter().map(|c| (c.x, c.y)).collect();
    assert_eq!(got, expected);
}

/// Direct O(n^2) definitions of MODEL.md section 3.
fn brute(city: &City, g: &Gravity) {
    let hubs = g.hubs();
    let nh = hubs.len();
    let nb = city.buildings().len();
    // Hub distances = BFS.
    for (a, &ha) in hubs.iter().enumerate() {
        let bfs = city.bfs_distances(city.street_at(ha).unwrap());
        for (b, &hb) in hubs.iter().enumerate() {
            assert_eq!(g.hub_dist()[a * nh + b], bfs[city.street_at(hb).unwrap().index()]);
        }
    }
    for (i, bi) in city.buildings().iter().enumerate() {
        let ms: Vec<u32> = hubs.iter().map(|h| bi.door.manhattan(*h)).collect();
        let min = *ms.iter().min().unwrap();
        assert_eq!(g.dist_to_hub()[i], min);
        assert_eq!(g.closest_hub()[i] as usize, ms.iter().position(|&m| m == min).unwrap());
    }
    let e = g.exponent();
    let mut nearby = Vec::new();
    for i in 0..nb {
        for j in 0..nb {
            let (di, dj) = (city.buildings()[i].door, city.buildings()[j].door);
            let m = di.manhattan(dj);
            let is_near = i != j && m <= g.dist_to_hub()[i].min(g.dist_to_hub()[j]);
            if is_near {
                nearby.push((BuildingIdx(i as u32), BuildingIdx(j as u32), m));
            }
            let d = if is_near {
                m
            } else {
                g.dist_to_hub()[i]
                    + g.hub_dist()[g.closest_hub()[i] as usize * nh + g.closest_hub()[j] as usize]
                    + g.dist_to_hub()[j]
            };
            let w = if i == j { 0.0 } else { (d.max(1) as f64).powf(-e) };
            assert_eq!(g.weight(BuildingIdx(i as u32), BuildingIdx(j as u32)), w, "weight {i} {j}");
        }
    }
    assert_eq!(g.nearby_pairs().collect::<Vec<_>>(), nearby);
}

#[test]
fn hub_proxy_matches_direct_definition() {
    for seed in 0..4 {
        let c = city(40 + 5 * seed as u32, seed);
        for (hub_size, e) in [(None, 2.0), (Some(9), 1.5), (Some(30), 2.0), (Some(1), 3.0)] {
            let g = Gravity::hub_proxy(&c, GravityParams { exponent: e, hub_size, ..Default::default() }).unwrap();
            if hub_size.is_none() {
                assert_eq!(g.hubs().len(), 4, "floor(sqrt(0/1000 + 5))^2 hubs");
            }
            brute(&c, &g);
        }
    }
}

#[test]
fn shared_door_gives_distance_one() {
    // Two homes on either side of street cell (1, 1): row y = 1 is the street.
    let c = City::new(CityParts {
        name: "pair".into(),
        width: 3,
        height: 3,
        streets: (0..3).map(|x| Cell::new(x, 1)).collect(),
        buildings: vec![
            BuildingSpec {
                id: None,
                kind: BuildingType::Home,
                blocks: vec![Cell::new(1, 0)],
                door: Cell::new(1, 1),
                door_point: None,
            },
            BuildingSpec {
                id: None,
                kind: BuildingType::Retail,
                blocks: vec![Cell::new(1, 2)],
                door: Cell::new(1, 1),
                door_point: None,
            },
            BuildingSpec {
                id: None,
                kind: BuildingType::Retail,
                blocks: vec![Cell::new(2, 2)],
                door: Cell::new(2, 1),
                door_point: None,
            },
        ],
        ..Default::default()
    })
    .unwrap();
    for g in
        [Gravity::hub_proxy(&c, GravityParams::default()).unwrap(), Gravity::exact(&c, Default::default()).unwrap()]
    {
        let w = |i, j| g.weight(BuildingIdx(i), BuildingIdx(j));
        assert_eq!(w(0, 1), 1.0);
        assert_eq!(w(1, 0), 1.0);
        assert_eq!(w(0, 0), 0.0);
        assert_eq!(w(1, 2), 1.0);
        assert_eq!(w(9, 0), 0.0);
    }
    let ex = Gravity::exact(&c, Default::default()).unwrap();
    assert_eq!(ex.exact_door_count(), 2);
}

#[test]
fn exact_matches_bfs_door_distances() {
    let c = city(45, 3);
    let g = Gravity::exact(&c, GravityParams { exponent: 1.7, ..Default::default() }).unwrap();
    assert_eq!(g.mode(), GravityMode::Exact);
    for i in c.building_indices().step_by(7) {
        let bfs = c.bfs_distances(c.door_street(i));
        for j in c.building_indices() {
            let d = bfs[c.door_street(j).index()];
            let w = if i == j { 0.0 } else { (d.max(1) as f64).powf(-1.7) };
            assert_eq!(g.weight(i, j), w);
        }
    }
}

/// Chi-square statistic of observed counts against expected probabilities, pooling
/// cells with expected count < 5; returns (statistic, degrees of freedom).
fn chi_square(counts: &[u64], probs: &[f64], n: u64) -> (f64, usize) {
    let mut stat = 0.0;
    let mut cells = 0;
    let (mut po, mut pe) = (0.0, 0.0);
    for (&c, &p) in counts.iter().zip(probs) {
        let e = p * n as f64;
        if p == 0.0 {
            assert_eq!(c, 0, "a zero-weight building was drawn");
            continue;
        }
        if e < 5.0 {
            po += c as f64;
            pe += e;
            continue;
        }
        stat += (c as f64 - e).powi(2) / e;
        cells += 1;
    }
    if pe > 0.0 {
        stat += (po - pe).powi(2) / pe;
        cells += 1;
    }
    (stat, cells - 1)
}

/// Upper critical value of chi-square at about p = 1e-4 (Wilson-Hilferty, z = 3.72).
fn critical(df: usize) -> f64 {
    let k = df as f64;
    let z = 3.72;
    k * (1.0 - 2.0 / (9.0 * k) + z * (2.0 / (9.0 * k)).sqrt()).powi(3)
}

fn check_draws(g: &Gravity, from: BuildingIdx, allowed: TypeSet, visited: &[bool], n: u64, seed: u64) {
    let nb = g.building_count();
    let probs_raw: Vec<f64> = (0..nb as u32)
        .map(BuildingIdx)
        .map(|j| if visited[j.index()] || !allowed.contains(g.base.kinds[j.index()]) { 0.0 } else { g.weight(from, j) })
        .collect();
    let total: f64 = probs_raw.iter().sum();
    let probs: Vec<f64> = probs_raw.iter().map(|w| w / total).collect();
    let mut counts = vec![0u64; nb];
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    let vis = |j: BuildingIdx| visited[j.index()];
    for _ in 0..n {
        let j = g.sample(from, allowed, &vis, &mut rng).unwrap();
        counts[j.index()] += 1;
    }
    let (stat, df) = chi_square(&counts, &probs, n);
    assert!(df >= 5, "test needs several cells, got df {df}");
    assert!(stat < critical(df), "chi2 {stat} with df {df} above {}", critical(df));
}

#[test]
fn draws_follow_weights_chi_square() {
    let c = city(40, 11);
    let g = Gravity::hub_proxy(&c, GravityParams { hub_size: Some(9), ..Default::default() }).unwrap();
    let nb = c.buildings().len();
    let all = TypeSet::of(&BuildingType::ALL);
    let retail_work = TypeSet::of(&[BuildingType::Retail, BuildingType::Workplace]);
    // Origins with nearby buildings, far from a hub, and at random.
    let with_near = c.building_indices().max_by_key(|&i| g.hub().unwrap().near(&g.base, i.index()).j.len()).unwrap();
    let none = vec![false; nb];
    let mut some = vec![false; nb];
    for j in (0..nb).step_by(3) {
        some[j] = true;
    }
    check_draws(&g, with_near, all, &none, 200_000, 1);
    check_draws(&g, with_near, retail_work, &some, 200_000, 2);
    check_draws(&g, BuildingIdx(5), all, &some, 200_000, 3);
    // Almost everything visited: forces the exact fallback scan.
    let mut most = vec![true; nb];
    for j in (0..nb).step_by(9) {
        most[j] = false;
    }
    check_draws(&g, BuildingIdx(17), all, &most, 100_000, 4);
    // Exact mode.
    let ex = Gravity::exact(&c, GravityParams::default()).unwrap();
    check_draws(&ex, with_near, retail_work, &some, 100_000, 5);
    check_draws(&ex, BuildingIdx(5), all, &none, 200_000, 6);
    check_draws(&ex, BuildingIdx(17), all, &most, 100_000, 7);
    // A larger city: many blocks, near (exact) and far (bounded) ones.
    let big = city(90, 12);
    let ex = Gravity::exact(&big, GravityParams { exponent: 1.5, ..Default::default() }).unwrap();
    assert!(matches!(&ex.model, Model::Exact(e) if e.blk_start.len() > 20), "several blocks are exercised");
    let nb = big.buildings().len();
    let mut some = vec![false; nb];
    for j in (0..nb).step_by(4) {
        some[j] = true;
    }
    check_draws(&ex, BuildingIdx(100), all, &some, 300_000, 8);
    check_draws(&ex, BuildingIdx(7), retail_work, &vec![false; nb], 300_000, 9);
}

#[test]
fn draw_none_cases() {
    let c = city(30, 2);
    let g = Gravity::hub_proxy(&c, GravityParams::default()).unwrap();
    let mut rng = Pcg64Mcg::seed_from_u64(0);
    let all = TypeSet::of(&BuildingType::ALL);
    let b0 = BuildingIdx(0);
    assert_eq!(g.sample(b0, all, &|_| true, &mut rng), None);
    assert_eq!(g.sample(b0, TypeSet::EMPTY, &|_| false, &mut rng), None);
    assert_eq!(g.sample(b0, TypeSet::of(&[BuildingType::Other]), &|_| false, &mut rng), None);
    assert_eq!(g.sample(BuildingIdx(u32::MAX), all, &|_| false, &mut rng), None);
    // Only one unvisited candidate: always it.
    for _ in 0..100 {
        assert_eq!(g.sample(b0, all, &|j| j != BuildingIdx(7), &mut rng), Some(BuildingIdx(7)));
    }
    // A building alone in its type never draws itself.
    let only_self = |j: BuildingIdx| j != b0;
    assert_eq!(g.sample(b0, all, &only_self, &mut rng), None);
}

#[test]
fn bad_parameters() {
    let c = city(30, 1);
    let n = c.streets().len();
    for hub_size in [0, n + 1] {
        assert_eq!(
            Gravity::hub_proxy(&c, GravityParams { hub_size: Some(hub_size), ..Default::default() }).unwrap_err(),
            GravityError::HubCount { requested: hub_size, street_cells: n }
        );
    }
    assert!(Gravity::hub_proxy(&c, GravityParams { hub_size: Some(n), ..Default::default() }).is_ok());
    for e in [f64::NAN, -1.0, f64::INFINITY] {
        assert!(matches!(
            Gravity::hub_proxy(&c, GravityParams { exponent: e, ..Default::default() }),
            Err(GravityError::Exponent { .. })
        ));
    }
    assert!(matches!(
        Gravity::exact(&c, GravityParams { max_exact_bytes: 100, ..Default::default() }),
        Err(GravityError::ExactTooLarge { limit: 100, .. })
    ));
    let empty = City::new(CityParts { name: "e".into(), width: 2, height: 2, ..Default::default() }).unwrap();
    assert_eq!(Gravity::hub_proxy(&empty, GravityParams::default()).unwrap_err(), GravityError::NoStreets);
    assert_eq!("exact".parse::<GravityMode>(), Ok(GravityMode::Exact));
    assert_eq!("hub_proxy".parse::<GravityMode>(), Ok(GravityMode::HubProxy));
    let e = "Exact".parse::<GravityMode>().unwrap_err();
    assert_eq!(e, GravityError::UnknownMode { given: "Exact".into() });
    assert!(e.to_string().contains("expected hub_proxy or exact"), "{e}");
}

#[test]
fn given_hubs_match_selected_hubs() {
    let c = city(35, 6);
    let g = Gravity::hub_proxy(&c, GravityParams { hub_size: Some(16), exponent: 1.5, ..Default::default() }).unwrap();
    let same = Gravity::hub_proxy_with_hubs(&c, select_hubs(&c, 16), 1.5).unwrap();
    assert_eq!(same, g);
    // Any street cells will do, in any order; ties go to the first hub in that order.
    let mut hubs = g.hubs().to_vec();
    hubs.reverse();
    let rev = Gravity::hub_proxy_with_hubs(&c, hubs.clone(), 1.5).unwrap();
    assert_eq!(rev.hubs(), &hubs[..]);
    brute(&c, &rev);
    let not_street = (0..c.width() as i32)
        .flat_map(|x| (0..c.height() as i32).map(move |y| Cell::new(x, y)))
        .find(|&p| c.street_at(p).is_none())
        .unwrap();
    assert!(matches!(
        Gravity::hub_proxy_with_hubs(&c, vec![not_street], 2.0),
        Err(GravityError::Mismatch { field: "hubs", index: Some(0), .. })
    ));
    assert!(matches!(Gravity::hub_proxy_with_hubs(&c, Vec::new(), 2.0), Err(GravityError::Mismatch { .. })));
    assert!(matches!(Gravity::hub_proxy_with_hubs(&c, hubs, -1.0), Err(GravityError::Exponent { .. })));
}

#[test]
fn parts_round_trip_and_mismatches() {
    let c = city(35, 4);
    let g = Gravity::hub_proxy(&c, GravityParams { hub_size: Some(9), ..Default::default() }).unwrap();
    let parts = g.hub_parts().unwrap();
    assert_eq!(Gravity::from_hub_parts(&c, parts.clone()).unwrap(), g);
    assert!(g.nearby_follows_rule());
    let mut no_near = parts.clone();
    no_near.nearby.clear();
    assert_eq!(Gravity::from_hub_parts_derive_nearby(&c, no_near.clone()).unwrap(), g);
    let fewer = Gravity::from_hub_parts(&c, no_near).unwrap();
    assert!(!parts.nearby.is_empty() && !fewer.nearby_follows_rule());
    // One order only is accepted too.
    let mut one = parts.clone();
    one.nearby.retain(|&(i, j, _)| i < j);
    assert_eq!(Gravity::from_hub_parts(&c, one).unwrap(), g);

    let mut p = parts.clone();
    p.closest_hub.pop();
    assert!(matches!(Gravity::from_hub_parts(&c, p), Err(GravityError::Mismatch { field: "closest_hub_idx", .. })));
    let mut p = parts.clone();
    p.dist_to_hub[3] += 1;
    assert!(matches!(
        Gravity::from_hub_parts(&c, p),
        Err(GravityError::Mismatch { field: "dist_to_hub", index: Some(3), .. })
    ));
    let mut p = parts.clone();
    p.closest_hub[0] = 99;
    assert!(matches!(
        Gravity::from_hub_parts(&c, p),
        Err(GravityError::Mismatch { field: "closest_hub_idx", index: Some(0), .. })
    ));
    let mut p = parts.clone();
    p.hub_dist[1] = 4_000_000_000;
    assert!(matches!(
        Gravity::from_hub_parts(&c, p),
        Err(GravityError::Mismatch { field: "hub_dist", index: Some(1), .. })
    ));
    let mut p = parts.clone();
    p.hub_dist.pop();
    assert!(matches!(Gravity::from_hub_parts(&c, p), Err(GravityError::Mismatch { field: "hub_dist", .. })));
    let mut p = parts.clone();
    p.hubs[0] = Cell::new(1, 1);
    assert!(matches!(Gravity::from_hub_parts(&c, p), Err(GravityError::Mismatch { field: "hubs", .. })));
    let mut p = parts.clone();
    p.nearby.push((BuildingIdx(0), BuildingIdx(10_000), 1));
    assert!(matches!(Gravity::from_hub_parts(&c, p), Err(GravityError::Mismatch { field: "nearby", .. })));
    let mut p = parts;
    if let Some(first) = p.nearby.first_mut() {
        first.2 += 1;
        assert!(matches!(Gravity::from_hub_parts(&c, p), Err(GravityError::Mismatch { field: "nearby", .. })));
    }
}

#[test]
fn gravity_is_plain_shared_data() {
    fn f<T: Send + Sync + Clone + PartialEq>() {}
    f::<Gravity>();
}

/// Hub selection agrees with the reference algorithm run with pandas `qcut` itself, on
/// regular and irregular street networks and several hub counts.
#[test]
fn hubs_match_pandas_qcut() {
    let Some(py) = gardencity_testkit::python() else { return };
    const SCRIPT: &str = r#"
import sys, numpy as np, pandas as pd
rows = [l.split(",") for l in open(sys.argv[1]).read().split()]
df = pd.DataFrame({"x": [int(r[0]) for r in rows], "y": [int(r[1]) for r in rows]})
out = []
for hub_size in [int(h) for h in sys.argv[2:]]:
    n = int(np.floor(np.sqrt(hub_size)))
    bx = pd.qcut(df.x, n, labels=False, duplicates="drop")
    by = pd.qcut(df.y, n, labels=False, duplicates="drop")
    hubs = []
    for i in range(n):
        for j in range(n):
            sub = df[(bx == i) & (by == j)].sort_values(["x", "y"])
            if len(sub):
                hubs.append("%d,%d" % (sub.x.iloc[0], sub.y.iloc[0]))
    out.append(" ".join(hubs))
print("\n".join(out))
"#;
    let mut cities = vec![city(40, 1), city(53, 2), city(97, 3)];
    for seed in 0..5u64 {
        // Random street subsets: irregular components and coordinate distributions.
        let mut rng = Pcg64Mcg::seed_from_u64(seed);
        let (w, h) = (31 + seed as i32 * 7, 23 + seed as i32 * 5);
        let streets: Vec<Cell> = (0..w)
            .flat_map(|x| (0..h).map(move |y| Cell::new(x, y)))
            .filter(|_| rand::Rng::random::<f64>(&mut rng) < 0.6)
            .collect();
        cities.push(
            City::new(CityParts {
                name: "maze".into(),
                width: w as u32,
                height: h as u32,
                streets,
                ..Default::default()
            })
            .unwrap(),
        );
    }
    let sizes = [2usize, 4, 9, 16, 30, 49, 100];
    for (k, c) in cities.iter().enumerate() {
        let comps = c.street_components();
        let largest = comps.largest().unwrap();
        let cells: Vec<String> = c
            .streets()
            .iter()
            .zip(&comps.label)
            .filter(|(_, &l)| l == largest)
            .map(|(s, _)| format!("{},{}", s.x, s.y))
            .collect();
        let file = std::env::temp_dir().join(format!("gardencity-hubs-{}-{k}.txt", std::process::id()));
        std::fs::write(&file, cells.join("\n")).unwrap();
        let args: Vec<String> =
            std::iter::once(file.to_string_lossy().into_owned()).chain(sizes.iter().map(|s| s.to_string())).collect();
        let argv: Vec<&str> = args.iter().map(|s| s.as_str()).collect();
        let out = gardencity_testkit::run_python(&py, SCRIPT, &argv);
        let _ = std::fs::remove_file(&file);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), sizes.len());
        for (line, &hub_size) in lines.iter().zip(&sizes) {
            let ours: Vec<String> = select_hubs(c, hub_size).iter().map(|h| format!("{},{}", h.x, h.y)).collect();
            assert_eq!(ours.join(" "), line.trim(), "city {k}, hub_size {hub_size}");
        }
    }
}
