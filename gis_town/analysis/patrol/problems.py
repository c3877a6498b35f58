"""River problems followed to closure (河湖"清四乱"): open, overdue, rectified, and looked at again (回头看).

The plan: "对发现的问题及时进行专项督促跟进整治", "集中开展回头看，查摆问题",
"红黑榜曝光". A chief's patrol finds a problem (乱占, 乱采, 乱堆, 乱建, 垃圾,
排污, other) on a river; it stays open until it is rectified; a problem open
longer than ``[patrol] problem_overdue_days`` (30) is overdue; a rectified one
should be seen again by a later patrol (回头看). Every step is a pure function:

1. :func:`prepare_problems` - the problems in the Gauss-Kruger zone, each on
   its segment (the given ``segment_id``, else the nearest; farther than
   ``problem_snap_m`` (200 m) from it: flagged), with its chainage along it;
   a problem rectified before it was reported goes to the rejects;
2. :func:`problem_states` - as of the report date: ``open``, ``overdue`` or
   ``closed``, ``days_open``, ``closed_in_period``;
3. :func:`problem_counts` - per segment and per (responsible) chief: problems,
   open, overdue, closed, the rectification rate (整改率);
4. :func:`rank_with_problems` - the red/black list ranked on
   ``(1 - w) * progress + w * rectification_rate`` (``w`` =
   ``problem_rate_weight``), then coverage and invalid share as before;
5. :func:`revisit_table` - the 回头看 sheet: each problem closed in the
   period, and whether a valid trip came within ``tolerance_m`` of it on a
   later day than its rectified date.

:func:`analyze_problems` runs them; :func:`with_problems` adds the result to
a :class:`~gis_town.analysis.patrol.PatrolResult`. See ``docs/patrol.md``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_town.analysis.patrol.common import LOCAL_TZ, _cfg, _segment_chief_keys
from gis_town.analysis.patrol.pipeline import PatrolResult
from gis_town.analysis.patrol.schedule import rank_red_black
from gis_town.config import PatrolSection, TownConfig
from gis_town.io.validate import PROBLEM_COLUMNS
from gis_town.schema import code_label

__all__ = [
    "PROBLEM_STATES",
    "PatrolProblemsResult",
    "RiverProblems",
    "analyze_problems",
    "prepare_problems",
    "problem_counts",
    "problem_states",
    "rank_with_problems",
    "revisit_table",
    "with_problems",
]

log = logging.getLogger(__name__)

#: A problem's state as of the report date (codes; labels in gis_town.reports.patrol).
PROBLEM_STATES: tuple[str, ...] = ("open", "overdue", "closed")

#: Counts added to the segment and chief tables, in order.
COUNT_COLUMNS = ["problems", "problems_open", "problems_overdue", "problems_closed", "rectification_rate"]


@dataclass
class RiverProblems:
    """What :func:`analyze_problems` finds (columns in ``docs/patrol.md``)."""

    #: one row per problem of the period, in the Gauss-Kruger zone
    table: gpd.GeoDataFrame
    #: per segment: :data:`COUNT_COLUMNS`
    segments: pd.DataFrame
    #: per responsible chief: :data:`COUNT_COLUMNS` and ``problems_reported``
    chiefs: pd.DataFrame
    #: the 回头看 sheet: problems closed in the period and whether a later patrol passed them
    revisits: pd.DataFrame
    #: rows set aside (``layer`` = problems), with the reason
    rejects: pd.DataFrame
    summary: dict = field(default_factory=dict)
    #: per village (the problem's segment's ``village_id``): :data:`COUNT_COLUMNS`
    villages: pd.DataFrame = field(default_factory=pd.DataFrame)


@dataclass
class PatrolProblemsResult(PatrolResult):
    """A :class:`PatrolResult` with the river problems (``segments`` and ``chiefs`` carry their counts)."""

    river_problems: RiverProblems | None = None


def _reject_rows(df: pd.DataFrame, mask: np.ndarray, field_name: str, reasons: list[str]) -> pd.DataFrame:
    rows = df["row"].to_numpy() if "row" in df.columns else np.arange(len(df))
    idx = np.flatnonzero(mask)
    return pd.DataFrame(
        {
            "layer": "problems",
            "feature_id": df["problem_id"].to_numpy(dtype=object)[idx],
            "row": rows[idx],
            "field": field_name,
            "action": "rejected",
            "reason": reasons,
        },
        columns=PROBLEM_COLUMNS,
    )


def _dates(s: pd.Series | None, n: int) -> pd.Series:
    """A date column as naive midnight timestamps (local dates); NaT where missing."""
    if s is None:
        return pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    d = pd.to_datetime(s, errors="coerce")
    if isinstance(d.dtype, pd.DatetimeTZDtype):
        d = d.dt.tz_convert(LOCAL_TZ).dt.tz_localize(None)
    return d.dt.normalize().reset_index(drop=True)


def _snap(pts: np.ndarray, ids: pd.Series, segments: gpd.GeoDataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each point's segment (row in ``segments``), how it was found, and its distance (m)."""
    geoms = np.asarray(segments.geometry.values, dtype=object)
    pos = {str(s): i for i, s in enumerate(segments["segment_id"].astype(str))}
    given = ids.astype("object").where(ids.notna(), None).to_numpy(dtype=object)
    seg = np.array([pos.get(str(v).strip(), -1) if v is not None and str(v).strip() else -1 for v in given])
    has_id = np.array([v is not None and bool(str(v).strip()) for v in given])
    source = np.where(seg >= 0, "given", np.where(has_id, "given_unknown", "nearest")).astype(object)
    need = seg < 0
    if need.any():
        near, _ = shapely.STRtree(geoms).query_nearest(pts[need], all_matches=False, return_distance=True)
        order = np.argsort(near[0], kind="stable")
        found = np.full(int(need.sum()), -1)
        found[near[0][order]] = near[1][order]
        seg[need] = found
    dist = shapely.distance(pts, geoms[seg])
    return seg, source, dist


