//! Rasterizer input from an `.osm.pbf` extract (MODEL.md section 8).
//!
//! Three passes over the file (relations, ways, nodes) keep only what is needed:
//! buildings (ways and multipolygon relations with `building`, plus `amenity=parking`
//! areas that are not underground), parks (`leisure`/`natural` values of `[parks]`) and
//! streets (`[streets]`). Everything is projected to Web Mercator, multipolygons are split
//! into parts, clipped to the boundary, and contained or duplicate polygons are removed.
//!
//! With `consolidate_streets`, the street graph is simplified, intersections closer than
//! `[streets].intersection_consolidation_tolerance_m` are merged, dead ends dropped and
//! edges shorter than `[streets].min_length_m` removed, like the reference (see
//! [`crate::streets`] for the approximations).

use crate::categories::Categories;
use crate::raster::{InputBuilding, InputReport, RasterInput, StreetLine};
use gardencity::city::{lonlat_to_mercator, BuildingType};
use geo::{BooleanOps, BoundingRect, Contains, Intersects, MapCoords, Validation};
use geo_types::{coord, Coord, LineString, MultiLineString, MultiPolygon, Polygon, Rect};
use osmpbf::{Element, ElementReader, RelMemberType};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// The area to read, in longitude/latitude degrees (WGS84).
#[derive(Debug, Clone, PartialEq)]
pub enum OsmBoundary {
    /// A bounding box.
    Bbox {
        /// Western longitude.
        west: f64,
        /// Southern latitude.
        south: f64,
        /// Eastern longitude.
        east: f64,
        /// Northern latitude.
        north: f64,
    },
    /// A polygon (or several), longitude/latitude.
    Polygon(MultiPolygon<f64>),
}

/// Options of [`read_osm_pbf`].
#[derive(Debug, Clone, PartialEq)]
pub struct OsmOptions {
    /// The area to read; features are clipped to it.
    pub boundary: OsmBoundary,
    /// Classification and selection tables.
    pub categories: Categories,
    /// Infer `building=yes` with a residential signal and `height < 20` as home.
    pub infer_residential: bool,
    /// Apply the reference's street clean-up (intersection consolidation, dead ends,
    /// short edges) before clipping.
    pub consolidate_streets: bool,
}

/// What the `.osm.pbf` reader kept, dropped and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct OsmReport {
    /// Nodes in the file.
    pub nodes: usize,
    /// Ways in the file.
    pub ways: usize,
    /// Relations in the file.
    pub relations: usize,
    /// Ways with a `building` tag whose polygon intersects the boundary (before clipping).
    pub building_ways: usize,
    /// Multipolygon relations with a `building` tag, assembled and intersecting the boundary.
    pub building_relations: usize,
    /// `amenity=parking` areas without a `building` tag kept.
    pub parking_areas: usize,
    /// Park areas (`leisure`/`natural` of `[parks]`) kept, before clipping.
    pub park_areas: usize,
    /// Highway ways matching the street rules that intersect the boundary.
    pub street_ways: usize,
    /// Water features (`natural=water`, `waterway`) excluded.
    pub water_excluded: usize,
    /// Underground (`parking=underground` or `layer=-1`) parking excluded.
    pub underground_parking_excluded: usize,
    /// Area ways that are not closed rings.
    pub unclosed_ways: usize,
    /// Ways referring to nodes missing from the extract.
    pub ways_missing_nodes: usize,
    /// Relations with members missing from the extract.
    pub incomplete_relations: usize,
    /// Relation rings that could not be closed.
    pub broken_rings: usize,
    /// Selected areas (ways, relations) entirely outside the boundary.
    pub areas_outside: usize,
    /// Selected street ways entirely outside the boundary.
    pub streets_outside: usize,
    /// Parts of areas entirely outside the boundary (the other parts were kept).
    pub outside_boundary: usize,
    /// Parts cut by the boundary.
    pub clipped: usize,
    /// Parts removed as identical to an earlier one.
    pub duplicates_removed: usize,
    /// Parts removed because another polygon contains them.
    pub contained_removed: usize,
    /// Street ways excluded by their `service` value.
    pub streets_excluded_service: usize,
    /// Street ways excluded by their `surface` value.
    pub streets_excluded_surface: usize,
    /// Street ways excluded as tunnels.
    pub streets_excluded_tunnel: usize,
    /// Street ways excluded as covered.
    pub streets_excluded_covered: usize,
    /// Polygons handed to the rasterizer, by category (`BuildingType as usize`).
    pub polygons_by_type: [usize; BuildingType::COUNT],
    /// Invalid polygons (self-intersections...) handed to the rasterizer.
    pub invalid_polygons: usize,
    /// The street clean-up, when enabled.
    pub consolidation: Option<crate::streets::ConsolidationReport>,
}

