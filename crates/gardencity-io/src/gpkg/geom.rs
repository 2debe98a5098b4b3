//! GeoPackage binary geometries: the `GP` header (version 0, little-endian, XY
//! envelope) followed by little-endian ISO WKB (2D).

use geo_types::{Coord, Geometry};

/// The geometry type names of `gpkg_geometry_columns.geometry_type_name`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GeometryType {
    /// Any geometry type (mixed layers).
    Geometry,
    /// `POINT`.
    Point,
    /// `LINESTRING`.
    LineString,
    /// `POLYGON`.
    Polygon,
    /// `MULTIPOINT`.
    MultiPoint,
    /// `MULTILINESTRING`.
    MultiLineString,
    /// `MULTIPOLYGON`.
    MultiPolygon,
    /// `GEOMETRYCOLLECTION`.
    GeometryCollection,
}

impl GeometryType {
    /// The name stored in `gpkg_geometry_columns`.
    pub fn as_str(self) -> &'static str {
        match self {
            GeometryType::Geometry => "GEOMETRY",
            GeometryType::Point => "POINT",
            GeometryType::LineString => "LINESTRING",
            GeometryType::Polygon => "POLYGON",
            GeometryType::MultiPoint => "MULTIPOINT",
            GeometryType::MultiLineString => "MULTILINESTRING",
            GeometryType::MultiPolygon => "MULTIPOLYGON",
            GeometryType::GeometryCollection => "GEOMETRYCOLLECTION",
        }
    }
}

/// A short name of a geometry's type, for error messages.
pub fn geometry_name(g: &Geometry<f64>) -> &'static str {
    match g {
        Geometry::Point(_) => "Point",
        Geometry::Line(_) => "Line",
        Geometry::LineString(_) => "LineString",
        Geometry::Polygon(_) => "Polygon",
        Geometry::MultiPoint(_) => "MultiPoint",
        Geometry::MultiLineString(_) => "MultiLineString",
        Geometry::MultiPolygon(_) => "MultiPolygon",
        Geometry::GeometryCollection(_) => "GeometryCollection",
        Geometry::Rect(_) => "Rect",
        Geometry::Triangle(_) => "Triangle",
    }
}

/// An axis-aligned bounding box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Envelope {
    /// Smallest x.
    pub min_x: f64,
    /// Smallest y.
    pub min_y: f64,
    /// Largest x.
    pub max_x: f64,
    /// Largest y.
    pub max_y: f64,
}

impl Envelope {
    /// The empty envelope (contains nothing; `expand` fixes it).
    pub const EMPTY: Envelope =
        Envelope { min_x: f64::INFINITY, min_y: f64::INFINITY, max_x: f64::NEG_INFINITY, max_y: f64::NEG_INFINITY };
    /// True when nothing was added.
    pub fn is_empty(&self) -> bool {
        self.min_x > self.max_x
    }
    /// Grows the box to hold a point.
    pub fn expand(&mut self, c: Coord<f64>) {
        self.min_x = self.min_x.min(c.x);
        self.min_y = self.min_y.min(c.y);
        self.max_x = self.max_x.max(c.x);
        self.max_y = self.max_y.max(c.y);
    }
    /// Grows the box to hold another box.
    pub fn merge(&mut self, o: &Envelope) {
        if !o.is_empty() {
            self.expand(Coord { x: o.min_x, y: o.min_y });
            self.expand(Coord { x: o.max_x, y: o.max_y });
        }
    }
}

