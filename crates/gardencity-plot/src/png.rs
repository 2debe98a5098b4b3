//! PNG backend via `tiny-skia`; text is rasterized from the embedded font ([`crate::font`]).

use crate::font;
use crate::scene::{Anchor, Color, Scene, Shape, Stroke};
use crate::PlotError;
use tiny_skia::{FillRule, Paint, PathBuilder, Pixmap, PremultipliedColorU8, Rect, Transform};

fn paint(c: Color, anti_alias: bool) -> Paint<'static> {
    let mut p = Paint::default();
    p.set_color_rgba8(c.r, c.g, c.b, c.a);
    p.anti_alias = anti_alias;
    p
}

fn stroke_style(s: &Stroke) -> tiny_skia::Stroke {
    tiny_skia::Stroke {
        width: s.width,
        line_join: tiny_skia::LineJoin::Round,
        line_cap: tiny_skia::LineCap::Round,
        ..Default::default()
    }
}

/// `src` with alpha scaled by `coverage` drawn over the premultiplied pixel `dst`.
fn blend(dst: PremultipliedColorU8, src: Color, coverage: f32) -> PremultipliedColorU8 {
    let a = (src.a as f32 / 255.0) * coverage.clamp(0.0, 1.0);
    let over = |s: u8, d: u8| (s as f32 * a + d as f32 * (1.0 - a)).round().clamp(0.0, 255.0) as u8;
    let out_a = over(255, dst.alpha());
    let c = |s: u8, d: u8| over(s, d).min(out_a);
    PremultipliedColorU8::from_rgba(c(src.r, dst.red()), c(src.g, dst.green()), c(src.b, dst.blue()), out_a)
        .unwrap_or(dst)
}

/// Renders the scene into a pixmap.
pub fn render(scene: &Scene) -> Result<Pixmap, PlotError> {
    let mut pm = Pixmap::new(scene.width.max(1), scene.height.max(1))
        .ok_or(PlotError::ImageSize { width: scene.width, height: scene.height })?;
    let bg = scene.background;
    pm.fill(tiny_skia::Color::from_rgba8(bg.r, bg.g, bg.b, bg.a));
    let id = Transform::identity();
    for (_, shape) in &scene.shapes {
        match shape {
            Shape::Rect { x, y, w, h, fill, stroke } => {
                if let Some(c) = fill {
                    // Snapped to whole pixels: blocks sharing an edge share the rounded edge,
                    // so fractional scales leave neither seams nor overlaps.
                    if let Some(r) = Rect::from_ltrb(x.round(), y.round(), (x + w).round(), (y + h).round()) {
                        pm.fill_rect(r, &paint(*c, false), id, None);
                    }
                }
                if let Some(s) = stroke {
                    if let Some(r) = Rect::from_xywh(*x, *y, *w, *h) {
                        let path = PathBuilder::from_rect(r);
                        pm.stroke_path(&path, &paint(s.color, true), &stroke_style(s), id, None);
                    }
                }
            }
            Shape::Polygon { rings, fill, stroke } => {
                let build = |snap: bool| {
                    let f = |v: f32| if snap { v.round() } else { v };
                    let mut pb = PathBuilder::new();
                    for ring in rings {
                        for (i, &(x, y)) in ring.iter().enumerate() {
                            if i == 0 {
                                pb.move_to(f(x), f(y));
                            } else {
                                pb.line_to(f(x), f(y));
                            }
                        }
                        pb.close();
                    }
                    pb.finish()
                };
                if let (Some(c), Some(path)) = (fill, build(true)) {
                    pm.fill_path(&path, &paint(*c, false), FillRule::EvenOdd, id, None);
                }
                if let (Some(s), Some(path)) = (stroke, build(false)) {
                    pm.stroke_path(&path, &paint(s.color, true), &stroke_style(s), id, None);
                }
            }
            Shape::Circle { cx, cy, r, fill, stroke } => {
                if let Some(path) = PathBuilder::from_circle(*cx, *cy, *r) {
                    if let Some(c) = fill {
                        pm.fill_path(&path, &paint(*c, true), FillRule::Winding, id, None);
                    }
                    if let Some(s) = stroke {
                        pm.stroke_path(&path, &paint(s.color, true), &stroke_style(s), id, None);
                    }
                }
            }
            Shape::Polyline { points, stroke } => {
                let mut pb = PathBuilder::new();
                for (i, &(x, y)) in points.iter().enumerate() {
                    if i == 0 {
                        pb.move_to(x, y);
                    } else {
                        pb.line_to(x, y);
                    }
                }
                if let Some(path) = pb.finish() {
                    pm.stroke_path(&path, &paint(stroke.color, true), &stroke_style(stroke), id, None);
                }
            }
            Shape::Text { x, y, text, size, color, anchor } => {
                let w = font::text_width(text, *size);
                let left = match anchor {
                    Anchor::Start => *x,
                    Anchor::Middle => *x - w / 2.0,
                    Anchor::End => *x - w,
                };
                // Whole-pixel baseline and start: the same text looks the same everywhere.
                let (pw, ph) = (pm.width() as i32, pm.height() as i32);
                let data = pm.pixels_mut();
                font::rasterize(text, *size, left.round(), y.round(), |px, py, coverage| {
                    if px >= 0 && py >= 0 && px < pw && py < ph {
                        let d = &mut data[(py * pw + px) as usize];
                        *d = blend(*d, *color, coverage);
                    }
                });
            }
            Shape::Raster { x, y, w, h, pixels } => {
                let (pw, ph) = (pm.width(), pm.height());
                let data = pm.pixels_mut();
                for row in 0..*h {
                    let ty = y + row;
                    if ty >= ph {
                        break;
                    }
                    for col in 0..*w {
                        let tx = x + col;
                        if tx >= pw {
                            break;
                        }
                        let Some(c) = pixels.get((row * w + col) as usize) else { continue };
                        // Raster colours are opaque by construction; premultiplied = straight.
                        if let Some(p) = tiny_skia::PremultipliedColorU8::from_rgba(c.r, c.g, c.b, 255) {
                            data[(ty * pw + tx) as usize] = p;
                        }
                    }
                }
            }
        }
    }
    Ok(pm)
}

/// Renders the scene as PNG bytes.
pub fn to_png(scene: &Scene) -> Result<Vec<u8>, PlotError> {
    render(scene)?.encode_png().map_err(|e| PlotError::Encode(e.to_string()))
}

/// Encodes a bare pixel grid as PNG (used to embed rasters in SVG).
pub(crate) fn raster_png(w: u32, h: u32, pixels: &[Color]) -> Result<Vec<u8>, PlotError> {
    let mut pm = Pixmap::new(w.max(1), h.max(1)).ok_or(PlotError::ImageSize { width: w, height: h })?;
    for (dst, c) in pm.pixels_mut().iter_mut().zip(pixels) {
        if let Some(p) = tiny_skia::PremultipliedColorU8::from_rgba(c.r, c.g, c.b, 255) {
            *dst = p;
        }
    }
    pm.encode_png().map_err(|e| PlotError::Encode(e.to_string()))
}
