"""Type stubs of the native module (``gardencity._gardencity``)."""

from os import PathLike
from typing import Any, Dict, Optional, Tuple, Union

__version__: str

_Path = Union[str, "PathLike[str]"]

class City:
    """A grid city with its gravity model, if computed or loaded. Pickles as its snapshot."""

    @staticmethod
    def from_geopackage(path: _Path, gravity: bool = True) -> "City":
        """Reads a city GeoPackage (NOMAD's layout), with its stored gravity when ``gravity``."""
    @staticmethod
    def random(
        width: int,
        height: int,
        seed: int = 0,
        origin: Optional[Tuple[float, float]] = None,
        street_spacing: int = 5,
        block_side: float = 15.0,
    ) -> "City":
        """A random city of ``width`` x ``height`` blocks; ``origin`` is the Web Mercator
        position of block (0, 0) (default: the city centred on Philadelphia's City Hall)."""
    @staticmethod
    def rasterize(
        path: _Path,
        block_side: float = 15.0,
        resolve_overlaps: bool = False,
        keep_other: bool = False,
        rotate: Union[None, str, float] = None,
        buildings_layer: str = "buildings",
        streets_layer: str = "streets",
        boundary_layer: Optional[str] = "boundary",
        type_column: Optional[str] = "building_type",
        default_type: str = "home",
        seed: int = 0,
        name: Optional[str] = None,
    ) -> "City":
        """Rasterizes GeoPackage layers of real buildings and streets (EPSG:3857 or 4326).
        ``type_column=None`` reads footprints without types: every building gets
        ``default_type`` (a type, or ``"mix"``: the random city's shares drawn with ``seed``)."""
    @staticmethod
    def from_osm(
        path: _Path,
        bbox: Optional[Tuple[float, float, float, float]] = None,
        block_side: float = 15.0,
        resolve_overlaps: bool = True,
        keep_other: bool = False,
        rotate: Union[None, str, float] = None,
        infer_residential: bool = False,
        street_cleanup: bool = True,
        name: Optional[str] = None,
    ) -> "City":
        """Reads a ``.osm.pbf`` extract inside ``bbox`` (west, south, east, north degrees;
        default the extract's extent) and rasterizes it."""
    @staticmethod
    def from_snapshot(data: bytes) -> "City":
        """A city from the bytes of :meth:`snapshot`."""
    def snapshot(self) -> bytes:
        """The compact binary snapshot of the city and its gravity."""
    def to_geopackage(self, path: _Path, overwrite: bool = False, gravity: bool = True) -> None:
        """Writes the city (and its gravity layers) as a GeoPackage NOMAD and GDAL read."""
    def compute_gravity(self, hubs: Optional[int] = None, exact: bool = False, exponent: float = 2.0) -> None:
        """Computes and keeps the gravity model (hub proxy, or exact street distances)."""
    def to_geodataframes(self) -> Tuple[Any, Any]:
        """``(buildings, streets)`` GeoDataFrames with NOMAD's columns (block units)."""
    @property
    def name(self) -> str:
        """The city's name."""
    @property
    def width(self) -> int:
        """Grid width in blocks."""
    @property
    def height(self) -> int:
        """Grid height in blocks."""
    @property
    def block_side(self) -> float:
        """Side of a block in metres."""
    @property
    def origin(self) -> Tuple[float, float]:
        """Web Mercator position of block (0, 0)."""
    @property
    def n_buildings(self) -> int:
        """Number of buildings."""
    @property
    def n_streets(self) -> int:
        """Number of street cells."""
    @property
    def building_counts(self) -> Dict[str, int]:
        """Buildings per type."""
    @property
    def gravity(self) -> Optional[Dict[str, Any]]:
        """The gravity model: ``None`` or ``{"mode", "exponent", "hubs"}``."""
    def _buildings_columns(self) -> Dict[str, list]: ...
    def _streets_columns(self) -> Dict[str, list]: ...

class RunHandle:
    """A run on a native thread."""

    @property
    def total(self) -> int: ...
    @property
    def done(self) -> int: ...
    def cancel(self) -> None: ...
    def wait(self, timeout: float) -> bool: ...
    def next_batch(self, timeout: float) -> Optional[Tuple[str, bytes]]: ...
    def result(self) -> str: ...

def start_run(spec_json: str, city: Optional[City] = None, mode: str = "dataset", batch_rows: int = 65536) -> RunHandle:
    """Starts a run of a JSON run specification."""

def _city_from_snapshot(data: bytes) -> City: ...

def check_run(spec_json: str, city: Optional[City] = None) -> int:
    """Checks a JSON run specification (city, parameters, anchors); returns its agents."""

def commit(out: _Path, dirs: list, overwrite: bool = False) -> str:
    """Commits shard datasets as one; returns the manifest as JSON."""

class Reservation:
    """An output directory reserved (prepared and locked) for a distributed run."""

    @property
    def staging(self) -> str: ...
    def commit(self, dirs: list, distributed_json: Optional[str] = None) -> str: ...
    def release(self) -> None: ...

def reserve_out(out: _Path, overwrite: bool = False) -> Reservation:
    """Reserves an output directory for a distributed run."""
