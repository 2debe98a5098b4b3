//! A compact binary snapshot of a whole [`City`] plus its [`Gravity`]: loads much faster
//! than a GeoPackage and carries the gravity model with it.
//!
//! Layout (little-endian):
//!
//! | bytes | content |
//! |-------|---------|
//! | 8 | magic `GCSNAP\0\x1a` |
//! | 4 | format version ([`SNAPSHOT_VERSION`]) |
//! | 4 | reserved flags (0) |
//! | 8 | payload length `n` |
//! | n | payload |
//! | 4 | CRC-32 (IEEE) of everything before it |
//!
//! The payload holds the city (name, grid, georeference, boundary, streets as
//! delta-coded varints, buildings with rectangles stored as two corners) and, when
//! present, the gravity's persistent parts (hub-proxy layers; nearby pairs only when they
//! do not follow the rule of docs/MODEL.md section 3, since a 25,000-building city has millions of them and
//! deriving them is faster than decoding them; exact mode stores only its parameters
//! and recomputes the door distances on loading). The router is not stored:
//! `Router::new` rebuilds it in milliseconds. Truncated, tampered, foreign and
//! other-version files are rejected with a typed [`SnapshotError`].

use gardencity::gravity::{Gravity, GravityError, GravityMode, GravityParams, HubProxyParts};
use gardencity::{BuildingIdx, BuildingSpec, BuildingType, Cell, City, CityError, CityParts, Georeference, Point};
use std::path::{Path, PathBuf};

/// The magic bytes opening every snapshot.
pub const SNAPSHOT_MAGIC: [u8; 8] = *b"GCSNAP\0\x1a";
/// The format version this build writes and reads.
pub const SNAPSHOT_VERSION: u32 = 1;
const HEADER: usize = 8 + 4 + 4 + 8;

/// Why a snapshot could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the snapshot magic bytes.
    #[error("{path}: not a gardencity snapshot (expected the magic bytes \"GCSNAP\\x00\\x1a\", found {found})")]
    NotSnapshot {
        /// The file.
        path: PathBuf,
        /// What the file starts with.
        found: String,
    },
    /// A snapshot of another format version.
    #[error("{path}: snapshot format version {found}, this build reads version {supported}; re-create it with `gardencity snapshot`")]
    Version {
        /// The file.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this build reads.
        supported: u32,
    },
    /// The file starts like a snapshot but ends inside the fixed-size header.
    #[error("{path}: truncated snapshot: {found} bytes, shorter than the {needed}-byte header and checksum")]
    ShortHeader {
        /// The file.
        path: PathBuf,
        /// Bytes present.
        found: u64,
        /// Bytes of the header plus the checksum, the least a snapshot has.
        needed: u64,
    },
    /// The file is shorter (or longer) than its header says.
    #[error("{path}: truncated or padded snapshot: expected {expected} bytes, found {found}")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Bytes the header announces.
        expected: u64,
        /// Bytes present.
        found: u64,
    },
    /// The checksum does not match the content: the file was altered or damaged.
    #[error("{path}: checksum mismatch (stored {stored:#010x}, computed {computed:#010x}): the file is damaged or was modified")]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The stored CRC-32.
        stored: u32,
        /// The CRC-32 of the content.
        computed: u32,
    },
    /// The payload does not decode (a writer bug, since the checksum matched).
    #[error("{path}: corrupt snapshot payload at byte {offset}: {what}")]
    Corrupt {
        /// The file.
        path: PathBuf,
        /// Payload offset of the problem.
        offset: usize,
        /// What was expected.
        what: String,
    },
    /// The decoded city is invalid.
    #[error("{path}: invalid city in snapshot: {source}")]
    City {
        /// The file.
        path: PathBuf,
        /// The city model's error.
        #[source]
        source: CityError,
    },
    /// The decoded gravity does not fit the city.
    #[error("{path}: invalid gravity in snapshot: {source}")]
    Gravity {
        /// The file.
        path: PathBuf,
        /// The gravity model's error.
        #[source]
        source: GravityError,
    },
}

/// The content of a snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    /// The city.
    pub city: City,
    /// Its gravity model, if one was stored.
    pub gravity: Option<Gravity>,
}

// ---------------------------------------------------------------------------------------
// Encoding.

struct Enc(Vec<u8>);

