"""Terrain from a DEM: cell size in true metres, slope (Horn), hillshade for offline maps.

:func:`slope_deg` computes slope in degrees by Horn's method with the *true*
cell size in metres: for a projected DEM from its transform (and the CRS's
unit), for a DEM in geographic coordinates (EPSG:4490, 4326) per row from
the CRS's ellipsoid (CGCS2000 = GRS80): east-west cell size
``N(phi) cos(phi) dlon`` and north-south ``M(phi) dlat`` with the prime
vertical and meridional radii of curvature ``N`` and ``M``.
:func:`hillshade` renders a small shaded-relief image on a Web Mercator grid,
with its bounds in EPSG:4326, for offline map backgrounds.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
import rasterio.warp
from affine import Affine
from pyproj import CRS

from gis_town.errors import RasterError
from gis_town.raster.reading import RasterData, _bounds_to, _where, as_raster

__all__ = ["cell_size_m", "hillshade", "slope_deg"]

#: Rows processed at once by :func:`slope_deg` and :func:`hillshade` (bounds memory).
_BLOCK_ROWS = 512

# --------------------------------------------------------------------------- slope


def _radii(crs: CRS, lat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Meridional (M) and prime-vertical (N) radii of curvature (m) at latitudes, on the CRS's ellipsoid."""
    ell = crs.ellipsoid
    if ell is None:  # pragma: no cover - every geographic CRS has one
        a, rf = 6378137.0, 298.257222101
    else:
        a, rf = ell.semi_major_metre, ell.inverse_flattening
    f = 1.0 / rf if rf else 0.0
    e2 = f * (2.0 - f)
    s2 = np.sin(np.radians(lat_deg)) ** 2
    w = np.sqrt(1.0 - e2 * s2)
    return a * (1.0 - e2) / w**3, a / w


def cell_size_m(raster: RasterData) -> tuple[np.ndarray, np.ndarray]:
    """True cell size in metres per row: (east-west dx_m, north-south dy_m), each of length rows.

    For a projected CRS the transform's cell size times the CRS's linear unit
    (constant over rows). For a geographic CRS, at each row's centre latitude
    ``phi`` on the CRS's ellipsoid (GRS80 for CGCS2000):
    ``dx = N(phi) cos(phi) * dlon``, ``dy = M(phi) * dlat`` (radians), with
    ``N = a / sqrt(1 - e2 sin2 phi)`` and ``M = a (1 - e2) / (1 - e2 sin2 phi)^1.5``.
    """
    rows = raster.shape[0]
    ax, ay = raster.res
    if raster.is_geographic:
        lat = raster.transform.f + (np.arange(rows) + 0.5) * raster.transform.e
        if np.any(np.abs(lat) > 90):
            raise RasterError(
                f"{raster.name} 的纬度超出 ±90° / latitudes beyond ±90 in a geographic raster: "
                "the grid is probably in metres but labelled as degrees; fix its CRS",
                path=_where(raster.path),
            )
        m, n = _radii(raster.crs, lat)
        dx = n * np.cos(np.radians(lat)) * math.radians(ax)
        dy = m * math.radians(ay)
        return dx, dy
    axis = raster.crs.axis_info
    factor = axis[0].unit_conversion_factor if axis else 1.0
    return np.full(rows, ax * factor), np.full(rows, ay * factor)


