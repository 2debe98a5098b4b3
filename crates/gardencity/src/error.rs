//! Typed errors of the city model.

use crate::city::Cell;

/// Why a city could not be built or validated.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum CityError {
    /// A width or height of zero, or a grid too large to index.
    #[error("invalid city dimensions {width} x {height}: {reason}")]
    Dimensions {
        /// Requested width.
        width: i64,
        /// Requested height.
        height: i64,
        /// What is wrong.
        reason: String,
    },
    /// The georeference does not place the grid on the map (a non-finite number, a
    /// block side that is not positive, or corners beyond the Web Mercator extent).
    #[error("{reason}")]
    Georeference {
        /// What is wrong.
        reason: String,
    },
    /// A cell outside `0 <= x < width, 0 <= y < height`.
    #[error("{what} at ({x}, {y}) lies outside the {width} x {height} grid")]
    OutOfGrid {
        /// The feature (street cell or building block).
        what: String,
        /// Its column.
        x: i32,
        /// Its row.
        y: i32,
        /// Grid width.
        width: u32,
        /// Grid height.
        height: u32,
    },
    /// Two features claim the same block.
    #[error("block ({x}, {y}) is claimed twice: by {first} and by {second}")]
    Overlap {
        /// Column of the block.
        x: i32,
        /// Row of the block.
        y: i32,
        /// The feature that claimed it first.
        first: String,
        /// The feature that claimed it again.
        second: String,
    },
    /// A building with no blocks.
    #[error("building {id} has no blocks")]
    EmptyBuilding {
        /// The building.
        id: String,
    },
    /// A building whose blocks are not 4-connected.
    #[error("building {id}: its blocks are not 4-connected")]
    Disconnected {
        /// The building.
        id: String,
    },
    /// A door cell that is not a street cell 4-adjacent to one of the building's blocks.
    #[error("building {id}: door cell ({x}, {y}) {reason}")]
    BadDoor {
        /// The building.
        id: String,
        /// Column of the door cell.
        x: i32,
        /// Row of the door cell.
        y: i32,
        /// What is wrong with it.
        reason: String,
    },
    /// Two buildings with the same id.
    #[error("duplicate building id {id}")]
    DuplicateId {
        /// The id.
        id: String,
    },
    /// An invalid parameter of a city builder.
    #[error("invalid parameter {name}: {reason}")]
    Parameter {
        /// The parameter.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// The street network is empty or unusable.
    #[error("street network: {0}")]
    Streets(String),
}

impl CityError {
    pub(crate) fn out_of_grid(what: impl Into<String>, c: Cell, width: u32, height: u32) -> Self {
        CityError::OutOfGrid { what: what.into(), x: c.x, y: c.y, width, height }
    }
}
