"""Exact zonal statistics: every cell weighted by the fraction of it each polygon covers.

:func:`zonal_stats` gives exact, cell-coverage-weighted statistics per
polygon with the ``exactextract`` engine: a parcel smaller than one cell gets
that cell's value; a parcel half on a cell of 10 and half on a cell of 20
gets 15. It also gives the coverage-weighted share of each polygon above
thresholds (slope > 15 / 25 degrees), and a flag and a reason per polygon when
it lies partly or wholly outside the raster or on nodata, never a silent ``NaN``.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_town import settings
from gis_town.errors import CRSError, RasterError
from gis_town.raster.reading import (
    RasterData,
    _bounds_to,
    _fmt_bounds,
    _where,
    open_raster,
    reproject_raster,
)

__all__ = ["FLAG_LABELS", "ZONAL_STATS", "threshold_column", "zonal_stats"]

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


def threshold_column(threshold: float, prefix: str = "") -> str:
    """Column name of the share above ``threshold``: ``share_gt15``, ``share_gt2_5``."""
    t = f"{float(threshold):g}".replace(".", "_").replace("-", "m")
    return f"{prefix}share_gt{t}"


def _ee() -> dict[str, Any]:
    """Import exactextract and its adapters lazily (:mod:`gis_town.raster._exactextract`)."""
    from gis_town.raster._exactextract import ADAPTERS

    return ADAPTERS


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
    stats, thr = _check_args(stats, thresholds, reproject, prefix)
    geoms = polygons.geometry if isinstance(polygons, gpd.GeoDataFrame) else polygons
    if geoms.crs is None:
        raise CRSError(
            "多边形没有坐标系 / the polygons have no CRS: set one (EPSG:4490 for CGCS2000 lon/lat)",
            layer=layer,
        )
    n = len(geoms)
    r = _load(raster, geoms, layer)
    if reproject == "raster":
        r = reproject_raster(r, geoms.crs)
    g = geoms if CRS.from_user_input(geoms.crs).equals(r.crs) else geoms.to_crs(r.crs)
    arr = np.asarray(g.values, dtype=object)
    empty = shapely.is_missing(arr) | shapely.is_empty(arr)
    hit = ~empty & shapely.intersects(arr, shapely.box(*r.bounds))
    if n and not hit.any() and not empty.all():
        raise _no_overlap(r, g, layer, "")
    cover, res = _extract_blocks(r, arr, np.flatnonzero(hit), stats, thr)
    if n and not (cover > 0).any() and not empty.all():
        raise _no_overlap(r, g, layer, "; at most they touch its edge")
    valid_share, flag, note = _flags(r, arr, cover, res["__valid_cells"], empty, partial_tol)
    out = _table(res, cover, valid_share, flag, note, stats, thr, prefix, polygons.index)
    if id_field is not None and isinstance(polygons, gpd.GeoDataFrame):
        out.insert(0, id_field, polygons[id_field].to_numpy())
    bad_rows = flag != "ok"
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


def _check_args(
    stats: Iterable[str],
    thresholds: Iterable[float] | Mapping[str, float] | None,
    reproject: str,
    prefix: str,
) -> tuple[list[str], dict[str, float]]:
    """The statistics asked for and the threshold columns (column -> threshold); ValueError if unknown."""
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
    return stats, thr


def _load(raster: str | Path | RasterData, geoms: gpd.GeoSeries, layer: str) -> RasterData:
    """The raster itself, or a path read only over the polygons' extent."""
    if not isinstance(raster, (str, Path)):
        return raster
    try:  # the extent's corners, not every vertex, to lon/lat
        bbox = (
            np.asarray(_bounds_to(geoms.total_bounds, geoms.crs, CRS(4490))) if len(geoms) else None
        )
    except Exception:
        bbox = None
    if bbox is not None and np.all(np.isfinite(bbox)):
        return _open_window(raster, bbox, layer)
    return open_raster(raster, name="raster")


def _no_overlap(r: RasterData, g: gpd.GeoSeries, layer: str, extra: str) -> RasterError:
    """The error of polygons that do not overlap the raster (wrong area or wrong CRS)."""
    pb = _fmt_bounds(g.total_bounds, r.crs) if np.all(np.isfinite(g.total_bounds)) else "?"
    hint = (
        " (a DEM in EPSG:4544 metres labelled as EPSG:4490 degrees lands far away)"
        if not extra
        else ""
    )
    return RasterError(
        f"栅格与 {layer} 不重叠 / {r.describe()} does not overlap the {layer} "
        f"({len(g)} features, {pb}{extra}): use a raster that covers them, or check both CRSs"
        f"{hint}",
        path=_where(r.path),
        layer=layer,
    )


def _extract_blocks(
    r: RasterData, arr: np.ndarray, rows: np.ndarray, stats: Sequence[str], thr: Mapping[str, float]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Statistics of the polygons ``arr[rows]``, a block of polygons at a time (one block's cells in memory)."""
    n = len(arr)
    cover = np.zeros(n)
    res = {k: np.full(n, np.nan) for k in _aggregate([], [], 0, stats, thr)}
    block = max(int(settings.ZONAL_BLOCK_FEATURES), 1)
    for lo in range(0, len(rows), block):
        rb = rows[lo : lo + block]
        seg_values, seg_cover, cover[rb] = _extract_cells(r, arr[rb])
        for k, v in _aggregate(seg_values, seg_cover, len(rb), stats, thr).items():
            res[k][rb] = v
        del seg_values, seg_cover
    return cover, res


def _flags(
    r: RasterData,
    arr: np.ndarray,
    cover: np.ndarray,
    valid_cells: np.ndarray,
    empty: np.ndarray,
    partial_tol: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per polygon: share on valid cells, flag (:data:`FLAG_LABELS`) and the note explaining it."""
    n = len(arr)
    cell_area = abs(r.transform.a * r.transform.e)
    with np.errstate(invalid="ignore", divide="ignore"):
        total_cells = shapely.area(arr) / cell_area
        inside = np.where(total_cells > 0, np.clip(cover / total_cells, 0.0, 1.0), 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        valid_mean = np.where(cover > 0, np.clip(valid_cells / cover, 0.0, 1.0), 0.0)
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
    return valid_share, flag, note


def _table(
    res: Mapping[str, np.ndarray],
    cover: np.ndarray,
    valid_share: np.ndarray,
    flag: np.ndarray,
    note: np.ndarray,
    stats: Sequence[str],
    thr: Mapping[str, float],
    prefix: str,
    index: pd.Index,
) -> pd.DataFrame:
    """The output table: statistics, threshold shares, valid share, flag and note (NaN where no value)."""
    out_cols: dict[str, np.ndarray] = {}
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
    out.loc[
        np.isin(flag, ["nodata", "outside", "empty"]),
        [f"{prefix}{s}" for s in stats if s not in ("count", "sum")] + list(thr),
    ] = np.nan
    out[f"{prefix}flag"] = out[f"{prefix}flag"].astype("string")
    out[f"{prefix}note"] = out[f"{prefix}note"].astype("string")
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
