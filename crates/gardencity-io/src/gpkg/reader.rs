//! A small, strict GeoPackage reader: open a file, look up layers and columns, and
//! iterate rows with typed getters whose errors name the file, layer, feature and column.

use super::error::{GpkgError, GpkgErrorKind, SqlContext};
use super::geom::{decode, geometry_name};
use geo_types::Geometry;
use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Quotes an SQL identifier (`"name"`, inner quotes doubled).
pub(crate) fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// An open GeoPackage, read-only.
///
/// ```no_run
/// use gardencity_io::gpkg::GpkgReader;
/// let r = GpkgReader::open("city.gpkg")?;
/// if r.has_table("hubs")? {
///     r.require_columns("hubs", &[("hub_x", "integer street x"), ("hub_y", "integer street y")])?;
///     r.for_each_row("hubs", &["hub_x", "hub_y"], |row| {
///         let (x, y) = (row.i64("hub_x")?, row.i64("hub_y")?);
///         println!("{} at ({x}, {y})", row.feature());
///         Ok(())
///     })?;
/// }
/// # Ok::<(), gardencity_io::gpkg::GpkgError>(())
/// ```
#[derive(Debug)]
pub struct GpkgReader {
    conn: Connection,
    path: PathBuf,
}

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

impl GpkgReader {
    /// Opens a GeoPackage read-only.
    ///
    /// Errors: [`GpkgErrorKind::Io`] when the file is missing or unreadable,
    /// [`GpkgErrorKind::NotSqlite`] when it is not an SQLite database, and
    /// [`GpkgErrorKind::NotGeoPackage`] when it lacks `gpkg_contents` or `gpkg_geometry_columns`.
    pub fn open(path: impl AsRef<Path>) -> Result<GpkgReader, GpkgError> {
        let path = path.as_ref().to_path_buf();
        let io = |source| GpkgErrorKind::Io { path: path.clone(), source };
        let meta = std::fs::metadata(&path).map_err(io)?;
        if meta.is_dir() {
            return Err(GpkgErrorKind::NotSqlite { path, reason: "it is a directory".into() }.into());
        }
        if meta.len() == 0 {
            return Err(GpkgErrorKind::NotGeoPackage { path, reason: "the file is empty".into() }.into());
        }
        let mut head = [0u8; 16];
        {
            use std::io::Read;
            let mut f = std::fs::File::open(&path).map_err(io)?;
            let mut n = 0;
            while n < head.len() {
                match f.read(&mut head[n..]).map_err(io)? {
                    0 => break,
                    k => n += k,
                }
            }
            if n < 16 || &head != SQLITE_MAGIC {
                let shown: String = head[..n]
                    .iter()
                    .map(|&b| if b.is_ascii_graphic() || b == b' ' { b as char } else { '.' })
                    .collect();
                return Err(GpkgErrorKind::NotSqlite {
                    path,
                    reason: format!("expected the header \"SQLite format 3\", found {shown:?}"),
                }
                .into());
            }
        }
        let conn =
            Connection::open_with_flags(&path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
                .ctx(&path, || "opening the database".into())?;
        let r = GpkgReader { conn, path };
        let mut missing = Vec::new();
        for t in ["gpkg_contents", "gpkg_geometry_columns", "gpkg_spatial_ref_sys"] {
            if !r.has_table(t)? {
                missing.push(t);
            }
        }
        if !missing.is_empty() {
            return Err(GpkgErrorKind::NotGeoPackage {
                path: r.path,
                reason: format!("the SQLite database has no {} table", missing.join(" and no ")),
            }
            .into());
        }
        Ok(r)
    }

    /// The file path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The underlying read-only SQLite connection, for queries the helpers do not cover.
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The layers listed in `gpkg_contents` (features and attributes) whose table
    /// exists, in file order. Entries whose table was dropped are left out (see
    /// [`GpkgReader::stale_layers`]).
    pub fn layers(&self) -> Result<Vec<String>, GpkgError> {
        self.contents(true)
    }

    /// The layers listed in `gpkg_contents` whose table does not exist (dropped
    /// without updating the metadata), in file order.
    pub fn stale_layers(&self) -> Result<Vec<String>, GpkgError> {
        self.contents(false)
    }

    fn contents(&self, existing: bool) -> Result<Vec<String>, GpkgError> {
        let sql = format!(
            "SELECT c.table_name FROM gpkg_contents c WHERE {} EXISTS (SELECT 1 FROM sqlite_master m \
             WHERE m.type IN ('table', 'view') AND lower(m.name) = lower(c.table_name)) ORDER BY c.rowid",
            if existing { "" } else { "NOT" }
        );
        let mut st = self.conn.prepare(&sql).ctx(&self.path, || "listing gpkg_contents".into())?;
        let names = st
            .query_map([], |r| r.get::<_, String>(0))
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .ctx(&self.path, || "listing gpkg_contents".into())?;
        Ok(names)
    }

    /// True when a table (layer) of that name exists (case-insensitive, as in SQLite).
    pub fn has_table(&self, name: &str) -> Result<bool, GpkgError> {
        self.conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type IN ('table', 'view') AND lower(name) = lower(?1)",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .map(|n| n > 0)
            .ctx(&self.path, || format!("looking up table {name:?}"))
    }

    /// Fails with [`GpkgErrorKind::MissingLayer`] unless the table exists.
    pub fn require_table(&self, name: &str) -> Result<(), GpkgError> {
        if self.has_table(name)? {
            return Ok(());
        }
        let present = self.layers().unwrap_or_default();
        let mut available = if present.is_empty() { "none".to_string() } else { present.join(", ") };
        if self.stale_layers().unwrap_or_default().iter().any(|l| l.eq_ignore_ascii_case(name)) {
            available.push_str(&format!("; gpkg_contents still lists {name:?}, but its table is gone"));
        }
        Err(GpkgErrorKind::MissingLayer { path: self.path.clone(), layer: name.to_string(), available }.into())
    }

    /// The column names of a table, in declaration order. Fails when the table is missing.
    pub fn columns(&self, table: &str) -> Result<Vec<String>, GpkgError> {
        self.require_table(table)?;
        let sql = format!("PRAGMA table_info({})", quote_ident(table));
        let mut st = self.conn.prepare(&sql).ctx(&self.path, || format!("reading the columns of {table:?}"))?;
        let cols = st
            .query_map([], |r| r.get::<_, String>(1))
            .and_then(|it| it.collect::<Result<Vec<_>, _>>())
            .ctx(&self.path, || format!("reading the columns of {table:?}"))?;
        Ok(cols)
    }

    /// True when the table has the column (case-insensitive). Fails when the table is missing.
    pub fn has_column(&self, table: &str, column: &str) -> Result<bool, GpkgError> {
        Ok(self.columns(table)?.iter().any(|c| c.eq_ignore_ascii_case(column)))
    }

    /// Fails with [`GpkgErrorKind::MissingLayer`] or [`GpkgErrorKind::MissingColumn`] unless the
    /// table has every column; each column comes with a description of what it should hold.
    pub fn require_columns(&self, table: &str, columns: &[(&str, &str)]) -> Result<(), GpkgError> {
        let have = self.columns(table)?;
        for &(c, expected) in columns {
            if !have.iter().any(|h| h.eq_ignore_ascii_case(c)) {
                return Err(GpkgErrorKind::MissingColumn {
                    path: self.path.clone(),
                    layer: table.to_string(),
                    column: c.to_string(),
                    expected: expected.to_string(),
                    available: have.join(", "),
                }
                .into());
            }
        }
        Ok(())
    }

    /// The geometry column of a feature layer from `gpkg_geometry_columns`, or `None`
    /// for an attribute table.
    pub fn geometry_column(&self, table: &str) -> Result<Option<String>, GpkgError> {
        let mut st = self
            .conn
            .prepare("SELECT column_name FROM gpkg_geometry_columns WHERE lower(table_name) = lower(?1)")
            .ctx(&self.path, || format!("reading gpkg_geometry_columns for {table:?}"))?;
        let mut rows = st.query([table]).ctx(&self.path, || format!("reading gpkg_geometry_columns for {table:?}"))?;
        match rows.next().ctx(&self.path, || format!("reading gpkg_geometry_columns for {table:?}"))? {
            Some(r) => Ok(Some(r.get(0).ctx(&self.path, || "reading gpkg_geometry_columns.column_name".into())?)),
            None => Ok(None),
        }
    }

    /// The declared spatial reference system of a feature layer, as `(organization,
    /// code, srs_id)` from `gpkg_geometry_columns` and `gpkg_spatial_ref_sys`; `None`
    /// for an attribute table or an SRS that is not registered.
    pub fn layer_srs(&self, table: &str) -> Result<Option<(String, i64, i64)>, GpkgError> {
        let what = || format!("reading the spatial reference system of {table:?}");
        let mut st = self
            .conn
            .prepare(
                "SELECT s.organization, s.organization_coordsys_id, s.srs_id FROM gpkg_geometry_columns g \
                 JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id WHERE lower(g.table_name) = lower(?1)",
            )
            .ctx(&self.path, what)?;
        let mut rows = st.query([table]).ctx(&self.path, what)?;
        match rows.next().ctx(&self.path, what)? {
            Some(r) => Ok(Some((
                r.get::<_, Option<String>>(0).ctx(&self.path, what)?.unwrap_or_default(),
                r.get::<_, Option<i64>>(1).ctx(&self.path, what)?.unwrap_or(0),
                r.get(2).ctx(&self.path, what)?,
            ))),
            None => Ok(None),
        }
    }

    /// Number of rows of a table.
    pub fn row_count(&self, table: &str) -> Result<u64, GpkgError> {
        self.require_table(table)?;
        let sql = format!("SELECT count(*) FROM {}", quote_ident(table));
        self.conn
            .query_row(&sql, [], |r| r.get::<_, i64>(0))
            .map(|n| n as u64)
            .ctx(&self.path, || format!("counting the rows of {table:?}"))
    }

    /// Calls `f` on every row of `table` in `fid` (rowid) order with the requested
    /// columns available by name through the [`Row`] getters. Stops at the first error.
    ///
    /// Every requested column must exist (else [`GpkgErrorKind::MissingColumn`]; call
    /// [`GpkgReader::require_columns`] first for a better "expected" text). When the table
    /// has an `id` column, features are labelled `fid N (id X)` in errors.
    pub fn for_each_row<F>(&self, table: &str, columns: &[&str], mut f: F) -> Result<(), GpkgError>
    where
        F: FnMut(&Row<'_>) -> Result<(), GpkgError>,
    {
        let have = self.columns(table)?;
        let req: Vec<(&str, &str)> = columns.iter().map(|&c| (c, "a column the reader needs")).collect();
        self.require_columns(table, &req)?;
        let id_col = have.iter().find(|c| c.eq_ignore_ascii_case("id"));
        let mut sql = String::from("SELECT rowid");
        sql.push_str(&format!(", {}", id_col.map_or("NULL".to_string(), |c| quote_ident(c))));
        for c in columns {
            sql.push_str(", ");
            sql.push_str(&quote_ident(c));
        }
        sql.push_str(&format!(" FROM {} ORDER BY rowid", quote_ident(table)));
        let ctx = || format!("reading layer {table:?}");
        let mut st = self.conn.prepare(&sql).ctx(&self.path, ctx)?;
        let mut rows = st.query([]).ctx(&self.path, ctx)?;
        while let Some(r) = rows.next().ctx(&self.path, ctx)? {
            let fid: i64 = r.get(0).ctx(&self.path, ctx)?;
            let label = match r.get_ref(1).ctx(&self.path, ctx)? {
                ValueRef::Text(t) => format!("fid {fid} (id {})", String::from_utf8_lossy(t)),
                ValueRef::Integer(i) => format!("fid {fid} (id {i})"),
                _ => format!("fid {fid}"),
            };
            let row = Row { row: r, path: &self.path, table, columns, fid, label };
            f(&row)?;
        }
        Ok(())
    }
}

/// One row during [`GpkgReader::for_each_row`], with typed getters by column name.
///
/// Integers stored as integral REALs are accepted as integers and integers as reals
/// (SQLite is dynamically typed); text where a number is expected, NULL where a value is
/// required, and undecodable geometries are errors naming file, layer, feature and column.
pub struct Row<'a> {
    row: &'a rusqlite::Row<'a>,
    path: &'a Path,
    table: &'a str,
    columns: &'a [&'a str],
    fid: i64,
    label: String,
}

