"""Plots and context of the acceptance check: what every rule reads.

:class:`CheckContext` holds the context layers, DEM, NDVI, the Gauss-Kruger
zone and the id field, all given as arguments (the runner
:func:`gis_town.runners.check.run_check` picks them from the config);
:func:`prepare_plots` prepares the plots once for every rule (ids, validity,
Gauss-Kruger geometry, ellipsoidal area); :func:`repair_geometry` is the
``make_valid`` repair. The per-rule output accumulator ``_Out`` is shared by
the rule modules.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_town.errors import CRSError, FieldError, LayerError
from gis_town.geodesy import area_m2, pick_gk_crs, project_to_gk

__all__ = [
    "FAIL",
    "GEOS_REASONS_ZH",
    "NOT_CHECKED",
    "PASS",
    "RULE_COLUMNS",
    "CheckContext",
    "Plots",
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
        """Context from a loaded :class:`~gis_town.io.Town`: its layers, the rasters as given.

        The analysis reads no config: without ``dem`` (``ndvi``) the slope
        (NDVI) rule is ``not_checked``. The runner
        :func:`gis_town.runners.check.run_check` picks the config's rasters.
        """
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
    _require_crs_and_id(plots, id_field, layer)
    gdf = plots.reset_index(drop=True)
    ids = _id_text(gdf[id_field])
    id_missing = ids == ""
    ids[id_missing] = [f"#{i}" for i in np.flatnonzero(id_missing)]
    geom = np.asarray(gdf.geometry.values, dtype=object)
    usable, present, why_zh, why_en = _usable(geom)
    crs = CRS.from_user_input(plots.crs)
    if gk_crs is None:
        base = gpd.GeoSeries(geom[usable] if usable.any() else geom[present], crs=crs)
        if len(base) == 0:
            raise LayerError("地块没有可用的几何 / no plot has a usable geometry", layer=layer)
        gk_crs = pick_gk_crs(base, layer=layer)
    gk_crs = CRS.from_user_input(gk_crs)
    gk, area = _gk_and_area(geom, usable, crs, gk_crs, layer)
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


def _require_crs_and_id(plots: gpd.GeoDataFrame, id_field: str, layer: str) -> None:
    """The plots have a CRS and the id field, or a clear error."""
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


def _usable(geom: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Usable (valid, non-empty polygon) and present geometries; why the others are not usable."""
    n = len(geom)
    missing = shapely.is_missing(geom)
    empty = np.zeros(n, dtype=bool)
    empty[~missing] = shapely.is_empty(geom[~missing])
    present = ~missing & ~empty
    tid = np.full(n, -1)
    tid[present] = shapely.get_type_id(geom[present])
    poly = present & np.isin(tid, _POLY_TYPES)
    valid = np.zeros(n, dtype=bool)
    valid[poly] = shapely.is_valid(geom[poly])
    why_zh = np.full(n, "", dtype=object)
    why_en = np.full(n, "", dtype=object)
    why_zh[~present] = "几何为空，无法检查"
    why_en[~present] = "no geometry, cannot be checked"
    why_zh[present & ~poly] = "几何不是面，无法检查"
    why_en[present & ~poly] = "geometry is not a polygon, cannot be checked"
    why_zh[poly & ~valid] = "几何无效，请先修复"
    why_en[poly & ~valid] = "invalid geometry: fix it first"
    return poly & valid, present, why_zh, why_en


def _gk_and_area(
    geom: np.ndarray, usable: np.ndarray, crs: CRS, gk_crs: CRS, layer: str
) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Kruger geometry and ellipsoidal area (m²) of the usable plots (None / NaN elsewhere)."""
    n = len(geom)
    gk = np.full(n, None, dtype=object)
    area = np.full(n, np.nan)
    if usable.any():
        rows = np.flatnonzero(usable)
        us = gpd.GeoSeries(geom[rows], crs=crs)
        gk[rows] = np.asarray(project_to_gk(us, crs=gk_crs, layer=layer).values, dtype=object)
        area[rows] = area_m2(us, layer=layer)
    return gk, area


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
