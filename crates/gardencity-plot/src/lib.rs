//! gardencity-plot: pictures of cities and of the mobility data simulated on them.
//!
//! Every plot is first built as a backend-independent [`Scene`] (rectangles, polygons,
//! circles, polylines, text and pixel rasters in image pixels), then written as SVG
//! ([`svg::to_svg`], plain text) or PNG ([`png::to_png`], via `tiny-skia`, text from an
//! embedded DejaVu Sans subset rasterized by `ab_glyph`, see [`font`]). [`save`] picks the format from the file extension and never leaves
//! a partial file behind.
//!
//! - [`plot_city`]: streets, buildings coloured by type, legend, optional doors, block grid
//!   and building ids; large cities are drawn as one pixel colour per (group of) blocks.
//! - [`plot_pings`]: the faded city, sparse pings per user, optional dense trajectories and
//!   diary stays, and a time barcode strip.
//! - [`plot_heatmap`] / [`plot_time_spent`]: buildings shaded by minutes spent (quantile,
//!   log or linear scale), with a colour bar labelled in minutes or hours.
//!
//! The library never prints and never exits.

#![warn(missing_docs)]

pub mod city_map;
pub mod data;
pub mod font;
pub mod heatmap;
pub mod map;
pub mod pings;
pub mod png;
pub mod scene;
pub mod svg;

pub use city_map::{plot_city, CityPlotOptions};
pub use data::{to_blocks, user_pings, Stay, UserPings};
pub use heatmap::{
    minutes_by_building, plot_heatmap, plot_time_spent, ColorScale, HeatScale, HeatmapOptions, TimeSpent,
};
pub use map::{Detail, MapFrame};
pub use pings::{plot_pings, PingPlotOptions, USER_PALETTE};
pub use scene::{Anchor, Color, Scene, Shape, Stroke};

use std::path::{Path, PathBuf};

/// Everything that can go wrong while plotting.
#[derive(Debug, thiserror::Error)]
pub enum PlotError {
    /// The output file name does not end in `.png` or `.svg`.
    #[error("{path}: unknown picture format (expected a file name ending in .png or .svg)")]
    UnknownFormat {
        /// The requested output path.
        path: PathBuf,
    },
    /// Reading or writing a file failed.
    #[error("{op} {path}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// PNG encoding failed.
    #[error("encoding the PNG: {0}")]
    Encode(String),
    /// The picture would be empty or too large.
    #[error("cannot make a {width} x {height} pixel picture")]
    ImageSize {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The time window is empty.
    #[error("empty time window: the end ({end}) must be after the start ({start}) (Unix seconds)")]
    EmptyWindow {
        /// Window start, Unix seconds.
        start: i64,
        /// Window end, Unix seconds.
        end: i64,
    },
    /// Requested users are not in the data.
    #[error("user(s) {missing} not in the data (users there: {available}){hint}")]
    UnknownUser {
        /// The missing ids, comma-separated.
        missing: String,
        /// Some of the ids present, comma-separated.
        available: String,
        /// A suggestion (e.g. the id differing only in case), starting with `; `, or empty.
        hint: String,
    },
    /// Nothing to draw.
    #[error("no data to plot: {0}")]
    NoData(String),
    /// The data does not belong to this city.
    #[error("the data does not match the city: {0}")]
    Mismatch(String),
    /// A dataset could not be read.
    #[error(transparent)]
    Dataset(#[from] gardencity_io::dataset::DatasetError),
}

/// Output picture format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageFormat {
    /// PNG raster image.
    Png,
    /// SVG vector image.
    Svg,
}

impl ImageFormat {
    /// The format named by the path's extension (`.png` or `.svg`, any case).
    pub fn from_path(path: &Path) -> Result<ImageFormat, PlotError> {
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("png") => Ok(ImageFormat::Png),
            Some("svg") => Ok(ImageFormat::Svg),
            _ => Err(PlotError::UnknownFormat { path: path.to_path_buf() }),
        }
    }
}

/// Renders the scene in the given format.
pub fn render(scene: &Scene, format: ImageFormat) -> Result<Vec<u8>, PlotError> {
    match format {
        ImageFormat::Png => png::to_png(scene),
        ImageFormat::Svg => Ok(svg::to_svg(scene).into_bytes()),
    }
}

/// Writes the scene to `path` as PNG or SVG (from the extension). The picture is written
/// to a temporary name in the same directory and renamed at the end, so a failure
/// leaves no partial file.
pub fn save(scene: &Scene, path: impl AsRef<Path>) -> Result<(), PlotError> {
    let path = path.as_ref();
    let format = ImageFormat::from_path(path)?;
    let bytes = render(scene, format)?;
    gardencity_io::atomic::write_atomic(path, "plot", &bytes, false).map_err(|source| PlotError::Io {
        op: "writing",
        path: path.to_path_buf(),
        source,
    })?;
    Ok(())
}
