//! The grid city (MODEL.md section 1): plain, immutable data shared by every thread.
//!
//! A [`City`] is a `width x height` grid of unit blocks. Every block is a street
//! cell, part of exactly one [`Building`], or empty. Streets form a 4-connected
//! graph; every building has a door on a street cell 4-adjacent to one of its blocks.

mod building;
mod cell;
mod georef;
pub mod graph;
pub mod outline;
pub mod random;

pub use building::{Building, BuildingType, TypeSet};
pub use cell::{Cell, Point};
pub use georef::Georeference;
pub use georef::{
    lonlat_to_mercator, mercator_to_lonlat, DEFAULT_CENTRE_LONLAT, EARTH_RADIUS_M, MIN_BLOCK_SIDE_M,
    WEB_MERCATOR_EXTENT_M,
};

use crate::error::CityError;
use std::collections::HashMap;

/// Index of a building in [`City::buildings`]: a type of its own, so a building index
/// cannot be passed where a [`StreetIdx`], a count or a distance is expected.
///
/// ```
/// use gardencity::BuildingIdx;
/// let b = BuildingIdx(3);
/// assert_eq!(b.index(), 3);
/// assert_eq!(b.to_string(), "3");
/// ```
///
/// A building index where a street index is expected does not compile:
///
/// ```compile_fail
/// use gardencity::city::random::{random_city, RandomCityParams};
/// use gardencity::BuildingIdx;
/// let city = random_city(&RandomCityParams::default()).unwrap();
/// let _ = city.buildings_at_door(BuildingIdx(0));
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct BuildingIdx(pub u32);

impl std::fmt::Display for BuildingIdx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl BuildingIdx {
    /// The position in [`City::buildings`], for indexing slices.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

/// Index of a street cell in [`City::streets`] (sorted by `(x, y)`): a type of its own,
/// so a street index cannot be passed where a [`BuildingIdx`] or a distance is expected.
///
/// ```
/// use gardencity::StreetIdx;
/// let s = StreetIdx(7);
/// assert_eq!(s.index(), 7);
/// ```
///
/// A street index where a building index is expected does not compile:
///
/// ```compile_fail
/// use gardencity::city::random::{random_city, RandomCityParams};
/// use gardencity::BuildingIdx;
/// let city = random_city(&RandomCityParams::default()).unwrap();
/// let door = city.door_street(BuildingIdx(0));
/// let _ = city.building(door);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[repr(transparent)]
pub struct StreetIdx(pub u32);

impl std::fmt::Display for StreetIdx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl StreetIdx {
    /// The position in [`City::streets`], for indexing slices.
    #[inline]
    pub const fn index(self) -> usize {
        self.0 as usize
    }
}

const EMPTY: u32 = u32::MAX;
const BUILDING_FLAG: u32 = 0x8000_0000;

/// The most blocks a grid can have (`width * height`): block codes keep one bit to
/// tell buildings from streets.
pub const MAX_CELLS: u64 = BUILDING_FLAG as u64 - 1;

/// Bytes per block of a [`City`]'s grid.
pub const GRID_BYTES_PER_CELL: u64 = std::mem::size_of::<u32>() as u64;

/// A byte count for messages: `10.0 GB`, `512.0 MB`, `4096 bytes`.
pub fn human_bytes(bytes: u64) -> String {
    const UNITS: [(&str, f64); 3] = [("TB", 1e12), ("GB", 1e9), ("MB", 1e6)];
    for (unit, size) in UNITS {
        if bytes as f64 >= size {
            return format!("{:.1} {unit}", bytes as f64 / size);
        }
    }
    format!("{bytes} bytes")
}

/// Checks a grid size before anything is allocated and returns its number of blocks.
///
/// Fails with [`CityError::Dimensions`] for a zero side or more than [`MAX_CELLS`]
/// blocks; the message gives the number of blocks and the bytes the grid would need.
pub fn grid_cells(width: u32, height: u32) -> Result<usize, CityError> {
    let dims = |reason: String| CityError::Dimensions { width: width.into(), height: height.into(), reason };
    if width == 0 || height == 0 {
        return Err(dims("width and height must be at least 1".into()));
    }
    // u32 * u32 always fits in u64.
    let n = u64::from(width) * u64::from(height);
    if n > MAX_CELLS {
        return Err(dims(format!(
            "{n} blocks, more than the {MAX_CELLS} a city supports (its grid alone would need {})",
            human_bytes(n.saturating_mul(GRID_BYTES_PER_CELL))
        )));
    }
    usize::try_from(n).map_err(|_| dims(format!("{n} blocks do not fit in this machine's address space")))
}

/// `vec![value; n]` that reports a failed allocation as [`CityError::Dimensions`]
/// (naming `what` and the bytes asked for) instead of aborting the process.
pub(crate) fn filled_vec<T: Clone>(
    n: usize,
    value: T,
    width: u32,
    height: u32,
    what: &str,
) -> Result<Vec<T>, CityError> {
    let mut v = Vec::new();
    v.try_reserve_exact(n).map_err(|_| CityError::Dimensions {
        width: width.into(),
        height: height.into(),
        reason: format!(
            "cannot allocate {} for {what} of {n} blocks",
            human_bytes((n as u64).saturating_mul(std::mem::size_of::<T>() as u64))
        ),
    })?;
    v.resize(n, value);
    Ok(v)
}

/// What occupies one block of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// Outside the grid.
    Outside,
    /// Inside the grid, neither street nor building.
    Empty,
    /// A street cell, with its index in [`City::streets`].
    Street(StreetIdx),
    /// A building block, with the building's index in [`City::buildings`].
    Building(BuildingIdx),
}

