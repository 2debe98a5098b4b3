//! Buildings and building types.

use crate::city::{Cell, Point};
use crate::error::CityError;
use std::fmt;
use std::str::FromStr;

/// The type of a building (MODEL.md section 1). `Other` only comes from rasterized input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum BuildingType {
    /// Where agents live.
    Home = 0,
    /// Where agents work.
    Workplace = 1,
    /// Shops, restaurants, services.
    Retail = 2,
    /// Parks and open spaces.
    Park = 3,
    /// Anything else (filtered out by default when rasterizing).
    Other = 4,
}

impl BuildingType {
    /// Number of variants.
    pub const COUNT: usize = 5;
    /// All variants in index order.
    pub const ALL: [BuildingType; 5] =
        [BuildingType::Home, BuildingType::Workplace, BuildingType::Retail, BuildingType::Park, BuildingType::Other];
    /// The name used in files (`home`, `workplace`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            BuildingType::Home => "home",
            BuildingType::Workplace => "workplace",
            BuildingType::Retail => "retail",
            BuildingType::Park => "park",
            BuildingType::Other => "other",
        }
    }
    /// The first letter used in building ids (`h-x7-y8`).
    pub fn letter(self) -> char {
        self.as_str().as_bytes()[0] as char
    }
    /// The variant with index `i` (`i < COUNT`).
    pub fn from_index(i: usize) -> Option<BuildingType> {
        BuildingType::ALL.get(i).copied()
    }
}

impl fmt::Display for BuildingType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an unknown building type name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown building type {0:?} (expected home, workplace, retail, park or other)")]
pub struct UnknownBuildingType(pub String);

impl FromStr for BuildingType {
    type Err = UnknownBuildingType;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "home" => Ok(BuildingType::Home),
            "workplace" | "work" => Ok(BuildingType::Workplace),
            "retail" => Ok(BuildingType::Retail),
            "park" => Ok(BuildingType::Park),
            "other" => Ok(BuildingType::Other),
            _ => Err(UnknownBuildingType(s.to_string())),
        }
    }
}

/// A set of building types as a bit mask (allowed types of an hour, candidate filters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct TypeSet(pub u8);

impl TypeSet {
    /// The empty set.
    pub const EMPTY: TypeSet = TypeSet(0);
    /// A set from a list of types.
    pub fn of(types: &[BuildingType]) -> TypeSet {
        TypeSet(types.iter().fold(0, |m, &t| m | (1 << t as u8)))
    }
    /// Membership test.
    #[inline]
    pub fn contains(self, t: BuildingType) -> bool {
        self.0 & (1 << t as u8) != 0
    }
    /// The set with `t` added.
    #[inline]
    pub fn with(self, t: BuildingType) -> TypeSet {
        TypeSet(self.0 | (1 << t as u8))
    }
    /// True when no type is in the set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
    /// The members in index order.
    pub fn iter(self) -> impl Iterator<Item = BuildingType> {
        BuildingType::ALL.into_iter().filter(move |&t| self.contains(t))
    }
}

/// A building: a 4-connected set of blocks with a door on an adjacent street cell.
#[derive(Debug, Clone, PartialEq)]
pub struct Building {
    /// Unique id, by convention `{t}-x{X}-y{Y}` with `(X, Y)` the block next to the door.
    pub id: String,
    /// Its type.
    pub kind: BuildingType,
    /// Its blocks, sorted by `(x, y)`.
    pub blocks: Vec<Cell>,
    /// The street cell of its door.
    pub door: Cell,
    /// The building block next to the door.
    pub door_block: Cell,
    /// Midpoint of the edge shared by the door cell and the door block.
    pub door_point: Point,
    /// Lowest corner of the bounding box of its blocks.
    pub min: Cell,
    /// Highest block of the bounding box of its blocks (inclusive).
    pub max: Cell,
}