impl std::fmt::Display for OsmReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "read {} nodes, {} ways, {} relations", self.nodes, self.ways, self.relations)?;
        writeln!(
            f,
            "selected {} building ways, {} building relations, {} parking areas, {} park areas, {} street ways",
            self.building_ways, self.building_relations, self.parking_areas, self.park_areas, self.street_ways
        )?;
        writeln!(
            f,
            "excluded {} water, {} underground parking; broken: {} unclosed ways, {} ways with missing nodes, \
             {} incomplete relations, {} broken rings",
            self.water_excluded,
            self.underground_parking_excluded,
            self.unclosed_ways,
            self.ways_missing_nodes,
            self.incomplete_relations,
            self.broken_rings
        )?;
        writeln!(
            f,
            "outside the boundary: {} areas, {} street ways, {} parts; polygons: {} clipped, {} duplicates, \
             {} contained removed, {} invalid kept",
            self.areas_outside,
            self.streets_outside,
            self.outside_boundary,
            self.clipped,
            self.duplicates_removed,
            self.contained_removed,
            self.invalid_polygons
        )?;
        writeln!(
            f,
            "streets excluded: {} service, {} surface, {} tunnel, {} covered",
            self.streets_excluded_service,
            self.streets_excluded_surface,
            self.streets_excluded_tunnel,
            self.streets_excluded_covered
        )?;
        if let Some(c) = &self.consolidation {
            writeln!(
                f,
                "street graph: {} nodes, {} edges; {} dead ends removed ({} edges), {} clusters of {} intersections \
                 merged ({} inner edges removed), {} short edges removed; {} edges kept",
                c.graph_nodes,
                c.graph_edges,
                c.dead_ends_removed,
                c.dead_end_edges_removed,
                c.clusters_merged,
                c.nodes_merged,
                c.intra_cluster_edges_removed,
                c.short_edges_removed,
                c.edges_kept
            )?;
        }
        write!(f, "polygons by category:")?;
        for t in BuildingType::ALL {
            write!(f, " {} {}", self.polygons_by_type[t as usize], t)?;
        }
        Ok(())
    }
}

/// Why an `.osm.pbf` extract could not be read.
#[derive(Debug, thiserror::Error)]
pub enum OsmError {
    /// The file does not exist or cannot be opened.
    #[error("{path}: cannot open: {reason}")]
    Open {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The file is not a valid `.osm.pbf` (truncated, corrupt).
    #[error("{path}: invalid .osm.pbf data ({pass} pass): {reason}")]
    Pbf {
        /// The file.
        path: PathBuf,
        /// Which pass failed (relations, ways, nodes).
        pass: &'static str,
        /// The decoder's message.
        reason: String,
    },
    /// An invalid bounding box or boundary polygon.
    #[error("invalid boundary: {0}")]
    Boundary(String),
    /// The boundary does not overlap the extract.
    #[error("{path}: the boundary {boundary} lies outside the extract (its nodes span {extent})")]
    OutsideExtract {
        /// The file.
        path: PathBuf,
        /// The requested boundary's bounds.
        boundary: String,
        /// The extent of the file's nodes.
        extent: String,
    },
    /// The extract holds no nodes at all, so it covers no area.
    #[error("{path}: the extract holds no nodes")]
    NoNodes {
        /// The file.
        path: PathBuf,
    },
    /// Nothing usable inside the boundary.
    #[error("{path}: no {what} inside the boundary {boundary} ({nodes_inside} nodes of the extract lie inside it)\n{report}")]
    Empty {
        /// The file.
        path: PathBuf,
        /// Buildings or streets.
        what: &'static str,
        /// The requested boundary's bounds.
        boundary: String,
        /// Nodes of the extract inside the boundary's bounding box.
        nodes_inside: usize,
        /// What was read and dropped.
        report: Box<OsmReport>,
    },
}

type Tags = Vec<(String, String)>;

fn tag<'t>(tags: &'t Tags, key: &str) -> Option<&'t str> {
    tags.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

fn collect_tags<'a>(it: impl Iterator<Item = (&'a str, &'a str)>) -> Tags {
    it.map(|(k, v)| (k.to_string(), v.trim().to_lowercase())).collect()
}

/// What a tagged area is selected as.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AreaRole {
    Building,
    Parking,
    Park,
}

