//! A small GeoPackage writer: a fresh file with feature and attribute tables, written
//! to a temporary file in the same directory and renamed into place on [`GpkgWriter::commit`].

use super::error::{GpkgError, GpkgErrorKind, SqlContext};
use super::geom::{encode, Envelope, GeometryType};
use super::reader::quote_ident;
use geo_types::Geometry;
use rusqlite::types::{ToSqlOutput, ValueRef};
use rusqlite::Connection;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// `gpkg_spatial_ref_sys` id of the undefined Cartesian SRS (always present).
pub const SRS_UNDEFINED_CARTESIAN: i32 = -1;
/// `gpkg_spatial_ref_sys` id of the undefined geographic SRS (always present).
pub const SRS_UNDEFINED_GEOGRAPHIC: i32 = 0;
/// `gpkg_spatial_ref_sys` id of WGS 84 longitude/latitude (always present).
pub const SRS_WGS84: i32 = 4326;
/// The "Undefined SRS" `LOCAL_CS` that GDAL writes for coordinates without a CRS;
/// city layers in block units use it, as the reference does (always present).
pub const SRS_LOCAL_UNDEFINED: i32 = 99999;
/// The name of the geometry column of every feature table this writer creates.
pub const GEOMETRY_COLUMN: &str = "geom";
/// The name of the integer primary key of every table this writer creates.
pub const FID_COLUMN: &str = "fid";

/// `application_id` of a GeoPackage (`"GPKG"`).
pub const APPLICATION_ID: i32 = 0x4750_4B47;
/// `user_version` of GeoPackage 1.2.0.
pub const USER_VERSION: i32 = 10200;

const WGS84_WKT: &str = "GEOGCS[\"WGS 84\",DATUM[\"WGS_1984\",SPHEROID[\"WGS 84\",6378137,298.257223563,AUTHORITY[\"EPSG\",\"7030\"]],AUTHORITY[\"EPSG\",\"6326\"]],PRIMEM[\"Greenwich\",0,AUTHORITY[\"EPSG\",\"8901\"]],UNIT[\"degree\",0.0174532925199433,AUTHORITY[\"EPSG\",\"9122\"]],AXIS[\"Latitude\",NORTH],AXIS[\"Longitude\",EAST],AUTHORITY[\"EPSG\",\"4326\"]]";
pub(crate) const LOCAL_WKT: &str = "LOCAL_CS[\"Undefined SRS\",LOCAL_DATUM[\"unknown\",32767],UNIT[\"unknown\",0],AXIS[\"Easting\",EAST],AXIS[\"Northing\",NORTH]]";

/// The SQL type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnType {
    /// `INTEGER`.
    Integer,
    /// `REAL`.
    Real,
    /// `TEXT`.
    Text,
    /// `BLOB`.
    Blob,
}

impl ColumnType {
    fn sql(self) -> &'static str {
        match self {
            ColumnType::Integer => "INTEGER",
            ColumnType::Real => "REAL",
            ColumnType::Text => "TEXT",
            ColumnType::Blob => "BLOB",
        }
    }
}

/// A column of a table to create (besides `fid` and, for feature tables, `geom`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: String,
    /// SQL type.
    pub kind: ColumnType,
}

impl Column {
    /// A column of any type.
    pub fn new(name: impl Into<String>, kind: ColumnType) -> Column {
        Column { name: name.into(), kind }
    }
    /// An `INTEGER` column.
    pub fn integer(name: impl Into<String>) -> Column {
        Column::new(name, ColumnType::Integer)
    }
    /// A `REAL` column.
    pub fn real(name: impl Into<String>) -> Column {
        Column::new(name, ColumnType::Real)
    }
    /// A `TEXT` column.
    pub fn text(name: impl Into<String>) -> Column {
        Column::new(name, ColumnType::Text)
    }
}

