"""Geometry rules of the acceptance check: validity, ids, overlaps, slivers."""

from __future__ import annotations

import logging
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.errors import GEOSException

from gis_town.analysis.check.plots import (
    _POLY_TYPES,
    FAIL,
    GEOS_REASONS_ZH,
    PASS,
    CheckContext,
    Plots,
    _ctx,
    _Out,
    _plots,
    repair_geometry,
)
from gis_town.geodesy import area_m2

__all__ = [
    "check_duplicate_id",
    "check_geometry_valid",
    "check_overlap",
    "check_sliver",
]

log = logging.getLogger(__name__)


def _read_rejections(p: Plots, o: _Out) -> None:
    """Plots whose geometry the reader set aside (:mod:`gis_town.io.geometry`): say why."""
    fixes = p.gdf.attrs.get("geometry_fixes")
    if fixes is None or len(fixes) == 0:
        return
    rej = fixes[fixes["action"] == "rejected"]
    rows = pd.to_numeric(rej["index"], errors="coerce").to_numpy()
    for r, reason in zip(rows, rej["reason"].astype(str)):
        if r == r and 0 <= r < len(p) and shapely.is_missing(p.geom[int(r)]):
            zh, _, en = reason.partition(" / ")
            o.zh[int(r)] = f"几何为空（读入时剔除：{zh}）"
            o.en[int(r)] = f"empty or null geometry (set aside as read: {en or zh})"


def check_geometry_valid(plots, context: CheckContext | None = None) -> pd.DataFrame:
    """Geometry validity (GEOS): self-intersections, bow-ties, ring problems, empty, wrong type.

    A plot passes when its geometry is a non-empty, valid Polygon or
    MultiPolygon. The detail gives GEOS's reason (``Self-intersection[x y]``)
    and whether ``make_valid`` can repair it (``--write-repaired``).
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    o = _Out(n, unit="", limit="GEOS isValid")
    o.status[:] = FAIL
    geom = p.geom
    missing = shapely.is_missing(geom)
    empty = np.zeros(n, dtype=bool)
    empty[~missing] = shapely.is_empty(geom[~missing])
    o.zh[missing | empty] = "几何为空"
    o.en[missing | empty] = "empty or null geometry"
    _read_rejections(p, o)
    present = ~missing & ~empty
    tid = np.full(n, -1)
    tid[present] = shapely.get_type_id(geom[present])
    notpoly = present & ~np.isin(tid, _POLY_TYPES)
    if notpoly.any():
        types = shapely.get_type_id(geom[notpoly])
        names = np.array(
            [
                "Point",
                "LineString",
                "LinearRing",
                "Polygon",
                "MultiPoint",
                "MultiLineString",
                "MultiPolygon",
                "GeometryCollection",
            ],
            dtype=object,
        )
        t = names[np.clip(types, 0, 7)]
        o.zh[notpoly] = [f"几何类型为 {x}，应为面" for x in t]
        o.en[notpoly] = [f"geometry is {x}, expected Polygon or MultiPolygon" for x in t]
    poly = present & ~notpoly
    o.status[p.usable] = PASS
    o.zh[p.usable] = "几何有效"
    o.en[p.usable] = "valid geometry"
    bad = poly & ~p.usable
    if bad.any():
        reasons = shapely.is_valid_reason(geom[bad])
        fixed = repair_geometry(geom[bad])
        zh, en = [], []
        for r, fx in zip(reasons, fixed):
            key = str(r).split("[")[0].strip()
            can = fx is not None
            zh.append(
                f"{GEOS_REASONS_ZH.get(key, '几何无效')}（GEOS: {r}）"
                + ("，可用 make_valid 修复" if can else "，无法自动修复")
            )
            en.append(
                f"GEOS: {r}"
                + ("; make_valid can repair it" if can else "; cannot be repaired automatically")
            )
        o.zh[bad] = zh
        o.en[bad] = en
    return o.frame()


def check_duplicate_id(plots, context: CheckContext | None = None) -> pd.DataFrame:
    """Every plot id appears once; a blank id fails too.

    ``value`` is how many plots carry the id.
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    o = _Out(n, unit="个 plots", limit="= 1")
    ids = pd.Series(p.ids, dtype=object)
    counts = ids.map(ids.value_counts()).to_numpy(dtype=float)
    counts[p.id_missing] = np.nan
    o.value[:] = counts
    o.status[:] = PASS
    o.zh[:] = "编号唯一"
    o.en[:] = "id is unique"
    o.status[p.id_missing] = FAIL
    o.zh[p.id_missing] = f"缺少编号（{p.id_field}）"
    o.en[p.id_missing] = f"missing id ({p.id_field})"
    dup = ~p.id_missing & (counts > 1)
    if dup.any():
        rows_of: dict[str, list[int]] = {}
        for i in np.flatnonzero(dup):
            rows_of.setdefault(p.ids[i], []).append(int(i))
        o.status[dup] = FAIL
        o.zh[dup] = [
            f"编号 {p.ids[i]} 出现 {len(rows_of[p.ids[i]])} 次（第 {', '.join(map(str, rows_of[p.ids[i]][:10]))} 行）"
            for i in np.flatnonzero(dup)
        ]
        o.en[dup] = [
            f"id {p.ids[i]} appears {len(rows_of[p.ids[i]])} times (rows {', '.join(map(str, rows_of[p.ids[i]][:10]))})"
            for i in np.flatnonzero(dup)
        ]
    return o.frame()