/// The selection rules for areas. `Err` carries a counter to bump.
fn area_role(tags: &Tags, cats: &Categories, report: &mut OsmReport, count: bool) -> Option<AreaRole> {
    let water = tag(tags, "natural") == Some("water") || tag(tags, "waterway").is_some();
    let building = tag(tags, "building").is_some_and(|b| b != "no");
    let parking = tag(tags, "amenity").is_some_and(|a| a.split([';', ',', '|']).any(|v| v.trim() == "parking"));
    let park = tag(tags, "leisure").is_some_and(|v| cats.park_leisure.iter().any(|p| p == v))
        || tag(tags, "natural").is_some_and(|v| cats.park_natural.iter().any(|p| p == v));
    if !(building || parking || park) {
        return None;
    }
    if water {
        if count {
            report.water_excluded += 1;
        }
        return None;
    }
    if building {
        return Some(AreaRole::Building);
    }
    if parking {
        if tag(tags, "parking") == Some("underground") || tag(tags, "layer") == Some("-1") {
            if count {
                report.underground_parking_excluded += 1;
            }
            // It may still be a park.
        } else {
            return Some(AreaRole::Parking);
        }
    }
    park.then_some(AreaRole::Park)
}

/// Why a street way is excluded, if it is.
enum StreetVerdict {
    No,
    Yes,
    Service,
    Surface,
    Tunnel,
    Covered,
}

fn street_verdict(tags: &Tags, cats: &Categories) -> StreetVerdict {
    let rules = &cats.streets;
    let Some(hw) = tag(tags, "highway") else { return StreetVerdict::No };
    if !rules.highway.iter().any(|h| h == hw) {
        return StreetVerdict::No;
    }
    if tag(tags, "service").is_some_and(|s| rules.excluded_service.iter().any(|e| e == s)) {
        return StreetVerdict::Service;
    }
    if tag(tags, "surface").is_some_and(|s| rules.excluded_surface.iter().any(|e| e == s)) {
        return StreetVerdict::Surface;
    }
    if rules.exclude_tunnels && tag(tags, "tunnel") == Some("yes") {
        return StreetVerdict::Tunnel;
    }
    if rules.exclude_covered && tag(tags, "covered") == Some("yes") {
        return StreetVerdict::Covered;
    }
    StreetVerdict::Yes
}

struct RelInfo {
    tags: Tags,
    role: AreaRole,
    members: Vec<(i64, bool)>, // (way id, is inner)
}

struct WayInfo {
    tags: Tags,
    refs: Vec<i64>,
    area: Option<AreaRole>,
    street: bool,
}

/// The boundary projected to Web Mercator, with its bounds.
fn project_boundary(b: &OsmBoundary) -> Result<MultiPolygon<f64>, OsmError> {
    const MAX_LAT: f64 = 85.051_128_78;
    let check = |lon: f64, lat: f64| -> Result<(), OsmError> {
        if !(lon.is_finite() && lat.is_finite() && (-180.0..=180.0).contains(&lon) && lat.abs() <= MAX_LAT) {
            return Err(OsmError::Boundary(format!("({lon}, {lat}) is not a longitude/latitude inside Web Mercator")));
        }
        Ok(())
    };
    let mp = match b {
        OsmBoundary::Bbox { west, south, east, north } => {
            check(*west, *south)?;
            check(*east, *north)?;
            if !(west < east && south < north) {
                return Err(OsmError::Boundary(format!(
                    "bbox W,S,E,N = {west},{south},{east},{north} needs W < E and S < N"
                )));
            }
            MultiPolygon::new(vec![
                Rect::new(coord! { x: *west, y: *south }, coord! { x: *east, y: *north }).to_polygon()
            ])
        }
        OsmBoundary::Polygon(mp) => {
            if mp.0.is_empty() || mp.0.iter().all(|p| p.exterior().0.len() < 4) {
                return Err(OsmError::Boundary("the boundary polygon is empty".into()));
            }
            for c in mp.0.iter().flat_map(|p| p.exterior().0.iter()) {
                check(c.x, c.y)?;
            }
            mp.clone()
        }
    };
    Ok(mp.map_coords(|c| {
        let (x, y) = lonlat_to_mercator(c.x, c.y);
        coord! { x: x, y: y }
    }))
}

fn pbf_err<'p>(path: &'p Path, pass: &'static str) -> impl Fn(osmpbf::Error) -> OsmError + 'p {
    move |e| OsmError::Pbf { path: path.to_path_buf(), pass, reason: e.to_string() }
}

fn open(path: &Path) -> Result<ElementReader<std::io::BufReader<std::fs::File>>, OsmError> {
    ElementReader::from_path(path).map_err(|e| OsmError::Open { path: path.to_path_buf(), reason: e.to_string() })
}

