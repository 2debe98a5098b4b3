//! Georeference: where the block grid sits on the map (MODEL.md section 2, "Output coordinates").

use crate::city::Point;

/// Maps block coordinates to Web Mercator metres and longitude/latitude.
///
/// `x_m = L*x + origin_x`, `y_m = L*y + origin_y`, then a rotation by `-rotation_deg`
/// about `rotation_origin` undoes the rotation applied before rasterizing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Georeference {
    /// Side of one block in metres (`L`, 15 by default).
    pub block_side: f64,
    /// Web Mercator x of the grid's `(0, 0)` corner.
    pub origin_x: f64,
    /// Web Mercator y of the grid's `(0, 0)` corner.
    pub origin_y: f64,
    /// Rotation (degrees) applied to the input before rasterizing; 0 for none.
    pub rotation_deg: f64,
    /// Centre of that rotation in Web Mercator metres.
    pub rotation_origin: (f64, f64),
}

impl Default for Georeference {
    fn default() -> Self {
        Georeference { block_side: 15.0, origin_x: 0.0, origin_y: 0.0, rotation_deg: 0.0, rotation_origin: (0.0, 0.0) }
    }
}

/// Where random and built-in cities are placed unless told otherwise: their centre at
/// Philadelphia's City Hall (longitude, latitude in degrees), the home of the reference.
pub const DEFAULT_CENTRE_LONLAT: (f64, f64) = (-75.1636, 39.9524);

/// Radius of the Web Mercator sphere (EPSG:3857), metres.
pub const EARTH_RADIUS_M: f64 = 6_378_137.0;

/// The smallest block side accepted, metres.
pub const MIN_BLOCK_SIDE_M: f64 = 0.01;

/// Half the width of the Web Mercator map (`pi * EARTH_RADIUS_M`), metres.
pub const WEB_MERCATOR_EXTENT_M: f64 = std::f64::consts::PI * EARTH_RADIUS_M;

impl Georeference {
    /// A georeference of `block_side` metres whose `width x height` grid has its centre
    /// at (`lon`, `lat`) degrees; errors (naming the value) unless `-180 <= lon <= 180`,
    /// `|lat| <= 85` and `block_side` is positive, all finite.
    ///
    /// ```
    /// use gardencity::Georeference;
    /// let g = Georeference::centred_at(-75.16, 39.95, 100, 100, 15.0).unwrap();
    /// let (lon, lat) = g.to_lonlat(gardencity::Point::new(50.0, 50.0));
    /// assert!((lon + 75.16).abs() < 1e-9 && (lat - 39.95).abs() < 1e-9);
    /// assert!(Georeference::centred_at(-75.16, 95.0, 10, 10, 15.0).unwrap_err().contains("latitude"));
    /// ```
    pub fn centred_at(lon: f64, lat: f64, width: u32, height: u32, block_side: f64) -> Result<Georeference, String> {
        if !(lon.is_finite() && (-180.0..=180.0).contains(&lon)) {
            return Err(format!("longitude {lon}: expected degrees in [-180, 180]"));
        }
        if !(lat.is_finite() && (-85.0..=85.0).contains(&lat)) {
            return Err(format!("latitude {lat}: expected degrees in [-85, 85] (Web Mercator)"));
        }
        if !(block_side.is_finite() && block_side > 0.0) {
            return Err(format!("block side {block_side}: expected positive metres"));
        }
        let (cx, cy) = lonlat_to_mercator(lon, lat);
        Ok(Georeference {
            block_side,
            origin_x: cx - block_side * width as f64 / 2.0,
            origin_y: cy - block_side * height as f64 / 2.0,
            ..Georeference::default()
        })
    }

