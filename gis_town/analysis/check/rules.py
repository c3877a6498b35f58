"""The acceptance-check rules (验收前检查规则): one small pure function per rule kind.

Every rule function takes the plots (a GeoDataFrame, or :class:`Plots`
prepared once by :func:`prepare_plots`), a :class:`CheckContext` (context
layers, DEM, NDVI, the Gauss-Kruger zone) and its limits as keyword
arguments, and returns a :data:`RULE_COLUMNS` DataFrame with one row per plot
in input order:

``status``
    ``pass``, ``fail`` or ``not_checked`` (the rule could not run for that
    plot: no DEM given, a layer missing, no usable geometry...). Missing data
    is never a pass.
``value``, ``unit``
    The measured value (mean slope in degrees, distance in metres, ...).
``limit``
    The limit, as text (``"<= 15°"``).
``detail_zh``, ``detail_en``
    What was measured (for a pass or a fail), or why the rule could not run.

Geometry-dependent rules measure the plot's own geometry when it is a valid
polygon; a plot with an invalid, empty or non-polygon geometry is
``not_checked`` by them ("fix the geometry first": the validity rule says
why), so no measurement is made on a geometry nobody drew.

Areas are ellipsoidal on CGCS2000 (:func:`gis_town.geodesy.area_m2`); widths,
distances and buffers are in the run's Gauss-Kruger zone. Slope and NDVI come
from :mod:`gis_town.raster` (exact, coverage-weighted zonal statistics).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from shapely.errors import GEOSException

from gis_town import settings
from gis_town.errors import CRSError, FieldError, LayerError
from gis_town.geodesy import area_m2, pick_gk_crs, project_to_gk

__all__ = [
    "GEOS_REASONS_ZH",
    "RULE_COLUMNS",
    "RULE_FUNCTIONS",
    "CheckContext",
    "Plots",
    "check_attributes",
    "check_basic_farmland",
    "check_declared_area",
    "check_duplicate_id",
    "check_geometry_valid",
    "check_homestead",
    "check_ndvi",
    "check_overlap",
    "check_redline",
    "check_river_buffer",
    "check_road_access",
    "check_slope",
    "check_sliver",
    "prepare_plots",
    "repair_geometry",
]

log = logging.getLogger(__name__)

#: Columns every rule function returns.
RULE_COLUMNS: tuple[str, ...] = ("status", "value", "unit", "limit", "detail_zh", "detail_en")

PASS, FAIL, NOT_CHECKED = "pass", "fail", "not_checked"

#: Chinese for GEOS's validity reasons (the text before ``[x y]``).
GEOS_REASONS_ZH: dict[str, str] = {
    "Self-intersection": "自相交",
    "Ring Self-intersection": "环自相交",
    "Too few points": "点数过少",
    "Hole lies outside shell": "内环在外环之外",
    "Nested holes": "内环嵌套",
    "Interior is disconnected": "内部不连通",
    "Nested shells": "外环嵌套",
    "Duplicate Rings": "环重复",
    "Invalid Coordinate": "坐标无效",
    "Ring is not closed": "环未闭合",
    "Topology Validation Error": "拓扑错误",
}

_POLY_TYPES = (3, 6)  # shapely type ids of Polygon, MultiPolygon


# --------------------------------------------------------------------------- context and plots


@dataclass
class CheckContext:
    """What the rules check the plots against.

    Attributes
    ----------
    layers : mapping of str -> GeoDataFrame
        Context layers by schema name (``roads``, ``rivers``, ``redline``,
        ``basic_farmland``, ``resettlement``), validated (e.g. ``town.layers``).
    dem : path or RasterData, optional
        Elevation model for the slope rule.
    ndvi : path or RasterData, optional
        NDVI raster for the vegetation rule.
    gk_crs : CRS, optional
        The run's Gauss-Kruger zone (picked from the plots when omitted).
    id_field : str
        The plots' id field.
    """

    layers: Mapping[str, gpd.GeoDataFrame] = field(default_factory=dict)
    dem: Any = None
    ndvi: Any = None
    gk_crs: CRS | None = None
    id_field: str = "plot_id"
    #: computed once per run (slope raster, projected layers); not part of the inputs
    cache: dict[str, Any] = field(default_factory=dict, repr=False)

    @classmethod
    def from_town(cls, town, *, dem=None, ndvi=None, id_field: str = "plot_id") -> CheckContext:
        """Context from a loaded :class:`~gis_town.io.Town`; rasters default to the town config's.

        The NDVI default is the config's latest year.
        """
        cfg = town.config
        if dem is None and cfg.rasters.dem:
            dem = cfg.resolve(cfg.rasters.dem)
        if ndvi is None and cfg.rasters.ndvi:
            ndvi = cfg.resolve(cfg.rasters.ndvi[max(cfg.rasters.ndvi)])
        gk = town.gk_crs if town.layers else None
        return cls(layers=dict(town.layers), dem=dem, ndvi=ndvi, gk_crs=gk, id_field=id_field)

    def layer(self, name: str) -> gpd.GeoDataFrame | None:
        """The context layer ``name`` or None when absent or empty."""
        gdf = self.layers.get(name)
        if gdf is None or len(gdf) == 0:
            return None
        return gdf

    def layer_gk(self, name: str, crs: CRS) -> gpd.GeoDataFrame | None:
        """The context layer projected to the run's Gauss-Kruger zone (cached)."""
        key = f"gk:{name}:{crs.to_wkt()}"
        if key not in self.cache:
            gdf = self.layer(name)
            self.cache[key] = None if gdf is None else project_to_gk(gdf, crs=crs, layer=name)
        return self.cache[key]