/// Reads buildings, parks and streets of an `.osm.pbf` extract inside a boundary and
/// returns rasterizer input in EPSG:3857 with a report of what was kept and dropped.
pub fn read_osm_pbf(path: &Path, opts: &OsmOptions) -> Result<(RasterInput, OsmReport), OsmError> {
    crate::error::check_input_file(path).map_err(|reason| OsmError::Open { path: path.to_path_buf(), reason })?;
    let boundary = project_boundary(&opts.boundary)?;
    let bounds = boundary.bounding_rect().ok_or_else(|| OsmError::Boundary("empty boundary".into()))?;
    let cats = &opts.categories;
    let mut report = OsmReport::default();

    // Three passes over the file: relations, the ways they and the features need, the
    // nodes of those ways.
    let (rels, member_ways) = read_relations(path, cats, &mut report)?;
    let ways = read_ways(path, cats, &member_ways, &mut report)?;
    let nodes = read_nodes(path, &ways.needed, bounds, &mut report)?;
    let requested = opts_bounds(&opts.boundary);
    let fmt4 = |v: (f64, f64, f64, f64)| format!("W,S,E,N = {:.6},{:.6},{:.6},{:.6}", v.0, v.1, v.2, v.3);
    let Some(ext) = nodes.extent else { return Err(OsmError::NoNodes { path: path.to_path_buf() }) };
    // Outside only when the boundary misses the extent of the nodes; a small boundary
    // inside it between nodes can still be crossed by ways, and finds what it finds.
    let overlaps = requested.0 <= ext.2 && requested.2 >= ext.0 && requested.1 <= ext.3 && requested.3 >= ext.1;
    if nodes.inside == 0 && !overlaps {
        return Err(OsmError::OutsideExtract {
            path: path.to_path_buf(),
            boundary: fmt4(requested),
            extent: fmt4(ext),
        });
    }
    let empty = |what: &'static str, report: OsmReport| OsmError::Empty {
        path: path.to_path_buf(),
        what,
        boundary: fmt4(requested),
        nodes_inside: nodes.inside,
        report: Box::new(report),
    };

    // Features: street lines, then areas of ways and relations, clipped to the boundary.
    let area = Area { boundary: &boundary, bounds, rect_only: matches!(opts.boundary, OsmBoundary::Bbox { .. }) };
    let (mut areas, street_sel) = way_features(&ways.ways, &nodes.coords, &area, opts, &mut report);
    let streets = street_lines(street_sel, &nodes.coords, &area, opts, &mut report);
    relation_areas(&rels, &ways.member_refs, &nodes.coords, &area, opts, &mut report, &mut areas);
    // Buildings first, then parking lots, then parks (the reference's concatenation order).
    areas.sort_by_key(|(role, _, _)| match role {
        AreaRole::Building => 0,
        AreaRole::Parking => 1,
        AreaRole::Park => 2,
    });
    let parts = clip_areas(areas, &area, &mut report);
    let keep = distinct_outermost(&parts, &mut report);

    let mut input_report = InputReport::default();
    let mut buildings = Vec::new();
    for ((kind, p), k) in parts.into_iter().zip(keep) {
        if !k {
            continue;
        }
        if !p.is_valid() {
            report.invalid_polygons += 1;
            input_report.invalid_polygons += 1;
        }
        report.polygons_by_type[kind as usize] += 1;
        buildings.push(InputBuilding { geometry: MultiPolygon::new(vec![p]), kind });
    }
    if buildings.is_empty() {
        return Err(empty("buildings or parks", report));
    }
    if streets.is_empty() {
        return Err(empty("streets", report));
    }
    Ok((RasterInput { boundary, streets, buildings, report: input_report }, report))
}

/// An area feature: its role, category and polygon parts.
type AreaFeature = (AreaRole, BuildingType, Vec<Polygon<f64>>);

/// A selected street way: its node ids, line and whether it is a major road.
type StreetWay<'a> = (&'a [i64], LineString<f64>, bool);

/// The boundary features are clipped to.
struct Area<'a> {
    boundary: &'a MultiPolygon<f64>,
    bounds: Rect<f64>,
    /// The boundary is its bounding rectangle (a bbox), so features inside the rectangle
    /// need no clipping.
    rect_only: bool,
}

/// Pass 1: the multipolygon relations of an area role, and the ids of their member ways.
fn read_relations(
    path: &Path,
    cats: &Categories,
    report: &mut OsmReport,
) -> Result<(Vec<RelInfo>, HashSet<i64>), OsmError> {
    let mut rels: Vec<RelInfo> = Vec::new();
    let mut member_ways: HashSet<i64> = HashSet::new();
    open(path)?
        .for_each(|e| {
            if let Element::Relation(r) = e {
                report.relations += 1;
                let tags = collect_tags(r.tags());
                if tag(&tags, "type") != Some("multipolygon") {
                    return;
                }
                let Some(role) = area_role(&tags, cats, report, true) else { return };
                let mut members = Vec::new();
                for m in r.members() {
                    if m.member_type == RelMemberType::Way {
                        let inner = m.role().map(|r| r == "inner").unwrap_or(false);
                        members.push((m.member_id, inner));
                        member_ways.insert(m.member_id);
                    }
                }
                rels.push(RelInfo { tags, role, members });
            }
        })
        .map_err(pbf_err(path, "relations"))?;
    Ok((rels, member_ways))
}

