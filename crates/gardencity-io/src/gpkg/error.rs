//! The typed errors of GeoPackage reading and writing.

use std::path::PathBuf;

/// Why a GeoPackage could not be read or written: a boxed [`GpkgErrorKind`] (one
/// pointer, so `Result`s stay small in the per-row getters). Match on
/// [`GpkgError::kind`]; `Display` and `source()` are those of the kind. Wrapped causes
/// (I/O, SQLite, city validation) are in the `source()` chain, not repeated in
/// `Display`: print the chain (e.g. anyhow's `{:#}`) to see them.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct GpkgError(Box<GpkgErrorKind>);

impl GpkgError {
    /// What went wrong.
    pub fn kind(&self) -> &GpkgErrorKind {
        &self.0
    }
    /// The kind, by value.
    pub fn into_kind(self) -> GpkgErrorKind {
        *self.0
    }
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        self.0.path()
    }
}

impl From<GpkgErrorKind> for GpkgError {
    fn from(k: GpkgErrorKind) -> GpkgError {
        GpkgError(Box::new(k))
    }
}

/// The kinds of [`GpkgError`].
///
/// Every variant names the file; the ones about data also name the layer, the
/// feature (`fid N` and, when the layer has one, its `id`) and what was expected.
#[derive(Debug, thiserror::Error)]
pub enum GpkgErrorKind {
    /// The file does not exist or cannot be accessed.
    #[error("{path}: cannot access the file")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not an SQLite database.
    #[error("{path}: not an SQLite database (a GeoPackage is an SQLite file; {reason})")]
    NotSqlite {
        /// The file.
        path: PathBuf,
        /// What was found instead.
        reason: String,
    },
    /// An SQLite database without the GeoPackage metadata tables.
    #[error("{path}: not a GeoPackage: {reason}")]
    NotGeoPackage {
        /// The file.
        path: PathBuf,
        /// What is missing.
        reason: String,
    },
    /// A required layer (table) is absent.
    #[error("{path}: no layer {layer:?} (layers present: {available})")]
    MissingLayer {
        /// The file.
        path: PathBuf,
        /// The missing layer.
        layer: String,
        /// The layers the file has, comma separated.
        available: String,
    },
    /// A required column is absent from a layer.
    #[error("{path}: layer {layer:?} has no column {column:?} (expected {expected}; columns present: {available})")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// The missing column.
        column: String,
        /// What the column should hold.
        expected: String,
        /// The columns the layer has, comma separated.
        available: String,
    },
    /// A value of the wrong type, NULL where a value is required, or out of range.
    #[error("{path}: layer {layer:?}, feature {feature}, column {column:?}: expected {expected}, found {found}")]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// The feature, as `fid N` or `fid N (id X)`.
        feature: String,
        /// The column.
        column: String,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// A geometry that is NULL, undecodable, or of the wrong type.
    #[error(
        "{path}: layer {layer:?}, feature {feature}, geometry column {column:?}: expected {expected}, found {found}"
    )]
    BadGeometry {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// The feature, as `fid N` or `fid N (id X)`.
        feature: String,
        /// The geometry column.
        column: String,
        /// What was expected.
        expected: String,
        /// What was found.
        found: String,
    },
    /// The features read do not form a valid city (doors, overlaps, grid bounds...).
    #[error("{path}: layer {layer:?}, feature {feature}: invalid city")]
    InvalidCity {
        /// The file.
        path: PathBuf,
        /// The layer of the offending feature.
        layer: String,
        /// The offending feature (`fid N (id X)`), or `-` when no single feature is at fault.
        feature: String,
        /// The validation error of the city model.
        #[source]
        source: gardencity::CityError,
    },
    /// A layer's declared spatial reference system is not the one expected.
    #[error("{path}: layer {layer:?} is declared in {crs}, but {expected}")]
    WrongCrs {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// The declared CRS (`EPSG:3857 (srs_id 3857)`).
        crs: String,
        /// What was expected, and what to do.
        expected: String,
    },
    /// The output file exists and overwriting was not requested.
    #[error("{path}: the file already exists (set overwrite to replace it)")]
    Exists {
        /// The file.
        path: PathBuf,
    },
    /// A caller error in the writer API (unknown table, wrong number of values...).
    #[error("{path}: {reason}")]
    Usage {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },
    /// An SQLite error while doing `context`.
    #[error("{path}: SQLite error while {context}")]
    Sqlite {
        /// The file.
        path: PathBuf,
        /// What was being done.
        context: String,
        /// The underlying SQLite error.
        #[source]
        source: rusqlite::Error,
    },
}

impl GpkgErrorKind {
    /// The file the error is about.
    pub fn path(&self) -> &std::path::Path {
        match self {
            GpkgErrorKind::Io { path, .. }
            | GpkgErrorKind::NotSqlite { path, .. }
            | GpkgErrorKind::NotGeoPackage { path, .. }
            | GpkgErrorKind::MissingLayer { path, .. }
            | GpkgErrorKind::MissingColumn { path, .. }
            | GpkgErrorKind::BadValue { path, .. }
            | GpkgErrorKind::BadGeometry { path, .. }
            | GpkgErrorKind::InvalidCity { path, .. }
            | GpkgErrorKind::WrongCrs { path, .. }
            | GpkgErrorKind::Exists { path }
            | GpkgErrorKind::Usage { path, .. }
            | GpkgErrorKind::Sqlite { path, .. } => path,
        }
    }
}

/// Wraps rusqlite errors with the file and a context.
pub(crate) trait SqlContext<T> {
    fn ctx(self, path: &std::path::Path, context: impl FnOnce() -> String) -> Result<T, GpkgError>;
}

impl<T> SqlContext<T> for Result<T, rusqlite::Error> {
    fn ctx(self, path: &std::path::Path, context: impl FnOnce() -> String) -> Result<T, GpkgError> {
        self.map_err(|source| GpkgErrorKind::Sqlite { path: path.to_path_buf(), context: context(), source }.into())
    }
}
