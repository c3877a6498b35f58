"""The site-selection map (选址图): candidates by suitability class, excluded land, the ranked list."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import numpy as np

from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.layout import town_map
from gis_town.maps.spec import LayerSpec, Style
from gis_town.maps.thematic.common import context_specs
from gis_town.reports.siting import COLUMN_LABELS, PURPOSE_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.siting import SitingResult

log = logging.getLogger(__name__)

#: The map's class of each candidate (column added for the map only).
MAP_CLASS = "siting_class"

#: Score classes of the candidates not excluded: (code, lower bound of the score, legend label).
SCORE_CLASSES: tuple[tuple[str, float, str], ...] = (
    ("good", 70.0, "适宜 suitable (≥70)"),
    ("fair", 50.0, "较适宜 fair (50-70)"),
    ("poor", 0.0, "欠适宜 poor (<50)"),
)

SITING_STYLES: dict[str, Style] = {
    "good": Style(color="#006837", fill="#1a9850", weight=0.6, fill_opacity=0.8),
    "fair": Style(color="#66bd63", fill="#d9ef8b", weight=0.5, fill_opacity=0.7),
    "poor": Style(color="#e08214", fill="#fee08b", weight=0.4, fill_opacity=0.6),
    "excluded": Style(color="#969696", fill="#d9d9d9", weight=0.3, fill_opacity=0.4),
}

#: The ranked list drawn over the classes: a bold outline, no fill.
RANKED_STYLE = Style(color="#08306b", weight=2.0, opacity=0.95, fill=None)


def siting_classes(candidates) -> list[str]:
    """``excluded`` for excluded candidates, else the score class of :data:`SCORE_CLASSES`."""
    score = candidates["score"].to_numpy(dtype="float64", na_value=np.nan)
    out = np.full(len(candidates), "poor", dtype=object)
    for code, lo, _ in reversed(SCORE_CLASSES):
        out[score >= lo] = code
    out[candidates["excluded"].to_numpy(dtype=bool)] = "excluded"
    return out.tolist()


def siting_specs(town: Town, result: SitingResult) -> tuple[list[LayerSpec], str, str]:
    """Layers of the siting map: candidates by class (excluded in grey), the ranked list on top."""
    labels = dict(COLUMN_LABELS)
    cand = result.candidates.copy()
    cand[MAP_CLASS] = siting_classes(cand)
    idc = result.id_column
    base = [c for c in ("village_name", idc, "area_mu", "score", "rank") if c in cand.columns]
    fields = [*base, "reason", "exclusion"]
    specs = context_specs(town, rivers=True, roads=True)
    specs.append(
        LayerSpec(
            "候选地块 candidates",
            cand,
            fields=fields,
            tooltip=[idc, "score"],
            labels=labels,
            category=MAP_CLASS,
            styles=SITING_STYLES,
            class_labels={**{c: t for c, _, t in SCORE_CLASSES}, "excluded": "已排除 excluded"},
            style=SITING_STYLES["poor"],
            schema_layer="farmland",
            coverage=True,
        )
    )
    if len(result.ranked):
        top = town.config.siting.top_per_village
        specs.append(
            LayerSpec(
                f"推荐地块 ranked (每村前 {top} top {top} per village)",
                result.ranked,
                fields=[*base, "reason"],
                tooltip=[idc, "rank"],
                labels=labels,
                style=RANKED_STYLE,
                schema_layer="farmland",
            )
        )
    zh = PURPOSE_LABELS.get(result.purpose, result.purpose)
    title = f"{town.config.town.name} {zh}选址 / site selection: {result.purpose}"
    subtitle = (
        f"候选 candidates {len(cand)}，适宜 suitable {int((~cand['excluded']).sum())}，"
        f"排除 excluded {int(cand['excluded'].sum())}"
    )
    return specs, title, subtitle


def siting_map(town: Town, result: SitingResult, **kwargs) -> TownMap:
    """The site-selection map (选址图) as a ``folium.Map``; ``kwargs`` go to ``build_map``."""
    specs, title, subtitle = siting_specs(town, result)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)
