//! Time-spent heatmap: buildings shaded by minutes of ground-truth stays, on a quantile
//! (default), log or linear colour scale, with a colour bar labelled in minutes or hours.

use crate::map::{self, BaseStyle, Detail, MapFrame, INK, MARGIN, TEXT};
use crate::scene::{Anchor, Color, Scene, Shape, Stroke};
use crate::PlotError;
use gardencity::{BuildingIdx, City};
use gardencity_io::dataset::DiaryRow;
use std::collections::BTreeSet;

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

/// How minutes map to the colour ramp.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeatScale {
    /// By rank among the visited buildings (empirical quantile): every colour of the ramp
    /// is used by as many buildings, however skewed the minutes are.
    #[default]
    Quantile,
    /// By the logarithm of the minutes.
    Log,
    /// Proportional to the minutes.
    Linear,
}

impl HeatScale {
    /// The name used in captions and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            HeatScale::Quantile => "quantile",
            HeatScale::Log => "log",
            HeatScale::Linear => "linear",
        }
    }
}

/// A colour scale fitted to the minutes of the visited buildings: ramp position of a
/// value and, back, the value at a ramp position (for the colour bar's ticks).
#[derive(Debug, Clone, PartialEq)]
pub struct ColorScale {
    kind: HeatScale,
    /// The positive finite values, sorted.
    sorted: Vec<f64>,
}

impl ColorScale {
    /// The scale of the positive finite `values` (others are ignored); `None` when there are none.
    pub fn new(kind: HeatScale, values: &[f64]) -> Option<ColorScale> {
        let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite() && *v > 0.0).collect();
        sorted.sort_by(f64::total_cmp);
        (!sorted.is_empty()).then_some(ColorScale { kind, sorted })
    }
    /// The kind of scale.
    pub fn kind(&self) -> HeatScale {
        self.kind
    }
    /// Smallest value.
    pub fn min(&self) -> f64 {
        self.sorted[0]
    }
    /// Largest value.
    pub fn max(&self) -> f64 {
        self.sorted[self.sorted.len() - 1]
    }
    /// Ramp position in `[0, 1]` of `v` (equal values get equal positions).
    pub fn t(&self, v: f64) -> f64 {
        let (min, max) = (self.min(), self.max());
        if max <= min {
            return 1.0;
        }
        let t = match self.kind {
            HeatScale::Linear => (v - min) / (max - min),
            HeatScale::Log => (v.ln() - min.ln()) / (max.ln() - min.ln()),
            HeatScale::Quantile => {
                // Mid-rank of ties, as a share of the ranks.
                let lo = self.sorted.partition_point(|&x| x < v);
                let hi = self.sorted.partition_point(|&x| x <= v);
                let rank = if hi > lo { (lo + hi - 1) as f64 / 2.0 } else { lo as f64 - 0.5 };
                rank / (self.sorted.len() - 1) as f64
            }
        };
        if t.is_finite() {
            t.clamp(0.0, 1.0)
        } else {
            0.0
        }
    }
    /// The value at ramp position `t` (the inverse of [`ColorScale::t`]; for quantiles the
    /// interpolated empirical quantile).
    pub fn value_at(&self, t: f64) -> f64 {
        let t = t.clamp(0.0, 1.0);
        let (min, max) = (self.min(), self.max());
        match self.kind {
            HeatScale::Linear => min + t * (max - min),
            HeatScale::Log => (min.ln() + t * (max.ln() - min.ln())).exp(),
            HeatScale::Quantile => {
                let f = t * (self.sorted.len() - 1) as f64;
                let i = (f.floor() as usize).min(self.sorted.len() - 1);
                let j = (i + 1).min(self.sorted.len() - 1);
                self.sorted[i] + (self.sorted[j] - self.sorted[i]) * (f - i as f64)
            }
        }
    }
    /// Ticks of the colour bar as `(ramp position, minutes)`, ends first: the quartiles for
    /// a quantile scale, round numbers of hours or minutes otherwise.
    pub fn ticks(&self) -> Vec<(f64, f64)> {
        let (min, max) = (self.min(), self.max());
        let mut out = vec![(0.0, min), (1.0, max)];
        match self.kind {
            HeatScale::Quantile => out.extend([0.25, 0.5, 0.75].map(|t| (t, self.value_at(t)))),
            HeatScale::Log | HeatScale::Linear => {
                for v in nice_values(min, max, self.kind == HeatScale::Log) {
                    out.push((self.t(v), v));
                }
            }
        }
        out
    }
}

