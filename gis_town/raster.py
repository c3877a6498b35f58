"""Rasters: reading, slope in true metres, exact zonal statistics, hillshade.

The toolkit's one raster module, shared by the abandonment-risk analysis
(:mod:`gis_town.analysis.risk`), the acceptance check (slope rule) and the
maps (offline hillshade background).

- :func:`open_raster` reads one band into a :class:`RasterData` (float array
  with ``NaN`` for nodata, affine transform, CRS) and turns every failure
  (missing, corrupt or truncated file, no CRS, rotated grid, no valid cell)
  into a :class:`~gis_town.errors.RasterError` that says what to do.
- :func:`slope_deg` computes slope in degrees by Horn's method with the
  *true* cell size in metres: for a projected DEM from its transform (and
  the CRS's unit), for a DEM in geographic coordinates (EPSG:4490, 4326) per
  row from the CRS's ellipsoid (CGCS2000 = GRS80): east-west cell size
  ``N(phi) cos(phi) dlon`` and north-south ``M(phi) dlat`` with the prime
  vertical and meridional radii of curvature ``N`` and ``M``.
- :func:`zonal_stats` gives exact, cell-coverage-weighted statistics per
  polygon with the ``exactextract`` engine: a parcel smaller than one cell
  gets that cell's value; a parcel half on a cell of 10 and half on a cell
  of 20 gets 15. It also gives the coverage-weighted share of each polygon
  above thresholds (slope > 15 / 25 degrees), and a flag and a reason per
  polygon when it lies partly or wholly outside the raster or on nodata,
  never a silent ``NaN``.
- :func:`hillshade` renders a small shaded-relief image on a Web Mercator
  grid, with its bounds in EPSG:4326, for offline map backgrounds.

Everything is vectorised over cells (numpy) or done in compiled code
(exactextract, GDAL); no Python loop runs per cell, and the loop per polygon
is exactextract's own feature iteration.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.errors
import rasterio.warp
import rasterio.windows
import shapely
from affine import Affine
from pyproj import CRS

from gis_town import settings
from gis_town.errors import CRSError, RasterError

__all__ = [
    "FLAG_LABELS",
    "RasterData",
    "ZONAL_STATS",
    "as_raster",
    "cell_size_m",
    "hillshade",
    "open_raster",
    "reproject_raster",
    "slope_deg",
    "threshold_column",
    "write_raster",
    "zonal_stats",
]

log = logging.getLogger(__name__)

#: Statistics :func:`zonal_stats` can compute (all coverage-weighted, nodata excluded).
ZONAL_STATS: tuple[str, ...] = ("mean", "min", "max", "count", "sum", "stdev")

#: Per-polygon flags of :func:`zonal_stats` and their Chinese / English meaning.
FLAG_LABELS: dict[str, str] = {
    "ok": "正常 / fully on valid cells",
    "partial": "部分在栅格外或无数据 / partly outside the raster or on nodata cells (values from the rest)",
    "nodata": "全部落在无数据像元 / entirely on nodata cells (no value)",
    "outside": "不在栅格范围内 / outside the raster (no value)",
    "empty": "几何为空 / empty or missing geometry (no value)",
}

#: Rows processed at once by :func:`slope_deg` and :func:`hillshade` (bounds memory).
_BLOCK_ROWS = 512


# --------------------------------------------------------------------------- data


@dataclass
class RasterData:
    """One raster band in memory.

    Attributes
    ----------
    array : numpy.ndarray
        2-D float array (float32, or float64 when the source is float64),
        north-up (row 0 is the northern edge), ``NaN`` where the source has
        nodata or is masked.
    transform : affine.Affine
        Cell (col, row) -> (x, y) of the cell's upper-left corner, in ``crs``.
    crs : pyproj.CRS
        Coordinate reference system of the grid.
    nodata : float or None
        The source's nodata value (already turned into ``NaN`` in ``array``).
    name : str
        Name used in messages (``"DEM"``, ``"NDVI 2023"``).
    path : Path or None
        Source file, if read from one.
    """

    array: np.ndarray
    transform: Affine
    crs: CRS
    nodata: float | None = None
    name: str = "raster"
    path: Path | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return tuple(self.array.shape)  # type: ignore[return-value]

    @property
    def res(self) -> tuple[float, float]:
        """Cell size (x, y) in CRS units (degrees for a geographic CRS)."""
        return abs(self.transform.a), abs(self.transform.e)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in CRS units."""
        rows, cols = self.shape
        left, top = self.transform.c, self.transform.f
        return left, top + rows * self.transform.e, left + cols * self.transform.a, top

    @property
    def is_geographic(self) -> bool:
        """True for a lon/lat grid (cell sizes in degrees)."""
        return bool(self.crs.is_geographic)

    @property
    def valid(self) -> np.ndarray:
        """Boolean mask of cells with a value."""
        return np.isfinite(self.array)

    def bounds_lonlat(self) -> tuple[float, float, float, float]:
        """Bounds in lon/lat (EPSG:4490 = CGCS2000; within centimetres of WGS84)."""
        return _bounds_to(self.bounds, self.crs, CRS.from_epsg(4490))

    def describe(self) -> str:
        """One line for messages: name, size, CRS, extent in lon/lat."""
        w, s, e, n = self.bounds_lonlat()
        return (
            f"{self.name} ({self.shape[1]}x{self.shape[0]} 像元 cells, "
            f"{_crs_name(self.crs)}, {w:.4f}-{e:.4f}E {s:.4f}-{n:.4f}N)"
        )


