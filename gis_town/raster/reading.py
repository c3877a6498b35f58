"""Reading and writing rasters: :class:`RasterData`, :func:`open_raster`, :func:`as_raster`, warping.

:func:`open_raster` reads one band into a :class:`RasterData` (float array
with ``NaN`` for nodata, affine transform, CRS) and turns every failure
(missing, corrupt or truncated file, no CRS, rotated grid, no valid cell)
into a :class:`~gis_town.errors.RasterError` that says what to do.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import rasterio
import rasterio.errors
import rasterio.warp
import rasterio.windows
from affine import Affine
from pyproj import CRS

from gis_town.errors import RasterError

__all__ = ["RasterData", "as_raster", "open_raster", "reproject_raster", "write_raster"]

log = logging.getLogger(__name__)

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
        the_crs = _source_crs(ds, path, name, band, crs)
        tr = ds.transform
        if tr.b != 0 or tr.d != 0:
            raise RasterError(
                f"栅格网格有旋转 / the {name} raster's grid is rotated ({tuple(tr)[:6]}): "
                "warp it to a north-up grid first (gdalwarp FILE OUT.tif)",
                path=str(path),
            )
        window = None
        if bounds is not None:
            window = _window_or_raise(ds, the_crs, bounds, bounds_crs, margin_cells, name, path)
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


def _source_crs(ds, path: Path, name: str, band: int, crs: str | CRS | None) -> CRS:
    """The raster's CRS: its own (``crs`` ignored with a warning if different), else ``crs``.

    A file without one is checked for truncation first (a GeoTIFF cut short
    loses its georeferencing tags and its last pixels); then without ``crs``
    it is an error that says how to add one.
    """
    src_crs = ds.crs
    if src_crs is not None:
        the_crs = CRS.from_user_input(src_crs.to_wkt())
        if crs is not None and not the_crs.equals(CRS.from_user_input(crs)):
            log.warning(
                "%s 自带坐标系 %s，忽略给定的 %s / the raster's own CRS is used, not the one given",
                path,
                _crs_name(the_crs),
                crs,
            )
        return the_crs
    try:
        ds.read(band, window=((ds.height - 1, ds.height), (0, ds.width)))
    except (rasterio.errors.RasterioIOError, rasterio.errors.RasterioError) as exc:
        raise RasterError(
            f"栅格文件损坏或不完整 / the {name} raster is corrupt or truncated ({exc}): "
            "copy it again or re-export it as GeoTIFF",
            path=str(path),
        ) from None
    if crs is None:
        raise RasterError(
            f"栅格没有坐标系 / the {name} raster has no CRS: add one (e.g. "
            "gdal_edit.py -a_srs EPSG:4544 FILE, or save it with a .prj/.aux.xml), "
            "or pass crs= (EPSG:4544 for Gauss-Kruger CM 105E, EPSG:4490 for CGCS2000 lon/lat)",
            path=str(path),
        )
    return CRS.from_user_input(crs)


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


def _window_or_raise(ds, crs: CRS, bounds, bounds_crs, margin: int, name: str, path: Path):
    """The window of ``ds`` over ``bounds`` (:func:`_window_for`); a RasterError when they do not overlap."""
    window = _window_for(ds, crs, bounds, bounds_crs, margin)
    if window is None:
        raise RasterError(
            f"栅格与要求的范围不重叠 / the {name} raster does not overlap the area asked "
            f"for ({_fmt_bounds(bounds, bounds_crs or crs)}); raster covers "
            f"{_fmt_bounds(ds.bounds, crs)}: check both CRSs",
            path=str(path),
        )
    return window


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