fn describe(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("integer {i}"),
        ValueRef::Real(f) => format!("real {f}"),
        ValueRef::Text(t) => {
            let s = String::from_utf8_lossy(t);
            if s.chars().count() > 40 {
                format!("text {:?}...", s.chars().take(40).collect::<String>())
            } else {
                format!("text {s:?}")
            }
        }
        ValueRef::Blob(b) => format!("a blob of {} bytes", b.len()),
    }
}

impl<'a> Row<'a> {
    /// The feature id (rowid).
    pub fn fid(&self) -> i64 {
        self.fid
    }
    /// The feature label used in errors: `fid N` or `fid N (id X)`.
    pub fn feature(&self) -> &str {
        &self.label
    }
    /// The layer being read.
    pub fn layer(&self) -> &str {
        self.table
    }

    /// An error about the value of `column` in this row.
    pub fn bad_value(&self, column: &str, expected: impl Into<String>, found: impl Into<String>) -> GpkgError {
        GpkgErrorKind::BadValue {
            path: self.path.to_path_buf(),
            layer: self.table.to_string(),
            feature: self.label.clone(),
            column: column.to_string(),
            expected: expected.into(),
            found: found.into(),
        }
        .into()
    }

    /// An error about the geometry in `column` of this row.
    pub fn bad_geometry(&self, column: &str, expected: impl Into<String>, found: impl Into<String>) -> GpkgError {
        GpkgErrorKind::BadGeometry {
            path: self.path.to_path_buf(),
            layer: self.table.to_string(),
            feature: self.label.clone(),
            column: column.to_string(),
            expected: expected.into(),
            found: found.into(),
        }
        .into()
    }

