//! Random grid cities (MODEL.md section 1, "Random cities").
//!
//! Streets run along every `street_spacing`-th row and column (and so always form one
//! connected network, unlike the reference). Each super-block between streets gets a
//! type (home .4, workplace .3, retail .2, park .1) and is filled with buildings of the
//! type's sizes; every building touches a street and gets its door there.

use crate::city::{
    filled_vec, grid_cells, human_bytes, BuildingSpec, BuildingType, Cell, City, CityParts, Georeference,
};
use crate::error::CityError;
use crate::roulette::roulette;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_pcg::Pcg64Mcg;

/// Parameters of a random city.
#[derive(Debug, Clone, PartialEq)]
pub struct RandomCityParams {
    /// Grid width in blocks (>= 1).
    pub width: u32,
    /// Grid height in blocks (>= 1).
    pub height: u32,
    /// Streets on every `street_spacing`-th row and column (>= 2).
    pub street_spacing: u32,
    /// Seed of the generator; the same seed gives the same city.
    pub seed: u64,
    /// Probabilities of a super-block's type: home, workplace, retail, park.
    pub type_probs: [f64; 4],
    /// Georeference stored with the city.
    pub georef: Georeference,
}

impl Default for RandomCityParams {
    fn default() -> Self {
        RandomCityParams {
            width: 50,
            height: 50,
            street_spacing: 5,
            seed: 0,
            type_probs: [0.4, 0.3, 0.2, 0.1],
            georef: Georeference::default(),
        }
    }
}

const HOME_SIZES: &[(i32, i32)] = &[(2, 2), (1, 2), (2, 1), (1, 1)];
const WORK_SIZES: &[(i32, i32)] = &[(1, 3), (3, 1), (4, 4), (3, 3), (4, 2), (2, 4)];
const PARK_SIZES: &[(i32, i32)] = &[(6, 6), (5, 5), (4, 4)];

/// Building sizes (w, h) for a type, as in the reference.
pub fn building_sizes(kind: BuildingType) -> &'static [(i32, i32)] {
    match kind {
        BuildingType::Home => HOME_SIZES,
        BuildingType::Workplace | BuildingType::Retail => WORK_SIZES,
        BuildingType::Park => PARK_SIZES,
        BuildingType::Other => HOME_SIZES,
    }
}

const FREE: u8 = 0;
const STREET: u8 = 1;
const TAKEN: u8 = 2;

