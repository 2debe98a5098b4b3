//! City GeoPackages (MODEL.md section 7): NOMAD's `buildings` / `streets` /
//! `city_properties` layers in block units, plus a small general reader and writer
//! that other layers (e.g. the gravity tables) can reuse.
//!
//! * [`read_city`] / [`write_city`]: a [`gardencity::City`] from / to a file.
//! * [`GpkgReader`]: open, look up layers and columns, iterate rows with typed getters
//!   whose errors name file, layer, feature and column.
//! * [`GpkgWriter`]: a fresh GeoPackage with feature and attribute tables, written to a
//!   temporary file and renamed into place on commit.

mod city;
mod error;
mod geom;
pub mod gravity;
mod reader;
mod writer;

pub use city::{blocks_wkt, read_city, write_city, WriteOptions, BUILDINGS_LAYER, PROPERTIES_LAYER, STREETS_LAYER};
pub use error::{GpkgError, GpkgErrorKind};
pub use geom::{decode as decode_geometry, encode as encode_geometry, Envelope, GeometryType};
pub use reader::{geometry_type_name, GpkgReader, Row};
pub use writer::{
    Column, ColumnType, GpkgWriter, Value, APPLICATION_ID, FID_COLUMN, GEOMETRY_COLUMN, SRS_LOCAL_UNDEFINED,
    SRS_UNDEFINED_CARTESIAN, SRS_UNDEFINED_GEOGRAPHIC, SRS_WGS84, USER_VERSION,
};
