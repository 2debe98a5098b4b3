//! Gravity layers of a city GeoPackage (MODEL.md section 7).
//!
//! The reference's four layers, written the way its `City.save_geopackage(...,
//! persist_gravity_data=True)` writes them so that its `City.from_geopackage(path,
//! load_gravity=True)` loads ours (it reads each with geopandas, drops the `geometry`
//! column, and silently loads no gravity on any error). Each is a spatial layer with a
//! `POINT` geometry column `geom` in the SRS of layer `buildings` (the reference's
//! "Undefined SRS" 99999 for cities in block units):
//! - `hubs` (`hub_x`, `hub_y`), one row per hub in hub order, the point at the hub cell;
//! - `hub_distances` (`hub_dist_flat`, `n_hubs`), the hub-to-hub street distances
//!   row-major in the order of `hubs` (the reference's own files have them in sorted
//!   `(x, y)` hub order, a known defect; NULL where unreachable), `POINT (0 0)`;
//! - `grav_hub_info` (`index` = building id, `closest_hub_idx`, `dist_to_hub`), one row
//!   per building in building order, `POINT (0 0)`;
//! - `nearby_doors` (`bid_i`, `bid_j`, `dist`), each unordered pair once (`bid_i` first in
//!   building order), `dist` the Manhattan door distance but 1 for distinct buildings
//!   sharing a door cell, `POINT (0 0)`; left out, as the reference does, when there are
//!   no nearby pairs.
//!
//! Besides them, our attribute table `gravity_properties` (`exponent`, `mode`, `n_hubs`,
//! `n_buildings`) holds our parameters. Files without it (written by the reference) mean
//! exponent 2, hub proxy. In exact mode only `gravity_properties` is written; the door
//! distances are recomputed on reading.
//!
//! [`write_gravity`] adds the layers to an existing file (any old gravity layers are
//! replaced) through a copy renamed into place, so the file is never left half-written.
//! [`read_gravity`] reads the reference's files and ours, old (attribute tables, `id`
//! column, pairs in both orders) and new; it checks everything against the city and
//! recomputes the hub distance matrix when it disagrees with the street graph (the
//! reference's sorted order), with a warning.

use super::error::{GpkgError, GpkgErrorKind, SqlContext};
use super::geom::{encode, Envelope};
use super::reader::{quote_ident, GpkgReader, Row};
use super::writer::{GEOMETRY_COLUMN, LOCAL_WKT, SRS_LOCAL_UNDEFINED};
use gardencity::gravity::{hub_distances, Gravity, GravityError, GravityMode, GravityParams, HubProxyParts};
use gardencity::{BuildingIdx, Cell, City};
use rusqlite::Connection;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

/// Layer of the hub cells.
pub const HUBS_LAYER: &str = "hubs";
/// Layer of the flattened hub distance matrix.
pub const HUB_DISTANCES_LAYER: &str = "hub_distances";
/// Layer of each building's closest hub.
pub const HUB_INFO_LAYER: &str = "grav_hub_info";
/// Layer of the nearby building pairs.
pub const NEARBY_LAYER: &str = "nearby_doors";
/// Layer of the gravity parameters.
pub const GRAVITY_PROPERTIES_LAYER: &str = "gravity_properties";

const HUB_LAYERS: [&str; 4] = [HUBS_LAYER, HUB_DISTANCES_LAYER, HUB_INFO_LAYER, NEARBY_LAYER];
const ALL_LAYERS: [&str; 5] = [HUBS_LAYER, HUB_DISTANCES_LAYER, HUB_INFO_LAYER, NEARBY_LAYER, GRAVITY_PROPERTIES_LAYER];
/// Column names accepted for the building id of `grav_hub_info`: the reference writes its
/// DataFrame index (`index`), which we write too; our older files have `id`.
const ID_COLUMNS: [&str; 4] = ["index", "id", "building_id", "bid"];
/// The building-id column of `grav_hub_info` as written (the reference reads it by name).
const HUB_INFO_ID_COLUMN: &str = "index";