    /// Checks that a `width x height` grid placed by this georeference lies on the Web
    /// Mercator map: every number finite, the block side at least [`MIN_BLOCK_SIDE_M`] and the grid's
    /// corners within the projection's extent (±20,037,508 m, with a block of margin).
    ///
    /// ```
    /// use gardencity::Georeference;
    /// assert!(Georeference::default().check(100, 100).is_ok());
    /// let far = Georeference { block_side: 1e300, ..Georeference::default() };
    /// assert!(far.check(10, 10).unwrap_err().contains("beyond the Web Mercator"));
    /// ```
    pub fn check(&self, width: u32, height: u32) -> Result<(), String> {
        let named = [
            ("block_side", self.block_side),
            ("origin_x", self.origin_x),
            ("origin_y", self.origin_y),
            ("rotation_deg", self.rotation_deg),
            ("rotation_origin_x", self.rotation_origin.0),
            ("rotation_origin_y", self.rotation_origin.1),
        ];
        if let Some((name, v)) = named.iter().find(|(_, v)| !v.is_finite()) {
            return Err(format!("georeference {name} is {v}: expected a finite number"));
        }
        if self.block_side < MIN_BLOCK_SIDE_M {
            return Err(format!(
                "georeference block_side is {} m: expected at least {MIN_BLOCK_SIDE_M} m (a smaller block puts every \
                 output coordinate on the origin)",
                self.block_side
            ));
        }
        let limit = WEB_MERCATOR_EXTENT_M + self.block_side;
        let (x1, y1) =
            (self.origin_x + self.block_side * width as f64, self.origin_y + self.block_side * height as f64);
        if [self.origin_x, self.origin_y, x1, y1].iter().any(|c| c.abs() > limit) {
            // Short forms of huge numbers (1e300, not 301 digits).
            let n = |v: f64| if v.abs() < 1e9 { format!("{v}") } else { format!("{v:e}") };
            return Err(format!(
                "the {width} x {height} grid of {} m blocks from ({}, {}) reaches ({}, {}), beyond the Web \
                 Mercator extent of ±{WEB_MERCATOR_EXTENT_M:.0} m",
                n(self.block_side),
                n(self.origin_x),
                n(self.origin_y),
                n(x1),
                n(y1)
            ));
        }
        Ok(())
    }

    /// Web Mercator metres of a point in block units, rotation undone.
    #[inline]
    pub fn to_mercator(&self, p: Point) -> (f64, f64) {
        let x = self.block_side * p.x + self.origin_x;
        let y = self.block_side * p.y + self.origin_y;
        if self.rotation_deg == 0.0 {
            return (x, y);
        }
        let (s, c) = (-self.rotation_deg).to_radians().sin_cos();
        let (ox, oy) = self.rotation_origin;
        let (dx, dy) = (x - ox, y - oy);
        (ox + c * dx - s * dy, oy + s * dx + c * dy)
    }
    /// Block units of a Web Mercator point (the inverse of [`Georeference::to_mercator`]).
    #[inline]
    pub fn from_mercator(&self, x: f64, y: f64) -> Point {
        let (x, y) = if self.rotation_deg == 0.0 {
            (x, y)
        } else {
            let (s, c) = self.rotation_deg.to_radians().sin_cos();
            let (ox, oy) = self.rotation_origin;
            let (dx, dy) = (x - ox, y - oy);
            (ox + c * dx - s * dy, oy + s * dx + c * dy)
        };
        Point::new((x - self.origin_x) / self.block_side, (y - self.origin_y) / self.block_side)
    }
    /// Longitude and latitude (degrees, WGS84) of a point in block units.
    #[inline]
    pub fn to_lonlat(&self, p: Point) -> (f64, f64) {
        let (x, y) = self.to_mercator(p);
        mercator_to_lonlat(x, y)
    }
    /// Converts a horizontal accuracy in blocks to metres.
    #[inline]
    pub fn to_metres(&self, blocks: f64) -> f64 {
        blocks * self.block_side
    }
}

/// Inverse spherical Web Mercator: metres to (longitude, latitude) in degrees.
#[inline]
pub fn mercator_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = (x / EARTH_RADIUS_M).to_degrees();
    let lat = (2.0 * (y / EARTH_RADIUS_M).exp().atan() - std::f64::consts::FRAC_PI_2).to_degrees();
    (lon, lat)
}

/// Forward spherical Web Mercator: (longitude, latitude) in degrees to metres.
#[inline]
pub fn lonlat_to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let x = EARTH_RADIUS_M * lon.to_radians();
    let y = EARTH_RADIUS_M * (std::f64::consts::FRAC_PI_4 + lat.to_radians() / 2.0).tan().ln();
    (x, y)
}
