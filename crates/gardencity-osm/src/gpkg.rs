//! Rasterizer input from a GeoPackage: building, street and boundary layers.

use crate::error::InputError;
use crate::raster::{InputBuilding, InputReport, RasterInput, StreetLine};
use gardencity::city::{lonlat_to_mercator, BuildingType};
use gardencity_io::gpkg::GpkgReader;
use geo::{BoundingRect, MapCoords, Validation};
use geo_types::{Geometry, MultiPolygon, Polygon};
use rusqlite::types::ValueRef;
use std::path::Path;

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

/// A geometry layer of the input: its geometry column, CRS and columns.
struct Layer {
    geom_column: String,
    crs: Crs,
    columns: Vec<String>,
}

/// Opens an input GeoPackage (after checking the path is a non-empty file).
fn open(path: &Path) -> Result<GpkgReader, InputError> {
    crate::error::check_input_file(path).map_err(|reason| InputError::Open { path: path.to_path_buf(), reason })?;
    Ok(GpkgReader::open(path)?)
}

/// Reads rasterizer input from a GeoPackage.
///
/// The geometry column and CRS of each layer come from `gpkg_geometry_columns` and
/// `gpkg_spatial_ref_sys`; EPSG:4326 is reprojected with the spherical Web Mercator
/// formulas, other CRSs are an error. Building features that are not polygons or
/// multipolygons and street features that are not lines are skipped and counted.
///
/// The file must be a GeoPackage (`gpkg_contents`, `gpkg_geometry_columns` and
/// `gpkg_spatial_ref_sys` present). A geometry that is not a GeoPackage blob (text or a
/// number in the geometry column) or does not decode, and a type or highway value that
/// is not text or a number, are errors naming the layer, feature and column.
pub fn read_raster_input_gpkg(path: &Path, opts: &InputOptions) -> Result<RasterInput, InputError> {
    let r = open(path)?;
    let mut report = InputReport::default();
    let buildings = read_buildings(&r, opts, &mut report)?;
    let streets = read_streets(&r, opts, &mut report)?;
    let boundary = match &opts.boundary_layer {
        Some(name) => layer_polygons(&r, name)?,
        None => extent(&buildings, &streets),
    };
    Ok(RasterInput { boundary, streets, buildings, report })
}

/// The building footprints (polygons and multipolygons) with their types.
fn read_buildings(
    r: &GpkgReader,
    opts: &InputOptions,
    report: &mut InputReport,
) -> Result<Vec<InputBuilding>, InputError> {
    let name = &opts.buildings_layer;
    let layer = layer_info(r, name)?;
    if let Some(column) = &opts.type_column {
        if !layer.columns.iter().any(|c| c == column) {
            return Err(InputError::MissingTypeColumn {
                path: r.path().to_path_buf(),
                layer: name.clone(),
                column: column.clone(),
                available: layer.columns.join(", "),
            });
        }
    }
    let mut buildings = Vec::new();
    let mut index = 0u64;
    for_each_feature(r, name, &layer, opts.type_column.as_deref(), |geom, attr| {
        let row = index;
        index += 1;
        let mp = match geom {
            None => {
                report.empty_geometries += 1;
                return;
            }
            Some(Geometry::Polygon(pg)) => MultiPolygon::new(vec![pg]),
            Some(Geometry::MultiPolygon(mp)) => mp,
            Some(_) => {
                report.non_polygon_buildings += 1;
                return;
            }
        };
        if mp.0.is_empty() {
            report.empty_geometries += 1;
            return;
        }
        if !mp.is_valid() {
            report.invalid_polygons += 1;
        }
        let kind = match (&opts.type_column, opts.untyped) {
            (None, UntypedBuildings::Type(t)) => t,
            (None, UntypedBuildings::Mix { seed }) => gardencity::city::random::mixed_type(seed, row),
            (Some(_), _) => match attr.as_deref().map(str::parse::<BuildingType>) {
                Some(Ok(k)) => k,
                _ => {
                    report.unknown_types += 1;
                    BuildingType::Other
                }
            },
        };
        buildings.push(InputBuilding { geometry: mp, kind });
    })?;
    if buildings.is_empty() {
        return Err(InputError::EmptyLayer {
            path: r.path().to_path_buf(),
            layer: name.clone(),
            what: "polygon features".into(),
        });
    }
    Ok(buildings)
}

/// The street lines (multilines split), each marked major or not by its highway value.
fn read_streets(r: &GpkgReader, opts: &InputOptions, report: &mut InputReport) -> Result<Vec<StreetLine>, InputError> {
    let name = &opts.streets_layer;
    let layer = layer_info(r, name)?;
    let hw = layer.columns.iter().any(|c| c == &opts.highway_column).then_some(opts.highway_column.as_str());
    let mut streets = Vec::new();
    for_each_feature(r, name, &layer, hw, |geom, attr| {
        let major = attr.as_deref().is_some_and(is_major_highway);
        match geom {
            None => report.empty_geometries += 1,
            Some(Geometry::LineString(ls)) if !ls.0.is_empty() => streets.push(StreetLine { geometry: ls, major }),
            Some(Geometry::MultiLineString(m)) if !m.0.is_empty() => streets
                .extend(m.0.into_iter().filter(|l| !l.0.is_empty()).map(|geometry| StreetLine { geometry, major })),
            Some(Geometry::LineString(_)) | Some(Geometry::MultiLineString(_)) => report.empty_geometries += 1,
            Some(_) => report.non_line_streets += 1,
        }
    })?;
    if streets.is_empty() {
        return Err(InputError::EmptyLayer {
            path: r.path().to_path_buf(),
            layer: name.clone(),
            what: "line strings".into(),
        });
    }
    Ok(streets)
}