impl Enc {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn var(&mut self, v: u64) {
        crate::varint::uleb128(&mut self.0, v);
    }
    fn zig(&mut self, v: i64) {
        self.var(crate::varint::zigzag(v));
    }
    fn f64(&mut self, v: f64) {
        self.0.extend_from_slice(&v.to_bits().to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.var(s.len() as u64);
        self.0.extend_from_slice(s.as_bytes());
    }
    fn cell(&mut self, c: Cell) {
        self.zig(c.x.into());
        self.zig(c.y.into());
    }
}

fn is_rectangle(blocks: &[Cell], min: Cell, max: Cell) -> bool {
    let w = (max.x - min.x + 1) as usize;
    let h = (max.y - min.y + 1) as usize;
    w * h == blocks.len()
}

/// Encodes a city and optional gravity into snapshot bytes (header, payload, checksum).
pub fn encode_snapshot(city: &City, gravity: Option<&Gravity>) -> Vec<u8> {
    let mut e = Enc(Vec::with_capacity(HEADER + 64 + city.streets().len() * 2 + city.buildings().len() * 24));
    e.0.extend_from_slice(&SNAPSHOT_MAGIC);
    e.0.extend_from_slice(&SNAPSHOT_VERSION.to_le_bytes());
    e.0.extend_from_slice(&0u32.to_le_bytes());
    e.0.extend_from_slice(&0u64.to_le_bytes());
    // City.
    e.str(city.name());
    e.var(city.width().into());
    e.var(city.height().into());
    let g = city.georef();
    for v in [g.block_side, g.origin_x, g.origin_y, g.rotation_deg, g.rotation_origin.0, g.rotation_origin.1] {
        e.f64(v);
    }
    match city.boundary_wkt() {
        Some(w) => {
            e.u8(1);
            e.str(w);
        }
        None => e.u8(0),
    }
    e.var(city.streets().len() as u64);
    let mut prev = Cell::new(0, 0);
    for &c in city.streets() {
        e.zig(c.x as i64 - prev.x as i64);
        e.zig(c.y as i64 - prev.y as i64);
        prev = c;
    }
    e.var(city.buildings().len() as u64);
    for b in city.buildings() {
        e.str(&b.id);
        e.u8(b.kind as u8);
        e.cell(b.door);
        e.f64(b.door_point.x);
        e.f64(b.door_point.y);
        if is_rectangle(&b.blocks, b.min, b.max) {
            e.u8(0);
            e.cell(b.min);
            e.cell(b.max);
        } else {
            e.u8(1);
            e.var(b.blocks.len() as u64);
            e.cell(b.blocks[0]);
            for w in b.blocks.windows(2) {
                e.zig(w[1].x as i64 - w[0].x as i64);
                e.zig(w[1].y as i64 - w[0].y as i64);
            }
        }
    }
    // Gravity.
    match gravity {
        None => e.u8(0),
        Some(g) => {
            e.u8(1);
            e.f64(g.exponent());
            match g.mode() {
                GravityMode::Exact => e.u8(1),
                GravityMode::HubProxy => {
                    e.u8(0);
                    e.var(g.hubs().len() as u64);
                    for &h in g.hubs() {
                        e.cell(h);
                    }
                    for &d in g.hub_dist() {
                        // u32::MAX (unreachable) becomes 0; distances are stored plus one.
                        e.var(if d == u32::MAX { 0 } else { d as u64 + 1 });
                    }
                    for (&h, &d) in g.closest_hub().iter().zip(g.dist_to_hub()) {
                        e.var(h.into());
                        e.var(d.into());
                    }
                    // Nearby pairs: derived by the rule on loading when they follow it
                    // (always for our own models), else listed.
                    if g.nearby_follows_rule() {
                        e.u8(0);
                    } else {
                        e.u8(1);
                        let nearby: Vec<_> = g.nearby_pairs().collect();
                        e.var(nearby.len() as u64);
                        let mut pi = 0i64;
                        for &(i, j, d) in &nearby {
                            let (i, j) = (i64::from(i.0), i64::from(j.0));
                            e.zig(i - pi);
                            e.zig(j - i);
                            e.var(d.into());
                            pi = i;
                        }
                    }
                }
            }
        }
    }
    let len = (e.0.len() - HEADER) as u64;
    e.0[16..24].copy_from_slice(&len.to_le_bytes());
    let crc = crc32fast::hash(&e.0);
    e.0.extend_from_slice(&crc.to_le_bytes());
    e.0
}

/// Writes a snapshot file (temporary file in the same directory, renamed at the end);
/// returns its size in bytes.
pub fn write_snapshot(path: impl AsRef<Path>, city: &City, gravity: Option<&Gravity>) -> Result<u64, SnapshotError> {
    let path = path.as_ref();
    let bytes = encode_snapshot(city, gravity);
    crate::atomic::write_atomic(path, "snapshot", &bytes, true)
        .map_err(|source| SnapshotError::Io { path: path.to_path_buf(), source })?;
    Ok(bytes.len() as u64)
}

// ---------------------------------------------------------------------------------------
// Decoding.

struct Dec<'a> {
    b: &'a [u8],
    pos: usize,
    path: &'a Path,
}