/// One value of a row to insert.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// An integer.
    Integer(i64),
    /// A real number.
    Real(f64),
    /// Text.
    Text(String),
    /// Bytes.
    Blob(Vec<u8>),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Integer(v)
    }
}
impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Integer(v.into())
    }
}
impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Integer(v.into())
    }
}
impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::Integer(v as i64)
    }
}
impl From<f64> for Value {
    fn from(v: f64) -> Value {
        Value::Real(v)
    }
}
impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_string())
    }
}
impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}
impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(match self {
            Value::Null => ValueRef::Null,
            Value::Integer(i) => ValueRef::Integer(*i),
            Value::Real(f) => ValueRef::Real(*f),
            Value::Text(s) => ValueRef::Text(s.as_bytes()),
            Value::Blob(b) => ValueRef::Blob(b),
        }))
    }
}

#[derive(Debug)]
struct TableInfo {
    srs_id: Option<i32>,
    n_columns: usize,
    insert_sql: String,
    extent: Envelope,
}

/// Writes a new GeoPackage (GeoPackage 1.2: `application_id` "GPKG", `user_version`
/// 10200, the `gpkg_spatial_ref_sys`, `gpkg_contents` and `gpkg_geometry_columns`
/// tables, little-endian geometries with XY envelopes).
///
/// Everything goes to a temporary file beside the target inside one transaction; the
/// target only appears, complete, when [`GpkgWriter::commit`] succeeds. Dropping the
/// writer without committing deletes the temporary file.
///
/// ```no_run
/// use gardencity_io::gpkg::{Column, GpkgWriter, Value, SRS_LOCAL_UNDEFINED, GeometryType};
/// let mut w = GpkgWriter::create("out.gpkg", false)?;
/// w.add_features_table("hubs", GeometryType::Point, SRS_LOCAL_UNDEFINED,
///     &[Column::integer("hub_x"), Column::integer("hub_y")])?;
/// let p = geo_types::Geometry::Point(geo_types::Point::new(3.5, 4.5));
/// w.insert_feature("hubs", Some(&p), &[Value::from(3), Value::from(4)])?;
/// w.add_attributes_table("nearby_doors",
///     &[Column::text("bid_i"), Column::text("bid_j"), Column::real("dist")])?;
/// w.insert_row("nearby_doors", &["h-x1-y2".into(), "r-x5-y2".into(), 4.0.into()])?;
/// w.commit()?;
/// # Ok::<(), gardencity_io::gpkg::GpkgError>(())
/// ```
#[derive(Debug)]
pub struct GpkgWriter {
    conn: Option<Connection>,
    path: PathBuf,
    tmp: Option<crate::atomic::AtomicPath>,
    overwrite: bool,
    tables: HashMap<String, TableInfo>,
}

