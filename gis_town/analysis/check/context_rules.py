"""Context rules of the acceptance check: road access, red line, river buffer, basic farmland, homestead.

Each reads a context layer of the :class:`~gis_town.analysis.check.plots.CheckContext`
(its ``layer`` limit names it); without the layer the rule is ``not_checked``.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town.analysis.check.plots import (
    FAIL,
    PASS,
    CheckContext,
    Plots,
    _ctx,
    _id_text,
    _Out,
    _plots,
)

__all__ = [
    "check_basic_farmland",
    "check_homestead",
    "check_redline",
    "check_river_buffer",
    "check_road_access",
]

log = logging.getLogger(__name__)


def _segments(lines: np.ndarray) -> np.ndarray:
    """Split (multi)line strings into their two-point segments (vectorised)."""
    parts = shapely.get_parts(lines)
    coords, owner = shapely.get_coordinates(parts, return_index=True)
    if len(coords) < 2:
        return parts
    same = owner[:-1] == owner[1:]
    start = coords[:-1][same]
    end = coords[1:][same]
    return shapely.linestrings(np.stack([start, end], axis=1))


def check_road_access(
    plots,
    context: CheckContext | None = None,
    *,
    max_distance_m: float = 100.0,
    hardened_only: bool = False,
    layer: str = "roads",
) -> pd.DataFrame:
    """The plot lies within ``max_distance_m`` of a road (nearest-neighbour query on an STRtree).

    ``value`` is the distance (m, Gauss-Kruger) from the plot's edge to the
    nearest road (0 when a road crosses or touches it).
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    o = _Out(n, unit="m", limit=f"<= {max_distance_m:g} m")
    o.unusable(p)
    roads = ctx.layer_gk(layer, p.gk_crs)
    u = p.usable
    if roads is None:
        o.not_checked(u, f"没有道路图层（{layer}）", f"no road layer ({layer}) given")
        return o.frame()
    if hardened_only:
        if "hardened" not in roads.columns:
            o.not_checked(u, "道路图层没有 hardened 字段", "the road layer has no `hardened` field")
            return o.frame()
        roads = roads[roads["hardened"].fillna(False).astype(bool).to_numpy()]
        if len(roads) == 0:
            o.not_checked(u, "没有已硬化的道路", "no hardened road in the road layer")
            return o.frame()
    rg = np.asarray(roads.geometry.values, dtype=object)
    rg = rg[~(shapely.is_missing(rg) | shapely.is_empty(rg))]
    rows = np.flatnonzero(u)
    if len(rows) == 0 or len(rg) == 0:
        if len(rg) == 0:
            o.not_checked(u, "道路图层为空", "the road layer is empty")
        return o.frame()
    # short segments keep the tree selective (a long winding road's box covers half the town)
    tree = shapely.STRtree(_segments(rg))
    g = p.gk[rows]
    d = np.full(len(rows), np.nan)
    (qi, _ti), dist = tree.query_nearest(
        g, max_distance=max_distance_m + 1.0, return_distance=True, all_matches=False
    )
    d[qi] = dist
    far = np.flatnonzero(np.isnan(d))
    if len(far):  # beyond the limit: the exact distance, for the report
        (qi, _ti), dist = tree.query_nearest(g[far], return_distance=True, all_matches=False)
        d[far[qi]] = dist
    o.value[rows] = d
    fail = d > max_distance_m
    o.status[rows] = np.where(fail, FAIL, PASS)
    kind = "已硬化道路" if hardened_only else "道路"
    kind_en = "hardened road" if hardened_only else "road"
    o.zh[rows] = [f"距最近{kind} {v:,.0f} m" for v in d]
    o.en[rows] = [f"{v:,.0f} m from the nearest {kind_en}" for v in d]
    return o.frame()