/// Why gravity layers could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum GravityIoError {
    /// A GeoPackage-level problem (file, layer, column, value), naming file, layer, feature.
    #[error(transparent)]
    Gpkg(#[from] GpkgError),
    /// A layer whose content as a whole is inconsistent (row counts, missing companions).
    #[error("{path}: layer {layer:?}: {reason}")]
    Layer {
        /// The file.
        path: PathBuf,
        /// The layer.
        layer: String,
        /// What was expected.
        reason: String,
    },
    /// The stored gravity does not match the city's buildings and streets.
    #[error("{path}: layer {layer:?} does not match the city: {source}")]
    Mismatch {
        /// The file.
        path: PathBuf,
        /// The layer holding the offending data.
        layer: String,
        /// The model's check that failed.
        #[source]
        source: GravityError,
    },
    /// Writing was cancelled (its cancel flag was set); the file is unchanged.
    #[error("{path}: writing the gravity layers was cancelled; the file is unchanged")]
    Cancelled {
        /// The file.
        path: PathBuf,
    },
    /// Building the gravity model failed (e.g. exact mode above its memory limit).
    #[error("{path}: cannot build the gravity model: {source}")]
    Build {
        /// The file.
        path: PathBuf,
        /// The model error.
        #[source]
        source: GravityError,
    },
}

/// A gravity model read from a file, with notes about repairs made while reading.
#[derive(Debug, Clone, PartialEq)]
pub struct GravityRead {
    /// The model.
    pub gravity: Gravity,
    /// Human-readable warnings (e.g. a hub distance matrix recomputed); empty when none.
    pub warnings: Vec<String>,
}

fn temp_prefix(path: &Path) -> String {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "city.gpkg".into());
    format!(".{name}.gravity-")
}

/// Removes the temporary copies (and SQLite journals) that killed writers of this file
/// left beside it: `.NAME.gravity-PID.tmp` whose process no longer runs (Linux).
fn remove_stale_temps(path: &Path) {
    if !cfg!(target_os = "linux") {
        return;
    }
    let prefix = temp_prefix(path);
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix(&prefix) else { continue };
        let pid = rest.split('.').next().and_then(|p| p.parse::<u32>().ok());
        let ours = rest.ends_with(".tmp") || rest.ends_with(".tmp-journal") || rest.ends_with(".tmp-wal");
        if let (Some(pid), true) = (pid, ours) {
            if pid != std::process::id() && !Path::new("/proc").join(pid.to_string()).exists() {
                let _ = std::fs::remove_file(e.path());
            }
        }
    }
}

/// Stores `gravity` (built for `city`) in the GeoPackage at `path`, replacing any gravity
/// layers already there. The file is copied, modified in one transaction and renamed back.
pub fn write_gravity(path: impl AsRef<Path>, city: &City, gravity: &Gravity) -> Result<(), GravityIoError> {
    write_gravity_cancellable(path, city, gravity, &AtomicBool::new(false))
}

