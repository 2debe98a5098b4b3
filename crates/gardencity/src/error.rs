//! Typed errors of the city model.

use crate::city::Cell;

/// Why a city could not be built or validated.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CityError {
    /// A width or height of zero, or a grid too large to index.
    #[error("invalid city dimensions {width} x {height}: {reason}")]
    Dimensions { width: i64, height: i64, reason: String },
    /// A cell outside `0 <= x < width, 0 <= y < height`.
    #[error("{what} at ({x}, {y}) lies outside the {width} x {height} grid")]
    OutOfGrid { what: String, x: i32, y: i32, width: u32, height: u32 },
    /// Two features claim the same block.
    #[error("block ({x}, {y}) is claimed twice: by {first} and by {second}")]
    Overlap { x: i32, y: i32, first: String, second: String },
    /// A building with no blocks.
    #[error("building {id} has no blocks")]
    EmptyBuilding { id: String },
    /// A building whose blocks are not 4-connected.
    #[error("building {id}: its blocks are not 4-connected")]
    Disconnected { id: String },
    /// A door cell that is not a street cell 4-adjacent to one of the building's blocks.
    #[error("building {id}: door cell ({x}, {y}) {reason}")]
    BadDoor { id: String, x: i32, y: i32, reason: String },
    /// Two buildings with the same id.
    #[error("duplicate building id {id}")]
    DuplicateId { id: String },
    /// An invalid parameter of a city builder.
    #[error("invalid parameter {name}: {reason}")]
    Parameter { name: String, reason: String },
    /// The street network is empty or unusable.
    #[error("street network: {0}")]
    Streets(String),
}

impl CityError {
    pub(crate) fn out_of_grid(what: impl Into<String>, c: Cell, width: u32, height: u32) -> Self {
        CityError::OutOfGrid { what: what.into(), x: c.x, y: c.y, width, height }
    }
}
