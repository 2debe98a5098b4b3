//! Shared map drawing: the block-to-pixel frame, the city base layer (vector or
//! per-pixel raster), legends and titles.

use crate::scene::{Anchor, Color, Scene, Shape, Stroke};
use gardencity::city::outline::outline;
use gardencity::{Building, BuildingIdx, BuildingType, Cell, CellKind, City, Point};

/// Margin around the picture in pixels.
pub(crate) const MARGIN: f32 = 16.0;
/// Top of the map (below the title).
pub(crate) const MAP_TOP: f32 = 44.0;
/// Largest picture width accepted.
pub(crate) const MAX_WIDTH: u32 = 8192;
/// Smallest picture width (room for legends).
pub(crate) const MIN_WIDTH: u32 = 320;
/// Below this many pixels per block the map is drawn as a raster.
pub const RASTER_BELOW_PX: f32 = 2.0;
/// Capital height of normal text (DejaVu Sans at about 13.7 px).
pub(crate) const TEXT: f32 = 10.0;
/// Capital height of the title.
pub(crate) const TITLE: f32 = 12.0;
/// Text colour.
pub(crate) const INK: Color = Color::hex(0x222222);

/// Street colour of the city map.
pub const STREET: Color = Color::hex(0x9e9e9e);

/// Fill colour of a building type on the city map.
pub fn type_color(t: BuildingType) -> Color {
    match t {
        BuildingType::Home => Color::hex(0xf2b36d),
        BuildingType::Workplace => Color::hex(0x5b84c4),
        BuildingType::Retail => Color::hex(0xd15fa0),
        BuildingType::Park => Color::hex(0x6fbf6b),
        BuildingType::Other => Color::hex(0x8c6d4f),
    }
}

/// How the map is drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Detail {
    /// Vector shapes when a block is at least [`RASTER_BELOW_PX`] pixels wide, else a raster.
    #[default]
    Auto,
    /// Always one shape per street run and per building.
    Vector,
    /// Always one colour per pixel (a pixel covering several blocks takes their majority).
    Raster,
}

/// Where the city grid sits in the picture: block `(x, y)` (y up) maps to pixels
/// `(left + x * scale, top + (height - y) * scale)` (y down).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapFrame {
    /// Left edge of the map in pixels (whole pixels).
    pub left: f32,
    /// Top edge of the map in pixels (whole pixels).
    pub top: f32,
    /// Pixels per block.
    pub scale: f32,
    /// City width in blocks.
    pub width_blocks: u32,
    /// City height in blocks.
    pub height_blocks: u32,
    /// Map width in pixels.
    pub width_px: u32,
    /// Map height in pixels.
    pub height_px: u32,
    /// True when the base layer is a raster.
    pub raster: bool,
}