/// Round values (1, 2, 5 times a power of ten, in hours from 10 hours up, else in minutes)
/// strictly inside `(min, max)`: about five of them, spread evenly (log: by decades).
fn nice_values(min: f64, max: f64, log: bool) -> Vec<f64> {
    let unit = if max >= 600.0 { 60.0 } else { 1.0 };
    let (lo, hi) = (min / unit, max / unit);
    let mut out = Vec::new();
    if log {
        let mut e = lo.log10().floor() as i32;
        while 10f64.powi(e) <= hi && out.len() < 40 {
            for m in [1.0, 2.0, 5.0] {
                let v = m * 10f64.powi(e);
                if v > lo && v < hi {
                    out.push(v * unit);
                }
            }
            e += 1;
        }
        if out.len() > 6 {
            // Many decades: powers of ten only.
            out.retain(|v| ((v / unit).log10() - (v / unit).log10().round()).abs() < 1e-9);
        }
    } else {
        let raw = (hi - lo) / 5.0;
        if raw > 0.0 {
            let p = 10f64.powf(raw.log10().floor());
            let step = [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * p).find(|s| *s >= raw).unwrap_or(10.0 * p);
            let mut v = (lo / step).floor() * step + step;
            while v < hi && out.len() < 20 {
                out.push(v * unit);
                v += step;
            }
        }
    }
    out
}

/// Options of [`plot_heatmap`].
#[derive(Debug, Clone, PartialEq)]
pub struct HeatmapOptions {
    /// Picture width in pixels [default: 1200].
    pub width: u32,
    /// Colour scale [default: quantile].
    pub scale: HeatScale,
    /// Vector or raster drawing.
    pub detail: Detail,
    /// Title; `None` describes the data.
    pub title: Option<String>,
}

impl Default for HeatmapOptions {
    fn default() -> Self {
        HeatmapOptions { width: 1200, scale: HeatScale::Quantile, detail: Detail::Auto, title: None }
    }
}

/// Minutes per building and the users seen, accumulated one diary row at a time (a
/// dataset can be streamed through it without keeping its rows).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TimeSpent {
    /// Minutes per building (index = building index).
    pub minutes: Vec<f64>,
    /// Ids of the users whose rows were added (with or without a stay in a building).
    pub users: BTreeSet<String>,
    /// Rows added.
    pub rows: usize,
}

impl TimeSpent {
    /// Nothing spent yet in any building of `city`.
    pub fn new(city: &City) -> TimeSpent {
        TimeSpent { minutes: vec![0.0; city.buildings().len()], users: BTreeSet::new(), rows: 0 }
    }
    /// Adds one diary row: trips (no location) count only their user; a location that is
    /// not a building of the city is an error naming the row (0-based, in the order added).
    pub fn add(&mut self, city: &City, r: &DiaryRow) -> Result<(), PlotError> {
        let k = self.rows;
        self.rows += 1;
        if !self.users.contains(&r.user_id) {
            self.users.insert(r.user_id.clone());
        }
        let Some(loc) = r.location.as_deref() else { return Ok(()) };
        let b = city.building_by_id(loc).ok_or_else(|| {
            PlotError::Mismatch(format!(
                "diary row {k} (user {}): location {loc:?} is not a building of the city",
                r.user_id
            ))
        })?;
        if r.duration.is_finite() && r.duration > 0.0 {
            if let Some(m) = self.minutes.get_mut(b.index()) {
                *m += r.duration;
            }
        }
        Ok(())
    }
    /// All of `rows`, added in order.
    pub fn from_rows(city: &City, rows: &[DiaryRow]) -> Result<TimeSpent, PlotError> {
        let mut t = TimeSpent::new(city);
        rows.iter().try_for_each(|r| t.add(city, r))?;
        Ok(t)
    }
}

/// Minutes spent per building (index = building index) from diary rows; trips (no
/// location) are skipped; a location that is not a building of the city is an error.
pub fn minutes_by_building(city: &City, rows: &[DiaryRow]) -> Result<Vec<f64>, PlotError> {
    Ok(TimeSpent::from_rows(city, rows)?.minutes)
}

/// A duration of `v` minutes for labels, in hours when `hours` (one label unit per
/// colour bar), else in minutes: whole numbers from 10 up, one decimal below.
pub fn fmt_duration(v: f64, hours: bool) -> String {
    let (x, unit) = if hours { (v / 60.0, "h") } else { (v, "min") };
    if x >= 10.0 || (x - x.round()).abs() < 1e-9 {
        format!("{x:.0} {unit}")
    } else {
        format!("{x:.1} {unit}")
    }
}

