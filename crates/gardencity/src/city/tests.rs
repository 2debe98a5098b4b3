use super::random::{random_city, RandomCityParams};
use super::*;

fn tiny() -> City {
    // 5 x 3: street row y = 0, a 2-block home at (0,1),(0,2) with door (0,0), a park at (2,1).
    City::new(CityParts {
        name: "tiny".into(),
        width: 5,
        height: 3,
        georef: Georeference::default(),
        streets: (0..5).map(|x| Cell::new(x, 0)).collect(),
        buildings: vec![
            BuildingSpec {
                id: None,
                kind: BuildingType::Home,
                blocks: vec![Cell::new(0, 2), Cell::new(0, 1)],
                door: Cell::new(0, 0),
                door_point: None,
            },
            BuildingSpec {
                id: Some("p-x2-y1".into()),
                kind: BuildingType::Park,
                blocks: vec![Cell::new(2, 1)],
                door: Cell::new(2, 0),
                door_point: None,
            },
        ],
        boundary_wkt: None,
    })
    .unwrap()
}

#[test]
fn lookups() {
    let c = tiny();
    assert_eq!(c.building(BuildingIdx(0)).id, "h-x0-y1");
    assert_eq!(c.building(BuildingIdx(0)).door_point, Point::new(0.5, 1.0));
    assert_eq!(c.building_by_id("p-x2-y1"), Some(BuildingIdx(1)));
    assert_eq!(c.cell_kind(Cell::new(0, 2)), CellKind::Building(BuildingIdx(0)));
    assert_eq!(c.cell_kind(Cell::new(1, 1)), CellKind::Empty);
    assert_eq!(c.cell_kind(Cell::new(5, 0)), CellKind::Outside);
    assert_eq!(c.street_at(Cell::new(3, 0)), Some(StreetIdx(3)));
    assert_eq!(c.buildings_at_door(StreetIdx(2)), &[BuildingIdx(1)]);
    assert_eq!(c.door_street(BuildingIdx(1)), StreetIdx(2));
    // The door point lies on the building's edge and counts as inside.
    assert!(c.building_contains(BuildingIdx(0), c.building(BuildingIdx(0)).door_point));
    assert_eq!(c.building_at_point(Point::new(0.5, 2.9)), Some(BuildingIdx(0)));
    assert_eq!(c.building_at_point(Point::new(1.5, 1.5)), None);
    assert_eq!(c.buildings_of_type(BuildingType::Park), &[BuildingIdx(1)]);
}

#[test]
fn rejects_bad_cities() {
    let base = || CityParts {
        name: "bad".into(),
        width: 3,
        height: 3,
        streets: vec![Cell::new(0, 0), Cell::new(1, 0)],
        ..Default::default()
    };
    let mut p = base();
    p.width = 0;
    assert!(matches!(City::new(p), Err(CityError::Dimensions { .. })));
    let mut p = base();
    p.buildings.push(BuildingSpec {
        id: None,
        kind: BuildingType::Home,
        blocks: vec![Cell::new(2, 2)],
        door: Cell::new(0, 0),
        door_point: None,
    });
    assert!(matches!(City::new(p), Err(CityError::BadDoor { .. })));
    let mut p = base();
    p.buildings.push(BuildingSpec {
        id: None,
        kind: BuildingType::Home,
        blocks: vec![Cell::new(1, 0)],
        door: Cell::new(0, 0),
        door_point: None,
    });
    assert!(matches!(City::new(p), Err(CityError::Overlap { .. })));
    let mut p = base();
    p.buildings.push(BuildingSpec {
        id: None,
        kind: BuildingType::Home,
        blocks: vec![Cell::new(0, 1), Cell::new(1, 2)],
        door: Cell::new(0, 0),
        door_point: None,
    });
    assert!(matches!(City::new(p), Err(CityError::Disconnected { .. })));
    let mut p = base();
    p.streets.push(Cell::new(3, 0));
    assert!(matches!(City::new(p), Err(CityError::OutOfGrid { .. })));
    let mut p = base();
    for x in [1, 2] {
        p.buildings.push(BuildingSpec {
            id: Some("same".into()),
            kind: BuildingType::Home,
            blocks: vec![Cell::new(x, 1)],
            door: Cell::new(x, 0),
            door_point: None,
        });
    }
    p.streets.push(Cell::new(2, 0));
    assert!(matches!(City::new(p), Err(CityError::DuplicateId { .. })));
}

