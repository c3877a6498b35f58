"""Raster rules of the acceptance check: slope from the DEM, vegetation from NDVI.

The rasters come from the :class:`~gis_town.analysis.check.plots.CheckContext`
(given, never read from a config here); without one the rule is ``not_checked``.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town import settings
from gis_town.analysis.check.plots import (
    FAIL,
    PASS,
    CheckContext,
    Plots,
    _ctx,
    _Out,
    _plots,
)

__all__ = [
    "check_ndvi",
    "check_slope",
]

log = logging.getLogger(__name__)


def _zonal(p: Plots, raster, *, stats, thresholds, prefix: str, name: str) -> pd.DataFrame:
    """Exact zonal statistics of usable plots (gis_town.raster), one row per plot (NaN elsewhere)."""
    from gis_town.raster import zonal_stats

    rows = np.flatnonzero(p.usable)
    polys = gpd.GeoSeries(p.gk[rows], crs=p.gk_crs)
    zs = zonal_stats(polys, raster, stats=stats, thresholds=thresholds, prefix=prefix, layer=name)
    zs.index = rows
    return zs.reindex(np.arange(len(p)))


def _split_note(note: str) -> tuple[str, str]:
    """Split a ``"中文 / English"`` note of :mod:`gis_town.raster` into its two halves."""
    zh, sep, en = str(note).partition(" / ")
    return (zh, en) if sep else (str(note), str(note))


def _slope_raster(ctx: CheckContext, p: Plots):
    """Slope (degrees) of the DEM around the plots; reused while it covers the plots asked for.

    A DEM file is read only over the plots' extent (plus a margin); a later
    call for plots outside that window (another batch checked with the same
    context) reads the union of both extents.
    """
    from gis_town.raster import RasterData, open_raster, slope_deg

    dem = ctx.dem
    key = ("slope_raster", str(dem) if not isinstance(dem, RasterData) else id(dem))
    cached = ctx.cache.get(key)
    if isinstance(dem, RasterData):
        if cached is None:
            cached = ctx.cache[key] = (None, slope_deg(dem))
        return cached[1]
    rows = np.flatnonzero(p.usable)
    bbox = gpd.GeoSeries(p.geom[rows], crs=p.crs).to_crs(settings.CGCS2000).total_bounds
    if cached is not None:
        have = cached[0]
        if have[0] <= bbox[0] and have[1] <= bbox[1] and have[2] >= bbox[2] and have[3] >= bbox[3]:
            return cached[1]
        bbox = np.array(
            [
                min(have[0], bbox[0]),
                min(have[1], bbox[1]),
                max(have[2], bbox[2]),
                max(have[3], bbox[3]),
            ]
        )
    raster = open_raster(
        Path(dem), name="DEM", bounds=bbox, bounds_crs=settings.CGCS2000, margin_cells=3
    )
    ctx.cache[key] = (bbox, slope_deg(raster))
    return ctx.cache[key][1]


def check_slope(
    plots,
    context: CheckContext | None = None,
    *,
    limit_deg: float = 25.0,
    max_share_above: float = 0.05,
    max_mean_deg: float | None = None,
) -> pd.DataFrame:
    """Slope from the DEM: mean slope and the share of the plot steeper than ``limit_deg``.

    Slope is computed once from the DEM in degrees with the true cell size
    (:func:`gis_town.raster.slope_deg`, geographic DEMs included) and
    aggregated with exact, coverage-weighted zonal statistics
    (:func:`gis_town.raster.zonal_stats`). A plot fails when its mean slope
    exceeds ``max_mean_deg`` (default ``limit_deg``) or more than
    ``max_share_above`` of its area is steeper than ``limit_deg``. No DEM,
    or a plot off the DEM, is ``not_checked``. ``value`` is the mean slope.
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    max_mean = limit_deg if max_mean_deg is None else max_mean_deg
    o = _Out(
        n, unit="°", limit=f"平均 mean <= {max_mean:g}°, >{limit_deg:g}° <= {max_share_above:.0%}"
    )
    o.unusable(p)
    u = p.usable
    if ctx.dem is None:
        o.not_checked(
            u,
            "未提供 DEM（--dem 或配置 [rasters] dem）",
            "no DEM given (--dem or [rasters] dem in the config)",
        )
        return o.frame()
    if not u.any():
        return o.frame()
    slope = _slope_raster(ctx, p)
    zs = _zonal(
        p,
        slope,
        stats=("mean",),
        thresholds={"share_above": limit_deg},
        prefix="slope_",
        name="plots",
    )
    mean = zs["slope_mean"].to_numpy(dtype=float)
    share = zs["share_above"].to_numpy(dtype=float)
    flag = zs["slope_flag"].astype("object").to_numpy()
    note = zs["slope_note"].astype("object").fillna("").to_numpy()
    has = u & np.isfinite(mean)
    halves = [_split_note(x) for x in note[u & ~has]]
    o.not_checked(
        u & ~has, [f"无坡度值：{a}" for a, _ in halves], [f"no slope value: {b}" for _, b in halves]
    )
    o.value[has] = mean[has]
    share = np.nan_to_num(share, nan=0.0)
    fail = has & ((mean > max_mean) | (share > max_share_above))
    o.status[has] = np.where(fail[has], FAIL, PASS)
    part = [_split_note(x) if f == "partial" else ("", "") for x, f in zip(note[has], flag[has])]
    o.zh[has] = [
        f"平均坡度 {m:.1f}°，>{limit_deg:g}° 占 {s:.0%}" + (f"（{x[0]}）" if x[0] else "")
        for m, s, x in zip(mean[has], share[has], part)
    ]
    o.en[has] = [
        f"mean slope {m:.1f}°, {s:.0%} steeper than {limit_deg:g}°" + (f" ({x[1]})" if x[1] else "")
        for m, s, x in zip(mean[has], share[has], part)
    ]
    return o.frame()


