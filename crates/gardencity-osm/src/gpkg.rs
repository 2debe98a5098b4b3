//! Rasterizer input from a GeoPackage: building, street and boundary layers.

use crate::error::InputError;
use crate::raster::{InputBuilding, InputReport, RasterInput, StreetLine};
use gardencity::city::{lonlat_to_mercator, BuildingType};
use geo::{BoundingRect, MapCoords, Validation};
use geo_types::{Geometry, MultiPolygon, Polygon};
use rusqlite::{Connection, OpenFlags};
use std::path::{Path, PathBuf};

/// Layer and column names of a GeoPackage input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InputOptions {
    /// Building footprints layer (`buildings`).
    pub buildings_layer: String,
    /// Street lines layer (`streets`).
    pub streets_layer: String,
    /// Boundary polygon layer; `None` uses the extent of buildings and streets.
    pub boundary_layer: Option<String>,
    /// Building type column (`building_type`): home, workplace, retail, park or other;
    /// `None` for footprints without types (then every building gets `untyped`).
    pub type_column: Option<String>,
    /// The type of buildings when there is no type column.
    pub untyped: UntypedBuildings,
    /// Street class column (`highway`), used to ignore major roads in the automatic
    /// rotation; optional in the file.
    pub highway_column: String,
}

impl Default for InputOptions {
    fn default() -> Self {
        InputOptions {
            buildings_layer: "buildings".into(),
            streets_layer: "streets".into(),
            boundary_layer: Some("boundary".into()),
            type_column: Some("building_type".into()),
            untyped: UntypedBuildings::Type(BuildingType::Home),
            highway_column: "highway".into(),
        }
    }
}

/// The types given to buildings read without a type column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UntypedBuildings {
    /// All of one type.
    Type(BuildingType),
    /// A seeded mix with the random city's shares ([`gardencity::city::random::mixed_type`]
    /// of the seed and the feature's row number).
    Mix {
        /// Seed of the draw.
        seed: u64,
    },
}

impl std::str::FromStr for UntypedBuildings {
    type Err = String;
    /// A building type (`home`, `workplace`, `retail`, `park`, `other`) or `mix`.
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "mix" => Ok(UntypedBuildings::Mix { seed: 0 }),
            t => t
                .parse::<BuildingType>()
                .map(UntypedBuildings::Type)
                .map_err(|_| format!("{t:?}: expected a building type (home, workplace, retail, park, other) or mix")),
        }
    }
}

/// Highway values the automatic rotation ignores (the reference's list).
pub const MAJOR_HIGHWAYS: [&str; 3] = ["motorway", "trunk", "primary"];

/// True when a highway value (possibly a list written as text, `"['residential', 'service']"`)
/// names a major road.
pub fn is_major_highway(value: &str) -> bool {
    value
        .trim_matches(|c| c == '[' || c == ']')
        .split(',')
        .map(|v| v.trim().trim_matches(|c| c == '\'' || c == '"').trim())
        .any(|v| MAJOR_HIGHWAYS.contains(&v))
}

/// How a layer's coordinates map to EPSG:3857.
#[derive(Clone, Copy)]
enum Crs {
    Mercator,
    LonLat,
}

struct Layer {
    geom_column: String,
    crs: Crs,
    columns: Vec<String>,
}

fn quote(id: &str) -> String {
    format!("\"{}\"", id.replace('"', "\"\""))
}

