//! `City`: a city (and its gravity) as plain immutable data; pickles as its snapshot.

use crate::errors::{fail, guard, Kind, PyFail};
use gardencity::city::random::{random_city, RandomCityParams};
use gardencity::gravity::{Gravity, GravityMode};
use gardencity::{BuildingType, City, Georeference};
use gardencity_io::gpkg::{blocks_wkt, write_city, WriteOptions};
use gardencity_osm::{
    rasterize, read_osm_pbf, read_raster_input_gpkg, Categories, InputOptions, OsmBoundary, OsmOptions, RasterInput,
    RasterParams, Rotation,
};
use gardencity_run::{GravitySpec, RunError};
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A grid city with its gravity model, if computed or loaded.
#[pyclass(name = "City", module = "gardencity._gardencity")]
pub struct PyCity {
    pub city: Arc<City>,
    pub gravity: Option<Arc<Gravity>>,
}

fn exists(path: &Path) -> Result<(), PyFail> {
    if path.exists() {
        Ok(())
    } else {
        Err(PyFail::new(Kind::NotFound, format!("{}: no such file", path.display())))
    }
}

/// A rotation given as `None`, a number of degrees, or `"none"` / `"auto"`.
fn rotation_of(rotate: Option<Bound<'_, PyAny>>) -> Result<Rotation, PyFail> {
    let bad = |why: String| PyFail::new(Kind::Parameter, format!("rotate: {why}"));
    match rotate {
        None => Ok(Rotation::None),
        Some(r) => match r.extract::<f64>() {
            Ok(deg) if deg.is_finite() => Ok(Rotation::Degrees(deg)),
            Ok(deg) => Err(bad(format!("{deg} is not a finite angle"))),
            Err(_) => r
                .extract::<String>()
                .map_err(|_| bad("expected \"none\", \"auto\" or degrees".into()))?
                .parse()
                .map_err(bad),
        },
    }
}

/// A city rasterized from what `read` gives, with the checks and the guard every
/// rasterizing constructor shares.
fn rasterized(
    py: Python<'_>,
    what: &str,
    path: &Path,
    params: Result<RasterParams, PyFail>,
    read: impl FnOnce() -> Result<RasterInput, PyFail> + Send,
) -> PyResult<PyCity> {
    Ok(py.detach(|| {
        guard(what, || {
            exists(path)?;
            let params = params?;
            let (city, _report) = rasterize(&read()?, &params).map_err(fail)?;
            Ok(PyCity { city: Arc::new(city), gravity: None })
        })
    })?)
}

fn raster_params(
    block_side: f64,
    resolve_overlaps: bool,
    keep_other: bool,
    rotation: Rotation,
    name: Option<String>,
) -> Result<RasterParams, PyFail> {
    if !(block_side.is_finite() && block_side > 0.0) {
        return Err(PyFail::new(Kind::Parameter, format!("block_side: {block_side}: expected metres > 0")));
    }
    Ok(RasterParams {
        block_side,
        resolve_overlaps,
        keep_other,
        rotation,
        name: name.unwrap_or_else(|| RasterParams::default().name),
        ..RasterParams::default()
    })
}

