//! Gravity layers of a city GeoPackage (SPEC section 7).
//!
//! Attribute (non-spatial) tables, as the reference writes them:
//! - `hubs` (`hub_x`, `hub_y`), one row per hub in hub order;
//! - `hub_distances` (`hub_dist_flat`, `n_hubs`), the hub-to-hub street distances
//!   row-major in the order of `hubs` (NULL where unreachable);
//! - `grav_hub_info` (`id` = building id, `closest_hub_idx`, `dist_to_hub`);
//! - `nearby_doors` (`bid_i`, `bid_j`, `dist`), both orders;
//! - `gravity_properties` (`exponent`, `mode`, `n_hubs`, `n_buildings`): our parameters.
//!   Files without it (written by the reference) mean exponent 2, hub proxy.
//!
//! In exact mode only `gravity_properties` is written; the door distances are
//! recomputed on reading. [`write_gravity`] adds the layers to an existing file (any
//! old gravity layers are replaced) through a copy renamed into place, so the file is
//! never left half-written. [`read_gravity`] checks everything against the city and
//! recomputes the hub distance matrix when it disagrees with the street graph (the
//! reference writes it in sorted `(x, y)` hub order, a known defect), with a warning.

use super::error::{GpkgError, GpkgErrorKind, SqlContext};
use super::reader::{quote_ident, GpkgReader, Row};
use gardencity::gravity::{hub_distances, Gravity, GravityError, GravityMode, GravityParams, HubProxyParts};
use gardencity::{BuildingIdx, Cell, City};
use rusqlite::Connection;
use std::path::{Path, PathBuf};

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
/// Column names accepted for the building id of `grav_hub_info` (the reference writes
/// its DataFrame index).
const ID_COLUMNS: [&str; 4] = ["id", "index", "building_id", "bid"];

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

fn temp_path(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| "city.gpkg".into());
    path.with_file_name(format!(".{name}.gravity-{}.tmp", std::process::id()))
}

/// Deletes the temporary copy unless disarmed.
struct TempGuard(Option<PathBuf>);
impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Stores `gravity` (built for `city`) in the GeoPackage at `path`, replacing any gravity
/// layers already there. The file is copied, modified in one transaction and renamed back.
pub fn write_gravity(path: impl AsRef<Path>, city: &City, gravity: &Gravity) -> Result<(), GravityIoError> {
    let path = path.as_ref();
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
    let tmp = temp_path(path);
    let io = |source| GpkgError::from(GpkgErrorKind::Io { path: path.to_path_buf(), source });
    std::fs::copy(path, &tmp).map_err(io)?;
    let mut guard = TempGuard(Some(tmp.clone()));
    {
        let mut conn = Connection::open(&tmp).ctx(path, || "opening a copy for writing".into())?;
        let tx = conn.transaction().ctx(path, || "starting a transaction".into())?;
        write_layers(&tx, path, city, gravity)?;
        tx.commit().ctx(path, || "committing the gravity layers".into())?;
        conn.close().map_err(|(_, source)| {
            GpkgError::from(GpkgErrorKind::Sqlite {
                path: path.to_path_buf(),
                context: "closing the file".into(),
                source,
            })
        })?;
    }
    std::fs::rename(&tmp, path).map_err(io)?;
    guard.0 = None;
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
    conn.execute(&format!("DROP TABLE IF EXISTS {}", quote_ident(name)), []).ctx(path, ctx)?;
    conn.execute("DELETE FROM gpkg_contents WHERE table_name = ?1", [name]).ctx(path, ctx)?;
    if table_exists(conn, path, "gpkg_ogr_contents")? {
        conn.execute("DELETE FROM gpkg_ogr_contents WHERE table_name = ?1", [name]).ctx(path, ctx)?;
    }
    if table_exists(conn, path, "gpkg_extensions")? {
        conn.execute("DELETE FROM gpkg_extensions WHERE table_name = ?1", [name]).ctx(path, ctx)?;
    }
    Ok(())
}

