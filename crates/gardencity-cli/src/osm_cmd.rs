//! `gardencity city rasterize|from-osm`: real cities from GeoPackage layers or `.osm.pbf` extracts.

use crate::output::{check_output, outln};
use anyhow::{bail, Context};
use clap::Args;
use gardencity::city::mercator_to_lonlat;
use gardencity_io::gpkg::{write_city, WriteOptions};
use gardencity_osm::{
    extract_extent, rasterize, read_boundary_gpkg, read_osm_pbf, read_raster_input_gpkg, Categories, InputOptions,
    OsmBoundary, OsmError, OsmOptions, RasterError, RasterInput, RasterParams, Rotation, UntypedBuildings,
};
use geo::MapCoords;
use std::path::{Path, PathBuf};

/// Rasterizer options shared by both commands.
#[derive(Args, Debug)]
pub struct RasterOpts {
    /// Output city GeoPackage.
    #[arg(short, long = "out", visible_alias = "output")]
    output: PathBuf,
    /// Replace the output file if it exists (never an input).
    #[arg(long)]
    overwrite: bool,
    /// Side of one block in metres.
    #[arg(long, default_value_t = 15.0)]
    block_side: f64,
    /// Remove blocks already taken from later buildings instead of skipping them.
    #[arg(long)]
    resolve_overlaps: bool,
    /// Keep buildings of type `other` (filtered by default, like the reference).
    #[arg(long)]
    keep_other: bool,
    /// Rotate the input first: `auto` (align streets with the grid), `none`, or degrees.
    #[arg(long, default_value = "none", value_parser = str::parse::<Rotation>)]
    rotate: Rotation,
    /// Name of the city.
    #[arg(long, default_value = "Rasterized City")]
    name: String,
}

/// Arguments of `gardencity city rasterize`.
#[derive(Args, Debug)]
pub struct RasterizeArgs {
    /// Input GeoPackage with building, street and (optionally) boundary layers, EPSG:3857 or 4326.
    input: PathBuf,
    /// Buildings layer.
    #[arg(long, default_value = "buildings")]
    buildings_layer: String,
    /// Streets layer.
    #[arg(long, default_value = "streets")]
    streets_layer: String,
    /// Boundary layer (`none` uses the extent of the buildings and streets).
    #[arg(long, default_value = "boundary")]
    boundary_layer: String,
    /// Building type column (home, workplace, retail, park, other); `none` for footprints
    /// without types, which then all get --default-type.
    #[arg(long, default_value = "building_type")]
    type_column: String,
    /// With --type-column none: the type of every building (home, workplace, retail,
    /// park, other), or `mix` for the random city's shares (40/30/20/10% home, workplace,
    /// retail, park), drawn per footprint with --seed.
    #[arg(long, default_value = "home", value_parser = str::parse::<UntypedBuildings>)]
    default_type: UntypedBuildings,
    /// Seed of the `mix` draw of --default-type.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    #[command(flatten)]
    raster: RasterOpts,
}

/// Arguments of `gardencity city from-osm`.
#[derive(Args, Debug)]
pub struct FromOsmArgs {
    /// The `.osm.pbf` extract (Geofabrik, BBBike...).
    extract: PathBuf,
    /// Bounding box in degrees: W,S,E,N [default: the extract's extent, from its header
    /// or else from its nodes].
    #[arg(long, conflicts_with = "boundary", allow_hyphen_values = true)]
    bbox: Option<String>,
    /// A GeoPackage whose layer (`--boundary-layer`) holds the boundary polygon(s).
    #[arg(long)]
    boundary: Option<PathBuf>,
    /// The layer of `--boundary`.
    #[arg(long, default_value = "boundary")]
    boundary_layer: String,
    /// A categories table replacing the built-in one (layout of osm-categories.toml).
    #[arg(long)]
    categories: Option<PathBuf>,
    /// Classify `building=yes` with a residential signal and height < 20 m as home.
    #[arg(long)]
    infer_residential: bool,
    /// Skip the reference's street clean-up (merging intersections closer than 12 m,
    /// dropping dead ends and edges shorter than 15 m).
    #[arg(long)]
    no_street_cleanup: bool,
    #[command(flatten)]
    raster: RasterOpts,
}

fn parse_bbox(s: &str) -> anyhow::Result<OsmBoundary> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--bbox {s:?}: expected four numbers W,S,E,N (or give --boundary FILE)"))?;
    let [west, south, east, north] = v[..] else {
        bail!("--bbox {s:?}: expected four numbers W,S,E,N, got {} (or give --boundary FILE)", v.len())
    };
    Ok(OsmBoundary::Bbox { west, south, east, north })
}