impl<'a> Dec<'a> {
    fn err(&self, what: impl Into<String>) -> SnapshotError {
        SnapshotError::Corrupt { path: self.path.to_path_buf(), offset: self.pos, what: what.into() }
    }
    fn u8(&mut self) -> Result<u8, SnapshotError> {
        let v = *self.b.get(self.pos).ok_or_else(|| self.err("unexpected end of payload"))?;
        self.pos += 1;
        Ok(v)
    }
    fn var(&mut self) -> Result<u64, SnapshotError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = self.u8()?;
            v |= ((byte & 0x7F) as u64) << shift;
            if byte & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(self.err("varint longer than 64 bits"))
    }
    fn zig(&mut self) -> Result<i64, SnapshotError> {
        let v = self.var()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }
    fn u32v(&mut self, what: &str) -> Result<u32, SnapshotError> {
        let v = self.var()?;
        u32::try_from(v).map_err(|_| self.err(format!("{what} {v} does not fit in 32 bits")))
    }
    fn i32z(&mut self, what: &str) -> Result<i32, SnapshotError> {
        let v = self.zig()?;
        i32::try_from(v).map_err(|_| self.err(format!("{what} {v} does not fit in 32 bits")))
    }
    fn count(&mut self, what: &str, min_bytes_each: usize) -> Result<usize, SnapshotError> {
        let n = self.var()?;
        let left = (self.b.len() - self.pos) as u64;
        if n.saturating_mul(min_bytes_each as u64) > left {
            return Err(self.err(format!("{what} count {n} exceeds the remaining {left} bytes")));
        }
        Ok(n as usize)
    }
    fn f64(&mut self) -> Result<f64, SnapshotError> {
        let s = self.b.get(self.pos..self.pos + 8).ok_or_else(|| self.err("unexpected end of payload"))?;
        self.pos += 8;
        Ok(f64::from_bits(u64::from_le_bytes(s.try_into().expect("8 bytes"))))
    }
    fn str(&mut self) -> Result<String, SnapshotError> {
        let n = self.count("string length", 1)?;
        let s = &self.b[self.pos..self.pos + n];
        let s = std::str::from_utf8(s).map_err(|_| self.err("invalid UTF-8 text"))?.to_string();
        self.pos += n;
        Ok(s)
    }
    fn cell(&mut self) -> Result<Cell, SnapshotError> {
        Ok(Cell::new(self.i32z("cell x")?, self.i32z("cell y")?))
    }
}

/// Checks the header and checksum of snapshot bytes and returns the payload.
fn payload<'a>(bytes: &'a [u8], path: &Path) -> Result<&'a [u8], SnapshotError> {
    let path_buf = || path.to_path_buf();
    let head = &bytes[..bytes.len().min(8)];
    if head != &SNAPSHOT_MAGIC[..head.len()] || bytes.is_empty() {
        // Escaped (`\0`, `\x1a`) so that bytes differing from the magic never print like it.
        let found = if bytes.is_empty() { "an empty file".to_string() } else { format!("\"{}\"", head.escape_ascii()) };
        return Err(SnapshotError::NotSnapshot { path: path_buf(), found });
    }
    if bytes.len() < HEADER + 4 {
        // The magic (or its beginning) is there: a snapshot cut short.
        return Err(SnapshotError::ShortHeader {
            path: path_buf(),
            found: bytes.len() as u64,
            needed: HEADER as u64 + 4,
        });
    }
    let version = u32::from_le_bytes(bytes[8..12].try_into().expect("4 bytes"));
    if version != SNAPSHOT_VERSION {
        return Err(SnapshotError::Version { path: path_buf(), found: version, supported: SNAPSHOT_VERSION });
    }
    let len = u64::from_le_bytes(bytes[16..24].try_into().expect("8 bytes"));
    let expected = (HEADER as u64).saturating_add(len).saturating_add(4);
    if bytes.len() as u64 != expected {
        return Err(SnapshotError::Truncated { path: path_buf(), expected, found: bytes.len() as u64 });
    }
    let end = bytes.len() - 4;
    let stored = u32::from_le_bytes(bytes[end..].try_into().expect("4 bytes"));
    let computed = crc32fast::hash(&bytes[..end]);
    if stored != computed {
        return Err(SnapshotError::Checksum { path: path_buf(), stored, computed });
    }
    Ok(&bytes[HEADER..end])
}