def _gradients(
    z: np.ndarray, dx: np.ndarray, dy: np.ndarray, *, edges: str
) -> tuple[np.ndarray, np.ndarray]:
    """Horn gradients dz/dx (east) and dz/dy (north) for the inner rows of ``z``.

    ``z`` has one halo row above and below (NaN outside the raster); the
    result covers ``z[1:-1]``. ``dx``, ``dy`` are per inner row. Missing
    neighbours (edges, nodata) are extrapolated linearly: an edge neighbour
    from the opposite one (``2*centre - opposite``, or the centre when both
    are missing), a corner from its two edge neighbours (``a = b + d - e``);
    exact on a plane. With ``edges="nodata"`` such cells become NaN.
    """
    zp = np.pad(z, ((0, 0), (1, 1)), constant_values=np.nan)
    c = zp[1:-1, 1:-1]
    sl = {
        "a": zp[:-2, :-2],
        "b": zp[:-2, 1:-1],
        "c": zp[:-2, 2:],
        "d": zp[1:-1, :-2],
        "f": zp[1:-1, 2:],
        "g": zp[2:, :-2],
        "h": zp[2:, 1:-1],
        "i": zp[2:, 2:],
    }
    if edges == "nodata":
        bad = np.zeros(c.shape, dtype=bool)
        for v in sl.values():
            bad |= np.isnan(v)
        n = sl
    else:
        bad = None
        n = {}
        # edge neighbours: extrapolate from the opposite one, else the centre
        for k, o in (("b", "h"), ("h", "b"), ("d", "f"), ("f", "d")):
            v = sl[k]
            miss = np.isnan(v)
            if miss.any():
                ext = np.where(miss, 2.0 * c - sl[o], v)
                n[k] = np.where(np.isnan(ext), c, ext)
            else:
                n[k] = v
        # corner neighbours: from the two filled edge neighbours beside them (a = b + d - centre)
        for k, (p, q) in (
            ("a", ("b", "d")),
            ("c", ("b", "f")),
            ("g", ("h", "d")),
            ("i", ("h", "f")),
        ):
            v = sl[k]
            miss = np.isnan(v)
            n[k] = np.where(miss, n[p] + n[q] - c, v) if miss.any() else v
    dzdx = ((n["c"] + 2.0 * n["f"] + n["i"]) - (n["a"] + 2.0 * n["d"] + n["g"])) / (
        8.0 * dx[:, None]
    )
    dzdy = ((n["a"] + 2.0 * n["b"] + n["c"]) - (n["g"] + 2.0 * n["h"] + n["i"])) / (
        8.0 * dy[:, None]
    )
    if bad is not None:
        dzdx[bad] = np.nan
        dzdy[bad] = np.nan
    return dzdx, dzdy


def _blocks(
    raster: RasterData, z_factor: float, edges: str
) -> Iterator[tuple[int, int, np.ndarray, np.ndarray]]:
    rows = raster.shape[0]
    dx_all, dy_all = cell_size_m(raster)
    arr = raster.array
    for r0 in range(0, rows, _BLOCK_ROWS):
        r1 = min(r0 + _BLOCK_ROWS, rows)
        lo, hi = max(r0 - 1, 0), min(r1 + 1, rows)
        z = arr[lo:hi].astype(np.float64) * z_factor
        if r0 == 0:
            z = np.vstack([np.full((1, z.shape[1]), np.nan), z])
        if r1 == rows:
            z = np.vstack([z, np.full((1, z.shape[1]), np.nan)])
        gx, gy = _gradients(z, dx_all[r0:r1], dy_all[r0:r1], edges=edges)
        yield r0, r1, gx, gy


def slope_deg(
    dem: str | Path | RasterData | np.ndarray,
    *,
    transform: Affine | Sequence[float] | None = None,
    crs: str | CRS | None = None,
    z_factor: float = 1.0,
    edges: str = "extrapolate",
    name: str = "DEM",
) -> RasterData:
    """Slope in degrees (Horn's method) with the true cell size in metres.

    Parameters
    ----------
    dem : path, RasterData or 2-D array
        Elevation. An array needs ``transform`` and ``crs``.
    transform, crs : optional
        Grid of an array ``dem``.
    z_factor : float, default 1
        Elevation units to metres (0.3048 for feet).
    edges : {"extrapolate", "nodata"}, default "extrapolate"
        Cells at the raster's edge or next to nodata: extrapolate the missing
        neighbours linearly (exact on planes; every valid cell gets a slope),
        or give them no slope (GDAL ``gdaldem`` without ``-compute_edges``).
    name : str
        Name used in messages.

    Returns
    -------
    RasterData
        Slope in degrees (0-90), float32, ``NaN`` where the DEM has nodata;
        same grid and CRS as the DEM.

    Notes
    -----
    Horn (1981): ``dz/dx = ((c + 2f + i) - (a + 2d + g)) / (8 dx)`` and
    ``dz/dy = ((a + 2b + c) - (g + 2h + i)) / (8 dy)`` over the 3x3 window
    ``a b c / d e f / g h i``; slope ``= atan(hypot(dz/dx, dz/dy))``. ``dx``
    and ``dy`` come from :func:`cell_size_m`, per row for geographic grids.
    """
    if edges not in ("extrapolate", "nodata"):
        raise ValueError(f"edges must be 'extrapolate' or 'nodata', got {edges!r}")
    r = as_raster(dem, transform=transform, crs=crs, name=name)
    out = np.full(r.shape, np.nan, dtype=np.float32)
    for r0, r1, gx, gy in _blocks(r, z_factor, edges):
        s = np.degrees(np.arctan(np.hypot(gx, gy)))
        s[np.isnan(r.array[r0:r1])] = np.nan
        out[r0:r1] = s
    return RasterData(
        array=out, transform=r.transform, crs=r.crs, nodata=None, name=f"{r.name} slope", path=None
    )