/// One building as given to [`City::new`], before validation.
#[derive(Debug, Clone, PartialEq)]
pub struct BuildingSpec {
    /// Unique id; `None` derives the reference's `{t}-x{X}-y{Y}` id from the door block.
    pub id: Option<String>,
    /// Building type.
    pub kind: BuildingType,
    /// Its blocks (any order, no duplicates).
    pub blocks: Vec<Cell>,
    /// The street cell of its door.
    pub door: Cell,
    /// The door point; `None` computes the midpoint of the edge shared by the door
    /// cell and the building block next to it.
    pub door_point: Option<Point>,
}

/// Everything needed to build a [`City`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CityParts {
    /// Human-readable name.
    pub name: String,
    /// Grid width in blocks.
    pub width: u32,
    /// Grid height in blocks.
    pub height: u32,
    /// Where the grid sits on the map.
    pub georef: Georeference,
    /// Street cells (any order, no duplicates).
    pub streets: Vec<Cell>,
    /// Buildings.
    pub buildings: Vec<BuildingSpec>,
    /// The city boundary as WKT in block units, if known (kept for round trips).
    pub boundary_wkt: Option<String>,
}

/// An immutable grid city with fast lookups. Cheap to share (`&City` or `Arc<City>`).
///
/// ```
/// use gardencity::city::random::{random_city, RandomCityParams};
/// use gardencity::{BuildingIdx, BuildingType};
/// let city = random_city(&RandomCityParams { width: 30, height: 30, seed: 1, ..Default::default() }).unwrap();
/// assert_eq!((city.width(), city.height()), (30, 30));
/// let b = &city.buildings()[0];
/// // Every building's door is a street cell beside it, found again by its id.
/// assert_eq!(city.building_by_id(&b.id), Some(BuildingIdx(0)));
/// assert!(city.street_at(b.door).is_some());
/// assert!(!city.buildings_of_type(BuildingType::Home).is_empty());
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct City {
    name: String,
    width: u32,
    height: u32,
    georef: Georeference,
    boundary_wkt: Option<String>,
    /// Per block, row-major (`y * width + x`): EMPTY, street index, or BUILDING_FLAG | building index.
    grid: Vec<u32>,
    streets: Vec<Cell>,
    buildings: Vec<Building>,
    by_id: HashMap<String, BuildingIdx>,
    /// CSR: buildings whose door is street `s` are `door_buildings[door_offsets[s]..door_offsets[s+1]]`.
    door_offsets: Vec<u32>,
    door_buildings: Vec<BuildingIdx>,
    /// Building indices grouped by type, in index order.
    by_type: [Vec<BuildingIdx>; BuildingType::COUNT],
    /// The street graph: neighbours of each street cell by direction.
    graph: graph::StreetGraph,
}