/// Decodes snapshot bytes; `path` only names the source in errors.
pub fn decode_snapshot(bytes: &[u8], path: &Path) -> Result<Snapshot, SnapshotError> {
    let p = payload(bytes, path)?;
    let mut d = Dec { b: p, pos: 0, path };
    let parts = d.city_parts()?;
    let city = City::new(parts).map_err(|source| SnapshotError::City { path: path.to_path_buf(), source })?;
    let gravity = d.gravity(&city)?;
    if d.pos != p.len() {
        return Err(d.err(format!("{} unread bytes after the end of the content", p.len() - d.pos)));
    }
    Ok(Snapshot { city, gravity })
}

impl Dec<'_> {
    /// The city section: name, size, georeference, boundary, streets, buildings.
    fn city_parts(&mut self) -> Result<CityParts, SnapshotError> {
        let name = self.str()?;
        let width = self.u32v("width")?;
        let height = self.u32v("height")?;
        let mut gv = [0.0; 6];
        for v in &mut gv {
            *v = self.f64()?;
        }
        let georef = Georeference {
            block_side: gv[0],
            origin_x: gv[1],
            origin_y: gv[2],
            rotation_deg: gv[3],
            rotation_origin: (gv[4], gv[5]),
        };
        let boundary_wkt = match self.u8()? {
            0 => None,
            1 => Some(self.str()?),
            f => return Err(self.err(format!("boundary flag {f}, expected 0 or 1"))),
        };
        let streets = self.streets()?;
        let nb = self.count("building", 8)?;
        let mut buildings = Vec::with_capacity(nb);
        for _ in 0..nb {
            buildings.push(self.building()?);
        }
        Ok(CityParts { name, width, height, georef, streets, buildings, boundary_wkt })
    }

    /// The street cells, delta-coded.
    fn streets(&mut self) -> Result<Vec<Cell>, SnapshotError> {
        let ns = self.count("street", 2)?;
        let mut streets = Vec::with_capacity(ns);
        let (mut x, mut y) = (0i64, 0i64);
        for _ in 0..ns {
            let (dx, dy) = (self.zig()?, self.zig()?);
            (x, y) = match (x.checked_add(dx), y.checked_add(dy)) {
                (Some(x), Some(y)) => (x, y),
                _ => return Err(self.err("street cell out of the 32-bit range")),
            };
            match (i32::try_from(x), i32::try_from(y)) {
                (Ok(x), Ok(y)) => streets.push(Cell::new(x, y)),
                _ => return Err(self.err("street cell out of the 32-bit range")),
            }
        }
        Ok(streets)
    }

    /// One building: id, type, door, door point, and its blocks as a rectangle or a
    /// delta-coded list.
    fn building(&mut self) -> Result<BuildingSpec, SnapshotError> {
        let id = self.str()?;
        let k = self.u8()?;
        let kind = BuildingType::from_index(k as usize).ok_or_else(|| self.err(format!("building type {k}")))?;
        let door = self.cell()?;
        let door_point = Point::new(self.f64()?, self.f64()?);
        let blocks = match self.u8()? {
            0 => {
                let (a, b) = (self.cell()?, self.cell()?);
                // Sides in i64: i32 corners from a file may be 2^32 apart.
                let (dx, dy) = (i64::from(b.x) - i64::from(a.x), i64::from(b.y) - i64::from(a.y));
                if dx < 0 || dy < 0 || (dx as u64 + 1).saturating_mul(dy as u64 + 1) > self.b.len() as u64 * 64 {
                    return Err(self.err(format!("building {id}: bad rectangle {a:?} {b:?}")));
                }
                (a.x..=b.x).flat_map(|x| (a.y..=b.y).map(move |y| Cell::new(x, y))).collect()
            }
            1 => {
                let n = self.count("block", 2)?;
                if n == 0 {
                    return Err(self.err(format!("building {id} without blocks")));
                }
                let mut v = Vec::with_capacity(n);
                let mut c = self.cell()?;
                v.push(c);
                for _ in 1..n {
                    let (dx, dy) = (self.i32z("block dx")?, self.i32z("block dy")?);
                    c = Cell::new(c.x.wrapping_add(dx), c.y.wrapping_add(dy));
                    v.push(c);
                }
                v
            }
            f => return Err(self.err(format!("block encoding {f}, expected 0 or 1"))),
        };
        Ok(BuildingSpec { id: Some(id), kind, blocks, door, door_point: Some(door_point) })
    }

    /// The gravity section: none, exact (rebuilt from its exponent) or hub proxy (from
    /// its stored parts, checked against the city).
    fn gravity(&mut self, city: &City) -> Result<Option<Gravity>, SnapshotError> {
        let gerr = |source| SnapshotError::Gravity { path: self.path.to_path_buf(), source };
        match self.u8()? {
            0 => Ok(None),
            1 => {
                let exponent = self.f64()?;
                match self.u8()? {
                    1 => Gravity::exact(city, GravityParams { exponent, ..Default::default() }).map(Some).map_err(gerr),
                    0 => {
                        let (parts, derive) = self.hub_parts(exponent, city.buildings().len())?;
                        if derive {
                            Gravity::from_hub_parts_derive_nearby(city, parts)
                        } else {
                            Gravity::from_hub_parts(city, parts)
                        }
                        .map(Some)
                        .map_err(gerr)
                    }
                    m => Err(self.err(format!("gravity mode {m}, expected 0 or 1"))),
                }
            }
            f => Err(self.err(format!("gravity flag {f}, expected 0 or 1"))),
        }
    }

    /// The stored parts of a hub proxy over `n` buildings, and whether its nearby pairs
    /// are to be derived (not stored).
    fn hub_parts(&mut self, exponent: f64, n: usize) -> Result<(HubProxyParts, bool), SnapshotError> {
        let nh = self.count("hub", 2)?;
        let mut hubs = Vec::with_capacity(nh);
        for _ in 0..nh {
            hubs.push(self.cell()?);
        }
        if (nh as u64).saturating_mul(nh as u64) > self.b.len() as u64 {
            return Err(self.err(format!("{nh}^2 hub distances exceed the payload")));
        }
        let mut hub_dist = Vec::with_capacity(nh * nh);
        for _ in 0..nh * nh {
            let v = self.var()?;
            hub_dist.push(if v == 0 {
                u32::MAX
            } else {
                u32::try_from(v - 1).map_err(|_| self.err("hub distance out of range"))?
            });
        }
        let (mut closest_hub, mut dist_to_hub) = (Vec::with_capacity(n), Vec::with_capacity(n));
        for _ in 0..n {
            closest_hub.push(self.u32v("closest hub")?);
            dist_to_hub.push(self.u32v("distance to hub")?);
        }
        let derive = match self.u8()? {
            0 => true,
            1 => false,
            f => return Err(self.err(format!("nearby flag {f}, expected 0 or 1"))),
        };
        let nearby = if derive { Vec::new() } else { self.nearby_pairs()? };
        Ok((HubProxyParts { exponent, hubs, hub_dist, closest_hub, dist_to_hub, nearby }, derive))
    }

    /// Stored nearby pairs `(i, j, distance)`, delta-coded.
    fn nearby_pairs(&mut self) -> Result<Vec<(BuildingIdx, BuildingIdx, u32)>, SnapshotError> {
        let nn = self.count("nearby pair", 3)?;
        let mut nearby = Vec::with_capacity(nn);
        let mut pi = 0i64;
        for _ in 0..nn {
            let (di, dj) = (self.zig()?, self.zig()?);
            let (Some(i), Some(j)) = (pi.checked_add(di), pi.checked_add(di).and_then(|i| i.checked_add(dj))) else {
                return Err(self.err("nearby building index out of range"));
            };
            let dd = self.u32v("nearby distance")?;
            match (u32::try_from(i), u32::try_from(j)) {
                (Ok(i), Ok(j)) => nearby.push((BuildingIdx(i), BuildingIdx(j), dd)),
                _ => return Err(self.err("nearby building index out of range")),
            }
            pi = i;
        }
        Ok(nearby)
    }
}

/// Reads a snapshot file.
pub fn read_snapshot(path: impl AsRef<Path>) -> Result<Snapshot, SnapshotError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| SnapshotError::Io { path: path.to_path_buf(), source })?;
    decode_snapshot(&bytes, path)
}