/// [`write_gravity`] that stops when `cancel` is set ([`GravityIoError::Cancelled`]),
/// leaving the file unchanged and no temporary copy. Temporary copies left beside the
/// file by killed writers are removed first.
pub fn write_gravity_cancellable(
    path: impl AsRef<Path>,
    city: &City,
    gravity: &Gravity,
    cancel: &AtomicBool,
) -> Result<(), GravityIoError> {
    let path = path.as_ref();
    remove_stale_temps(path);
    // Validate the file first (existence, GeoPackage tables) with the strict reader.
    drop(GpkgReader::open(path)?);
    if gravity.building_count() != city.buildings().len() {
        return Err(GravityIoError::Mismatch {
            path: path.to_path_buf(),
            layer: HUB_INFO_LAYER.into(),
            source: GravityError::Mismatch {
                field: "buildings",
                index: None,
                reason: format!(
                    "the gravity covers {} buildings, the city has {}",
                    gravity.building_count(),
                    city.buildings().len()
                ),
            },
        });
    }
    // `.NAME.gravity-PID.tmp`, the name `remove_stale_temps` looks for.
    let atomic = crate::atomic::AtomicPath::new(path, "gravity");
    let tmp = atomic.tmp().to_path_buf();
    let io = |source| GpkgError::from(GpkgErrorKind::Io { path: path.to_path_buf(), source });
    std::fs::copy(path, &tmp).map_err(io)?;
    {
        let mut conn = Connection::open(&tmp).ctx(path, || "opening a copy for writing".into())?;
        let tx = conn.transaction().ctx(path, || "starting a transaction".into())?;
        let cancelled = || GravityIoError::Cancelled { path: path.to_path_buf() };
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        // A cancel interrupts the statement running (SQLite's own interrupt).
        let interrupt = tx.get_interrupt_handle();
        let done = AtomicBool::new(false);
        let written = std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    if cancel.load(Ordering::Relaxed) {
                        interrupt.interrupt();
                        return;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
            });
            let r = write_layers(&tx, path, city, gravity);
            done.store(true, Ordering::Relaxed);
            r
        });
        if cancel.load(Ordering::Relaxed) {
            return Err(cancelled());
        }
        written?;
        tx.commit().ctx(path, || "committing the gravity layers".into())?;
        conn.close().map_err(|(_, source)| {
            GpkgError::from(GpkgErrorKind::Sqlite {
                path: path.to_path_buf(),
                context: "closing the file".into(),
                source,
            })
        })?;
    }
    atomic.commit().map_err(io)?;
    Ok(())
}

fn table_exists(conn: &Connection, path: &Path, name: &str) -> Result<bool, GpkgError> {
    conn.query_row("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?1", [name], |r| {
        r.get::<_, i64>(0)
    })
    .ctx(path, || format!("looking up table {name:?}"))
    .map(|n| n > 0)
}

fn drop_layer(conn: &Connection, path: &Path, name: &str) -> Result<(), GpkgError> {
    let ctx = || format!("removing the old layer {name:?}");
    // The spatial index GDAL makes for a feature layer goes with it.
    let geom_cols: Vec<String> = {
        let mut st = conn
            .prepare("SELECT column_name FROM gpkg_geometry_columns WHERE lower(table_name) = lower(?1)")
            .ctx(path, ctx)?;
        let cols = st.query_map([name], |r| r.get::<_, String>(0)).and_then(|it| it.collect()).ctx(path, ctx)?;
        cols
    };
    for c in &geom_cols {
        let rtree = format!("rtree_{name}_{c}");
        conn.execute(&format!("DROP TABLE IF EXISTS {}", quote_ident(&rtree)), []).ctx(path, ctx)?;
    }
    conn.execute(&format!("DROP TABLE IF EXISTS {}", quote_ident(name)), []).ctx(path, ctx)?;
    conn.execute("DELETE FROM gpkg_geometry_columns WHERE lower(table_name) = lower(?1)", [name]).ctx(path, ctx)?;
    conn.execute("DELETE FROM gpkg_contents WHERE lower(table_name) = lower(?1)", [name]).ctx(path, ctx)?;
    if table_exists(conn, path, "gpkg_ogr_contents")? {
        conn.execute("DELETE FROM gpkg_ogr_contents WHERE lower(table_name) = lower(?1)", [name]).ctx(path, ctx)?;
    }
    if table_exists(conn, path, "gpkg_extensions")? {
        conn.execute("DELETE FROM gpkg_extensions WHERE lower(table_name) = lower(?1)", [name]).ctx(path, ctx)?;
    }
    Ok(())
}

