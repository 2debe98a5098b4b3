//! The rasterizer (MODEL.md section 2): real building polygons and street lines in Web
//! Mercator metres to a grid [`City`].

use crate::error::RasterError;
use gardencity::city::graph::StreetGraph;
use gardencity::city::{BuildingSpec, BuildingType, Cell, City, CityParts, Georeference, StreetIdx};
use geo::{BoundingRect, Centroid, Intersects, Rotate, Translate};
use geo_types::{coord, Line, LineString, MultiLineString, MultiPolygon, Point, Polygon, Rect};
use std::borrow::Cow;
use std::collections::VecDeque;

/// One street centre line of the input, in EPSG:3857 metres.
#[derive(Debug, Clone, PartialEq)]
pub struct StreetLine {
    /// The line.
    pub geometry: LineString<f64>,
    /// True for major roads (motorway, trunk, primary), which the automatic rotation ignores.
    pub major: bool,
}

/// One building (or park) footprint of the input, in EPSG:3857 metres.
#[derive(Debug, Clone, PartialEq)]
pub struct InputBuilding {
    /// The footprint (one or more polygons).
    pub geometry: MultiPolygon<f64>,
    /// Its garden-city category.
    pub kind: BuildingType,
}

/// Counts of what a reader skipped or flagged before rasterizing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InputReport {
    /// Building features whose geometry is not a polygon or multipolygon (points, lines...).
    pub non_polygon_buildings: usize,
    /// Street features whose geometry is not a line string or multi line string.
    pub non_line_streets: usize,
    /// Features with a NULL or empty geometry.
    pub empty_geometries: usize,
    /// Buildings whose type was NULL or not a known type, kept as `other`.
    pub unknown_types: usize,
    /// Building polygons that are not valid (self-intersecting rings...): still rasterized.
    pub invalid_polygons: usize,
}

/// Everything the rasterizer needs, in EPSG:3857 metres.
#[derive(Debug, Clone, PartialEq)]
pub struct RasterInput {
    /// The city boundary; only blocks intersecting it exist.
    pub boundary: MultiPolygon<f64>,
    /// Street centre lines.
    pub streets: Vec<StreetLine>,
    /// Building and park footprints, in input order (earlier wins among equal types).
    pub buildings: Vec<InputBuilding>,
    /// What the reader skipped.
    pub report: InputReport,
}

/// How the input is rotated before rasterizing.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Rotation {
    /// No rotation (the default).
    #[default]
    None,
    /// The reference's angle: `-1/4 atan2(sum sin 4θ, sum cos 4θ)` over the bearings θ of
    /// the segments of non-major streets, about the street network's centroid.
    Auto,
    /// A given angle in degrees (counter-clockwise), about the street network's centroid.
    Degrees(f64),
}

impl std::str::FromStr for Rotation {
    type Err = String;
    /// `none`, `auto`, or a finite number of degrees (counter-clockwise).
    fn from_str(s: &str) -> Result<Rotation, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "auto" => Ok(Rotation::Auto),
            "none" => Ok(Rotation::None),
            v => match v.parse::<f64>() {
                Ok(d) if d.is_finite() => Ok(Rotation::Degrees(d)),
                _ => Err(format!("expected auto, none or a number of degrees, got {s:?}")),
            },
        }
    }
}

/// Parameters of [`rasterize`].
#[derive(Debug, Clone, PartialEq)]
pub struct RasterParams {
    /// Block side `L` in metres (15 by default).
    pub block_side: f64,
    /// Remove blocks already taken from a later candidate instead of skipping it.
    pub resolve_overlaps: bool,
    /// Keep buildings of type `other` (the reference filters them by default).
    pub keep_other: bool,
    /// Rotation applied before rasterizing.
    pub rotation: Rotation,
    /// Manhattan radius of the search that connects a door to the kept street network (5).
    pub door_search_radius: u32,
    /// Name of the city.
    pub name: String,
}

impl Default for RasterParams {
    fn default() -> Self {
        RasterParams {
            block_side: 15.0,
            resolve_overlaps: false,
            keep_other: false,
            rotation: Rotation::None,
            door_search_radius: 5,
            name: "Rasterized City".into(),
        }
    }
}

