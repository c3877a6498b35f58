"""The compare runner (两期调查对比): two surveys of a town to every comparison table.

:func:`run_compare` decides what is compared: the ``farmland`` of the OLD and
of the NEW town, in the NEW town's Gauss-Kruger zone, with the config's
``[compare]`` sliver thresholds (or the ones given); the village names and
leaders come from the NEW town's ``villages`` when it has them. The CLI
writes and prints what it returns; the change map draws it.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from gis_town.config import TownConfig

__all__ = ["CompareResult", "run_compare"]

log = logging.getLogger(__name__)


@dataclass
class CompareResult:
    """Every result of comparing two surveys (columns: ``docs/compare.md``).

    Attributes
    ----------
    pieces : GeoDataFrame
        One row per piece (:func:`gis_town.analysis.compare.compare_surveys`),
        geometry in the Gauss-Kruger zone of the run.
    villages : DataFrame
        Area (mu) per village and change class, total row last
        (:func:`gis_town.analysis.compare.village_change_summary`).
    newly_abandoned : GeoDataFrame
        The new parcels with newly abandoned land, in visit-list order (EPSG:4490).
    old_parcels, new_parcels : int
        Parcels compared.
    old_mu, new_mu : float
        Ellipsoidal farmland area of each survey, mu.
    slivers : int
        Overlaps and left-over parts ignored as digitising noise.
    sliver_mu : float
        Their area, mu.
    sliver_share, sliver_min_m2 : float
        The thresholds used.
    old_path, new_path : str
        Where the surveys came from.
    old_date, new_date : date or None
        The surveys' data dates (``[town] data_date`` of each town's config).
    listed : date
        The day the newly abandoned list is made.
    problems : list of str
        What the reader should know.
    """

    pieces: gpd.GeoDataFrame
    villages: pd.DataFrame
    newly_abandoned: gpd.GeoDataFrame
    old_parcels: int = 0
    new_parcels: int = 0
    old_mu: float = 0.0
    new_mu: float = 0.0
    slivers: int = 0
    sliver_mu: float = 0.0
    sliver_share: float = 0.05
    sliver_min_m2: float = 10.0
    old_path: str = ""
    new_path: str = ""
    old_date: dt.date | None = None
    new_date: dt.date | None = None
    listed: dt.date = field(default_factory=dt.date.today)
    problems: list[str] = field(default_factory=list)

    def surveys(self) -> pd.DataFrame:
        """One row per survey: ``survey``, ``path``, ``data_date``, ``parcels``, ``area_mu``."""
        return pd.DataFrame({
            "survey": ["上期 old", "本期 new"],
            "path": [self.old_path, self.new_path],
            "data_date": pd.to_datetime(pd.Series([self.old_date, self.new_date])),
            "parcels": pd.array([self.old_parcels, self.new_parcels], dtype="int64"),
            "area_mu": [round(self.old_mu, 2), round(self.new_mu, 2)],
        })


def _data_date(town) -> dt.date | None:
    """``[town] data_date`` of the survey's config (None when not known: a file's date is not a survey's)."""
    return town.config.town.data_date


def run_compare(
    old_town,
    new_town,
    config: TownConfig | None = None,
    *,
    sliver_share: float | None = None,
    sliver_min_m2: float | None = None,
    listed: dt.date | None = None,
    compare=None,
    new_land: gpd.GeoDataFrame | None = None,
) -> CompareResult:
    """Compare the farmland of ``old_town`` (last survey) with ``new_town`` (this survey).

    Parameters
    ----------
    old_town, new_town : Town
        Each with ``farmland``; ``new_town`` with ``villages`` when present.
    config : TownConfig, optional
        Default: the NEW town's own (``[compare]``).
    sliver_share : float, optional
        Default ``[compare] sliver_share`` (0.05 of the smaller parcel).
    sliver_min_m2 : float, optional
        Default ``[compare] sliver_min_m2`` (10 m²).
    listed : date, optional
        The day the newly abandoned list is made (default: the NEW survey's
        ``[town] data_date``, as the risk command's list; else today).
    compare : callable, optional
        The comparison, :func:`gis_town.analysis.compare.compare_surveys` by
        default; :func:`gis_town.parallel.compare.compare_surveys` for the
        Dask path (same arguments, same result).
    new_land : GeoDataFrame, optional
        The NEW survey's land that is not farmland, with ``DLBM`` / ``DLMC``
        (a 三调 database's other DLTB parcels): the ``lost`` pieces get the
        class they became (``new_land_class``, ``new_land_class_name``).

    Returns
    -------
    CompareResult
    """
    from gis_town.analysis.compare import (
        compare_surveys,
        lost_land_class,
        newly_abandoned,
        village_change_summary,
    )
    from gis_town.geodesy import m2_to_mu

    cfg = config or new_town.config
    share = cfg.compare.sliver_share if sliver_share is None else float(sliver_share)
    min_m2 = cfg.compare.sliver_min_m2 if sliver_min_m2 is None else float(sliver_min_m2)
    old, new = old_town.layer("farmland"), new_town.layer("farmland")
    tables = (compare or compare_surveys)(
        old, new, gk_crs=new_town.gk_crs, sliver_share=share, sliver_min_m2=min_m2
    )
    pieces = tables.pieces if new_land is None else lost_land_class(tables.pieces, new_land)
    villages = new_town.layers.get("villages")
    listed = listed or cfg.town.data_date or dt.date.today()
    return CompareResult(
        pieces=pieces,
        villages=village_change_summary(pieces, villages),
        newly_abandoned=newly_abandoned(pieces, new, villages, listed=listed),
        old_parcels=len(old),
        new_parcels=len(new),
        old_mu=float(m2_to_mu(tables.old_m2)),
        new_mu=float(m2_to_mu(tables.new_m2)),
        slivers=tables.slivers,
        sliver_mu=float(m2_to_mu(tables.sliver_m2)),
        sliver_share=share,
        sliver_min_m2=min_m2,
        old_path=str(old_town.path or ""),
        new_path=str(new_town.path or ""),
        old_date=_data_date(old_town),
        new_date=_data_date(new_town),
        listed=listed,
        problems=list(tables.notes),
    )