/// What pass 2 keeps: area and street ways, the node lists of relation members, and
/// every node id they need.
struct WayScan {
    ways: Vec<WayInfo>,
    member_refs: HashMap<i64, Vec<i64>>,
    needed: HashSet<i64>,
}

/// Pass 2: the ways that are areas, streets or relation members.
fn read_ways(
    path: &Path,
    cats: &Categories,
    member_ways: &HashSet<i64>,
    report: &mut OsmReport,
) -> Result<WayScan, OsmError> {
    let mut scan = WayScan { ways: Vec::new(), member_refs: HashMap::new(), needed: HashSet::new() };
    open(path)?
        .for_each(|e| {
            if let Element::Way(w) = e {
                report.ways += 1;
                let is_member = member_ways.contains(&w.id());
                let tags = collect_tags(w.tags());
                let area = area_role(&tags, cats, report, true);
                let street = match street_verdict(&tags, cats) {
                    StreetVerdict::No => false,
                    StreetVerdict::Yes => true,
                    StreetVerdict::Service => {
                        report.streets_excluded_service += 1;
                        false
                    }
                    StreetVerdict::Surface => {
                        report.streets_excluded_surface += 1;
                        false
                    }
                    StreetVerdict::Tunnel => {
                        report.streets_excluded_tunnel += 1;
                        false
                    }
                    StreetVerdict::Covered => {
                        report.streets_excluded_covered += 1;
                        false
                    }
                };
                if !(is_member || area.is_some() || street) {
                    return;
                }
                let refs: Vec<i64> = w.refs().collect();
                scan.needed.extend(refs.iter().copied());
                if is_member {
                    scan.member_refs.insert(w.id(), refs.clone());
                }
                if area.is_some() || street {
                    scan.ways.push(WayInfo { tags, refs, area, street });
                }
            }
        })
        .map_err(pbf_err(path, "ways"))?;
    Ok(scan)
}

/// What pass 3 finds: the needed nodes in EPSG:3857, the extent of all nodes
/// (W, S, E, N degrees; `None` without nodes) and how many lie inside the bounds.
struct NodeScan {
    coords: HashMap<i64, Coord<f64>>,
    extent: Option<(f64, f64, f64, f64)>,
    inside: usize,
}

/// Pass 3: the nodes.
fn read_nodes(
    path: &Path,
    needed: &HashSet<i64>,
    bounds: Rect<f64>,
    report: &mut OsmReport,
) -> Result<NodeScan, OsmError> {
    let mut scan = NodeScan { coords: HashMap::with_capacity(needed.len()), extent: None, inside: 0 };
    let (bmin, bmax) = (bounds.min(), bounds.max());
    open(path)?
        .for_each(|e| {
            let (id, lon, lat) = match e {
                Element::Node(n) => (n.id(), n.lon(), n.lat()),
                Element::DenseNode(n) => (n.id(), n.lon(), n.lat()),
                _ => return,
            };
            report.nodes += 1;
            scan.extent = Some(match scan.extent {
                None => (lon, lat, lon, lat),
                Some((a, b, c, d)) => (a.min(lon), b.min(lat), c.max(lon), d.max(lat)),
            });
            let (x, y) = lonlat_to_mercator(lon, lat);
            if x >= bmin.x && x <= bmax.x && y >= bmin.y && y <= bmax.y {
                scan.inside += 1;
            }
            if needed.contains(&id) {
                scan.coords.insert(id, coord! { x: x, y: y });
            }
        })
        .map_err(pbf_err(path, "nodes"))?;
    Ok(scan)
}

/// The coordinates of a node list (`None` when one is missing).
fn coords_of(nodes: &HashMap<i64, Coord<f64>>, refs: &[i64]) -> Option<Vec<Coord<f64>>> {
    refs.iter().map(|r| nodes.get(r).copied()).collect()
}