def check_ndvi(
    plots,
    context: CheckContext | None = None,
    *,
    min_mean: float = 0.15,
    bare_below: float = 0.10,
    max_bare_share: float = 0.5,
) -> pd.DataFrame:
    """Vegetation signal from NDVI: plots still under rubble or bare soil stand out.

    Exact, coverage-weighted zonal statistics (:func:`gis_town.raster.zonal_stats`).
    A plot fails when its mean NDVI is below ``min_mean`` or more than
    ``max_bare_share`` of its area has NDVI at or below ``bare_below``. No
    NDVI raster, or a plot off it, is ``not_checked``. ``value`` is the mean NDVI.
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    o = _Out(
        n,
        unit="NDVI",
        limit=f"平均 mean >= {min_mean:g}, <= {bare_below:g} 占 share <= {max_bare_share:.0%}",
    )
    o.unusable(p)
    u = p.usable
    if ctx.ndvi is None:
        o.not_checked(
            u,
            "未提供 NDVI（--ndvi 或配置 [rasters] ndvi）",
            "no NDVI raster given (--ndvi or [rasters] ndvi in the config)",
        )
        return o.frame()
    if not u.any():
        return o.frame()
    raster = ctx.ndvi if not isinstance(ctx.ndvi, (str, Path)) else Path(ctx.ndvi)
    zs = _zonal(
        p,
        raster,
        stats=("mean",),
        thresholds={"veg_share": bare_below},
        prefix="ndvi_",
        name="plots",
    )
    mean = zs["ndvi_mean"].to_numpy(dtype=float)
    bare = 1.0 - zs["veg_share"].to_numpy(dtype=float)
    note = zs["ndvi_note"].astype("object").fillna("").to_numpy()
    has = u & np.isfinite(mean)
    halves = [_split_note(x) for x in note[u & ~has]]
    o.not_checked(
        u & ~has,
        [f"无 NDVI 值：{a}" for a, _ in halves],
        [f"no NDVI value: {b}" for _, b in halves],
    )
    o.value[has] = mean[has]
    bare = np.nan_to_num(bare, nan=0.0)
    fail = has & ((mean < min_mean) | (bare > max_bare_share))
    o.status[has] = np.where(fail[has], FAIL, PASS)
    o.zh[has] = [
        f"平均 NDVI {m:.2f}，裸露（≤{bare_below:g}）占 {b:.0%}"
        for m, b in zip(mean[has], bare[has])
    ]
    o.en[has] = [
        f"mean NDVI {m:.2f}, {b:.0%} bare (<= {bare_below:g})" for m, b in zip(mean[has], bare[has])
    ]
    return o.frame()
