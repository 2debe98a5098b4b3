//! SVG backend: plain text, one element per shape.

use crate::scene::{Anchor, Color, Scene, Shape, Stroke};
use std::fmt::Write;

fn esc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            '\'' => o.push_str("&apos;"),
            c if (c as u32) < 0x20 && c != '\t' => o.push(' '),
            c => o.push(c),
        }
    }
    o
}

/// Number formatting: at most 2 decimals, no trailing zeros.
fn n(v: f32) -> String {
    let s = format!("{:.2}", v);
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".into()
    } else {
        s.to_string()
    }
}

fn paint(out: &mut String, fill: Option<Color>, stroke: Option<Stroke>) {
    match fill {
        Some(c) => {
            let _ = write!(out, " fill=\"{c}\"");
            if c.a != 255 {
                let _ = write!(out, " fill-opacity=\"{}\"", n(c.a as f32 / 255.0));
            }
        }
        None => out.push_str(" fill=\"none\""),
    }
    if let Some(s) = stroke {
        let _ = write!(out, " stroke=\"{}\" stroke-width=\"{}\"", s.color, n(s.width));
        if s.color.a != 255 {
            let _ = write!(out, " stroke-opacity=\"{}\"", n(s.color.a as f32 / 255.0));
        }
    }
}

/// Renders the scene as an SVG document.
pub fn to_svg(scene: &Scene) -> String {
    let mut o = String::new();
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" xmlns:xlink=\"http://www.w3.org/1999/xlink\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\">",
        w = scene.width,
        h = scene.height
    );
    let _ = writeln!(
        o,
        "<rect x=\"0\" y=\"0\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
        scene.width, scene.height, scene.background
    );
    for (class, shape) in &scene.shapes {
        let cls = class.map(|c| format!(" class=\"{c}\"")).unwrap_or_default();
        match shape {
            Shape::Rect { x, y, w, h, fill, stroke } => {
                let _ =
                    write!(o, "<rect{cls} x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"", n(*x), n(*y), n(*w), n(*h));
                // Axis-aligned: crisp edges avoid faint seams between neighbouring blocks.
                o.push_str(" shape-rendering=\"crispEdges\"");
                paint(&mut o, *fill, *stroke);
                o.push_str("/>\n");
            }
            Shape::Polygon { rings, fill, stroke } => {
                let _ = write!(o, "<path{cls} fill-rule=\"evenodd\" shape-rendering=\"crispEdges\" d=\"");
                for ring in rings {
                    for (i, (x, y)) in ring.iter().enumerate() {
                        let _ = write!(o, "{}{} {} ", if i == 0 { "M" } else { "L" }, n(*x), n(*y));
                    }
                    o.push('Z');
                }
                o.push('"');
                paint(&mut o, *fill, *stroke);
                o.push_str("/>\n");
            }
            Shape::Circle { cx, cy, r, fill, stroke } => {
                let _ = write!(o, "<circle{cls} cx=\"{}\" cy=\"{}\" r=\"{}\"", n(*cx), n(*cy), n(*r));
                paint(&mut o, *fill, *stroke);
                o.push_str("/>\n");
            }
            Shape::Polyline { points, stroke } => {
                let _ = write!(o, "<polyline{cls} points=\"");
                for (i, (x, y)) in points.iter().enumerate() {
                    let _ = write!(o, "{}{},{}", if i == 0 { "" } else { " " }, n(*x), n(*y));
                }
                o.push('"');
                paint(&mut o, None, Some(*stroke));
                o.push_str(" stroke-linejoin=\"round\"/>\n");
            }
            Shape::Text { x, y, text, size, color, anchor } => {
                let a = match anchor {
                    Anchor::Start => "start",
                    Anchor::Middle => "middle",
                    Anchor::End => "end",
                };
                let _ = writeln!(
                    o,
                    "<text{cls} x=\"{}\" y=\"{}\" font-family=\"{}, Verdana, Arial, sans-serif\" font-size=\"{}\" text-anchor=\"{a}\" fill=\"{color}\">{}</text>",
                    n(*x),
                    n(*y),
                    crate::font::FONT_FAMILY,
                    n(size / crate::font::cap_per_em()),
                    esc(text)
                );
            }
            Shape::Raster { x, y, w, h, pixels } => {
                let png = crate::png::raster_png(*w, *h, pixels).unwrap_or_default();
                let _ = writeln!(
                    o,
                    "<image{cls} x=\"{x}\" y=\"{y}\" width=\"{w}\" height=\"{h}\" image-rendering=\"pixelated\" xlink:href=\"data:image/png;base64,{}\"/>",
                    base64(&png)
                );
            }
        }
    }
    o.push_str("</svg>\n");
    o
}

/// Standard base64 with padding.
fn base64(data: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut o = String::with_capacity(data.len().div_ceil(3) * 4);
    for ch in data.chunks(3) {
        let b = [ch[0], *ch.get(1).unwrap_or(&0), *ch.get(2).unwrap_or(&0)];
        let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= ch.len() {
                o.push(T[(v >> (18 - 6 * i)) as usize & 63] as char);
            } else {
                o.push('=');
            }
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc4648_vectors() {
        for (i, o) in
            [("", ""), ("f", "Zg=="), ("fo", "Zm8="), ("foo", "Zm9v"), ("foob", "Zm9vYg=="), ("foobar", "Zm9vYmFy")]
        {
            assert_eq!(base64(i.as_bytes()), o);
        }
    }

    #[test]
    fn numbers_and_escapes() {
        assert_eq!(n(1.0), "1");
        assert_eq!(n(2.5), "2.5");
        assert_eq!(n(-0.001), "0");
        assert_eq!(esc("a<b & \"c\""), "a&lt;b &amp; &quot;c&quot;");
    }
}