/// Generates a random city.
pub fn random_city(p: &RandomCityParams) -> Result<City, CityError> {
    // Refuse what cannot be a city before allocating anything for it.
    let n_cells = grid_cells(p.width, p.height)?;
    if p.street_spacing < 2 {
        return Err(CityError::Parameter {
            name: "street_spacing".into(),
            reason: format!("must be at least 2, got {}", p.street_spacing),
        });
    }
    let total: f64 = p.type_probs.iter().sum();
    if p.type_probs.iter().any(|&q| q.is_nan() || q < 0.0 || !q.is_finite()) || total.is_nan() || total <= 0.0 {
        return Err(CityError::Parameter {
            name: "type_probs".into(),
            reason: "probabilities must be finite, non-negative and not all zero".into(),
        });
    }
    // Coordinates in i64, so no sum below can overflow; every cell coordinate is below
    // width or height, which `grid_cells` keeps under 2^31, so it fits a `Cell`'s i32.
    let (w, h) = (i64::from(p.width), i64::from(p.height));
    let sp = i64::from(p.street_spacing);
    let cell = |x: i64, y: i64| Cell::new(x as i32, y as i32);
    // Indices in usize: y * w + x < width * height <= MAX_CELLS.
    let idx = |x: i64, y: i64| (y * w + x) as usize;
    let mut rng = Pcg64Mcg::seed_from_u64(p.seed);
    let mut occ = filled_vec(n_cells, FREE, p.width, p.height, "the random city's occupancy grid")?;
    // Street cells: every cell on a street row or column.
    let lines = |n: i64| (n + sp - 1) / sp;
    let n_streets = (w * h - (w - lines(w)) * (h - lines(h))) as usize;
    let mut streets = Vec::new();
    streets.try_reserve_exact(n_streets).map_err(|_| CityError::Dimensions {
        width: p.width.into(),
        height: p.height.into(),
        reason: format!(
            "cannot allocate {} for {n_streets} street cells",
            human_bytes((n_streets as u64).saturating_mul(std::mem::size_of::<Cell>() as u64))
        ),
    })?;
    for x in 0..w {
        for y in 0..h {
            if x % sp == 0 || y % sp == 0 {
                occ[idx(x, y)] = STREET;
                streets.push(cell(x, y));
            }
        }
    }
    let mut buildings = Vec::new();
    let mut shapes: Vec<(i32, i32)> = Vec::with_capacity(6);
    let mut door_candidates: Vec<(Cell, Cell)> = Vec::with_capacity(16);
    let step = usize::try_from(sp).unwrap_or(usize::MAX);
    for by0 in (1..h).step_by(step) {
        let by1 = (by0 + sp - 1).min(h); // exclusive
        for bx0 in (1..w).step_by(step) {
            let bx1 = (bx0 + sp - 1).min(w);
            let kind = draw_type(&mut rng, &p.type_probs, total);
            for y in by0..by1 {
                for x in bx0..bx1 {
                    if occ[idx(x, y)] != FREE {
                        continue;
                    }
                    shapes.clear();
                    shapes.extend_from_slice(building_sizes(kind));
                    shapes.shuffle(&mut rng);
                    for &(sw, sh) in &shapes {
                        let (sw, sh) = (i64::from(sw), i64::from(sh));
                        if x + sw > bx1 || y + sh > by1 {
                            continue;
                        }
                        let fits = (x..x + sw).all(|xx| (y..y + sh).all(|yy| occ[idx(xx, yy)] == FREE));
                        if !fits {
                            continue;
                        }
                        door_candidates.clear();
                        for xx in x..x + sw {
                            for yy in y..y + sh {
                                for (nx, ny) in [(xx + 1, yy), (xx - 1, yy), (xx, yy + 1), (xx, yy - 1)] {
                                    if nx >= 0 && ny >= 0 && nx < w && ny < h && occ[idx(nx, ny)] == STREET {
                                        door_candidates.push((cell(nx, ny), cell(xx, yy)));
                                    }
                                }
                            }
                        }
                        if door_candidates.is_empty() {
                            continue;
                        }
                        let (door, block) = door_candidates[rng.random_range(0..door_candidates.len())];
                        let mut blocks = Vec::with_capacity((sw * sh) as usize);
                        for xx in x..x + sw {
                            for yy in y..y + sh {
                                occ[idx(xx, yy)] = TAKEN;
                                blocks.push(cell(xx, yy));
                            }
                        }
                        buildings.push(BuildingSpec {
                            id: Some(crate::city::Building::reference_id(kind, block)),
                            kind,
                            blocks,
                            door,
                            door_point: Some(crate::city::Building::edge_midpoint(door, block)),
                        });
                        break;
                    }
                }
            }
        }
    }
    City::new(CityParts {
        name: format!("random city {}x{} seed {}", p.width, p.height, p.seed),
        width: p.width,
        height: p.height,
        georef: p.georef,
        streets,
        buildings,
        boundary_wkt: None,
    })
}

/// The type of building `index` in a seeded mix with the random city's default shares
/// (40% home, 30% workplace, 20% retail, 10% park): for footprints that come without
/// types. The same `(seed, index)` always gives the same type.
///
/// ```
/// use gardencity::city::random::mixed_type;
/// let homes = (0..10_000).filter(|&i| mixed_type(7, i) == gardencity::BuildingType::Home).count();
/// assert!((3700..4300).contains(&homes));
/// assert_eq!(mixed_type(7, 12), mixed_type(7, 12));
/// ```
pub fn mixed_type(seed: u64, index: u64) -> BuildingType {
    let probs = RandomCityParams::default().type_probs;
    let mut rng = Pcg64Mcg::new(((seed as u128) << 64) | index as u128 | 1);
    draw_type(&mut rng, &probs, probs.iter().sum())
}

fn draw_type(rng: &mut Pcg64Mcg, probs: &[f64; 4], total: f64) -> BuildingType {
    let u = rng.random::<f64>() * total;
    BuildingType::ALL[roulette(u, 0..probs.len(), |&i| probs[i]).map_or(0, |p| p.item)]
}