fn finish(input: RasterInput, o: &RasterOpts, area_hint: &str) -> anyhow::Result<()> {
    let params = RasterParams {
        block_side: o.block_side,
        resolve_overlaps: o.resolve_overlaps,
        keep_other: o.keep_other,
        rotation: o.rotate,
        name: o.name.clone(),
        ..RasterParams::default()
    };
    let (city, report) = match rasterize(&input, &params) {
        Ok(r) => r,
        Err(e @ RasterError::TooLarge { .. }) => {
            return Err(with_hint("cannot rasterize", &e, &format!("{area_hint}, or a larger --block-side")))
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot rasterize")),
    };
    outln!("{report}")?;
    write_city(&city, &o.output, &WriteOptions { overwrite: o.overwrite }).context("cannot write the city")?;
    outln!(
        "wrote {}: {} x {} blocks, {} buildings, {} street cells",
        o.output.display(),
        city.width(),
        city.height(),
        city.buildings().len(),
        city.streets().len()
    )
}

/// Runs `gardencity city rasterize`.
pub fn run_rasterize(a: RasterizeArgs) -> anyhow::Result<()> {
    check_output(&a.raster.output, &[&a.input], a.raster.overwrite)?;
    let opts = InputOptions {
        buildings_layer: a.buildings_layer,
        streets_layer: a.streets_layer,
        boundary_layer: (a.boundary_layer != "none").then_some(a.boundary_layer),
        type_column: (a.type_column != "none").then_some(a.type_column),
        untyped: match a.default_type {
            UntypedBuildings::Mix { .. } => UntypedBuildings::Mix { seed: a.seed },
            t => t,
        },
        ..InputOptions::default()
    };
    let input = read_raster_input_gpkg(&a.input, &opts).context("cannot read the input")?;
    finish(input, &a.raster, "choose a smaller area with --boundary-layer")
}

/// `what: error` followed by a hint (on its own line after a multi-line report). For
/// errors without a source: the chain is not kept.
fn with_hint(what: &str, e: &dyn std::error::Error, hint: &str) -> anyhow::Error {
    let text = e.to_string();
    let sep = if text.contains('\n') { "\n" } else { "; " };
    anyhow::anyhow!("{what}: {text}{sep}{hint}")
}

/// What `city from-osm` says after an error about the area it reads.
const AREA_HINT: &str = "choose the area with --bbox W,S,E,N or --boundary FILE";

/// Runs `gardencity city from-osm`.
pub fn run_from_osm(a: FromOsmArgs) -> anyhow::Result<()> {
    let mut inputs: Vec<&Path> = vec![&a.extract];
    inputs.extend(a.boundary.as_deref());
    inputs.extend(a.categories.as_deref());
    check_output(&a.raster.output, &inputs, a.raster.overwrite)?;
    let boundary = match (&a.bbox, &a.boundary) {
        (Some(b), _) => parse_bbox(b)?,
        (None, Some(path)) => {
            let mp = read_boundary_gpkg(path, &a.boundary_layer)
                .with_context(|| format!("cannot read the boundary (--boundary {})", path.display()))?;
            OsmBoundary::Polygon(mp.map_coords(|c| {
                let (x, y) = mercator_to_lonlat(c.x, c.y);
                geo::coord! { x: x, y: y }
            }))
        }
        (None, None) => {
            let extent = extract_extent(&a.extract).context("cannot read the extract")?;
            crate::output::errln!("no --bbox or --boundary: reading the whole extract, {extent}");
            extent.to_boundary()
        }
    };
    let categories = match &a.categories {
        None => Categories::default(),
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?;
            Categories::from_toml(&text, &p.display().to_string())?
        }
    };
    let opts = OsmOptions {
        boundary,
        categories,
        infer_residential: a.infer_residential,
        consolidate_streets: !a.no_street_cleanup,
    };
    let (input, report) = match read_osm_pbf(&a.extract, &opts) {
        Ok(r) => r,
        Err(e @ (OsmError::Boundary(_) | OsmError::OutsideExtract { .. } | OsmError::Empty { .. })) => {
            return Err(with_hint("cannot read the extract", &e, AREA_HINT))
        }
        Err(e) => return Err(anyhow::Error::new(e).context("cannot read the extract")),
    };
    outln!("{report}")?;
    finish(input, &a.raster, AREA_HINT)
}