# --------------------------------------------------------------------------- hillshade


def hillshade(
    dem: str | Path | RasterData | np.ndarray,
    *,
    transform: Affine | Sequence[float] | None = None,
    crs: str | CRS | None = None,
    azimuth_deg: float = 315.0,
    altitude_deg: float = 45.0,
    z_factor: float = 1.0,
    max_size: int = 2048,
    web_mercator: bool = True,
) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """Shaded relief for an offline map background.

    Parameters
    ----------
    dem : path, RasterData or 2-D array
        Elevation (an array needs ``transform`` and ``crs``).
    azimuth_deg : float, default 315
        Direction the light comes from, clockwise from north (315 = north-west).
    altitude_deg : float, default 45
        Sun height above the horizon.
    z_factor : float, default 1
        Vertical exaggeration (and unit conversion to metres).
    max_size : int, default 2048
        Longest side of the image in pixels; larger DEMs are averaged down first.
    web_mercator : bool, default True
        Warp the image to a Web Mercator (EPSG:3857) grid so that a Leaflet /
        folium ``ImageOverlay`` with the returned bounds lies exactly on the
        basemap (Leaflet stretches overlays linearly in Web Mercator). With
        False the image stays on the DEM's grid.

    Returns
    -------
    image : numpy.ndarray of uint8, shape (rows, cols)
        1 (dark) to 255 (lit); 0 where the DEM has no data (draw it transparent).
    bounds : (west, south, east, north)
        Image extent in EPSG:4326 degrees. For folium:
        ``ImageOverlay(image, bounds=[[south, west], [north, east]])``.
    """
    r = as_raster(dem, transform=transform, crs=crs, name="DEM")
    rows, cols = r.shape
    factor = max(1, math.ceil(max(rows, cols) / max_size))
    if factor > 1:
        r = _coarsen(r, factor)
    alt, az = math.radians(altitude_deg), math.radians(azimuth_deg)
    light = np.array([math.sin(az) * math.cos(alt), math.cos(az) * math.cos(alt), math.sin(alt)])
    shade = np.full(r.shape, np.nan, dtype=np.float32)
    for r0, r1, gx, gy in _blocks(r, z_factor, "extrapolate"):
        norm = np.sqrt(gx * gx + gy * gy + 1.0)
        lit = (-gx * light[0] - gy * light[1] + light[2]) / norm
        lit = np.clip(lit, 0.0, 1.0)
        lit[np.isnan(r.array[r0:r1])] = np.nan
        shade[r0:r1] = lit
    grid = RasterData(array=shade, transform=r.transform, crs=r.crs, name="hillshade")
    if web_mercator:
        grid = _to_web_mercator(grid)
    img = np.zeros(grid.shape, dtype=np.uint8)
    ok = np.isfinite(grid.array)
    img[ok] = (1.0 + np.round(grid.array[ok] * 254.0)).astype(np.uint8)
    bounds = _bounds_to(grid.bounds, grid.crs, CRS.from_epsg(4326))
    return img, bounds


def _to_web_mercator(grid: RasterData) -> RasterData:
    """Warp a shade grid to Web Mercator (EPSG:3857, bilinear), where Leaflet overlays lie true."""
    from rasterio.enums import Resampling

    tr, width, height = rasterio.warp.calculate_default_transform(
        grid.crs, "EPSG:3857", grid.shape[1], grid.shape[0], *grid.bounds
    )
    warped = np.full((height, width), np.nan, dtype=np.float32)
    rasterio.warp.reproject(
        grid.array,
        warped,
        src_transform=grid.transform,
        src_crs=grid.crs,
        src_nodata=np.nan,
        dst_transform=tr,
        dst_crs="EPSG:3857",
        dst_nodata=np.nan,
        resampling=Resampling.bilinear,
    )
    return RasterData(array=warped, transform=tr, crs=CRS.from_epsg(3857), name="hillshade")


def _coarsen(r: RasterData, k: int) -> RasterData:
    """Average k x k blocks (nodata-aware)."""
    rows, cols = r.shape
    R, C = rows // k * k, cols // k * k
    a = r.array[:R, :C].reshape(R // k, k, C // k, k)
    if np.isnan(a).any():
        valid = np.isfinite(a).sum(axis=(1, 3))
        total = np.nansum(a, axis=(1, 3))
        with np.errstate(invalid="ignore", divide="ignore"):
            m = np.where(valid > 0, total / valid, np.nan)
    else:
        m = a.mean(axis=(1, 3))
    tr = r.transform @ Affine.scale(k, k)
    return RasterData(array=m.astype(np.float32), transform=tr, crs=r.crs, name=r.name)
