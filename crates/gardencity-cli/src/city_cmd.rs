//! `gardencity city random|info`: make a random city GeoPackage, describe a city file.

use crate::output::{check_output, outln};
use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::{BuildingType, City, Georeference, Point};
use gardencity_io::gpkg::{read_city, write_city, WriteOptions};
use std::path::PathBuf;

/// Arguments of `gardencity city`.
#[derive(Args, Debug)]
pub struct CityArgs {
    #[command(subcommand)]
    command: CityCommand,
}

#[derive(Subcommand, Debug)]
enum CityCommand {
    /// Generate a random grid city and write it as a GeoPackage.
    Random(RandomArgs),
    /// Describe a city GeoPackage: size, buildings by type, streets, georeference.
    Info(InfoArgs),
    /// Rasterize real buildings and streets from GeoPackage layers into a city.
    Rasterize(crate::osm_cmd::RasterizeArgs),
    /// Select, classify and rasterize buildings and streets of an .osm.pbf extract.
    FromOsm(Box<crate::osm_cmd::FromOsmArgs>),
}

#[derive(Args, Debug)]
struct RandomArgs {
    /// Grid width in blocks.
    #[arg(long)]
    width: u32,
    /// Grid height in blocks.
    #[arg(long)]
    height: u32,
    /// Streets on every N-th row and column (at least 2).
    #[arg(long, default_value_t = 5)]
    street_spacing: u32,
    /// Seed of the generator (same seed, same city).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Side of one block in metres.
    #[arg(long, default_value_t = 15.0)]
    block_side: f64,
    /// Where the city's centre is on the map: LON,LAT in degrees [default: Philadelphia,
    /// -75.1636,39.9524].
    #[arg(long, allow_hyphen_values = true, value_name = "LON,LAT")]
    origin: Option<String>,
    /// Output GeoPackage.
    #[arg(short, long = "out", visible_alias = "output")]
    output: PathBuf,
    /// Replace the output file if it exists.
    #[arg(long)]
    overwrite: bool,
}

#[derive(Args, Debug)]
struct InfoArgs {
    /// The city GeoPackage.
    city: PathBuf,
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
}

/// Runs `gardencity city ...`.
pub fn run(args: CityArgs) -> anyhow::Result<()> {
    match args.command {
        CityCommand::Random(a) => random(a),
        CityCommand::Info(a) => info(a),
        CityCommand::Rasterize(a) => crate::osm_cmd::run_rasterize(a),
        CityCommand::FromOsm(a) => crate::osm_cmd::run_from_osm(*a),
    }
}

fn random(a: RandomArgs) -> anyhow::Result<()> {
    if !(a.block_side.is_finite() && a.block_side > 0.0) {
        bail!("--block-side must be a positive number of metres, got {}", a.block_side);
    }
    check_output(&a.output, &[], a.overwrite)?;
    let (lon, lat) = match &a.origin {
        Some(s) => parse_lonlat(s)?,
        None => gardencity::city::DEFAULT_CENTRE_LONLAT,
    };
    let georef = Georeference::centred_at(lon, lat, a.width, a.height, a.block_side)
        .map_err(|e| anyhow::anyhow!("--origin {lon},{lat}: {e}"))?;
    let params = RandomCityParams {
        width: a.width,
        height: a.height,
        street_spacing: a.street_spacing,
        seed: a.seed,
        georef,
        ..RandomCityParams::default()
    };
    let city = random_city(&params).context("cannot generate the random city")?;
    write_city(&city, &a.output, &WriteOptions { overwrite: a.overwrite }).context("cannot write the city")?;
    outln!(
        "wrote {}: {} x {} blocks, {} buildings, {} street cells",
        a.output.display(),
        city.width(),
        city.height(),
        city.buildings().len(),
        city.streets().len()
    )
}

/// `LON,LAT` in degrees.
fn parse_lonlat(s: &str) -> anyhow::Result<(f64, f64)> {
    let v: Vec<f64> = s
        .split(',')
        .map(|p| p.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("--origin {s:?}: expected two numbers LON,LAT in degrees"))?;
    match v[..] {
        [lon, lat] => Ok((lon, lat)),
        _ => bail!("--origin {s:?}: expected two numbers LON,LAT in degrees, got {}", v.len()),
    }
}