/// The closed area ways that meet the boundary, and the street ways that do.
fn way_features<'w>(
    ways: &'w [WayInfo],
    nodes: &HashMap<i64, Coord<f64>>,
    area: &Area<'_>,
    opts: &OsmOptions,
    report: &mut OsmReport,
) -> (Vec<AreaFeature>, Vec<StreetWay<'w>>) {
    let mut areas = Vec::new();
    let mut street_sel = Vec::new();
    for w in ways {
        let Some(cs) = coords_of(nodes, &w.refs) else {
            report.ways_missing_nodes += 1;
            continue;
        };
        if w.street {
            let ls = LineString::new(cs.clone());
            if ls.0.len() >= 2 && ls.intersects(area.boundary) {
                report.street_ways += 1;
                let major = tag(&w.tags, "highway").is_some_and(|h| crate::gpkg::MAJOR_HIGHWAYS.contains(&h));
                street_sel.push((&w.refs[..], ls, major));
            } else {
                report.streets_outside += 1;
            }
        }
        if let Some(role) = w.area {
            if w.refs.len() < 4 || w.refs.first() != w.refs.last() {
                report.unclosed_ways += 1;
                continue;
            }
            let poly = Polygon::new(LineString::new(cs), vec![]);
            if !poly.intersects(area.boundary) {
                report.areas_outside += 1;
                continue;
            }
            let kind = classify(&w.tags, &opts.categories, opts.infer_residential);
            match role {
                AreaRole::Building => report.building_ways += 1,
                AreaRole::Parking => report.parking_areas += 1,
                AreaRole::Park => report.park_areas += 1,
            }
            areas.push((role, kind, vec![poly]));
        }
    }
    (areas, street_sel)
}

/// The street lines (consolidated when asked), clipped to the boundary.
fn street_lines(
    street_sel: Vec<StreetWay<'_>>,
    nodes: &HashMap<i64, Coord<f64>>,
    area: &Area<'_>,
    opts: &OsmOptions,
    report: &mut OsmReport,
) -> Vec<StreetLine> {
    let lines: Vec<(LineString<f64>, bool)> = if opts.consolidate_streets {
        let sel: Vec<crate::streets::Way<'_>> =
            street_sel.iter().map(|(refs, _, major)| crate::streets::Way { refs, major: *major }).collect();
        let rules = &opts.categories.streets;
        let (lines, rep) =
            crate::streets::consolidate(&sel, nodes, rules.intersection_consolidation_tolerance_m, rules.min_length_m);
        report.consolidation = Some(rep);
        lines
    } else {
        street_sel.into_iter().map(|(_, ls, major)| (ls, major)).collect()
    };
    let mut streets = Vec::new();
    for (ls, major) in lines {
        let parts = clip_line(&ls, area.boundary, area.bounds, area.rect_only);
        streets.extend(parts.0.into_iter().filter(|l| l.0.len() >= 2).map(|geometry| StreetLine { geometry, major }));
    }
    streets
}

/// The multipolygon relations assembled from their member ways (holes put in the outer
/// ring containing them) that meet the boundary, appended to `areas`.
fn relation_areas(
    rels: &[RelInfo],
    member_refs: &HashMap<i64, Vec<i64>>,
    nodes: &HashMap<i64, Coord<f64>>,
    area: &Area<'_>,
    opts: &OsmOptions,
    report: &mut OsmReport,
    areas: &mut Vec<AreaFeature>,
) {
    for r in rels {
        let mut outer = Vec::new();
        let mut inner = Vec::new();
        let mut complete = true;
        for (id, is_inner) in &r.members {
            match member_refs.get(id) {
                Some(refs) => (if *is_inner { &mut inner } else { &mut outer }).push(refs.clone()),
                None => complete = false,
            }
        }
        if !complete {
            report.incomplete_relations += 1;
            continue;
        }
        let (outer_rings, b1) = assemble_rings(outer);
        let (inner_rings, b2) = assemble_rings(inner);
        report.broken_rings += b1 + b2;
        let to_ls = |ring: &Vec<i64>| coords_of(nodes, ring).map(LineString::new);
        let outers: Option<Vec<LineString<f64>>> = outer_rings.iter().map(to_ls).collect();
        let inners: Option<Vec<LineString<f64>>> = inner_rings.iter().map(to_ls).collect();
        let (Some(outers), Some(inners)) = (outers, inners) else {
            report.incomplete_relations += 1;
            continue;
        };
        if outers.is_empty() {
            continue;
        }
        let mut polys: Vec<Polygon<f64>> = outers.into_iter().map(|o| Polygon::new(o, vec![])).collect();
        for h in inners {
            let probe = geo_types::Point::from(h.0[0]);
            if let Some(p) = polys.iter_mut().find(|p| p.contains(&probe) || p.exterior().intersects(&probe)) {
                p.interiors_push(h);
            }
        }
        let mp = MultiPolygon::new(polys);
        if !mp.intersects(area.boundary) {
            report.areas_outside += 1;
            continue;
        }
        let kind = classify(&r.tags, &opts.categories, opts.infer_residential);
        match r.role {
            AreaRole::Building => report.building_relations += 1,
            AreaRole::Parking => report.parking_areas += 1,
            AreaRole::Park => report.park_areas += 1,
        }
        areas.push((r.role, kind, mp.0));
    }
}