impl City {
    /// Validates the parts and builds the city.
    ///
    /// Checks: dimensions, every cell inside the grid, no block claimed twice,
    /// buildings non-empty and 4-connected, doors on street cells 4-adjacent to the
    /// building, unique ids. Buildings keep their given order; streets are sorted by `(x, y)`.
    pub fn new(parts: CityParts) -> Result<City, CityError> {
        let CityParts { name, width, height, georef, mut streets, buildings: specs, boundary_wkt } = parts;
        let n_cells = grid_cells(width, height)?;
        georef.check(width, height).map_err(|reason| CityError::Georeference { reason })?;
        let mut grid = filled_vec(n_cells, EMPTY, width, height, "the grid")?;
        let in_grid = |c: Cell| c.x >= 0 && c.y >= 0 && (c.x as u32) < width && (c.y as u32) < height;
        let at = |c: Cell| c.y as usize * width as usize + c.x as usize;

        streets.sort_unstable();
        for w in streets.windows(2) {
            if w[0] == w[1] {
                return Err(CityError::Overlap {
                    x: w[0].x,
                    y: w[0].y,
                    first: w[0].street_id(),
                    second: w[1].street_id(),
                });
            }
        }
        for (i, &c) in streets.iter().enumerate() {
            if !in_grid(c) {
                return Err(CityError::out_of_grid(format!("street cell {}", c.street_id()), c, width, height));
            }
            grid[at(c)] = i as u32;
        }

        let mut buildings = Vec::with_capacity(specs.len());
        let mut by_id = HashMap::with_capacity(specs.len());
        for (bi, spec) in specs.into_iter().enumerate() {
            let b = Building::from_spec(spec, |c| {
                if in_grid(c) {
                    let code = grid[at(c)];
                    code != EMPTY && code & BUILDING_FLAG == 0
                } else {
                    false
                }
            })?;
            for &c in &b.blocks {
                if !in_grid(c) {
                    return Err(CityError::out_of_grid(format!("block of building {}", b.id), c, width, height));
                }
                let code = grid[at(c)];
                if code != EMPTY {
                    let first = if code & BUILDING_FLAG != 0 {
                        format!("building {}", buildings_id(&buildings, code & !BUILDING_FLAG))
                    } else {
                        format!("street {}", c.street_id())
                    };
                    return Err(CityError::Overlap { x: c.x, y: c.y, first, second: format!("building {}", b.id) });
                }
                grid[at(c)] = BUILDING_FLAG | bi as u32;
            }
            if by_id.insert(b.id.clone(), BuildingIdx(bi as u32)).is_some() {
                return Err(CityError::DuplicateId { id: b.id });
            }
            buildings.push(b);
        }

        // Doors, as CSR by street index.
        let mut counts = vec![0u32; streets.len() + 1];
        for b in &buildings {
            counts[grid[at(b.door)] as usize + 1] += 1;
        }
        for i in 1..counts.len() {
            counts[i] += counts[i - 1];
        }
        let door_offsets = counts;
        let mut fill = door_offsets.clone();
        let mut door_buildings = vec![BuildingIdx(0); buildings.len()];
        for (bi, b) in buildings.iter().enumerate() {
            let s = grid[at(b.door)] as usize;
            door_buildings[fill[s] as usize] = BuildingIdx(bi as u32);
            fill[s] += 1;
        }
        let mut by_type: [Vec<BuildingIdx>; BuildingType::COUNT] = Default::default();
        for (bi, b) in buildings.iter().enumerate() {
            by_type[b.kind as usize].push(BuildingIdx(bi as u32));
        }

        let graph = graph::StreetGraph::from_cells(&streets, |c| {
            if in_grid(c) {
                let v = grid[at(c)];
                (v != EMPTY && v & BUILDING_FLAG == 0).then_some(StreetIdx(v))
            } else {
                None
            }
        });
        Ok(City {
            graph,
            name,
            width,
            height,
            georef,
            boundary_wkt,
            grid,
            streets,
            buildings,
            by_id,
            door_offsets,
            door_buildings,
            by_type,
        })
    }

    /// The same city placed elsewhere on the map (grid, buildings and streets unchanged).
    pub fn relocated(&self, georef: Georeference) -> City {
        City { georef, ..self.clone() }
    }