fn type_counts(city: &City) -> Vec<(&'static str, usize)> {
    [BuildingType::Home, BuildingType::Workplace, BuildingType::Retail, BuildingType::Park, BuildingType::Other]
        .into_iter()
        .map(|t| (t.as_str(), city.buildings_of_type(t).len()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

impl PyCity {
    fn summary(&self) -> String {
        let c = &self.city;
        let types: Vec<String> = type_counts(c).iter().map(|(t, n)| format!("{n} {t}")).collect();
        let gravity = match &self.gravity {
            None => "no gravity".to_string(),
            Some(g) if g.mode() == GravityMode::Exact => "exact gravity".to_string(),
            Some(g) => format!("hub_proxy gravity with {} hubs", g.hubs().len()),
        };
        format!(
            "City({:?}, {} x {} blocks of {} m, {} buildings ({}), {} street cells, {gravity})",
            c.name(),
            c.width(),
            c.height(),
            c.georef().block_side,
            c.buildings().len(),
            types.join(", "),
            c.streets().len()
        )
    }
}

#[pymethods]
impl PyCity {
    /// Reads a city GeoPackage (NOMAD's layout) with its stored gravity when `gravity`.
    #[staticmethod]
    #[pyo3(signature = (path, gravity = true))]
    fn from_geopackage(py: Python<'_>, path: PathBuf, gravity: bool) -> PyResult<PyCity> {
        Ok(py.detach(|| {
            guard("City.from_geopackage", || {
                exists(&path)?;
                let input = gardencity_run::CityInput::open(&path, gravity)?;
                Ok(PyCity { city: input.city, gravity: input.stored_gravity })
            })
        })?)
    }

    /// A random city (MODEL.md section 1) of `width` x `height` blocks.
    #[staticmethod]
    #[pyo3(signature = (width, height, seed = 0, origin = None, street_spacing = 5, block_side = 15.0))]
    fn random(
        py: Python<'_>,
        width: u32,
        height: u32,
        seed: u64,
        origin: Option<(f64, f64)>,
        street_spacing: u32,
        block_side: f64,
    ) -> PyResult<PyCity> {
        Ok(py.detach(|| {
            guard("City.random", || {
                let georef = match origin {
                    Some((origin_x, origin_y)) => {
                        Georeference { origin_x, origin_y, block_side, ..Georeference::default() }
                    }
                    None => {
                        let (lon, lat) = gardencity::city::DEFAULT_CENTRE_LONLAT;
                        Georeference::centred_at(lon, lat, width, height, block_side)
                            .map_err(|e| RunError::spec("block_side", e))?
                    }
                };
                let params = RandomCityParams { width, height, street_spacing, seed, georef, ..Default::default() };
                Ok(PyCity { city: Arc::new(random_city(&params).map_err(fail)?), gravity: None })
            })
        })?)
    }

    /// Rasterizes GeoPackage layers of real buildings and streets (EPSG:3857 or 4326).
    #[staticmethod]
    #[pyo3(signature = (path, block_side = 15.0, resolve_overlaps = false, keep_other = false, rotate = None,
        buildings_layer = "buildings".to_string(), streets_layer = "streets".to_string(),
        boundary_layer = Some("boundary".to_string()), type_column = Some("building_type".to_string()),
        default_type = "home".to_string(), seed = 0, name = None))]
    #[allow(clippy::too_many_arguments)]
    fn rasterize(
        py: Python<'_>,
        path: PathBuf,
        block_side: f64,
        resolve_overlaps: bool,
        keep_other: bool,
        rotate: Option<Bound<'_, PyAny>>,
        buildings_layer: String,
        streets_layer: String,
        boundary_layer: Option<String>,
        type_column: Option<String>,
        default_type: String,
        seed: u64,
        name: Option<String>,
    ) -> PyResult<PyCity> {
        let untyped = match default_type.parse::<gardencity_osm::UntypedBuildings>() {
            Ok(gardencity_osm::UntypedBuildings::Mix { .. }) => gardencity_osm::UntypedBuildings::Mix { seed },
            Ok(t) => t,
            Err(e) => return Err(pyo3::exceptions::PyValueError::new_err(format!("default_type: {e}"))),
        };
        let params = rotation_of(rotate)
            .and_then(|rotation| raster_params(block_side, resolve_overlaps, keep_other, rotation, name));
        let opts = InputOptions {
            buildings_layer,
            streets_layer,
            boundary_layer,
            type_column,
            untyped,
            ..InputOptions::default()
        };
        rasterized(py, "City.rasterize", &path, params, || read_raster_input_gpkg(&path, &opts).map_err(fail))
    }

    /// Reads a `.osm.pbf` extract (MODEL.md section 8) inside `bbox` = (west, south, east,
    /// north) in degrees (default: the extract's extent) and rasterizes it.
    #[staticmethod]
    #[pyo3(signature = (path, bbox = None, block_side = 15.0, resolve_overlaps = true, keep_other = false,
        rotate = None, infer_residential = false, street_cleanup = true, name = None))]
    #[allow(clippy::too_many_arguments)]
    fn from_osm(
        py: Python<'_>,
        path: PathBuf,
        bbox: Option<(f64, f64, f64, f64)>,
        block_side: f64,
        resolve_overlaps: bool,
        keep_other: bool,
        rotate: Option<Bound<'_, PyAny>>,
        infer_residential: bool,
        street_cleanup: bool,
        name: Option<String>,
    ) -> PyResult<PyCity> {
        let params = rotation_of(rotate)
            .and_then(|rotation| raster_params(block_side, resolve_overlaps, keep_other, rotation, name));
        rasterized(py, "City.from_osm", &path, params, || {
            let boundary = match bbox {
                Some((west, south, east, north)) => OsmBoundary::Bbox { west, south, east, north },
                None => gardencity_osm::extract_extent(&path).map_err(fail)?.to_boundary(),
            };
            let opts = OsmOptions {
                boundary,
                categories: Categories::default(),
                infer_residential,
                consolidate_streets: street_cleanup,
            };
            Ok(read_osm_pbf(&path, &opts).map_err(fail)?.0)
        })
    }

    /// A city from the bytes of [`City.snapshot`] (what `pickle` stores).
    #[staticmethod]
    fn from_snapshot(py: Python<'_>, data: &[u8]) -> PyResult<PyCity> {
        let data = data.to_vec();
        Ok(py.detach(|| {
            guard("City.from_snapshot", || {
                let snap =
                    gardencity_io::snapshot::decode_snapshot(&data, Path::new("<snapshot bytes>")).map_err(fail)?;
                Ok(PyCity { city: Arc::new(snap.city), gravity: snap.gravity.map(Arc::new) })
            })
        })?)
    }

    /// The compact binary snapshot of the city and its gravity.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let (city, gravity) = (self.city.clone(), self.gravity.clone());
        let bytes = py.detach(|| {
            guard("City.snapshot", || Ok(gardencity_io::snapshot::encode_snapshot(&city, gravity.as_deref())))
        })?;
        Ok(PyBytes::new(py, &bytes))
    }

    /// Pickles as its snapshot: `pickle.loads` rebuilds it with `_city_from_snapshot`.
    fn __reduce__<'py>(&self, py: Python<'py>) -> PyResult<(Bound<'py, PyAny>, (Bound<'py, PyBytes>,))> {
        let f = py.import("gardencity._gardencity")?.getattr("_city_from_snapshot")?;
        Ok((f, (self.snapshot(py)?,)))
    }

    /// Writes the city (and, with `gravity`, its gravity layers) as a GeoPackage.
    #[pyo3(signature = (path, overwrite = false, gravity = true))]
    fn to_geopackage(&self, py: Python<'_>, path: PathBuf, overwrite: bool, gravity: bool) -> PyResult<()> {
        let (city, g) = (self.city.clone(), self.gravity.clone());
        Ok(py.detach(|| {
            guard("City.to_geopackage", || {
                write_city(&city, &path, &WriteOptions { overwrite }).map_err(fail)?;
                if let (true, Some(g)) = (gravity, g) {
                    gardencity_io::gpkg::gravity::write_gravity(&path, &city, &g).map_err(fail)?;
                }
                Ok(())
            })
        })?)
    }

    /// Computes the gravity model (hub proxy with `hubs` hubs, default buildings / 1000 + 5;
    /// or exact street distances) and keeps it with the city.
    #[pyo3(signature = (hubs = None, exact = false, exponent = 2.0))]
    fn compute_gravity(&mut self, py: Python<'_>, hubs: Option<usize>, exact: bool, exponent: f64) -> PyResult<()> {
        let city = self.city.clone();
        let g = py.detach(|| {
            guard("City.compute_gravity", || {
                let spec = GravitySpec { hubs, exponent: Some(exponent), exact };
                spec.build(&city).map_err(|e| PyFail::from(RunError::from(e)))
            })
        })?;
        self.gravity = Some(Arc::new(g));
        Ok(())
    }

    /// The city's name.
    #[getter]
    fn name(&self) -> String {
        self.city.name().to_string()
    }
    /// Grid width in blocks.
    #[getter]
    fn width(&self) -> u32 {
        self.city.width()
    }
    /// Grid height in blocks.
    #[getter]
    fn height(&self) -> u32 {
        self.city.height()
    }
    /// Side of a block in metres.
    #[getter]
    fn block_side(&self) -> f64 {
        self.city.georef().block_side
    }
    /// Web Mercator coordinates of block (0, 0)'s corner.
    #[getter]
    fn origin(&self) -> (f64, f64) {
        (self.city.georef().origin_x, self.city.georef().origin_y)
    }
    /// Number of buildings.
    #[getter]
    fn n_buildings(&self) -> usize {
        self.city.buildings().len()
    }
    /// Number of street cells.
    #[getter]
    fn n_streets(&self) -> usize {
        self.city.streets().len()
    }
    /// Buildings per type.
    #[getter]
    fn building_counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        for (t, n) in type_counts(&self.city) {
            d.set_item(t, n)?;
        }
        Ok(d)
    }
    /// The gravity model (`None`, or a dict with mode, exponent and hubs).
    #[getter]
    fn gravity<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyDict>>> {
        let Some(g) = &self.gravity else { return Ok(None) };
        let d = PyDict::new(py);
        d.set_item("mode", g.mode().as_str())?;
        d.set_item("exponent", g.exponent())?;
        d.set_item("hubs", (g.mode() == GravityMode::HubProxy).then(|| g.hubs().len()))?;
        Ok(Some(d))
    }

    /// Columns of the buildings table (NOMAD's names; `geometry` as WKT in block units).
    fn _buildings_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let b = self.city.buildings();
        let d = PyDict::new(py);
        d.set_item("id", b.iter().map(|b| b.id.clone()).collect::<Vec<_>>())?;
        d.set_item("building_type", b.iter().map(|b| b.kind.as_str()).collect::<Vec<_>>())?;
        d.set_item("door_cell_x", b.iter().map(|b| b.door.x).collect::<Vec<_>>())?;
        d.set_item("door_cell_y", b.iter().map(|b| b.door.y).collect::<Vec<_>>())?;
        d.set_item("size", b.iter().map(|b| b.size()).collect::<Vec<_>>())?;
        d.set_item("door_point_x", b.iter().map(|b| b.door_point.x).collect::<Vec<_>>())?;
        d.set_item("door_point_y", b.iter().map(|b| b.door_point.y).collect::<Vec<_>>())?;
        d.set_item("geometry", b.iter().map(|b| blocks_wkt(&b.blocks)).collect::<Vec<_>>())?;
        Ok(d)
    }

    /// Columns of the streets table (NOMAD's names; `geometry` as WKT in block units).
    fn _streets_columns<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let s = self.city.streets();
        let d = PyDict::new(py);
        d.set_item("coord_x", s.iter().map(|c| c.x).collect::<Vec<_>>())?;
        d.set_item("coord_y", s.iter().map(|c| c.y).collect::<Vec<_>>())?;
        d.set_item("id", s.iter().map(|c| format!("s-x{}-y{}", c.x, c.y)).collect::<Vec<_>>())?;
        d.set_item("geometry", s.iter().map(|&c| blocks_wkt(&[c])).collect::<Vec<_>>())?;
        Ok(d)
    }

    /// `(buildings, streets)` as GeoDataFrames with NOMAD's columns, in block units
    /// (needs geopandas and shapely: `pip install 'gardencity[geo]'`).
    fn to_geodataframes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let f = py.import("gardencity._geo")?.getattr("city_geodataframes")?;
        f.call1((self._buildings_columns(py)?, self._streets_columns(py)?))
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        match other.cast::<PyCity>() {
            Ok(o) => {
                let o = o.borrow();
                *self.city == *o.city && self.gravity.as_deref() == o.gravity.as_deref()
            }
            Err(_) => false,
        }
    }

    fn __repr__(&self) -> String {
        self.summary()
    }
}

/// Rebuilds a pickled city from its snapshot bytes.
#[pyfunction]
pub fn _city_from_snapshot(py: Python<'_>, data: &[u8]) -> PyResult<PyCity> {
    PyCity::from_snapshot(py, data)
}
