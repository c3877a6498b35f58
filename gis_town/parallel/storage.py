"""Partitioned GeoParquet storage, sorted along a Hilbert curve (one folder per layer)."""

from __future__ import annotations

import logging
import math
import os
import shutil
import uuid
from collections.abc import Iterable, Sequence
from pathlib import Path

import geopandas as gpd
import numpy as np

from gis_town.errors import LayerError, OutputError
from gis_town.parallel.cluster import _need_dask

log = logging.getLogger(__name__)


#: Default rows per partition when writing partitioned GeoParquet (about 20-60 MB of parcels).
ROWS_PER_PARTITION = 50_000


_PARQUET_SUFFIXES = (".parquet", ".geoparquet")


def hilbert_index(
    x: np.ndarray,
    y: np.ndarray,
    *,
    bounds: Sequence[float] | None = None,
    level: int = 16,
) -> np.ndarray:
    """Position of points along a Hilbert curve over ``bounds`` (vectorised).

    Parameters
    ----------
    x, y : array of float
        Coordinates (any CRS; the curve is laid over ``bounds``).
    bounds : (minx, miny, maxx, maxy), optional
        Extent the curve covers (default: the points' own extent).
    level : int, default 16
        Curve order: a ``2**level x 2**level`` grid (1 <= level <= 31).

    Returns
    -------
    numpy.ndarray of int64
        Hilbert distance of each point; NaN coordinates get the largest value.
    """
    if not 1 <= level <= 31:
        raise ValueError(f"level must be in 1..31, got {level}")
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    ok = np.isfinite(x) & np.isfinite(y)
    if bounds is None:
        if ok.any():
            bounds = (x[ok].min(), y[ok].min(), x[ok].max(), y[ok].max())
        else:
            bounds = (0.0, 0.0, 1.0, 1.0)
    minx, miny, maxx, maxy = (float(b) for b in bounds)
    n = 1 << level
    sx = (n - 1) / (maxx - minx) if maxx > minx else 0.0
    sy = (n - 1) / (maxy - miny) if maxy > miny else 0.0
    xi = np.clip(np.where(ok, (x - minx) * sx, 0), 0, n - 1).astype(np.int64)
    yi = np.clip(np.where(ok, (y - miny) * sy, 0), 0, n - 1).astype(np.int64)
    d = np.zeros(x.shape, dtype=np.int64)
    s = n >> 1
    while s > 0:
        rx = (xi & s) > 0
        ry = (yi & s) > 0
        d += np.int64(s) * np.int64(s) * ((3 * rx.astype(np.int64)) ^ ry.astype(np.int64))
        # rotate the quadrant so the sub-curve has the canonical orientation
        flip = ~ry & rx
        xi = np.where(flip, n - 1 - xi, xi)
        yi = np.where(flip, n - 1 - yi, yi)
        swap = ~ry
        xi, yi = np.where(swap, yi, xi), np.where(swap, xi, yi)
        s >>= 1
    d[~ok] = np.iinfo(np.int64).max
    return d


def hilbert_sort(gdf: gpd.GeoDataFrame, *, level: int = 16) -> gpd.GeoDataFrame:
    """Return ``gdf`` sorted along a Hilbert curve of its bounding-box centres (stable)."""
    if len(gdf) == 0:
        return gdf
    b = gdf.geometry.bounds.to_numpy()
    cx = (b[:, 0] + b[:, 2]) / 2.0
    cy = (b[:, 1] + b[:, 3]) / 2.0
    order = np.argsort(hilbert_index(cx, cy, level=level), kind="stable")
    return gdf.iloc[order]


def is_geoparquet(path: str | Path) -> bool:
    """True for a ``.parquet`` file or a folder of partitions (named ``*.parquet`` or holding them)."""
    p = Path(path)
    if p.suffix.lower() in _PARQUET_SUFFIXES:
        return p.exists()
    return p.is_dir() and any(p.glob("*.parquet"))