/// The SRS of the point layers: that of layer `buildings` (as the reference writes its
/// gravity layers in the city's CRS), else the "Undefined SRS" 99999, added when missing.
fn point_srs(conn: &Connection, path: &Path) -> Result<i32, GpkgError> {
    let ctx = || "choosing the spatial reference system of the gravity layers".to_string();
    let of_buildings: Option<i32> = conn
        .query_row(
            "SELECT g.srs_id FROM gpkg_geometry_columns g JOIN gpkg_spatial_ref_sys s ON s.srs_id = g.srs_id \
             WHERE lower(g.table_name) = 'buildings'",
            [],
            |r| r.get(0),
        )
        .map(Some)
        .or_else(|e| if e == rusqlite::Error::QueryReturnedNoRows { Ok(None) } else { Err(e) })
        .ctx(path, ctx)?;
    if let Some(srs) = of_buildings {
        return Ok(srs);
    }
    conn.execute(
        "INSERT OR IGNORE INTO gpkg_spatial_ref_sys \
         (srs_name, srs_id, organization, organization_coordsys_id, definition, description) \
         VALUES ('Undefined SRS', ?1, 'GDAL', ?1, ?2, 'Custom undefined coordinate reference system')",
        rusqlite::params![SRS_LOCAL_UNDEFINED, LOCAL_WKT],
    )
    .ctx(path, ctx)?;
    Ok(SRS_LOCAL_UNDEFINED)
}

/// A row of a new layer: its point (in a spatial layer) and its values in column order.
type LayerRow = (Option<(f64, f64)>, Vec<rusqlite::types::Value>);

/// Creates a layer and fills it from `rows`: a spatial layer with a `POINT` column
/// `geom` in `srs` (the GeoPackage registrations included), or an attribute table when
/// `srs` is `None`.
fn add_table(
    conn: &Connection,
    path: &Path,
    name: &str,
    srs: Option<i32>,
    columns: &[(&str, &str)],
    rows: impl Iterator<Item = LayerRow>,
) -> Result<(), GpkgError> {
    let ctx = || format!("writing layer {name:?}");
    let mut cols: Vec<String> = columns.iter().map(|(c, t)| format!("{} {t}", quote_ident(c))).collect();
    let mut names: Vec<String> = columns.iter().map(|(c, _)| quote_ident(c)).collect();
    if srs.is_some() {
        cols.insert(0, format!("{} POINT", quote_ident(GEOMETRY_COLUMN)));
        names.insert(0, quote_ident(GEOMETRY_COLUMN));
    }
    conn.execute(
        &format!(
            "CREATE TABLE {} (\"fid\" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL, {})",
            quote_ident(name),
            cols.join(", ")
        ),
        [],
    )
    .ctx(path, ctx)?;
    conn.execute(
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) \
         VALUES (?1, ?2, ?1, '', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), ?3)",
        rusqlite::params![name, if srs.is_some() { "features" } else { "attributes" }, srs],
    )
    .ctx(path, ctx)?;
    if let Some(srs) = srs {
        conn.execute(
            "INSERT INTO gpkg_geometry_columns (table_name, column_name, geometry_type_name, srs_id, z, m) \
             VALUES (?1, ?2, 'POINT', ?3, 0, 0)",
            rusqlite::params![name, GEOMETRY_COLUMN, srs],
        )
        .ctx(path, ctx)?;
    }
    let marks: Vec<String> = (1..=names.len()).map(|k| format!("?{k}")).collect();
    let sql = format!("INSERT INTO {} ({}) VALUES ({})", quote_ident(name), names.join(", "), marks.join(", "));
    let mut st = conn.prepare(&sql).ctx(path, ctx)?;
    let mut count = 0i64;
    let mut extent = Envelope::EMPTY;
    // Most rows repeat POINT (0 0): encode a point once for its run of rows.
    let mut last: Option<((f64, f64), rusqlite::types::Value)> = None;
    let null = rusqlite::types::Value::Null;
    for (point, values) in rows {
        let geom = match (srs, point) {
            (Some(srs), Some(xy)) => {
                if last.as_ref().is_none_or(|(p, _)| *p != xy) {
                    let (blob, env) = encode(&geo_types::Geometry::Point(geo_types::Point::new(xy.0, xy.1)), srs);
                    extent.merge(&env);
                    last = Some((xy, rusqlite::types::Value::Blob(blob)));
                }
                last.as_ref().map(|(_, b)| b)
            }
            (Some(_), None) => Some(&null),
            (None, _) => None,
        };
        st.execute(rusqlite::params_from_iter(geom.into_iter().chain(values.iter()))).ctx(path, ctx)?;
        count += 1;
    }
    if srs.is_some() && !extent.is_empty() {
        conn.execute(
            "UPDATE gpkg_contents SET min_x = ?1, min_y = ?2, max_x = ?3, max_y = ?4 WHERE table_name = ?5",
            rusqlite::params![extent.min_x, extent.min_y, extent.max_x, extent.max_y, name],
        )
        .ctx(path, ctx)?;
    }
    if table_exists(conn, path, "gpkg_ogr_contents")? {
        conn.execute(
            "INSERT INTO gpkg_ogr_contents (table_name, feature_count) VALUES (?1, ?2)",
            rusqlite::params![name, count],
        )
        .ctx(path, ctx)?;
    }
    Ok(())
}