    /// The raw value of a requested column.
    pub fn value(&self, column: &str) -> Result<ValueRef<'_>, GpkgError> {
        let i =
            self.columns.iter().position(|c| c.eq_ignore_ascii_case(column)).ok_or_else(|| GpkgErrorKind::Usage {
                path: self.path.to_path_buf(),
                reason: format!("column {column:?} of layer {:?} was not requested in for_each_row", self.table),
            })?;
        self.row.get_ref(i + 2).ctx(self.path, || format!("reading column {column:?} of layer {:?}", self.table))
    }

    /// An integer, or `None` for NULL.
    pub fn opt_i64(&self, column: &str) -> Result<Option<i64>, GpkgError> {
        match self.value(column)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(i) => Ok(Some(i)),
            ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(Some(f as i64)),
            v => Err(self.bad_value(column, "an integer", describe(v))),
        }
    }
    /// A required integer.
    pub fn i64(&self, column: &str) -> Result<i64, GpkgError> {
        self.opt_i64(column)?.ok_or_else(|| self.bad_value(column, "an integer", "NULL"))
    }
    /// A real number, or `None` for NULL.
    pub fn opt_f64(&self, column: &str) -> Result<Option<f64>, GpkgError> {
        match self.value(column)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(i) => Ok(Some(i as f64)),
            ValueRef::Real(f) => Ok(Some(f)),
            v => Err(self.bad_value(column, "a number", describe(v))),
        }
    }
    /// A required real number.
    pub fn f64(&self, column: &str) -> Result<f64, GpkgError> {
        self.opt_f64(column)?.ok_or_else(|| self.bad_value(column, "a number", "NULL"))
    }
    /// A text value, or `None` for NULL. Integers are accepted and formatted.
    pub fn opt_text(&self, column: &str) -> Result<Option<String>, GpkgError> {
        match self.value(column)? {
            ValueRef::Null => Ok(None),
            ValueRef::Text(t) => match std::str::from_utf8(t) {
                Ok(s) => Ok(Some(s.to_string())),
                Err(_) => Err(self.bad_value(column, "UTF-8 text", "invalid UTF-8")),
            },
            ValueRef::Integer(i) => Ok(Some(i.to_string())),
            v => Err(self.bad_value(column, "text", describe(v))),
        }
    }
    /// A required text value.
    pub fn text(&self, column: &str) -> Result<String, GpkgError> {
        self.opt_text(column)?.ok_or_else(|| self.bad_value(column, "text", "NULL"))
    }
    /// A geometry (GeoPackage binary), or `None` for NULL.
    pub fn opt_geometry(&self, column: &str) -> Result<Option<Geometry<f64>>, GpkgError> {
        match self.value(column)? {
            ValueRef::Null => Ok(None),
            ValueRef::Blob(b) => decode(b).map(Some).map_err(|e| self.bad_geometry(column, "a geometry", e)),
            v => Err(self.bad_geometry(column, "a GeoPackage binary geometry", describe(v))),
        }
    }
    /// A required geometry.
    pub fn geometry(&self, column: &str) -> Result<Geometry<f64>, GpkgError> {
        self.opt_geometry(column)?.ok_or_else(|| self.bad_geometry(column, "a geometry", "NULL"))
    }
}

/// A short name of a geometry's type (`Polygon`, `MultiPolygon`...), for messages.
pub fn geometry_type_name(g: &Geometry<f64>) -> &'static str {
    geometry_name(g)
}