def _partition_files(path: Path) -> list[Path]:
    if path.is_file():
        return [path]
    return sorted(path.glob("*.parquet"))


def write_partitioned(
    data: gpd.GeoDataFrame | Iterable[gpd.GeoDataFrame],
    path: str | Path,
    *,
    rows_per_partition: int | None = ROWS_PER_PARTITION,
    npartitions: int | None = None,
    sort: bool = True,
    compression: str = "zstd",
) -> Path:
    """Write a layer as partitioned GeoParquet: a folder of ``part.NNNNN.parquet`` files.

    Written to a temporary folder beside ``path`` and renamed at the end, so
    a reader never sees half a layer; an existing folder at ``path`` is replaced.

    Parameters
    ----------
    data : GeoDataFrame or iterable of GeoDataFrame
        One layer; or the partitions themselves, written in order (for data
        too large to hold at once), each becoming one file.
    path : path
        The folder (by convention ``<layer>.parquet``).
    rows_per_partition : int, optional
        Rows per file when ``data`` is one GeoDataFrame (default 50,000).
    npartitions : int, optional
        Number of files instead (overrides ``rows_per_partition``).
    sort : bool, default True
        Sort a single GeoDataFrame along a Hilbert curve first
        (:func:`hilbert_sort`), so each partition is a compact patch of land
        and a reader filtering by bounding box skips most files.
    compression : str, default "zstd"
        Parquet compression.

    Returns
    -------
    Path
        The folder.

    Raises
    ------
    OutputError
        When the folder cannot be written.
    """
    path = Path(path)
    if isinstance(data, gpd.GeoDataFrame):
        gdf = hilbert_sort(data) if sort else data
        n = len(gdf)
        if npartitions is None:
            npartitions = max(1, math.ceil(n / max(1, rows_per_partition or n or 1)))
        npartitions = max(1, min(int(npartitions), max(n, 1)))
        edges = np.linspace(0, n, npartitions + 1).round().astype(int)
        chunks: Iterable[gpd.GeoDataFrame] = (gdf.iloc[a:b] for a, b in zip(edges[:-1], edges[1:]))
    else:
        chunks = data
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        tmp.mkdir(parents=True)
        count = 0
        for i, chunk in enumerate(chunks):
            chunk.to_parquet(
                tmp / f"part.{i:05d}.parquet",
                index=False,
                compression=compression,
                write_covering_bbox=True,
            )
            count += 1
        if count == 0:
            raise OutputError("没有要写出的分区 / nothing to write: no partitions", path=str(path))
        if path.exists():
            old = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.old")
            os.replace(path, old)
            os.replace(tmp, path)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise OutputError(
            f"无法写出分区 GeoParquet / cannot write partitioned GeoParquet: {exc}", path=str(path)
        ) from None
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log.info("写出 wrote %s (%d partitions)", path, count)
    return path


def read_partitioned(path: str | Path, *, columns: Sequence[str] | None = None):
    """Open partitioned GeoParquet (a folder or one file) as a dask-geopandas GeoDataFrame.

    One Dask partition per file; the files' bounding boxes become the frame's
    ``spatial_partitions``. Nothing is read until computed.

    Raises
    ------
    LayerError
        When the path is missing or holds no ``.parquet`` file.
    """
    _need_dask()
    import dask_geopandas

    p = Path(path)
    files = _partition_files(p) if p.exists() else []
    if not files:
        raise LayerError(
            "找不到 GeoParquet 分区 / no GeoParquet partitions (*.parquet) here: check the path",
            path=str(p),
        )
    src = str(p) if p.is_file() else [str(f) for f in files]
    try:
        return dask_geopandas.read_parquet(src, columns=list(columns) if columns else None)
    except Exception as exc:
        raise LayerError(
            f"无法读取 GeoParquet / cannot read GeoParquet: {exc}", path=str(p)
        ) from None