fn write_layers(conn: &Connection, path: &Path, city: &City, g: &Gravity) -> Result<(), GpkgError> {
    use rusqlite::types::Value as V;
    for name in ALL_LAYERS {
        drop_layer(conn, path, name)?;
    }
    let int = |v: u32| V::Integer(v as i64);
    let dist = |v: u32| if v == u32::MAX { V::Null } else { V::Integer(v as i64) };
    add_table(
        conn,
        path,
        GRAVITY_PROPERTIES_LAYER,
        None,
        &[("exponent", "REAL"), ("mode", "TEXT"), ("n_hubs", "INTEGER"), ("n_buildings", "INTEGER")],
        std::iter::once((
            None,
            vec![
                V::Real(g.exponent()),
                V::Text(g.mode().as_str().into()),
                V::Integer(g.hubs().len() as i64),
                V::Integer(g.building_count() as i64),
            ],
        )),
    )?;
    if g.mode() == GravityMode::Exact {
        return Ok(());
    }
    let srs = Some(point_srs(conn, path)?);
    let origin = Some((0.0, 0.0));
    let n = g.hubs().len();
    // Column types as GDAL writes the reference's frames: int64 INTEGER, int32 MEDIUMINT.
    add_table(
        conn,
        path,
        HUBS_LAYER,
        srs,
        &[("hub_x", "INTEGER"), ("hub_y", "INTEGER")],
        g.hubs().iter().map(|c| (Some((c.x as f64, c.y as f64)), vec![V::Integer(c.x.into()), V::Integer(c.y.into())])),
    )?;
    add_table(
        conn,
        path,
        HUB_DISTANCES_LAYER,
        srs,
        &[("hub_dist_flat", "INTEGER"), ("n_hubs", "INTEGER")],
        g.hub_dist().iter().map(|&d| (origin, vec![dist(d), V::Integer(n as i64)])),
    )?;
    add_table(
        conn,
        path,
        HUB_INFO_LAYER,
        srs,
        &[(HUB_INFO_ID_COLUMN, "TEXT"), ("closest_hub_idx", "MEDIUMINT"), ("dist_to_hub", "MEDIUMINT")],
        city.buildings()
            .iter()
            .zip(g.closest_hub().iter().zip(g.dist_to_hub()))
            .map(|(b, (&h, &d))| (origin, vec![V::Text(b.id.clone()), int(h), int(d)])),
    )?;
    // Each unordered pair once, and distance 1 for a shared door, as the reference stores them.
    let mut pairs = g.nearby_pairs().filter(|&(i, j, _)| i < j).peekable();
    if pairs.peek().is_some() {
        add_table(
            conn,
            path,
            NEARBY_LAYER,
            srs,
            &[("bid_i", "TEXT"), ("bid_j", "TEXT"), ("dist", "MEDIUMINT")],
            pairs.map(|(i, j, d)| {
                (
                    origin,
                    vec![V::Text(city.building(i).id.clone()), V::Text(city.building(j).id.clone()), int(d.max(1))],
                )
            }),
        )?;
    }
    Ok(())
}

