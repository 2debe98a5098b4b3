//! Text of the pictures: an embedded subset of DejaVu Sans (Basic Latin, Latin-1 and a
//! little punctuation; Bitstream Vera licence, `assets/LICENSE-DejaVu.txt`), measured and
//! rasterized with `ab_glyph`. Characters outside the subset are drawn as the font's
//! missing-glyph box.
//!
//! Sizes are capital heights in pixels: an `H` drawn at size 10 is 10 pixels tall.

use ab_glyph::{point, Font, FontRef, GlyphId, PxScale, ScaleFont};
use std::sync::OnceLock;

/// The embedded TrueType font (DejaVu Sans, subset).
pub const FONT_BYTES: &[u8] = include_bytes!("../assets/DejaVuSans-subset.ttf");

/// Font family name of the embedded font (SVG text asks for it first).
pub const FONT_FAMILY: &str = "DejaVu Sans";

struct Embedded {
    font: FontRef<'static>,
    /// Height of `H` in font units.
    cap_units: f32,
}

fn embedded() -> &'static Embedded {
    static FONT: OnceLock<Embedded> = OnceLock::new();
    FONT.get_or_init(|| {
        // The bytes are part of the build; the tests check they parse and have an `H`.
        let font = FontRef::try_from_slice(FONT_BYTES).expect("the embedded font parses");
        let cap_units = font.outline(font.glyph_id('H')).map(|o| o.bounds.height()).unwrap_or(0.0);
        let cap_units = if cap_units > 0.0 { cap_units } else { 0.73 * font.units_per_em().unwrap_or(2048.0) };
        Embedded { font, cap_units }
    })
}

/// Capital height as a share of the em square (SVG `font-size` = size / this).
pub fn cap_per_em() -> f32 {
    let e = embedded();
    e.cap_units / e.font.units_per_em().unwrap_or(2048.0)
}

/// The `ab_glyph` scale for capital height `size` pixels.
fn px_scale(size: f32) -> PxScale {
    let e = embedded();
    PxScale::from(size.max(0.0) * e.font.height_unscaled() / e.cap_units)
}

/// True when the embedded font has a glyph for `c` (others are drawn as a box).
pub fn has_glyph(c: char) -> bool {
    embedded().font.glyph_id(c) != GlyphId(0)
}

/// Pen positions: `(glyph, x offset from the start)` of each character, with kerning,
/// and the total advance.
fn layout(text: &str, size: f32) -> (Vec<(GlyphId, f32)>, f32) {
    let f = embedded().font.as_scaled(px_scale(size));
    let mut x = 0.0;
    let mut prev: Option<GlyphId> = None;
    let mut out = Vec::with_capacity(text.len());
    for c in text.chars() {
        let id = f.glyph_id(c);
        if let Some(p) = prev {
            x += f.kern(p, id);
        }
        out.push((id, x));
        x += f.h_advance(id);
        prev = Some(id);
    }
    (out, x)
}

/// Width in pixels of `text` at capital height `size` (the sum of the advances).
pub fn text_width(text: &str, size: f32) -> f32 {
    layout(text, size).1
}

/// Rasterizes `text` at capital height `size` with the left end of its baseline at
/// `(x, y)`, calling `pixel(px, py, coverage)` for every touched pixel (coverage in
/// `0..=1`; a pixel may be reported once per glyph covering it).
pub fn rasterize(text: &str, size: f32, x: f32, y: f32, mut pixel: impl FnMut(i32, i32, f32)) {
    let scale = px_scale(size);
    let font = &embedded().font;
    let (glyphs, _) = layout(text, size);
    for (id, dx) in glyphs {
        let g = id.with_scale_and_position(scale, point(x + dx, y));
        if let Some(o) = font.outline_glyph(g) {
            let b = o.px_bounds();
            let (x0, y0) = (b.min.x as i32, b.min.y as i32);
            o.draw(|gx, gy, c| pixel(x0 + gx as i32, y0 + gy as i32, c));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_font_has_both_cases_and_measures_proportionally() {
        for c in "azAZ09_-:.,()%/+ äöé°×–…".chars() {
            assert!(has_glyph(c), "{c:?}");
        }
        assert!(!has_glyph('\u{4e2d}'));
        // Proportional: "i" is narrower than "m"; width scales with size.
        assert!(text_width("i", 10.0) < text_width("m", 10.0) / 2.0);
        let (a, b) = (text_width("able_acorn", 10.0), text_width("able_acorn", 20.0));
        assert!((b - 2.0 * a).abs() < 0.01 && a > 30.0 && a < 80.0, "{a} {b}");
        assert_eq!(text_width("", 10.0), 0.0);
        // Capital height: an H at size 10 covers rows 10 pixels tall above the baseline.
        let mut rows = std::collections::BTreeSet::new();
        rasterize("H", 10.0, 0.0, 20.0, |_, y, c| {
            if c > 0.5 {
                rows.insert(y);
            }
        });
        assert_eq!((rows.first(), rows.last()), (Some(&10), Some(&19)), "{rows:?}");
        assert!((cap_per_em() - 0.729).abs() < 0.01, "{}", cap_per_em());
    }

    #[test]
    fn lower_and_upper_case_differ() {
        let ink = |t: &str| {
            let mut v = Vec::new();
            rasterize(t, 14.0, 0.0, 20.0, |x, y, c| {
                if c > 0.3 {
                    v.push((x, y));
                }
            });
            v.sort();
            v
        };
        assert_ne!(ink("able_acorn"), ink("ABLE_ACORN"));
        // "g" descends below the baseline; "a" does not.
        assert!(ink("g").iter().any(|p| p.1 > 20) && ink("a").iter().all(|p| p.1 <= 20));
    }
}
