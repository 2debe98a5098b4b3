//! Reading and writing a city as a NOMAD-style GeoPackage (MODEL.md section 7).

use super::error::{GpkgError, GpkgErrorKind};
use super::geom::GeometryType;
use super::reader::{geometry_type_name, GpkgReader, Row};
use super::writer::{Column, GpkgWriter, Value, SRS_LOCAL_UNDEFINED};
use gardencity::city::outline::{blocks_of_rings, outline, Ring};
use gardencity::{BuildingSpec, BuildingType, Cell, City, CityError, CityParts, Georeference, Point};
use geo_types::{Coord, Geometry, LineString, MultiPolygon, Polygon};
use std::collections::HashMap;
use std::path::Path;

/// Layer of the buildings.
pub const BUILDINGS_LAYER: &str = "buildings";
/// Layer of the street cells.
pub const STREETS_LAYER: &str = "streets";
/// Layer of the one-row city properties.
pub const PROPERTIES_LAYER: &str = "city_properties";

/// Options of [`write_city`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteOptions {
    /// Replace an existing file (otherwise [`GpkgErrorKind::Exists`]).
    pub overwrite: bool,
}

fn to_i32(row: &Row<'_>, column: &str) -> Result<i32, GpkgError> {
    let v = row.i64(column)?;
    i32::try_from(v).map_err(|_| row.bad_value(column, "an integer that fits in 32 bits", format!("integer {v}")))
}

fn rings_of(p: &Polygon<f64>) -> Vec<Vec<(f64, f64)>> {
    std::iter::once(p.exterior()).chain(p.interiors()).map(|l| l.0.iter().map(|c| (c.x, c.y)).collect()).collect()
}

/// The blocks whose centres lie inside a Polygon or MultiPolygon geometry.
fn blocks_of_geometry(row: &Row<'_>, column: &str, g: &Geometry<f64>) -> Result<Vec<Cell>, GpkgError> {
    let expected = "a Polygon or MultiPolygon in block units";
    // Blocks are searched in the bounding box: refuse one that no city grid can hold
    // before enumerating it.
    let coords: Vec<(f64, f64)> = match g {
        Geometry::Polygon(p) => rings_of(p).concat(),
        Geometry::MultiPolygon(m) => m.0.iter().flat_map(|p| rings_of(p).concat()).collect(),
        _ => Vec::new(),
    };
    if let Some(&(x, y)) = coords.iter().find(|(x, y)| !(x.is_finite() && y.is_finite())) {
        return Err(row.bad_geometry(column, "finite coordinates in block units", format!("a vertex ({x}, {y})")));
    }
    let span = |f: fn(&(f64, f64)) -> f64| {
        let (lo, hi) = coords.iter().map(f).fold((f64::MAX, f64::MIN), |(a, b), v| (a.min(v), b.max(v)));
        (hi - lo).max(0.0) + 1.0
    };
    let area = span(|c| c.0) * span(|c| c.1);
    if area > gardencity::city::MAX_CELLS as f64 {
        return Err(row.bad_geometry(
            column,
            format!("a building within a grid of at most {} blocks", gardencity::city::MAX_CELLS),
            format!("a geometry whose bounding box spans about {area:.0} blocks"),
        ));
    }
    let mut blocks = match g {
        Geometry::Polygon(p) => blocks_of_rings(&rings_of(p)),
        Geometry::MultiPolygon(m) => m.0.iter().flat_map(|p| blocks_of_rings(&rings_of(p))).collect(),
        other => return Err(row.bad_geometry(column, expected, geometry_type_name(other))),
    };
    if blocks.is_empty() {
        return Err(row.bad_geometry(
            column,
            "a polygon containing at least one block centre",
            format!("an empty or degenerate {}", geometry_type_name(g)),
        ));
    }
    blocks.sort_unstable();
    blocks.dedup();
    Ok(blocks)
}

