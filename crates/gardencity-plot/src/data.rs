//! From dataset rows (as read by `gardencity_io::dataset`) to plot input in block units.

use crate::PlotError;
use gardencity::city::lonlat_to_mercator;
use gardencity::{BuildingIdx, City, Point};
use gardencity_io::dataset::{Coordinates, DiaryRow, Manifest, PingRow};

/// One stay of the ground-truth diary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Stay {
    /// Start, Unix seconds.
    pub start: i64,
    /// Length in minutes.
    pub minutes: f64,
    /// The building.
    pub building: BuildingIdx,
}

/// One user's data in block units.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserPings {
    /// The user id.
    pub user_id: String,
    /// Sparse pings `(unix seconds, position)`, by time.
    pub sparse: Vec<(i64, Point)>,
    /// Dense pings `(unix seconds, position)`, by time.
    pub dense: Vec<(i64, Point)>,
    /// Diary stays, by time.
    pub stays: Vec<Stay>,
}

/// Converts dataset coordinates to block units of `city`.
pub fn to_blocks(city: &City, coords: Coordinates, x: f64, y: f64) -> Point {
    match coords {
        Coordinates::Blocks => Point::new(x, y),
        Coordinates::WebMercator => city.georef().from_mercator(x, y),
        Coordinates::LonLat => {
            let (mx, my) = lonlat_to_mercator(x, y);
            city.georef().from_mercator(mx, my)
        }
    }
}

/// Checks that a dataset was written for a city with the same georeference.
pub fn check_georeference(city: &City, manifest: &Manifest) -> Result<(), PlotError> {
    let (a, b) = (city.georef(), &manifest.georeference);
    let close = |u: f64, v: f64| (u - v).abs() <= 1e-6 * (1.0 + u.abs().max(v.abs()));
    let same = close(a.block_side, b.block_side)
        && close(a.origin_x, b.origin_x)
        && close(a.origin_y, b.origin_y)
        && close(a.rotation_deg, b.rotation_deg);
    if same {
        Ok(())
    } else {
        Err(PlotError::Mismatch(format!(
            "the dataset's georeference (block side {} m, origin ({}, {}), rotation {} deg) differs from the city's \
             (block side {} m, origin ({}, {}), rotation {} deg)",
            b.block_side, b.origin_x, b.origin_y, b.rotation_deg, a.block_side, a.origin_x, a.origin_y, a.rotation_deg
        )))
    }
}

/// Groups rows by user (in the order of `users`), converting positions to blocks and
/// diary locations to buildings. Diary rows without a location (trips) are skipped; a
/// location that is not a building of the city is an error.
pub fn user_pings(
    city: &City,
    coords: Coordinates,
    users: &[String],
    sparse: &[PingRow],
    dense: &[PingRow],
    diary: &[DiaryRow],
) -> Result<Vec<UserPings>, PlotError> {
    let mut out: Vec<UserPings> =
        users.iter().map(|u| UserPings { user_id: u.clone(), ..Default::default() }).collect();
    let slot = |id: &str| users.iter().position(|u| u == id);
    for (rows, dense_rows) in [(sparse, false), (dense, true)] {
        for r in rows {
            if let Some(i) = slot(&r.user_id) {
                let p = (r.timestamp, to_blocks(city, coords, r.x, r.y));
                if dense_rows {
                    out[i].dense.push(p);
                } else {
                    out[i].sparse.push(p);
                }
            }
        }
    }
    for (k, r) in diary.iter().enumerate() {
        let (Some(i), Some(loc)) = (slot(&r.user_id), r.location.as_deref()) else { continue };
        let building = city.building_by_id(loc).ok_or_else(|| {
            PlotError::Mismatch(format!(
                "diary row {k} (user {}): location {loc:?} is not a building of the city",
                r.user_id
            ))
        })?;
        out[i].stays.push(Stay { start: r.timestamp, minutes: r.duration, building });
    }
    for u in &mut out {
        u.sparse.sort_by_key(|p| p.0);
        u.dense.sort_by_key(|p| p.0);
        u.stays.sort_by_key(|s| s.start);
    }
    Ok(out)
}