fn u32_of(row: &Row<'_>, column: &str) -> Result<u32, GpkgError> {
    let v = row.i64(column)?;
    u32::try_from(v)
        .ok()
        .filter(|&v| v != u32::MAX)
        .ok_or_else(|| row.bad_value(column, "a non-negative integer below 4294967295", format!("integer {v}")))
}

fn building_of(row: &Row<'_>, city: &City, column: &str) -> Result<BuildingIdx, GpkgError> {
    let id = match row.value(column)? {
        rusqlite::types::ValueRef::Integer(i) => i.to_string(),
        _ => row.text(column)?,
    };
    city.building_by_id(&id).ok_or_else(|| row.bad_value(column, "the id of a building of the city", format!("{id:?}")))
}

/// True when the file holds gravity layers (ours or the reference's).
pub fn has_gravity(path: impl AsRef<Path>) -> Result<bool, GpkgError> {
    let r = GpkgReader::open(path)?;
    Ok(r.has_table(GRAVITY_PROPERTIES_LAYER)? || r.has_table(HUBS_LAYER)?)
}

/// Reads the gravity layers of the GeoPackage at `path` for `city` (read from the same
/// file). `Ok(None)` when the file has no gravity layers.
pub fn read_gravity(path: impl AsRef<Path>, city: &City) -> Result<Option<GravityRead>, GravityIoError> {
    let path = path.as_ref();
    let r = GpkgReader::open(path)?;
    let mut exponent = 2.0;
    let mut mode = GravityMode::HubProxy;
    let has_props = r.has_table(GRAVITY_PROPERTIES_LAYER)?;
    if has_props {
        r.require_columns(
            GRAVITY_PROPERTIES_LAYER,
            &[("exponent", "the gravity exponent (real)"), ("mode", "hub_proxy or exact")],
        )?;
        let mut rows = 0;
        r.for_each_row(GRAVITY_PROPERTIES_LAYER, &["exponent", "mode"], |row| {
            rows += 1;
            exponent = row.f64("exponent")?;
            let m = row.text("mode")?;
            mode = m.parse().map_err(|_| row.bad_value("mode", "hub_proxy or exact", format!("{m:?}")))?;
            Ok(())
        })?;
        if rows != 1 {
            return Err(GravityIoError::Layer {
                path: path.into(),
                layer: GRAVITY_PROPERTIES_LAYER.into(),
                reason: format!("expected exactly one row, found {rows}"),
            });
        }
    }
    let present: Vec<&str> = HUB_LAYERS.iter().copied().filter(|l| r.has_table(l).unwrap_or(false)).collect();
    if mode == GravityMode::Exact {
        let params = GravityParams { exponent, ..Default::default() };
        let gravity =
            Gravity::exact(city, params).map_err(|source| GravityIoError::Build { path: path.into(), source })?;
        return Ok(Some(GravityRead { gravity, warnings: Vec::new() }));
    }
    if present.is_empty() && !has_props {
        return Ok(None);
    }
    // The reference leaves `nearby_doors` out when there are no nearby pairs.
    if let Some(missing) = HUB_LAYERS.iter().find(|l| !present.contains(l) && **l != NEARBY_LAYER) {
        return Err(missing_layer(&r, path, missing));
    }

    // hubs
    r.require_columns(HUBS_LAYER, &[("hub_x", "integer street x"), ("hub_y", "integer street y")])?;
    let mut hubs = Vec::new();
    r.for_each_row(HUBS_LAYER, &["hub_x", "hub_y"], |row| {
        let (x, y) = (row.i64("hub_x")?, row.i64("hub_y")?);
        let c = Cell::new(
            i32::try_from(x).map_err(|_| row.bad_value("hub_x", "a grid column", format!("integer {x}")))?,
            i32::try_from(y).map_err(|_| row.bad_value("hub_y", "a grid row", format!("integer {y}")))?,
        );
        if city.street_at(c).is_none() {
            return Err(row.bad_value("hub_x", "the cell of a street of the city", format!("({x}, {y})")));
        }
        hubs.push(c);
        Ok(())
    })?;
    let n = hubs.len();
    if n == 0 {
        return Err(GravityIoError::Layer { path: path.into(), layer: HUBS_LAYER.into(), reason: "no hubs".into() });
    }

    // hub_distances
    r.require_columns(
        HUB_DISTANCES_LAYER,
        &[("hub_dist_flat", "integer street distance"), ("n_hubs", "the number of hubs")],
    )?;
    let mut stored = Vec::with_capacity(n * n);
    r.for_each_row(HUB_DISTANCES_LAYER, &["hub_dist_flat", "n_hubs"], |row| {
        let k = row.i64("n_hubs")?;
        if k != n as i64 {
            return Err(row.bad_value("n_hubs", format!("{n} (the rows of layer hubs)"), format!("integer {k}")));
        }
        stored.push(match row.value("hub_dist_flat")? {
            rusqlite::types::ValueRef::Null => u32::MAX,
            _ => u32_of(row, "hub_dist_flat")?,
        });
        Ok(())
    })?;
    if stored.len() != n * n {
        return Err(GravityIoError::Layer {
            path: path.into(),
            layer: HUB_DISTANCES_LAYER.into(),
            reason: format!("{} rows, expected n_hubs^2 = {}", stored.len(), n * n),
        });
    }
    let truth = hub_distances(city, &hubs).map_err(|source| GravityIoError::Mismatch {
        path: path.into(),
        layer: HUBS_LAYER.into(),
        source,
    })?;
    let mut warnings = Vec::new();
    if stored != truth {
        let mut order: Vec<usize> = (0..n).collect();
        order.sort_by_key(|&k| hubs[k]);
        let sorted_order = (0..n * n).all(|e| stored[e] == truth[order[e / n] * n + order[e % n]]);
        warnings.push(if sorted_order {
            format!(
                "{}: layer {HUB_DISTANCES_LAYER:?} is in sorted (x, y) hub order, not in the order of layer \
                 {HUBS_LAYER:?} (a known defect of the reference writer); recomputed from the street graph",
                path.display()
            )
        } else {
            let bad = (0..n * n).filter(|&e| stored[e] != truth[e]).count();
            format!(
                "{}: layer {HUB_DISTANCES_LAYER:?} disagrees with the street graph in {bad} of {} entries; \
                 recomputed from the street graph",
                path.display(),
                n * n
            )
        });
    }

    // grav_hub_info
    let cols = r.columns(HUB_INFO_LAYER)?;
    let id_col = ID_COLUMNS.iter().find(|c| cols.iter().any(|h| h == *c)).copied().ok_or_else(|| {
        GpkgError::from(GpkgErrorKind::MissingColumn {
            path: path.into(),
            layer: HUB_INFO_LAYER.into(),
            column: "id".into(),
            expected: "the building id (also accepted: index, building_id, bid)".into(),
            available: cols.join(", "),
        })
    })?;
    r.require_columns(
        HUB_INFO_LAYER,
        &[("closest_hub_idx", "index into layer hubs"), ("dist_to_hub", "Manhattan distance door -> hub")],
    )?;
    let nb = city.buildings().len();
    let mut closest = vec![u32::MAX; nb];
    let mut dth = vec![u32::MAX; nb];
    r.for_each_row(HUB_INFO_LAYER, &[id_col, "closest_hub_idx", "dist_to_hub"], |row| {
        let b = building_of(row, city, id_col)?.index();
        if closest[b] != u32::MAX {
            return Err(row.bad_value(id_col, "each building once", "a repeated building id"));
        }
        let h = u32_of(row, "closest_hub_idx")?;
        if h as usize >= n {
            return Err(row.bad_value("closest_hub_idx", format!("a hub index in 0..{n}"), format!("integer {h}")));
        }
        closest[b] = h;
        dth[b] = u32_of(row, "dist_to_hub")?;
        Ok(())
    })?;
    if let Some(b) = closest.iter().position(|&h| h == u32::MAX) {
        return Err(GravityIoError::Layer {
            path: path.into(),
            layer: HUB_INFO_LAYER.into(),
            reason: format!(
                "no row for building {} (one row per building expected)",
                city.building(BuildingIdx(b as u32)).id
            ),
        });
    }

    // nearby_doors
    let mut nearby = Vec::new();
    let has_nearby = present.contains(&NEARBY_LAYER);
    if has_nearby {
        r.require_columns(
            NEARBY_LAYER,
            &[("bid_i", "a building id"), ("bid_j", "a building id"), ("dist", "Manhattan door distance")],
        )?;
        r.for_each_row(NEARBY_LAYER, &["bid_i", "bid_j", "dist"], |row| {
            let i = building_of(row, city, "bid_i")?;
            let j = building_of(row, city, "bid_j")?;
            let d = u32_of(row, "dist")?;
            let m = city.building(i).door.manhattan(city.building(j).door);
            // The reference stores 1 for distinct buildings sharing a door cell (MODEL.md section 3).
            if d != m && !(m == 0 && d == 1 && i != j) {
                let expected = if m == 0 {
                    "0 or 1 (the doors share a street cell)".to_string()
                } else {
                    format!("{m} (the Manhattan distance of the doors)")
                };
                return Err(row.bad_value("dist", expected, format!("{d}")));
            }
            nearby.push((i, j, m));
            Ok(())
        })?;
    }

    let parts = HubProxyParts { exponent, hubs, hub_dist: truth, closest_hub: closest, dist_to_hub: dth, nearby };
    let gravity = Gravity::from_hub_parts(city, parts).map_err(|source| {
        let layer = match &source {
            GravityError::Mismatch { field: "hubs" | "hub_dist", .. } => HUBS_LAYER,
            GravityError::Mismatch { field: "nearby", .. } => NEARBY_LAYER,
            GravityError::Exponent { .. } => GRAVITY_PROPERTIES_LAYER,
            _ => HUB_INFO_LAYER,
        };
        GravityIoError::Mismatch { path: path.into(), layer: layer.into(), source }
    })?;
    if !has_nearby && !gravity.nearby_follows_rule() {
        // No layer means no pairs, which is only so when the rule finds none.
        return Err(GravityIoError::Layer {
            path: path.into(),
            layer: NEARBY_LAYER.into(),
            reason: format!(
                "the layer is missing (it may only be left out when there are no nearby pairs), but the doors and \
                 {HUB_INFO_LAYER:?} give nearby pairs; layers present: {}",
                present.join(", ")
            ),
        });
    }
    Ok(Some(GravityRead { gravity, warnings }))
}

fn missing_layer(r: &GpkgReader, path: &Path, missing: &str) -> GravityIoError {
    GravityIoError::Gpkg(GpkgError::from(GpkgErrorKind::MissingLayer {
        path: path.into(),
        layer: missing.into(),
        available: r.layers().map(|l| l.join(", ")).unwrap_or_default(),
    }))
}

/// A one-line description of the gravity stored in a city GeoPackage, for `city info`:
/// `None` when there is none.
pub fn gravity_info(path: impl AsRef<Path>, city: &City) -> Result<Option<String>, GravityIoError> {
    Ok(read_gravity(path, city)?.map(|g| {
        let mut s = g.gravity.summary();
        for w in g.warnings {
            s.push_str("\n  warning: ");
            s.push_str(&w);
        }
        s
    }))
}
