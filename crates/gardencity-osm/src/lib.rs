//! Real cities for gardencity: rasterize OpenStreetMap buildings and streets.
//!
//! - [`read_raster_input_gpkg`] reads building, street and boundary layers of a
//!   GeoPackage (EPSG:3857, or EPSG:4326 reprojected to Web Mercator);
//! - [`read_osm_pbf`] selects and classifies buildings, parks and streets of an
//!   `.osm.pbf` extract (MODEL.md section 8);
//! - [`rasterize`] turns either into a grid [`gardencity::City`] (MODEL.md section 2), with a
//!   [`RasterReport`] of everything dropped and why.
//!
//! The library never prints and never exits.
#![warn(missing_docs)]

pub mod categories;
pub mod error;
pub mod gpkg;
pub mod osm;
pub mod raster;
pub mod streets;

pub use categories::Categories;
pub use error::{InputError, RasterError};
pub use gpkg::{read_boundary_gpkg, read_raster_input_gpkg, InputOptions, UntypedBuildings};
pub use osm::{extract_extent, read_osm_pbf, ExtractExtent, OsmBoundary, OsmError, OsmOptions, OsmReport};
pub use raster::{
    auto_rotation_deg, rasterize, InputBuilding, InputReport, RasterInput, RasterParams, RasterReport, Rotation,
    StreetLine,
};
pub use streets::ConsolidationReport;