def _crs_name(crs: CRS) -> str:
    epsg = crs.to_epsg()
    return f"EPSG:{epsg}" if epsg else crs.name


def _bounds_to(bounds: Sequence[float], src: CRS, dst: CRS) -> tuple[float, float, float, float]:
    if CRS.from_user_input(src).equals(dst):
        return tuple(float(b) for b in bounds)  # type: ignore[return-value]
    w, s, e, n = rasterio.warp.transform_bounds(src, dst, *bounds, densify_pts=21)
    return float(w), float(s), float(e), float(n)


def _where(path: Path | str | None) -> str | None:
    return None if path is None else str(path)


# --------------------------------------------------------------------------- reading


def open_raster(
    path: str | Path,
    *,
    name: str = "DEM",
    band: int = 1,
    crs: str | CRS | None = None,
    nodata: float | None = None,
    bounds: Sequence[float] | None = None,
    bounds_crs: str | CRS | None = None,
    margin_cells: int = 2,
    allow_empty: bool = False,
) -> RasterData:
    """Read one band of a raster file (GeoTIFF or anything GDAL reads).

    Parameters
    ----------
    path : str or Path
        The raster file. Never modified.
    name : str, default "DEM"
        Name used in messages (e.g. ``"NDVI 2023"``).
    band : int, default 1
        Band number (1-based).
    crs : str or CRS, optional
        CRS to assume when the file has none (e.g. ``"EPSG:4544"``). When the
        file has one, this is ignored with a warning if they differ.
    nodata : float, optional
        Nodata value to use instead of (or when the file has no) declared one.
    bounds : (minx, miny, maxx, maxy), optional
        Read only the window covering these bounds (plus ``margin_cells``
        cells each side): a county DEM need not be read whole for one village.
    bounds_crs : str or CRS, optional
        CRS of ``bounds``; the raster's when omitted.
    margin_cells : int, default 2
        Cells added around ``bounds`` (slope needs neighbours).
    allow_empty : bool, default False
        Return a raster with no valid cell instead of raising.

    Returns
    -------
    RasterData
        Float array with ``NaN`` for nodata (declared nodata value, internal
        mask or alpha band, and non-finite values), transform and CRS.

    Raises
    ------
    RasterError
        The file is missing, not a raster, corrupt or truncated, has no CRS
        (and none was given), a rotated grid, no such band, or no valid cell.
    """
    path = Path(path)
    if not path.exists():
        raise RasterError(
            f"栅格文件不存在 / {name} raster not found: check the path (in the town config "
            "[rasters] or on the command line)",
            path=str(path),
        )
    try:
        ds = rasterio.open(path)
    except rasterio.errors.RasterioIOError as exc:
        raise RasterError(
            f"无法读取栅格 / cannot open the {name} raster ({exc}): expected a GeoTIFF "
            "(.tif); re-export it from your GIS software",
            path=str(path),
        ) from None
    with ds:
        if band < 1 or band > ds.count:
            raise RasterError(
                f"栅格没有第 {band} 波段 / the {name} raster has {ds.count} band(s), band {band} was asked",
                path=str(path),
            )
        src_crs = ds.crs
        if src_crs is None:
            # a GeoTIFF cut short loses its georeferencing tags and its last pixels
            try:
                ds.read(band, window=((ds.height - 1, ds.height), (0, ds.width)))
            except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError) as exc:
                raise RasterError(
                    f"栅格文件损坏或不完整 / the {name} raster is corrupt or truncated ({exc}): "
                    "copy it again or re-export it as GeoTIFF",
                    path=str(path),
                ) from None
        if src_crs is None:
            if crs is None:
                raise RasterError(
                    f"栅格没有坐标系 / the {name} raster has no CRS: add one (e.g. "
                    "gdal_edit.py -a_srs EPSG:4544 FILE, or save it with a .prj/.aux.xml), "
                    "or pass crs= (EPSG:4544 for Gauss-Kruger CM 105E, EPSG:4490 for CGCS2000 lon/lat)",
                    path=str(path),
                )
            the_crs = CRS.from_user_input(crs)
        else:
            the_crs = CRS.from_user_input(src_crs.to_wkt())
            if crs is not None and not the_crs.equals(CRS.from_user_input(crs)):
                log.warning(
                    "%s 自带坐标系 %s，忽略给定的 %s / the raster's own CRS is used, not the one given",
                    path,
                    _crs_name(the_crs),
                    crs,
                )
        tr = ds.transform
        if tr.b != 0 or tr.d != 0:
            raise RasterError(
                f"栅格网格有旋转 / the {name} raster's grid is rotated ({tuple(tr)[:6]}): "
                "warp it to a north-up grid first (gdalwarp FILE OUT.tif)",
                path=str(path),
            )
        window = None
        if bounds is not None:
            window = _window_for(ds, the_crs, bounds, bounds_crs, margin_cells)
            if window is None:
                raise RasterError(
                    f"栅格与要求的范围不重叠 / the {name} raster does not overlap the area asked "
                    f"for ({_fmt_bounds(bounds, bounds_crs or the_crs)}); raster covers "
                    f"{_fmt_bounds(ds.bounds, the_crs)}: check both CRSs",
                    path=str(path),
                )
        try:
            arr = ds.read(band, window=window, masked=True)
        except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError) as exc:
            raise RasterError(
                f"栅格文件损坏或不完整 / the {name} raster is corrupt or truncated ({exc}): "
                "copy it again or re-export it",
                path=str(path),
            ) from None
        win_tr = ds.window_transform(window) if window is not None else tr
        src_nodata = ds.nodata
        dtype = np.float64 if arr.dtype == np.float64 else np.float32
    data = np.ma.getdata(arr).astype(dtype, copy=True)
    mask = np.ma.getmaskarray(arr)
    if nodata is not None:
        mask = mask | (data == nodata)
    data[mask | ~np.isfinite(data)] = np.nan
    out = RasterData(
        array=data,
        transform=win_tr,
        crs=the_crs,
        nodata=nodata if nodata is not None else src_nodata,
        name=name,
        path=path,
    )
    out = _north_up(out)
    if not allow_empty and not np.isfinite(out.array).any():
        raise RasterError(
            f"栅格没有有效值 / the {name} raster has no valid cell (all nodata"
            f"{'' if window is None else ' in the area asked for'}; nodata value {out.nodata}): "
            "check the nodata setting or the file",
            path=str(path),
        )
    log.debug("读入栅格 read %s", out.describe())
    return out


