//! gardencity file formats: city GeoPackages, snapshots, Parquet/CSV outputs.
#![warn(missing_docs)]
pub mod anchors;
pub mod atomic;
pub mod dataset;
pub mod gpkg;
pub mod snapshot;
pub mod untrusted;