/// Reads rasterizer input from a GeoPackage.
///
/// The geometry column and CRS of each layer come from `gpkg_geometry_columns` and
/// `gpkg_spatial_ref_sys`; EPSG:4326 is reprojected with the spherical Web Mercator
/// formulas, other CRSs are an error. Building features that are not polygons or
/// multipolygons and street features that are not lines are skipped and counted.
pub fn read_raster_input_gpkg(path: &Path, opts: &InputOptions) -> Result<RasterInput, InputError> {
    let p = path.to_path_buf();
    crate::error::check_input_file(path).map_err(|reason| InputError::Open { path: p.clone(), reason })?;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| InputError::Open { path: p.clone(), reason: e.to_string() })?;
    let mut report = InputReport::default();

    // Buildings.
    let layer = layer_info(&conn, &p, &opts.buildings_layer)?;
    if let Some(column) = &opts.type_column {
        if !layer.columns.iter().any(|c| c == column) {
            return Err(InputError::MissingTypeColumn {
                path: p,
                layer: opts.buildings_layer.clone(),
                column: column.clone(),
                available: layer.columns.join(", "),
            });
        }
    }
    let mut buildings = Vec::new();
    let mut row = 0u64;
    for_each_feature(&conn, &p, &opts.buildings_layer, &layer, opts.type_column.as_deref(), |fid, geom, attr| {
        let index = row;
        row += 1;
        let Some(geom) = geom else {
            report.empty_geometries += 1;
            return Ok(());
        };
        let mp = match geom {
            Geometry::Polygon(pg) => MultiPolygon::new(vec![pg]),
            Geometry::MultiPolygon(mp) => mp,
            _ => {
                report.non_polygon_buildings += 1;
                return Ok(());
            }
        };
        let _ = fid;
        if mp.0.is_empty() {
            report.empty_geometries += 1;
            return Ok(());
        }
        if !mp.is_valid() {
            report.invalid_polygons += 1;
        }
        let kind = match (&opts.type_column, opts.untyped) {
            (None, UntypedBuildings::Type(t)) => t,
            (None, UntypedBuildings::Mix { seed }) => gardencity::city::random::mixed_type(seed, index),
            (Some(_), _) => match attr.as_deref().map(str::parse::<BuildingType>) {
                Some(Ok(k)) => k,
                _ => {
                    report.unknown_types += 1;
                    BuildingType::Other
                }
            },
        };
        buildings.push(InputBuilding { geometry: mp, kind });
        Ok(())
    })?;
    if buildings.is_empty() {
        return Err(InputError::EmptyLayer {
            path: p,
            layer: opts.buildings_layer.clone(),
            what: "polygon features".into(),
        });
    }

    // Streets.
    let layer = layer_info(&conn, &p, &opts.streets_layer)?;
    let hw = layer.columns.iter().any(|c| c == &opts.highway_column).then_some(opts.highway_column.as_str());
    let mut streets = Vec::new();
    for_each_feature(&conn, &p, &opts.streets_layer, &layer, hw, |_, geom, attr| {
        let major = attr.as_deref().is_some_and(is_major_highway);
        match geom {
            None => report.empty_geometries += 1,
            Some(Geometry::LineString(ls)) if !ls.0.is_empty() => streets.push(StreetLine { geometry: ls, major }),
            Some(Geometry::MultiLineString(m)) if !m.0.is_empty() => streets
                .extend(m.0.into_iter().filter(|l| !l.0.is_empty()).map(|geometry| StreetLine { geometry, major })),
            Some(Geometry::LineString(_)) | Some(Geometry::MultiLineString(_)) => report.empty_geometries += 1,
            Some(_) => report.non_line_streets += 1,
        }
        Ok(())
    })?;
    if streets.is_empty() {
        return Err(InputError::EmptyLayer { path: p, layer: opts.streets_layer.clone(), what: "line strings".into() });
    }

    // Boundary.
    let boundary = match &opts.boundary_layer {
        Some(name) => layer_polygons(&conn, &p, name)?,
        None => {
            let mut rect: Option<geo_types::Rect<f64>> = None;
            let mut grow = |r: Option<geo_types::Rect<f64>>| {
                if let Some(r) = r {
                    rect = Some(match rect {
                        None => r,
                        Some(a) => geo_types::Rect::new(
                            geo_types::coord! { x: a.min().x.min(r.min().x), y: a.min().y.min(r.min().y) },
                            geo_types::coord! { x: a.max().x.max(r.max().x), y: a.max().y.max(r.max().y) },
                        ),
                    });
                }
            };
            buildings.iter().for_each(|b| grow(b.geometry.bounding_rect()));
            streets.iter().for_each(|s| grow(s.geometry.bounding_rect()));
            let r = rect.expect("buildings are not empty");
            MultiPolygon::new(vec![r.to_polygon()])
        }
    };

    Ok(RasterInput { boundary, streets, buildings, report })
}

/// Reads the polygons of one layer of a GeoPackage as a boundary in EPSG:3857
/// (EPSG:4326 is reprojected; other CRSs are an error).
pub fn read_boundary_gpkg(path: &Path, layer: &str) -> Result<MultiPolygon<f64>, InputError> {
    let p = path.to_path_buf();
    crate::error::check_input_file(path).map_err(|reason| InputError::Open { path: p.clone(), reason })?;
    let conn = Connection::open_with_flags(path, OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX)
        .map_err(|e| InputError::Open { path: p.clone(), reason: e.to_string() })?;
    layer_polygons(&conn, &p, layer)
}

/// The polygons (multipolygons split) of one layer; an error when there are none.
fn layer_polygons(conn: &Connection, p: &Path, layer: &str) -> Result<MultiPolygon<f64>, InputError> {
    let info = layer_info(conn, p, layer)?;
    let mut polys: Vec<Polygon<f64>> = Vec::new();
    for_each_feature(conn, p, layer, &info, None, |_, geom, _| {
        match geom {
            Some(Geometry::Polygon(pg)) => polys.push(pg),
            Some(Geometry::MultiPolygon(mp)) => polys.extend(mp.0),
            _ => {}
        }
        Ok(())
    })?;
    if polys.is_empty() {
        return Err(InputError::EmptyLayer { path: p.to_path_buf(), layer: layer.into(), what: "polygons".into() });
    }
    Ok(MultiPolygon::new(polys))
}