def _fmt_bounds(bounds: Sequence[float], crs: Any) -> str:
    try:
        w, s, e, n = _bounds_to(bounds, CRS.from_user_input(crs), CRS.from_epsg(4490))
        return f"{w:.4f}-{e:.4f}E {s:.4f}-{n:.4f}N"
    except Exception:
        return ", ".join(f"{b:.3f}" for b in bounds)


def _window_for(ds, crs: CRS, bounds, bounds_crs, margin: int):
    b = tuple(float(x) for x in bounds)
    if bounds_crs is not None and not CRS.from_user_input(bounds_crs).equals(crs):
        b = _bounds_to(b, CRS.from_user_input(bounds_crs), crs)
    win = rasterio.windows.from_bounds(*b, transform=ds.transform)
    col0 = math.floor(win.col_off) - margin
    row0 = math.floor(win.row_off) - margin
    col1 = math.ceil(win.col_off + win.width) + margin
    row1 = math.ceil(win.row_off + win.height) + margin
    col0, row0 = max(col0, 0), max(row0, 0)
    col1, row1 = min(col1, ds.width), min(row1, ds.height)
    if col1 <= col0 or row1 <= row0:
        return None
    return rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)


def _north_up(r: RasterData) -> RasterData:
    """Flip a south-up grid (positive ``e``) and a west-going one so row 0 is north, col 0 west."""
    arr, tr = r.array, r.transform
    if tr.e > 0:
        arr = arr[::-1, :]
        tr = Affine(tr.a, 0, tr.c, 0, -tr.e, tr.f + tr.e * arr.shape[0])
    if tr.a < 0:
        arr = arr[:, ::-1]
        tr = Affine(-tr.a, 0, tr.c + tr.a * arr.shape[1], 0, tr.e, tr.f)
    if arr is r.array:
        return r
    return replace(r, array=np.ascontiguousarray(arr), transform=tr)


