"""The abandoned-land risk map (撂荒风险图)."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd

from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.layout import (
    farmland_with_area,
    town_map,
    with_village_names,
)
from gis_town.maps.spec import LayerSpec, Style
from gis_town.maps.thematic.common import context_specs

log = logging.getLogger(__name__)


# =========================================================================== risk

RISK_STYLES: dict[str, Style] = {
    "low": Style(color="#1a9850", fill="#a6d96a", weight=0.4, fill_opacity=0.6),
    "medium": Style(color="#e08214", fill="#fee08b", weight=0.5, fill_opacity=0.75),
    "high": Style(color="#a50026", fill="#d73027", weight=0.6, fill_opacity=0.8),
}


def risk_specs(
    town: Town, *, scored: gpd.GeoDataFrame | None = None
) -> tuple[list[LayerSpec], str, str]:
    """Layers of the abandoned-land risk map (parcels by class, top factor, visit list)."""
    from gis_town.analysis import risk as ra

    cfg = town.config
    villages = town.layers.get("villages")
    if scored is None:
        dem = cfg.dem_path()
        ndvi = cfg.ndvi_paths()
        factors = ra.parcel_factors(
            town.layer("farmland"),
            villages=villages,
            roads=town.layers.get("roads"),
            settlements=town.layers.get("settlements"),
            dem=dem if dem is not None and Path(dem).is_file() else None,
            ndvi={y: p for y, p in ndvi.items() if Path(p).is_file()} or None,
            year=cfg.town.year,
            gk_crs=town.gk_crs,
        )
        scored = ra.risk_score(factors, cfg.risk)
    scored = with_village_names(scored, town)
    if "area_mu" not in scored.columns:
        scored = farmland_with_area(scored)
    labels = dict(ra.COLUMN_LABELS)
    factor_cols = [
        f
        for f in (
            "slope_mean_deg",
            "slope_gt25_share",
            "road_distance_m",
            "settlement_distance_m",
            "years_idle",
            "ndvi_mean",
            "monitored_share",
        )
        if f in scored.columns
    ]
    fields = [
        "parcel_id",
        "village_name",
        "group",
        "contractor",
        "status",
        "area_mu",
        "score",
        "risk_class_zh",
        "top_factor_zh",
        "reason",
        *factor_cols,
        "score_note",
    ]
    class_labels = {k: f"{v}风险 {k}" for k, v in ra.RISK_CLASS_LABELS.items()}
    specs = context_specs(town, roads=True)
    specs.append(
        LayerSpec(
            "撂荒风险 abandonment risk",
            scored,
            fields=fields,
            tooltip=["parcel_id", "risk_class_zh", "top_factor_zh"],
            labels=labels,
            category="risk_class",
            styles=RISK_STYLES,
            class_labels=class_labels,
            style=Style(color="#999999", fill="#dddddd", weight=0.4, fill_opacity=0.5),
            schema_layer="farmland",
            coverage=True,
        )
    )
    size = cfg.risk.visit_list_size
    visits = ra.visit_list(scored, size=size, villages=villages)
    if len(visits):
        specs.append(
            LayerSpec(
                f"走访清单 visit list (每村前 {size} top {size} per village)",
                visits,
                fields=[
                    "village_name",
                    "leader",
                    "group",
                    "rank",
                    "parcel_id",
                    "contractor",
                    "area_mu",
                    "score",
                    "risk_class_zh",
                    "top_factor_zh",
                    "reason",
                ],
                tooltip=["parcel_id", "rank"],
                labels=labels,
                style=Style(color="#5a189a", weight=1.6, fill=None, dash="4 2"),
                schema_layer="farmland",
            )
        )
    n_high = int((scored["risk_class"] == "high").sum())
    title = f"{cfg.town.name} 撂荒风险图 / abandoned-farmland risk"
    subtitle = f"高风险 high: {n_high} 块 parcels；阈值 thresholds 中 {cfg.risk.medium:g} / 高 {cfg.risk.high:g}"
    return specs, title, subtitle


def risk_map(town: Town, *, scored=None, **kwargs) -> TownMap:
    """The abandoned-land risk map (撂荒风险图) as a ``folium.Map``; ``kwargs`` go to ``build_map``."""
    specs, title, subtitle = risk_specs(town, scored=scored)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)


# =========================================================================== progress