/// Largest x and y of the coordinates of a WKT text (2D, Z, M or ZM), or `None`
/// when it has no coordinates.
fn wkt_max(wkt: &str) -> Option<(f64, f64)> {
    let upper = wkt.to_ascii_uppercase();
    let head = upper.split('(').next().unwrap_or("");
    let dims = if head.contains("ZM") {
        4
    } else if head.split_whitespace().any(|t| t == "Z" || t == "M") || head.trim_end().ends_with('Z') {
        3
    } else {
        2
    };
    let body = &wkt[wkt.find('(')?..];
    let mut nums = Vec::new();
    for t in body.split(|c: char| c.is_whitespace() || c == ',' || c == '(' || c == ')').filter(|t| !t.is_empty()) {
        match t.parse::<f64>() {
            Ok(v) if v.is_finite() => nums.push(v),
            _ => return None,
        }
    }
    if nums.len() < dims || nums.len() % dims != 0 {
        return None;
    }
    let (mut mx, mut my) = (f64::MIN, f64::MIN);
    for c in nums.chunks_exact(dims) {
        mx = mx.max(c[0]);
        my = my.max(c[1]);
    }
    Some((mx, my))
}

/// Reads a city GeoPackage as written by the reference (NOMAD's `save_geopackage`,
/// e.g. `garden-city.gpkg`) or by [`write_city`].
///
/// * `buildings`: blocks from the polygon geometry (a block belongs when its centre is
///   inside; Polygon or MultiPolygon), `id`, `building_type`, `door_cell_x/y`, and
///   optionally `door_point_x/y` and `size` (checked against the geometry when present).
/// * `streets`: `coord_x`, `coord_y`.
/// * `city_properties` (optional): `name`, `block_side_length`,
///   `web_mercator_origin_x/y`, `city_boundary` (kept as WKT), and our extra columns
///   `width`, `height`, `rotation_deg`, `rotation_origin_x/y`, `boundary_is_derived`.
///
/// The grid size comes from `width`/`height` when present, else from the bounds of
/// `city_boundary`, else from the extent of streets and buildings.
pub fn read_city(path: impl AsRef<Path>) -> Result<City, GpkgError> {
    let r = GpkgReader::open(path)?;
    let path = r.path().to_path_buf();
    for layer in [BUILDINGS_LAYER, STREETS_LAYER] {
        check_block_units(&r, layer)?;
    }

    // Buildings.
    r.require_columns(
        BUILDINGS_LAYER,
        &[
            ("id", "the building id (text)"),
            ("building_type", "home, workplace, retail, park or other"),
            ("door_cell_x", "the integer x of the door's street cell"),
            ("door_cell_y", "the integer y of the door's street cell"),
        ],
    )?;
    let geom_col = match r.geometry_column(BUILDINGS_LAYER)? {
        Some(c) => c,
        None => {
            return Err(GpkgErrorKind::MissingColumn {
                path,
                layer: BUILDINGS_LAYER.into(),
                column: "(geometry)".into(),
                expected: "a polygon geometry column registered in gpkg_geometry_columns".into(),
                available: r.columns(BUILDINGS_LAYER)?.join(", "),
            }
            .into())
        }
    };
    let bcols = r.columns(BUILDINGS_LAYER)?;
    let has = |cols: &[String], c: &str| cols.iter().any(|h| h.eq_ignore_ascii_case(c));
    let has_door_point = has(&bcols, "door_point_x") && has(&bcols, "door_point_y");
    let has_size = has(&bcols, "size");
    let mut wanted: Vec<&str> = vec![geom_col.as_str(), "id", "building_type", "door_cell_x", "door_cell_y"];
    if has_door_point {
        wanted.extend(["door_point_x", "door_point_y"]);
    }
    if has_size {
        wanted.push("size");
    }
    let mut specs: Vec<BuildingSpec> = Vec::new();
    let mut label_of_id: HashMap<String, String> = HashMap::new();
    let (mut max_x, mut max_y) = (-1i64, -1i64);
    r.for_each_row(BUILDINGS_LAYER, &wanted, |row| {
        let g = row.geometry(&geom_col)?;
        let blocks = blocks_of_geometry(row, &geom_col, &g)?;
        let kind_text = row.text("building_type")?;
        let kind: BuildingType = kind_text.parse().map_err(|_| {
            row.bad_value("building_type", "home, workplace, retail, park or other", format!("{kind_text:?}"))
        })?;
        if has_size {
            if let Some(size) = row.opt_i64("size")? {
                if size != blocks.len() as i64 {
                    return Err(row.bad_value(
                        "size",
                        format!("the number of blocks of the geometry ({})", blocks.len()),
                        format!("integer {size}"),
                    ));
                }
            }
        }
        let door = Cell::new(to_i32(row, "door_cell_x")?, to_i32(row, "door_cell_y")?);
        let door_point = if has_door_point {
            match (row.opt_f64("door_point_x")?, row.opt_f64("door_point_y")?) {
                (Some(x), Some(y)) => Some(Point::new(x, y)),
                _ => None,
            }
        } else {
            None
        };
        let id = row.opt_text("id")?;
        for b in &blocks {
            max_x = max_x.max(b.x as i64);
            max_y = max_y.max(b.y as i64);
        }
        max_x = max_x.max(door.x as i64);
        max_y = max_y.max(door.y as i64);
        // City errors name a building by its id, or by this label when it has none.
        let key = id.clone().unwrap_or_else(|| format!("{} with door ({}, {})", kind, door.x, door.y));
        label_of_id.insert(key, row.feature().to_string());
        specs.push(BuildingSpec { id, kind, blocks, door, door_point });
        Ok(())
    })?;

    // Streets.
    r.require_columns(
        STREETS_LAYER,
        &[("coord_x", "the integer x of the street cell"), ("coord_y", "the integer y of the street cell")],
    )?;
    let mut streets = Vec::new();
    let mut street_label: HashMap<Cell, String> = HashMap::new();
    r.for_each_row(STREETS_LAYER, &["coord_x", "coord_y"], |row| {
        let c = Cell::new(to_i32(row, "coord_x")?, to_i32(row, "coord_y")?);
        max_x = max_x.max(c.x as i64);
        max_y = max_y.max(c.y as i64);
        street_label.insert(c, row.feature().to_string());
        streets.push(c);
        Ok(())
    })?;

    // Properties.
    let mut name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    let mut georef = Georeference::default();
    let mut boundary_wkt: Option<String> = None;
    let mut dims: Option<(i64, i64)> = None;
    let mut boundary_label = String::from("-");
    if r.has_table(PROPERTIES_LAYER)? {
        let pcols = r.columns(PROPERTIES_LAYER)?;
        let known = [
            "name",
            "block_side_length",
            "web_mercator_origin_x",
            "web_mercator_origin_y",
            "city_boundary",
            "width",
            "height",
            "rotation_deg",
            "rotation_origin_x",
            "rotation_origin_y",
            "boundary_is_derived",
        ];
        let present: Vec<&str> = known.iter().copied().filter(|c| has(&pcols, c)).collect();
        let mut first = true;
        r.for_each_row(PROPERTIES_LAYER, &present, |row| {
            if !first {
                return Ok(());
            }
            first = false;
            boundary_label = row.feature().to_string();
            let f = |c: &str| if present.contains(&c) { row.opt_f64(c) } else { Ok(None) };
            if present.contains(&"name") {
                if let Some(n) = row.opt_text("name")? {
                    name = n;
                }
            }
            if let Some(v) = f("block_side_length")? {
                if !(v > 0.0 && v.is_finite()) {
                    return Err(row.bad_value("block_side_length", "a positive number of metres", format!("{v}")));
                }
                georef.block_side = v;
            }
            // Every georeference number must be finite (an infinite origin would make
            // every output coordinate infinite).
            let finite = |c: &str| -> Result<f64, GpkgError> {
                match f(c)? {
                    Some(v) if !v.is_finite() => Err(row.bad_value(c, "a finite number", format!("{v}"))),
                    v => Ok(v.unwrap_or(0.0)),
                }
            };
            georef.origin_x = finite("web_mercator_origin_x")?;
            georef.origin_y = finite("web_mercator_origin_y")?;
            georef.rotation_deg = finite("rotation_deg")?;
            georef.rotation_origin = (finite("rotation_origin_x")?, finite("rotation_origin_y")?);
            let derived = present.contains(&"boundary_is_derived") && row.opt_i64("boundary_is_derived")? == Some(1);
            let wkt = if present.contains(&"city_boundary") { row.opt_text("city_boundary")? } else { None };
            let (w, h) = if present.contains(&"width") && present.contains(&"height") {
                (row.opt_i64("width")?, row.opt_i64("height")?)
            } else {
                (None, None)
            };
            if let (Some(w), Some(h)) = (w, h) {
                dims = Some((w, h));
            } else if let Some(wkt) = &wkt {
                let (mx, my) = wkt_max(wkt).ok_or_else(|| {
                    row.bad_value("city_boundary", "a WKT polygon with coordinates", format!("{wkt:?}"))
                })?;
                if !(mx >= 0.0 && my >= 0.0 && mx < 1e9 && my < 1e9) {
                    return Err(row.bad_value(
                        "city_boundary",
                        "a boundary in block units within 0..1e9",
                        format!("maximum ({mx}, {my})"),
                    ));
                }
                dims = Some((mx.ceil() as i64, my.ceil() as i64));
            }
            if !derived {
                boundary_wkt = wkt;
            }
            Ok(())
        })?;
    }
    let (width, height) = dims.unwrap_or((max_x + 1, max_y + 1));
    let (width, height) = match (u32::try_from(width), u32::try_from(height)) {
        (Ok(w), Ok(h)) => (w, h),
        _ => {
            return Err(GpkgErrorKind::InvalidCity {
                path,
                layer: PROPERTIES_LAYER.into(),
                feature: boundary_label,
                source: CityError::Dimensions { width, height, reason: "width and height must fit in 32 bits".into() },
            }
            .into())
        }
    };

    let parts = CityParts { name, width, height, georef, streets, buildings: specs, boundary_wkt };
    City::new(parts).map_err(|e| {
        let building = |id: &str| label_of_id.get(id).cloned().unwrap_or_else(|| "-".into());
        let (layer, feature) = match &e {
            CityError::BadDoor { id, .. }
            | CityError::EmptyBuilding { id }
            | CityError::Disconnected { id }
            | CityError::DuplicateId { id } => (BUILDINGS_LAYER, building(id)),
            CityError::Overlap { x, y, second, .. } => match second.strip_prefix("building ") {
                Some(id) => (BUILDINGS_LAYER, building(id)),
                None => (STREETS_LAYER, street_label.get(&Cell::new(*x, *y)).cloned().unwrap_or_else(|| "-".into())),
            },
            CityError::OutOfGrid { what, x, y, .. } => match what.strip_prefix("block of building ") {
                Some(id) => (BUILDINGS_LAYER, building(id)),
                None => (STREETS_LAYER, street_label.get(&Cell::new(*x, *y)).cloned().unwrap_or_else(|| "-".into())),
            },
            CityError::Dimensions { .. } | CityError::Georeference { .. } => (PROPERTIES_LAYER, boundary_label.clone()),
            _ => (BUILDINGS_LAYER, "-".to_string()),
        };
        GpkgErrorKind::InvalidCity { path: path.clone(), layer: layer.into(), feature, source: e }.into()
    })
}