/// The bounding rectangle of the buildings and streets (not empty: buildings are not).
fn extent(buildings: &[InputBuilding], streets: &[StreetLine]) -> MultiPolygon<f64> {
    let rects = buildings
        .iter()
        .filter_map(|b| b.geometry.bounding_rect())
        .chain(streets.iter().filter_map(|s| s.geometry.bounding_rect()));
    let r = rects
        .reduce(|a, r| {
            geo_types::Rect::new(
                geo_types::coord! { x: a.min().x.min(r.min().x), y: a.min().y.min(r.min().y) },
                geo_types::coord! { x: a.max().x.max(r.max().x), y: a.max().y.max(r.max().y) },
            )
        })
        .expect("buildings are not empty");
    MultiPolygon::new(vec![r.to_polygon()])
}

/// Reads the polygons of one layer of a GeoPackage as a boundary in EPSG:3857
/// (EPSG:4326 is reprojected; other CRSs are an error).
pub fn read_boundary_gpkg(path: &Path, layer: &str) -> Result<MultiPolygon<f64>, InputError> {
    layer_polygons(&open(path)?, layer)
}

/// The polygons (multipolygons split) of one layer; an error when there are none.
fn layer_polygons(r: &GpkgReader, layer: &str) -> Result<MultiPolygon<f64>, InputError> {
    let info = layer_info(r, layer)?;
    let mut polys: Vec<Polygon<f64>> = Vec::new();
    for_each_feature(r, layer, &info, None, |geom, _| match geom {
        Some(Geometry::Polygon(pg)) => polys.push(pg),
        Some(Geometry::MultiPolygon(mp)) => polys.extend(mp.0),
        _ => {}
    })?;
    if polys.is_empty() {
        return Err(InputError::EmptyLayer {
            path: r.path().to_path_buf(),
            layer: layer.into(),
            what: "polygons".into(),
        });
    }
    Ok(MultiPolygon::new(polys))
}

/// The geometry column, CRS and columns of a geometry layer whose table exists.
fn layer_info(r: &GpkgReader, layer: &str) -> Result<Layer, InputError> {
    let geom_column = match r.has_table(layer)? {
        true => r.geometry_column(layer)?,
        false => None,
    };
    let Some(geom_column) = geom_column else {
        let mut names = Vec::new();
        for l in r.layers()? {
            if r.geometry_column(&l)?.is_some() {
                names.push(l);
            }
        }
        let available = if names.is_empty() { "none".to_string() } else { names.join(", ") };
        return Err(InputError::MissingLayer { path: r.path().to_path_buf(), layer: layer.into(), available });
    };
    let crs = match r.layer_srs(layer)? {
        Some((org, 3857, _)) if org.eq_ignore_ascii_case("EPSG") => Crs::Mercator,
        Some((org, 4326, _)) if org.eq_ignore_ascii_case("EPSG") => Crs::LonLat,
        srs => {
            let crs = match srs {
                Some((org, code, srs_id)) => format!("{org}:{code} (srs_id {srs_id})"),
                None => "an srs_id that is not in gpkg_spatial_ref_sys".to_string(),
            };
            return Err(InputError::UnsupportedCrs { path: r.path().to_path_buf(), layer: layer.into(), crs });
        }
    };
    Ok(Layer { geom_column, crs, columns: r.columns(layer)? })
}

/// Calls `f(geometry in EPSG:3857, text attribute)` for every row of a layer, in row
/// order. An empty or NULL geometry is `None`; an undecodable one is an error naming the
/// feature. A numeric attribute is given as text.
fn for_each_feature(
    r: &GpkgReader,
    layer: &str,
    info: &Layer,
    attr: Option<&str>,
    mut f: impl FnMut(Option<Geometry<f64>>, Option<String>),
) -> Result<(), InputError> {
    let geom = info.geom_column.as_str();
    let columns: Vec<&str> = std::iter::once(geom).chain(attr).collect();
    r.for_each_row(layer, &columns, |row| {
        let g = match row.value(geom)? {
            ValueRef::Blob([]) => None,
            _ => row.opt_geometry(geom)?,
        };
        let g = g.map(|g| match info.crs {
            Crs::Mercator => g,
            Crs::LonLat => g.map_coords(|c| {
                let (x, y) = lonlat_to_mercator(c.x, c.y);
                geo_types::coord! { x: x, y: y }
            }),
        });
        let text = match attr {
            None => None,
            Some(a) => match row.value(a)? {
                ValueRef::Real(v) => Some(v.to_string()),
                _ => row.opt_text(a)?,
            },
        };
        f(g, text);
        Ok(())
    })?;
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
