"""The risk runner (撂荒风险): a town and its config to every risk table.

:func:`run_risk` is the one place that decides which DEM and NDVI rasters the
abandonment-risk analysis reads, with which weights, thresholds and visit-list
size, and what happens when an input is missing: a configured or given raster
that does not exist stops the run with one clear error (exit 2 through the
CLI), the same for ``gis-town risk``, ``gis-town map --kind risk``, the demo
and the notebooks. The CLI writes and prints what it returns; the risk map
draws it.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import pandas as pd

from gis_town.config import TownConfig
from gis_town.errors import RasterError
from gis_town.runners.visits import as_of_date, visit_history

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.analysis.risk import RiskValidation

__all__ = ["LAST_VISIT_COLUMNS", "RiskResult", "run_risk"]

log = logging.getLogger(__name__)


@dataclass
class RiskResult:
    """Every result of the abandonment-risk analysis of a town (columns: ``docs/risk.md``).

    Attributes
    ----------
    scored : GeoDataFrame
        Every parcel with its factors, ``score``, ``risk_class`` (+ ``_zh``),
        ``top_factor`` (+ ``_zh``), ``reason``, ``missing_factors`` and
        ``score_note`` (:func:`gis_town.analysis.risk.risk_score`).
    villages : DataFrame
        Per village (:func:`gis_town.analysis.risk.village_summary`), total row last.
    visits : GeoDataFrame
        The leaders' visit list (:func:`gis_town.analysis.risk.visit_list`).
    factors : DataFrame
        How each factor was normalised, its weight and share (risk_factors.csv).
    validation : RiskValidation or None
        The score against the observed status; None when not asked for or no status.
    problems : list of str
        What the reader should know: inputs not given, parcels scored without some factors.
    dem : Path or None
        The DEM read (None: no slope or elevation factor).
    ndvi : dict of int -> Path
        The NDVI rasters read, by year.
    visit_size : int
        Parcels per village on the visit list.
    weights_used : dict of str -> float
        The factors scored and their share of the weight (sums to 1).
    thresholds : dict of str -> float
        ``medium`` and ``high`` class thresholds.
    as_of : date
        The day the visit list is made (its ``listed_date``; visits within
        ``[risk] revisit_after_days`` before it are recent).
    history : Path or None
        The visit history read (``visits.csv``), None when none was given or configured.
    revisited : DataFrame
        Parcels left off the visit list as visited recently
        (:func:`gis_town.analysis.visits.recently_visited`): ``parcel_id``,
        ``village_id``, ``score``, ``risk_class_zh`` and the last visit; empty
        without a history.
    """

    scored: gpd.GeoDataFrame
    villages: pd.DataFrame
    visits: gpd.GeoDataFrame
    factors: pd.DataFrame
    validation: RiskValidation | None = None
    problems: list[str] = field(default_factory=list)
    dem: Path | None = None
    ndvi: dict[int, Path] = field(default_factory=dict)
    visit_size: int = 20
    weights_used: dict[str, float] = field(default_factory=dict)
    thresholds: dict[str, float] = field(default_factory=dict)
    as_of: dt.date = field(default_factory=dt.date.today)
    history: Path | None = None
    revisited: pd.DataFrame = field(default_factory=pd.DataFrame)


def _existing(path: Path | str, what: str, given: bool) -> Path:
    """``path`` as a Path, or a RasterError naming where it came from when there is no such file."""
    p = Path(path)
    if not p.exists():
        where = "命令行 on the command line" if given else "乡镇配置 the town config's [rasters]"
        raise RasterError(
            f"栅格文件不存在 / {what} raster not found ({where}): check the path, or leave the "
            f"{what} out to score without it",
            path=str(p),
        )
    return p


def _rasters(
    cfg: TownConfig, dem: Path | str | None, ndvi: Mapping[int, Path | str] | None
) -> tuple[Path | None, dict[int, Path]]:
    """The DEM and NDVI rasters of the run: the ones given, else the config's; each must exist."""
    dem_given = dem is not None
    dem = dem if dem_given else cfg.dem_path()
    dem_path = _existing(dem, "DEM", dem_given) if dem is not None else None
    ndvi_given = bool(ndvi)
    paths = dict(ndvi) if ndvi_given else cfg.ndvi_paths()
    ndvi_paths = {int(y): _existing(p, f"NDVI {y}", ndvi_given) for y, p in paths.items()}
    return dem_path, ndvi_paths