/// Encodes a geometry as a GeoPackage binary blob with an XY envelope (none for an
/// empty geometry, which gets the empty flag) and the given `srs_id`: the GeoPackage
/// header here, the WKB body (little-endian, XY) by geozero's writer. `Line`, `Rect`
/// and `Triangle` are written as a LineString / Polygon.
pub fn encode(g: &Geometry<f64>, srs_id: i32) -> (Vec<u8>, Envelope) {
    use geozero::{CoordDimensions, GeozeroGeometry, ToWkb};
    let mut env = Envelope::EMPTY;
    g.process_geom(&mut env).expect("the envelope collector never fails");
    let wkb = g.to_wkb(CoordDimensions::xy()).expect("geozero's WKB writer into memory never fails");
    let mut out = Vec::with_capacity(wkb.len() + 40);
    out.extend_from_slice(b"GP");
    out.push(0); // version 1
    if env.is_empty() {
        out.push(0b0001_0001); // empty, no envelope, little-endian
        out.extend_from_slice(&srs_id.to_le_bytes());
    } else {
        out.push(0b0000_0011); // envelope [minx, maxx, miny, maxy], little-endian
        out.extend_from_slice(&srs_id.to_le_bytes());
        for v in [env.min_x, env.max_x, env.min_y, env.max_y] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out.extend_from_slice(&wkb);
    (out, env)
}

/// The envelope collects the coordinates geozero walks.
impl geozero::GeomProcessor for Envelope {
    fn xy(&mut self, x: f64, y: f64, _idx: usize) -> geozero::error::Result<()> {
        self.expand(Coord { x, y });
        Ok(())
    }
}

/// Decodes a GeoPackage binary blob (any envelope, either byte order) into a geometry.
/// Returns a description of the problem on failure.
pub fn decode(blob: &[u8]) -> Result<Geometry<f64>, String> {
    use geozero::ToGeo;
    if blob.len() < 8 || &blob[..2] != b"GP" {
        return Err(format!("{} bytes that are not GeoPackage binary (no \"GP\" header)", blob.len()));
    }
    check_structure(blob).map_err(|e| format!("undecodable GeoPackage binary ({e})"))?;
    geozero::wkb::GpkgWkb(blob).to_geo().map_err(|e| format!("undecodable GeoPackage binary ({e})"))
}

/// Walks a GeoPackage binary geometry without decoding it: the header, then the WKB's
/// types and counts, each checked against the bytes that remain, so that the decoder is
/// only ever given counts the blob can hold (it reserves memory for them up front: a
/// count of 2^32 points in a 50-byte blob would abort the process).
fn check_structure(blob: &[u8]) -> Result<(), String> {
    let flags = blob[3];
    let envelope = match (flags >> 1) & 0b111 {
        0 => 0,
        1 => 32,
        2 | 3 => 48,
        4 => 64,
        e => return Err(format!("envelope indicator {e} (expected 0 to 4)")),
    };
    let start = 8 + envelope;
    if blob.len() < start {
        return Err(format!("{} bytes, shorter than its {start}-byte header", blob.len()));
    }
    if flags & 0b1_0000 != 0 && blob.len() == start {
        return Ok(()); // an empty geometry without WKB
    }
    let end = wkb_end(blob, start, 0)?;
    if end > blob.len() {
        return Err("truncated WKB".into());
    }
    Ok(())
}

/// The offset just past the WKB geometry starting at `at`.
fn wkb_end(b: &[u8], at: usize, depth: u32) -> Result<usize, String> {
    if depth > 32 {
        return Err("geometry collections nested more than 32 deep".into());
    }
    let u32_at = |at: usize, little: bool| -> Result<u32, String> {
        let bytes: [u8; 4] = b.get(at..at + 4).and_then(|s| s.try_into().ok()).ok_or("truncated WKB")?;
        Ok(if little { u32::from_le_bytes(bytes) } else { u32::from_be_bytes(bytes) })
    };
    let little = match b.get(at) {
        Some(0) => false,
        Some(1) => true,
        Some(o) => return Err(format!("WKB byte order {o} (expected 0 or 1)")),
        None => return Err("truncated WKB".into()),
    };
    let raw = u32_at(at + 1, little)?;
    let mut pos = at + 5;
    // EWKB flags (Z, M, SRID) or ISO thousands (1000 Z, 2000 M, 3000 ZM).
    let (mut z, mut m) = (raw & 0x8000_0000 != 0, raw & 0x4000_0000 != 0);
    if raw & 0x2000_0000 != 0 {
        pos += 4;
    }
    let code = raw & 0x0fff_ffff;
    let (kind, dims) = (code % 1000, code / 1000);
    match dims {
        0 => {}
        1 => z = true,
        2 => m = true,
        3 => (z, m) = (true, true),
        _ => return Err(format!("WKB geometry type {code}")),
    }
    let coord = 8 * (2 + usize::from(z) + usize::from(m));
    let remaining = |pos: usize| b.len().saturating_sub(pos);
    let count = |pos: usize, each: usize| -> Result<usize, String> {
        let n = u32_at(pos, little)? as usize;
        if n.saturating_mul(each) > remaining(pos + 4) {
            return Err(format!("a count of {n} that {} remaining bytes cannot hold", remaining(pos + 4)));
        }
        Ok(n)
    };
    match kind {
        1 => Ok(pos + coord),
        2 => {
            let n = count(pos, coord)?;
            Ok(pos + 4 + n * coord)
        }
        3 => {
            let rings = count(pos, 4)?;
            pos += 4;
            for _ in 0..rings {
                let n = count(pos, coord)?;
                pos += 4 + n * coord;
            }
            Ok(pos)
        }
        4..=7 => {
            let parts = count(pos, 5)?;
            pos += 4;
            for _ in 0..parts {
                pos = wkb_end(b, pos, depth + 1)?;
            }
            Ok(pos)
        }
        _ => Err(format!(
            "WKB geometry type {code} (supported: points, lines, polygons, their multi forms, collections)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use geo_types::{LineString, Polygon};

    /// Every geometry type round-trips (`Line`, `Rect` and `Triangle` as the types they
    /// are written as) with the envelope `[min_x, max_x, min_y, max_y]` of its
    /// coordinates; an empty one (an empty polygon too) has none and the empty flag.
    #[test]
    fn every_geometry_type_round_trips() {
        use geo_types::{GeometryCollection, Line, MultiLineString, MultiPoint, MultiPolygon, Point, Rect, Triangle};
        let ls = LineString::from(vec![(0.0, 0.0), (1.5, 2.0), (-3.0, 4.0)]);
        let ring = LineString::from(vec![(0.0, 0.0), (10.0, 0.0), (10.0, 10.0), (0.0, 0.0)]);
        let hole = LineString::from(vec![(1.0, 1.0), (2.0, 1.0), (2.0, 2.0), (1.0, 1.0)]);
        let poly = Polygon::new(ring.clone(), vec![hole.clone()]);
        let square = Some([0.0, 10.0, 0.0, 10.0]);
        let cases: Vec<(Geometry<f64>, Option<[f64; 4]>)> = vec![
            (Point::new(3.5, -2.0).into(), Some([3.5, 3.5, -2.0, -2.0])),
            (Line::new((0.0, 1.0), (2.0, 3.0)).into(), Some([0.0, 2.0, 1.0, 3.0])),
            (ls.clone().into(), Some([-3.0, 1.5, 0.0, 4.0])),
            (LineString::<f64>::new(vec![]).into(), None),
            (poly.clone().into(), square),
            (Polygon::new(ring.clone(), vec![]).into(), square),
            (Polygon::<f64>::new(LineString::new(vec![]), vec![]).into(), None),
            (Rect::new((0.0, 0.0), (2.0, 3.0)).into(), Some([0.0, 2.0, 0.0, 3.0])),
            (Triangle::new((0.0, 0.0).into(), (1.0, 0.0).into(), (0.0, 1.0).into()).into(), Some([0.0, 1.0, 0.0, 1.0])),
            (MultiPoint::from(vec![(1.0, 2.0), (3.0, 4.0)]).into(), Some([1.0, 3.0, 2.0, 4.0])),
            (MultiPoint::<f64>::new(vec![]).into(), None),
            (MultiLineString::new(vec![ls.clone(), hole.clone()]).into(), Some([-3.0, 2.0, 0.0, 4.0])),
            (MultiPolygon::new(vec![poly.clone(), Polygon::new(hole.clone(), vec![])]).into(), square),
            (MultiPolygon::<f64>::new(vec![]).into(), None),
            (
                Geometry::GeometryCollection(GeometryCollection::new_from(vec![
                    Point::new(1.0, 1.0).into(),
                    poly.clone().into(),
                ])),
                square,
            ),
            (Geometry::GeometryCollection(GeometryCollection::<f64>::new_from(vec![])), None),
        ];
        for (g, expected) in &cases {
            let (blob, env) = encode(g, 3857);
            assert_eq!(i32::from_le_bytes(blob[4..8].try_into().unwrap()), 3857);
            let written = match g {
                Geometry::Line(l) => Geometry::LineString(LineString::new(vec![l.start, l.end])),
                Geometry::Rect(r) => Geometry::Polygon(r.to_polygon()),
                Geometry::Triangle(t) => Geometry::Polygon(t.to_polygon()),
                g => g.clone(),
            };
            assert_eq!(decode(&blob).unwrap(), written, "{g:?}");
            let got = (!env.is_empty()).then_some([env.min_x, env.max_x, env.min_y, env.max_y]);
            assert_eq!(got, *expected, "the envelope of {g:?}");
            assert_eq!(blob[3] & 0b0001_0000 != 0, expected.is_none(), "the empty flag of {g:?}");
            if let Some(e) = expected {
                // The header's envelope: [min_x, max_x, min_y, max_y] after flags and srs_id.
                let header: Vec<f64> =
                    blob[8..40].chunks(8).map(|c| f64::from_le_bytes(c.try_into().unwrap())).collect();
                assert_eq!(header, e.to_vec(), "the header envelope of {g:?}");
            }
        }
    }

    /// Counts the blob cannot hold are refused before the decoder reserves memory for
    /// them (a fuzz case: 2^32 - 1 points in a 25-byte blob aborted the process).
    #[test]
    fn counts_beyond_the_blob_are_refused() {
        let line = Geometry::LineString(LineString::from(vec![(0.0, 0.0), (1.0, 2.0)]));
        let (mut blob, _) = encode(&line, 0);
        assert_eq!(decode(&blob).unwrap(), line);
        let header = 8 + 32;
        blob[header + 5..header + 9].copy_from_slice(&u32::MAX.to_le_bytes());
        let e = decode(&blob).unwrap_err();
        assert!(e.contains("a count of 4294967295"), "{e}");
        let poly = Geometry::Polygon(Polygon::new(LineString::from(vec![(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]), vec![]));
        let (mut blob, _) = encode(&poly, 0);
        blob[header + 9..header + 13].copy_from_slice(&(1u32 << 30).to_le_bytes());
        assert!(decode(&blob).unwrap_err().contains("cannot hold"));
        let (blob, _) = encode(&poly, 0);
        assert!(decode(&blob[..blob.len() - 1]).is_err(), "truncated");
        let mut nested = blob[..header].to_vec();
        for _ in 0..40 {
            nested.extend_from_slice(&[1, 7, 0, 0, 0, 1, 0, 0, 0]);
        }
        assert!(decode(&nested).unwrap_err().contains("nested"));
    }
}
