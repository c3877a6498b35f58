"""Site selection (选址): candidate land scored for greenhouses, water lifting or a demonstration belt.

Each candidate (a farmland parcel, or a polygon of another land layer) gets
the factors of :data:`gis_town.config.SITING_FACTORS` (mean slope from the
DEM, distance to the nearest road and to the nearest water source, area and
shape), computed with the risk score's own factor functions
(:mod:`gis_town.analysis.risk.factors`). A factor's suitability is 1 at the
purpose's ``ideal`` value and 0 at its ``limit`` (linear between, clipped):
fixed, documented anchors rather than a min-max over the town, so that a
candidate's score does not change when other candidates are added.

``score = 100 * sum_f(w_f * s_f) / sum_f(w_f)`` over the weighted factors the
candidate has; each factor's contribution (points of the score) is listed in
``reason``. Exclusions (hard thresholds, zone layers such as 永久基本农田 and
the red line, parcel status) remove a candidate from the ranking and say why
in ``exclusion``; excluded candidates keep their score for reference.
See ``docs/siting.md``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from gis_town.analysis.overlay import inside_outside
from gis_town.analysis.risk.factors import distance_to_nearest_m, shape_factors, terrain_factors
from gis_town.config import SITING_DEFAULTS, SITING_FACTORS, SitingPurpose
from gis_town.errors import ConfigError
from gis_town.raster import RasterData

__all__ = [
    "PURPOSE_LABELS",
    "SITING_FACTOR_INFO",
    "SitingFactor",
    "exclusions",
    "rank_per_village",
    "siting_factors",
    "siting_score",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SitingFactor:
    """One siting factor: Chinese and English label, unit and number format."""

    name: str
    label: str
    en: str
    unit: str
    fmt: str = "{:.1f}"


#: Every factor of the siting score.
SITING_FACTOR_INFO: dict[str, SitingFactor] = {
    f.name: f
    for f in [
        SitingFactor("slope_mean_deg", "平均坡度", "mean slope", "°"),
        SitingFactor("road_distance_m", "距道路", "distance to road", "m", "{:.0f}"),
        SitingFactor("water_distance_m", "距水源", "distance to water", "m", "{:.0f}"),
        SitingFactor("area_mu", "地块面积", "area", "亩", "{:.2f}"),
        SitingFactor("shape_index", "形状指数", "shape index", "", "{:.2f}"),
    ]
}
assert set(SITING_FACTOR_INFO) == set(SITING_FACTORS)

#: Purposes: code -> Chinese label.
PURPOSE_LABELS: dict[str, str] = {
    "greenhouse": "设施大棚",
    "water_lift": "引水上山",
    "demo_belt": "示范带",
}
assert set(PURPOSE_LABELS) == set(SITING_DEFAULTS)

#: Chinese names of the zone layers a purpose may exclude (others: the layer name).
ZONE_LABELS: dict[str, str] = {
    "basic_farmland": "永久基本农田",
    "redline": "生态保护红线",
    "reclamation": "搬迁复垦地块",
    "dev_boundary": "城镇开发边界",
}

#: Chinese names of the parcel status codes a purpose may exclude.
STATUS_LABELS: dict[str, str] = {"abandoned": "撂荒", "fallow": "休耕", "cultivated": "耕种"}


# --------------------------------------------------------------------------- factors


def siting_factors(
    candidates: gpd.GeoDataFrame,
    *,
    dem: str | Path | RasterData | None = None,
    roads: gpd.GeoDataFrame | None = None,
    water: Mapping[str, gpd.GeoDataFrame] | None = None,
    gk_crs: CRS | str | None = None,
) -> gpd.GeoDataFrame:
    """The siting factors of each candidate.

    Parameters
    ----------
    candidates : GeoDataFrame
        Candidate polygons (any CRS).
    dem : path or RasterData, optional
        Elevation in metres: ``slope_mean_deg`` (exact fractional zonal mean,
        :func:`~gis_town.analysis.risk.factors.terrain_factors`). None: no slope factor.
    roads : GeoDataFrame, optional
        Road lines: ``road_distance_m`` (nearest edge to nearest road, Gauss-Kruger metres).
    water : mapping layer name -> GeoDataFrame, optional
        Water sources (rivers, wells, the 引水上山 pipe route): ``water_distance_m``
        is the distance to the nearest feature of any of them and
        ``water_source`` names the layer it belongs to.
    gk_crs : CRS, optional
        The town's Gauss-Kruger zone.

    Returns
    -------
    GeoDataFrame
        ``candidates`` plus ``area_mu`` (ellipsoidal), ``perimeter_m``,
        ``shape_index``, and, when the inputs allow, ``slope_mean_deg``,
        ``dem_flag``, ``dem_note``, ``road_distance_m``, ``water_distance_m``, ``water_source``.
    """
    out = candidates.copy()
    shape = shape_factors(candidates, gk_crs=gk_crs)
    for col in shape.columns:
        out[col] = shape[col].to_numpy()
    if dem is not None:
        t = terrain_factors(candidates, dem)
        for col in ("slope_mean_deg", "dem_flag", "dem_note"):
            out[col] = t[col].to_numpy()
    if roads is not None and len(roads):
        out["road_distance_m"] = distance_to_nearest_m(candidates, roads, gk_crs=gk_crs, layer="roads")
    sources = {k: v for k, v in (water or {}).items() if v is not None and len(v)}
    if sources:
        d = np.column_stack(
            [distance_to_nearest_m(candidates, g, gk_crs=gk_crs, layer=k) for k, g in sources.items()]
        )
        have = np.isfinite(d).any(axis=1)
        best = np.argmin(np.where(np.isfinite(d), d, np.inf), axis=1)
        out["water_distance_m"] = np.where(have, d[np.arange(len(d)), best], np.nan)
        names = np.array(list(sources), dtype=object)[best]
        out["water_source"] = pd.array(np.where(have, names, None), dtype="string")
    return out


# --------------------------------------------------------------------------- score


def suitability(x: np.ndarray, ideal: float, limit: float) -> np.ndarray:
    """1 at ``ideal``, 0 at ``limit`` and beyond, linear between; NaN stays NaN."""
    with np.errstate(invalid="ignore"):
        return np.clip((np.asarray(x, dtype="float64") - limit) / (ideal - limit), 0.0, 1.0)


def _value_text(name: str, v: float) -> str:
    f = SITING_FACTOR_INFO[name]
    return f"{f.label} {f.fmt.format(v)}{f.unit}"


def siting_score(factors: pd.DataFrame, purpose: SitingPurpose) -> pd.DataFrame:
    """Weighted suitability 0-100 with each factor's contribution.

    Parameters
    ----------
    factors : DataFrame or GeoDataFrame
        Output of :func:`siting_factors`.
    purpose : SitingPurpose
        The purpose's weights and ideal/limit values (``[siting.<purpose>]``).

    Returns
    -------
    DataFrame or GeoDataFrame
        ``factors`` plus ``suit_<factor>`` (0-1) and ``points_<factor>`` (its
        contribution, points of the score) per weighted factor, ``score``,
        ``best_factor``/``worst_factor`` (+ ``_zh``), ``reason`` (every
        factor: value and points, e.g. "平均坡度 2.0° +27.0"),
        ``missing_factors``; ``attrs["weights_used"]`` the share of each factor.

    Raises
    ------
    ConfigError
        None of the weighted factors could be computed.
    """
    weights = {k: float(v) for k, v in purpose.weights.items() if v > 0}
    used = [f for f in SITING_FACTORS if f in weights and f in factors.columns]
    left_out = [f for f in weights if f not in used]
    if left_out:
        log.warning("这些选址因素无法计算，未计入 / siting factors not available, left out: %s", ", ".join(left_out))
    if not used:
        raise ConfigError(
            f"没有可用的选址因素 / none of the weighted siting factors could be computed ({', '.join(weights)}): "
            "give a DEM, roads or water layers, or weight other factors"
        )
    x = np.column_stack([pd.to_numeric(factors[f], errors="coerce").to_numpy(dtype="float64") for f in used])
    s = np.column_stack([suitability(x[:, j], purpose.ideal[f], purpose.limit[f]) for j, f in enumerate(used)])
    w = np.array([weights[f] for f in used])
    have = np.isfinite(s)
    wsum = (have * w).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        points = np.where(have, 100.0 * s * w / wsum[:, None], np.nan)
    out = factors.copy()
    for j, f in enumerate(used):
        out[f"suit_{f}"] = s[:, j]
        out[f"points_{f}"] = points[:, j]
    out["score"] = np.where(wsum > 0, np.nansum(np.where(have, points, 0.0), axis=1), np.nan)
    # best: most points; worst: the most points lost against the factor's full weight
    lost = np.where(have, (1.0 - s) * w, -1.0)
    gain = np.where(have, s * w, -1.0)
    names = np.array(used, dtype=object)
    any_ = have.any(axis=1)
    best = np.where(any_, names[np.argmax(gain, axis=1)], None)
    worst = np.where(any_, names[np.argmax(lost, axis=1)], None)
    out["best_factor"] = pd.array(best, dtype="string")
    out["best_factor_zh"] = pd.array([SITING_FACTOR_INFO[b].label if b else None for b in best], dtype="string")
    out["worst_factor"] = pd.array(worst, dtype="string")
    out["worst_factor_zh"] = pd.array([SITING_FACTOR_INFO[b].label if b else None for b in worst], dtype="string")
    out["reason"] = pd.array(_reasons(x, points, used), dtype="string")
    out["missing_factors"] = pd.array(
        ["; ".join(names[~have[i]]) for i in range(len(out))], dtype="string"
    )
    out.attrs["weights_used"] = {f: weights[f] / w.sum() for f in used}
    return out


def _reasons(x: np.ndarray, points: np.ndarray, used: list[str]) -> list[str]:
    """Per candidate: "<factor> <value> +<points>" for every factor, largest contribution first."""
    out = []
    for i in range(len(x)):
        parts = []
        for j in np.argsort(-np.nan_to_num(points[i], nan=-1.0), kind="stable"):
            f = used[j]
            if np.isfinite(points[i, j]):
                parts.append(f"{_value_text(f, x[i, j])} +{points[i, j]:.1f}")
            else:
                parts.append(f"{SITING_FACTOR_INFO[f].label} 无数据 no data")
        out.append("；".join(parts))
    return out


# --------------------------------------------------------------------------- exclusions


def exclusions(
    scored: gpd.GeoDataFrame,
    purpose: SitingPurpose,
    *,
    zones: Mapping[str, gpd.GeoDataFrame] | None = None,
    status_column: str = "status",
) -> pd.DataFrame:
    """Why each candidate is excluded (empty text: it is not), every reason listed.

    Parameters
    ----------
    scored : GeoDataFrame
        Output of :func:`siting_score` (or :func:`siting_factors`).
    purpose : SitingPurpose
        Thresholds (``max_slope_deg``, ``min_area_mu``, ``max_road_distance_m``,
        ``max_water_distance_m``), ``exclude_layers`` with ``exclude_overlap_share``,
        and ``exclude_status``.
    zones : mapping layer name -> GeoDataFrame, optional
        The purpose's exclusion layers the town has (others are not checked).

    Returns
    -------
    DataFrame
        Indexed like ``scored``: ``excluded`` (bool), ``exclusion_codes``
        (e.g. ``slope;basic_farmland``) and ``exclusion`` (Chinese / English text).
    """
    n = len(scored)
    codes: list[list[str]] = [[] for _ in range(n)]
    texts: list[list[str]] = [[] for _ in range(n)]

    def add(mask: np.ndarray, code: str, text_of) -> None:
        for i in np.flatnonzero(mask):
            codes[i].append(code)
            texts[i].append(text_of(i))

    checks = [
        ("slope", "slope_mean_deg", purpose.max_slope_deg, +1, "坡度超过 {t:g}° slope above"),
        ("area", "area_mu", purpose.min_area_mu, -1, "面积小于 {t:g} 亩 smaller than"),
        ("road", "road_distance_m", purpose.max_road_distance_m, +1, "距道路超过 {t:g} m farther from a road than"),
        ("water", "water_distance_m", purpose.max_water_distance_m, +1, "距水源超过 {t:g} m farther from water than"),
    ]
    for code, col, t, sign, label in checks:
        if t is None or col not in scored.columns:
            continue
        v = pd.to_numeric(scored[col], errors="coerce").to_numpy(dtype="float64")
        with np.errstate(invalid="ignore"):
            bad = v > t if sign > 0 else v < t
        add(bad, code, lambda i, v=v, col=col, t=t, label=label: f"{label.format(t=t)} ({_value_text(col, v[i])})")
    for name, layer in (zones or {}).items():
        if layer is None or not len(layer):
            continue
        share = _inside_share(scored, layer, name)
        zh = ZONE_LABELS.get(name, name)
        add(
            share > purpose.exclude_overlap_share,
            name,
            lambda i, share=share, zh=zh, name=name: f"位于{zh} in {name} ({share[i]:.0%})",
        )
    if purpose.exclude_status and status_column in scored.columns:
        status = scored[status_column].astype("string").to_numpy(dtype=object, na_value=None)
        for s in purpose.exclude_status:
            add(status == s, f"status:{s}", lambda i, s=s: f"地块现状{STATUS_LABELS.get(s, s)} status {s}")
    return pd.DataFrame(
        {
            "excluded": [bool(c) for c in codes],
            "exclusion_codes": pd.array([";".join(c) for c in codes], dtype="string"),
            "exclusion": pd.array(["；".join(t) for t in texts], dtype="string"),
        },
        index=scored.index,
    )


def _inside_share(candidates: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, layer: str) -> np.ndarray:
    """Share (0-1) of each candidate's ellipsoidal area inside ``zones`` (0 for empty geometries)."""
    io = inside_outside(
        candidates.reset_index(drop=True)[[candidates.geometry.name]],
        zones,
        parcel_columns=[],
        parcels_layer="candidates",
        zones_layer=layer,
    )
    share = np.zeros(len(candidates))
    share[io["parcel_row"].to_numpy()] = io["inside_share"].to_numpy(dtype="float64")
    return share


# --------------------------------------------------------------------------- ranking


def rank_per_village(
    scored: pd.DataFrame, *, village_column: str = "village_id", id_column: str | None = None
) -> pd.Series:
    """Rank (1 = best) of each candidate not excluded within its village; NA for excluded ones.

    Ties on score are broken by the candidate id (``id_column``), then by row order.
    """
    ok = ~scored["excluded"].to_numpy(dtype=bool)
    village = (
        scored[village_column].astype("string").fillna("")
        if village_column in scored.columns
        else pd.Series("", index=scored.index)
    )
    key = pd.DataFrame(
        {
            "v": village.to_numpy(),
            "s": -pd.to_numeric(scored["score"], errors="coerce").fillna(-1.0).to_numpy(),
            "id": scored[id_column].astype("string").to_numpy() if id_column in scored.columns else "",
            "row": np.arange(len(scored)),
        }
    )[ok]
    key = key.sort_values(["v", "s", "id", "row"], kind="stable")
    ranks = key.groupby("v", sort=False).cumcount() + 1
    out = pd.Series(pd.NA, index=range(len(scored)), dtype="Int64")
    out.iloc[key["row"].to_numpy()] = ranks.to_numpy()
    out.index = scored.index
    return out