def _missing_note(scored: pd.DataFrame) -> str | None:
    """The note on parcels scored without some factors, None when every parcel had all."""
    missing = int((scored["missing_factors"].str.len() > 0).sum())
    if not missing:
        return None
    return (
        f"有 {missing} 个地块缺少部分因素，按其余因素评分 (见 score_note) / {missing} parcels miss some "
        "factors and were scored on the others (see score_note)"
    )


def run_risk(
    town,
    config: TownConfig | None = None,
    *,
    dem: Path | str | None = None,
    ndvi: Mapping[int, Path | str] | None = None,
    visit_size: int | None = None,
    include_abandoned: bool = False,
    validate: bool = True,
    visits: Path | str | pd.DataFrame | None = None,
    as_of: str | dt.date | None = None,
) -> RiskResult:
    """Abandonment risk of ``town``: factors, scores, village table, visit list and validation.

    Parameters
    ----------
    town : Town
        With ``farmland``; ``villages``, ``roads`` and ``settlements`` when present.
    config : TownConfig, optional
        Default: the town's own (``[rasters]``, ``[risk]`` and ``[town] year``).
    dem : path, optional
        Elevation raster; default ``config.dem_path()``. None there too: no slope factors.
    ndvi : mapping year -> path, optional
        NDVI rasters; default ``config.ndvi_paths()``.
    visit_size : int, optional
        Parcels per village on the visit list; default ``[risk] visit_list_size``.
    include_abandoned : bool, default False
        Also list parcels already abandoned on the visit list.
    validate : bool, default True
        Validate the score against the parcels' observed status (when they have one).
    visits : path or DataFrame, optional
        The visit history (``visits.csv`` of ``gis-town visits``, or its
        table); default ``[risk] visits``. Each parcel gets its last visit and
        outcome; a parcel visited within ``[risk] revisit_after_days`` is left
        off the visit list unless its promised re-cultivation date has passed.
    as_of : date or "YYYY-MM-DD", optional
        The day the list is made; default the config's ``town.data_date``
        (as ``gis-town progress``), else today (the town's time zone).

    Returns
    -------
    RiskResult

    Raises
    ------
    RasterError
        A DEM or NDVI raster (given or configured) does not exist or cannot be used.
    InputError
        The visit history (given or configured) does not exist or is no visits.csv; a bad ``as_of``.
    ConfigError
        Bad weights or thresholds, or no weighted factor can be computed.
    """
    from gis_town.analysis.risk import (
        parcel_factors,
        risk_score,
        validate_risk,
        village_summary,
        visit_list,
    )

    cfg = config or town.config
    dem_path, ndvi_paths = _rasters(cfg, dem, ndvi)
    day = as_of_date(as_of if as_of is not None else cfg.town.data_date)
    history, history_path = _history(cfg, visits)  # a bad file stops the run before the scoring
    problems: list[str] = []
    if dem_path is None:
        problems.append(
            "注意: 未提供 DEM，坡度和海拔因素缺失 / note: no DEM given: slope and elevation factors are missing"
        )
    villages = town.layers.get("villages")
    factors = parcel_factors(
        town.layer("farmland"),
        villages=villages,
        roads=town.layers.get("roads"),
        settlements=town.layers.get("settlements"),
        dem=dem_path,
        ndvi=ndvi_paths or None,
        year=cfg.town.year,
        gk_crs=town.gk_crs,
    )
    scored = risk_score(factors, cfg.risk)
    note = _missing_note(scored)
    if note:
        problems.append(note)
    size = visit_size or cfg.risk.visit_list_size
    validation = None
    if validate and "status" in scored.columns:
        validation = validate_risk(scored, cfg.risk, status_year=cfg.town.year)
    last, skip = _last_visits(history, day, cfg.risk.revisit_after_days)
    if last is not None:
        scored = _with_last_visit(scored, last)
    return RiskResult(
        scored=scored,
        villages=village_summary(scored, villages),
        visits=visit_list(
            scored, size=size, villages=villages, include_abandoned=include_abandoned,
            listed=day, last_visits=last, skip=skip,
        ),
        factors=scored.attrs["normalisation"],
        validation=validation,
        problems=problems,
        dem=dem_path,
        ndvi=ndvi_paths,
        visit_size=size,
        weights_used=dict(scored.attrs["weights_used"]),
        thresholds=dict(scored.attrs["thresholds"]),
        as_of=day,
        history=history_path,
        revisited=_revisited(scored, skip),
    )