/// The areas split into polygons and clipped to the boundary, in order.
fn clip_areas(areas: Vec<AreaFeature>, area: &Area<'_>, report: &mut OsmReport) -> Vec<(BuildingType, Polygon<f64>)> {
    let (bmin, bmax) = (area.bounds.min(), area.bounds.max());
    let mut parts: Vec<(BuildingType, Polygon<f64>)> = Vec::new();
    for (_, kind, polys) in areas {
        for p in polys {
            let Some(r) = p.bounding_rect() else { continue };
            let inside_rect = r.min().x >= bmin.x && r.min().y >= bmin.y && r.max().x <= bmax.x && r.max().y <= bmax.y;
            if area.rect_only && inside_rect {
                parts.push((kind, p));
                continue;
            }
            let clipped = area.boundary.intersection(&MultiPolygon::new(vec![p]));
            if clipped.0.is_empty() {
                report.outside_boundary += 1;
                continue;
            }
            report.clipped += 1;
            parts.extend(clipped.0.into_iter().map(|q| (kind, q)));
        }
    }
    parts
}

/// Which polygons to keep: not a duplicate of an earlier one (same rings, bit for bit)
/// and not contained in another kept one.
fn distinct_outermost(parts: &[(BuildingType, Polygon<f64>)], report: &mut OsmReport) -> Vec<bool> {
    let mut keep = vec![true; parts.len()];
    let mut seen: HashMap<Vec<(u64, u64)>, usize> = HashMap::new();
    for (i, (_, p)) in parts.iter().enumerate() {
        let key: Vec<(u64, u64)> = std::iter::once(p.exterior())
            .chain(p.interiors())
            .flat_map(|r| r.0.iter().map(|c| (c.x.to_bits(), c.y.to_bits())).chain([(u64::MAX, u64::MAX)]))
            .collect();
        if seen.contains_key(&key) {
            keep[i] = false;
            report.duplicates_removed += 1;
        } else {
            seen.entry(key).or_insert(i);
        }
    }
    let boxes: Vec<rstar::primitives::GeomWithData<rstar::primitives::Rectangle<[f64; 2]>, usize>> = parts
        .iter()
        .enumerate()
        .filter(|(i, _)| keep[*i])
        .filter_map(|(i, (_, p))| {
            let r = p.bounding_rect()?;
            Some(rstar::primitives::GeomWithData::new(
                rstar::primitives::Rectangle::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]),
                i,
            ))
        })
        .collect();
    let tree = rstar::RTree::bulk_load(boxes);
    let mut contained = Vec::new();
    for (i, (_, p)) in parts.iter().enumerate() {
        if !keep[i] {
            continue;
        }
        let Some(r) = p.bounding_rect() else { continue };
        let env = rstar::AABB::from_corners([r.min().x, r.min().y], [r.max().x, r.max().y]);
        let inside_other = tree.locate_in_envelope_intersecting(&env).filter(|o| o.data != i).any(|o| {
            let q = &parts[o.data].1;
            q.bounding_rect().is_some_and(|qr| {
                qr.min().x <= r.min().x && qr.min().y <= r.min().y && qr.max().x >= r.max().x && qr.max().y >= r.max().y
            }) && q.contains(p)
        });
        if inside_other {
            contained.push(i);
        }
    }
    for i in contained {
        keep[i] = false;
        report.contained_removed += 1;
    }
    keep
}

/// The area an extract covers, in longitude/latitude degrees.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ExtractExtent {
    /// Western longitude.
    pub west: f64,
    /// Southern latitude.
    pub south: f64,
    /// Eastern longitude.
    pub east: f64,
    /// Northern latitude.
    pub north: f64,
    /// True when it is the bounding box of the file's header, false when it is the
    /// bounds of the file's nodes (the header has none).
    pub from_header: bool,
}

impl ExtractExtent {
    /// The extent as a bounding-box boundary, clamped to the latitudes Web Mercator covers.
    pub fn to_boundary(&self) -> OsmBoundary {
        const MAX_LAT: f64 = 85.051_128;
        OsmBoundary::Bbox {
            west: self.west.clamp(-180.0, 180.0),
            south: self.south.clamp(-MAX_LAT, MAX_LAT),
            east: self.east.clamp(-180.0, 180.0),
            north: self.north.clamp(-MAX_LAT, MAX_LAT),
        }
    }
}

impl std::fmt::Display for ExtractExtent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "W,S,E,N = {:.6},{:.6},{:.6},{:.6} ({})",
            self.west,
            self.south,
            self.east,
            self.north,
            if self.from_header { "the bounding box of the file's header" } else { "the bounds of its nodes" }
        )
    }
}

