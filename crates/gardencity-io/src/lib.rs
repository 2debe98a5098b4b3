//! gardencity file formats: city GeoPackages, snapshots, Parquet/CSV outputs.
#![warn(missing_docs)]
pub mod anchors;
pub mod atomic;
mod csv_problem;
pub mod dataset;
pub mod gpkg;
pub mod snapshot;
pub mod untrusted;
mod varint;
