"""The abandoned-land risk map (撂荒风险图)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import pandas as pd

from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.layout import (
    farmland_with_area,
    town_map,
    with_village_names,
)
from gis_town.maps.spec import LayerSpec, Style
from gis_town.maps.thematic.common import context_specs
from gis_town.reports.risk import (
    CLASS_NAMES,
    COLUMN_LABELS,
    MAP_FACTORS,
    PARCEL_MAP_FIELDS,
    VISIT_MAP_FIELDS,
)

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.risk import RiskResult

log = logging.getLogger(__name__)


# =========================================================================== risk

#: The map class of parcels already abandoned (已撂荒).
ABANDONED = "abandoned"

RISK_STYLES: dict[str, Style] = {
    "low": Style(color="#1a9850", fill="#a6d96a", weight=0.4, fill_opacity=0.6),
    "medium": Style(color="#e08214", fill="#fee08b", weight=0.5, fill_opacity=0.75),
    "high": Style(color="#a50026", fill="#d73027", weight=0.6, fill_opacity=0.8),
    # parcels already abandoned (status): a class of their own, dark grey, whatever their score
    ABANDONED: Style(color="#252525", fill="#525252", weight=0.6, fill_opacity=0.85),
}

#: The visit list drawn over the classes: a thin dashed outline, no fill (the class shows through).
VISIT_STYLE = Style(color="#5a189a", weight=1.0, opacity=0.9, fill=None, dash="3 3")

#: The map's class of each parcel: ``abandoned`` when already abandoned, else its risk class.
MAP_CLASS = "map_class"


def map_classes(scored) -> list[str]:
    """Each parcel's class on the map: 已撂荒 (``abandoned``) for parcels already abandoned, else ``risk_class``."""
    cls = scored["risk_class"].astype("string")
    if "status" in scored.columns:
        cls = cls.mask(scored["status"].astype("string") == "abandoned", ABANDONED)
    return [str(c) if c is not None and c is not pd.NA else "" for c in cls.tolist()]


def risk_specs(town: Town, *, result: RiskResult | None = None) -> tuple[list[LayerSpec], str, str]:
    """Layers of the abandoned-land risk map (parcels by class, top factor, visit list).

    Parameters
    ----------
    town : Town
    result : RiskResult, optional
        The risk runner's result (:func:`gis_town.runners.risk.run_risk`), drawn
        as it is: the map derives no class of its own. Without it (library
        use) the runner is run on the town and its config.

    Returns
    -------
    specs, title, subtitle
    """
    if result is None:
        from gis_town.runners.risk import run_risk

        result = run_risk(town, town.config)
    cfg = town.config
    scored = with_village_names(result.scored, town)
    if "area_mu" not in scored.columns:
        scored = farmland_with_area(scored)
    labels = dict(COLUMN_LABELS)
    factor_cols = [f for f in MAP_FACTORS if f in scored.columns]
    fields = [*PARCEL_MAP_FIELDS[:-1], *factor_cols, PARCEL_MAP_FIELDS[-1]]
    scored = scored.copy()
    scored[MAP_CLASS] = map_classes(scored)
    specs = context_specs(town, roads=True)
    specs.append(
        LayerSpec(
            "撂荒风险 abandonment risk",
            scored,
            fields=fields,
            tooltip=["parcel_id", "risk_class_zh", "top_factor_zh"],
            labels=labels,
            category=MAP_CLASS,
            styles=RISK_STYLES,
            class_labels={**CLASS_NAMES, ABANDONED: "已撂荒 already abandoned"},
            style=Style(color="#999999", fill="#dddddd", weight=0.4, fill_opacity=0.5),
            schema_layer="farmland",
            coverage=True,
        )
    )
    size = result.visit_size
    if len(result.visits):
        specs.append(
            LayerSpec(
                f"走访清单 visit list (每村前 {size} top {size} per village)",
                result.visits,
                fields=list(VISIT_MAP_FIELDS),
                tooltip=["parcel_id", "rank"],
                labels=labels,
                style=VISIT_STYLE,
                schema_layer="farmland",
            )
        )
    n_high = int((scored["risk_class"] == "high").sum())
    th = result.thresholds or {"medium": cfg.risk.medium, "high": cfg.risk.high}
    title = f"{cfg.town.name} 撂荒风险图 / abandoned-farmland risk"
    subtitle = (
        f"高风险 high: {n_high} 块 parcels；阈值 thresholds 中 {th['medium']:g} / 高 {th['high']:g}"
    )
    return specs, title, subtitle


def risk_map(town: Town, *, result: RiskResult | None = None, **kwargs) -> TownMap:
    """The abandoned-land risk map (撂荒风险图) as a ``folium.Map``; ``kwargs`` go to ``build_map``."""
    specs, title, subtitle = risk_specs(town, result=result)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)
