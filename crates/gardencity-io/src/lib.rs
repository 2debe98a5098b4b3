//! gardencity file formats: city GeoPackages, snapshots, Parquet/CSV outputs.
pub mod gpkg;
pub mod dataset;
pub mod snapshot;
