//! Where a run's city and gravity come from: a GeoPackage (with or without stored
//! gravity), a snapshot, the built-in default, or a city already in memory.

use crate::spec::GravitySpec;
use crate::RunError;
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityMode};
use gardencity::routing::Router;
use gardencity::City;
use serde::{Deserialize, Serialize};
use std::path::Path;
use std::sync::Arc;

/// What the built-in default city is, as recorded in manifests.
pub const DEFAULT_CITY_LABEL: &str = "built-in default (random 50x50, seed 1)";

/// The built-in default city: a 50 x 50 random city, seed 1, 15 m blocks, centred at
/// [`gardencity::city::DEFAULT_CENTRE_LONLAT`] (Philadelphia).
pub fn default_city() -> Result<City, RunError> {
    let (lon, lat) = gardencity::city::DEFAULT_CENTRE_LONLAT;
    let georef =
        gardencity::Georeference::centred_at(lon, lat, 50, 50, 15.0).map_err(|e| RunError::spec("origin", e))?;
    Ok(random_city(&RandomCityParams {
        width: 50,
        height: 50,
        street_spacing: 5,
        seed: 1,
        georef,
        ..Default::default()
    })?)
}

/// A city with the gravity stored beside it, if any, before the run's gravity choice.
#[derive(Debug, Clone)]
pub struct CityInput {
    /// The city.
    pub city: Arc<City>,
    /// Gravity stored with it (GeoPackage layers or snapshot).
    pub stored_gravity: Option<Arc<Gravity>>,
    /// Where it came from (a path, or a description), for the manifest.
    pub source: String,
    /// Warnings from reading it (e.g. a stored hub matrix recomputed).
    pub warnings: Vec<String>,
}

impl CityInput {
    /// A city given in memory, with its gravity if it has one.
    pub fn in_memory(city: Arc<City>, gravity: Option<Arc<Gravity>>, source: impl Into<String>) -> CityInput {
        CityInput { city, stored_gravity: gravity, source: source.into(), warnings: Vec::new() }
    }

    /// The built-in default city.
    pub fn builtin() -> Result<CityInput, RunError> {
        Ok(CityInput::in_memory(Arc::new(default_city()?), None, DEFAULT_CITY_LABEL))
    }

    /// Opens a `.gcsnap` snapshot or a city GeoPackage; stored gravity is read only
    /// when `with_gravity` (reading a large gravity layer set takes seconds).
    pub fn open(path: &Path, with_gravity: bool) -> Result<CityInput, RunError> {
        let source = path.display().to_string();
        if path.extension().is_some_and(|e| e == "gcsnap") {
            let snap = gardencity_io::snapshot::read_snapshot(path)?;
            let gravity = snap.gravity.filter(|_| with_gravity).map(Arc::new);
            return Ok(CityInput { city: Arc::new(snap.city), stored_gravity: gravity, source, warnings: Vec::new() });
        }
        let city = gardencity_io::gpkg::read_city(path)?;
        let mut warnings = Vec::new();
        let gravity = if with_gravity {
            gardencity_io::gpkg::gravity::read_gravity(path, &city)?.map(|r| {
                warnings.extend(r.warnings.into_iter().map(|w| format!("{}: {w}", path.display())));
                Arc::new(r.gravity)
            })
        } else {
            None
        };
        Ok(CityInput { city: Arc::new(city), stored_gravity: gravity, source, warnings })
    }

    /// The city of a spec: its `city` path, else the built-in default.
    pub fn from_spec(city: Option<&Path>, gravity: &GravitySpec) -> Result<CityInput, RunError> {
        match city {
            Some(p) => CityInput::open(p, gravity.accepts_stored()),
            None => CityInput::builtin(),
        }
    }

    /// Chooses the gravity (stored when the spec accepts it, else computed), and builds
    /// the router: everything the population needs, shareable by every thread.
    pub fn prepare(self, spec: &GravitySpec) -> Result<PreparedCity, RunError> {
        let (gravity, stored) = match self.stored_gravity {
            Some(g) if spec.accepts_stored() => (g, true),
            _ => (Arc::new(spec.build(&self.city)?), false),
        };
        let router = Arc::new(Router::new(&self.city));
        let record = GravityRecord::of(&gravity, if stored { "stored with the city" } else { "computed" });
        let city_record = CityRecord::of(&self.city, self.source);
        Ok(PreparedCity {
            city: self.city,
            router,
            gravity,
            gravity_record: record,
            city_record,
            warnings: self.warnings,
        })
    }
}

/// A city ready to simulate in: the city, its router and gravity, and what the
/// manifest says of them. Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct PreparedCity {
    /// The city.
    pub city: Arc<City>,
    /// Its street router.
    pub router: Arc<Router>,
    /// The gravity model used.
    pub gravity: Arc<Gravity>,
    /// The gravity model as recorded in the manifest.
    pub gravity_record: GravityRecord,
    /// The city as recorded in the manifest.
    pub city_record: CityRecord,
    /// Warnings from reading the city.
    pub warnings: Vec<String>,
}

/// The gravity model a run actually used.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct GravityRecord {
    /// `stored with the city` or `computed`.
    pub source: String,
    /// `hub_proxy` or `exact`.
    pub mode: String,
    /// The distance exponent.
    pub exponent: f64,
    /// Hubs of the hub proxy (`None` in exact mode).
    pub hubs: Option<usize>,
}

impl GravityRecord {
    /// The record of `gravity`.
    pub fn of(gravity: &Gravity, source: &str) -> GravityRecord {
        let mode = gravity.mode();
        GravityRecord {
            source: source.into(),
            mode: mode.as_str().into(),
            exponent: gravity.exponent(),
            hubs: (mode == GravityMode::HubProxy).then(|| gravity.hubs().len()),
        }
    }
}

/// The city a run used: where from, its name, and a checksum of its content.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CityRecord {
    /// Path or description.
    pub source: String,
    /// The city's name.
    pub name: String,
    /// CRC-32 (hex) of the city's snapshot encoding without gravity: equal cities,
    /// equal checksums, whatever file they were read from.
    pub checksum: String,
    /// Grid width in blocks.
    pub width: u32,
    /// Grid height in blocks.
    pub height: u32,
    /// Number of buildings.
    pub buildings: usize,
}

impl CityRecord {
    /// The record of `city` read from `source`.
    pub fn of(city: &City, source: String) -> CityRecord {
        CityRecord {
            source,
            name: city.name().to_string(),
            checksum: city_checksum(city),
            width: city.width(),
            height: city.height(),
            buildings: city.buildings().len(),
        }
    }
}

/// The checksum of a city's content (see [`CityRecord::checksum`]).
pub fn city_checksum(city: &City) -> String {
    // The encoding ends with the CRC-32 of what comes before it (little-endian).
    let bytes = gardencity_io::snapshot::encode_snapshot(city, None);
    let crc: [u8; 4] = bytes[bytes.len() - 4..].try_into().expect("a snapshot ends with its CRC-32");
    format!("{:08x}", u32::from_le_bytes(crc))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gardencity::city::random::{random_city, RandomCityParams};

    #[test]
    fn checksums_tell_cities_apart() {
        let city = |w: u32, seed: u64| {
            random_city(&RandomCityParams { width: w, height: w, seed, ..Default::default() }).unwrap()
        };
        let a = city_checksum(&city(20, 1));
        assert_eq!(a, city_checksum(&city(20, 1)), "the same city, the same checksum");
        assert_ne!(a, city_checksum(&city(20, 2)));
        assert_ne!(a, city_checksum(&city(30, 1)));
    }
}