/// The invariants every random city must satisfy.
fn check_random_city(c: &City) {
    let comps = c.street_components();
    assert_eq!(comps.count(), 1, "streets must be connected");
    let mut seen = std::collections::HashSet::new();
    let mut covered = std::collections::HashSet::new();
    for (bi, b) in c.buildings().iter().enumerate() {
        assert!(seen.insert(b.id.clone()), "duplicate id {}", b.id);
        assert!(c.street_at(b.door).is_some(), "door of {} is not a street cell", b.id);
        assert!(b.blocks.iter().any(|&k| k.is_adjacent4(b.door)), "door of {} not adjacent", b.id);
        assert!(b.door_block.is_adjacent4(b.door) && b.has_block(b.door_block));
        assert_eq!(b.id, Building::reference_id(b.kind, b.door_block));
        for &k in &b.blocks {
            assert!(covered.insert(k), "block {k:?} used twice");
            assert_eq!(c.building_at(k), Some(BuildingIdx(bi as u32)));
        }
        assert!(building_sizes_allowed(b));
    }
}

fn building_sizes_allowed(b: &Building) -> bool {
    let (w, h) = (b.max.x - b.min.x + 1, b.max.y - b.min.y + 1);
    w * h == b.size() as i32 && random::building_sizes(b.kind).contains(&(w, h))
}

#[test]
fn random_city_invariants_many_seeds_and_sizes() {
    for seed in 0..40 {
        for &(w, h, s) in &[(1, 1, 5), (7, 3, 2), (22, 22, 5), (31, 17, 6), (40, 40, 9)] {
            let c =
                random_city(&RandomCityParams { width: w, height: h, street_spacing: s, seed, ..Default::default() })
                    .unwrap();
            check_random_city(&c);
        }
    }
}

#[test]
fn random_city_is_deterministic_and_seed_dependent() {
    let p = RandomCityParams { width: 60, height: 45, seed: 7, ..Default::default() };
    assert_eq!(random_city(&p).unwrap(), random_city(&p).unwrap());
    let q = RandomCityParams { seed: 8, ..p.clone() };
    assert_ne!(random_city(&p).unwrap(), random_city(&q).unwrap());
}

#[test]
fn random_city_type_mix_follows_probabilities() {
    // Super-block types are drawn home .4 / workplace .3 / retail .2 / park .1.
    // Count super-blocks through the type of their first building.
    let c = random_city(&RandomCityParams { width: 501, height: 501, seed: 3, ..Default::default() }).unwrap();
    let mut counts = [0f64; 4];
    for by in 0..100 {
        for bx in 0..100 {
            if let Some(b) = c.building_at(Cell::new(bx * 5 + 1, by * 5 + 1)) {
                counts[c.building(b).kind as usize] += 1.0;
            }
        }
    }
    let n: f64 = counts.iter().sum();
    assert_eq!(n, 10_000.0, "every super-block's corner block is built");
    for (i, p) in [0.4, 0.3, 0.2, 0.1].iter().enumerate() {
        let sd = (p * (1.0 - p) / n).sqrt();
        assert!((counts[i] / n - p).abs() < 4.0 * sd, "type {i}: {} vs {p}", counts[i] / n);
    }
}

#[test]
fn random_city_rejects_bad_parameters() {
    assert!(random_city(&RandomCityParams { width: 0, ..Default::default() }).is_err());
    assert!(random_city(&RandomCityParams { street_spacing: 1, ..Default::default() }).is_err());
    assert!(random_city(&RandomCityParams { type_probs: [0.0; 4], ..Default::default() }).is_err());
}

#[test]
fn outline_of_l_shape_and_ring() {
    let l = [Cell::new(0, 0), Cell::new(1, 0), Cell::new(0, 1)];
    let polys = outline::outline(&l);
    assert_eq!(polys.len(), 1);
    assert_eq!(polys[0][0], vec![(0, 0), (2, 0), (2, 1), (1, 1), (1, 2), (0, 2), (0, 0)]);
    let rings: Vec<Vec<(f64, f64)>> =
        polys[0].iter().map(|r| r.iter().map(|&(x, y)| (x as f64, y as f64)).collect()).collect();
    let mut back = outline::blocks_of_rings(&rings);
    back.sort();
    let mut want = l.to_vec();
    want.sort();
    assert_eq!(back, want);
    // A 3x3 ring with a hole in the middle.
    let ring: Vec<Cell> =
        (0..3).flat_map(|x| (0..3).map(move |y| Cell::new(x, y))).filter(|c| *c != Cell::new(1, 1)).collect();
    let polys = outline::outline(&ring);
    assert_eq!(polys.len(), 1);
    assert_eq!(polys[0].len(), 2, "exterior and one hole");
    let rings: Vec<Vec<(f64, f64)>> =
        polys[0].iter().map(|r| r.iter().map(|&(x, y)| (x as f64, y as f64)).collect()).collect();
    let mut back = outline::blocks_of_rings(&rings);
    back.sort();
    let mut want = ring.clone();
    want.sort();
    assert_eq!(back, want);
}