@dataclass
class Plots:
    """Plots prepared once for every rule.

    Attributes
    ----------
    gdf : GeoDataFrame
        The plots as given (index reset), geometries untouched.
    ids : ndarray of object
        Plot ids as text (``"#<row>"`` where blank).
    id_missing : ndarray of bool
        Rows whose id is blank.
    geom : ndarray of geometry
        Input geometries.
    usable : ndarray of bool
        Valid, non-empty polygons: the geometry rules measure these.
    why_unusable_zh, why_unusable_en : ndarray of str
        For the others, why (empty, not a polygon, invalid).
    gk : ndarray of geometry
        Usable geometries in the Gauss-Kruger zone (None elsewhere).
    area_m2 : ndarray of float
        Ellipsoidal area of usable plots (NaN elsewhere).
    crs, gk_crs : CRS
    id_field : str
    """

    gdf: gpd.GeoDataFrame
    ids: np.ndarray
    id_missing: np.ndarray
    geom: np.ndarray
    usable: np.ndarray
    why_unusable_zh: np.ndarray
    why_unusable_en: np.ndarray
    gk: np.ndarray
    area_m2: np.ndarray
    crs: CRS
    gk_crs: CRS
    id_field: str

    def __len__(self) -> int:
        return len(self.ids)

    def usable_gdf(self) -> gpd.GeoDataFrame:
        """Usable plots (GK geometry) with their row number in ``row``."""
        rows = np.flatnonzero(self.usable)
        return gpd.GeoDataFrame(
            {"row": rows}, geometry=gpd.GeoSeries(self.gk[rows], crs=self.gk_crs)
        )


def _blank(values: pd.Series) -> np.ndarray:
    obj = values.astype("object")
    return np.asarray(
        obj.isna() | obj.map(lambda v: isinstance(v, str) and v.strip() == ""), dtype=bool
    )


def _id_text(values: pd.Series) -> np.ndarray:
    """Ids as text: integral floats (1.0 from a shapefile) as ``1``."""
    obj = values.astype("object").to_numpy()
    out = np.empty(len(obj), dtype=object)
    for i, v in enumerate(obj):
        if isinstance(v, float) and v == v and v.is_integer():
            out[i] = str(int(v))
        elif v is None or (isinstance(v, float) and v != v):
            out[i] = ""
        else:
            out[i] = str(v).strip()
    return out


