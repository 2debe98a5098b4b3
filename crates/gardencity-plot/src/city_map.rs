//! The city map: streets, buildings by type, legend, optional doors, grid and ids.

use crate::map::{self, type_color, BaseStyle, Detail, MapFrame, INK, MARGIN, STREET};
use crate::scene::{Anchor, Color, Scene, Shape, Stroke};
use gardencity::{BuildingIdx, BuildingType, City, Point};

/// Options of [`plot_city`].
#[derive(Debug, Clone, PartialEq)]
pub struct CityPlotOptions {
    /// Picture width in pixels (clamped to 320..=8192) [default: 1200].
    pub width: u32,
    /// Draw doors as small dark squares (vector mode only).
    pub doors: bool,
    /// Draw the block grid (vector mode only).
    pub grid: bool,
    /// Write building ids (vector mode only, on buildings wide enough for their id).
    pub ids: bool,
    /// Vector or raster drawing.
    pub detail: Detail,
    /// Title; `None` uses the city's name and size.
    pub title: Option<String>,
}

impl Default for CityPlotOptions {
    fn default() -> Self {
        CityPlotOptions { width: 1200, doors: false, grid: false, ids: false, detail: Detail::Auto, title: None }
    }
}

/// Door mark colour.
pub const DOOR: Color = Color::hex(0x202020);

/// Capital height of building ids.
const ID_SIZE: f32 = 7.0;

/// True when a building's id fits inside it (ids are drawn only then).
pub fn id_fits(frame: &MapFrame, b: &gardencity::Building) -> bool {
    let w = (b.max.x - b.min.x + 1) as f32 * frame.scale;
    let h = (b.max.y - b.min.y + 1) as f32 * frame.scale;
    crate::font::text_width(&b.id, ID_SIZE) + 2.0 <= w && h >= ID_SIZE + 4.0
}

/// Default title: name and size in blocks.
pub(crate) fn city_title(city: &City) -> String {
    format!("{} - {} x {} blocks, {} buildings", city.name(), city.width(), city.height(), city.buildings().len())
}

/// Draws the city map.
pub fn plot_city(city: &City, opts: &CityPlotOptions) -> Scene {
    let mut frame = MapFrame::new(city, opts.width, opts.detail);
    let title = opts.title.clone().unwrap_or_else(|| city_title(city));
    let width = frame.fit_title(&title);
    let mut scene = Scene::new(width, 0, Color::WHITE);
    let mut classes = vec![Color::WHITE, STREET];
    classes.extend(BuildingType::ALL.iter().map(|&t| type_color(t)));
    let class = |b: BuildingIdx| 2 + city.building(b).kind as u32;
    map::draw_base(
        &mut scene,
        city,
        &frame,
        &BaseStyle { classes, building_class: &class, hot_from: None, outline: None },
    );
    let vector = !frame.raster;
    let s = frame.scale;
    if vector && opts.grid {
        let c = Color::hex(0x000000).with_alpha(60);
        for x in 0..=city.width() {
            let a = frame.to_px(Point::new(x as f64, 0.0));
            let b = frame.to_px(Point::new(x as f64, city.height() as f64));
            scene.push_class("grid", Shape::Polyline { points: vec![a, b], stroke: Stroke { color: c, width: 0.5 } });
        }
        for y in 0..=city.height() {
            let a = frame.to_px(Point::new(0.0, y as f64));
            let b = frame.to_px(Point::new(city.width() as f64, y as f64));
            scene.push_class("grid", Shape::Polyline { points: vec![a, b], stroke: Stroke { color: c, width: 0.5 } });
        }
    }
    if vector && opts.doors {
        let d = (s * 0.3).clamp(2.0, 8.0);
        for b in city.buildings() {
            let (x, y) = frame.to_px(b.door_point);
            scene.push_class(
                "door",
                Shape::Rect { x: x - d / 2.0, y: y - d / 2.0, w: d, h: d, fill: Some(DOOR), stroke: None },
            );
        }
    }
    if vector && opts.ids {
        let size = ID_SIZE;
        for b in city.buildings() {
            let cx = (b.min.x + b.max.x + 1) as f64 / 2.0;
            let cy = (b.min.y + b.max.y + 1) as f64 / 2.0;
            let (x, y) = frame.to_px(Point::new(cx, cy));
            if !id_fits(&frame, b) {
                continue;
            }
            scene.push_class(
                "label",
                Shape::Text { x, y: y + size / 2.0, text: b.id.clone(), size, color: INK, anchor: Anchor::Middle },
            );
        }
    }
    map::title(&mut scene, &title);
    let mut entries = vec![(STREET, "street".to_string())];
    for t in BuildingType::ALL {
        entries.push((type_color(t), format!("{t} ({})", city.buildings_of_type(t).len())));
    }
    if vector && opts.doors {
        entries.push((DOOR, "door".into()));
    }
    let bottom = map::legend(&mut scene, &entries, MARGIN, frame.bottom() + 12.0, width as f32 - 2.0 * MARGIN);
    scene.height = (bottom + MARGIN / 2.0).ceil() as u32;
    scene.frame = Some(frame);
    scene
}