/// What the rasterizer did, with counts of everything dropped and why.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RasterReport {
    /// What the reader skipped before rasterizing.
    pub input: InputReport,
    /// Grid width in blocks.
    pub width: u32,
    /// Grid height in blocks.
    pub height: u32,
    /// Blocks of the grid that intersect the boundary (the blocks that exist).
    pub boundary_blocks: usize,
    /// Rotation applied, degrees counter-clockwise (0 for none).
    pub rotation_deg: f64,
    /// Blocks intersecting a street line.
    pub street_blocks: usize,
    /// Connected components among them.
    pub street_components: usize,
    /// Street blocks dropped because they are not in the largest component.
    pub street_blocks_removed: usize,
    /// Street cells added by connecting doors to the network.
    pub street_blocks_added: usize,
    /// Street cells of the city.
    pub street_cells: usize,
    /// Input buildings.
    pub input_buildings: usize,
    /// Input buildings of type `other` filtered out.
    pub other_filtered: usize,
    /// Input buildings with no free block inside the boundary.
    pub no_blocks: usize,
    /// Candidates (4-connected pieces of a footprint) considered.
    pub candidates: usize,
    /// Candidates dropped for want of a 4-adjacent street cell.
    pub no_door: usize,
    /// Candidates skipped because they overlap a building already placed (overlaps not resolved).
    pub overlap_skipped: usize,
    /// Footprints whose blocks were all taken already (overlaps resolved).
    pub overlap_fully_taken: usize,
    /// Blocks removed from footprints because they were taken already (overlaps resolved).
    pub overlap_blocks_removed: usize,
    /// Doors off the kept network that were connected to it by a new street path.
    pub doors_connected: usize,
    /// Buildings removed because their door could not be connected.
    pub unconnectable: usize,
    /// Buildings of the city.
    pub buildings: usize,
    /// Buildings by type, indexed by `BuildingType as usize`.
    pub buildings_by_type: [usize; BuildingType::COUNT],
}

impl std::fmt::Display for RasterReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let i = &self.input;
        writeln!(f, "grid {} x {}, {} blocks inside the boundary", self.width, self.height, self.boundary_blocks)?;
        writeln!(f, "rotation {:.4} degrees", self.rotation_deg)?;
        writeln!(
            f,
            "streets: {} blocks in {} components; {} removed (small components), {} added (door paths); {} street cells",
            self.street_blocks,
            self.street_components,
            self.street_blocks_removed,
            self.street_blocks_added,
            self.street_cells
        )?;
        writeln!(
            f,
            "input: {} buildings; skipped {} non-polygon buildings, {} non-line streets, {} empty geometries; \
             {} unknown types read as other; {} invalid polygons",
            self.input_buildings,
            i.non_polygon_buildings,
            i.non_line_streets,
            i.empty_geometries,
            i.unknown_types,
            i.invalid_polygons
        )?;
        writeln!(
            f,
            "dropped: {} other filtered, {} without blocks, {} of {} candidates without door, {} overlapping skipped, \
             {} fully taken ({} blocks trimmed), {} unconnectable ({} doors connected)",
            self.other_filtered,
            self.no_blocks,
            self.no_door,
            self.candidates,
            self.overlap_skipped,
            self.overlap_fully_taken,
            self.overlap_blocks_removed,
            self.unconnectable,
            self.doors_connected
        )?;
        write!(f, "buildings: {}", self.buildings)?;
        for t in BuildingType::ALL {
            write!(f, ", {} {}", self.buildings_by_type[t as usize], t)?;
        }
        Ok(())
    }
}

/// Type priority of block claims: the first type wins a block.
const PRIORITY: [BuildingType; 5] =
    [BuildingType::Park, BuildingType::Workplace, BuildingType::Retail, BuildingType::Home, BuildingType::Other];

/// Largest grid accepted (cells).
const MAX_CELLS: u64 = 1 << 30;

const OUTSIDE: u8 = 0;
const FREE: u8 = 1;
const STREET: u8 = 2;
/// `CLAIM + type index`: a block reserved for buildings of that type.
const CLAIM: u8 = 3;

/// The angle (degrees) that the automatic rotation applies to these streets.
pub fn auto_rotation_deg(streets: &[StreetLine]) -> f64 {
    let sums = |with_major: bool| -> (f64, f64, usize) {
        let mut acc = (0.0f64, 0.0f64, 0usize);
        for s in streets.iter().filter(|s| with_major || !s.major) {
            for l in s.geometry.lines() {
                let (dx, dy) = (l.end.x - l.start.x, l.end.y - l.start.y);
                if dx == 0.0 && dy == 0.0 {
                    continue;
                }
                let th = 4.0 * dy.atan2(dx);
                acc.0 += th.sin();
                acc.1 += th.cos();
                acc.2 += 1;
            }
        }
        acc
    };
    let mut acc = sums(false);
    if acc.2 == 0 {
        acc = sums(true);
    }
    if acc.2 == 0 || (acc.0 == 0.0 && acc.1 == 0.0) {
        return 0.0;
    }
    -0.25 * acc.0.atan2(acc.1).to_degrees()
}

