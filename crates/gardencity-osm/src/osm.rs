//! Rasterizer input from an `.osm.pbf` extract (SPEC section 8).
use crate::categories::Categories;
use crate::raster::RasterInput;
use std::path::Path;
/// placeholder
#[derive(Debug, Clone)]
pub enum OsmBoundary {
    Bbox([f64; 4]),
}
/// placeholder
#[derive(Debug, Clone)]
pub struct OsmOptions {
    pub boundary: OsmBoundary,
    pub categories: Categories,
    pub infer_residential: bool,
}
/// placeholder
#[derive(Debug, Clone, Default)]
pub struct OsmReport {}
/// placeholder
#[derive(Debug, thiserror::Error)]
pub enum OsmError {
    #[error("x")]
    X,
}
/// placeholder
pub fn read_osm_pbf(_path: &Path, _o: &OsmOptions) -> Result<(RasterInput, OsmReport), OsmError> {
    Err(OsmError::X)
}
