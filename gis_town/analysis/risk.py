"""Abandoned-farmland risk (撂荒风险): which parcels are likely to be left idle, and why.

The plan: no abandoned land this year (确保年内不发生弃耕撂荒现象); village
leaders go door to door and to the fields. This module gives them, before the
sowing season, a short list of the parcels most at risk in each village, with
the reason for each.

Steps (each a pure function over GeoDataFrames / DataFrames):

1. :func:`parcel_factors` - per parcel, every factor of
   :data:`gis_town.config.RISK_FACTORS` with its unit in its name:
   terrain from the DEM (:func:`terrain_factors`: exact fractional zonal
   statistics of the slope and the elevation), distances in metres in the
   town's Gauss-Kruger zone (:func:`distance_to_nearest_m`,
   :func:`settlement_distance_m`), area and shape (:func:`shape_factors`),
   years idle, NDVI (:func:`ndvi_factors`) and the village's share of
   monitored households (:func:`monitored_share`).
2. :func:`normalise_factors` - each factor to 0-1 (1 = riskiest) by a robust
   min-max over the town's parcels, in the direction of risk.
3. :func:`risk_score` - the weighted sum 0-100 with the config's weights,
   risk class (low / medium / high) with the config's thresholds, and the
   factor that contributes most (``top_factor``) with a readable reason.
4. :func:`validate_risk` - when parcels carry an observed status: ROC AUC of
   the score against it, and a cross-validated logistic regression, both
   without the factors derived from the status itself.
5. :func:`village_summary` and :func:`visit_list` - per village, high-risk
   parcels and mu; the leader's visit list sorted by score, grouped by 社.

See ``docs/risk.md`` for the formulas, units and the validation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_town.config import RISK_FACTORS, RiskSection
from gis_town.errors import ConfigError, FieldError
from gis_town.geodesy import area_m2, m2_to_mu, pick_gk_crs, project_to_gk
from gis_town.raster import RasterData, as_raster, open_raster, slope_deg, zonal_stats

__all__ = [
    "FACTORS",
    "RISK_CLASS_LABELS",
    "RiskValidation",
    "COLUMN_LABELS",
    "Factor",
    "distance_to_nearest_m",
    "monitored_share",
    "ndvi_factors",
    "normalise_factors",
    "parcel_factors",
    "risk_score",
    "settlement_distance_m",
    "shape_factors",
    "status_derived_factors",
    "terrain_factors",
    "validate_risk",
    "village_summary",
    "visit_list",
    "years_idle",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Factor:
    """One risk factor: its Chinese label, unit, and direction of risk.

    ``direction`` is +1 when a larger value means more risk (steeper, farther)
    and -1 when a smaller value does (smaller parcels, lower NDVI).
    """

    name: str
    label: str
    unit: str
    direction: int
    fmt: str = "{:.1f}"


#: Every factor the score knows, with label, unit and direction of risk.
FACTORS: dict[str, Factor] = {
    f.name: f
    for f in [
        Factor("slope_mean_deg", "平均坡度", "°", +1),
        Factor("slope_gt15_share", "坡度>15°占比", "", +1, "{:.0%}"),
        Factor("slope_gt25_share", "坡度>25°占比", "", +1, "{:.0%}"),
        Factor("elevation_m", "海拔", "m", +1, "{:.0f}"),
        Factor("road_distance_m", "距道路", "m", +1, "{:.0f}"),
        Factor("settlement_distance_m", "距居民点", "m", +1, "{:.0f}"),
        Factor("area_mu", "地块面积", "亩", -1, "{:.2f}"),
        Factor("shape_index", "形状指数", "", +1, "{:.2f}"),
        Factor("years_idle", "未耕年数", "年", +1, "{:.0f}"),
        Factor("ndvi_mean", "植被指数NDVI", "", -1, "{:.2f}"),
        Factor("ndvi_change", "NDVI变化", "", -1, "{:+.2f}"),
        Factor("monitored_share", "村三类户占比", "", +1, "{:.0%}"),
    ]
}

#: English names of the factors (for the reason text).
_FACTOR_EN: dict[str, str] = {
    "slope_mean_deg": "mean slope",
    "slope_gt15_share": "share steeper than 15 deg",
    "slope_gt25_share": "share steeper than 25 deg",
    "elevation_m": "elevation",
    "road_distance_m": "distance to road",
    "settlement_distance_m": "distance to settlement",
    "area_mu": "small parcel",
    "shape_index": "irregular shape",
    "years_idle": "years idle",
    "ndvi_mean": "low NDVI",
    "ndvi_change": "NDVI change",
    "monitored_share": "village's monitored households",
}

#: Risk classes: code -> Chinese label.
RISK_CLASS_LABELS: dict[str, str] = {"low": "低", "medium": "中", "high": "高"}

#: Output columns of this module -> Chinese labels (report headers).
COLUMN_LABELS: dict[str, str] = {
    **{k: f.label + (f"({f.unit})" if f.unit else "") for k, f in FACTORS.items()},
    "perimeter_m": "周长(m)",
    "score": "风险分(0-100)",
    "risk_class": "风险等级",
    "risk_class_zh": "风险等级",
    "top_factor": "主要因素",
    "top_factor_zh": "主要因素",
    "reason": "原因",
    "missing_factors": "缺少的因素",
    "score_note": "说明",
    "dem_flag": "DEM覆盖",
    "dem_note": "DEM说明",
    "ndvi_flag": "NDVI覆盖",
    "ndvi_note": "NDVI说明",
    "village_name": "村名",
    "rank": "序号",
    "lon": "经度",
    "lat": "纬度",
    "high_parcels": "高风险地块数",
    "high_mu": "高风险面积(亩)",
    "medium_parcels": "中风险地块数",
    "medium_mu": "中风险面积(亩)",
    "score_mean": "平均风险分",
    "abandoned_parcels": "已撂荒地块数",
    "abandoned_mu": "已撂荒面积(亩)",
}


# --------------------------------------------------------------------------- factors


def _gk(gdf: gpd.GeoDataFrame | gpd.GeoSeries, crs: CRS | str | None, layer: str):
    return project_to_gk(gdf, crs=crs, layer=layer)


def terrain_factors(
    parcels: gpd.GeoDataFrame,
    dem: str | Path | RasterData,
    *,
    thresholds_deg: Sequence[float] = (15.0, 25.0),
) -> pd.DataFrame:
    """Slope and elevation of each parcel from the DEM, exact fractional zonal statistics.

    The slope is computed on the DEM's own grid with the true cell size in
    metres (:func:`gis_town.raster.slope_deg`; also for a DEM in lon/lat),
    then averaged over each parcel with every cell weighted by the fraction
    of it the parcel covers: a parcel smaller than a cell still gets a value.

    Parameters
    ----------
    parcels : GeoDataFrame
        Farmland parcels (any CRS; reprojected to the DEM's).
    dem : path or RasterData
        Elevation in metres. A path is read only over the parcels' extent.
    thresholds_deg : sequence of float, default (15, 25)
        Slopes (degrees) for the ``slope_gtNN_share`` columns.

    Returns
    -------
    DataFrame
        Indexed like ``parcels``: ``slope_mean_deg``, ``slope_gt15_share``,
        ``slope_gt25_share`` (share of the parcel's area steeper, 0-1),
        ``elevation_m`` (mean), ``dem_flag`` and ``dem_note`` (see
        :data:`gis_town.raster.FLAG_LABELS`).

    Raises
    ------
    RasterError
        The DEM cannot be read or does not overlap the parcels.
    """
    if isinstance(dem, (str, Path)):
        bbox = parcels.to_crs(4490).total_bounds
        dem = open_raster(
            dem, name="DEM", bounds=bbox, bounds_crs="EPSG:4490", margin_cells=3, allow_empty=True
        )
    dem = as_raster(dem, name="DEM")
    slope = slope_deg(dem, name="DEM")
    slope.name = "DEM"
    cols = {f"share_gt{t:g}".replace(".", "_"): t for t in thresholds_deg}
    s = zonal_stats(parcels, slope, stats=("mean",), thresholds=cols, layer="farmland")
    e = zonal_stats(parcels, dem, stats=("mean",), layer="farmland")
    out = pd.DataFrame(index=parcels.index)
    out["slope_mean_deg"] = s["mean"]
    for col, t in cols.items():
        out[f"slope_gt{t:g}_share".replace(".", "_")] = s[col]
    out["elevation_m"] = e["mean"]
    out["dem_flag"] = s["flag"]
    out["dem_note"] = s["note"]
    return out


def distance_to_nearest_m(
    parcels: gpd.GeoDataFrame | gpd.GeoSeries,
    targets: gpd.GeoDataFrame | gpd.GeoSeries,
    *,
    gk_crs: CRS | str | None = None,
    layer: str = "roads",
) -> np.ndarray:
    """Distance in metres from each parcel to the nearest target geometry.

    Measured in the town's Gauss-Kruger zone between the parcel polygon (its
    nearest edge; 0 when they touch or overlap) and the nearest target (a
    road line, a settlement point), with a spatial index (shapely STRtree,
    no all-pairs loop).

    Parameters
    ----------
    parcels, targets : GeoDataFrame or GeoSeries
        Any CRS each.
    gk_crs : CRS or str, optional
        The run's Gauss-Kruger zone (``town.gk_crs``); picked from the parcels when omitted.
    layer : str
        Target layer name for messages.

    Returns
    -------
    numpy.ndarray
        Metres, one per parcel; ``NaN`` for empty parcel geometries or when
        there is no target at all.
    """
    crs = gk_crs if gk_crs is not None else pick_gk_crs(parcels, layer="farmland")
    p = np.asarray(_gk(parcels.geometry, crs, "farmland").values, dtype=object)
    t = np.asarray(_gk(targets.geometry, crs, layer).values, dtype=object)
    return _nearest_m(p, t)


def _nearest_m(p: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Distance from each geometry of ``p`` to the nearest of ``t`` (same planar CRS); NaN if none."""
    t = t[~(shapely.is_missing(t) | shapely.is_empty(t))]
    out = np.full(len(p), np.nan)
    ok = ~(shapely.is_missing(p) | shapely.is_empty(p))
    if not len(t) or not ok.any():
        return out
    if len(t) <= 4:  # a village's few settlements: pairwise, no index
        out[ok] = np.min([shapely.distance(p[ok], g) for g in t], axis=0)
        return out
    tree = shapely.STRtree(t)
    (src, _), dist = tree.query_nearest(p[ok], return_distance=True, all_matches=False)
    vals = np.full(int(ok.sum()), np.nan)
    vals[src] = dist
    out[ok] = vals
    return out


def settlement_distance_m(
    parcels: gpd.GeoDataFrame,
    *,
    settlements: gpd.GeoDataFrame | None = None,
    villages: gpd.GeoDataFrame | None = None,
    gk_crs: CRS | str | None = None,
) -> np.ndarray:
    """Distance in metres from each parcel to its village's settlement (居民点).

    Farmers walk to their fields from their own village, so the distance is to
    the nearest settlement *of the parcel's village* when the settlements
    carry ``village_id`` and the village has one; otherwise to the nearest
    settlement of any village. Without a settlements layer, the village
    polygon's representative point (a point inside it) stands for the village
    centre, again the parcel's own village by ``village_id``.

    Returns
    -------
    numpy.ndarray
        Metres from the parcel's nearest edge (0 inside), ``NaN`` where no
        settlement or village can be found (reported as a missing factor).
    """
    crs = gk_crs if gk_crs is not None else pick_gk_crs(parcels, layer="farmland")
    if settlements is not None and len(settlements):
        points = settlements
    elif villages is not None and len(villages):
        points = gpd.GeoDataFrame(
            {"village_id": villages["village_id"].to_numpy()},
            geometry=villages.geometry.representative_point().to_numpy(),
            crs=villages.crs,
        )
    else:
        return np.full(len(parcels), np.nan)
    p = np.asarray(_gk(parcels.geometry, crs, "farmland").values, dtype=object)
    t = np.asarray(_gk(points.geometry, crs, "settlements").values, dtype=object)
    out = _nearest_m(p, t)
    if "village_id" in points.columns and "village_id" in parcels.columns:
        # one sort, then each village's parcels against its own settlements (a county: 1,000)
        pv = parcels["village_id"].astype("string").to_numpy(dtype=object, na_value=None)
        sv = points["village_id"].astype("string").to_numpy(dtype=object, na_value=None)
        codes, uniq = pd.factorize(np.concatenate([sv, pv]), use_na_sentinel=True)
        sc, pc = codes[: len(sv)], codes[len(sv) :]
        p_order = np.argsort(pc, kind="stable")
        p_bounds = np.searchsorted(pc[p_order], np.arange(len(uniq) + 1))
        s_order = np.argsort(sc, kind="stable")
        s_bounds = np.searchsorted(sc[s_order], np.arange(len(uniq) + 1))
        for k in np.unique(sc[sc >= 0]):
            mine = p_order[p_bounds[k] : p_bounds[k + 1]]
            if len(mine):
                out[mine] = _nearest_m(p[mine], t[s_order[s_bounds[k] : s_bounds[k + 1]]])
    return out


def shape_factors(parcels: gpd.GeoDataFrame, *, gk_crs: CRS | str | None = None) -> pd.DataFrame:
    """Area (ellipsoidal, mu), perimeter (m) and shape index of each parcel.

    ``shape_index = P / (2 * sqrt(pi * A))``: the perimeter over that of a
    circle of the same area; 1 for a circle, 1.128 for a square, 1.34 for a
    4:1 rectangle, larger for ragged, strip-like or fragmented parcels
    (harder to plough, 破碎). ``A`` is the ellipsoidal area, ``P`` measured in
    the Gauss-Kruger zone.

    Returns
    -------
    DataFrame
        ``area_mu``, ``perimeter_m``, ``shape_index`` indexed like ``parcels``.
    """
    a = area_m2(parcels, layer="farmland")
    crs = gk_crs if gk_crs is not None else pick_gk_crs(parcels, layer="farmland")
    perim = np.asarray(
        shapely.length(np.asarray(_gk(parcels.geometry, crs, "farmland").values, dtype=object)),
        dtype="float64",
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        si = np.where(a > 0, perim / (2.0 * np.sqrt(np.pi * a)), np.nan)
    return pd.DataFrame(
        {"area_mu": m2_to_mu(a), "perimeter_m": perim, "shape_index": si}, index=parcels.index
    )


def years_idle(parcels: gpd.GeoDataFrame, year: int) -> np.ndarray:
    """Years since the parcel was last cultivated: ``year - last_cultivated_year`` (>= 0).

    A parcel with no ``last_cultivated_year`` counts 0 when its status is
    ``cultivated`` and is missing (``NaN``, reported) otherwise.
    """
    n = len(parcels)
    if "last_cultivated_year" in parcels.columns:
        last = pd.to_numeric(parcels["last_cultivated_year"], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
    else:
        last = np.full(n, np.nan)
    out = np.clip(year - last, 0, None)
    if "status" in parcels.columns:
        cultivated = (parcels["status"].astype("string") == "cultivated").to_numpy(
            dtype=bool, na_value=False
        )
        out = np.where(np.isnan(out) & cultivated, 0.0, out)
    return out


def ndvi_factors(
    parcels: gpd.GeoDataFrame,
    ndvi: Mapping[int, str | Path | RasterData],
    *,
    year: int | None = None,
) -> pd.DataFrame:
    """Mean NDVI of each parcel (latest year) and its change since the earliest year.

    Parameters
    ----------
    parcels : GeoDataFrame
    ndvi : mapping of year -> path or RasterData
        NDVI rasters (-1 to 1).
    year : int, optional
        The plan year: the latest raster not after it is the "current" one
        (the latest of all when none is earlier).

    Returns
    -------
    DataFrame
        ``ndvi_mean`` (current year), ``ndvi_change`` (current minus the
        earliest year; absent with one raster), ``ndvi_flag``, ``ndvi_note``.
        ``DataFrame.attrs["ndvi_years"]`` holds (earliest, current).
    """
    years = sorted(int(y) for y in ndvi)
    if not years:
        return pd.DataFrame(index=parcels.index)
    usable = [y for y in years if year is None or y <= year] or years
    cur = usable[-1]
    first = years[0]
    a = _ndvi_mean(parcels, ndvi[cur], cur)
    out = pd.DataFrame(index=parcels.index)
    out["ndvi_mean"] = a["mean"]
    out["ndvi_flag"] = a["flag"]
    out["ndvi_note"] = a["note"]
    if first != cur:
        b = _ndvi_mean(parcels, ndvi[first], first)
        out["ndvi_change"] = a["mean"] - b["mean"]
        worse = (b["flag"] != "ok") & (a["flag"] == "ok")
        out.loc[worse, "ndvi_flag"] = b.loc[worse, "flag"]
        out.loc[worse, "ndvi_note"] = b.loc[worse, "note"]
    out.attrs["ndvi_years"] = (first, cur)
    return out


def _ndvi_mean(
    parcels: gpd.GeoDataFrame, raster: str | Path | RasterData, year: int
) -> pd.DataFrame:
    if isinstance(raster, (str, Path)):
        bbox = parcels.to_crs(4490).total_bounds
        raster = open_raster(
            raster, name=f"NDVI {year}", bounds=bbox, bounds_crs="EPSG:4490", allow_empty=True
        )
    raster = as_raster(raster, name=f"NDVI {year}")
    raster.name = f"NDVI {year}"
    vals = raster.array[np.isfinite(raster.array)]
    if len(vals) and (vals.min() < -1.0001 or vals.max() > 1.0001):
        log.warning(
            "NDVI %d 的值超出 -1..1 (%.2f..%.2f) / NDVI values outside -1..1: scaled integers? "
            "divide by the scale factor (often 10000) first",
            year,
            vals.min(),
            vals.max(),
        )
    return zonal_stats(parcels, raster, stats=("mean",), layer="farmland")


def monitored_share(parcels: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None) -> np.ndarray:
    """The parcel's village share of monitored households (三类户 / households), a proxy for lost labour.

    ``NaN`` (a missing factor) when the village is unknown or lacks
    ``households`` / ``monitored_households``.
    """
    n = len(parcels)
    if villages is None or not {"households", "monitored_households"} <= set(villages.columns):
        return np.full(n, np.nan)
    hh = pd.to_numeric(villages["households"], errors="coerce").astype("float64")
    mon = pd.to_numeric(villages["monitored_households"], errors="coerce").astype("float64")
    share = (mon / hh.where(hh > 0)).clip(0, 1)
    share.index = villages["village_id"].astype("string").to_numpy()
    share = share[~share.index.duplicated()]
    vid = parcels["village_id"].astype("string")
    return vid.map(share).to_numpy(dtype="float64", na_value=np.nan)


def parcel_factors(
    farmland: gpd.GeoDataFrame,
    *,
    villages: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    settlements: gpd.GeoDataFrame | None = None,
    dem: str | Path | RasterData | None = None,
    ndvi: Mapping[int, str | Path | RasterData] | None = None,
    year: int = 2023,
    gk_crs: CRS | str | None = None,
) -> gpd.GeoDataFrame:
    """Every risk factor of every parcel.

    Parameters
    ----------
    farmland : GeoDataFrame
        Validated farmland layer (``parcel_id``, ``village_id``, ``status``;
        optional ``last_cultivated_year``, ``group``, ``contractor``).
    villages, roads, settlements : GeoDataFrame, optional
        Context layers. Without roads, ``road_distance_m`` is missing; without
        settlements the village polygon's representative point is used.
    dem : path or RasterData, optional
        Elevation (m). Without it the slope and elevation factors are missing.
    ndvi : mapping year -> raster, optional
        NDVI rasters.
    year : int
        The plan year (``config.town.year``): years idle are counted to it.
    gk_crs : CRS, optional
        The run's Gauss-Kruger zone (``town.gk_crs``).

    Returns
    -------
    GeoDataFrame
        The parcels' ids and context columns (``parcel_id``, ``village_id``,
        ``group``, ``contractor``, ``status``), one column per available factor
        (units in the names), ``perimeter_m``, raster flags and notes, and the
        geometry. ``attrs["factors"]`` lists the factors computed;
        ``attrs["ndvi_years"]`` the NDVI years used.
    """
    for f in ("parcel_id", "village_id"):
        if f not in farmland.columns:
            raise FieldError(
                f"耕地图层缺少字段 {f} / the farmland layer has no {f!r} column: map it in the town config [layers.farmland.fields]",
                layer="farmland",
                field=f,
            )
    crs = gk_crs if gk_crs is not None else pick_gk_crs(farmland, layer="farmland")
    keep = [
        c
        for c in ("parcel_id", "village_id", "group", "contractor", "status", "land_use", "crop")
        if c in farmland.columns
    ]
    out = gpd.GeoDataFrame(
        farmland[keep].copy(), geometry=farmland.geometry.to_numpy(), crs=farmland.crs
    )
    computed: list[str] = []
    # projected once: every metric factor below measures in the zone (a county: 1M parcels)
    metric = project_to_gk(farmland, crs=crs, layer="farmland")
    if dem is not None:
        t = terrain_factors(metric, dem)
        for c in t.columns:
            out[c] = t[c]
        computed += ["slope_mean_deg", "slope_gt15_share", "slope_gt25_share", "elevation_m"]
    if roads is not None and len(roads):
        out["road_distance_m"] = distance_to_nearest_m(metric, roads, gk_crs=crs, layer="roads")
        computed.append("road_distance_m")
    if (settlements is not None and len(settlements)) or (villages is not None and len(villages)):
        out["settlement_distance_m"] = settlement_distance_m(
            metric, settlements=settlements, villages=villages, gk_crs=crs
        )
        computed.append("settlement_distance_m")
    shp = shape_factors(metric, gk_crs=crs)
    for c in shp.columns:
        out[c] = shp[c]
    computed += ["area_mu", "shape_index"]
    if "last_cultivated_year" in farmland.columns or "status" in farmland.columns:
        out["years_idle"] = years_idle(farmland, year)
        computed.append("years_idle")
    if ndvi:
        nd = ndvi_factors(metric, ndvi, year=year)
        for c in nd.columns:
            out[c] = nd[c]
        computed += [c for c in ("ndvi_mean", "ndvi_change") if c in nd.columns]
        out.attrs["ndvi_years"] = nd.attrs.get("ndvi_years")
    if villages is not None and {"households", "monitored_households"} <= set(villages.columns):
        out["monitored_share"] = monitored_share(farmland, villages)
        computed.append("monitored_share")
    if villages is not None and "name" in villages.columns:
        names = pd.Series(
            villages["name"].astype("string").to_numpy(),
            index=villages["village_id"].astype("string").to_numpy(),
        )
        names = names[~names.index.duplicated()]
        out.insert(2, "village_name", out["village_id"].astype("string").map(names))
    out.attrs["factors"] = computed
    out.attrs["year"] = year
    return out


# --------------------------------------------------------------------------- score


def normalise_factors(
    factors: pd.DataFrame,
    names: Sequence[str] | None = None,
    *,
    clip_quantile: float = 0.02,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Scale each factor to 0-1, where 1 is the riskiest, by a robust min-max over the parcels.

    For a factor ``x`` with direction ``d`` (+1: more is riskier, -1: less is):
    ``lo, hi`` = the ``clip_quantile`` and ``1 - clip_quantile`` quantiles of
    ``x`` over the parcels that have it (the min and max when those are
    equal); ``n = clip((x - lo) / (hi - lo), 0, 1)``, and ``1 - n`` when
    ``d = -1``. Quantiles instead of min/max keep one extreme parcel from
    squeezing all others together. A factor with one value everywhere carries
    no information and gets no normalised column (it is reported).

    Returns
    -------
    normalised : DataFrame
        One 0-1 column per informative factor (same names), NaN where missing.
    table : DataFrame
        Per factor: ``factor``, ``label``, ``unit``, ``direction``, ``lo``,
        ``hi``, ``parcels_with_value``, ``note``: how each was normalised.
    """
    names = [n for n in (names or RISK_FACTORS) if n in factors.columns]
    norm = pd.DataFrame(index=factors.index)
    rows = []
    for name in names:
        f = FACTORS[name]
        x = pd.to_numeric(factors[name], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
        ok = np.isfinite(x)
        note = ""
        lo = hi = np.nan
        if ok.sum() == 0:
            note = "无数据 no values"
        else:
            lo, hi = np.quantile(x[ok], [clip_quantile, 1.0 - clip_quantile])
            if not hi > lo:
                lo, hi = float(x[ok].min()), float(x[ok].max())
            if not hi > lo:
                note = "全部相同 same value everywhere: not informative, left out"
            else:
                n = np.clip((x - lo) / (hi - lo), 0.0, 1.0)
                norm[name] = 1.0 - n if f.direction < 0 else n
        rows.append(
            {
                "factor": name,
                "label": f.label,
                "unit": f.unit,
                "direction": f.direction,
                "lo": lo,
                "hi": hi,
                "parcels_with_value": int(ok.sum()),
                "note": note,
            }
        )
    return norm, pd.DataFrame(rows)


def _weights_from(weights: Mapping[str, float] | RiskSection) -> dict[str, float]:
    w = dict(weights.weights if isinstance(weights, RiskSection) else weights)
    unknown = sorted(set(w) - set(RISK_FACTORS))
    if unknown:
        raise ConfigError(
            f"未知的风险因素 / unknown risk factors in [risk.weights]: {unknown}; known: {', '.join(RISK_FACTORS)}"
        )
    bad = {
        k: v
        for k, v in w.items()
        if not (isinstance(v, (int, float)) and np.isfinite(v) and v >= 0)
    }
    if bad:
        raise ConfigError(f"风险权重须为非负数 / risk weights must be numbers >= 0, got {bad}")
    if not sum(w.values()) > 0:
        raise ConfigError("至少一个风险权重须大于 0 / at least one risk weight must be > 0")
    return {k: float(v) for k, v in w.items() if v > 0}


def risk_score(
    factors: pd.DataFrame,
    risk: RiskSection | Mapping[str, float] | None = None,
    *,
    medium: float | None = None,
    high: float | None = None,
    clip_quantile: float = 0.02,
) -> pd.DataFrame:
    """Weighted risk score 0-100, risk class and the factor that contributes most.

    ``score = 100 * sum_f(w_f * n_f) / sum_f(w_f)`` over the weighted factors
    ``f`` the parcel has a value for (``n_f`` from :func:`normalise_factors`).
    A parcel missing a factor (outside the DEM, no village record) is scored
    on the others, and ``missing_factors`` / ``score_note`` say which:
    never a silent NaN. Classes: ``high`` when ``score >= high``, ``medium``
    when ``>= medium``, else ``low``.

    Parameters
    ----------
    factors : DataFrame or GeoDataFrame
        Output of :func:`parcel_factors`.
    risk : RiskSection or mapping factor -> weight, optional
        The config's ``[risk]`` section (weights and thresholds), or weights
        alone; defaults to ``RiskSection()``.
    medium, high : float, optional
        Class thresholds overriding the section's.

    Returns
    -------
    DataFrame or GeoDataFrame
        ``factors`` plus ``score``, ``risk_class`` (low/medium/high),
        ``risk_class_zh``, ``top_factor``, ``top_factor_zh``, ``reason``
        (e.g. "平均坡度 23.4° / mean slope"), ``missing_factors`` and
        ``score_note``; ``attrs["normalisation"]`` is the table of
        :func:`normalise_factors` with each factor's weight and share.

    Raises
    ------
    ConfigError
        Unknown factors or negative weights.
    """
    section = risk if isinstance(risk, RiskSection) else RiskSection()
    weights = _weights_from(risk if risk is not None else section)
    med = section.medium if medium is None else medium
    hi_t = section.high if high is None else high
    if med > hi_t:
        raise ConfigError(
            f"风险阈值 medium ({med}) 不应大于 high ({hi_t}) / medium must not exceed high"
        )
    norm, table = normalise_factors(factors, list(weights), clip_quantile=clip_quantile)
    used = [f for f in weights if f in norm.columns]
    unavailable = [f for f in weights if f not in norm.columns]
    if unavailable:
        log.warning(
            "这些加权因素无法计算，未计入评分 / weighted factors not available, left out of the score: %s",
            ", ".join(unavailable),
        )
    if not used:
        raise ConfigError(
            "没有可用的加权风险因素 / none of the weighted risk factors could be computed "
            f"(weighted: {', '.join(weights)}); give a DEM, roads or NDVI, or weight other factors"
        )
    w = np.array([weights[f] for f in used])
    n = norm[used].to_numpy(dtype="float64")
    have = np.isfinite(n)
    contrib = np.where(have, n * w, 0.0)
    wsum = (have * w).sum(axis=1)
    out = factors.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(wsum > 0, 100.0 * contrib.sum(axis=1) / wsum, np.nan)
    out["score"] = score
    cls = np.where(score >= hi_t, "high", np.where(score >= med, "medium", "low"))
    cls = np.where(np.isnan(score), "unknown", cls)
    out["risk_class"] = pd.array(cls, dtype="string")
    out["risk_class_zh"] = pd.array([RISK_CLASS_LABELS.get(c, "未知") for c in cls], dtype="string")
    top_idx = np.argmax(np.where(have, n * w, -1.0), axis=1)
    top = np.array(used, dtype=object)[top_idx]
    top = np.where(have.any(axis=1), top, None)
    out["top_factor"] = pd.array(top, dtype="string")
    out["top_factor_zh"] = pd.array([FACTORS[t].label if t else None for t in top], dtype="string")
    out["reason"] = pd.array(_reasons(factors, top), dtype="string")
    missing_text = np.full(len(out), "", dtype=object)
    notes = np.full(len(out), "", dtype=object)
    for i in np.flatnonzero(~have.all(axis=1)):  # only parcels missing a factor: no loop over all
        m = [used[j] for j in np.flatnonzero(~have[i])]
        missing_text[i] = "; ".join(m)
        if np.isnan(score[i]):
            notes[i] = "无任何可用因素，无法评分 / no factor available: not scored"
        else:
            labels = "、".join(FACTORS[x].label for x in m)
            notes[i] = (
                f"缺少 {labels}，按其余因素评分 / missing {', '.join(m)}: scored on the others"
            )
    out["missing_factors"] = pd.array(missing_text, dtype="string")
    out["score_note"] = pd.array(notes, dtype="string")
    share = {f: weights[f] / w.sum() for f in used}
    table["weight"] = table["factor"].map(weights).astype("float64")
    table["weight_share"] = table["factor"].map(share).astype("float64")
    for f in unavailable:
        if f not in set(table["factor"]):
            table.loc[len(table)] = {
                "factor": f,
                "label": FACTORS[f].label,
                "unit": FACTORS[f].unit,
                "direction": FACTORS[f].direction,
                "lo": np.nan,
                "hi": np.nan,
                "parcels_with_value": 0,
                "note": "未计算 not computed (no input)",
                "weight": weights[f],
                "weight_share": np.nan,
            }
    out.attrs["normalisation"] = table
    out.attrs["weights_used"] = share
    out.attrs["thresholds"] = {"medium": med, "high": hi_t}
    return out


def _reasons(factors: pd.DataFrame, top: np.ndarray) -> list[str | None]:
    """"<factor label> <value><unit> / <English>" of each parcel's top factor (None: no factor)."""
    top = np.asarray(top, dtype=object)
    out = np.full(len(top), None, dtype=object)
    for t in pd.unique(top[pd.notna(top)]):
        rows = np.flatnonzero(top == t)
        f = FACTORS[t]
        texts = []
        for v in factors[t].to_numpy()[rows]:  # one column at a time: a county has 1M parcels
            try:
                val = f.fmt.format(float(v)) + f.unit
            except (TypeError, ValueError):
                val = str(v)
            texts.append(f"{f.label} {val} / {_FACTOR_EN[t]}")
        out[rows] = texts
    return out.tolist()


# --------------------------------------------------------------------------- validation


@dataclass
class RiskValidation:
    """How well the score separates abandoned from cultivated parcels.

    Attributes
    ----------
    parcels, abandoned : int
        Parcels with an observed status of abandoned or cultivated, and of those abandoned.
    auc_config : float
        ROC AUC of the config's score (all its factors, including those derived
        from the status: inflated, shown for reference).
    auc_fair : float
        ROC AUC of the score recomputed without the status-derived factors.
    auc_logit_cv, auc_logit_cv_std : float
        Mean and spread of the cross-validated ROC AUC of a logistic regression
        on the same factors (what the data support, against the planners' weights).
    folds : int
        Cross-validation folds.
    factors_used, left_out : list of str
    coefficients : DataFrame
        Per factor: the regression's coefficient on the standardised factor
        (per standard deviation; positive = more risk) beside the config's weight.
    note : str
        Why something could not be computed, when it could not.
    """

    parcels: int = 0
    abandoned: int = 0
    auc_config: float = np.nan
    auc_fair: float = np.nan
    auc_logit_cv: float = np.nan
    auc_logit_cv_std: float = np.nan
    folds: int = 0
    factors_used: list[str] = field(default_factory=list)
    left_out: list[str] = field(default_factory=list)
    coefficients: pd.DataFrame = field(default_factory=pd.DataFrame)
    note: str = ""

    def table(self) -> pd.DataFrame:
        """The figures as a two-column table (指标 metric, 值 value) for reports."""
        rows = [
            ("观测地块数 parcels with observed status", self.parcels),
            ("其中撂荒 of which abandoned", self.abandoned),
            (
                "配置评分 AUC (含状态派生因素, 偏高) config score AUC (incl. status-derived factors)",
                self.auc_config,
            ),
            ("评分 AUC (不含状态派生因素) score AUC without status-derived factors", self.auc_fair),
            (f"逻辑回归 {self.folds} 折交叉验证 AUC logistic regression CV AUC", self.auc_logit_cv),
            ("交叉验证 AUC 标准差 CV AUC std", self.auc_logit_cv_std),
            ("验证所用因素 factors used", ", ".join(self.factors_used)),
            ("剔除的状态派生因素 left out (derived from status)", ", ".join(self.left_out)),
            ("说明 note", self.note),
        ]
        return pd.DataFrame(rows, columns=["metric", "value"]).astype({"value": "object"})


def status_derived_factors(scored: pd.DataFrame, *, status_year: int | None = None) -> list[str]:
    """Factors derived from the observed status, which validation must leave out.

    ``years_idle`` always (it is the status counted in years); ``ndvi_mean``
    and ``ndvi_change`` when the current NDVI is of the status year or later
    (an abandoned field is bare in that year's image: the NDVI then measures
    the status, not a cause).
    """
    out = ["years_idle"]
    years = scored.attrs.get("ndvi_years")
    year = status_year if status_year is not None else scored.attrs.get("year")
    if years is None or year is None or years[1] >= year:
        out += ["ndvi_mean", "ndvi_change"]
    return out


def validate_risk(
    scored: pd.DataFrame,
    risk: RiskSection | Mapping[str, float] | None = None,
    *,
    status_year: int | None = None,
    folds: int = 5,
    seed: int = 0,
    clip_quantile: float = 0.02,
) -> RiskValidation:
    """ROC AUC of the score against the observed status, and a cross-validated logistic regression.

    Only parcels whose ``status`` is ``abandoned`` (1) or ``cultivated`` (0)
    count; ``fallow`` (轮作休耕, deliberate) and unknown are left out. Both
    the score and the regression leave out the factors derived from the
    status (:func:`status_derived_factors`); the config's own score AUC is
    reported beside them for reference.

    The regression: factors standardised (missing values imputed with the
    median), ``LogisticRegression(class_weight="balanced")``, stratified
    ``folds``-fold cross-validation (shuffled with ``seed``), ROC AUC per fold.
    Its coefficients (fitted on all parcels, per standard deviation) show
    which factors the data support, beside the config's weights.
    """
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    res = RiskValidation(folds=folds)
    if "status" not in scored.columns:
        res.note = "地块没有耕种状态 / parcels carry no status: nothing to validate against"
        return res
    status = scored["status"].astype("string")
    mask = status.isin(["abandoned", "cultivated"]).to_numpy(dtype=bool, na_value=False)
    y = (status[mask] == "abandoned").to_numpy(dtype=int)
    res.parcels, res.abandoned = int(mask.sum()), int(y.sum())
    if res.abandoned == 0 or res.abandoned == res.parcels:
        res.note = "需要撂荒和在耕两类地块 / need both abandoned and cultivated parcels"
        return res
    section = risk if isinstance(risk, RiskSection) else RiskSection()
    weights = _weights_from(risk if risk is not None else section)
    if "score" in scored.columns:
        s = scored["score"].to_numpy(dtype="float64")[mask]
        ok = np.isfinite(s)
        res.auc_config = float(roc_auc_score(y[ok], s[ok]))
    left_out = [
        f for f in status_derived_factors(scored, status_year=status_year) if f in scored.columns
    ]
    res.left_out = left_out
    fair_w = {f: w for f, w in weights.items() if f not in left_out and f in scored.columns}
    available = [f for f in RISK_FACTORS if f in scored.columns and f not in left_out]
    if fair_w and sum(fair_w.values()) > 0:
        try:
            fair = risk_score(
                scored[[*fair_w]], fair_w, medium=0, high=0, clip_quantile=clip_quantile
            )
            s = fair["score"].to_numpy(dtype="float64")[mask]
            ok = np.isfinite(s)
            res.auc_fair = float(roc_auc_score(y[ok], s[ok]))
        except ConfigError as exc:
            res.note = str(exc)
    X = (
        scored.loc[mask, available]
        .apply(pd.to_numeric, errors="coerce")
        .to_numpy(dtype="float64", na_value=np.nan)
    )
    informative = [
        j for j in range(X.shape[1]) if np.isfinite(X[:, j]).any() and np.nanstd(X[:, j]) > 0
    ]
    X = X[:, informative]
    res.factors_used = [available[j] for j in informative]
    k = min(folds, int(y.sum()), int(len(y) - y.sum()))
    if not res.factors_used or k < 2:
        res.note = (res.note + " " if res.note else "") + (
            "样本太少，无法交叉验证 / too few parcels of one class for cross-validation"
        )
        return res
    res.folds = k
    model = make_pipeline(
        SimpleImputer(strategy="median"),
        StandardScaler(),
        LogisticRegression(class_weight="balanced", max_iter=1000),
    )
    cv = StratifiedKFold(n_splits=k, shuffle=True, random_state=seed)
    aucs = cross_val_score(model, X, y, cv=cv, scoring="roc_auc")
    res.auc_logit_cv, res.auc_logit_cv_std = float(np.mean(aucs)), float(np.std(aucs))
    model.fit(X, y)
    coef = model[-1].coef_[0]
    res.coefficients = pd.DataFrame(
        {
            "factor": res.factors_used,
            "label": [FACTORS[f].label for f in res.factors_used],
            "coefficient_per_sd": coef,
            "config_weight": [weights.get(f, 0.0) for f in res.factors_used],
            "direction_expected": [FACTORS[f].direction for f in res.factors_used],
        }
    )
    return res


# --------------------------------------------------------------------------- summaries


def village_summary(scored: pd.DataFrame, villages: gpd.GeoDataFrame | None = None) -> pd.DataFrame:
    """Per village: parcels and mu by risk class, mean score, observed abandonment, leader.

    Returns
    -------
    DataFrame
        ``village_id``, ``village_name``, ``leader`` (包村领导, when the
        villages layer has it), ``parcels``, ``area_mu``, ``high_parcels``,
        ``high_mu``, ``medium_parcels``, ``medium_mu``, ``score_mean``,
        ``abandoned_parcels``, ``abandoned_mu``; sorted by ``high_mu``
        (descending); a 合计 (total) row last.
    """
    df = pd.DataFrame(
        scored.drop(columns=scored.geometry.name)
        if isinstance(scored, gpd.GeoDataFrame)
        else scored
    )
    df["village_id"] = df["village_id"].astype("string")
    area = df["area_mu"].astype("float64")
    cls = df["risk_class"].astype("string")
    df["_high"] = (cls == "high").to_numpy(dtype=bool, na_value=False)
    df["_med"] = (cls == "medium").to_numpy(dtype=bool, na_value=False)
    aband = (
        (df["status"].astype("string") == "abandoned").to_numpy(dtype=bool, na_value=False)
        if "status" in df
        else np.zeros(len(df), bool)
    )
    df["_ab"] = aband
    df["_high_mu"] = np.where(df["_high"], area, 0.0)
    df["_med_mu"] = np.where(df["_med"], area, 0.0)
    df["_ab_mu"] = np.where(aband, area, 0.0)
    g = df.groupby("village_id", dropna=False, sort=True)
    out = pd.DataFrame(
        {
            "parcels": g.size(),
            "area_mu": g["area_mu"].sum(),
            "high_parcels": g["_high"].sum().astype("int64"),
            "high_mu": g["_high_mu"].sum(),
            "medium_parcels": g["_med"].sum().astype("int64"),
            "medium_mu": g["_med_mu"].sum(),
            "score_mean": g["score"].mean(),
            "abandoned_parcels": g["_ab"].sum().astype("int64"),
            "abandoned_mu": g["_ab_mu"].sum(),
        }
    ).reset_index()
    if villages is not None and len(villages):
        v = pd.DataFrame({"village_id": villages["village_id"].astype("string").to_numpy()})
        v["village_name"] = (
            villages["name"].astype("string").to_numpy() if "name" in villages else pd.NA
        )
        if "leader" in villages:
            v["leader"] = villages["leader"].astype("string").to_numpy()
        v = v.drop_duplicates("village_id")
        out = v.merge(out, on="village_id", how="right")
    out = out.sort_values(["high_mu", "medium_mu"], ascending=False, kind="stable").reset_index(
        drop=True
    )
    total = {
        "village_id": "合计 total",
        "parcels": int(out["parcels"].sum()),
        "area_mu": out["area_mu"].sum(),
        "high_parcels": int(out["high_parcels"].sum()),
        "high_mu": out["high_mu"].sum(),
        "medium_parcels": int(out["medium_parcels"].sum()),
        "medium_mu": out["medium_mu"].sum(),
        "score_mean": float(df["score"].mean()),
        "abandoned_parcels": int(out["abandoned_parcels"].sum()),
        "abandoned_mu": out["abandoned_mu"].sum(),
    }
    return pd.concat([out, pd.DataFrame([total])], ignore_index=True)


def visit_list(
    scored: gpd.GeoDataFrame,
    *,
    size: int = 20,
    villages: gpd.GeoDataFrame | None = None,
    min_class: str = "medium",
    include_abandoned: bool = False,
) -> gpd.GeoDataFrame:
    """The village leader's visit list (包村领导走访清单): the parcels most at risk in each village.

    Per village, the ``size`` highest-scoring parcels of at least
    ``min_class`` that are not abandoned yet (unless ``include_abandoned``);
    then ordered by village, by 社 (``group``) when parcels
    carry one (groups in order of their highest score, as leaders cover
    groups and village cadres households), and by score within the group.

    Parameters
    ----------
    scored : GeoDataFrame
        Output of :func:`risk_score`.
    size : int, default 20
        Parcels per village (``config.risk.visit_list_size``).
    villages : GeoDataFrame, optional
        For the village name and leader (包村领导).
    min_class : {"low", "medium", "high"}, default "medium"
        Lowest risk class listed.
    include_abandoned : bool, default False
        Also list parcels already abandoned (they need bringing back into
        use, but they are known already; the list is for the parcels about
        to be left idle). Their count and mu are in :func:`village_summary`.

    Returns
    -------
    GeoDataFrame
        ``village_id``, ``village_name``, ``leader``, ``group``, ``rank``
        (1 = highest score in the village), ``parcel_id``, ``contractor``
        (承包户, where known), ``status``, ``area_mu``, ``score``,
        ``risk_class_zh``, ``top_factor_zh``, ``reason``, ``lon``, ``lat``
        (a point inside the parcel, CGCS2000 ~ WGS84, for navigation);
        geometry = the parcel polygon in EPSG:4490.
    """
    order = {"low": 0, "medium": 1, "high": 2}
    if min_class not in order:
        raise ValueError(f"min_class must be low, medium or high, got {min_class!r}")
    cls = scored["risk_class"].astype("string").map(order).astype("float64").fillna(-1)
    keep = np.array(cls >= order[min_class], dtype=bool)
    if not include_abandoned and "status" in scored.columns:
        keep &= ~(scored["status"].astype("string") == "abandoned").to_numpy(
            dtype=bool, na_value=False
        )
    df = scored.loc[keep].copy()
    df["village_id"] = df["village_id"].astype("string")
    df = df.sort_values(["village_id", "score"], ascending=[True, False], kind="stable")
    df["rank"] = df.groupby("village_id", sort=False).cumcount() + 1
    df = df[df["rank"] <= size]
    if "group" in df.columns:
        grp = df["group"].astype("string").fillna("")
        df["_gmax"] = df.groupby([df["village_id"], grp])["score"].transform("max")
        df["_g"] = grp
        df = df.sort_values(
            ["village_id", "_gmax", "_g", "score"],
            ascending=[True, False, True, False],
            kind="stable",
        )
    else:
        df["group"] = pd.array([pd.NA] * len(df), dtype="string")
    if "contractor" not in df.columns:
        df["contractor"] = pd.array([pd.NA] * len(df), dtype="string")
    geo = df.geometry.to_crs(4490) if df.crs is not None else df.geometry
    pts = geo.representative_point()
    df["lon"] = pts.x.round(6).to_numpy()
    df["lat"] = pts.y.round(6).to_numpy()
    if villages is not None and len(villages):
        v = pd.DataFrame({"village_id": villages["village_id"].astype("string").to_numpy()})
        if "village_name" not in df.columns and "name" in villages:
            v["village_name"] = villages["name"].astype("string").to_numpy()
        if "leader" in villages:
            v["leader"] = villages["leader"].astype("string").to_numpy()
        v = v.drop_duplicates("village_id")
        if len(v.columns) > 1:
            df = df.merge(v, on="village_id", how="left")
    for c in ("village_name", "leader"):
        if c not in df.columns:
            df[c] = pd.array([pd.NA] * len(df), dtype="string")
    cols = [
        "village_id",
        "village_name",
        "leader",
        "group",
        "rank",
        "parcel_id",
        "contractor",
        "status",
        "area_mu",
        "score",
        "risk_class",
        "risk_class_zh",
        "top_factor",
        "top_factor_zh",
        "reason",
        "lon",
        "lat",
    ]
    cols = [c for c in cols if c in df.columns]
    out = gpd.GeoDataFrame(
        df[cols].reset_index(drop=True), geometry=geo.to_numpy(), crs="EPSG:4490"
    )
    return out