fn ring_to_line(r: &Ring) -> LineString<f64> {
    LineString(r.iter().map(|&(x, y)| Coord { x: x as f64, y: y as f64 }).collect())
}

fn polygons_of(blocks: &[Cell]) -> Vec<Polygon<f64>> {
    outline(blocks)
        .iter()
        .map(|rings| Polygon::new(ring_to_line(&rings[0]), rings[1..].iter().map(ring_to_line).collect()))
        .collect()
}

fn fmt_num(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        format!("{v}")
    }
}

fn wkt_ring(l: &LineString<f64>) -> String {
    let pts: Vec<String> = l.0.iter().map(|c| format!("{} {}", fmt_num(c.x), fmt_num(c.y))).collect();
    format!("({})", pts.join(", "))
}

fn wkt_polygon_body(p: &Polygon<f64>) -> String {
    let rings: Vec<String> = std::iter::once(p.exterior()).chain(p.interiors()).map(wkt_ring).collect();
    format!("({})", rings.join(", "))
}

/// The WKT of the union of `blocks` (block units): a `POLYGON`, or a `MULTIPOLYGON`
/// when the blocks form several pieces, as the building geometries are written.
pub fn blocks_wkt(blocks: &[Cell]) -> String {
    let polys = polygons_of(blocks);
    match polys.as_slice() {
        [one] => format!("POLYGON {}", wkt_polygon_body(one)),
        many => format!("MULTIPOLYGON ({})", many.iter().map(wkt_polygon_body).collect::<Vec<_>>().join(", ")),
    }
}

