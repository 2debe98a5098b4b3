//! Trajectories: the faded city, sparse pings per user, dense tracks, diary stays and a
//! time barcode strip.

use crate::data::UserPings;
use crate::map::{self, building_shape, type_color, BaseStyle, Detail, MapFrame, INK, MARGIN, TEXT};
use crate::scene::{Anchor, Color, Scene, Shape, Stroke};
use crate::PlotError;
use chrono::TimeZone;
use chrono_tz::Tz;
use gardencity::{BuildingIdx, BuildingType, City, Point};

/// User colours, in order (cycled when there are more users).
pub const USER_PALETTE: [Color; 10] = [
    Color::hex(0xd62728),
    Color::hex(0x1f77b4),
    Color::hex(0x2ca02c),
    Color::hex(0x9467bd),
    Color::hex(0xff7f0e),
    Color::hex(0x17becf),
    Color::hex(0xe377c2),
    Color::hex(0x8c564b),
    Color::hex(0xbcbd22),
    Color::hex(0x393b79),
];

/// Largest share of pings allowed outside the grid before the data is taken to belong
/// to another city (GPS noise puts a few just outside).
pub const MAX_OUTSIDE_SHARE: f64 = 0.05;

/// Options of [`plot_pings`].
#[derive(Debug, Clone, PartialEq)]
pub struct PingPlotOptions {
    /// Picture width in pixels [default: 1200].
    pub width: u32,
    /// Window start, Unix seconds (inclusive).
    pub start: i64,
    /// Window end, Unix seconds (exclusive).
    pub end: i64,
    /// Time zone of the time labels.
    pub time_zone: Tz,
    /// Draw dense pings as thin lines.
    pub dense: bool,
    /// Outline the buildings of diary stays.
    pub stays: bool,
    /// Vector or raster city.
    pub detail: Detail,
    /// Title; `None` writes the window.
    pub title: Option<String>,
}

impl PingPlotOptions {
    /// Defaults for a window.
    pub fn new(start: i64, end: i64, time_zone: Tz) -> PingPlotOptions {
        PingPlotOptions {
            width: 1200,
            start,
            end,
            time_zone,
            dense: false,
            stays: false,
            detail: Detail::Auto,
            title: None,
        }
    }
}

/// The colour of the `i`-th user.
pub fn user_color(i: usize) -> Color {
    USER_PALETTE[i % USER_PALETTE.len()]
}

/// Radius in pixels of a sparse ping dot for a frame.
pub fn ping_radius(frame: &MapFrame) -> f32 {
    (frame.scale * 0.22).clamp(2.5, 5.0)
}

fn fmt_time(t: i64, tz: Tz) -> String {
    match tz.timestamp_opt(t, 0).single() {
        Some(d) => d.format("%Y-%m-%d %H:%M").to_string(),
        None => t.to_string(),
    }
}

