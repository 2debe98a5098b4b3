//! Time-spent heatmap: buildings shaded by minutes of ground-truth stays.

use crate::map::{self, BaseStyle, Detail, MapFrame, INK, MARGIN, TEXT};
use crate::scene::{Anchor, Color, Scene, Shape, Stroke};
use crate::PlotError;
use gardencity::{BuildingIdx, City};
use gardencity_io::dataset::DiaryRow;

/// Colour of buildings never visited.
pub const UNVISITED: Color = Color::hex(0xe4e4e4);
/// Street colour of the heatmap.
pub const HEAT_STREET: Color = Color::hex(0xc4c4c4);
/// Sequential ramp (light yellow to dark red), evenly spaced stops.
pub const RAMP: [Color; 9] = [
    Color::hex(0xffffcc),
    Color::hex(0xffeda0),
    Color::hex(0xfed976),
    Color::hex(0xfeb24c),
    Color::hex(0xfd8d3c),
    Color::hex(0xfc4e2a),
    Color::hex(0xe31a1c),
    Color::hex(0xbd0026),
    Color::hex(0x800026),
];
/// Number of colour levels of a raster heatmap (odd, so the middle of the ramp is a level).
const LEVELS: u32 = 65;

/// The ramp colour at `t` in `[0, 1]`.
pub fn ramp(t: f64) -> Color {
    let t = if t.is_finite() { t.clamp(0.0, 1.0) } else { 0.0 };
    let f = t * (RAMP.len() - 1) as f64;
    let i = (f.floor() as usize).min(RAMP.len() - 2);
    RAMP[i].mix(RAMP[i + 1], f - i as f64)
}

/// Options of [`plot_heatmap`].
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapOptions {
    /// Picture width in pixels [default: 1200].
    pub width: u32,
    /// Colour by the logarithm of minutes (homes dominate otherwise) [default: true].
    pub log_scale: bool,
    /// Vector or raster drawing.
    pub detail: Detail,
    /// Title; `None` describes the data.
    pub title: Option<String>,
}

impl Default for HeatmapOptions {
    fn default() -> Self {
        HeatmapOptions { width: 1200, log_scale: true, detail: Detail::Auto, title: None }
    }
}

/// Minutes spent per building (index = building index) from diary rows; trips (no
/// location) are skipped; a location that is not a building of the city is an error.
pub fn minutes_by_building(city: &City, rows: &[DiaryRow]) -> Result<Vec<f64>, PlotError> {
    let mut m = vec![0.0; city.buildings().len()];
    for (k, r) in rows.iter().enumerate() {
        let Some(loc) = r.location.as_deref() else { continue };
        let b = city.building_by_id(loc).ok_or_else(|| {
            PlotError::Mismatch(format!(
                "diary row {k} (user {}): location {loc:?} is not a building of the city",
                r.user_id
            ))
        })?;
        if r.duration.is_finite() && r.duration > 0.0 {
            m[b as usize] += r.duration;
        }
    }
    Ok(m)
}

/// Position on the ramp of `v` minutes given the visited range.
pub fn heat_t(v: f64, min: f64, max: f64, log: bool) -> f64 {
    if max <= min {
        return 1.0;
    }
    if log {
        (v.ln() - min.ln()) / (max.ln() - min.ln())
    } else {
        (v - min) / (max - min)
    }
}

fn fmt_minutes(v: f64) -> String {
    if v >= 600.0 {
        format!("{:.1} h", v / 60.0)
    } else if v >= 10.0 {
        format!("{v:.0} min")
    } else {
        format!("{v:.1} min")
    }
}

/// Draws buildings shaded by the minutes the diary rows spend in them.
pub fn plot_heatmap(city: &City, rows: &[DiaryRow], opts: &HeatmapOptions) -> Result<Scene, PlotError> {
    let minutes = minutes_by_building(city, rows)?;
    let visited: Vec<f64> = minutes.iter().copied().filter(|&v| v > 0.0).collect();
    if visited.is_empty() {
        return Err(PlotError::NoData("the diary rows contain no stay in a building".into()));
    }
    let min = visited.iter().copied().fold(f64::INFINITY, f64::min);
    let max = visited.iter().copied().fold(0.0, f64::max);
    let mut frame = MapFrame::new(city, opts.width, opts.detail);
    let users: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.user_id.as_str()).collect();
    let title = opts.title.clone().unwrap_or_else(|| {
        format!(
            "time spent: {} user(s), {} of {} buildings visited",
            users.len(),
            visited.len(),
            city.buildings().len()
        )
    });
    let width = frame.fit_title(&title);
    let mut scene = Scene::new(width, 0, Color::WHITE);

    // Classes: 0 empty, 1 street, 2 unvisited, then either one per building (vector:
    // exact colours) or LEVELS ramp levels (raster).
    let mut classes = vec![Color::WHITE, HEAT_STREET, UNVISITED];
    let t_of = |b: usize| heat_t(minutes[b], min, max, opts.log_scale);
    let per_building: Vec<u32> = if frame.raster {
        classes.extend((0..LEVELS).map(|l| ramp(l as f64 / (LEVELS - 1) as f64)));
        (0..minutes.len())
            .map(|b| if minutes[b] > 0.0 { 3 + (t_of(b) * (LEVELS - 1) as f64).round() as u32 } else { 2 })
            .collect()
    } else {
        (0..minutes.len())
            .map(|b| {
                if minutes[b] > 0.0 {
                    classes.push(ramp(t_of(b)));
                    (classes.len() - 1) as u32
                } else {
                    2
                }
            })
            .collect()
    };
    let class = |b: BuildingIdx| per_building[b as usize];
    map::draw_base(
        &mut scene,
        city,
        &frame,
        &BaseStyle { classes, building_class: &class, hot_from: Some(3), outline: Some(Color::hex(0xb0b0b0)) },
    );

    // Colour bar.
    let bar_w = (frame.width_px as f32).min(420.0);
    let (bx, by, bh) = (frame.left, frame.bottom() + 16.0, 14.0);
    let steps = 120;
    for i in 0..steps {
        let x = bx + bar_w * i as f32 / steps as f32;
        scene.push_class(
            "colorbar",
            Shape::Rect {
                x,
                y: by,
                w: bar_w / steps as f32 + 0.5,
                h: bh,
                fill: Some(ramp((i as f64 + 0.5) / steps as f64)),
                stroke: None,
            },
        );
    }
    scene.push(Shape::Rect {
        x: bx,
        y: by,
        w: bar_w,
        h: bh,
        fill: None,
        stroke: Some(Stroke { color: Color::hex(0x808080), width: 1.0 }),
    });
    let ly = by + bh + 6.0 + TEXT;
    scene.text(bx, ly, fmt_minutes(min), TEXT, INK, Anchor::Start);
    scene.text(bx + bar_w, ly, fmt_minutes(max), TEXT, INK, Anchor::End);
    let caption = if opts.log_scale { "time spent (log scale)" } else { "time spent" };
    scene.text(bx + bar_w + 12.0, by + bh, caption, TEXT, INK, Anchor::Start);

    map::title(&mut scene, &title);
    let entries = vec![(UNVISITED, "never visited".to_string()), (HEAT_STREET, "street".to_string())];
    let bottom = map::legend(&mut scene, &entries, MARGIN, ly + 12.0, width as f32 - 2.0 * MARGIN);
    scene.height = (bottom + MARGIN / 2.0).ceil() as u32;
    scene.frame = Some(frame);
    Ok(scene)
}