/// Writes a city as a GeoPackage with layers `buildings`, `streets` and
/// `city_properties` in block units (SRS 99999 "Undefined SRS", as the reference).
///
/// `city_properties` also stores `width`, `height`, `rotation_deg`,
/// `rotation_origin_x/y` and `boundary_is_derived` (1 when `city_boundary` is the grid
/// rectangle written for a city without a boundary), so that [`read_city`] gives back
/// an identical [`City`]. The file is written to a temporary name and renamed at the end.
pub fn write_city(city: &City, path: impl AsRef<Path>, opts: &WriteOptions) -> Result<(), GpkgError> {
    let mut w = GpkgWriter::create(path, opts.overwrite)?;
    let outlines: Vec<Vec<Polygon<f64>>> = city.buildings().iter().map(|b| polygons_of(&b.blocks)).collect();
    let multi = outlines.iter().any(|p| p.len() != 1);
    let gtype = if multi { GeometryType::MultiPolygon } else { GeometryType::Polygon };
    w.add_features_table(
        BUILDINGS_LAYER,
        gtype,
        SRS_LOCAL_UNDEFINED,
        &[
            Column::text("id"),
            Column::text("building_type"),
            Column::integer("door_cell_x"),
            Column::integer("door_cell_y"),
            Column::integer("size"),
            Column::real("door_point_x"),
            Column::real("door_point_y"),
        ],
    )?;
    for (b, polys) in city.buildings().iter().zip(outlines) {
        let g = if multi { Geometry::MultiPolygon(MultiPolygon(polys)) } else { Geometry::Polygon(polys[0].clone()) };
        w.insert_feature(
            BUILDINGS_LAYER,
            Some(&g),
            &[
                b.id.as_str().into(),
                b.kind.as_str().into(),
                b.door.x.into(),
                b.door.y.into(),
                b.size().into(),
                b.door_point.x.into(),
                b.door_point.y.into(),
            ],
        )?;
    }

    w.add_features_table(
        STREETS_LAYER,
        GeometryType::Polygon,
        SRS_LOCAL_UNDEFINED,
        &[Column::integer("coord_x"), Column::integer("coord_y"), Column::text("id")],
    )?;
    for &c in city.streets() {
        let (x, y) = (c.x as f64, c.y as f64);
        let sq = Polygon::new(
            LineString::from(vec![(x, y), (x + 1.0, y), (x + 1.0, y + 1.0), (x, y + 1.0), (x, y)]),
            vec![],
        );
        w.insert_feature(STREETS_LAYER, Some(&Geometry::Polygon(sq)), &[c.x.into(), c.y.into(), c.street_id().into()])?;
    }

    let (wd, ht) = (city.width() as f64, city.height() as f64);
    let rect = Polygon::new(LineString::from(vec![(wd, 0.0), (wd, ht), (0.0, ht), (0.0, 0.0), (wd, 0.0)]), vec![]);
    let derived = city.boundary_wkt().is_none();
    let boundary = match city.boundary_wkt() {
        Some(s) => s.to_string(),
        None => format!("POLYGON {}", wkt_polygon_body(&rect)),
    };
    let all_blocks: Vec<Cell> = city.buildings().iter().flat_map(|b| b.blocks.iter().copied()).collect();
    let outline_polys = polygons_of(&all_blocks);
    let buildings_outline = if outline_polys.is_empty() {
        "MULTIPOLYGON EMPTY".to_string()
    } else {
        let parts: Vec<String> = outline_polys.iter().map(wkt_polygon_body).collect();
        format!("MULTIPOLYGON ({})", parts.join(", "))
    };
    let g = city.georef();
    w.add_features_table(
        PROPERTIES_LAYER,
        GeometryType::Polygon,
        SRS_LOCAL_UNDEFINED,
        &[
            Column::text("name"),
            Column::real("block_side_length"),
            Column::real("web_mercator_origin_x"),
            Column::real("web_mercator_origin_y"),
            Column::text("city_boundary"),
            Column::text("buildings_outline"),
            Column::integer("width"),
            Column::integer("height"),
            Column::real("rotation_deg"),
            Column::real("rotation_origin_x"),
            Column::real("rotation_origin_y"),
            Column::integer("boundary_is_derived"),
        ],
    )?;
    w.insert_feature(
        PROPERTIES_LAYER,
        Some(&Geometry::Polygon(rect)),
        &[
            city.name().into(),
            g.block_side.into(),
            g.origin_x.into(),
            g.origin_y.into(),
            boundary.into(),
            buildings_outline.into(),
            city.width().into(),
            city.height().into(),
            g.rotation_deg.into(),
            g.rotation_origin.0.into(),
            g.rotation_origin.1.into(),
            Value::Integer(i64::from(derived)),
        ],
    )?;
    w.commit()
}