/// Rasterizes buildings and streets to a [`City`] (MODEL.md section 2).
///
/// The grid origin is `(floor(minx / L), floor(miny / L))` of the (rotated) boundary's
/// bounds; only blocks intersecting the boundary exist. Street cells are the blocks
/// intersecting a street line, reduced to the largest 4-connected component. Blocks are
/// claimed by type priority park, workplace, retail, home, other; each footprint's
/// claimed blocks split into 4-connected candidates that need a door on a 4-adjacent
/// street cell. Doors off the kept network are connected by a shortest path through
/// non-building blocks within `door_search_radius`, else the building is removed.
pub fn rasterize(input: &RasterInput, params: &RasterParams) -> Result<(City, RasterReport), RasterError> {
    let l = params.block_side;
    if !(l.is_finite() && l > 0.0) {
        return Err(RasterError::Parameter { name: "block_side", reason: format!("{l} is not a positive number") });
    }
    let mut report =
        RasterReport { input: input.report.clone(), input_buildings: input.buildings.len(), ..Default::default() };
    if input.streets.is_empty() {
        return Err(RasterError::NoStreets { reason: "the input has no street lines".into() });
    }
    let rotated = rotate_input(input, params.rotation)?;
    let (input, angle, rotation_origin) = (rotated.input.as_ref(), rotated.angle, rotated.origin);
    report.rotation_deg = angle;
    let mut canvas = Canvas::new(&input.boundary, l, &mut report)?;
    canvas.mark_streets(&input.streets, &mut report);
    let mut kept = canvas.largest_street_component(&mut report)?;
    let footprints = canvas.claim_blocks(&input.buildings, params.keep_other);
    report.other_filtered =
        if params.keep_other { 0 } else { input.buildings.iter().filter(|b| b.kind == BuildingType::Other).count() };
    let (placed, mut owner) = canvas.place(&input.buildings, &footprints, &kept, params, &mut report);
    let alive = canvas.connect_doors(&placed, &mut owner, &mut kept, params.door_search_radius as i64, &mut report);

    let g = canvas.grid;
    let cell = |i: usize| Cell::new((i % g.width) as i32, (i / g.width) as i32);
    let streets: Vec<Cell> = (0..kept.len()).filter(|&i| kept[i]).map(cell).collect();
    report.street_cells = streets.len();
    let mut specs = Vec::new();
    for (p, _) in placed.iter().zip(&alive).filter(|(_, &a)| a) {
        report.buildings_by_type[p.kind as usize] += 1;
        specs.push(BuildingSpec {
            id: None,
            kind: p.kind,
            blocks: p.blocks.iter().map(|&i| cell(i)).collect(),
            door: cell(p.door),
            door_point: None,
        });
    }
    report.buildings = specs.len();
    if specs.is_empty() {
        return Err(RasterError::NoBuildings { report: Box::new(report) });
    }
    let (ox, oy) = canvas.origin;
    let georef =
        Georeference { block_side: l, origin_x: ox * l, origin_y: oy * l, rotation_deg: angle, rotation_origin };
    let boundary_wkt = Some(boundary_wkt_blocks(&input.boundary, ox * l, oy * l, l));
    let city = City::new(CityParts {
        name: params.name.clone(),
        width: g.width as u32,
        height: g.height as u32,
        georef,
        streets,
        buildings: specs,
        boundary_wkt,
    })?;
    Ok((city, report))
}

/// The input rotated about its street network's centroid.
struct Rotated<'a> {
    /// The rotated input (borrowed when the angle is 0).
    input: Cow<'a, RasterInput>,
    /// The angle in degrees.
    angle: f64,
    /// The centroid it is rotated about (`(0, 0)` when not rotated).
    origin: (f64, f64),
}