def as_raster(
    obj: str | Path | RasterData | np.ndarray,
    *,
    transform: Affine | Sequence[float] | None = None,
    crs: str | CRS | None = None,
    nodata: float | None = None,
    name: str = "raster",
) -> RasterData:
    """Turn a path, a :class:`RasterData` or a 2-D array (+ ``transform``, ``crs``) into RasterData.

    Arrays are copied to float (``nodata`` values become ``NaN``).
    """
    if isinstance(obj, RasterData):
        return obj
    if isinstance(obj, (str, Path)):
        return open_raster(obj, name=name, crs=crs, nodata=nodata)
    arr = np.asarray(obj)
    if arr.ndim != 2:
        raise RasterError(f"栅格数组须为二维 / the {name} array must be 2-D, got shape {arr.shape}")
    if transform is None or crs is None:
        raise RasterError(
            f"数组缺少 transform 或 crs / the {name} array needs transform= (affine) and crs= "
            "(e.g. EPSG:4544) to place it on the ground"
        )
    tr = transform if isinstance(transform, Affine) else Affine(*transform[:6])
    if tr.b != 0 or tr.d != 0:
        raise RasterError(f"栅格网格有旋转 / the {name} grid is rotated: warp it to north-up first")
    data = arr.astype(np.float64 if arr.dtype == np.float64 else np.float32, copy=True)
    if nodata is not None:
        data[data == nodata] = np.nan
    data[~np.isfinite(data)] = np.nan
    return _north_up(
        RasterData(array=data, transform=tr, crs=CRS.from_user_input(crs), nodata=nodata, name=name)
    )


def write_raster(
    raster: RasterData, path: str | Path, *, dtype: str | None = None, nodata: float = -9999.0
) -> Path:
    """Write a RasterData as a compressed GeoTIFF, atomically (``NaN`` -> ``nodata``).

    Parameters
    ----------
    raster : RasterData
    path : path
        Target ``.tif``.
    dtype : str, optional
        Output data type (the array's when omitted; integer types round).
    nodata : float, default -9999
        Value written for ``NaN`` cells.
    """
    from gis_town.errors import OutputError
    from gis_town.io.write import atomic_path

    path = Path(path)
    dtype = dtype or str(raster.array.dtype)
    arr = np.where(np.isfinite(raster.array), raster.array, nodata)
    if np.issubdtype(np.dtype(dtype), np.integer):
        arr = np.rint(arr)
    profile = {
        "driver": "GTiff",
        "height": raster.shape[0],
        "width": raster.shape[1],
        "count": 1,
        "dtype": dtype,
        "crs": raster.crs.to_wkt(),
        "transform": raster.transform,
        "nodata": nodata,
        "compress": "deflate",
        "tiled": raster.shape[0] >= 256 and raster.shape[1] >= 256,
    }
    try:
        with atomic_path(path) as tmp, rasterio.open(tmp, "w", **profile) as dst:
            dst.write(arr.astype(dtype), 1)
    except OSError as exc:
        raise OutputError(f"无法写出栅格 / cannot write the raster: {exc}", path=str(path)) from exc
    return path