fn layer_info(conn: &Connection, path: &Path, layer: &str) -> Result<Layer, InputError> {
    let sq = |e| InputError::Sqlite { path: path.to_path_buf(), layer: "gpkg_geometry_columns".into(), source: e };
    // Only layers whose table exists: a table dropped without updating the metadata is missing.
    let row: Option<(String, i64)> = conn
        .query_row(
            "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE lower(table_name) = lower(?1) \
             AND EXISTS (SELECT 1 FROM sqlite_master m WHERE m.type IN ('table', 'view') \
             AND lower(m.name) = lower(table_name))",
            [layer],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| if matches!(e, rusqlite::Error::QueryReturnedNoRows) { Ok(None) } else { Err(e) })
        .map_err(sq)?;
    let Some((geom_column, srs_id)) = row else {
        let mut st = conn
            .prepare(
                "SELECT g.table_name FROM gpkg_geometry_columns g WHERE EXISTS (SELECT 1 FROM sqlite_master m \
                 WHERE m.type IN ('table', 'view') AND lower(m.name) = lower(g.table_name)) ORDER BY 1",
            )
            .map_err(sq)?;
        let names: Vec<String> = st.query_map([], |r| r.get(0)).map_err(sq)?.filter_map(Result::ok).collect();
        let available = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        return Err(InputError::MissingLayer { path: path.to_path_buf(), layer: layer.into(), available });
    };
    let srs: Option<(String, i64)> = conn
        .query_row(
            "SELECT organization, organization_coordsys_id FROM gpkg_spatial_ref_sys WHERE srs_id = ?1",
            [srs_id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .map(Some)
        .or_else(|e| if matches!(e, rusqlite::Error::QueryReturnedNoRows) { Ok(None) } else { Err(e) })
        .map_err(|e| InputError::Sqlite {
            path: path.to_path_buf(),
            layer: "gpkg_spatial_ref_sys".into(),
            source: e,
        })?;
    let crs = match &srs {
        Some((org, 3857)) if org.eq_ignore_ascii_case("EPSG") => Crs::Mercator,
        Some((org, 4326)) if org.eq_ignore_ascii_case("EPSG") => Crs::LonLat,
        _ => {
            let crs = match srs {
                Some((org, code)) => format!("{org}:{code} (srs_id {srs_id})"),
                None => format!("srs_id {srs_id} (not in gpkg_spatial_ref_sys)"),
            };
            return Err(InputError::UnsupportedCrs { path: path.to_path_buf(), layer: layer.into(), crs });
        }
    };
    let mut st = conn
        .prepare(&format!("SELECT name FROM pragma_table_info({})", quote_literal(layer)))
        .map_err(|e| InputError::Sqlite { path: path.to_path_buf(), layer: layer.into(), source: e })?;
    let columns: Vec<String> = st
        .query_map([], |r| r.get(0))
        .map_err(|e| InputError::Sqlite { path: path.to_path_buf(), layer: layer.into(), source: e })?
        .filter_map(Result::ok)
        .collect();
    Ok(Layer { geom_column, crs, columns })
}

fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Calls `f(fid, geometry in EPSG:3857, text attribute)` for every row of a layer, in row order.
fn for_each_feature(
    conn: &Connection,
    path: &Path,
    layer: &str,
    info: &Layer,
    attr: Option<&str>,
    mut f: impl FnMut(i64, Option<Geometry<f64>>, Option<String>) -> Result<(), InputError>,
) -> Result<(), InputError> {
    let sq = |e| InputError::Sqlite { path: PathBuf::from(path), layer: layer.into(), source: e };
    let attr_sql = attr.map(quote).unwrap_or_else(|| "NULL".into());
    let sql = format!("SELECT rowid, {}, {} FROM {} ORDER BY rowid", quote(&info.geom_column), attr_sql, quote(layer));
    let mut st = conn.prepare(&sql).map_err(sq)?;
    let mut rows = st.query([]).map_err(sq)?;
    while let Some(row) = rows.next().map_err(sq)? {
        let fid: i64 = row.get(0).map_err(sq)?;
        let blob: Option<Vec<u8>> = match row.get_ref(1).map_err(sq)? {
            rusqlite::types::ValueRef::Blob(b) => Some(b.to_vec()),
            _ => None,
        };
        let text: Option<String> = match row.get_ref(2).map_err(sq)? {
            rusqlite::types::ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
            rusqlite::types::ValueRef::Integer(i) => Some(i.to_string()),
            rusqlite::types::ValueRef::Real(r) => Some(r.to_string()),
            _ => None,
        };
        let geom = match blob {
            None => None,
            Some(b) if b.is_empty() => None,
            Some(b) => {
                let g = gardencity_io::gpkg::decode_geometry(&b).map_err(|reason| InputError::Geometry {
                    path: path.to_path_buf(),
                    layer: layer.into(),
                    fid,
                    reason,
                })?;
                Some(match info.crs {
                    Crs::Mercator => g,
                    Crs::LonLat => g.map_coords(|c| {
                        let (x, y) = lonlat_to_mercator(c.x, c.y);
                        geo_types::coord! { x: x, y: y }
                    }),
                })
            }
        };
        f(fid, geom, text)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn highway_lists_written_as_text() {
        use super::is_major_highway;
        assert!(is_major_highway("primary"));
        assert!(is_major_highway("['residential', 'primary']"));
        assert!(is_major_highway("[\"trunk\"]"));
        assert!(!is_major_highway("['residential', 'service']"));
        assert!(!is_major_highway("secondary"));
        assert!(!is_major_highway(""));
    }
}