/// The input rotated as `rotation` says.
fn rotate_input(input: &RasterInput, rotation: Rotation) -> Result<Rotated<'_>, RasterError> {
    let angle = match rotation {
        Rotation::None => 0.0,
        Rotation::Auto => auto_rotation_deg(&input.streets),
        Rotation::Degrees(d) if !d.is_finite() => {
            return Err(RasterError::Parameter { name: "rotation", reason: format!("{d} is not finite") })
        }
        Rotation::Degrees(d) => d,
    };
    if angle == 0.0 {
        return Ok(Rotated { input: Cow::Borrowed(input), angle: 0.0, origin: (0.0, 0.0) });
    }
    let mls = MultiLineString::new(input.streets.iter().map(|s| s.geometry.clone()).collect());
    let c: Point<f64> = mls
        .centroid()
        .ok_or_else(|| RasterError::NoStreets { reason: "the street lines have no centroid (all empty)".into() })?;
    let mut r = input.clone();
    r.boundary = r.boundary.rotate_around_point(angle, c);
    for s in &mut r.streets {
        s.geometry = s.geometry.rotate_around_point(angle, c);
    }
    for b in &mut r.buildings {
        b.geometry = b.geometry.rotate_around_point(angle, c);
    }
    Ok(Rotated { input: Cow::Owned(r), angle, origin: (c.x(), c.y()) })
}

/// A building placed on the grid: its type, blocks and door block.
struct Placed {
    kind: BuildingType,
    blocks: Vec<usize>,
    door: usize,
}

/// No building owns the block.
const NO_BUILDING: u32 = u32::MAX;

/// The grid being rasterized: its geometry, its origin in blocks and each block's state
/// (outside, free, street or claimed by a type).
struct Canvas {
    grid: Grid,
    /// `(floor(minx / L), floor(miny / L))` of the boundary's bounds.
    origin: (f64, f64),
    state: Vec<u8>,
    scratch: Scratch,
    cells: Vec<usize>,
}

impl Canvas {
    /// The grid over the boundary's bounds, its blocks intersecting the boundary free
    /// (tested in absolute metres like the reference).
    fn new(boundary: &MultiPolygon<f64>, l: f64, report: &mut RasterReport) -> Result<Canvas, RasterError> {
        let bounds = boundary.bounding_rect().ok_or(RasterError::EmptyBoundary)?;
        let (min, max) = (bounds.min(), bounds.max());
        if ![min.x, min.y, max.x, max.y].iter().all(|v| v.is_finite()) {
            return Err(RasterError::EmptyBoundary);
        }
        let ox = (min.x / l).floor();
        let oy = (min.y / l).floor();
        let w = (max.x / l).floor() + 1.0 - ox;
        let h = (max.y / l).floor() + 1.0 - oy;
        // Checked in floating point (no integer product can overflow); NaN is refused too.
        let cells = w * h;
        if cells.is_nan() || cells > MAX_CELLS as f64 {
            let (width, height) = (w as u64, h as u64);
            let cells = width.saturating_mul(height);
            let bytes = gardencity::city::human_bytes(cells.saturating_mul(gardencity::city::GRID_BYTES_PER_CELL));
            return Err(RasterError::TooLarge { width, height, cells, bytes, max_cells: MAX_CELLS });
        }
        let (width, height) = (w as u32, h as u32);
        report.width = width;
        report.height = height;
        let grid = Grid { width: width as usize, height: height as usize, l };
        let mut c = Canvas {
            grid,
            origin: (ox, oy),
            state: vec![OUTSIDE; grid.width * grid.height],
            scratch: Scratch::default(),
            cells: Vec::new(),
        };
        for poly in &boundary.0 {
            c.cells.clear();
            polygon_cells(&c.grid, poly, ox, oy, &mut c.scratch, &mut c.cells);
            for &i in &c.cells {
                c.state[i] = FREE;
            }
        }
        report.boundary_blocks = c.state.iter().filter(|&&s| s != OUTSIDE).count();
        if report.boundary_blocks == 0 {
            return Err(RasterError::EmptyBoundary);
        }
        Ok(c)
    }

    /// The shift from absolute metres to metres relative to the grid origin.
    fn shift(&self) -> (f64, f64) {
        (-self.origin.0 * self.grid.l, -self.origin.1 * self.grid.l)
    }

    /// Marks the blocks the street lines cross as streets.
    fn mark_streets(&mut self, streets: &[StreetLine], report: &mut RasterReport) {
        let shift = self.shift();
        for s in streets {
            let line = s.geometry.translate(shift.0, shift.1);
            for seg in line.lines() {
                mark_segment(&self.grid, &mut self.state, seg);
            }
            if line.0.len() == 1 {
                let c = line.0[0];
                mark_segment(&self.grid, &mut self.state, Line::new(c, c));
            }
        }
        report.street_blocks = self.state.iter().filter(|&&s| s == STREET).count();
    }

