"""Rasters as they are delivered: DEM tiles, NDVI as red and near-infrared bands.

A DEM often comes as several 1-degree tiles (ASTER GDEM, SRTM, Copernicus
GLO-30 GeoTIFFs in EPSG:4326) and NDVI as two band files of a Sentinel-2
(B04 red, B08 NIR) or Landsat 8/9 (B4, B5) scene. The analyses read one
raster; this module turns what was delivered into one:

* :func:`mosaic_vrt` writes a GDAL VRT that mosaics the tiles *virtually*: a
  few kilobytes of XML naming the tiles, no copy of their cells;
* :func:`ndvi_from_bands` computes NDVI = (NIR - red) / (NIR + red) from the
  two bands (after ``value * scale + offset``, with nodata and saturated
  cells left out), block by block, into a float32 GeoTIFF.

Both are written once into a cache folder (:func:`cache_dir`, under the
system's temporary folder) and reused while the inputs are unchanged (the
name holds a hash of the inputs' paths, sizes and times). Inputs are only read.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import numpy as np

from gis_town.errors import RasterError

__all__ = ["cache_dir", "mosaic_vrt", "ndvi_from_bands"]

log = logging.getLogger(__name__)


def cache_dir() -> Path:
    """The folder of derived rasters (``GIS_TOWN_CACHE``, else ``<temp>/gis_town_cache``)."""
    root = Path(os.environ.get("GIS_TOWN_CACHE") or Path(tempfile.gettempdir()) / "gis_town_cache")
    root.mkdir(parents=True, exist_ok=True)
    return root


def _key(paths: Sequence[Path], *extra: object) -> str:
    h = hashlib.sha256()
    for p in paths:
        st = p.stat()
        h.update(f"{p.resolve()}|{st.st_size}|{st.st_mtime_ns}".encode())
    h.update(repr(extra).encode())
    return h.hexdigest()[:16]


def _open(path: Path, what: str):
    import rasterio

    if not path.is_file():
        raise RasterError(f"{what}文件不存在 / {what} file not found", path=str(path))
    try:
        return rasterio.open(path)
    except Exception as exc:
        raise RasterError(f"无法读取栅格 / cannot read the raster: {exc}", path=str(path)) from None


def _tile_info(tiles: Sequence[Path]) -> list[dict]:
    infos = []
    for t in tiles:
        with _open(t, "DEM 分幅") as ds:
            if ds.crs is None:
                raise RasterError("DEM 分幅没有坐标系 / the DEM tile has no CRS", path=str(t))
            if ds.transform.b != 0 or ds.transform.d != 0:
                raise RasterError(
                    "DEM 分幅是旋转网格 / the DEM tile's grid is rotated", path=str(t)
                )
            infos.append(
                {
                    "path": t,
                    "crs": ds.crs,
                    "res": ds.res,
                    "bounds": ds.bounds,
                    "shape": (ds.height, ds.width),
                    "dtype": ds.dtypes[0],
                    "nodata": ds.nodata,
                }
            )
    first = infos[0]
    for info in infos[1:]:
        if info["crs"] != first["crs"]:
            raise RasterError(
                f"DEM 分幅坐标系不一致 / the DEM tiles have different CRSs ({first['crs']} in "
                f"{first['path'].name}, {info['crs']} here): reproject them to one CRS",
                path=str(info["path"]),
            )
    return infos


def mosaic_vrt(tiles: Sequence[str | Path], *, out: str | Path | None = None) -> Path:
    """A virtual mosaic (GDAL VRT) of DEM tiles of one CRS.

    The grid is the finest tiles' cell size over the union of their extents;
    each tile is placed (and resampled, where coarser) by GDAL when read.
    Where tiles overlap, the later one in the list wins (GDAL's rule).

    Parameters
    ----------
    tiles : sequence of path
        GeoTIFFs (or any raster GDAL reads) in the same CRS.
    out : path, optional
        The VRT to write (default: in :func:`cache_dir`).

    Returns
    -------
    Path
        The VRT (tile paths inside it are absolute).

    Raises
    ------
    RasterError
        A missing or unreadable tile, tiles in different CRSs, a rotated grid.
    """
    paths = [Path(t) for t in tiles]
    if not paths:
        raise RasterError("DEM 分幅列表为空 / the list of DEM tiles is empty")
    infos = _tile_info(paths)
    rx = min(i["res"][0] for i in infos)
    ry = min(i["res"][1] for i in infos)
    west = min(i["bounds"].left for i in infos)
    north = max(i["bounds"].top for i in infos)
    east = max(i["bounds"].right for i in infos)
    south = min(i["bounds"].bottom for i in infos)
    width, height = round((east - west) / rx), round((north - south) / ry)
    nodata = next((i["nodata"] for i in infos if i["nodata"] is not None), None)
    sources = []
    for i in infos:
        b, (h, w) = i["bounds"], i["shape"]
        x_off, y_off = (b.left - west) / rx, (north - b.top) / ry
        x_size, y_size = (b.right - b.left) / rx, (b.top - b.bottom) / ry
        nd = f"<NODATA>{i['nodata']}</NODATA>" if i["nodata"] is not None else ""
        sources.append(
            f'<ComplexSource resampling="bilinear"><SourceFilename relativeToVRT="0">'
            f"{escape(str(i['path'].resolve()))}</SourceFilename><SourceBand>1</SourceBand>"
            f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/>'
            f'<DstRect xOff="{x_off!r}" yOff="{y_off!r}" xSize="{x_size!r}" ySize="{y_size!r}"/>{nd}</ComplexSource>'
        )
    dtype = {
        "int16": "Int16",
        "uint16": "UInt16",
        "int32": "Int32",
        "float32": "Float32",
        "float64": "Float64",
        "uint8": "Byte",
    }.get(infos[0]["dtype"], "Float32")
    nd_band = f"<NoDataValue>{nodata}</NoDataValue>" if nodata is not None else ""
    xml = (
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{height}"><SRS>{escape(infos[0]["crs"].to_wkt())}</SRS>'
        f"<GeoTransform>{west!r}, {rx!r}, 0, {north!r}, 0, {-ry!r}</GeoTransform>"
        f'<VRTRasterBand dataType="{dtype}" band="1">{nd_band}{"".join(sources)}</VRTRasterBand></VRTDataset>'
    )
    target = Path(out) if out is not None else cache_dir() / f"dem_mosaic_{_key(paths)}.vrt"
    if out is not None or not target.exists():
        from gis_town.io.write import write_text

        write_text(xml, target)
    log.info("DEM 分幅虚拟拼接 / DEM tiles mosaicked virtually: %d tiles -> %s", len(paths), target)
    return target


def _check_pair(red, nir, red_path: Path, nir_path: Path) -> None:
    if red.crs != nir.crs or red.transform != nir.transform or red.shape != nir.shape:
        raise RasterError(
            f"红光与近红外波段的网格不同 / the red and NIR bands are on different grids "
            f"({red_path.name}: {red.shape} {red.crs}; {nir_path.name}: {nir.shape} {nir.crs}): use two "
            "bands of one scene at one resolution (Sentinel-2 B04 and B08, both 10 m)",
            path=str(nir_path),
        )
    if red.crs is None:
        raise RasterError("波段没有坐标系 / the band has no CRS", path=str(red_path))


def _ndvi_block(
    r: np.ndarray, n: np.ndarray, *, scale: float, offset: float, nodata: float | None
) -> np.ndarray:
    """NDVI of one block; NaN where either band has no data or the sum is not positive."""
    bad = ~(np.isfinite(r) & np.isfinite(n))
    if nodata is not None:
        bad |= (r == nodata) | (n == nodata)
    red = r * scale + offset
    nir = n * scale + offset
    total = nir + red
    bad |= total <= 0
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(bad, np.nan, (nir - red) / np.where(bad, 1.0, total))
    return np.clip(out, -1.0, 1.0).astype("float32")


def ndvi_from_bands(
    red: str | Path,
    nir: str | Path,
    *,
    scale: float = 1.0,
    offset: float = 0.0,
    nodata: float | None = None,
    out: str | Path | None = None,
) -> Path:
    """Compute NDVI from red and near-infrared band files into a GeoTIFF.

    ``NDVI = (NIR - red) / (NIR + red)`` on reflectances ``value * scale +
    offset`` (Sentinel-2 L2A since processing baseline 04.00: scale 0.0001,
    offset -0.1; Landsat Collection 2 Level-2: scale 0.0000275, offset -0.2).
    Cells where either band is ``nodata`` (default: the file's own), not
    finite, or where the reflectances do not sum to a positive value are
    NaN. Computed block by block (memory stays at a few blocks).

    Returns
    -------
    Path
        The NDVI GeoTIFF (float32, NaN nodata), in :func:`cache_dir` unless ``out``.

    Raises
    ------
    RasterError
        A missing or unreadable band, the two bands on different grids.
    """
    import rasterio

    red_p, nir_p = Path(red), Path(nir)
    with _open(red_p, "红光波段") as r, _open(nir_p, "近红外波段") as n:
        _check_pair(r, n, red_p, nir_p)
        nd = nodata if nodata is not None else (r.nodata if r.nodata is not None else n.nodata)
        target = (
            Path(out)
            if out is not None
            else cache_dir() / f"ndvi_{_key([red_p, nir_p], scale, offset, nd)}.tif"
        )
        if out is None and target.exists():
            return target
        profile = {
            "driver": "GTiff",
            "width": r.width,
            "height": r.height,
            "count": 1,
            "dtype": "float32",
            "crs": r.crs,
            "transform": r.transform,
            "nodata": float("nan"),
            "tiled": True,
            "blockxsize": 512,
            "blockysize": 512,
            "compress": "deflate",
        }
        from gis_town.io.write import atomic_path

        with atomic_path(target) as tmp, rasterio.open(tmp, "w", **profile) as dst:
            for _, window in dst.block_windows(1):
                a = r.read(1, window=window).astype("float64")
                b = n.read(1, window=window).astype("float64")
                dst.write(
                    _ndvi_block(a, b, scale=scale, offset=offset, nodata=nd), 1, window=window
                )
    log.info(
        "由红光与近红外波段计算 NDVI / NDVI computed from %s and %s -> %s",
        red_p.name,
        nir_p.name,
        target,
    )
    return target