def reproject_raster(
    raster: RasterData,
    dst_crs: str | CRS,
    *,
    resolution: float | None = None,
    resampling: str = "bilinear",
) -> RasterData:
    """Warp a raster to another CRS (GDAL warp; ``NaN`` stays nodata).

    Parameters
    ----------
    raster : RasterData
    dst_crs : str or CRS
        Target CRS.
    resolution : float, optional
        Target cell size in target units; GDAL's default (about the source's
        cell size) when omitted.
    resampling : str, default "bilinear"
        A :class:`rasterio.enums.Resampling` name (``"nearest"`` for classes).
    """
    from rasterio.enums import Resampling

    dst = CRS.from_user_input(dst_crs)
    if raster.crs.equals(dst):
        return raster
    rows, cols = raster.shape
    kw = {"resolution": resolution} if resolution else {}
    tr, width, height = rasterio.warp.calculate_default_transform(
        raster.crs, dst, cols, rows, *raster.bounds, **kw
    )
    out = np.full((height, width), np.nan, dtype=raster.array.dtype)
    rasterio.warp.reproject(
        raster.array,
        out,
        src_transform=raster.transform,
        src_crs=raster.crs,
        src_nodata=np.nan,
        dst_transform=tr,
        dst_crs=dst,
        dst_nodata=np.nan,
        resampling=Resampling[resampling],
    )
    return RasterData(
        array=out, transform=tr, crs=dst, nodata=raster.nodata, name=raster.name, path=raster.path
    )


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
    from rasterio.enums import Resampling

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
        tr, width, height = rasterio.warp.calculate_default_transform(
            r.crs, "EPSG:3857", r.shape[1], r.shape[0], *r.bounds
        )
        warped = np.full((height, width), np.nan, dtype=np.float32)
        rasterio.warp.reproject(
            shade,
            warped,
            src_transform=r.transform,
            src_crs=r.crs,
            src_nodata=np.nan,
            dst_transform=tr,
            dst_crs="EPSG:3857",
            dst_nodata=np.nan,
            resampling=Resampling.bilinear,
        )
        grid = RasterData(array=warped, transform=tr, crs=CRS.from_epsg(3857), name="hillshade")
    img = np.zeros(grid.shape, dtype=np.uint8)
    ok = np.isfinite(grid.array)
    img[ok] = (1.0 + np.round(grid.array[ok] * 254.0)).astype(np.uint8)
    bounds = _bounds_to(grid.bounds, grid.crs, CRS.from_epsg(4326))
    return img, bounds


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


# --------------------------------------------------------------------------- zonal statistics


def threshold_column(threshold: float, prefix: str = "") -> str:
    """Column name of the share above ``threshold``: ``share_gt15``, ``share_gt2_5``."""
    t = f"{float(threshold):g}".replace(".", "_").replace("-", "m")
    return f"{prefix}share_gt{t}"


def _ee():
    """Import exactextract lazily and build the small adapter classes once."""
    global _EE
    if _EE is not None:
        return _EE
    from exactextract import Operation, exact_extract
    from exactextract._exactextract import Feature
    from exactextract.feature import FeatureSource
    from exactextract.raster import RasterSource
    from exactextract.writer import Writer

    class _WkbFeature(Feature):
        """A feature holding WKB and a row number; results land in ``vals``."""

        def __init__(self, wkb: bytes | None, idx: int) -> None:
            Feature.__init__(self)
            self.wkb = wkb
            self.vals: dict[str, Any] = {"idx": idx}

        def geometry(self):
            return self.wkb

        def set_geometry_format(self) -> str:
            return "wkb"

        def get(self, name: str):
            return self.vals[name]

        def set(self, name: str, value) -> None:
            self.vals[name] = value

        def fields(self) -> list[str]:
            return list(self.vals)

        def set_geometry(self, wkb) -> None:  # geometry is never written back
            pass

    class _WkbSource(FeatureSource):
        """Features straight from a WKB array (no GeoJSON round trip, unlike GeoDataFrame input)."""

        def __init__(self, wkbs: np.ndarray, rows: np.ndarray, srs_wkt: str) -> None:
            super().__init__()
            self.wkbs, self.rows, self.wkt = wkbs, rows, srs_wkt

        def count(self) -> int:
            return len(self.rows)

        def __iter__(self):
            for w, i in zip(self.wkbs, self.rows):
                yield _WkbFeature(w, int(i))

        def srs_wkt(self) -> str:
            return self.wkt

    class _ArrayWriter(Writer):
        """Collects each feature's cell values, coverage fractions and total coverage by row."""

        def __init__(self, n: int) -> None:
            super().__init__()
            self.n = n
            self.values: list[np.ndarray | None] = [None] * n
            self.coverage: list[np.ndarray | None] = [None] * n
            self.cover_all = np.zeros(n)

        def add_operation(self, op) -> None:
            pass

        def add_column(self, col_name: str) -> None:
            pass

        def add_geometry(self) -> None:
            pass

        def write(self, feature) -> None:
            f = _WkbFeature(None, -1)
            feature.copy_to(f)
            v = f.vals
            i = v["idx"]
            self.values[i] = v.get("values")
            self.coverage[i] = v.get("coverage")
            c = v.get("cover_all")
            self.cover_all[i] = 0.0 if c is None else c

        def features(self):
            return self

    class _ArraySource(RasterSource):
        """An in-memory grid (NaN = nodata) read window by window."""

        def __init__(self, mat: np.ndarray, extent, wkt: str, name: str = "r") -> None:
            super().__init__()
            self.mat, self.ext, self.wkt = mat, extent, wkt
            self._last = None
            self.set_name(name)

        def res(self):
            ny, nx = self.mat.shape
            return ((self.ext[2] - self.ext[0]) / nx, (self.ext[3] - self.ext[1]) / ny)

        def srs_wkt(self):
            return self.wkt

        def extent(self):
            return self.ext

        def nodata_value(self):
            return None

        def read_window(self, x0, y0, nx, ny):
            w = self.mat[y0 : y0 + ny, x0 : x0 + nx]
            self._last = w  # hold the window while exactextract reads it
            return w

    _EE = {
        "Operation": Operation,
        "exact_extract": exact_extract,
        "source": _WkbSource,
        "writer": _ArrayWriter,
        "raster": _ArraySource,
    }
    return _EE