    /// The street blocks of the largest 4-connected component (scan order x-major, like
    /// the reference's block table).
    fn largest_street_component(&self, report: &mut RasterReport) -> Result<Vec<bool>, RasterError> {
        let g = self.grid;
        let n = g.width * g.height;
        let mut kept = vec![false; n];
        let mut street_of = vec![u32::MAX; n];
        let mut cells = Vec::new();
        for x in 0..g.width {
            for y in 0..g.height {
                let i = y * g.width + x;
                if self.state[i] == STREET {
                    street_of[i] = cells.len() as u32;
                    cells.push(Cell::new(x as i32, y as i32));
                }
            }
        }
        let graph = StreetGraph::from_cells(&cells, |c| {
            let inside = c.x >= 0 && c.y >= 0 && (c.x as usize) < g.width && (c.y as usize) < g.height;
            inside.then(|| street_of[c.y as usize * g.width + c.x as usize]).filter(|&s| s != u32::MAX).map(StreetIdx)
        });
        let comps = graph.components();
        report.street_components = comps.count();
        let Some(best) = comps.largest() else {
            return Err(RasterError::NoStreets {
                reason: "no street line intersects a block inside the boundary".into(),
            });
        };
        for (s, c) in cells.iter().enumerate() {
            kept[c.y as usize * g.width + c.x as usize] = comps.label[s] == best;
        }
        report.street_blocks_removed = report.street_blocks - comps.sizes[best as usize] as usize;
        Ok(kept)
    }

    /// Free blocks claimed by type priority; each footprint's blocks (claimed by it or
    /// not), ascending.
    fn claim_blocks(&mut self, buildings: &[InputBuilding], keep_other: bool) -> Vec<Vec<u32>> {
        let shift = self.shift();
        let mut footprints: Vec<Vec<u32>> = vec![Vec::new(); buildings.len()];
        for &t in PRIORITY.iter().filter(|&&t| keep_other || t != BuildingType::Other) {
            for (bi, b) in buildings.iter().enumerate().filter(|(_, b)| b.kind == t) {
                let geom = b.geometry.translate(shift.0, shift.1);
                let mut out = Vec::new();
                for poly in &geom.0 {
                    self.cells.clear();
                    polygon_cells(&self.grid, poly, 0.0, 0.0, &mut self.scratch, &mut self.cells);
                    for &i in &self.cells {
                        let st = self.state[i];
                        if st == OUTSIDE || st == STREET {
                            continue;
                        }
                        if st == FREE {
                            self.state[i] = CLAIM + t as u8;
                        }
                        out.push(i as u32);
                    }
                }
                out.sort_unstable();
                out.dedup();
                footprints[bi] = out;
            }
        }
        footprints
    }

    /// Buildings placed by type priority: each footprint's claimed blocks split into
    /// 4-connected candidates, each placed when it has a door on a kept street and does
    /// not overlap a placed one. Returns them and each block's owner.
    fn place(
        &self,
        buildings: &[InputBuilding],
        footprints: &[Vec<u32>],
        kept: &[bool],
        params: &RasterParams,
        report: &mut RasterReport,
    ) -> (Vec<Placed>, Vec<u32>) {
        let g = &self.grid;
        let mut owner = vec![NO_BUILDING; self.state.len()];
        let mut placed: Vec<Placed> = Vec::new();
        let mut in_comp = vec![false; self.state.len()];
        for &t in PRIORITY.iter().filter(|&&t| params.keep_other || t != BuildingType::Other) {
            for (bi, _) in buildings.iter().enumerate().filter(|(_, b)| b.kind == t) {
                let mut cells: Vec<usize> =
                    footprints[bi].iter().map(|&i| i as usize).filter(|&i| self.state[i] == CLAIM + t as u8).collect();
                if cells.is_empty() {
                    report.no_blocks += 1;
                    continue;
                }
                if params.resolve_overlaps {
                    let before = cells.len();
                    cells.retain(|&i| owner[i] == NO_BUILDING);
                    report.overlap_blocks_removed += before - cells.len();
                    if cells.is_empty() {
                        report.overlap_fully_taken += 1;
                        continue;
                    }
                }
                for comp in components(g, &cells, &mut in_comp) {
                    report.candidates += 1;
                    let Some(door) = choose_door(g, &comp, &self.state, kept) else {
                        report.no_door += 1;
                        continue;
                    };
                    if comp.iter().any(|&i| owner[i] != NO_BUILDING) {
                        report.overlap_skipped += 1;
                        continue;
                    }
                    let id = placed.len() as u32;
                    for &i in &comp {
                        owner[i] = id;
                    }
                    placed.push(Placed { kind: t, blocks: comp, door });
                }
            }
        }
        (placed, owner)
    }