impl Building {
    /// Number of blocks.
    pub fn size(&self) -> usize {
        self.blocks.len()
    }
    /// True when `c` is one of its blocks (binary search).
    pub fn has_block(&self, c: Cell) -> bool {
        self.blocks.binary_search(&c).is_ok()
    }
    /// The midpoint of the edge between a street cell and an adjacent block.
    pub fn edge_midpoint(door: Cell, block: Cell) -> Point {
        Point::new((door.x + block.x + 1) as f64 / 2.0, (door.y + block.y + 1) as f64 / 2.0)
    }
    /// The reference's id for a building of `kind` whose door block is `block`.
    pub fn reference_id(kind: BuildingType, block: Cell) -> String {
        format!("{}-x{}-y{}", kind.letter(), block.x, block.y)
    }

    /// Validates a spec. `is_street` tells whether a cell is a street cell.
    pub(crate) fn from_spec(
        spec: super::BuildingSpec,
        is_street: impl Fn(Cell) -> bool,
    ) -> Result<Building, CityError> {
        let super::BuildingSpec { id, kind, mut blocks, door, door_point } = spec;
        blocks.sort_unstable();
        blocks.dedup();
        let label = || id.clone().unwrap_or_else(|| format!("{} with door ({}, {})", kind, door.x, door.y));
        if blocks.is_empty() {
            return Err(CityError::EmptyBuilding { id: label() });
        }
        if !is_4_connected(&blocks) {
            return Err(CityError::Disconnected { id: label() });
        }
        let bad_door = |reason: &str| CityError::BadDoor { id: label(), x: door.x, y: door.y, reason: reason.into() };
        if !is_street(door) {
            return Err(bad_door("is not a street cell"));
        }
        let adjacent: Vec<Cell> = door.neighbors4().into_iter().filter(|c| blocks.binary_search(c).is_ok()).collect();
        let door_block = match door_point {
            Some(p) => *adjacent
                .iter()
                .find(|&&b| {
                    let m = Building::edge_midpoint(door, b);
                    (m.x - p.x).abs() < 1e-6 && (m.y - p.y).abs() < 1e-6
                })
                .or(adjacent.first())
                .ok_or_else(|| bad_door("is not 4-adjacent to any block of the building"))?,
            None => {
                // Prefer the block named by a reference id, else the first adjacent block.
                let named = id.as_deref().and_then(parse_reference_block);
                *adjacent
                    .iter()
                    .find(|&&b| Some(b) == named)
                    .or(adjacent.first())
                    .ok_or_else(|| bad_door("is not 4-adjacent to any block of the building"))?
            }
        };
        let door_point = door_point.unwrap_or_else(|| Building::edge_midpoint(door, door_block));
        let min = Cell::new(blocks.iter().map(|c| c.x).min().unwrap(), blocks.iter().map(|c| c.y).min().unwrap());
        let max = Cell::new(blocks.iter().map(|c| c.x).max().unwrap(), blocks.iter().map(|c| c.y).max().unwrap());
        let id = id.unwrap_or_else(|| Building::reference_id(kind, door_block));
        Ok(Building { id, kind, blocks, door, door_block, door_point, min, max })
    }
}

/// Parses the `(X, Y)` of a reference id `t-xX-yY`.
fn parse_reference_block(id: &str) -> Option<Cell> {
    let rest = id.get(2..)?.strip_prefix('x')?;
    let (x, y) = rest.split_once("-y")?;
    Some(Cell::new(x.parse().ok()?, y.parse().ok()?))
}

/// True when sorted, deduplicated blocks form one 4-connected component.
fn is_4_connected(blocks: &[Cell]) -> bool {
    let mut seen = vec![false; blocks.len()];
    let mut stack = vec![0usize];
    seen[0] = true;
    let mut count = 1;
    while let Some(i) = stack.pop() {
        for n in blocks[i].neighbors4() {
            if let Ok(j) = blocks.binary_search(&n) {
                if !seen[j] {
                    seen[j] = true;
                    count += 1;
                    stack.push(j);
                }
            }
        }
    }
    count == blocks.len()
}
