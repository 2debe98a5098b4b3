//! Typed errors of the readers and the rasterizer.

use crate::raster::RasterReport;
use std::path::PathBuf;

/// Why rasterizing failed.
#[derive(Debug, thiserror::Error)]
pub enum RasterError {
    /// An invalid parameter.
    #[error("invalid parameter {name}: {reason}")]
    Parameter {
        /// The parameter.
        name: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The boundary is empty, not finite, or intersects no block.
    #[error("the boundary is empty or has no finite extent")]
    EmptyBoundary,
    /// The grid would be too large.
    #[error(
        "the grid would be {width} x {height} = {cells} blocks (its city grid alone would need {bytes}), \
         more than the {max_cells} blocks the rasterizer accepts; use larger blocks or a smaller area"
    )]
    TooLarge {
        /// Width in blocks.
        width: u64,
        /// Height in blocks.
        height: u64,
        /// `width * height` (saturating).
        cells: u64,
        /// Memory the city grid would take, for the message (`10.0 GB`).
        bytes: String,
        /// Largest accepted number of blocks.
        max_cells: u64,
    },
    /// No street cell inside the boundary.
    #[error("no streets: {reason}")]
    NoStreets {
        /// Details.
        reason: String,
    },
    /// Every building was dropped.
    #[error("no building could be placed:\n{report}")]
    NoBuildings {
        /// What was dropped and why.
        report: Box<RasterReport>,
    },
    /// The city failed validation (a bug of the rasterizer if it ever happens).
    #[error("the rasterized city is invalid: {0}")]
    City(#[from] gardencity::CityError),
}

/// Why reading rasterizer input from a file failed.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    /// The file does not exist or cannot be opened.
    #[error("{path}: cannot open: {reason}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The GeoPackage could not be read: not an SQLite or GeoPackage file, an SQLite
    /// error, or an undecodable geometry (the error names the layer and feature).
    #[error(transparent)]
    Gpkg(#[from] gardencity_io::gpkg::GpkgError),
    /// A layer is missing from `gpkg_geometry_columns`.
    #[error("{path}: no geometry layer {layer:?} (layers: {available})")]
    MissingLayer {
        /// The file.
        path: PathBuf,
        /// The layer asked for.
        layer: String,
        /// The geometry layers the file has.
        available: String,
    },
    /// The buildings layer has no column of the building type.
    #[error(
        "{path}: layer {layer}: no building type column {column:?} (columns: {available}); for footprints \
         without types, read without a type column (command line: --type-column none) and give their type \
         (--default-type home, or mix for the random city's shares)"
    )]
    MissingTypeColumn {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// The column asked for.
        column: String,
        /// The layer's columns.
        available: String,
    },
    /// A layer's CRS is neither EPSG:3857 nor EPSG:4326.
    #[error("{path}: layer {layer}: CRS {crs} is not supported (expected EPSG:3857 or EPSG:4326)")]
    UnsupportedCrs {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// The CRS found (organization:code, srs_id).
        crs: String,
    },
    /// A layer has no usable features.
    #[error("{path}: layer {layer} has no {what}")]
    EmptyLayer {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// What was expected (polygons, line strings...).
        what: String,
    },
}

/// Why an input path cannot be read as a file: missing, a directory, or empty.
pub(crate) fn check_input_file(path: &std::path::Path) -> Result<(), String> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err("no such file".into()),
        Err(e) => Err(e.to_string()),
        Ok(m) if m.is_dir() => Err("it is a directory, not a file".into()),
        Ok(m) if m.len() == 0 => Err("the file is empty (0 bytes)".into()),
        Ok(_) => Ok(()),
    }
}