    /// Connects doors off the kept network by a shortest path through free blocks within
    /// `radius` (its blocks become streets); a building whose door cannot be connected is
    /// removed. Returns which buildings stay.
    fn connect_doors(
        &self,
        placed: &[Placed],
        owner: &mut [u32],
        kept: &mut [bool],
        radius: i64,
        report: &mut RasterReport,
    ) -> Vec<bool> {
        let mut alive = vec![true; placed.len()];
        for (pi, p) in placed.iter().enumerate() {
            if kept[p.door] {
                continue;
            }
            match connect_door(&self.grid, p.door, radius, &self.state, owner, kept) {
                Some(path) => {
                    for i in path {
                        if !kept[i] {
                            kept[i] = true;
                            report.street_blocks_added += 1;
                        }
                    }
                    report.doors_connected += 1;
                }
                None => {
                    alive[pi] = false;
                    report.unconnectable += 1;
                    for &i in &p.blocks {
                        owner[i] = NO_BUILDING;
                    }
                }
            }
        }
        alive
    }
}

/// Grid geometry in metres relative to the grid origin.
#[derive(Clone, Copy)]
struct Grid {
    width: usize,
    height: usize,
    l: f64,
}

impl Grid {
    /// Block index ranges `(x0, x1, y0, y1)` (half-open, clamped) of the blocks whose closed
    /// squares may touch `r`, with `r` in metres offset by `(dx, dy)` from the grid origin.
    fn range(&self, r: Rect<f64>, dx: f64, dy: f64) -> (usize, usize, usize, usize) {
        let f = |v: f64, d: f64, hi: usize| -> usize {
            let b = ((v - d) / self.l).floor();
            if b.is_nan() || b < 0.0 {
                0
            } else if b >= hi as f64 {
                hi
            } else {
                b as usize
            }
        };
        // A geometry touching the left/bottom edge of a block also touches the block before.
        let x0 = f(r.min().x, dx, self.width).saturating_sub(1);
        let y0 = f(r.min().y, dy, self.height).saturating_sub(1);
        let x1 = (f(r.max().x, dx, self.width) + 1).min(self.width);
        let y1 = (f(r.max().y, dy, self.height) + 1).min(self.height);
        (x0, x1.max(x0), y0, y1.max(y0))
    }

    /// The closed square of block `(x, y)` in metres from the grid origin.
    fn rect(&self, x: usize, y: usize) -> Rect<f64> {
        let (bx, by) = (x as f64 * self.l, y as f64 * self.l);
        Rect::new(coord! { x: bx, y: by }, coord! { x: bx + self.l, y: by + self.l })
    }

    /// 4-neighbours of a cell index in the reference's order: north, south, east, west.
    fn neighbors(&self, i: usize) -> [Option<usize>; 4] {
        let (x, y) = (i % self.width, i / self.width);
        [
            (y + 1 < self.height).then(|| i + self.width),
            (y > 0).then(|| i - self.width),
            (x + 1 < self.width).then(|| i + 1),
            (x > 0).then(|| i - 1),
        ]
    }
}

/// Reusable buffers of [`polygon_cells`].
#[derive(Default)]
struct Scratch {
    mark: Vec<bool>,
    xs: Vec<f64>,
}