def _history(
    cfg: TownConfig, visits: Path | str | pd.DataFrame | None
) -> tuple[pd.DataFrame | None, Path | None]:
    """The visit history of the run: the table or file given, else ``[risk] visits``."""
    if isinstance(visits, pd.DataFrame):
        return visits, None
    history, _listed, path = visit_history(cfg, visits)
    return history, path


def _last_visits(
    history: pd.DataFrame | None, day: dt.date, revisit_after_days: int
) -> tuple[pd.DataFrame | None, set[str]]:
    """Each parcel's last visit up to ``day`` and the parcels visited recently (None, {}: no history)."""
    from gis_town.analysis.visits import last_visits, recently_visited

    if history is None:
        return None, set()
    h = history.copy()
    h["visit_date"] = pd.to_datetime(h["visit_date"], errors="coerce")
    h = h[(h["visit_date"] <= pd.Timestamp(day)).to_numpy(dtype=bool, na_value=False)]
    last = last_visits(h)
    skip = recently_visited(last, as_of=day, revisit_after_days=revisit_after_days)
    log.info("visit history: %d parcels visited, %d recently", len(last), len(skip))
    return last, skip


#: Columns of the last visit added to every scored parcel (risk.csv) when there is a history.
LAST_VISIT_COLUMNS: tuple[str, ...] = (
    "last_visit_date", "last_outcome", "last_outcome_zh", "last_planned_date", "visits",
)


def _with_last_visit(scored: gpd.GeoDataFrame, last: pd.DataFrame) -> gpd.GeoDataFrame:
    """``scored`` with each parcel's last visit (blank, 0 visits: never visited)."""
    attrs = dict(scored.attrs)
    by_id = last.assign(parcel_id=last["parcel_id"].astype("string")).set_index("parcel_id")
    pid = scored["parcel_id"].astype("string")
    out = scored.copy()
    for c in LAST_VISIT_COLUMNS:
        got = pid.map(by_id[c])
        if c in ("last_visit_date", "last_planned_date"):
            out[c] = pd.to_datetime(got).to_numpy()
        elif c == "visits":
            out[c] = got.fillna(0).astype("int64").to_numpy()
        else:
            out[c] = got.astype("string").to_numpy()
    out.attrs = attrs
    return out


def _revisited(scored: pd.DataFrame, skip: set[str]) -> pd.DataFrame:
    """The parcels left off the visit list as visited recently, highest score first."""
    cols = ["parcel_id", "village_id", "village_name", "score", "risk_class_zh", "status",
            "last_visit_date", "last_outcome_zh", "last_planned_date"]
    if not skip:
        return pd.DataFrame(columns=cols)
    part = scored[scored["parcel_id"].astype("string").isin(list(skip)).to_numpy(
        dtype=bool, na_value=False)]
    part = pd.DataFrame(part[[c for c in cols if c in part.columns]])
    return part.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