def prepare_problems(
    problems: gpd.GeoDataFrame,
    segments: gpd.GeoDataFrame,
    *,
    config: TownConfig | PatrolSection | None = None,
    gk_crs: str | CRS | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """The problems on their segments, in the Gauss-Kruger zone.

    Parameters
    ----------
    problems : GeoDataFrame
        The validated ``problems`` layer (:func:`gis_town.io.problems.load_problems`).
    segments : GeoDataFrame
        From :func:`~gis_town.analysis.patrol.prepare_rivers` (in ``gk_crs``).
    config : TownConfig or PatrolSection, optional
        ``problem_snap_m`` (m).
    gk_crs : CRS, optional
        The run's zone (default: the segments').

    Returns
    -------
    (GeoDataFrame, DataFrame)
        The problems with ``kind_label``, ``segment_id`` (given or nearest),
        ``segment_source`` (``given``, ``nearest``, ``given_unknown``: the
        given id is no segment, the nearest is used), ``distance_m`` (m to
        the segment), ``far_from_river`` (farther than ``problem_snap_m``),
        ``snap_note``, ``chainage_m`` (m along the segment), the segment's
        ``river_name``, ``chief``, ``chief_id``, ``village_id`` (the chief
        responsible for rectifying it); and the rejected rows (rectified
        before reported).
    """
    pc = _cfg(config)
    crs = gk_crs if gk_crs is not None else segments.crs
    gdf = problems.to_crs(crs).reset_index(drop=True)
    n = len(gdf)
    reported = _dates(gdf.get("reported_date"), n)
    rectified = _dates(gdf.get("rectified_date"), n)
    early = (rectified < reported).to_numpy()
    rejects = _reject_rows(
        gdf, early, "rectified_date",
        [f"整改日期早于上报日期 / rectified ({r:%Y-%m-%d}) before reported ({p:%Y-%m-%d})"
         for r, p in zip(rectified[early], reported[early])],
    )
    keep = ~early
    gdf, reported, rectified = gdf[keep].reset_index(drop=True), reported[keep], rectified[keep]
    pts = np.asarray(gdf.geometry.values, dtype=object)
    if len(gdf) and len(segments):
        ids = gdf["segment_id"] if "segment_id" in gdf.columns else pd.Series([None] * len(gdf))
        seg, source, dist = _snap(pts, ids.reset_index(drop=True), segments)
    else:
        seg, source, dist = np.zeros(0, int), np.zeros(0, object), np.zeros(0)
    sg = segments.iloc[seg].reset_index(drop=True)
    far = dist > pc.problem_snap_m
    out = pd.DataFrame({
        "problem_id": gdf["problem_id"].astype(str).to_numpy(dtype=object),
        "kind": gdf["kind"].to_numpy(dtype=object),
        "kind_label": [code_label("problem_kind", k) for k in gdf["kind"]],
        "segment_id": sg["segment_id"].to_numpy(dtype=object),
        "river_name": sg["river_name"].to_numpy(dtype=object),
        "chief": sg["chief"].to_numpy(dtype=object),
        "chief_id": sg["chief_id"].to_numpy(dtype=object),
        "village_id": sg["village_id"].to_numpy(dtype=object),
        "reported_by": _column(gdf, "reported_by"),
        "reported_date": reported.to_numpy(),
        "rectified_date": rectified.to_numpy(),
        "segment_source": source,
        "distance_m": np.round(dist, 1),
        "far_from_river": far,
        "snap_note": _snap_notes(source, dist, far, _column(gdf, "segment_id"), pc.problem_snap_m),
        "chainage_m": np.round(shapely.line_locate_point(np.asarray(sg.geometry.values, dtype=object), pts), 1)
        if len(gdf) else np.zeros(0),
        "photo": _column(gdf, "photo"),
        "note": _column(gdf, "note"),
        "row": gdf["row"].to_numpy() if "row" in gdf.columns else np.arange(len(gdf)),
    })
    return gpd.GeoDataFrame(out, geometry=pts, crs=crs), rejects


def _column(gdf: pd.DataFrame, name: str) -> np.ndarray:
    if name not in gdf.columns:
        return np.full(len(gdf), None, dtype=object)
    return gdf[name].astype("object").where(gdf[name].notna(), None).to_numpy(dtype=object)


def _snap_notes(source, dist, far, given, snap_m: float) -> list[str]:
    notes = []
    for s, d, f, g in zip(source, dist, far, given):
        parts = []
        if s == "given_unknown":
            parts.append(f"河段编码 {g} 不存在，取最近河段 / segment {g} unknown: the nearest used")
        if f:
            parts.append(f"距河段 {d:,.0f} 米，超过 {snap_m:g} 米 / {d:,.0f} m from the segment, beyond problem_snap_m")
        notes.append("; ".join(parts))
    return notes


def problem_states(
    prepared: gpd.GeoDataFrame,
    *,
    as_of: dt.date,
    start: dt.date,
    end: dt.date,
    config: TownConfig | PatrolSection | None = None,
) -> gpd.GeoDataFrame:
    """Each problem's state on the report day ``min(end, as_of)``, for the period ``start``..``end``.

    A problem belongs to the period when it was reported by the report day and
    not rectified before ``start`` (problems carried over from before the
    period count while open). ``closed``: rectified by the report day;
    ``days_open``: days from reported to rectified (closed) or to the report
    day (open); ``overdue``: open and ``days_open > problem_overdue_days``;
    ``closed_late``: closed after more than that; ``closed_in_period``:
    rectified between ``start`` and the report day.
    """
    pc = _cfg(config)
    ref = pd.Timestamp(min(end, as_of))
    t0 = pd.Timestamp(start)
    rep = pd.to_datetime(prepared["reported_date"])
    rec = pd.to_datetime(prepared["rectified_date"])
    closed_by_ref = rec.notna() & (rec <= ref)
    scope = (rep <= ref) & ~(rec.notna() & (rec < t0))
    out = prepared[scope.to_numpy()].copy()
    rep, rec, closed = rep[scope], rec[scope], closed_by_ref[scope].to_numpy()
    days = np.where(closed, (rec - rep).dt.days, (ref - rep).dt.days).astype("int64")
    out["closed"] = closed
    out["days_open"] = days
    out["overdue"] = ~closed & (days > pc.problem_overdue_days)
    out["closed_late"] = closed & (days > pc.problem_overdue_days)
    out["closed_in_period"] = closed & (rec >= t0).to_numpy()
    out["rectified_date"] = rec.where(closed_by_ref[scope])  # rectified after the report day: open then
    out["state"] = np.where(closed, "closed", np.where(out["overdue"], "overdue", "open"))
    return out.reset_index(drop=True)


def problem_counts(states: pd.DataFrame, by: str | list[str]) -> pd.DataFrame:
    """Per ``by``: ``problems`` (of the period), open (overdue included), overdue, closed, rectification rate.

    ``rectification_rate = problems_closed / problems`` (NaN without problems).
    """
    g = states.assign(
        _open=~states["closed"].to_numpy(dtype=bool),
        _over=states["overdue"].to_numpy(dtype=bool),
        _closed=states["closed"].to_numpy(dtype=bool),
    ).groupby(by, sort=True, dropna=False)
    out = pd.DataFrame({
        "problems": g.size(),
        "problems_open": g["_open"].sum(),
        "problems_overdue": g["_over"].sum(),
        "problems_closed": g["_closed"].sum(),
    }).astype("int64")
    out["rectification_rate"] = out["problems_closed"] / out["problems"]
    return out


def _join_counts(table: pd.DataFrame, counts: pd.DataFrame, keys: np.ndarray) -> pd.DataFrame:
    """``table`` with the counts of its rows' ``keys`` (0 and NaN where none)."""
    out = table.drop(columns=[c for c in COUNT_COLUMNS if c in table.columns]).copy()
    got = counts.reindex(pd.Index(keys, dtype=object))
    for c in COUNT_COLUMNS[:-1]:
        out[c] = got[c].fillna(0).astype("int64").to_numpy()
    out["rectification_rate"] = got["rectification_rate"].to_numpy(dtype="float64")
    return out


def _chief_keys(chiefs: pd.DataFrame) -> np.ndarray:
    """The roster key of each chief row: ``id:`` + chief_id, else ``name:`` + chief."""
    cid = chiefs["chief_id"].astype("string")
    name = "name:" + chiefs["chief"].astype("string").fillna("")
    return ("id:" + cid).where(cid.notna(), name).to_numpy(dtype=object)


def rank_with_problems(
    chiefs: pd.DataFrame, *, config: TownConfig | PatrolSection | None = None, by: str = "chief"
) -> pd.DataFrame:
    """The red/black list (of chiefs, or of villages with ``by="village_id"``) ranked with the rectification rate (整改率).

    ``rank_score = (1 - w) * progress + w * rate`` with ``w`` =
    ``problem_rate_weight`` and ``rate`` the chief's ``rectification_rate``,
    100 % for a chief with no problem in the period (nothing left to
    rectify). ``rank_score`` takes the place of ``progress`` as the first
    key of :func:`~gis_town.analysis.patrol.rank_red_black` (whole percent,
    high first; then coverage, then invalid share; ties share a rank).
    ``w = 0`` gives the ranking without problems.
    """
    pc = _cfg(config)
    w = float(pc.problem_rate_weight)
    rate = chiefs["rectification_rate"].to_numpy(dtype="float64")
    prog = chiefs["progress"].to_numpy(dtype="float64")
    score = (1.0 - w) * prog + w * np.where(np.isnan(rate), 1.0, rate)
    ranked = rank_red_black(chiefs.assign(progress=score), config=pc)
    ranked["progress"] = prog
    ranked["rank_score"] = score
    return ranked.sort_values(["rank", by], na_position="last", kind="stable").reset_index(drop=True)


#: Columns of the 回头看 sheet (:func:`revisit_table`), in order.
REVISIT_COLUMNS = [
    "problem_id", "kind", "kind_label", "segment_id", "river_name", "chief", "reported_date",
    "rectified_date", "revisited", "revisit_date", "revisit_trip_id", "revisit_chief",
    "revisit_distance_m", "revisit_note",
]


def revisit_table(
    states: gpd.GeoDataFrame,
    trips: pd.DataFrame,
    points: pd.DataFrame | None,
    *,
    as_of: dt.date,
    end: dt.date,
    tolerance_m: float,
) -> pd.DataFrame:
    """回头看: each problem closed in the period, and whether a valid trip passed it after its rectified date.

    A problem is revisited when a fix of a valid trip lies within
    ``tolerance_m`` (m, Gauss-Kruger) of it on a local day later than its
    rectified date and not after the report day. The first such trip gives
    ``revisit_date``, ``revisit_trip_id``, ``revisit_chief`` and
    ``revisit_distance_m`` (its closest fix to the problem). Without track points (a partitioned run keeps
    none) ``revisited`` is missing and ``revisit_note`` says why.
    """
    closed = states[states["closed_in_period"].to_numpy(dtype=bool)].reset_index(drop=True)
    out = pd.DataFrame({c: closed[c].to_numpy() for c in REVISIT_COLUMNS[:8]})
    n = len(out)
    out["revisited"] = pd.array([False] * n, dtype="boolean")
    out["revisit_date"] = pd.Series(pd.NaT, index=range(n), dtype="datetime64[ns]")
    for c in ("revisit_trip_id", "revisit_chief", "revisit_distance_m"):
        out[c] = pd.Series([None] * n, dtype=object)
    out["revisit_note"] = ""
    if not n:
        return out[REVISIT_COLUMNS]
    if points is None or not {"trip", "x_m", "y_m", "time"} <= set(points.columns):
        out["revisited"] = pd.array([None] * n, dtype="boolean")
        out["revisit_note"] = "无轨迹点，未核查 / not checked: the run kept no track points"
        return out[REVISIT_COLUMNS]
    valid = trips.loc[trips["valid"].to_numpy(dtype=bool), "trip"].to_numpy()
    fx = points[points["trip"].isin(valid)]
    xy = fx[["x_m", "y_m"]].to_numpy(dtype="float64")
    day = pd.DatetimeIndex(fx["time"]).tz_convert(LOCAL_TZ).tz_localize(None).normalize()
    tree = shapely.STRtree(shapely.points(xy))
    geoms = np.asarray(closed.geometry.values, dtype=object)
    pi, fi = tree.query(geoms, predicate="dwithin", distance=tolerance_m)
    rect = pd.DatetimeIndex(closed["rectified_date"]).to_numpy()
    ref = np.datetime64(pd.Timestamp(min(end, as_of)))
    fday = day.to_numpy()[fi]
    ok = (fday > rect[pi]) & (fday <= ref)
    pi, fi = pi[ok], fi[ok]
    if len(pi):
        pairs = pd.DataFrame({
            "p": pi, "trip": fx["trip"].to_numpy()[fi], "time": fx["time"].to_numpy()[fi],
            "day": day.to_numpy()[fi],
            "d": shapely.distance(geoms[pi], shapely.points(xy[fi])),
        })
        first = pairs.sort_values(["p", "time"], kind="stable").drop_duplicates("p")[["p", "trip", "day"]]
        near = pairs.merge(first[["p", "trip"]], on=["p", "trip"]).groupby("p")["d"].min()
        first = first.set_index("p").join(near)
        tinfo = trips.set_index("trip")
        at = first.index.to_numpy()
        out.loc[at, "revisited"] = True
        out.loc[at, "revisit_date"] = first["day"].to_numpy()
        out.loc[at, "revisit_trip_id"] = tinfo.loc[first["trip"], "trip_id"].astype(str).to_numpy()
        out.loc[at, "revisit_chief"] = tinfo.loc[first["trip"], "chief"].astype("object").to_numpy()
        out.loc[at, "revisit_distance_m"] = np.round(first["d"].to_numpy(), 1)
    miss = ~out["revisited"].fillna(False).to_numpy(dtype=bool)
    out.loc[miss, "revisit_note"] = (
        f"整改后无有效巡河经过（{tolerance_m:g} 米内）/ no valid patrol within {tolerance_m:g} m after rectification"
    )
    return out[REVISIT_COLUMNS]


def analyze_problems(
    problems: gpd.GeoDataFrame,
    segments: gpd.GeoDataFrame,
    trips: pd.DataFrame,
    *,
    points: pd.DataFrame | None = None,
    as_of: dt.date,
    start: dt.date,
    end: dt.date,
    config: TownConfig | PatrolSection | None = None,
    gk_crs: str | CRS | None = None,
    chief_villages: dict[str, str] | None = None,
) -> RiverProblems:
    """Steps 1-3 and 5: the problems of the period, their counts and the 回头看 sheet.

    Parameters
    ----------
    problems : GeoDataFrame
        The validated ``problems`` layer.
    segments : GeoDataFrame
        From :func:`~gis_town.analysis.patrol.prepare_rivers`.
    trips : DataFrame
        The run's trips (``trip``, ``trip_id``, ``chief``, ``valid``).
    points : DataFrame, optional
        The run's prepared fixes (``keep_points=True``), for 回头看.
    as_of, start, end : date
        The report date and the period (:class:`PatrolResult`'s).
    config : TownConfig or PatrolSection, optional
    gk_crs : CRS, optional
    chief_villages : dict, optional
        Chief -> village, for the problems on a segment without ``village_id``
        (the chief table's ``village_id``, as :func:`~gis_town.analysis.patrol.village_table` does).
    """
    pc = _cfg(config)
    prepared, rejects = prepare_problems(problems, segments, config=pc, gk_crs=gk_crs)
    states = problem_states(prepared, as_of=as_of, start=start, end=end, config=pc)
    by_seg = problem_counts(states, "segment_id")
    key = _segment_chief_keys(segments)
    seg_key = dict(zip(segments["segment_id"].astype(str), key))
    chief_counts = problem_counts(states.assign(_k=states["segment_id"].astype(str).map(seg_key)), "_k")
    reported = states["reported_by"].dropna().astype(str).value_counts()
    chief_counts.attrs["reported"] = reported
    vid = states["village_id"].astype("object")
    if chief_villages:  # as the village table: a segment without a village is its chief's village's
        vid = vid.where(vid.notna(), states["chief"].map(dict(chief_villages)))
    by_village = problem_counts(states.assign(_v=vid).dropna(subset=["_v"]), "_v")
    revisits = revisit_table(states, trips, points, as_of=as_of, end=end, tolerance_m=pc.tolerance_m)
    n_rev = revisits["revisited"]
    summary = {
        "problems": len(states),
        "problems_open": int((~states["closed"]).sum()) if len(states) else 0,
        "problems_overdue": int(states["overdue"].sum()) if len(states) else 0,
        "problems_closed": int(states["closed"].sum()) if len(states) else 0,
        "rectification_rate": float(states["closed"].mean()) if len(states) else float("nan"),
        "problems_far_from_river": int(states["far_from_river"].sum()) if len(states) else 0,
        "problems_rejected": len(rejects),
        "problems_outside_period": len(prepared) - len(states),
        "closed_in_period": len(revisits),
        "revisited": int(n_rev.fillna(False).sum()),
        "not_revisited": int((n_rev == False).fillna(False).sum()),  # noqa: E712 (nullable)
        "revisits_not_checked": int(n_rev.isna().sum()),
    }
    log.info("河湖问题 river problems: %s", summary)
    return RiverProblems(states, by_seg, chief_counts, revisits, rejects, summary, by_village)


def _before_rank(df: pd.DataFrame, added: list[str]) -> pd.DataFrame:
    """``df`` with the ``added`` columns just before ``rank``."""
    base = [c for c in df.columns if c not in added]
    at = base.index("rank") if "rank" in base else len(base)
    return df[base[:at] + added + base[at:]]


def with_problems(
    result: PatrolResult,
    problems: gpd.GeoDataFrame,
    segments: gpd.GeoDataFrame,
    *,
    config: TownConfig | PatrolSection | None = None,
    gk_crs: str | CRS | None = None,
) -> PatrolProblemsResult:
    """``result`` with its river problems: counts on the segments, chiefs and villages, the lists re-ranked.

    The rejected problem rows join ``result.problems`` (the run's rejects);
    ``river_problems`` holds the :class:`RiverProblems`.
    """
    pc = _cfg(config)
    found = analyze_problems(
        problems, segments, result.trips, points=result.points, as_of=result.as_of,
        start=result.start, end=result.end, config=pc, gk_crs=gk_crs,
        chief_villages=result.chiefs.dropna(subset=["village_id"]).set_index("chief")["village_id"].to_dict(),
    )
    segs = _join_counts(result.segments, found.segments, result.segments["segment_id"].astype(str).to_numpy())
    chiefs = _join_counts(result.chiefs, found.chiefs, _chief_keys(result.chiefs))
    reported = found.chiefs.attrs.get("reported", pd.Series(dtype="int64"))
    chiefs["problems_reported"] = chiefs["chief"].astype(str).map(reported).fillna(0).astype("int64").to_numpy()
    chiefs = _before_rank(rank_with_problems(chiefs, config=pc), [*COUNT_COLUMNS, "problems_reported", "rank_score"])
    villages = result.villages
    if len(villages) and "village_id" in villages.columns and len(found.villages):
        villages = _join_counts(villages, found.villages, villages["village_id"].astype(str).to_numpy())
        villages = rank_with_problems(villages, config=pc, by="village_id")
        villages = _before_rank(villages, [*COUNT_COLUMNS, "rank_score"])
    rejects = [p for p in (result.problems, found.rejects) if len(p)]
    values = {f.name: getattr(result, f.name) for f in dataclasses.fields(PatrolResult)}
    values.update(
        segments=segs,
        chiefs=chiefs,
        villages=villages,
        problems=pd.concat(rejects, ignore_index=True) if rejects else result.problems,
        summary={**result.summary, **found.summary},
    )
    return PatrolProblemsResult(**values, river_problems=found)
