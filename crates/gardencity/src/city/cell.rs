//! Grid cells and points in block units.

/// One block of the grid, addressed by integer coordinates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Cell {
    /// Column, `0 <= x < width`.
    pub x: i32,
    /// Row, `0 <= y < height`.
    pub y: i32,
}

impl Cell {
    /// A cell at `(x, y)`.
    #[inline]
    pub const fn new(x: i32, y: i32) -> Cell {
        Cell { x, y }
    }
    /// The four 4-neighbours: east, west, north, south.
    #[inline]
    pub fn neighbors4(self) -> [Cell; 4] {
        [
            Cell::new(self.x + 1, self.y),
            Cell::new(self.x - 1, self.y),
            Cell::new(self.x, self.y + 1),
            Cell::new(self.x, self.y - 1),
        ]
    }
    /// True when the two cells share an edge.
    #[inline]
    pub fn is_adjacent4(self, other: Cell) -> bool {
        (self.x - other.x).abs() + (self.y - other.y).abs() == 1
    }
    /// Manhattan (L1) distance in blocks.
    #[inline]
    pub fn manhattan(self, other: Cell) -> u32 {
        (self.x - other.x).unsigned_abs() + (self.y - other.y).unsigned_abs()
    }
    /// The block's centre point.
    #[inline]
    pub fn center(self) -> Point {
        Point::new(self.x as f64 + 0.5, self.y as f64 + 0.5)
    }
    /// The reference's street id, `s-x{X}-y{Y}`.
    pub fn street_id(self) -> String {
        format!("s-x{}-y{}", self.x, self.y)
    }
}

/// A point in block units (block `(x, y)` covers `[x, x+1) x [y, y+1)`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Point {
    /// Horizontal coordinate in blocks.
    pub x: f64,
    /// Vertical coordinate in blocks.
    pub y: f64,
}

impl Point {
    /// A point at `(x, y)`.
    #[inline]
    pub const fn new(x: f64, y: f64) -> Point {
        Point { x, y }
    }
    /// The block whose half-open square contains the point.
    #[inline]
    pub fn cell(self) -> Cell {
        Cell::new(floor_i32(self.x), floor_i32(self.y))
    }
    /// The blocks whose closed squares contain the point: one inside a block, two on an
    /// edge, four on a corner (a point on an edge belongs to the blocks on either side).
    #[inline]
    pub fn touching_cells(self) -> impl Iterator<Item = Cell> {
        let (cx, cy) = (floor_i32(self.x), floor_i32(self.y));
        let nx = if self.x == cx as f64 { 2 } else { 1 };
        let ny = if self.y == cy as f64 { 2 } else { 1 };
        (0..nx).flat_map(move |i| (0..ny).map(move |j| Cell::new(cx - i, cy - j)))
    }
    /// Whether `f` holds for a block the point touches (see [`Point::touching_cells`]):
    /// the block it lies in first, which settles most points (strictly inside a block)
    /// in one test, then, on an edge or a corner, the blocks on the other side.
    #[inline]
    pub fn any_touching(self, mut f: impl FnMut(Cell) -> bool) -> bool {
        let c = self.cell();
        f(c) || ((self.x == c.x as f64 || self.y == c.y as f64) && self.touching_cells().skip(1).any(f))
    }
    /// True when the point lies in the closed square of `cell`.
    #[inline]
    pub fn touches(self, cell: Cell) -> bool {
        let (x0, y0) = (cell.x as f64, cell.y as f64);
        self.x >= x0 && self.x <= x0 + 1.0 && self.y >= y0 && self.y <= y0 + 1.0
    }
    /// Euclidean distance.
    #[inline]
    pub fn dist(self, o: Point) -> f64 {
        let (dx, dy) = (self.x - o.x, self.y - o.y);
        (dx * dx + dy * dy).sqrt()
    }
}

/// `floor(v)` as an `i32` without a libm call (the baseline x86-64 target has no
/// rounding instruction); saturates like `as` for values out of range.
#[inline]
fn floor_i32(v: f64) -> i32 {
    let t = v as i32;
    if (t as f64) > v {
        t - 1
    } else {
        t
    }
}