/// The blocks whose closed squares intersect a polygon (shapely's / geo's `intersects`),
/// appended to `out` as cell indices. Block `(x, y)` covers
/// `[(x + ox) L, (x + ox + 1) L] x [(y + oy) L, (y + oy + 1) L]` in the polygon's coordinates.
///
/// Blocks touched by a ring segment are found exactly (segment-square intersection);
/// every other block is wholly inside or wholly outside, decided by its centre with an
/// even-odd scanline over the rings. Linear in the polygon's vertices plus its blocks.
fn polygon_cells(g: &Grid, poly: &Polygon<f64>, ox: f64, oy: f64, sc: &mut Scratch, out: &mut Vec<usize>) {
    let Some(r) = poly.bounding_rect() else { return };
    let (x0, x1, y0, y1) = g.range(r, ox * g.l, oy * g.l);
    let (bw, bh) = (x1 - x0, y1 - y0);
    if bw == 0 || bh == 0 {
        return;
    }
    let l = g.l;
    let rect = |x: usize, y: usize| {
        let (bx, by) = ((x as f64 + ox) * l, (y as f64 + oy) * l);
        Rect::new(coord! { x: bx, y: by }, coord! { x: bx + l, y: by + l })
    };
    sc.mark.clear();
    sc.mark.resize(bw * bh, false);
    let rings = || std::iter::once(poly.exterior()).chain(poly.interiors());
    // Blocks touched by the rings.
    for ring in rings() {
        for seg in ring.lines() {
            let (sx0, sx1, sy0, sy1) = g.range(seg.bounding_rect(), ox * l, oy * l);
            for y in sy0.max(y0)..sy1.min(y1) {
                for x in sx0.max(x0)..sx1.min(x1) {
                    let k = (y - y0) * bw + (x - x0);
                    if !sc.mark[k] && seg.intersects(&rect(x, y)) {
                        sc.mark[k] = true;
                    }
                }
            }
        }
    }
    // Blocks whose centre is inside (even-odd over all rings), row by row.
    for y in y0..y1 {
        let yc = (y as f64 + oy + 0.5) * l;
        sc.xs.clear();
        for ring in rings() {
            for seg in ring.lines() {
                let (a, b) = (seg.start, seg.end);
                if (a.y > yc) != (b.y > yc) {
                    sc.xs.push(a.x + (yc - a.y) * (b.x - a.x) / (b.y - a.y));
                }
            }
        }
        sc.xs.sort_unstable_by(f64::total_cmp);
        for pair in sc.xs.chunks_exact(2) {
            if !(pair[0].is_finite() && pair[1].is_finite()) {
                continue;
            }
            // Centres xc = (x + ox + 0.5) L with pair[0] <= xc < pair[1].
            let first = ((pair[0] / l) - ox - 0.5).ceil().max(x0 as f64);
            let last = ((pair[1] / l) - ox - 0.5).ceil().min(x1 as f64);
            let (mut x, end) = (first as usize, last.max(first) as usize);
            while x < end {
                sc.mark[(y - y0) * bw + (x - x0)] = true;
                x += 1;
            }
        }
    }
    for y in y0..y1 {
        for x in x0..x1 {
            if sc.mark[(y - y0) * bw + (x - x0)] {
                out.push(y * g.width + x);
            }
        }
    }
}

/// Marks the blocks inside the boundary that a segment intersects as street blocks.
fn mark_segment(g: &Grid, state: &mut [u8], seg: Line<f64>) {
    let r = seg.bounding_rect();
    let (x0, x1, y0, y1) = g.range(r, 0.0, 0.0);
    for y in y0..y1 {
        for x in x0..x1 {
            let i = y * g.width + x;
            if state[i] == FREE && seg.intersects(&g.rect(x, y)) {
                state[i] = STREET;
            }
        }
    }
}

/// 4-connected components of a set of cells, each sorted by cell index.
fn components(g: &Grid, cells: &[usize], mark: &mut [bool]) -> Vec<Vec<usize>> {
    for &i in cells {
        mark[i] = true;
    }
    let mut out = Vec::new();
    for &start in cells {
        if !mark[start] {
            continue;
        }
        mark[start] = false;
        let mut comp = vec![start];
        let mut k = 0;
        while k < comp.len() {
            let c = comp[k];
            k += 1;
            for nb in g.neighbors(c).into_iter().flatten() {
                if mark[nb] {
                    mark[nb] = false;
                    comp.push(nb);
                }
            }
        }
        comp.sort_unstable();
        out.push(comp);
    }
    out
}

/// A door for a candidate: a 4-adjacent street block, preferring the kept network.
/// Blocks are scanned in `(y, x)` index order, neighbours north, south, east, west.
fn choose_door(g: &Grid, comp: &[usize], state: &[u8], kept: &[bool]) -> Option<usize> {
    let mut fallback = None;
    for &c in comp {
        for nb in g.neighbors(c).into_iter().flatten() {
            if kept[nb] {
                return Some(nb);
            }
            if fallback.is_none() && state[nb] == STREET {
                fallback = Some(nb);
            }
        }
    }
    fallback
}