_EE: dict[str, Any] | None = None


def zonal_stats(
    polygons: gpd.GeoDataFrame | gpd.GeoSeries,
    raster: str | Path | RasterData,
    *,
    stats: Iterable[str] = ("mean", "min", "max", "count"),
    thresholds: Iterable[float] | Mapping[str, float] | None = None,
    reproject: str = "polygons",
    prefix: str = "",
    layer: str = "polygons",
    id_field: str | None = None,
    partial_tol: float = 1e-3,
) -> pd.DataFrame:
    """Exact zonal statistics: every cell weighted by the fraction of it the polygon covers.

    Parameters
    ----------
    polygons : GeoDataFrame or GeoSeries
        Polygons with a CRS (any).
    raster : path or RasterData
        The raster; a path is read only over the polygons' extent.
    stats : iterable of str
        Any of :data:`ZONAL_STATS`. ``mean`` is the coverage-weighted mean
        ``sum(c_i v_i) / sum(c_i)`` over valid cells (``c_i`` = fraction of
        cell i inside the polygon); ``count`` is ``sum(c_i)`` (cells, may be
        fractional); ``min`` / ``max`` over cells the polygon touches with
        non-zero coverage; ``sum`` is ``sum(c_i v_i)``.
    thresholds : iterable of float, or mapping column -> float, optional
        For each ``t``, the coverage-weighted share of the polygon's valid
        area where the value is > ``t`` (0-1), in column
        ``threshold_column(t, prefix)`` (e.g. ``slope_share_gt25``) or the
        mapping's key.
    reproject : {"polygons", "raster"}, default "polygons"
        Bring the polygons to the raster's CRS (exact, the default), or warp
        the raster to the polygons' CRS (bilinear; for rasters whose grid
        you want in the polygons' projection).
    prefix : str
        Prefix of every output column (``"slope_"`` -> ``slope_mean``).
    layer : str
        Layer name for messages.
    id_field : str, optional
        Column of ``polygons`` copied to the output (besides the index).
    partial_tol : float, default 1e-3
        Share of a polygon outside the raster or on nodata above which it is
        flagged ``partial``.

    Returns
    -------
    DataFrame
        Indexed like ``polygons``: the statistics, the threshold shares,
        ``{prefix}valid_share`` (share of the polygon's area on valid cells),
        ``{prefix}flag`` (``ok``, ``partial``, ``nodata``, ``outside``,
        ``empty``; see :data:`FLAG_LABELS`) and ``{prefix}note`` (Chinese /
        English reason, empty when ok). Statistics are ``NaN`` only for
        polygons flagged ``nodata``, ``outside`` or ``empty``.

    Raises
    ------
    RasterError
        When no polygon overlaps the raster at all (wrong area or wrong CRS).
    CRSError
        When the polygons have no CRS.
    """
    stats = list(dict.fromkeys(stats))
    bad = [s for s in stats if s not in ZONAL_STATS]
    if bad:
        raise ValueError(f"unknown statistics {bad}; known: {', '.join(ZONAL_STATS)}")
    if thresholds is None:
        thr: dict[str, float] = {}
    elif isinstance(thresholds, Mapping):
        thr = {str(k): float(v) for k, v in thresholds.items()}
    else:
        thr = {threshold_column(t, prefix): float(t) for t in thresholds}
    if reproject not in ("polygons", "raster"):
        raise ValueError(f"reproject must be 'polygons' or 'raster', got {reproject!r}")
    geoms = polygons.geometry if isinstance(polygons, gpd.GeoDataFrame) else polygons
    if geoms.crs is None:
        raise CRSError(
            "多边形没有坐标系 / the polygons have no CRS: set one (EPSG:4490 for CGCS2000 lon/lat)",
            layer=layer,
        )
    n = len(geoms)
    index = polygons.index

    if isinstance(raster, (str, Path)):
        try:  # the extent's corners, not every vertex, to lon/lat
            bbox = np.asarray(_bounds_to(geoms.total_bounds, geoms.crs, CRS(4490))) if n else None
        except Exception:
            bbox = None
        if bbox is not None and np.all(np.isfinite(bbox)):
            raster = _open_window(raster, bbox, layer)
        else:
            raster = open_raster(raster, name="raster")
    r: RasterData = raster
    if reproject == "raster":
        r = reproject_raster(r, geoms.crs)
    rcrs = r.crs
    g = geoms if CRS.from_user_input(geoms.crs).equals(rcrs) else geoms.to_crs(rcrs)
    arr = np.asarray(g.values, dtype=object)
    empty = shapely.is_missing(arr) | shapely.is_empty(arr)

    left, bottom, right, top = r.bounds
    box = shapely.box(left, bottom, right, top)
    hit = ~empty & shapely.intersects(arr, box)
    if n and not hit.any() and not empty.all():
        pb = _fmt_bounds(g.total_bounds, rcrs) if np.all(np.isfinite(g.total_bounds)) else "?"
        raise RasterError(
            f"栅格与 {layer} 不重叠 / {r.describe()} does not overlap the {layer} "
            f"({n} features, {pb}): use a raster that covers them, or check both CRSs "
            "(a DEM in EPSG:4544 metres labelled as EPSG:4490 degrees lands far away)",
            path=_where(r.path),
            layer=layer,
        )

    rows = np.flatnonzero(hit)
    # a block of polygons at a time: only one block's cells are in memory
    cover = np.zeros(n)
    res = {k: np.full(n, np.nan) for k in _aggregate([], [], 0, stats, thr)}
    block = max(int(settings.ZONAL_BLOCK_FEATURES), 1)
    for lo in range(0, len(rows), block):
        rb = rows[lo : lo + block]
        seg_values, seg_cover, cover[rb] = _extract_cells(r, arr[rb])
        for k, v in _aggregate(seg_values, seg_cover, len(rb), stats, thr).items():
            res[k][rb] = v
        del seg_values, seg_cover
    out_cols: dict[str, np.ndarray] = {}
    if n and not (cover > 0).any() and not empty.all():
        pb = _fmt_bounds(g.total_bounds, rcrs) if np.all(np.isfinite(g.total_bounds)) else "?"
        raise RasterError(
            f"栅格与 {layer} 不重叠 / {r.describe()} does not overlap the {layer} "
            f"({n} features, {pb}; at most they touch its edge): use a raster that covers "
            "them, or check both CRSs",
            path=_where(r.path),
            layer=layer,
        )
    cell_area = abs(r.transform.a * r.transform.e)
    with np.errstate(invalid="ignore", divide="ignore"):
        total_cells = shapely.area(arr) / cell_area
        inside = np.where(total_cells > 0, np.clip(cover / total_cells, 0.0, 1.0), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        valid_mean = np.where(cover > 0, np.clip(res["__valid_cells"] / cover, 0.0, 1.0), 0.0)
    valid_share = inside * valid_mean
    flag = np.full(n, "ok", dtype=object)
    flag[valid_share < 1.0 - partial_tol] = "partial"
    flag[(cover > 0) & (valid_mean <= 0)] = "nodata"
    flag[cover <= 0] = "outside"
    flag[empty] = "empty"
    note = np.full(n, "", dtype=object)
    part = flag == "partial"
    if part.any():
        out_share = 1.0 - inside[part]
        nod_share = inside[part] * (1.0 - valid_mean[part])
        note[part] = [
            f"{o + d:.0%} 在{r.name}外或无数据 / {o:.0%} outside the {r.name}, {d:.0%} on nodata; "
            "values from the rest"
            for o, d in zip(out_share, nod_share)
        ]
    for code in ("nodata", "outside", "empty"):
        note[flag == code] = f"{FLAG_LABELS[code]} ({r.name})"

    for s in stats:
        v = res[s]
        if s == "count" or s == "sum":
            v = np.where(cover > 0, np.nan_to_num(v, nan=0.0), np.nan)
        out_cols[f"{prefix}{s}"] = v
    for col in thr:
        out_cols[col] = res[col]
    out_cols[f"{prefix}valid_share"] = valid_share
    out_cols[f"{prefix}flag"] = flag
    out_cols[f"{prefix}note"] = note
    out = pd.DataFrame(out_cols, index=index)
    bad_rows = flag != "ok"
    out.loc[
        np.isin(flag, ["nodata", "outside", "empty"]),
        [f"{prefix}{s}" for s in stats if s not in ("count", "sum")] + list(thr),
    ] = np.nan
    out[f"{prefix}flag"] = out[f"{prefix}flag"].astype("string")
    out[f"{prefix}note"] = out[f"{prefix}note"].astype("string")
    if id_field is not None and isinstance(polygons, gpd.GeoDataFrame):
        out.insert(0, id_field, polygons[id_field].to_numpy())
    if bad_rows.any():
        counts = pd.Series(flag[bad_rows]).value_counts().to_dict()
        log.warning(
            "%s: %d 个要素未完全落在%s有效像元上 / %d features not fully on valid %s cells: %s",
            layer,
            int(bad_rows.sum()),
            r.name,
            int(bad_rows.sum()),
            r.name,
            counts,
        )
    return out


def _extract_cells(r: RasterData, geoms: np.ndarray) -> tuple[list, list, np.ndarray]:
    """Run exactextract once: per polygon, the valid cells' values and coverage fractions.

    Returns the per-polygon lists of value and coverage arrays (None where a
    polygon was not processed) and each polygon's total coverage in cells
    including nodata cells (``count`` with a default value for nodata).
    """
    n = len(geoms)
    if not n:
        return [], [], np.zeros(0)
    ee = _ee()
    wkt = r.crs.to_wkt()
    base = ee["raster"](r.array, r.bounds, wkt, name="v")
    op = ee["Operation"]
    ops = [
        op("values", "values", base),
        op("coverage", "coverage", base),
        op("count", "cover_all", base, options={"default_value": -1e30}),
    ]
    writer = ee["writer"](n)
    source = ee["source"](shapely.to_wkb(geoms), np.arange(n), wkt)
    ee["exact_extract"](base, source, ops, include_cols=["idx"], output=writer)
    return writer.values, writer.coverage, writer.cover_all


def _aggregate(
    values: list, coverage: list, n: int, stats: Sequence[str], thr: Mapping[str, float]
) -> dict[str, np.ndarray]:
    """Coverage-weighted statistics of every polygon at once (numpy, no loop per polygon)."""
    lengths = np.array([0 if v is None else len(v) for v in values], dtype=np.int64)
    v = np.concatenate([x for x in values if x is not None and len(x)] or [np.zeros(0)]).astype(
        np.float64
    )
    c = np.concatenate([x for x in coverage if x is not None and len(x)] or [np.zeros(0)]).astype(
        np.float64
    )
    if len(v) != len(c):  # pragma: no cover - exactextract returns them in step
        raise RuntimeError("exactextract returned values and coverage of different lengths")
    ids = np.repeat(np.arange(n), lengths)
    valid = np.bincount(ids, weights=c, minlength=n)
    wsum = np.bincount(ids, weights=c * v, minlength=n)
    has = valid > 0
    out: dict[str, np.ndarray] = {"__valid_cells": valid}
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(has, wsum / valid, np.nan)
        if "mean" in stats:
            out["mean"] = mean
        if "count" in stats:
            out["count"] = valid
        if "sum" in stats:
            out["sum"] = wsum
        if "stdev" in stats:
            dev = c * (v - mean[ids]) ** 2
            out["stdev"] = np.where(
                has, np.sqrt(np.bincount(ids, weights=dev, minlength=n) / valid), np.nan
            )
        nonempty = lengths > 0
        starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])[nonempty]
        for name, ufunc in (("min", np.minimum), ("max", np.maximum)):
            if name in stats:
                res = np.full(n, np.nan)
                if len(v):
                    res[nonempty] = ufunc.reduceat(v, starts)
                out[name] = res
        for col, t in thr.items():
            above = np.bincount(ids, weights=c * (v > t), minlength=n)
            out[col] = np.where(has, above / valid, np.nan)
    return out


def _open_window(path: str | Path, bbox_lonlat: np.ndarray, layer: str) -> RasterData:
    """Open only the part of the raster under the polygons; explain when there is none."""
    path = Path(path)
    try:
        return open_raster(
            path,
            name=path.stem,
            bounds=bbox_lonlat,
            bounds_crs=CRS.from_epsg(4490),
            allow_empty=True,
        )
    except RasterError as exc:
        if "does not overlap" in str(exc):
            raise RasterError(
                f"栅格与 {layer} 不重叠 / the raster does not overlap the {layer} "
                f"({_fmt_bounds(bbox_lonlat, 4490)}): use a raster that covers them, or check both CRSs",
                path=str(path),
                layer=layer,
            ) from None
        raise