/// Draws the users' pings over the faded city. Pings outside `[start, end)` are left out.
///
/// Errors: an empty window, no users, no ping in the window, or more than
/// [`MAX_OUTSIDE_SHARE`] of the pings outside the grid.
pub fn plot_pings(city: &City, users: &[UserPings], opts: &PingPlotOptions) -> Result<Scene, PlotError> {
    if opts.end <= opts.start {
        return Err(PlotError::EmptyWindow { start: opts.start, end: opts.end });
    }
    if users.is_empty() {
        return Err(PlotError::NoData("no users selected".into()));
    }
    let inw = |t: i64| t >= opts.start && t < opts.end;
    let (mut total, mut outside) = (0usize, 0usize);
    let (w, h) = (city.width() as f64, city.height() as f64);
    for u in users {
        for &(t, p) in u.sparse.iter().chain(if opts.dense { &u.dense[..] } else { &[] }) {
            if inw(t) {
                total += 1;
                if !(p.x >= 0.0 && p.y >= 0.0 && p.x <= w && p.y <= h) {
                    outside += 1;
                }
            }
        }
    }
    if total == 0 {
        return Err(PlotError::NoData(format!(
            "no pings of the selected users between {} and {}",
            fmt_time(opts.start, opts.time_zone),
            fmt_time(opts.end, opts.time_zone)
        )));
    }
    if outside as f64 > MAX_OUTSIDE_SHARE * total as f64 {
        return Err(PlotError::Mismatch(format!(
            "{outside} of {total} pings ({:.1}%) fall outside the {} x {} block grid",
            100.0 * outside as f64 / total as f64,
            city.width(),
            city.height()
        )));
    }

    let mut frame = MapFrame::new(city, opts.width, opts.detail);
    let title = opts.title.clone().unwrap_or_else(|| {
        format!(
            "{} user(s), {} sparse pings, {} to {}",
            users.len(),
            users.iter().map(|u| u.sparse.iter().filter(|p| inw(p.0)).count()).sum::<usize>(),
            fmt_time(opts.start, opts.time_zone),
            fmt_time(opts.end, opts.time_zone)
        )
    });
    let width = frame.fit_title(&title);
    let mut scene = Scene::new(width, 0, Color::WHITE);
    let fade = |c: Color| c.mix(Color::WHITE, 0.65);
    let mut classes = vec![Color::WHITE, fade(Color::hex(0x9e9e9e))];
    classes.extend(BuildingType::ALL.iter().map(|&t| fade(type_color(t))));
    let class = |b: BuildingIdx| 2 + city.building(b).kind as u32;
    map::draw_base(
        &mut scene,
        city,
        &frame,
        &BaseStyle { classes, building_class: &class, hot_from: None, outline: Some(Color::hex(0xd0d0d0)) },
    );

    if opts.stays {
        for (i, u) in users.iter().enumerate() {
            let c = user_color(i);
            let mut seen: Vec<BuildingIdx> = Vec::new();
            for s in u.stays.iter().filter(|s| s.start < opts.end && s.start + (s.minutes * 60.0) as i64 > opts.start) {
                if seen.contains(&s.building) {
                    continue;
                }
                seen.push(s.building);
                let shape =
                    building_shape(&frame, city.building(s.building), None, Some(Stroke { color: c, width: 2.5 }));
                scene.push_class("stay", shape);
            }
        }
    }
    if opts.dense {
        for (i, u) in users.iter().enumerate() {
            let points: Vec<(f32, f32)> = u.dense.iter().filter(|p| inw(p.0)).map(|p| frame.to_px(p.1)).collect();
            if points.len() >= 2 {
                let stroke = Stroke { color: user_color(i).with_alpha(170), width: 1.5 };
                scene.push_class("dense", Shape::Polyline { points, stroke });
            }
        }
    }
    let r = ping_radius(&frame);
    for (i, u) in users.iter().enumerate() {
        let c = user_color(i);
        for &(_, p) in u.sparse.iter().filter(|p| inw(p.0)) {
            let (cx, cy) = frame.to_px(p);
            scene.push_class(
                "ping",
                Shape::Circle { cx, cy, r, fill: Some(c), stroke: Some(Stroke { color: Color::WHITE, width: 0.75 }) },
            );
        }
    }

    // Time barcode: one row per user, a tick per sparse ping.
    let (x0, x1) = (frame.left, frame.left + frame.width_px as f32);
    let tx = |t: i64| x0 + (x1 - x0) * ((t - opts.start) as f64 / (opts.end - opts.start) as f64) as f32;
    let row_h = 12.0;
    let top = frame.bottom() + 14.0;
    let strip_h = users.len() as f32 * (row_h + 3.0);
    scene.push_class(
        "barcode",
        Shape::Rect {
            x: x0,
            y: top - 2.0,
            w: x1 - x0,
            h: strip_h + 1.0,
            fill: Some(Color::hex(0xf4f4f4)),
            stroke: Some(Stroke { color: Color::hex(0xc0c0c0), width: 1.0 }),
        },
    );
    for (i, u) in users.iter().enumerate() {
        let y = top + i as f32 * (row_h + 3.0);
        let c = user_color(i);
        for &(t, _) in u.sparse.iter().filter(|p| inw(p.0)) {
            scene
                .push_class("tick", Shape::Rect { x: tx(t).floor(), y, w: 1.0, h: row_h, fill: Some(c), stroke: None });
        }
    }
    // Local midnights, over the ticks.
    let days = (opts.end - opts.start) / 86_400;
    if days <= 62 {
        if let Some(d0) = opts.time_zone.timestamp_opt(opts.start, 0).single() {
            let mut d = d0.date_naive();
            while let Some(next) = d.succ_opt() {
                d = next;
                let Some(m) = d.and_hms_opt(0, 0, 0).and_then(|n| opts.time_zone.from_local_datetime(&n).earliest())
                else {
                    break;
                };
                if m.timestamp() >= opts.end {
                    break;
                }
                let x = tx(m.timestamp());
                scene.push_class(
                    "midnight",
                    Shape::Polyline {
                        points: vec![(x, top - 2.0), (x, top + strip_h - 1.0)],
                        stroke: Stroke { color: Color::hex(0x303030).with_alpha(170), width: 1.0 },
                    },
                );
            }
        }
    }
    let ty = top + strip_h + 6.0 + TEXT;
    scene.text(x0, ty, fmt_time(opts.start, opts.time_zone), TEXT, INK, Anchor::Start);
    scene.text(x1, ty, fmt_time(opts.end, opts.time_zone), TEXT, INK, Anchor::End);
    scene.text((x0 + x1) / 2.0, ty, opts.time_zone.name(), TEXT, INK, Anchor::Middle);

    map::title(&mut scene, &title);
    let entries: Vec<(Color, String)> =
        users.iter().enumerate().map(|(i, u)| (user_color(i), u.user_id.clone())).collect();
    let bottom = map::legend(&mut scene, &entries, MARGIN, ty + 14.0, width as f32 - 2.0 * MARGIN);
    scene.height = (bottom + MARGIN / 2.0).ceil() as u32;
    scene.frame = Some(frame);
    Ok(scene)
}

/// The sparse pings of `users` inside the window, as `(user index, position)`.
pub fn pings_in_window(users: &[UserPings], start: i64, end: i64) -> Vec<(usize, Point)> {
    users
        .iter()
        .enumerate()
        .flat_map(|(i, u)| u.sparse.iter().filter(move |p| p.0 >= start && p.0 < end).map(move |p| (i, p.1)))
        .collect()
}
