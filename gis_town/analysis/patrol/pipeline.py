"""The pipeline's two stages and their results: points to trips (per partition), trips to the tables (finishing)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
from pyproj import CRS

from gis_town.analysis.patrol.common import REASONS, _cfg
from gis_town.analysis.patrol.coverage import blind_spots, covered_intervals, trip_coverage
from gis_town.analysis.patrol.network import _Network, _network, match_points, prepare_rivers
from gis_town.analysis.patrol.points import prepare_points, split_trips
from gis_town.analysis.patrol.schedule import (
    chief_table,
    quarter_periods,
    segment_table,
    village_table,
)
from gis_town.analysis.patrol.validation import validate_trips
from gis_town.config import PatrolSection, TownConfig

log = logging.getLogger(__name__)


@dataclass
class PatrolResult:
    """Everything :func:`analyze_patrols` computes (see ``docs/patrol.md`` for the columns)."""

    as_of: dt.date
    start: dt.date
    end: dt.date
    segments: pd.DataFrame
    periods: pd.DataFrame
    trips: pd.DataFrame
    trip_segments: pd.DataFrame
    intervals: pd.DataFrame
    gaps: gpd.GeoDataFrame
    chiefs: pd.DataFrame
    villages: pd.DataFrame
    problems: pd.DataFrame
    points: pd.DataFrame | None = None
    summary: dict = field(default_factory=dict)

    @property
    def invalid_trips(self) -> pd.DataFrame:
        """The invalid trips, with their reasons."""
        return self.trips[~self.trips["valid"]].reset_index(drop=True)


@dataclass
class PatrolTrips:
    """The point-heavy half of the analysis (:func:`patrol_trips`): trips and what they covered.

    Everything after it (:func:`patrol_report`) works on these tables, never
    on the points, so the partitioned path (:func:`gis_town.parallel.analyze_patrols`)
    computes them per group of chiefs and combines them (:func:`combine_trips`).
    """

    trips: pd.DataFrame
    intervals: pd.DataFrame
    problems: pd.DataFrame
    n_points: int
    points: pd.DataFrame | None = None


def patrol_trips(
    points: pd.DataFrame,
    segments: gpd.GeoDataFrame,
    *,
    config: TownConfig | PatrolSection | None = None,
    gk_crs: str | CRS | None = None,
    points_crs: str | None = None,
    keep_points: bool = False,
    _net: _Network | None = None,
) -> PatrolTrips:
    """Steps 1-6 of the pipeline: points to checked trips and the stretches they covered.

    Parameters
    ----------
    points : GeoDataFrame or DataFrame
        Patrol fixes (see :func:`prepare_points`).
    segments : GeoDataFrame
        From :func:`prepare_rivers`.
    config : TownConfig or PatrolSection, optional
    gk_crs : CRS, optional
        The run's Gauss-Kruger zone (the segments').
    points_crs : str, optional
        CRS of a plain lon/lat DataFrame's coordinates.
    keep_points : bool, default False
        Keep the prepared points (memory at county scale).

    Returns
    -------
    PatrolTrips
        Trips in a canonical order (chief, start time, trip id: the same
        whichever way the points were split), their intervals, the rejected
        points and the number of points used.
    """
    pc = _cfg(config)
    net = _net if _net is not None else _network(segments, pc.tolerance_m)
    pts, problems = prepare_points(points, crs=points_crs, gk_crs=gk_crs)
    pts = split_trips(pts, config=pc)
    matches = match_points(pts, segments, tolerance_m=pc.tolerance_m, _net=net)
    trips = validate_trips(pts, matches, config=pc, _net=net)
    intervals = covered_intervals(pts, matches, trips, config=pc)
    del matches
    found = PatrolTrips(trips, intervals, problems, len(pts), pts if keep_points else None)
    return _renumber_trips(found)


def _renumber_trips(found: PatrolTrips) -> PatrolTrips:
    """Number trips by chief, start time, trip id, end time (ties keep their order)."""
    trips = found.trips
    if len(trips) == 0 or "start_time" not in trips.columns:
        return found
    keys = pd.DataFrame(
        {
            "chief_key": trips["chief_key"].astype("object").astype(str).to_numpy(),
            "start_time": trips["start_time"].to_numpy(),
            "trip_id": trips["trip_id"].astype("object").astype(str).to_numpy(),
            "end_time": trips["end_time"].to_numpy(),
        }
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index.to_numpy()
    old = trips["trip"].to_numpy(dtype="int64")
    new_of_old = np.empty(int(old.max()) + 1, dtype="int64")
    new_of_old[old[order]] = np.arange(len(order))
    trips = trips.iloc[order].reset_index(drop=True)
    trips["trip"] = np.arange(len(trips), dtype="int64")
    iv = found.intervals
    if len(iv):
        iv = iv.copy()
        iv["trip"] = new_of_old[iv["trip"].to_numpy(dtype="int64")]
        iv = iv.sort_values(["trip", "segment", "piece", "start_m"], kind="stable")
        iv = iv.reset_index(drop=True)
    pts = found.points
    if pts is not None and len(pts):
        pts["trip"] = new_of_old[pts["trip"].to_numpy(dtype="int64")]
    return PatrolTrips(trips, iv, found.problems, found.n_points, pts)


def combine_trips(parts: Sequence[PatrolTrips]) -> PatrolTrips:
    """Trips found in groups of chiefs (no chief in two groups) as one :class:`PatrolTrips`.

    Trip numbers are made unique and renumbered in the canonical order, the
    rejected points sorted by row: the result equals :func:`patrol_trips`
    on all the points at once.
    """
    parts = list(parts)
    if not parts:
        raise ValueError("combine_trips needs at least one PatrolTrips")
    if len(parts) == 1:
        return parts[0]
    trips, intervals, offset = [], [], 0
    for p in parts:
        if len(p.trips):
            trips.append(p.trips.assign(trip=p.trips["trip"].to_numpy(dtype="int64") + offset))
            if len(p.intervals):
                trip = p.intervals["trip"].to_numpy(dtype="int64") + offset
                intervals.append(p.intervals.assign(trip=trip))
            offset += len(p.trips)
    tt = pd.concat(trips, ignore_index=True) if trips else parts[0].trips
    for c in ("chief_key", "chief", "chief_id", "trip_id"):
        if trips and c in tt.columns and isinstance(trips[0][c].dtype, pd.CategoricalDtype):
            values = tt[c].astype("object")
            tt[c] = pd.Categorical(values, categories=sorted(values.dropna().unique()))
    iv = pd.concat(intervals, ignore_index=True) if intervals else parts[0].intervals
    probs = [p.problems for p in parts if len(p.problems)]
    problems = (
        pd.concat(probs, ignore_index=True).sort_values("row", kind="stable").reset_index(drop=True)
        if probs
        else parts[0].problems
    )
    n_points = sum(p.n_points for p in parts)
    return _renumber_trips(PatrolTrips(tt, iv, problems, n_points))


def prepare_run(
    rivers: gpd.GeoDataFrame,
    *,
    config: TownConfig | None = None,
    gk_crs: str | CRS | None = None,
) -> tuple[TownConfig, str | CRS, gpd.GeoDataFrame]:
    """The start of every run, one process or partitioned: the config, the zone, the segments.

    Parameters
    ----------
    rivers : GeoDataFrame
        The ``rivers`` layer.
    config : TownConfig, optional
        Defaults to ``TownConfig()``.
    gk_crs : CRS, optional
        The run's Gauss-Kruger zone; picked from the rivers when omitted.

    Returns
    -------
    (TownConfig, CRS, GeoDataFrame)
        The config, the zone and the segments of :func:`prepare_rivers`.
    """
    cfg = config or TownConfig()
    if gk_crs is None:
        from gis_town.geodesy import pick_gk_crs

        gk_crs = pick_gk_crs(rivers, layer="rivers")
    return cfg, gk_crs, prepare_rivers(rivers, config=cfg.patrol, gk_crs=gk_crs)


def analyze_patrols(
    points: pd.DataFrame,
    rivers: gpd.GeoDataFrame,
    *,
    config: TownConfig | None = None,
    as_of: dt.date | str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    villages: gpd.GeoDataFrame | None = None,
    gk_crs: str | CRS | None = None,
    points_crs: str | None = None,
    keep_points: bool = False,
) -> PatrolResult:
    """Run the whole patrol analysis.

    Parameters
    ----------
    points : GeoDataFrame or DataFrame
        Patrol fixes (the ``patrols`` layer, :func:`~gis_town.io.tracks.read_tracks`'s
        output, or a lon/lat DataFrame); see :func:`prepare_points`.
    rivers : GeoDataFrame
        The ``rivers`` layer.
    config : TownConfig, optional
        Defaults to ``TownConfig()`` (the plan's numbers).
    as_of : date, optional
        Report date. Default: ``config.town.data_date``, else the last
        patrol's local date.
    start, end : date, optional
        The period of ``segments``, ``gaps``, ``chiefs`` and ``villages``;
        default January 1 of ``as_of``'s year to ``as_of`` (year to date).
    villages : GeoDataFrame, optional
        For village names.
    gk_crs : CRS, optional
        The run's Gauss-Kruger zone (``town.gk_crs``); picked from the rivers.
    points_crs : str, optional
        CRS of a plain lon/lat DataFrame's coordinates.
    keep_points : bool, default False
        Keep the prepared points in the result (memory at county scale).
    """
    cfg, gk_crs, segs = prepare_run(rivers, config=config, gk_crs=gk_crs)
    net = _network(segs, cfg.patrol.tolerance_m)
    found = patrol_trips(
        points,
        segs,
        config=cfg.patrol,
        gk_crs=gk_crs,
        points_crs=points_crs,
        keep_points=keep_points,
        _net=net,
    )
    return patrol_report(
        found,
        segs,
        config=cfg,
        as_of=as_of,
        start=start,
        end=end,
        villages=villages,
        gk_crs=gk_crs,
        _net=net,
    )


def patrol_report(
    found: PatrolTrips,
    segments: gpd.GeoDataFrame,
    *,
    config: TownConfig | None = None,
    as_of: dt.date | str | None = None,
    start: dt.date | str | None = None,
    end: dt.date | str | None = None,
    villages: gpd.GeoDataFrame | None = None,
    gk_crs: str | CRS,
    _net: _Network | None = None,
) -> PatrolResult:
    """Steps 7-8: coverage per trip, then the tables per segment, period, chief and village.

    Parameters are those of :func:`analyze_patrols`; ``found`` comes from
    :func:`patrol_trips` (or :func:`combine_trips`), ``segments`` from
    :func:`prepare_rivers`.
    """
    cfg = config or TownConfig()
    pc = cfg.patrol
    segs = segments
    net = _net if _net is not None else _network(segs, pc.tolerance_m)
    trips, intervals, problems = found.trips, found.intervals, found.problems
    n_points = found.n_points
    kept_points = found.points
    tsegs = trip_coverage(intervals, segs, trips, config=pc)
    as_of, p_start, p_end = _report_period(cfg, trips, as_of, start, end)
    seg_tab = segment_table(
        segs,
        trips,
        tsegs,
        intervals,
        start=p_start,
        end=p_end,
        as_of=as_of,
        config=pc,
        label=None if start or end else f"{as_of.year}YTD",
        _net=net,
    )
    quarters = [
        segment_table(
            segs,
            trips,
            tsegs,
            intervals,
            start=s,
            end=e,
            as_of=as_of,
            config=pc,
            label=lab,
            _net=net,
        )
        for lab, s, e in quarter_periods(as_of)
    ]
    periods = pd.concat(quarters, ignore_index=True)
    for lab, *_ in quarter_periods(as_of)[:-1]:
        q = lab[-2:].lower()
        seg_tab[f"patrols_{q}"] = periods.loc[periods["period"] == lab, "patrols"].to_numpy()
    gaps = blind_spots(
        segs, trips, intervals, start=p_start, end=min(p_end, as_of), config=pc, _net=net
    )
    chiefs = chief_table(seg_tab, segs, trips, tsegs, config=pc)
    vills = village_table(seg_tab, chiefs, villages=villages, config=pc)
    summary = _summary(n_points, problems, trips, segs, seg_tab, gaps, gk_crs)
    log.info("巡河分析 patrol analysis: %s", summary)
    return PatrolResult(
        as_of=as_of,
        start=p_start,
        end=p_end,
        segments=seg_tab,
        periods=periods,
        trips=trips,
        trip_segments=tsegs,
        intervals=intervals,
        gaps=gaps,
        chiefs=chiefs,
        villages=vills,
        problems=problems,
        points=kept_points,
        summary=summary,
    )


def _report_period(
    cfg: TownConfig,
    trips: pd.DataFrame,
    as_of: dt.date | str | None,
    start: dt.date | str | None,
    end: dt.date | str | None,
) -> tuple[dt.date, dt.date, dt.date]:
    """``(as_of, start, end)``: the report date and the tables' period (default: year to date).

    The report date defaults to the config's data date, else the last trip's day, else today.
    """
    if as_of is None:
        if cfg.town.data_date is not None:
            as_of = cfg.town.data_date
        elif len(trips):
            as_of = pd.Timestamp(trips["date"].max()).date()
        else:
            as_of = dt.date.today()
    as_of = pd.Timestamp(as_of).date()
    p_start = pd.Timestamp(start).date() if start is not None else dt.date(as_of.year, 1, 1)
    p_end = pd.Timestamp(end).date() if end is not None else as_of
    if p_start > p_end:
        from gis_town.errors import InputError

        raise InputError(
            f"时段起点晚于终点 / the period starts ({p_start}) after it ends ({p_end})"
        )
    return as_of, p_start, p_end


def _reason_counts(trips: pd.DataFrame) -> tuple[dict[str, int], dict[str, int], int]:
    """Invalid trips per reason: with it, with it alone; and how many have several reasons."""
    if not len(trips):
        return {}, {}, 0
    flags = {k: trips[k].to_numpy(dtype=bool) for k in REASONS if k in trips.columns}
    n_flags = np.sum(list(flags.values()), axis=0) if flags else np.zeros(len(trips), "int64")
    by_reason = {k: int(f.sum()) for k, f in flags.items()}
    only = {k: int((f & (n_flags == 1)).sum()) for k, f in flags.items()}
    return by_reason, only, int((n_flags > 1).sum())


def _summary(
    n_points: int,
    problems: pd.DataFrame,
    trips: pd.DataFrame,
    segs: gpd.GeoDataFrame,
    seg_tab: pd.DataFrame,
    gaps: gpd.GeoDataFrame,
    gk_crs: str | CRS,
) -> dict:
    """The run's numbers (:attr:`PatrolResult.summary`)."""
    n_valid = int(trips["valid"].sum()) if len(trips) else 0
    by_reason, only_reason, several = _reason_counts(trips)
    return {
        "points": n_points,
        "rejected_points": len(problems),
        "trips": len(trips),
        "valid_trips": n_valid,
        "invalid_trips": len(trips) - n_valid,
        # trips with each reason (a trip may have several: these add to more than invalid_trips)
        "invalid_by_reason": by_reason,
        # trips with this reason alone, and trips with several: these add to invalid_trips
        "invalid_only_reason": only_reason,
        "invalid_several_reasons": several,
        "segments": len(segs),
        "river_km": float(segs["length_m"].sum() / 1000.0),
        "covered_km": float(seg_tab["covered_m"].sum() / 1000.0),
        "covered_fraction": float(seg_tab["covered_m"].sum() / max(segs["length_m"].sum(), 1e-9)),
        "segments_on_track": int(seg_tab["on_track"].fillna(False).sum()),
        "segments_behind": int((~seg_tab["on_track"].fillna(True)).sum()),
        "due_share": float(seg_tab["due_share"].iloc[0]),
        "blind_spots": len(gaps),
        "blind_spot_km": float(gaps["length_m"].sum() / 1000.0) if len(gaps) else 0.0,
        "gk_crs": CRS.from_user_input(gk_crs).to_string(),
    }