def prepare_plots(
    plots: gpd.GeoDataFrame | Plots,
    *,
    id_field: str = "plot_id",
    gk_crs: CRS | str | None = None,
    layer: str = "plots",
) -> Plots:
    """Prepare plots once for all rules: ids, validity, Gauss-Kruger geometry, ellipsoidal area.

    Parameters
    ----------
    plots : GeoDataFrame
        The plots as read (invalid geometries included). Not modified.
    id_field : str
        The id field.
    gk_crs : CRS, optional
        Gauss-Kruger zone; picked from the plots when omitted.
    layer : str
        Layer name for messages.

    Raises
    ------
    FieldError
        The id field is missing.
    CRSError
        The plots have no CRS.
    """
    if isinstance(plots, Plots):
        return plots
    if plots.crs is None:
        raise CRSError(
            "没有坐标系 / the plots have no CRS: add a .prj or pass the CRS (e.g. EPSG:4490 "
            "for CGCS2000 lon/lat, EPSG:4544 for Gauss-Kruger CM 105E)",
            layer=layer,
        )
    if id_field not in plots.columns:
        have = ", ".join(c for c in plots.columns if c != plots.geometry.name)
        raise FieldError(
            f"缺少编号字段 / the plots have no id field {id_field!r}; they have: {have}. "
            "Rename the column or name it (--id-field)",
            layer=layer,
            field=id_field,
        )
    gdf = plots.reset_index(drop=True)
    n = len(gdf)
    ids = _id_text(gdf[id_field])
    id_missing = ids == ""
    ids[id_missing] = [f"#{i}" for i in np.flatnonzero(id_missing)]
    geom = np.asarray(gdf.geometry.values, dtype=object)
    missing = shapely.is_missing(geom)
    empty = np.zeros(n, dtype=bool)
    empty[~missing] = shapely.is_empty(geom[~missing])
    present = ~missing & ~empty
    tid = np.full(n, -1)
    tid[present] = shapely.get_type_id(geom[present])
    poly = present & np.isin(tid, _POLY_TYPES)
    valid = np.zeros(n, dtype=bool)
    valid[poly] = shapely.is_valid(geom[poly])
    usable = poly & valid
    why_zh = np.full(n, "", dtype=object)
    why_en = np.full(n, "", dtype=object)
    why_zh[~present] = "几何为空，无法检查"
    why_en[~present] = "no geometry, cannot be checked"
    why_zh[present & ~poly] = "几何不是面，无法检查"
    why_en[present & ~poly] = "geometry is not a polygon, cannot be checked"
    why_zh[poly & ~valid] = "几何无效，请先修复"
    why_en[poly & ~valid] = "invalid geometry: fix it first"
    crs = CRS.from_user_input(plots.crs)
    if gk_crs is None:
        base = gpd.GeoSeries(geom[usable] if usable.any() else geom[present], crs=crs)
        if len(base) == 0:
            raise LayerError("地块没有可用的几何 / no plot has a usable geometry", layer=layer)
        gk_crs = pick_gk_crs(base, layer=layer)
    gk_crs = CRS.from_user_input(gk_crs)
    gk = np.full(n, None, dtype=object)
    area = np.full(n, np.nan)
    if usable.any():
        rows = np.flatnonzero(usable)
        us = gpd.GeoSeries(geom[rows], crs=crs)
        gk[rows] = np.asarray(project_to_gk(us, crs=gk_crs, layer=layer).values, dtype=object)
        area[rows] = area_m2(us, layer=layer)
    return Plots(
        gdf=gdf,
        ids=ids,
        id_missing=id_missing,
        geom=geom,
        usable=usable,
        why_unusable_zh=why_zh,
        why_unusable_en=why_en,
        gk=gk,
        area_m2=area,
        crs=crs,
        gk_crs=gk_crs,
        id_field=id_field,
    )


def repair_geometry(geoms: np.ndarray | gpd.GeoSeries) -> np.ndarray:
    """Repair invalid polygons with ``shapely.make_valid``, keeping their polygonal parts.

    Valid geometries are returned as they are; an invalid one that has no
    polygonal part left (a collapsed ring) becomes None.
    """
    arr = np.asarray(
        geoms.values if isinstance(geoms, gpd.GeoSeries) else geoms, dtype=object
    ).copy()
    present = ~(shapely.is_missing(arr) | shapely.is_empty(arr))
    bad = np.zeros(len(arr), dtype=bool)
    bad[present] = ~shapely.is_valid(arr[present])
    if not bad.any():
        return arr
    idx = np.flatnonzero(bad)
    coords, owner = shapely.get_coordinates(arr[idx], return_index=True)
    finite = np.ones(len(idx), dtype=bool)
    finite[np.unique(owner[~np.isfinite(coords).all(axis=1)])] = False
    fixed = np.full(len(idx), None, dtype=object)
    if finite.any():  # GEOS cannot repair NaN/Inf coordinates: those stay None
        fixed[finite] = shapely.make_valid(arr[idx[finite]])
    out = []
    for g in fixed:
        if g is None:
            out.append(None)
            continue
        parts = [
            p for p in shapely.get_parts(g) if shapely.get_type_id(p) in _POLY_TYPES and p.area > 0
        ]
        if not parts:
            out.append(None)
        elif len(parts) == 1:
            out.append(parts[0])
        else:
            out.append(shapely.union_all(parts))
    arr[bad] = np.array(out + [None], dtype=object)[:-1]
    return arr


def _ctx(context: CheckContext | None) -> CheckContext:
    return context if context is not None else CheckContext()


def _plots(plots, context: CheckContext) -> Plots:
    return prepare_plots(plots, id_field=context.id_field, gk_crs=context.gk_crs)