/// The area an `.osm.pbf` extract covers: the bounding box of its header when it has
/// one, else the bounds of its nodes (one pass over the file).
pub fn extract_extent(path: &Path) -> Result<ExtractExtent, OsmError> {
    crate::error::check_input_file(path).map_err(|reason| OsmError::Open { path: path.to_path_buf(), reason })?;
    let mut blobs = osmpbf::BlobReader::from_path(path)
        .map_err(|e| OsmError::Open { path: path.to_path_buf(), reason: e.to_string() })?;
    if let Some(blob) = blobs.next() {
        let blob = blob.map_err(pbf_err(path, "header"))?;
        if let osmpbf::BlobDecode::OsmHeader(h) = blob.decode().map_err(pbf_err(path, "header"))? {
            if let Some(b) = h.bbox() {
                // osmpbf's top/bottom naming is ambiguous: order the values ourselves.
                let (west, east) = (b.left.min(b.right), b.left.max(b.right));
                let (south, north) = (b.top.min(b.bottom), b.top.max(b.bottom));
                if [west, south, east, north].iter().all(|v| v.is_finite()) && west < east && south < north {
                    return Ok(ExtractExtent { west, south, east, north, from_header: true });
                }
            }
        }
    }
    let mut extent: Option<(f64, f64, f64, f64)> = None;
    open(path)?
        .for_each(|e| {
            let (lon, lat) = match e {
                Element::Node(n) => (n.lon(), n.lat()),
                Element::DenseNode(n) => (n.lon(), n.lat()),
                _ => return,
            };
            extent = Some(match extent {
                None => (lon, lat, lon, lat),
                Some((a, b, c, d)) => (a.min(lon), b.min(lat), c.max(lon), d.max(lat)),
            });
        })
        .map_err(pbf_err(path, "nodes"))?;
    let (west, south, east, north) = extent.ok_or_else(|| OsmError::NoNodes { path: path.to_path_buf() })?;
    Ok(ExtractExtent { west, south, east, north, from_header: false })
}

fn opts_bounds(b: &OsmBoundary) -> (f64, f64, f64, f64) {
    match b {
        OsmBoundary::Bbox { west, south, east, north } => (*west, *south, *east, *north),
        OsmBoundary::Polygon(mp) => mp
            .bounding_rect()
            .map(|r| (r.min().x, r.min().y, r.max().x, r.max().y))
            .unwrap_or((f64::NAN, f64::NAN, f64::NAN, f64::NAN)),
    }
}

fn classify(tags: &Tags, cats: &Categories, infer: bool) -> BuildingType {
    cats.classify(&|k: &str| tag(tags, k), infer)
}

/// Clips a line to the boundary (fast path: a line inside the bounding box of a rectangle).
fn clip_line(
    ls: &LineString<f64>,
    boundary: &MultiPolygon<f64>,
    bounds: Rect<f64>,
    rect: bool,
) -> MultiLineString<f64> {
    if rect {
        if let Some(r) = ls.bounding_rect() {
            if r.min().x >= bounds.min().x
                && r.min().y >= bounds.min().y
                && r.max().x <= bounds.max().x
                && r.max().y <= bounds.max().y
            {
                return MultiLineString::new(vec![ls.clone()]);
            }
        }
    }
    boundary.clip(&MultiLineString::new(vec![ls.clone()]), false)
}

/// Joins way node sequences into closed rings; returns the rings and the number of
/// sequences that could not be closed.
fn assemble_rings(mut segs: Vec<Vec<i64>>) -> (Vec<Vec<i64>>, usize) {
    let mut rings = Vec::new();
    let mut broken = 0;
    segs.retain(|s| !s.is_empty());
    segs.reverse();
    while let Some(mut cur) = segs.pop() {
        let mut reversed = false;
        loop {
            if cur.len() >= 4 && cur.first() == cur.last() {
                rings.push(cur);
                break;
            }
            let last = *cur.last().expect("non-empty");
            if let Some(k) = segs.iter().position(|s| s.first() == Some(&last)) {
                let s = segs.remove(k);
                cur.extend_from_slice(&s[1..]);
            } else if let Some(k) = segs.iter().position(|s| s.last() == Some(&last)) {
                let s = segs.remove(k);
                cur.extend(s.iter().rev().skip(1));
            } else if !reversed {
                cur.reverse();
                reversed = true;
            } else {
                broken += 1;
                break;
            }
        }
    }
    (rings, broken)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rings_are_assembled_from_split_ways() {
        let (rings, broken) = assemble_rings(vec![vec![1, 2, 3], vec![5, 4, 3], vec![5, 6, 1], vec![7, 8]]);
        assert_eq!(broken, 1);
        assert_eq!(rings, vec![vec![1, 2, 3, 4, 5, 6, 1]]);
        let (rings, broken) = assemble_rings(vec![vec![1, 2, 3, 1], vec![4, 5]]);
        assert_eq!((rings.len(), broken), (1, 1));
    }
}