impl MapFrame {
    /// The frame for `city` in a picture about `width` pixels wide.
    pub fn new(city: &City, width: u32, detail: Detail) -> MapFrame {
        let width = width.clamp(MIN_WIDTH, MAX_WIDTH);
        let avail = width as f32 - 2.0 * MARGIN;
        let (w, h) = (city.width() as f32, city.height() as f32);
        // Tall cities: keep the map at most 1.5 times as tall as it is wide.
        // A multiple of 1/64 pixel: block edges are then exact in f32 (every coordinate is
        // below 2^24 / 64), so neighbouring shapes round to the same pixel edge.
        let scale = ((avail / w).min(1.5 * avail / h) * 64.0).floor().max(1.0) / 64.0;
        let width_px = ((w * scale).round() as u32).max(1);
        let height_px = ((h * scale).round() as u32).max(1);
        let left = ((width as f32 - width_px as f32) / 2.0).floor().max(MARGIN);
        let raster = match detail {
            Detail::Auto => scale < RASTER_BELOW_PX,
            Detail::Vector => false,
            Detail::Raster => true,
        };
        MapFrame {
            left,
            top: MAP_TOP,
            scale,
            width_blocks: city.width(),
            height_blocks: city.height(),
            width_px,
            height_px,
            raster,
        }
    }
    /// Widens the picture to fit `title` if needed, centring the map; returns the picture width.
    pub fn fit_title(&mut self, title: &str) -> u32 {
        let need = ((crate::font::text_width(title, TITLE) + 2.0 * MARGIN).ceil() as u32).min(MAX_WIDTH);
        let width = self.picture_width().max(need);
        self.left = ((width - self.width_px) as f32 / 2.0).floor().max(MARGIN);
        width.max(self.picture_width())
    }
    /// Picture width for this frame.
    pub fn picture_width(&self) -> u32 {
        (self.left * 2.0) as u32 + self.width_px
    }
    /// Bottom edge of the map in pixels.
    pub fn bottom(&self) -> f32 {
        self.top + self.height_px as f32
    }
    /// Pixel position of a point in block units.
    pub fn to_px(&self, p: Point) -> (f32, f32) {
        (self.left + p.x as f32 * self.scale, self.top + (self.height_blocks as f32 - p.y as f32) * self.scale)
    }
    /// Pixel rectangle `(x, y, w, h)` of a block.
    pub fn block_rect(&self, c: Cell) -> (f32, f32, f32, f32) {
        let (x, y) = self.to_px(Point::new(c.x as f64, (c.y + 1) as f64));
        (x, y, self.scale, self.scale)
    }
    /// Pixel of the centre of a block (whole pixel coordinates).
    pub fn block_center_px(&self, c: Cell) -> (u32, u32) {
        let (x, y) = self.to_px(c.center());
        (x.floor() as u32, y.floor() as u32)
    }
}

/// Colours of the base layer by class: 0 empty (not drawn), 1 street, 2.. building classes.
pub(crate) struct BaseStyle<'a> {
    /// Colour per class (index 0 and 1 as above).
    pub classes: Vec<Color>,
    /// The class of a building (>= 2).
    pub building_class: &'a dyn Fn(BuildingIdx) -> u32,
    /// In a raster, a pixel showing any block of class >= this takes the highest such class
    /// (hot spots of a heatmap); other pixels take the majority.
    pub hot_from: Option<u32>,
    /// Building outline colour in vector mode (None: no outline).
    pub outline: Option<Color>,
}

/// Shape of one building in pixels: a rectangle when it is one, else polygon rings.
pub(crate) fn building_shape(frame: &MapFrame, b: &Building, fill: Option<Color>, stroke: Option<Stroke>) -> Shape {
    let bw = (b.max.x - b.min.x + 1) as usize;
    let bh = (b.max.y - b.min.y + 1) as usize;
    if bw * bh == b.blocks.len() {
        let (x, y) = frame.to_px(Point::new(b.min.x as f64, (b.max.y + 1) as f64));
        Shape::Rect { x, y, w: bw as f32 * frame.scale, h: bh as f32 * frame.scale, fill, stroke }
    } else {
        let rings = outline(&b.blocks)
            .into_iter()
            .flatten()
            .map(|ring| ring.into_iter().map(|(x, y)| frame.to_px(Point::new(x as f64, y as f64))).collect())
            .collect();
        Shape::Polygon { rings, fill, stroke }
    }
}

/// Draws streets and buildings.
pub(crate) fn draw_base(scene: &mut Scene, city: &City, frame: &MapFrame, style: &BaseStyle) {
    if frame.raster {
        draw_raster(scene, city, frame, style);
        return;
    }
    let street = style.classes[1];
    let (w, h) = (city.width() as i32, city.height() as i32);
    for y in 0..h {
        let mut x = 0;
        while x < w {
            if !matches!(city.cell_kind(Cell::new(x, y)), CellKind::Street(_)) {
                x += 1;
                continue;
            }
            let x0 = x;
            while x < w && matches!(city.cell_kind(Cell::new(x, y)), CellKind::Street(_)) {
                x += 1;
            }
            let (px, py, s, _) = frame.block_rect(Cell::new(x0, y));
            scene.push_class(
                "street",
                Shape::Rect { x: px, y: py, w: s * (x - x0) as f32, h: s, fill: Some(street), stroke: None },
            );
        }
    }
    let stroke_w = if frame.scale >= 6.0 { 1.0 } else { 0.0 };
    for (bi, b) in city.building_indices().zip(city.buildings()) {
        let fill = style.classes[(style.building_class)(bi) as usize];
        let stroke = style.outline.filter(|_| stroke_w > 0.0).map(|c| Stroke { color: c, width: stroke_w });
        let stroke = stroke.or_else(|| {
            (stroke_w > 0.0 && style.outline.is_none())
                .then(|| Stroke { color: fill.mix(Color::BLACK, 0.35), width: stroke_w })
        });
        scene.push_class("building", building_shape(frame, b, Some(fill), stroke));
    }
}