    /// The city's name.
    pub fn name(&self) -> &str {
        &self.name
    }
    /// Grid width in blocks.
    pub fn width(&self) -> u32 {
        self.width
    }
    /// Grid height in blocks.
    pub fn height(&self) -> u32 {
        self.height
    }
    /// Where the grid sits on the map.
    pub fn georef(&self) -> &Georeference {
        &self.georef
    }
    /// The boundary WKT (block units) read from a file, if any.
    pub fn boundary_wkt(&self) -> Option<&str> {
        self.boundary_wkt.as_deref()
    }
    /// All street cells, sorted by `(x, y)`; a [`StreetIdx`] indexes this slice.
    pub fn streets(&self) -> &[Cell] {
        &self.streets
    }
    /// All buildings; a [`BuildingIdx`] indexes this slice.
    pub fn buildings(&self) -> &[Building] {
        &self.buildings
    }
    /// One building by index.
    #[inline]
    pub fn building(&self, b: BuildingIdx) -> &Building {
        &self.buildings[b.index()]
    }
    /// Every building index, ascending.
    pub fn building_indices(&self) -> impl ExactSizeIterator<Item = BuildingIdx> {
        // Each building has a block, and a grid has at most MAX_CELLS < 2^31 blocks.
        (0..self.buildings.len() as u32).map(BuildingIdx)
    }
    /// Indices of the buildings of one type, ascending.
    pub fn buildings_of_type(&self, kind: BuildingType) -> &[BuildingIdx] {
        &self.by_type[kind as usize]
    }
    /// A building by its id.
    pub fn building_by_id(&self, id: &str) -> Option<BuildingIdx> {
        self.by_id.get(id).copied()
    }
    /// True when the cell lies inside the grid.
    #[inline]
    pub fn in_grid(&self, c: Cell) -> bool {
        c.x >= 0 && c.y >= 0 && (c.x as u32) < self.width && (c.y as u32) < self.height
    }
    /// What occupies a block.
    #[inline]
    pub fn cell_kind(&self, c: Cell) -> CellKind {
        if !self.in_grid(c) {
            return CellKind::Outside;
        }
        let code = self.grid[c.y as usize * self.width as usize + c.x as usize];
        if code == EMPTY {
            CellKind::Empty
        } else if code & BUILDING_FLAG != 0 {
            CellKind::Building(BuildingIdx(code & !BUILDING_FLAG))
        } else {
            CellKind::Street(StreetIdx(code))
        }
    }
    /// The street index of a cell, if it is a street cell.
    #[inline]
    pub fn street_at(&self, c: Cell) -> Option<StreetIdx> {
        match self.cell_kind(c) {
            CellKind::Street(s) => Some(s),
            _ => None,
        }
    }
    /// The building owning a block, if any.
    #[inline]
    pub fn building_at(&self, c: Cell) -> Option<BuildingIdx> {
        match self.cell_kind(c) {
            CellKind::Building(b) => Some(b),
            _ => None,
        }
    }
    /// The buildings whose door is on street cell `s`.
    #[inline]
    pub fn buildings_at_door(&self, s: StreetIdx) -> &[BuildingIdx] {
        let s = s.index();
        &self.door_buildings[self.door_offsets[s] as usize..self.door_offsets[s + 1] as usize]
    }
    /// The street index of a building's door cell.
    #[inline]
    pub fn door_street(&self, b: BuildingIdx) -> StreetIdx {
        let c = self.buildings[b.index()].door;
        StreetIdx(self.grid[c.y as usize * self.width as usize + c.x as usize])
    }
    /// The building containing a point in block units. A point on a block edge belongs
    /// to the blocks on either side; with several candidates the lowest index wins.
    pub fn building_at_point(&self, p: Point) -> Option<BuildingIdx> {
        let mut best: Option<BuildingIdx> = None;
        for c in p.touching_cells() {
            if let Some(b) = self.building_at(c) {
                best = Some(best.map_or(b, |o| o.min(b)));
            }
        }
        best
    }
    /// True when the point (block units) lies in the closed region of building `b`.
    #[inline]
    pub fn building_contains(&self, b: BuildingIdx, p: Point) -> bool {
        p.any_touching(|c| self.building_at(c) == Some(b))
    }
    /// Number of blocks in the grid (`width * height`).
    pub fn cell_count(&self) -> usize {
        self.grid.len()
    }
}

fn buildings_id(buildings: &[Building], bi: u32) -> &str {
    &buildings[bi as usize].id
}

#[cfg(test)]
mod tests;