/// A city GeoPackage is in block units (NOMAD's layout declares an undefined or local
/// SRS such as 99999); a layer declared in a real coordinate system (EPSG:3857 metres,
/// EPSG:4326 degrees) holds map data that must be rasterized first.
fn check_block_units(r: &GpkgReader, layer: &str) -> Result<(), GpkgError> {
    let Some((org, code, srs_id)) = r.layer_srs(layer)? else { return Ok(()) };
    if org.eq_ignore_ascii_case("EPSG") && code > 0 {
        let kind = match code {
            3857 => " (Web Mercator metres)",
            4326 => " (longitude/latitude degrees)",
            _ => "",
        };
        return Err(GpkgErrorKind::WrongCrs {
            path: r.path().to_path_buf(),
            layer: layer.into(),
            crs: format!("EPSG:{code}{kind}, srs_id {srs_id}"),
            expected:
                "a city GeoPackage is in block units (NOMAD's layout: an undefined or local SRS such as \
                       99999); to make a city of map data, rasterize it: gardencity city rasterize FILE --out CITY.gpkg"
                    .into(),
        }
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::wkt_max;

    #[test]
    fn wkt_max_reads_2d_z_m_and_zm() {
        assert_eq!(wkt_max("POLYGON ((22 0, 22 22, 0 22, 0 0, 22 0))"), Some((22.0, 22.0)));
        assert_eq!(wkt_max("POLYGON ((0 0, 30.5 0, 30.5 -4e1, 0 0))"), Some((30.5, 0.0)));
        assert_eq!(wkt_max("POLYGON Z ((0 0 99, 5 0 99, 5 7 99, 0 0 99))"), Some((5.0, 7.0)));
        assert_eq!(wkt_max("POLYGON M ((0 0 99, 5 0 99, 5 7 99, 0 0 99))"), Some((5.0, 7.0)));
        assert_eq!(wkt_max("POLYGON ZM ((0 0 99 98, 5 0 99 98, 5 7 99 98, 0 0 99 98))"), Some((5.0, 7.0)));
        assert_eq!(wkt_max("MULTIPOLYGON (((0 0, 1 0, 1 1, 0 0)), ((10 3, 12 3, 12 4, 10 3)))"), Some((12.0, 4.0)));
        assert_eq!(wkt_max("POLYGON EMPTY"), None);
        assert_eq!(wkt_max("garbage"), None);
        assert_eq!(wkt_max("POLYGON ((0 0, inf 0, 0 0))"), None);
    }
}