def _inside_share(p: Plots, zones: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per usable plot: area inside the zones (m², union: never counted twice) and share."""
    from gis_town.analysis.overlay import inside_outside

    rows = np.flatnonzero(p.usable)
    inside = np.full(len(p), np.nan)
    share = np.full(len(p), np.nan)
    if len(rows) == 0:
        return inside, share
    parcels = gpd.GeoDataFrame(geometry=gpd.GeoSeries(p.gk[rows], crs=p.gk_crs))
    z = zones[[zones.geometry.name]]
    res = inside_outside(parcels, z, parcel_columns=[], parcels_layer="plots", zones_layer="zones")
    r = rows[res["parcel_row"].to_numpy()]
    inside[r] = res["inside_m2"].to_numpy()
    share[r] = res["inside_share"].to_numpy()
    # the plots' own ellipsoidal area is the reference everywhere
    with np.errstate(divide="ignore", invalid="ignore"):
        share[rows] = np.where(
            p.area_m2[rows] > 0, np.minimum(inside[rows] / p.area_m2[rows], 1.0), 0.0
        )
    return inside, share


def _zone_rule(p: Plots, o: _Out, zones, tolerance_m2: float, label_zh: str, label_en: str) -> None:
    inside, share = _inside_share(p, zones)
    u = p.usable
    o.value[u] = inside[u]
    fail = u & (inside > tolerance_m2)
    o.status[u] = np.where(fail[u], FAIL, PASS)
    o.zh[u] = [f"{label_zh}内 {a:,.1f} m²（{s:.1%}）" for a, s in zip(inside[u], share[u])]
    o.en[u] = [f"{a:,.1f} m² ({s:.1%}) inside the {label_en}" for a, s in zip(inside[u], share[u])]


def check_redline(
    plots, context: CheckContext | None = None, *, tolerance_m2: float = 1.0, layer: str = "redline"
) -> pd.DataFrame:
    """Not inside the ecological protection red line (生态保护红线) beyond ``tolerance_m2``.

    ``value`` is the plot's ellipsoidal area inside the red line (m²).
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    o = _Out(len(p), unit="m²", limit=f"<= {tolerance_m2:g} m²")
    o.unusable(p)
    zones = ctx.layer_gk(layer, p.gk_crs)
    if zones is None:
        o.not_checked(
            p.usable,
            f"没有生态保护红线图层（{layer}）",
            f"no ecological red-line layer ({layer}) given",
        )
        return o.frame()
    _zone_rule(p, o, zones, tolerance_m2, "生态保护红线", "ecological red line")
    return o.frame()


def _line_buffers(lines: np.ndarray, distance_m: float) -> np.ndarray:
    """Buffers of lines; a multi-part line buffered part by part, then the parts' union.

    GEOS 3.14 runs out of memory (``std::bad_alloc``, or the OOM killer first)
    buffering one MultiLineString of thousands of tiny overlapping parts (a
    GEOS robustness case); part by part it is a second. Empty results are
    dropped.
    """
    tid = shapely.get_type_id(lines)
    multi = np.isin(tid, (5, 7))
    buf = np.full(len(lines), None, dtype=object)
    buf[~multi] = shapely.buffer(lines[~multi], distance_m, quad_segs=8)
    for i in np.flatnonzero(multi):
        parts = shapely.get_parts(lines[i])
        parts = parts[~shapely.is_empty(parts)]
        buf[i] = (
            shapely.union_all(shapely.buffer(parts, distance_m, quad_segs=8))
            if len(parts)
            else None
        )
    return buf[~(shapely.is_missing(buf) | shapely.is_empty(buf))]


def check_river_buffer(
    plots,
    context: CheckContext | None = None,
    *,
    buffer_m: float = 30.0,
    tolerance_m2: float = 1.0,
    layer: str = "rivers",
) -> pd.DataFrame:
    """Not inside a river's protection buffer (``buffer_m`` each side) beyond ``tolerance_m2``.

    The buffer is built in the Gauss-Kruger zone; overlapping buffers of
    neighbouring segments are counted once. ``value`` is the plot's area
    inside the buffer (m²).
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    o = _Out(len(p), unit="m²", limit=f"<= {tolerance_m2:g} m² (缓冲 buffer {buffer_m:g} m)")
    o.unusable(p)
    rivers = ctx.layer_gk(layer, p.gk_crs)
    if rivers is None:
        o.not_checked(p.usable, f"没有河流图层（{layer}）", f"no river layer ({layer}) given")
        return o.frame()
    key = f"river_buffer:{layer}:{buffer_m}:{p.gk_crs.to_wkt()}"
    if key not in ctx.cache:
        rg = np.asarray(rivers.geometry.values, dtype=object)
        rg = rg[~(shapely.is_missing(rg) | shapely.is_empty(rg))]
        buf = _line_buffers(rg, buffer_m)
        ctx.cache[key] = gpd.GeoDataFrame(geometry=gpd.GeoSeries(buf, crs=p.gk_crs))
    _zone_rule(
        p,
        o,
        ctx.cache[key],
        tolerance_m2,
        f"河道 {buffer_m:g} m 保护范围",
        f"{buffer_m:g} m river buffer",
    )
    return o.frame()


def check_basic_farmland(
    plots,
    context: CheckContext | None = None,
    *,
    min_share: float = 0.9,
    layer: str = "basic_farmland",
) -> pd.DataFrame:
    """Share of the plot inside permanent basic farmland (永久基本农田) at least ``min_share``.

    ``value`` is the share in percent.
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    o = _Out(len(p), unit="%", limit=f">= {min_share:.0%}")
    o.unusable(p)
    zones = ctx.layer_gk(layer, p.gk_crs)
    if zones is None:
        o.not_checked(
            p.usable,
            f"没有永久基本农田图层（{layer}）",
            f"no permanent basic farmland layer ({layer}) given",
        )
        return o.frame()
    inside, share = _inside_share(p, zones)
    u = p.usable
    o.value[u] = share[u] * 100.0
    fail = u & (share < min_share - 1e-12)
    o.status[u] = np.where(fail[u], FAIL, PASS)
    o.zh[u] = [f"{s:.1%}（{a:,.1f} m²）在永久基本农田内" for s, a in zip(share[u], inside[u])]
    o.en[u] = [
        f"{s:.1%} ({a:,.1f} m²) inside permanent basic farmland"
        for s, a in zip(share[u], inside[u])
    ]
    return o.frame()


def check_homestead(
    plots,
    context: CheckContext | None = None,
    *,
    tolerance_m: float = 20.0,
    household_field: str = "household_id",
    layer: str = "resettlement",
) -> pd.DataFrame:
    """A reclaimed plot lies on its household's old homestead (拆旧复垦: 原宅基地).

    The household's point in the resettlement layer marks the old house. The
    plot passes when the point is inside it or within ``tolerance_m``
    (Gauss-Kruger). ``value`` is that distance (m; 0 inside). A household id
    absent from the resettlement layer fails; a blank one is ``not_checked``.
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    o = _Out(n, unit="m", limit=f"<= {tolerance_m:g} m")
    o.unusable(p)
    u = p.usable
    if household_field not in p.gdf.columns:
        o.not_checked(
            u,
            f"地块没有户编号字段 {household_field}",
            f"the plots have no household field {household_field}",
        )
        return o.frame()
    points = ctx.layer_gk(layer, p.gk_crs)
    if points is None:
        o.not_checked(u, f"没有搬迁户图层（{layer}）", f"no resettlement layer ({layer}) given")
        return o.frame()
    if "household_id" not in points.columns:
        o.not_checked(
            u,
            "搬迁户图层没有 household_id 字段",
            "the resettlement layer has no household_id field",
        )
        return o.frame()
    hh = _id_text(p.gdf[household_field])
    blank = u & (hh == "")
    o.not_checked(
        blank, f"户编号（{household_field}）为空", f"household id ({household_field}) is blank"
    )
    pt_ids = _id_text(points["household_id"])
    pt_geom = np.asarray(points.geometry.values, dtype=object)
    lookup = pd.Series(np.arange(len(pt_ids)), index=pt_ids)
    lookup = lookup[~lookup.index.duplicated(keep="first")]
    todo = u & (hh != "")
    pos = pd.Series(hh[todo]).map(lookup).to_numpy(dtype=float)
    rows = np.flatnonzero(todo)
    unknown = rows[np.isnan(pos)]
    o.status[unknown] = FAIL
    o.zh[unknown] = [f"户 {hh[i]} 不在搬迁户图层中" for i in unknown]
    o.en[unknown] = [f"household {hh[i]} is not in the resettlement layer" for i in unknown]
    known = rows[~np.isnan(pos)]
    if len(known):
        pts = pt_geom[pos[~np.isnan(pos)].astype(int)]
        d = shapely.distance(p.gk[known], pts)
        o.value[known] = d
        fail = d > tolerance_m
        o.status[known] = np.where(fail, FAIL, PASS)
        o.zh[known] = [
            f"户 {hh[i]} 旧宅位置{'在地块内' if v == 0 else f'距地块 {v:,.1f} m'}"
            for i, v in zip(known, d)
        ]
        o.en[known] = [
            f"household {hh[i]}'s old house is {'inside the plot' if v == 0 else f'{v:,.1f} m from the plot'}"
            for i, v in zip(known, d)
        ]
    return o.frame()