impl GpkgWriter {
    /// Starts a new GeoPackage at `path` (written to a temporary file until
    /// [`GpkgWriter::commit`]). Fails with [`GpkgErrorKind::Exists`] when `path` exists and
    /// `overwrite` is false.
    pub fn create(path: impl AsRef<Path>, overwrite: bool) -> Result<GpkgWriter, GpkgError> {
        let path = path.as_ref().to_path_buf();
        if !overwrite && path.exists() {
            return Err(GpkgErrorKind::Exists { path }.into());
        }
        let tmp = crate::atomic::AtomicPath::new(&path, "gpkg");
        let conn = Connection::open(tmp.tmp()).map_err(|source| match source {
            rusqlite::Error::SqliteFailure(e, _) if e.code == rusqlite::ErrorCode::CannotOpen => {
                GpkgErrorKind::Io { path: path.clone(), source: std::io::Error::other("cannot create the file") }
            }
            source => GpkgErrorKind::Sqlite { path: path.clone(), context: "creating the file".into(), source },
        })?;
        // From here on Drop removes the temporary file on error.
        let mut w = GpkgWriter { conn: Some(conn), path, tmp: Some(tmp), overwrite, tables: HashMap::new() };
        let schema = format!(
            "PRAGMA application_id = {APPLICATION_ID};
             PRAGMA user_version = {USER_VERSION};
             PRAGMA journal_mode = OFF;
             PRAGMA synchronous = OFF;
             PRAGMA foreign_keys = ON;
             BEGIN;
             CREATE TABLE gpkg_spatial_ref_sys (
               srs_name TEXT NOT NULL, srs_id INTEGER NOT NULL PRIMARY KEY,
               organization TEXT NOT NULL, organization_coordsys_id INTEGER NOT NULL,
               definition TEXT NOT NULL, description TEXT);
             CREATE TABLE gpkg_contents (
               table_name TEXT NOT NULL PRIMARY KEY, data_type TEXT NOT NULL,
               identifier TEXT UNIQUE, description TEXT DEFAULT '',
               last_change DATETIME NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
               min_x DOUBLE, min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER,
               CONSTRAINT fk_gc_r_srs_id FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys(srs_id));
             CREATE TABLE gpkg_geometry_columns (
               table_name TEXT NOT NULL, column_name TEXT NOT NULL, geometry_type_name TEXT NOT NULL,
               srs_id INTEGER NOT NULL, z TINYINT NOT NULL, m TINYINT NOT NULL,
               CONSTRAINT pk_geom_cols PRIMARY KEY (table_name, column_name),
               CONSTRAINT uk_gc_table_name UNIQUE (table_name),
               CONSTRAINT fk_gc_tn FOREIGN KEY (table_name) REFERENCES gpkg_contents(table_name),
               CONSTRAINT fk_gc_srs FOREIGN KEY (srs_id) REFERENCES gpkg_spatial_ref_sys (srs_id));"
        );
        w.conn().execute_batch(&schema).ctx(&w.path, || "creating the GeoPackage tables".into())?;
        w.add_srs(
            SRS_UNDEFINED_CARTESIAN,
            "Undefined Cartesian SRS",
            "NONE",
            -1,
            "undefined",
            "undefined Cartesian coordinate reference system",
        )?;
        w.add_srs(
            SRS_UNDEFINED_GEOGRAPHIC,
            "Undefined geographic SRS",
            "NONE",
            0,
            "undefined",
            "undefined geographic coordinate reference system",
        )?;
        w.add_srs(
            SRS_WGS84,
            "WGS 84 geodetic",
            "EPSG",
            4326,
            WGS84_WKT,
            "longitude/latitude coordinates in decimal degrees on the WGS 84 spheroid",
        )?;
        w.add_srs(
            SRS_LOCAL_UNDEFINED,
            "Undefined SRS",
            "GDAL",
            99999,
            LOCAL_WKT,
            "Custom undefined coordinate reference system",
        )?;
        Ok(w)
    }

    fn conn(&self) -> &Connection {
        self.conn.as_ref().expect("connection is open until commit")
    }

    /// The final path (where the file appears on commit).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying connection (inside the open transaction), for statements the
    /// helpers do not cover. Do not COMMIT or ROLLBACK through it.
    pub fn connection(&self) -> &Connection {
        self.conn()
    }

    /// Adds a spatial reference system row (ignored when `srs_id` is already present),
    /// e.g. EPSG:3857 with its WKT definition.
    pub fn add_srs(
        &mut self,
        srs_id: i32,
        name: &str,
        organization: &str,
        organization_coordsys_id: i32,
        definition: &str,
        description: &str,
    ) -> Result<(), GpkgError> {
        self.conn()
            .execute(
                "INSERT OR IGNORE INTO gpkg_spatial_ref_sys
                 (srs_name, srs_id, organization, organization_coordsys_id, definition, description)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                rusqlite::params![name, srs_id, organization, organization_coordsys_id, definition, description],
            )
            .ctx(&self.path, || format!("adding spatial reference system {srs_id}"))?;
        Ok(())
    }

    fn check_new_table(&self, name: &str, columns: &[Column], reserved: &[&str]) -> Result<(), GpkgError> {
        let usage = |reason: String| GpkgError::from(GpkgErrorKind::Usage { path: self.path.clone(), reason });
        let lower = name.to_ascii_lowercase();
        if name.is_empty() || lower.starts_with("gpkg_") || lower.starts_with("sqlite_") || lower.starts_with("rtree_")
        {
            return Err(usage(format!("invalid table name {name:?}")));
        }
        if self.tables.keys().any(|t| t.eq_ignore_ascii_case(name)) {
            return Err(usage(format!("table {name:?} was already added")));
        }
        let mut seen: Vec<String> = reserved.iter().map(|s| s.to_string()).collect();
        for c in columns {
            let l = c.name.to_ascii_lowercase();
            if c.name.is_empty() || seen.contains(&l) {
                return Err(usage(format!("table {name:?}: column name {:?} is empty, reserved or repeated", c.name)));
            }
            seen.push(l);
        }
        Ok(())
    }