/// A shortest path (breadth-first, through blocks inside the boundary that no building
/// owns, within Manhattan `radius` of the door) from `door` to a kept street block;
/// returns the path's blocks that are not yet kept.
fn connect_door(g: &Grid, door: usize, radius: i64, state: &[u8], owner: &[u32], kept: &[bool]) -> Option<Vec<usize>> {
    let (dx, dy) = ((door % g.width) as i64, (door / g.width) as i64);
    let mut prev: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
    prev.insert(door, door);
    let mut queue = VecDeque::from([door]);
    while let Some(c) = queue.pop_front() {
        for nb in g.neighbors(c).into_iter().flatten() {
            if prev.contains_key(&nb) || state[nb] == OUTSIDE || owner[nb] != u32::MAX {
                continue;
            }
            let (x, y) = ((nb % g.width) as i64, (nb / g.width) as i64);
            if (x - dx).abs() + (y - dy).abs() > radius {
                continue;
            }
            prev.insert(nb, c);
            if kept[nb] {
                let mut path = Vec::new();
                let mut cur = c;
                loop {
                    path.push(cur);
                    if cur == door {
                        break;
                    }
                    cur = prev[&cur];
                }
                return Some(path);
            }
            queue.push_back(nb);
        }
    }
    None
}

/// The boundary as WKT in block units (relative to the grid origin).
fn boundary_wkt_blocks(b: &MultiPolygon<f64>, ox: f64, oy: f64, l: f64) -> String {
    let ring = |ls: &LineString<f64>| -> String {
        let pts: Vec<String> = ls.0.iter().map(|c| format!("{} {}", (c.x - ox) / l, (c.y - oy) / l)).collect();
        format!("({})", pts.join(", "))
    };
    let poly = |p: &geo_types::Polygon<f64>| -> String {
        let mut rings = vec![ring(p.exterior())];
        rings.extend(p.interiors().iter().map(ring));
        format!("({})", rings.join(", "))
    };
    if b.0.len() == 1 {
        format!("POLYGON {}", poly(&b.0[0]))
    } else {
        format!("MULTIPOLYGON ({})", b.0.iter().map(poly).collect::<Vec<_>>().join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator (no dependency): a 64-bit LCG.
    struct Lcg(u64);
    impl Lcg {
        fn next(&mut self) -> f64 {
            self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            (self.0 >> 11) as f64 / (1u64 << 53) as f64
        }
    }

    fn brute(g: &Grid, poly: &Polygon<f64>, ox: f64, oy: f64) -> Vec<usize> {
        let mut out = Vec::new();
        for y in 0..g.height {
            for x in 0..g.width {
                let (bx, by) = ((x as f64 + ox) * g.l, (y as f64 + oy) * g.l);
                let r = Rect::new(coord! { x: bx, y: by }, coord! { x: bx + g.l, y: by + g.l });
                if poly.intersects(&r) {
                    out.push(y * g.width + x);
                }
            }
        }
        out
    }

    #[test]
    fn scanline_cells_equal_geo_intersects() {
        let g = Grid { width: 30, height: 25, l: 15.0 };
        let mut rng = Lcg(7);
        let mut sc = Scratch::default();
        for case in 0..400 {
            let (ox, oy) = if case % 2 == 0 { (0.0, 0.0) } else { (-1000.0, 37.0) };
            let (cx, cy) = ((ox + 15.0) * 15.0 + rng.next() * 200.0, (oy + 12.0) * 15.0 + rng.next() * 150.0);
            // A star-shaped ring; every third case snaps vertices to block corners and
            // edges so touching-only blocks are exercised.
            let k = 3 + (rng.next() * 12.0) as usize;
            let snap = case % 3 == 0;
            let mut pts: Vec<(f64, f64)> = (0..k)
                .map(|i| {
                    let a = i as f64 / k as f64 * std::f64::consts::TAU;
                    let rad = 10.0 + rng.next() * 120.0;
                    let (x, y) = (cx + rad * a.cos(), cy + rad * a.sin());
                    if snap {
                        ((x / 15.0).round() * 15.0, (y / 15.0).round() * 15.0)
                    } else {
                        (x, y)
                    }
                })
                .collect();
            pts.push(pts[0]);
            let mut poly = Polygon::new(LineString::from(pts), vec![]);
            if case % 5 == 0 {
                let hole: Vec<(f64, f64)> = vec![
                    (cx - 8.0, cy - 8.0),
                    (cx + 8.0, cy - 8.0),
                    (cx + 8.0, cy + 8.0),
                    (cx - 8.0, cy + 8.0),
                    (cx - 8.0, cy - 8.0),
                ];
                poly.interiors_push(LineString::from(hole));
            }
            let mut got = Vec::new();
            polygon_cells(&g, &poly, ox, oy, &mut sc, &mut got);
            got.sort_unstable();
            assert_eq!(got, brute(&g, &poly, ox, oy), "case {case}: {poly:?}");
        }
    }
}