class _Out:
    """Accumulates one rule's per-plot output."""

    def __init__(self, n: int, unit: str = "", limit: str = "") -> None:
        self.status = np.full(n, NOT_CHECKED, dtype=object)
        self.value = np.full(n, np.nan)
        self.unit = unit
        self.limit = np.full(n, limit, dtype=object)
        self.zh = np.full(n, "", dtype=object)
        self.en = np.full(n, "", dtype=object)

    def not_checked(self, mask: np.ndarray, zh, en) -> None:
        self.status[mask] = NOT_CHECKED
        self.zh[mask] = zh
        self.en[mask] = en

    def unusable(self, p: Plots) -> None:
        m = ~p.usable
        self.not_checked(m, p.why_unusable_zh[m], p.why_unusable_en[m])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "status": self.status,
                "value": self.value,
                "unit": self.unit,
                "limit": self.limit,
                "detail_zh": self.zh,
                "detail_en": self.en,
            }
        )


# --------------------------------------------------------------------------- geometry rules


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


def check_declared_area(
    plots,
    context: CheckContext | None = None,
    *,
    rel_tolerance: float = 0.05,
    abs_tolerance_mu: float = 0.3,
    field: str = "declared_area_mu",
    ridge_field: str = "ridge_coef",
) -> pd.DataFrame:
    """Declared area (mu) against the measured ellipsoidal area.

    The measured area is the *net* area ``gross * (1 - ridge_coef)`` when the
    plot carries a terrace-ridge coefficient (田坎系数), the gross area
    otherwise; the detail says which. Passes when
    ``|measured - declared| <= max(abs_tolerance_mu, rel_tolerance * declared)``.
    ``value`` is the measured area in mu. A blank or non-numeric declared
    area, or a ridge coefficient outside [0, 1), is ``not_checked``.
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    o = _Out(n, unit="亩 mu")
    o.unusable(p)
    gdf = p.gdf
    if field not in gdf.columns:
        o.not_checked(p.usable, f"没有申报面积字段 {field}", f"no declared-area field {field}")
        return o.frame()
    declared = pd.to_numeric(gdf[field], errors="coerce").to_numpy(dtype=float)
    if ridge_field in gdf.columns:
        ridge = pd.to_numeric(gdf[ridge_field], errors="coerce").to_numpy(dtype=float)
    else:
        ridge = np.full(n, np.nan)
    has_ridge = np.isfinite(ridge)
    bad_ridge = has_ridge & ((ridge < 0) | (ridge >= 1))
    gross = p.area_m2 * settings.MU_PER_M2
    measured = np.where(
        has_ridge & ~bad_ridge, gross * (1.0 - np.where(has_ridge, ridge, 0.0)), gross
    )
    tol = np.maximum(abs_tolerance_mu, rel_tolerance * np.abs(declared))
    u = p.usable
    no_decl = u & ~(np.isfinite(declared) & (declared > 0))
    o.not_checked(
        no_decl,
        f"申报面积（{field}）为空或无效",
        f"declared area ({field}) blank or not a positive number",
    )
    rb = u & ~no_decl & bad_ridge
    o.not_checked(
        rb,
        [f"田坎系数 {r:g} 不在 0-1 之间" for r in ridge[rb]],
        [f"ridge coefficient {r:g} not in 0..1" for r in ridge[rb]],
    )
    ok = u & ~no_decl & ~bad_ridge
    diff = measured - declared
    fail = ok & (np.abs(diff) > tol)
    o.value[ok] = measured[ok]
    o.limit[ok] = [f"{d:,.2f} ± {t:,.2f}" for d, t in zip(declared[ok], tol[ok])]
    o.status[ok] = np.where(fail[ok], FAIL, PASS)
    zh, en = [], []
    for i in np.flatnonzero(ok):
        rel = diff[i] / declared[i]
        if has_ridge[i] and ridge[i] == 0:
            bz, be = (
                "净面积（田坎系数 0，即毛面积）",
                "net area (ridge coefficient 0: the gross area)",
            )
        elif has_ridge[i]:
            bz = f"净面积（毛面积 {gross[i]:,.2f} 亩 × (1 - 田坎系数 {ridge[i]:g})）"
            be = f"net area (gross {gross[i]:,.2f} mu x (1 - ridge coef {ridge[i]:g}))"
        else:
            bz, be = "毛面积（无田坎系数）", "gross area (no ridge coefficient)"
        zh.append(
            f"{bz} {measured[i]:,.2f} 亩，申报 {declared[i]:,.2f} 亩，差 {diff[i]:+,.2f} 亩（{rel:+.1%}）"
        )
        en.append(
            f"{be} {measured[i]:,.2f} mu, declared {declared[i]:,.2f} mu, difference {diff[i]:+,.2f} mu ({rel:+.1%})"
        )
    o.zh[ok] = zh
    o.en[ok] = en
    return o.frame()


# --------------------------------------------------------------------------- context rules


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
        buf[i] = shapely.union_all(shapely.buffer(parts, distance_m, quad_segs=8)) if len(parts) else None
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


# --------------------------------------------------------------------------- raster rules


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


# --------------------------------------------------------------------------- attributes


def check_attributes(
    plots,
    context: CheckContext | None = None,
    *,
    required: list[str] | tuple[str, ...] = (),
    ranges: Mapping[str, tuple[float, float]] | None = None,
    allowed: Mapping[str, list[str]] | None = None,
) -> pd.DataFrame:
    """Attributes complete: required fields present and non-blank, values in range.

    ``ranges`` maps numeric fields to inclusive ``(min, max)``; ``allowed``
    maps fields to their accepted values. Blank values of optional fields
    pass. ``value`` is the number of problems found.
    """
    ctx = _ctx(context)
    p = _plots(plots, ctx)
    n = len(p)
    ranges = dict(ranges or {})
    allowed = dict(allowed or {})
    o = _Out(n, unit="项 problems", limit="0")
    gdf = p.gdf
    count = np.zeros(n, dtype=int)
    zh = np.full(n, "", dtype=object)
    en = np.full(n, "", dtype=object)

    def add(mask: np.ndarray, mz, me) -> None:
        if not mask.any():
            return
        count[mask] += 1
        mz = np.full(n, mz, dtype=object) if isinstance(mz, str) else np.asarray(mz, dtype=object)
        me = np.full(n, me, dtype=object) if isinstance(me, str) else np.asarray(me, dtype=object)
        sep_z = np.where(zh[mask] == "", "", "；")
        sep_e = np.where(en[mask] == "", "", "; ")
        zh[mask] = zh[mask] + sep_z + mz[mask]
        en[mask] = en[mask] + sep_e + me[mask]

    for f in required:
        if f not in gdf.columns:
            add(np.ones(n, dtype=bool), f"缺少字段 {f}", f"field {f} missing")
            continue
        add(_blank(gdf[f]), f"{f} 为空", f"{f} is blank")
    for f, (lo, hi) in ranges.items():
        if f not in gdf.columns:
            continue  # a missing required field is reported above
        raw = gdf[f]
        blank = _blank(raw)
        num = pd.to_numeric(raw.astype("object").where(~blank), errors="coerce").to_numpy(
            dtype=float
        )
        nonnum = ~blank & ~np.isfinite(num)
        shown = raw.astype("object").to_numpy()
        add(
            nonnum,
            [f"{f} 不是数字：{v!s}" for v in shown],
            [f"{f} is not a number: {v!s}" for v in shown],
        )
        out = ~blank & np.isfinite(num) & ((num < lo) | (num > hi))
        rng = f"[{lo:g}, {hi:g}]"
        add(
            out,
            [f"{f} = {v:g} 超出范围 {rng}" for v in num],
            [f"{f} = {v:g} out of range {rng}" for v in num],
        )
    for f, values in allowed.items():
        if f not in gdf.columns:
            continue
        raw = gdf[f]
        blank = _blank(raw)
        txt = _id_text(raw)
        bad = ~blank & ~np.isin(txt, [str(v) for v in values])
        lst = "/".join(map(str, values))
        add(
            bad,
            [f"{f} = {v} 不在允许值 {lst} 中" for v in txt],
            [f"{f} = {v} not one of {lst}" for v in txt],
        )
    o.value[:] = count
    o.status[:] = np.where(count > 0, FAIL, PASS)
    zh[count == 0] = "属性完整"
    en[count == 0] = "attributes complete"
    o.zh[:] = zh
    o.en[:] = en
    return o.frame()


#: Rule kind -> function (the kinds of :data:`gis_town.analysis.check.rulesets.RULE_KINDS`).
RULE_FUNCTIONS: dict[str, Callable[..., pd.DataFrame]] = {
    "geometry_valid": check_geometry_valid,
    "duplicate_id": check_duplicate_id,
    "overlap": check_overlap,
    "sliver": check_sliver,
    "declared_area": check_declared_area,
    "slope": check_slope,
    "road_access": check_road_access,
    "redline": check_redline,
    "river_buffer": check_river_buffer,
    "homestead": check_homestead,
    "ndvi": check_ndvi,
    "basic_farmland": check_basic_farmland,
    "attributes": check_attributes,
}
