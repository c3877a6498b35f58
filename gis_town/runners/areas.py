"""The areas runner (面积统计): a town and its config to every area table.

:func:`run_areas` is the one place that decides which tables the town's
layers allow (projects, planning zones, basic farmland, the survey-area
check of a 三调 database) and with which thresholds; the CLI writes and
prints what it returns, notebooks show it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import geopandas as gpd
import pandas as pd

from gis_town.config import TownConfig

__all__ = ["AreasResult", "run_areas"]

log = logging.getLogger(__name__)


@dataclass
class AreasResult:
    """Every area table of a town (columns: ``docs/config.md`` and :mod:`gis_town.analysis.areas`).

    Attributes
    ----------
    parcels : GeoDataFrame
        Farmland with ``area_m2/mu/ha`` (and ``net_*`` with ridge coefficients).
    villages : DataFrame
        Per village and ``by`` (status, land use or crop), balanced, with the total row.
    by : str
        The grouping of ``villages``.
    projects, zones, basic_farmland, survey_check : DataFrame or None
        Per project; per planning zone; inside/outside basic farmland; the
        parcels whose area differs from their surveyed TBMJ. None when the
        town has nothing for the table.
    """

    parcels: gpd.GeoDataFrame
    villages: pd.DataFrame
    by: str
    projects: pd.DataFrame | None = None
    zones: pd.DataFrame | None = None
    basic_farmland: pd.DataFrame | None = None
    survey_check: pd.DataFrame | None = None


def _projects(parcels: gpd.GeoDataFrame) -> pd.DataFrame | None:
    from gis_town.analysis.areas import group_totals, project_parcels

    named = project_parcels(parcels)
    return group_totals(named, ["project"]) if len(named) else None


def run_areas(town, config: TownConfig | None = None, *, by: str = "status") -> AreasResult:
    """Area totals of ``town``: per village and ``by``, per project, zone and basic farmland.

    Parameters
    ----------
    town : Town
        With ``farmland``; ``villages``, ``zones`` and ``basic_farmland`` when present.
    config : TownConfig, optional
        Default: the town's own (``[areas]`` thresholds of the survey-area check).
    by : {"status", "land_use", "crop"}
        The grouping of the village table.

    Returns
    -------
    AreasResult
    """
    from gis_town.analysis.areas import (
        area_totals,
        basic_farmland_totals,
        parcel_areas,
        survey_area_check,
        zone_totals,
    )

    cfg = config or town.config
    parcels = parcel_areas(town.layer("farmland"))
    res = AreasResult(parcels=parcels, villages=area_totals(parcels, town.layers.get("villages"), by=[by]), by=by)
    res.projects = _projects(parcels)
    if town.has("zones"):
        res.zones = zone_totals(parcels, town.layer("zones"))
    if town.has("basic_farmland"):
        res.basic_farmland = basic_farmland_totals(parcels, town.layer("basic_farmland"))
    if "declared_area_m2" in parcels.columns:  # a surveyed area per parcel (三调 TBMJ)
        a = cfg.areas
        res.survey_check = survey_area_check(
            parcels, tolerance_pct=a.survey_tolerance_pct, tolerance_m2=a.survey_tolerance_m2
        )
    return res