def _pair_areas_m2(a: np.ndarray, b: np.ndarray, crs: CRS) -> np.ndarray:
    if len(a) == 0:
        return np.zeros(0)
    inter = shapely.intersection(a, b)
    return np.nan_to_num(area_m2(gpd.GeoSeries(inter, crs=crs)), nan=0.0)


def check_overlap(
    plots, context: CheckContext | None = None, *, tolerance_m2: float = 1.0
) -> pd.DataFrame:
    """Plots must not overlap each other beyond ``tolerance_m2`` (m², ellipsoidal).

    Candidate pairs come from one :class:`shapely.STRtree` query (never all
    pairs); pairs that only share an edge (``touches``) are dropped before any
    intersection is computed. ``value`` is the plot's total overlap area with
    other plots; the detail names the partners (largest first).
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    o = _Out(n, unit="m²", limit=f"<= {tolerance_m2:g} m²")
    o.unusable(p)
    rows = np.flatnonzero(p.usable)
    total = np.zeros(n)
    partners: dict[int, list[tuple[float, int]]] = {}
    if len(rows) > 1:
        g = p.gk[rows]
        tree = shapely.STRtree(g)
        a, b = tree.query(g, predicate="intersects")
        keep = a < b
        a, b = a[keep], b[keep]
        if len(a):
            inner = ~shapely.touches(g[a], g[b])
            a, b = a[inner], b[inner]
        areas = _pair_areas_m2(g[a], g[b], p.gk_crs)
        pos = areas > 0
        a, b, areas = rows[a[pos]], rows[b[pos]], areas[pos]
        total += np.bincount(a, weights=areas, minlength=n) + np.bincount(
            b, weights=areas, minlength=n
        )
        for i, j, ar in zip(a, b, areas):
            partners.setdefault(int(i), []).append((float(ar), int(j)))
            partners.setdefault(int(j), []).append((float(ar), int(i)))
    u = p.usable
    o.value[u] = total[u]
    fail = u & (total > tolerance_m2)
    ok = u & ~fail
    o.status[ok] = PASS
    o.zh[ok] = [f"与其他地块重叠 {v:,.1f} m²" for v in total[ok]]
    o.en[ok] = [f"overlaps other plots by {v:,.1f} m²" for v in total[ok]]
    o.status[fail] = FAIL
    zh, en = [], []
    for i in np.flatnonzero(fail):
        lst = sorted(partners.get(int(i), []), reverse=True)[:5]
        names = ", ".join(f"{p.ids[j]} ({ar:,.1f} m²)" for ar, j in lst)
        more = len(partners.get(int(i), [])) - len(lst)
        tail = f" +{more}" if more > 0 else ""
        zh.append(f"与 {names}{tail} 重叠，共 {total[i]:,.1f} m²")
        en.append(f"overlaps {names}{tail}: {total[i]:,.1f} m² in all")
    o.zh[fail] = zh
    o.en[fail] = en
    return o.frame()


def _collapses(g: np.ndarray, half_width_m: float) -> np.ndarray:
    """True where a negative buffer of ``half_width_m`` leaves nothing of an area.

    A negative buffer can collapse a valid polygon to an empty, a
    zero-area or (rarely) an invalid result: all three count as nothing
    left. A geometry GEOS cannot buffer at all counts as collapsed too.
    """
    try:
        inner = shapely.buffer(g, -half_width_m, quad_segs=4)
    except GEOSException:
        inner = np.array([_buffer_or_none(x, -half_width_m) for x in g] + [None], dtype=object)[:-1]
    gone = shapely.is_missing(inner)
    gone[~gone] = shapely.is_empty(inner[~gone]) | ~(shapely.area(inner[~gone]) > 0)
    return gone


def _buffer_or_none(g, distance: float):
    try:
        return shapely.buffer(g, distance, quad_segs=4)
    except GEOSException:
        return None


def check_sliver(
    plots,
    context: CheckContext | None = None,
    *,
    min_area_m2: float = 100.0,
    min_width_m: float = 4.0,
    min_thinness: float = 0.0,
) -> pd.DataFrame:
    """Slivers: plots smaller than ``min_area_m2``, nowhere ``min_width_m`` wide, or too thin.

    Width: a plot fails when a negative buffer of ``min_width_m / 2`` (in the
    Gauss-Kruger zone) leaves nothing, i.e. no disc of that diameter fits in
    it. Thinness: ``4*pi*A/P^2`` (1 for a circle) below ``min_thinness``.
    ``value`` is the mean width ``2A/P`` (m), which equals the width of a
    long strip.
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    parts = [f">= {min_area_m2:g} m²"]
    if min_width_m > 0:
        parts.append(f"宽 width >= {min_width_m:g} m")
    if min_thinness > 0:
        parts.append(f"4πA/P² >= {min_thinness:g}")
    o = _Out(n, unit="m", limit=", ".join(parts))
    o.unusable(p)
    rows = np.flatnonzero(p.usable)
    if len(rows) == 0:
        return o.frame()
    g = p.gk[rows]
    area = p.area_m2[rows]
    perim = shapely.length(g)
    with np.errstate(divide="ignore", invalid="ignore"):
        thin = np.where(perim > 0, 4.0 * math.pi * area / perim**2, 0.0)
        width = np.where(perim > 0, 2.0 * area / perim, 0.0)
    small = area < min_area_m2
    narrow = np.zeros(len(rows), dtype=bool)
    if min_width_m > 0:
        narrow = _collapses(g, min_width_m / 2.0)
    thin_f = thin < min_thinness if min_thinness > 0 else np.zeros(len(rows), dtype=bool)
    fail = small | narrow | thin_f
    o.value[rows] = width
    o.status[rows] = np.where(fail, FAIL, PASS)
    zh, en = [], []
    for k in range(len(rows)):
        why_zh, why_en = [], []
        if small[k]:
            why_zh.append(f"面积 {area[k]:,.1f} m² < {min_area_m2:g} m²")
            why_en.append(f"area {area[k]:,.1f} m² < {min_area_m2:g} m²")
        if narrow[k]:
            why_zh.append(f"最宽处不足 {min_width_m:g} m")
            why_en.append(f"nowhere {min_width_m:g} m wide")
        if thin_f[k]:
            why_zh.append(f"形状细长 4πA/P² = {thin[k]:.3f} < {min_thinness:g}")
            why_en.append(f"thin shape 4πA/P² = {thin[k]:.3f} < {min_thinness:g}")
        base_zh = f"面积 {area[k]:,.1f} m²，平均宽 {width[k]:.1f} m，4πA/P² = {thin[k]:.3f}"
        base_en = f"area {area[k]:,.1f} m², mean width {width[k]:.1f} m, 4πA/P² = {thin[k]:.3f}"
        zh.append("；".join(why_zh) if why_zh else base_zh)
        en.append("; ".join(why_en) if why_en else base_en)
    o.zh[rows] = zh
    o.en[rows] = en
    return o.frame()