/// Creates an attribute table and fills it from `rows` (values bound in column order).
fn add_table(
    conn: &Connection,
    path: &Path,
    name: &str,
    columns: &[(&str, &str)],
    rows: impl Iterator<Item = Vec<rusqlite::types::Value>>,
) -> Result<(), GpkgError> {
    let ctx = || format!("writing layer {name:?}");
    let cols: Vec<String> = columns.iter().map(|(c, t)| format!("{} {t}", quote_ident(c))).collect();
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
        "INSERT INTO gpkg_contents (table_name, data_type, identifier, description, last_change) \
         VALUES (?1, 'attributes', ?1, '', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))",
        [name],
    )
    .ctx(path, ctx)?;
    let names: Vec<String> = columns.iter().map(|(c, _)| quote_ident(c)).collect();
    let marks: Vec<String> = (1..=columns.len()).map(|k| format!("?{k}")).collect();
    let sql = format!("INSERT INTO {} ({}) VALUES ({})", quote_ident(name), names.join(", "), marks.join(", "));
    let mut st = conn.prepare(&sql).ctx(path, ctx)?;
    let mut count = 0i64;
    for r in rows {
        st.execute(rusqlite::params_from_iter(r.iter())).ctx(path, ctx)?;
        count += 1;
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
        &[("exponent", "REAL"), ("mode", "TEXT"), ("n_hubs", "INTEGER"), ("n_buildings", "INTEGER")],
        std::iter::once(vec![
            V::Real(g.exponent()),
            V::Text(g.mode().as_str().into()),
            V::Integer(g.hubs().len() as i64),
            V::Integer(g.building_count() as i64),
        ]),
    )?;
    if g.mode() == GravityMode::Exact {
        return Ok(());
    }
    let n = g.hubs().len();
    add_table(
        conn,
        path,
        HUBS_LAYER,
        &[("hub_x", "INTEGER"), ("hub_y", "INTEGER")],
        g.hubs().iter().map(|c| vec![V::Integer(c.x.into()), V::Integer(c.y.into())]),
    )?;
    add_table(
        conn,
        path,
        HUB_DISTANCES_LAYER,
        &[("hub_dist_flat", "INTEGER"), ("n_hubs", "INTEGER")],
        g.hub_dist().iter().map(|&d| vec![dist(d), V::Integer(n as i64)]),
    )?;
    add_table(
        conn,
        path,
        HUB_INFO_LAYER,
        &[("id", "TEXT"), ("closest_hub_idx", "INTEGER"), ("dist_to_hub", "INTEGER")],
        city.buildings()
            .iter()
            .zip(g.closest_hub().iter().zip(g.dist_to_hub()))
            .map(|(b, (&h, &d))| vec![V::Text(b.id.clone()), int(h), int(d)]),
    )?;
    add_table(
        conn,
        path,
        NEARBY_LAYER,
        &[("bid_i", "TEXT"), ("bid_j", "TEXT"), ("dist", "INTEGER")],
        g.nearby_pairs()
            .map(|(i, j, d)| vec![V::Text(city.building(i).id.clone()), V::Text(city.building(j).id.clone()), int(d)]),
    )?;
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
    if let Some(missing) = HUB_LAYERS.iter().find(|l| !present.contains(l)) {
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
        let b = building_of(row, city, id_col)? as usize;
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
            reason: format!("no row for building {} (one row per building expected)", city.building(b as u32).id),
        });
    }

    // nearby_doors
    r.require_columns(
        NEARBY_LAYER,
        &[("bid_i", "a building id"), ("bid_j", "a building id"), ("dist", "Manhattan door distance")],
    )?;
    let mut nearby = Vec::new();
    r.for_each_row(NEARBY_LAYER, &["bid_i", "bid_j", "dist"], |row| {
        let i = building_of(row, city, "bid_i")?;
        let j = building_of(row, city, "bid_j")?;
        let d = u32_of(row, "dist")?;
        let m = city.building(i).door.manhattan(city.building(j).door);
        if d != m {
            return Err(row.bad_value("dist", format!("{m} (the Manhattan distance of the doors)"), format!("{d}")));
        }
        nearby.push((i, j, d));
        Ok(())
    })?;

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
