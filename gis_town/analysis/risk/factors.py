"""Risk factors of each parcel (撂荒风险因素): terrain, distances, shape, years idle, NDVI, labour.

Each factor of :data:`gis_town.config.RISK_FACTORS` has its unit in its
name and a direction of risk (:data:`FACTORS`). :func:`parcel_factors`
computes every factor the inputs allow, in the town's Gauss-Kruger zone;
the other functions are its steps, usable alone.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_town.errors import FieldError
from gis_town.geodesy import area_m2, m2_to_mu, pick_gk_crs, project_to_gk
from gis_town.raster import RasterData, as_raster, open_raster, slope_deg, zonal_stats

__all__ = [
    "FACTORS",
    "FACTOR_EN",
    "Factor",
    "distance_to_nearest_m",
    "monitored_share",
    "ndvi_factors",
    "parcel_factors",
    "settlement_distance_m",
    "shape_factors",
    "terrain_factors",
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
FACTOR_EN: dict[str, str] = {
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


def shape_factors(
    parcels: gpd.GeoDataFrame, *, gk_crs: CRS | str | None = None, area: np.ndarray | None = None
) -> pd.DataFrame:
    """Area (ellipsoidal, mu), perimeter (m) and shape index of each parcel.

    ``shape_index = P / (2 * sqrt(pi * A))``: the perimeter over that of a
    circle of the same area; 1 for a circle, 1.128 for a square, 1.34 for a
    4:1 rectangle, larger for ragged, strip-like or fragmented parcels
    (harder to plough, 破碎). ``A`` is the ellipsoidal area, ``P`` measured in
    the Gauss-Kruger zone. ``area`` (m², one per parcel) is the area to use,
    e.g. :func:`gis_town.analysis.areas.parcel_areas`' (what :func:`parcel_factors`
    passes, so that a parcel has one area in every report); default: computed here.

    Returns
    -------
    DataFrame
        ``area_mu``, ``perimeter_m``, ``shape_index`` indexed like ``parcels``.
    """
    a = area_m2(parcels, layer="farmland") if area is None else np.asarray(area, dtype="float64")
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
    _require_ids(farmland)
    crs = gk_crs if gk_crs is not None else pick_gk_crs(farmland, layer="farmland")
    keep = [
        c
        for c in ("parcel_id", "village_id", "group", "contractor", "status", "land_use", "crop")
        if c in farmland.columns
    ]
    out = gpd.GeoDataFrame(
        farmland[keep].copy(), geometry=farmland.geometry.to_numpy(), crs=farmland.crs
    )
    # projected once: every metric factor below measures in the zone (a county: 1M parcels)
    metric = project_to_gk(farmland, crs=crs, layer="farmland")
    computed = _geometry_factors(
        out, metric, crs, dem=dem, roads=roads, settlements=settlements, villages=villages
    )
    computed += _record_factors(out, farmland, metric, villages=villages, ndvi=ndvi, year=year)
    _insert_village_names(out, villages)
    out.attrs["factors"] = computed
    out.attrs["year"] = year
    return out


def _require_ids(farmland: gpd.GeoDataFrame) -> None:
    """Raise a FieldError when the farmland lacks ``parcel_id`` or ``village_id``."""
    for f in ("parcel_id", "village_id"):
        if f not in farmland.columns:
            raise FieldError(
                f"耕地图层缺少字段 {f} / the farmland layer has no {f!r} column: map it in the town config [layers.farmland.fields]",
                layer="farmland",
                field=f,
            )


def _geometry_factors(
    out: gpd.GeoDataFrame,
    metric: gpd.GeoDataFrame,
    crs: CRS | str,
    *,
    dem: str | Path | RasterData | None,
    roads: gpd.GeoDataFrame | None,
    settlements: gpd.GeoDataFrame | None,
    villages: gpd.GeoDataFrame | None,
) -> list[str]:
    """Add the terrain, distance, area and shape factors to ``out``; return the factors added."""
    computed: list[str] = []
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
    # the area of each parcel is the area totals' (parcel_areas on the layer as read): one
    # area per parcel in every report, not recomputed from the Gauss-Kruger projection
    from gis_town.analysis.areas import parcel_areas

    a = parcel_areas(gpd.GeoDataFrame(geometry=out.geometry, crs=out.crs))["area_m2"]
    shp = shape_factors(metric, gk_crs=crs, area=a.to_numpy(dtype="float64"))
    out["area_m2"] = a.to_numpy(dtype="float64")
    for c in shp.columns:
        out[c] = shp[c]
    computed += ["area_mu", "shape_index"]
    return computed


def _record_factors(
    out: gpd.GeoDataFrame,
    farmland: gpd.GeoDataFrame,
    metric: gpd.GeoDataFrame,
    *,
    villages: gpd.GeoDataFrame | None,
    ndvi: Mapping[int, str | Path | RasterData] | None,
    year: int,
) -> list[str]:
    """Add years idle, NDVI and the village's monitored share to ``out``; return the factors added."""
    computed: list[str] = []
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
    return computed


def _insert_village_names(out: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None) -> None:
    """Insert ``village_name`` (third column) from the villages layer's ``name``, when it has one."""
    if villages is not None and "name" in villages.columns:
        names = pd.Series(
            villages["name"].astype("string").to_numpy(),
            index=villages["village_id"].astype("string").to_numpy(),
        )
        names = names[~names.index.duplicated()]
        out.insert(2, "village_name", out["village_id"].astype("string").map(names))
