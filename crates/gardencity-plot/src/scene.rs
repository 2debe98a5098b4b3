//! The backend-independent picture: a list of shapes in pixel coordinates
//! (origin top left, y down), rendered by [`crate::svg`] and [`crate::png`].

use std::fmt;

/// An sRGB colour with alpha.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Color {
    /// Red.
    pub r: u8,
    /// Green.
    pub g: u8,
    /// Blue.
    pub b: u8,
    /// Alpha (255 = opaque).
    pub a: u8,
}

impl Color {
    /// An opaque colour.
    pub const fn rgb(r: u8, g: u8, b: u8) -> Color {
        Color { r, g, b, a: 255 }
    }
    /// An opaque colour from `0xRRGGBB`.
    pub const fn hex(v: u32) -> Color {
        Color::rgb((v >> 16) as u8, (v >> 8) as u8, v as u8)
    }
    /// The same colour with another alpha.
    pub const fn with_alpha(self, a: u8) -> Color {
        Color { a, ..self }
    }
    /// Linear mix: `t = 0` gives `self`, `t = 1` gives `other` (alpha mixed too).
    pub fn mix(self, other: Color, t: f64) -> Color {
        let t = t.clamp(0.0, 1.0);
        let m = |a: u8, b: u8| (a as f64 + (b as f64 - a as f64) * t).round() as u8;
        Color { r: m(self.r, other.r), g: m(self.g, other.g), b: m(self.b, other.b), a: m(self.a, other.a) }
    }
    /// `#rrggbb` (alpha ignored).
    pub fn to_hex(self) -> String {
        format!("#{:02x}{:02x}{:02x}", self.r, self.g, self.b)
    }
    /// White.
    pub const WHITE: Color = Color::rgb(255, 255, 255);
    /// Black.
    pub const BLACK: Color = Color::rgb(0, 0, 0);
}

impl fmt::Display for Color {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An outline stroke.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stroke {
    /// Line colour.
    pub color: Color,
    /// Line width in pixels.
    pub width: f32,
}

/// Horizontal placement of a text relative to its `x`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    /// `x` is the left edge.
    Start,
    /// `x` is the centre.
    Middle,
    /// `x` is the right edge.
    End,
}

/// One drawable element.
#[derive(Debug, Clone, PartialEq)]
pub enum Shape {
    /// An axis-aligned rectangle.
    Rect {
        /// Left.
        x: f32,
        /// Top.
        y: f32,
        /// Width.
        w: f32,
        /// Height.
        h: f32,
        /// Fill colour (`None`: not filled).
        fill: Option<Color>,
        /// Outline.
        stroke: Option<Stroke>,
    },
    /// A filled polygon (rings: exterior and holes, even-odd filled), e.g. an L-shaped building.
    Polygon {
        /// Closed rings of vertices.
        rings: Vec<Vec<(f32, f32)>>,
        /// Fill colour (`None`: not filled).
        fill: Option<Color>,
        /// Outline.
        stroke: Option<Stroke>,
    },
    /// A circle.
    Circle {
        /// Centre x.
        cx: f32,
        /// Centre y.
        cy: f32,
        /// Radius.
        r: f32,
        /// Fill colour.
        fill: Option<Color>,
        /// Outline.
        stroke: Option<Stroke>,
    },
    /// An open polyline.
    Polyline {
        /// Vertices.
        points: Vec<(f32, f32)>,
        /// Line style.
        stroke: Stroke,
    },
    /// A line of text; `y` is the baseline, `size` the capital height in pixels.
    Text {
        /// Anchor x.
        x: f32,
        /// Baseline y.
        y: f32,
        /// The text (PNG: characters outside the embedded font's Latin-1 subset become boxes).
        text: String,
        /// Capital height in pixels.
        size: f32,
        /// Colour.
        color: Color,
        /// Horizontal placement.
        anchor: Anchor,
    },
    /// A pixel image drawn 1:1 at `(x, y)` (large maps: one colour per pixel).
    Raster {
        /// Left (whole pixels).
        x: u32,
        /// Top (whole pixels).
        y: u32,
        /// Width in pixels.
        w: u32,
        /// Height in pixels.
        h: u32,
        /// Row-major pixels, `w * h` of them.
        pixels: Vec<Color>,
    },
}

/// A picture: size, background and shapes drawn in order.
#[derive(Debug, Clone, PartialEq)]
pub struct Scene {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// Background colour.
    pub background: Color,
    /// Shapes, each with an optional class name (used as the SVG `class`), in drawing order.
    pub shapes: Vec<(Option<&'static str>, Shape)>,
    /// Where the city map sits in the picture (block units to pixels), for map plots.
    pub frame: Option<crate::map::MapFrame>,
}

impl Scene {
    /// An empty scene.
    pub fn new(width: u32, height: u32, background: Color) -> Scene {
        Scene { width, height, background, shapes: Vec::new(), frame: None }
    }
    /// Appends a shape.
    pub fn push(&mut self, shape: Shape) {
        self.shapes.push((None, shape));
    }
    /// Appends a shape with a class name.
    pub fn push_class(&mut self, class: &'static str, shape: Shape) {
        self.shapes.push((Some(class), shape));
    }
    /// Appends a line of text.
    pub fn text(&mut self, x: f32, y: f32, text: impl Into<String>, size: f32, color: Color, anchor: Anchor) {
        self.push(Shape::Text { x, y, text: text.into(), size, color, anchor });
    }
    /// Number of shapes with the given class.
    pub fn count_class(&self, class: &str) -> usize {
        self.shapes.iter().filter(|(c, _)| *c == Some(class)).count()
    }
}