    fn create_table(
        &mut self,
        name: &str,
        geom: Option<(GeometryType, i32)>,
        columns: &[Column],
    ) -> Result<(), GpkgError> {
        let mut sql =
            format!("CREATE TABLE {} ({} INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL", quote_ident(name), FID_COLUMN);
        if let Some((t, _)) = geom {
            sql.push_str(&format!(", {} {}", GEOMETRY_COLUMN, t.as_str()));
        }
        for c in columns {
            sql.push_str(&format!(", {} {}", quote_ident(&c.name), c.kind.sql()));
        }
        sql.push(')');
        let ctx = || format!("creating table {name:?}");
        self.conn().execute(&sql, []).ctx(&self.path, ctx)?;
        let (data_type, srs) = match geom {
            Some((_, srs)) => ("features", Some(srs)),
            None => ("attributes", None),
        };
        self.conn()
            .execute(
                "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, srs_id)
                 VALUES (?1, ?2, ?1, '', ?3)",
                rusqlite::params![name, data_type, srs],
            )
            .ctx(&self.path, ctx)?;
        if let Some((t, srs)) = geom {
            self.conn()
                .execute(
                    "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m)
                     VALUES (?1, ?2, ?3, ?4, 0, 0)",
                    rusqlite::params![name, GEOMETRY_COLUMN, t.as_str(), srs],
                )
                .ctx(&self.path, ctx)?;
        }
        let n = columns.len() + usize::from(geom.is_some());
        let names: Vec<String> = geom
            .map(|_| GEOMETRY_COLUMN.to_string())
            .into_iter()
            .chain(columns.iter().map(|c| quote_ident(&c.name)))
            .collect();
        let marks: Vec<String> = (1..=n).map(|i| format!("?{i}")).collect();
        let insert_sql = if n == 0 {
            format!("INSERT INTO {} DEFAULT VALUES", quote_ident(name))
        } else {
            format!("INSERT INTO {} ({}) VALUES ({})", quote_ident(name), names.join(", "), marks.join(", "))
        };
        self.tables.insert(
            name.to_string(),
            TableInfo { srs_id: geom.map(|g| g.1), n_columns: columns.len(), insert_sql, extent: Envelope::EMPTY },
        );
        Ok(())
    }

    /// Creates a feature table `name` with `fid`, a `geom` column of `geometry_type` in
    /// `srs_id` (which must be in `gpkg_spatial_ref_sys`, see [`GpkgWriter::add_srs`]),
    /// and `columns`; registers it in `gpkg_contents` and `gpkg_geometry_columns`.
    pub fn add_features_table(
        &mut self,
        name: &str,
        geometry_type: GeometryType,
        srs_id: i32,
        columns: &[Column],
    ) -> Result<(), GpkgError> {
        self.check_new_table(name, columns, &[FID_COLUMN, GEOMETRY_COLUMN])?;
        self.create_table(name, Some((geometry_type, srs_id)), columns)
    }

    /// Creates an attribute (non-spatial) table `name` with `fid` and `columns`, and
    /// registers it in `gpkg_contents` with data type `attributes`.
    pub fn add_attributes_table(&mut self, name: &str, columns: &[Column]) -> Result<(), GpkgError> {
        self.check_new_table(name, columns, &[FID_COLUMN])?;
        self.create_table(name, None, columns)
    }

    fn table(&self, name: &str) -> Result<&TableInfo, GpkgError> {
        self.tables.get(name).ok_or_else(|| {
            GpkgErrorKind::Usage {
                path: self.path.clone(),
                reason: format!("table {name:?} was not added to this writer"),
            }
            .into()
        })
    }