fn info(a: InfoArgs) -> anyhow::Result<()> {
    let city = read_city(&a.city).context("cannot read the city")?;
    let mut s = summarize(&city);
    s.gravity = gardencity_io::gpkg::gravity::gravity_info(&a.city, &city).context("cannot read the gravity layers")?;
    if a.json {
        outln!("{}", serde_json::to_string_pretty(&s.to_json(&a.city))?)
    } else {
        outln!("{}", s.to_text(&a.city).trim_end_matches('\n'))
    }
}

struct Summary {
    name: String,
    width: u32,
    height: u32,
    by_type: Vec<(BuildingType, usize, usize)>,
    buildings: usize,
    building_blocks: usize,
    streets: usize,
    components: usize,
    largest_component: u32,
    georef: Georeference,
    centre_lonlat: (f64, f64),
    boundary: Option<String>,
    /// Gravity stored in the file (summary and warnings), if any.
    gravity: Option<String>,
}

fn summarize(city: &City) -> Summary {
    let by_type = BuildingType::ALL
        .iter()
        .map(|&t| {
            let idx = city.buildings_of_type(t);
            (t, idx.len(), idx.iter().map(|&b| city.building(b).size()).sum())
        })
        .collect();
    let comps = city.street_components();
    let largest = comps.largest().map_or(0, |l| comps.sizes[l as usize]);
    let centre = Point::new(city.width() as f64 / 2.0, city.height() as f64 / 2.0);
    Summary {
        name: city.name().to_string(),
        width: city.width(),
        height: city.height(),
        by_type,
        buildings: city.buildings().len(),
        building_blocks: city.buildings().iter().map(|b| b.size()).sum(),
        streets: city.streets().len(),
        components: comps.count(),
        largest_component: largest,
        georef: *city.georef(),
        centre_lonlat: city.georef().to_lonlat(centre),
        boundary: city.boundary_wkt().map(str::to_string),
        gravity: None,
    }
}

impl Summary {
    fn to_text(&self, path: &std::path::Path) -> String {
        let g = &self.georef;
        let types: Vec<String> = self.by_type.iter().map(|(t, n, _)| format!("{t} {n}")).collect();
        let mut out = String::new();
        out.push_str(&format!("file: {}\n", path.display()));
        out.push_str(&format!("name: {}\n", self.name));
        out.push_str(&format!("grid: {} x {} blocks\n", self.width, self.height));
        out.push_str(&format!("buildings: {} ({})\n", self.buildings, types.join(", ")));
        out.push_str(&format!("building blocks: {}\n", self.building_blocks));
        out.push_str(&format!(
            "street cells: {} in {} connected component{} (largest {})\n",
            self.streets,
            self.components,
            if self.components == 1 { "" } else { "s" },
            self.largest_component
        ));
        out.push_str(&format!(
            "georeference: block side {} m, origin ({}, {}) Web Mercator, rotation {} deg about ({}, {})\n",
            g.block_side, g.origin_x, g.origin_y, g.rotation_deg, g.rotation_origin.0, g.rotation_origin.1
        ));
        out.push_str(&format!("centre: lon {:.6}, lat {:.6}\n", self.centre_lonlat.0, self.centre_lonlat.1));
        match &self.gravity {
            Some(g) => out.push_str(&format!("gravity: {g}\n")),
            None => out.push_str("gravity: none stored (computed when simulating; `gardencity gravity` stores it)\n"),
        }
        out
    }

    fn to_json(&self, path: &std::path::Path) -> serde_json::Value {
        let g = &self.georef;
        let mut types = serde_json::Map::new();
        for (t, n, blocks) in &self.by_type {
            types.insert(t.as_str().into(), serde_json::json!({ "count": n, "blocks": blocks }));
        }
        serde_json::json!({
            "file": path.display().to_string(),
            "name": self.name,
            "width": self.width,
            "height": self.height,
            "buildings": self.buildings,
            "building_blocks": self.building_blocks,
            "buildings_by_type": types,
            "street_cells": self.streets,
            "street_components": self.components,
            "largest_street_component": self.largest_component,
            "georeference": {
                "block_side_m": g.block_side,
                "origin_x": g.origin_x,
                "origin_y": g.origin_y,
                "rotation_deg": g.rotation_deg,
                "rotation_origin": [g.rotation_origin.0, g.rotation_origin.1],
            },
            "centre_lonlat": [self.centre_lonlat.0, self.centre_lonlat.1],
            "boundary_wkt": self.boundary,
            "gravity": self.gravity,
        })
    }
}
