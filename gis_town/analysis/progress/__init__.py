"""Plan progress (计划进度): where each of the year's targets stands on a given date.

One pure function per topic, each returning a :class:`TopicProgress` (a main
table, detail tables and the topic's rows of the summary):

* :func:`afforestation_progress` - 林长制: trees planted for four-sides planting
  (四旁植树), mu of hillside greening (面山绿化) and economic forest (经济林), per
  village and in total against the year's targets; measured ellipsoidal area
  beside the declared area, plots that differ by more than
  ``targets.afforestation_area_tolerance`` listed.
* :func:`resettlement_progress` - 地质灾害避险搬迁: the share of households at each
  stage against the milestone then due (``targets.resettlement_milestones``),
  per cohort, in total, per destination (进城/乡镇) and per village; households
  behind schedule by name; stage dates out of order flagged and not counted;
  reclaimed area (mu) from the reclamation layer; with dated NDVI scenes
  (``[rasters] ndvi_scenes``) the first crop of each reclaimed plot
  (:func:`first_crop`, 种植夏粮).
* :func:`high_standard_progress` - 高标准农田: area built, accepted and uploaded
  (上图入库) per project from its construction sections, against
  ``targets.high_standard``, beside the farmland tagged with the project.
* :func:`zone_progress` - 一川两线三流域 demonstration belts: farmland inside
  each zone by true intersection (:mod:`gis_town.analysis.overlay`), all
  statuses and the film-mulched part (全膜双垄沟播), against the zone's
  ``planned_demo_mu``; totals per zone and per kind, never across kinds.
* :func:`road_progress` - 村组道路硬化: km hardened in the plan year (lengths in
  the Gauss-Kruger zone), per village and in total, against the target.
* :func:`collective_progress` - 村集体经济: share of villages whose collective
  income reaches ``targets.collective_income_wan``.

:func:`plan_progress` runs every topic a town has the layers for, and
:func:`summary_table` puts their summary rows together.

One module per topic (``afforestation``, ``resettlement``, ``high_standard``,
``zones``, ``roads``, ``collective``), the shared status machinery in
``status``, the stages in ``stages`` and the field parsers in ``fields``;
every public name is importable from this package.

Statuses (column ``status``, Chinese in ``status_label``): ``done``,
``on_track``, ``in_progress`` (an annual target before its due date
``targets.annual_due``), ``not_due`` (no milestone due yet), ``behind``,
``no_target`` (the config gives no target: a marked row, never a zero),
``no_data`` and ``town_target_only`` (a village row where only a town-wide
target exists). :func:`needs_attention` tells which rows to highlight.

Shares are in percent (``*_pct``). Areas are ellipsoidal on CGCS2000
(:func:`gis_town.geodesy.area_m2`); lengths are in the town's Gauss-Kruger zone.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gis_town.analysis.progress.afforestation import AFFORESTATION_UNITS, afforestation_progress
from gis_town.analysis.progress.collective import collective_progress
from gis_town.analysis.progress.first_crop import FIRST_CROP_STATES, first_crop
from gis_town.analysis.progress.high_standard import high_standard_progress
from gis_town.analysis.progress.resettlement import (
    HOUSEHOLD_COLUMNS,
    milestones_due,
    resettlement_progress,
    stage_reached,
)
from gis_town.analysis.progress.roads import road_progress
from gis_town.analysis.progress.stages import STAGE_LABELS, STAGE_PREREQUISITES, STAGES
from gis_town.analysis.progress.status import (
    STATUS_LABELS,
    SUMMARY_COLUMNS,
    TOTAL_ID,
    TopicProgress,
    _summary,
    needs_attention,
    parse_as_of,
)
from gis_town.analysis.progress.zones import zone_progress
from gis_town.config import TownConfig

__all__ = [
    "AFFORESTATION_UNITS",
    "FIRST_CROP_STATES",
    "HOUSEHOLD_COLUMNS",
    "STAGES",
    "STAGE_LABELS",
    "STAGE_PREREQUISITES",
    "STATUS_LABELS",
    "SUMMARY_COLUMNS",
    "TOPICS",
    "TOTAL_ID",
    "TopicProgress",
    "afforestation_progress",
    "collective_progress",
    "first_crop",
    "high_standard_progress",
    "milestones_due",
    "needs_attention",
    "parse_as_of",
    "plan_progress",
    "resettlement_progress",
    "road_progress",
    "stage_reached",
    "summary_table",
    "zone_progress",
]

#: Kept for callers of the former private name.
_STAGE_LABELS = STAGE_LABELS

#: The topics of :func:`plan_progress`, in order: (key, label, layers it needs).
TOPICS: tuple[tuple[str, str, str], ...] = (
    ("afforestation", "林长制 afforestation", "afforestation"),
    ("resettlement", "避险搬迁 resettlement", "resettlement"),
    ("high_standard", "高标准农田 high-standard farmland", "farmland"),
    ("zones", "示范片带 demonstration belts", "farmland, zones"),
    ("roads", "村组道路硬化 road hardening", "roads"),
    ("collective", "村集体经济 collective economy", "villages"),
)


def _missing_topic(topic: str, label: str, layers: str) -> TopicProgress:
    summary = _summary(
        [
            {
                "topic": label,
                "item": "",
                "unit": "",
                "done": np.nan,
                "target": np.nan,
                "share_pct": np.nan,
                "due_date": "",
                "status": "no_data",
                "note": f"缺少图层 / missing layer(s): {layers}",
            }
        ]
    )
    return TopicProgress(topic, label, pd.DataFrame(), summary)


def _topic(
    key: str, town, cfg: TownConfig, as_of: pd.Timestamp, high_standard: dict | None = None
) -> TopicProgress | None:
    """One topic's progress, or None when the town lacks its layers (``high_standard``: the
    construction ``sections`` and their ``checks`` for :func:`high_standard_progress`)."""
    L = town.layers
    villages = L.get("villages")
    if key == "afforestation" and ("afforestation" in L or "afforestation_points" in L):
        return afforestation_progress(
            L.get("afforestation"),
            points=L.get("afforestation_points"),
            config=cfg,
            as_of=as_of,
            villages=villages,
        )
    if key == "resettlement" and "resettlement" in L:
        return resettlement_progress(
            L["resettlement"],
            config=cfg,
            as_of=as_of,
            villages=villages,
            reclamation=L.get("reclamation"),
            scenes=cfg.ndvi_scene_paths() or None,
        )
    if key == "high_standard" and "farmland" in L:
        return high_standard_progress(
            L["farmland"], config=cfg, as_of=as_of, villages=villages, **(high_standard or {})
        )
    if key == "zones" and "farmland" in L and "zones" in L:
        return zone_progress(L["farmland"], L["zones"], config=cfg, as_of=as_of)
    if key == "roads" and "roads" in L:
        return road_progress(
            L["roads"], config=cfg, as_of=as_of, villages=villages, gk_crs=town.gk_crs
        )
    if key == "collective" and villages is not None:
        return collective_progress(villages, config=cfg, as_of=as_of)
    return None


def plan_progress(
    town,
    as_of: str | dt.date | pd.Timestamp,
    *,
    config: TownConfig | None = None,
    high_standard: dict | None = None,
) -> dict[str, TopicProgress]:
    """Run every topic the town has layers for; a topic without its layers gets a ``no_data`` summary row.

    Parameters
    ----------
    town : gis_town.io.Town
        A loaded town (validated layers and config).
    as_of : date or "YYYY-MM-DD"
    config : TownConfig, optional
        The targets; default ``town.config``.
    high_standard : dict, optional
        ``sections`` (the construction sections) and ``checks`` (their
        acceptance check, :func:`~gis_town.analysis.progress.construction.section_checks`)
        for :func:`high_standard_progress`; the runner reads them
        (:func:`gis_town.runners.progress.high_standard_inputs`).

    Returns
    -------
    dict of str -> TopicProgress
        Keys ``afforestation``, ``resettlement``, ``high_standard``, ``zones``,
        ``roads``, ``collective``, in that order.
    """
    as_of = parse_as_of(as_of)
    cfg = town.config if config is None else config
    out: dict[str, TopicProgress] = {}
    for key, label, layers in TOPICS:
        res = _topic(key, town, cfg, as_of, high_standard)
        out[key] = res if res is not None else _missing_topic(key, label, layers)
    return out


def summary_table(results: dict[str, TopicProgress] | Sequence[TopicProgress]) -> pd.DataFrame:
    """The summary across topics: one row per item with done, target, share, due date and status."""
    items = results.values() if isinstance(results, dict) else results
    frames = [r.summary for r in items if r.summary is not None and len(r.summary)]
    if not frames:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(SUMMARY_COLUMNS)]
