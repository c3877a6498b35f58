"""WGS84 / CGCS2000 <-> GCJ-02 (the offset datum of Gaode/AutoNavi and Tencent tiles).

Gaode tiles are drawn in GCJ-02, which is WGS84 shifted by a published,
position-dependent offset of roughly 100-700 m inside China. Overlays in
WGS84 or CGCS2000 (the same at map scale) must be shifted before they are
drawn on Gaode tiles, or parcels sit on the wrong fields.

The forward transform is the public one (Krasovsky constants
``a = 6378245``, ``ee = 0.00669342162296594323``); points outside China's
rough bounding box are returned unchanged, as every implementation does. The
inverse is iterative and exact to about 1e-9 degrees.

All functions are vectorised over numpy arrays.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely

__all__ = [
    "gcj02_to_wgs84",
    "out_of_china",
    "shift_coords_to_gcj02",
    "shift_geometries_to_gcj02",
    "wgs84_to_gcj02",
]

log = logging.getLogger(__name__)

_A = 6378245.0
_EE = 0.00669342162296594323


def out_of_china(lon, lat) -> np.ndarray:
    """True where a point lies outside China's rough bounding box (no GCJ-02 offset there).

    Parameters
    ----------
    lon, lat : float or array of float
        Longitude and latitude in degrees.
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The GCJ-02 offset (degrees) at WGS84 ``lon``, ``lat``."""
    x = lon - 105.0
    y = lat - 35.0
    pi = np.pi
    common = (20.0 * np.sin(6.0 * x * pi) + 20.0 * np.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat = dlat + common
    dlat = dlat + (20.0 * np.sin(y * pi) + 40.0 * np.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat = dlat + (160.0 * np.sin(y / 12.0 * pi) + 320.0 * np.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon = dlon + common
    dlon = dlon + (20.0 * np.sin(x * pi) + 40.0 * np.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon = dlon + (150.0 * np.sin(x / 12.0 * pi) + 300.0 * np.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84 / CGCS2000 longitude and latitude (degrees) to GCJ-02.

    Points outside China are returned unchanged.

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(float(lon), 8), round(float(lat), 8)
    (116.4102445, 39.91640428)
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    dlon, dlat = _delta(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(
    lon, lat, *, tol_deg: float = 1e-10, max_iter: int = 30
) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration (exact to ``tol_deg`` degrees).

    Useful for data digitised on Gaode maps (e.g. administrative boundaries
    published in GCJ-02).
    """
    glon = np.asarray(lon, dtype="float64")
    glat = np.asarray(lat, dtype="float64")
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(max_iter):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        elon, elat = flon - glon, flat - glat
        wlon = wlon - elon
        wlat = wlat - elat
        if np.all(np.abs(elon) < tol_deg) and np.all(np.abs(elat) < tol_deg):
            break
    outside = out_of_china(glon, glat)
    return np.where(outside, glon, wlon), np.where(outside, glat, wlat)


def shift_coords_to_gcj02(coords: np.ndarray) -> np.ndarray:
    """Shift an ``(n, 2)`` array of lon/lat coordinates to GCJ-02 (a new array)."""
    coords = np.asarray(coords, dtype="float64")
    if coords.size == 0:
        return coords.copy()
    lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def shift_geometries_to_gcj02(geoms):
    """Shift every coordinate of shapely geometries (lon/lat) to GCJ-02.

    Parameters
    ----------
    geoms : array of shapely geometries, GeoSeries or GeoDataFrame
        In a geographic CRS (EPSG:4490 or EPSG:4326). A GeoSeries or
        GeoDataFrame keeps its CRS label: GCJ-02 has no EPSG code.
    """
    try:
        import geopandas as gpd
    except ImportError:  # pragma: no cover
        gpd = None
    if gpd is not None and isinstance(geoms, (gpd.GeoDataFrame, gpd.GeoSeries)):
        out = geoms.copy()
        shifted = shapely.transform(np.asarray(geoms.geometry.values), shift_coords_to_gcj02)
        if isinstance(out, gpd.GeoDataFrame):
            out[out.geometry.name] = gpd.GeoSeries(shifted, index=out.index, crs=geoms.crs)
        else:
            out = gpd.GeoSeries(shifted, index=out.index, crs=geoms.crs, name=geoms.name)
        return out
    return shapely.transform(np.asarray(geoms), shift_coords_to_gcj02)