#[test]
fn georeference_round_trip() {
    let g = Georeference { block_side: 15.0, origin_x: -4265699.0, origin_y: 4392976.0, ..Default::default() };
    let (x, y) = g.to_mercator(Point::new(2.0, 3.0));
    assert_eq!((x, y), (-4265699.0 + 30.0, 4392976.0 + 45.0));
    let (lon, lat) = georef::mercator_to_lonlat(x, y);
    let (x2, y2) = georef::lonlat_to_mercator(lon, lat);
    assert!((x - x2).abs() < 1e-6 && (y - y2).abs() < 1e-6);
    // A rotation by -90 degrees about the origin maps (1, 0) m to (0, -1) m... and back.
    let r = Georeference { block_side: 1.0, rotation_deg: 90.0, ..Default::default() };
    let (x, y) = r.to_mercator(Point::new(1.0, 0.0));
    assert!((x - 0.0).abs() < 1e-12 && (y + 1.0).abs() < 1e-12);
    let back = r.from_mercator(x, y);
    assert!((back.x - 1.0).abs() < 1e-12 && back.y.abs() < 1e-12);
    let back = g.from_mercator(-4265699.0 + 30.0, 4392976.0 + 45.0);
    assert_eq!(back, Point::new(2.0, 3.0));
}

#[test]
fn points_map_to_cells_including_edges_and_negatives() {
    assert_eq!(Point::new(2.5, 3.0).cell(), Cell::new(2, 3));
    assert_eq!(Point::new(-0.5, -1.0).cell(), Cell::new(-1, -1));
    assert_eq!(Point::new(-0.0, 0.999).cell(), Cell::new(0, 0));
    let mut t: Vec<Cell> = Point::new(2.0, 3.5).touching_cells().collect();
    t.sort();
    assert_eq!(t, vec![Cell::new(1, 3), Cell::new(2, 3)]);
    let mut t: Vec<Cell> = Point::new(-1.0, 0.0).touching_cells().collect();
    t.sort();
    assert_eq!(t, vec![Cell::new(-2, -1), Cell::new(-2, 0), Cell::new(-1, -1), Cell::new(-1, 0)]);
    assert_eq!(Point::new(0.25, 0.75).touching_cells().count(), 1);
    assert!(Point::new(1.0, 1.0).touches(Cell::new(0, 0)) && !Point::new(1.01, 1.0).touches(Cell::new(0, 0)));
}

#[test]
fn oversized_grids_are_refused_before_allocating() {
    let p = RandomCityParams { width: 50_000, height: 50_000, ..Default::default() };
    let e = random_city(&p).unwrap_err();
    let msg = e.to_string();
    assert!(matches!(e, CityError::Dimensions { .. }), "{msg}");
    assert!(msg.contains("2500000000 blocks"), "{msg}");
    assert!(msg.contains("10.0 GB"), "{msg}");
    assert!(grid_cells(u32::MAX, u32::MAX).unwrap_err().to_string().contains("18446744065119617025 blocks"));
    assert_eq!(grid_cells(46_340, 46_340).unwrap() as u64, 46_340 * 46_340);
    assert!(grid_cells(1, MAX_CELLS as u32).is_ok());
    assert!(grid_cells(2, MAX_CELLS as u32).is_err());
    let parts = CityParts { name: "huge".into(), width: 65_536, height: 65_536, ..Default::default() };
    assert!(City::new(parts).unwrap_err().to_string().contains("4294967296 blocks"));
    // A spacing wider than the grid: streets on row 0 and column 0 only.
    let p = RandomCityParams { width: 7, height: 5, street_spacing: u32::MAX, ..Default::default() };
    assert_eq!(random_city(&p).unwrap().streets().len(), 7 + 5 - 1);
}