/// Draws buildings shaded by the minutes the diary rows spend in them.
pub fn plot_heatmap(city: &City, rows: &[DiaryRow], opts: &HeatmapOptions) -> Result<Scene, PlotError> {
    plot_time_spent(city, &TimeSpent::from_rows(city, rows)?, opts)
}

/// Draws buildings shaded by the minutes accumulated in `spent`, with a colour bar
/// whose ticks are labelled in minutes or hours.
pub fn plot_time_spent(city: &City, spent: &TimeSpent, opts: &HeatmapOptions) -> Result<Scene, PlotError> {
    let minutes = &spent.minutes;
    if minutes.len() != city.buildings().len() {
        return Err(PlotError::Mismatch(format!(
            "minutes for {} buildings, but the city has {}",
            minutes.len(),
            city.buildings().len()
        )));
    }
    let Some(scale) = ColorScale::new(opts.scale, minutes) else {
        return Err(PlotError::NoData("the diary rows contain no stay in a building".into()));
    };
    let visited = minutes.iter().filter(|&&v| v > 0.0).count();
    let mut frame = MapFrame::new(city, opts.width, opts.detail);
    let title = opts.title.clone().unwrap_or_else(|| {
        format!(
            "time spent: {} user(s), {} of {} buildings visited",
            spent.users.len(),
            visited,
            city.buildings().len()
        )
    });
    let width = frame.fit_title(&title);
    let mut scene = Scene::new(width, 0, Color::WHITE);

    // Classes: 0 empty, 1 street, 2 unvisited, then either one per building (vector:
    // exact colours) or LEVELS ramp levels (raster).
    let mut classes = vec![Color::WHITE, HEAT_STREET, UNVISITED];
    let t_of = |b: usize| scale.t(minutes[b]);
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
    let class = |b: BuildingIdx| per_building[b.index()];
    map::draw_base(
        &mut scene,
        city,
        &frame,
        &BaseStyle { classes, building_class: &class, hot_from: Some(3), outline: Some(Color::hex(0xb0b0b0)) },
    );

    // Colour bar: caption, ramp, ticks with labels.
    let bar_w = (frame.width_px as f32).min(600.0);
    let caption = match opts.scale {
        HeatScale::Quantile => "time spent per building (quantile scale: each colour covers as many visited buildings)",
        HeatScale::Log => "time spent per building (log scale)",
        HeatScale::Linear => "time spent per building (linear scale)",
    };
    let cy = frame.bottom() + 12.0 + TEXT;
    scene.text(frame.left, cy, caption, TEXT, INK, Anchor::Start);
    let (bx, by, bh) = (frame.left, cy + 8.0, 14.0);
    let steps = 150;
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
    // Labels left to right, ends first; one overlapping a label already placed is left out.
    let mut placed: Vec<(f32, f32)> = Vec::new();
    let hours = scale.max() >= 600.0;
    for (t, v) in scale.ticks() {
        let x = bx + bar_w * t as f32;
        let label = fmt_duration(v, hours);
        let w = crate::font::text_width(&label, TEXT);
        let (anchor, x0) = if t <= 0.0 {
            (Anchor::Start, x)
        } else if t >= 1.0 {
            (Anchor::End, x - w)
        } else {
            (Anchor::Middle, x - w / 2.0)
        };
        if placed.iter().any(|&(a, b)| x0 < b + 8.0 && x0 + w + 8.0 > a) {
            continue;
        }
        placed.push((x0, x0 + w));
        scene.push_class(
            "colorbar-tick",
            Shape::Polyline {
                points: vec![(x.round(), by + bh), (x.round(), by + bh + 4.0)],
                stroke: Stroke { color: Color::hex(0x606060), width: 1.0 },
            },
        );
        scene.push_class("colorbar-label", Shape::Text { x, y: ly, text: label, size: TEXT, color: INK, anchor });
    }

    map::title(&mut scene, &title);
    let entries = vec![(UNVISITED, "never visited".to_string()), (HEAT_STREET, "street".to_string())];
    let bottom = map::legend(&mut scene, &entries, MARGIN, ly + 12.0, width as f32 - 2.0 * MARGIN);
    scene.height = (bottom + MARGIN / 2.0).ceil() as u32;
    scene.frame = Some(frame);
    Ok(scene)
}