    fn check_arity(&self, table: &str, n: usize, values: &[Value]) -> Result<(), GpkgError> {
        if values.len() != n {
            return Err(GpkgErrorKind::Usage {
                path: self.path.clone(),
                reason: format!("table {table:?} has {n} value columns, {} values given", values.len()),
            }
            .into());
        }
        Ok(())
    }

    /// Inserts one feature (geometry or NULL, then the values in column order) into a
    /// feature table; returns its `fid` (1, 2, ... in insertion order).
    pub fn insert_feature(
        &mut self,
        table: &str,
        geometry: Option<&Geometry<f64>>,
        values: &[Value],
    ) -> Result<i64, GpkgError> {
        let info = self.table(table)?;
        let Some(srs) = info.srs_id else {
            return Err(GpkgErrorKind::Usage {
                path: self.path.clone(),
                reason: format!("table {table:?} is an attribute table: use insert_row"),
            }
            .into());
        };
        self.check_arity(table, info.n_columns, values)?;
        let (blob, env) = match geometry {
            Some(g) => {
                let (b, e) = encode(g, srs);
                (Value::Blob(b), e)
            }
            None => (Value::Null, Envelope::EMPTY),
        };
        let fid = {
            let conn = self.conn.as_ref().expect("connection is open until commit");
            let mut st = conn.prepare_cached(&info.insert_sql).ctx(&self.path, || format!("writing to {table:?}"))?;
            let params = std::iter::once(&blob).chain(values.iter());
            st.execute(rusqlite::params_from_iter(params)).ctx(&self.path, || format!("writing to {table:?}"))?;
            conn.last_insert_rowid()
        };
        if let Some(t) = self.tables.get_mut(table) {
            t.extent.merge(&env);
        }
        Ok(fid)
    }

    /// Inserts one row (values in column order) into an attribute table; returns its `fid`.
    pub fn insert_row(&mut self, table: &str, values: &[Value]) -> Result<i64, GpkgError> {
        let info = self.table(table)?;
        if info.srs_id.is_some() {
            return Err(GpkgErrorKind::Usage {
                path: self.path.clone(),
                reason: format!("table {table:?} is a feature table: use insert_feature"),
            }
            .into());
        }
        self.check_arity(table, info.n_columns, values)?;
        let conn = self.conn.as_ref().expect("connection is open until commit");
        let mut st = conn.prepare_cached(&info.insert_sql).ctx(&self.path, || format!("writing to {table:?}"))?;
        st.execute(rusqlite::params_from_iter(values.iter())).ctx(&self.path, || format!("writing to {table:?}"))?;
        Ok(conn.last_insert_rowid())
    }

    /// Records the feature tables' extents in `gpkg_contents`, commits, closes the file
    /// and renames it to the target path (refusing, without `overwrite`, a target that
    /// appeared meanwhile).
    pub fn commit(mut self) -> Result<(), GpkgError> {
        for (name, t) in &self.tables {
            if t.srs_id.is_some() && !t.extent.is_empty() {
                let e = t.extent;
                self.conn()
                    .execute(
                        "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4 WHERE table_name = ?5",
                        rusqlite::params![e.min_x, e.min_y, e.max_x, e.max_y, name],
                    )
                    .ctx(&self.path, || format!("recording the extent of {name:?}"))?;
            }
        }
        self.conn().execute_batch("COMMIT").ctx(&self.path, || "committing".into())?;
        let conn = self.conn.take().expect("connection is open until commit");
        conn.close().map_err(|(_, source)| GpkgErrorKind::Sqlite {
            path: self.path.clone(),
            context: "closing the file".into(),
            source,
        })?;
        if !self.overwrite && self.path.exists() {
            return Err(GpkgErrorKind::Exists { path: self.path.clone() }.into());
        }
        if let Some(tmp) = self.tmp.take() {
            tmp.commit().map_err(|source| GpkgErrorKind::Io { path: self.path.clone(), source })?;
        }
        Ok(())
    }
}

impl Drop for GpkgWriter {
    fn drop(&mut self) {
        // Close before the temporary file is deleted (a committed writer renamed it).
        drop(self.conn.take());
        drop(self.tmp.take());
    }
}