fn draw_raster(scene: &mut Scene, city: &City, frame: &MapFrame, style: &BaseStyle) {
    let (wp, hp) = (frame.width_px as usize, frame.height_px as usize);
    let (wb, hb) = (city.width() as i64, city.height() as i64);
    let s = frame.scale as f64;
    let k = style.classes.len();
    let class_of = |c: Cell| -> usize {
        match city.cell_kind(c) {
            CellKind::Street(_) => 1,
            CellKind::Building(b) => (style.building_class)(b) as usize,
            _ => 0,
        }
    };
    // Block range covered by pixel i: [floor(i / s), max(that + 1, floor((i + 1) / s))).
    let range = |i: usize, n: i64| -> (i64, i64) {
        let a = ((i as f64 / s).floor() as i64).clamp(0, n - 1);
        let b = (((i + 1) as f64 / s).floor() as i64).clamp(a + 1, n);
        (a, b)
    };
    let xr: Vec<(i64, i64)> = (0..wp).map(|i| range(i, wb)).collect();
    let mut pixels = vec![scene.background; wp * hp];
    let mut counts = vec![0u32; k];
    for py in 0..hp {
        // Pixel rows count from the top; block rows from the bottom.
        let (t0, t1) = range(py, hb);
        for (px, &(x0, x1)) in xr.iter().enumerate() {
            counts.iter_mut().for_each(|c| *c = 0);
            for t in t0..t1 {
                let y = hb - 1 - t;
                for x in x0..x1 {
                    counts[class_of(Cell::new(x as i32, y as i32))] += 1;
                }
            }
            let hot = style.hot_from.and_then(|h| (h as usize..k).rev().find(|&c| counts[c] > 0));
            let class = hot.unwrap_or_else(|| {
                // Majority among non-empty classes, ties to the higher class.
                (1..k).filter(|&c| counts[c] > 0).max_by_key(|&c| (counts[c], c)).unwrap_or(0)
            });
            if class != 0 {
                pixels[py * wp + px] = style.classes[class];
            }
        }
    }
    scene.push_class(
        "raster",
        Shape::Raster { x: frame.left as u32, y: frame.top as u32, w: wp as u32, h: hp as u32, pixels },
    );
}

/// Draws a title at the top left, widening the picture when it is too narrow for it.
pub(crate) fn title(scene: &mut Scene, text: &str) {
    let need = (crate::font::text_width(text, TITLE) + 2.0 * MARGIN).ceil() as u32;
    scene.width = scene.width.max(need.min(MAX_WIDTH));
    scene.text(MARGIN, MARGIN + TITLE, text, TITLE, INK, Anchor::Start);
}

/// Draws legend entries (swatch and label) in rows starting at `top`; returns the bottom.
pub(crate) fn legend(scene: &mut Scene, entries: &[(Color, String)], left: f32, top: f32, max_w: f32) -> f32 {
    let sw = 14.0;
    let row_h = 22.0;
    let (mut x, mut y) = (left, top);
    for (c, label) in entries {
        let w = sw + 6.0 + crate::font::text_width(label, TEXT) + 18.0;
        if x > left && x + w > left + max_w {
            x = left;
            y += row_h;
        }
        scene.push_class(
            "legend",
            Shape::Rect {
                x,
                y,
                w: sw,
                h: sw,
                fill: Some(*c),
                stroke: Some(Stroke { color: c.mix(Color::BLACK, 0.4), width: 1.0 }),
            },
        );
        // Capitals centred on the swatch.
        scene.text(x + sw + 6.0, y + (sw + TEXT) / 2.0, label.clone(), TEXT, INK, Anchor::Start);
        x += w;
    }
    y + row_h
}
