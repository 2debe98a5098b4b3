"""Buildings and streets as GeoDataFrames (GeoPandas and Shapely are optional)."""

from __future__ import annotations

from typing import Any, Dict, List, Tuple


def city_geodataframes(buildings: Dict[str, List[Any]], streets: Dict[str, List[Any]]) -> Tuple[Any, Any]:
    """Builds the buildings and streets GeoDataFrames from the columns the native
    ``City`` exports (geometry as WKT in block units, no CRS, like NOMAD's layers)."""
    try:
        import geopandas as gpd
        import shapely
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError(
            "City.to_geodataframes needs geopandas and shapely: pip install 'gardencity[geo]'"
        ) from e

    def frame(columns: Dict[str, List[Any]]) -> Any:
        data = dict(columns)
        geometry = shapely.from_wkt(data.pop("geometry"))
        return gpd.GeoDataFrame(data, geometry=geometry, crs=None)

    return frame(buildings), frame(streets)
