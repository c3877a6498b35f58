"""The schedule and the tables: milestone shares, quarters, per segment, chief (red/black list) and village."""

from __future__ import annotations

import datetime as dt
import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.analysis.patrol.common import (
    LIST_LABELS,
    LOCAL_TZ,
    _cfg,
    _map_trip_keys,
    _period_mask,
    _segment_chief_keys,
    reason_label,
)
from gis_town.analysis.patrol.coverage import _gap_intervals, _union_per_piece
from gis_town.analysis.patrol.network import _Network, _network
from gis_town.config import PatrolSection, TownConfig

log = logging.getLogger(__name__)


def milestone_share(
    dates, milestones: list[tuple[str, float]] | None = None, *, config=None
) -> np.ndarray:
    """Cumulative share of the year's target due by the end of each date.

    The schedule is the config's (date "MM-DD", share) points, the plan's by
    default: 70 % by June 30, 100 % by September 30. It is linear from
    January 1 (0) to the first milestone and between milestones, flat after
    the last; a deadline day counts in full (June 30 -> 0.70). Each date is
    read against its own year.

    Parameters
    ----------
    dates : date, Timestamp, or array-like of them
    milestones : list of (str, float), optional
        Default ``config.patrol.milestones``.

    Returns
    -------
    ndarray of float
        Shares in [0, 1], one per date.
    """
    ms = milestones if milestones is not None else _cfg(config).milestones
    idx = pd.DatetimeIndex(pd.to_datetime(np.atleast_1d(np.asarray(dates, dtype=object)).tolist()))
    if idx.tz is not None:
        idx = idx.tz_convert(LOCAL_TZ).tz_localize(None)
    out = np.zeros(len(idx))
    years = idx.year.to_numpy()
    for year in np.unique(years):
        jan1 = pd.Timestamp(year=int(year), month=1, day=1)
        xp = [0.0] + [float((pd.Timestamp(f"{int(year)}-{d}") - jan1).days + 1) for d, _ in ms]
        fp = [0.0] + [float(s) for _, s in ms]
        sel = years == year
        x = ((idx[sel].normalize() - jan1).days + 1).to_numpy(dtype="float64")
        out[sel] = np.interp(x, xp, fp)
    return out


def quarter_periods(as_of: dt.date) -> list[tuple[str, dt.date, dt.date]]:
    """The quarters of ``as_of``'s year up to ``as_of``, then the year to date.

    Returns (label, first day, last day) tuples, e.g. ``("2023Q3", 2023-07-01,
    2023-09-30)`` and ``("2023YTD", 2023-01-01, as_of)``. A quarter still
    running ends at ``as_of``.
    """
    as_of = pd.Timestamp(as_of).date()
    out = []
    for q in range(1, 5):
        start = dt.date(as_of.year, 3 * q - 2, 1)
        if start > as_of:
            break
        end = (pd.Timestamp(start) + pd.offsets.QuarterEnd(0)).date()
        out.append((f"{as_of.year}Q{q}", start, min(end, as_of)))
    out.append((f"{as_of.year}YTD", dt.date(as_of.year, 1, 1), as_of))
    return out


def segment_table(
    segments: gpd.GeoDataFrame,
    trips: pd.DataFrame,
    trip_segments: pd.DataFrame,
    intervals: pd.DataFrame,
    *,
    start: dt.date,
    end: dt.date,
    as_of: dt.date | None = None,
    config: TownConfig | PatrolSection | None = None,
    label: str | None = None,
    _net: _Network | None = None,
) -> pd.DataFrame:
    """Per segment, for the period ``start``..``end`` (local dates, inclusive).

    Returns
    -------
    DataFrame
        ``segment_id``, ``river_name``, ``chief``, ``chief_id``,
        ``chief_level``, ``village_id``, ``length_m``, ``period``,
        ``period_start``, ``period_end``, ``patrols`` (valid trips in the
        period covering at least ``min_cover_share``), ``own_patrols`` (by the
        segment's own chief), ``patrols_ytd`` (from January 1 to the period's
        end or ``as_of``, whichever is earlier), ``target``, ``progress``
        (``patrols_ytd / target``, the true share, not capped: 65 of 52 is
        1.25), ``met`` (the year's target reached), ``due_share`` (milestone
        schedule), ``due_patrols`` (whole patrols due by now: ``ceil(due_share * target)``), ``on_track``, ``covered_m``,
        ``covered_fraction`` (union of the period's valid trips),
        ``uncovered_m``, ``blind_spots`` (uncovered stretches longer than
        ``gps_noise_m``).
    """
    cfg = _cfg(config)
    end_eff = (
        min(pd.Timestamp(end).date(), pd.Timestamp(as_of).date())
        if as_of is not None
        else pd.Timestamp(end).date()
    )
    start = pd.Timestamp(start).date()
    n_seg = len(segments)
    patrols, own_patrols, ytd = _segment_counts(trip_segments, start, end_eff, n_seg)
    target = segments["target"].to_numpy(dtype="float64")
    due = float(milestone_share([end_eff], config=cfg)[0])
    # whole patrols: ytd >= ceil(due * target) exactly when ytd >= due * target (ytd counts trips)
    due_patrols = np.ceil(due * target - 1e-9)
    progress, on_track, met = _progress(ytd, target, due)
    length = segments["length_m"].to_numpy()
    covered, n_gaps = _segment_coverage(segments, trips, intervals, start, end_eff, cfg, _net)
    out = pd.DataFrame(
        {
            "segment_id": segments["segment_id"].to_numpy(dtype=object),
            "river_name": segments["river_name"].to_numpy(dtype=object),
            "chief": segments["chief"].to_numpy(dtype=object),
            "chief_id": segments["chief_id"].to_numpy(dtype=object),
            "chief_level": segments["chief_level"].to_numpy(dtype=object),
            "village_id": segments["village_id"].to_numpy(dtype=object),
            "length_m": length,
            "period": label or f"{start.isoformat()}..{end_eff.isoformat()}",
            "period_start": pd.Timestamp(start),
            "period_end": pd.Timestamp(end_eff),
            "patrols": patrols,
            "own_patrols": own_patrols,
            "patrols_ytd": ytd,
            "target": target,
            "progress": progress,
            "met": met,
            "due_share": due,
            "due_patrols": due_patrols,
            "on_track": on_track,
            "covered_m": covered,
            "covered_fraction": np.divide(covered, length, out=np.zeros(n_seg), where=length > 0),
            "uncovered_m": length - covered,
            "blind_spots": n_gaps,
        }
    )
    return out


def _segment_counts(
    trip_segments: pd.DataFrame, start: dt.date, end: dt.date, n_seg: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per segment: patrols in the period, those by its own chief, and patrols year to date."""
    ts = trip_segments
    if not len(ts):
        z = np.zeros(n_seg, dtype="int64")
        return z, z.copy(), z.copy()
    in_p = _period_mask(ts["date"], start, end)
    in_y = _period_mask(ts["date"], dt.date(end.year, 1, 1), end)
    cnt = ts["counts"].to_numpy(dtype=bool)
    segi = ts["segment"].to_numpy().astype("int64")
    own = ts["own"].to_numpy(dtype=bool)
    patrols = np.bincount(segi[cnt & in_p], minlength=n_seg)
    own_patrols = np.bincount(segi[cnt & in_p & own], minlength=n_seg)
    ytd = np.bincount(segi[cnt & in_y], minlength=n_seg)
    return patrols, own_patrols, ytd


def _progress(
    patrols: np.ndarray | pd.Series, target: np.ndarray, due: float
) -> tuple[np.ndarray, pd.arrays.BooleanArray, pd.arrays.BooleanArray]:
    """``progress``, ``on_track`` and ``met``.

    ``progress`` is the true share ``patrols / target``, not capped: 65 of 52
    is 1.25 (125 %); 1 for a zero target, NaN without one. ``met`` says the
    year's target is reached (``patrols >= target``); only there may a
    display say "100 % done" (完成). ``on_track``: ``patrols >= due * target``.
    """
    patrols = np.asarray(patrols, dtype="float64")
    target = np.asarray(target, dtype="float64")
    has = target > 0
    progress = np.where(
        has,
        patrols / np.where(has, target, 1),
        np.where(target == 0, 1.0, np.nan),
    )
    missing = np.isnan(target)
    on_track = pd.array(
        np.where(missing, None, patrols >= due * target - 1e-9), dtype="boolean"
    )
    met = pd.array(np.where(missing, None, patrols >= target - 1e-9), dtype="boolean")
    return progress, on_track, met


def _segment_coverage(
    segments: gpd.GeoDataFrame,
    trips: pd.DataFrame,
    intervals: pd.DataFrame,
    start: dt.date,
    end: dt.date,
    cfg: PatrolSection,
    net: _Network | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Per segment: metres covered by the period's valid trips (union), and blind spots."""
    n_seg = len(segments)
    net = net or _network(segments, cfg.tolerance_m)
    trip_mask = _period_mask(trips["date"], start, end) if len(trips) else np.zeros(0, bool)
    uk, ulo, uhi = _union_per_piece(intervals, trip_mask)
    covered = (
        np.bincount(net.piece_seg[uk], weights=uhi - ulo, minlength=n_seg)
        if len(uk)
        else np.zeros(n_seg)
    )
    covered = np.minimum(covered, segments["length_m"].to_numpy())
    gaps = _gap_intervals(net, uk, ulo, uhi, cfg.gps_noise_m)
    n_gaps = (
        np.bincount(net.piece_seg[gaps[0]], minlength=n_seg)
        if len(gaps[0])
        else np.zeros(n_seg, "int64")
    )
    return covered, n_gaps


#: The red/black list's ranking keys, in order: (column, direction). Each is
#: compared in whole percent, as the tables show it (:func:`_shown_percent`).
RANK_KEYS: tuple[tuple[str, str], ...] = (
    ("progress", "high first"),
    ("covered_fraction", "high first"),
    ("invalid_share", "low first"),
)


def _shown_percent(values: pd.Series | np.ndarray) -> np.ndarray:
    """Shares as the whole percentages the tables show (missing -> 0)."""
    v = np.nan_to_num(np.asarray(values, dtype="float64"), nan=0.0)
    return np.round(v * 100.0)


def rank_red_black(
    df: pd.DataFrame,
    *,
    list_size: int | None = None,
    config=None,
    eligible: pd.Series | None = None,
) -> pd.DataFrame:
    """Rank rows for the red/black list (红黑榜), by a rule a reader can check from the table.

    The rule (also in ``docs/patrol.md``, "红黑榜 ranking rule"):

    1. only rows with a target above 0 are ranked (and ``eligible`` ones);
    2. order by :data:`RANK_KEYS`: ``progress`` (the true share of the
       year's target, **not capped**: 65 of 52 is 125 % and ranks above 50 of
       48, 104 %), high first; then ``covered_fraction``, high first; then
       ``invalid_share``, low first. Every key is compared in **whole
       percent**, as printed: decimals nobody sees decide nothing;
    3. rows equal on all three keys share a rank (1 = best; the next rank
       skips, 1, 1, 3);
    4. 红榜 (red): the best ``list_size`` rows that are ``on_track``; 黑榜
       (black): the worst ``list_size`` rows that are behind. A row tied
       with the last one taken is taken too, so a list may be longer than
       ``list_size`` but never splits a tie.

    Returns
    -------
    DataFrame
        ``df`` with ``rank`` (1 = best, ties share a rank), ``list``
        (``red``/``black``/empty) and ``list_label`` (红榜/黑榜).
    """
    size = list_size if list_size is not None else _cfg(config).list_size
    out = df.copy()
    ok = out["target"].notna().to_numpy() & (out["target"].to_numpy(dtype="float64") > 0)
    if eligible is not None:
        ok &= np.asarray(eligible, dtype=bool)
    keys = []
    for col, direction in RANK_KEYS:
        v = _shown_percent(out[col]) if col in out else np.zeros(len(out))
        keys.append(-v if direction == "high first" else v)
    k1, k2, k3 = keys
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((k3[idx], k2[idx], k1[idx]))]
    rank = np.full(len(out), np.nan)
    if len(order):
        kk = np.column_stack([k1[order], k2[order], k3[order]])
        new = np.r_[True, np.any(kk[1:] != kk[:-1], axis=1)]
        pos = np.arange(1, len(order) + 1)
        rank[order] = np.maximum.accumulate(np.where(new, pos, 0))
    out["rank"] = pd.array(np.where(np.isnan(rank), None, rank), dtype="Int64")
    on = out["on_track"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    lst = np.full(len(out), "", dtype=object)
    reds = _take_with_ties([i for i in order if on[i]], rank, size)
    blacks = _take_with_ties([i for i in order[::-1] if not on[i]], rank, size)
    lst[reds] = "red"
    lst[blacks] = "black"
    out["list"] = lst
    out["list_label"] = [LIST_LABELS[v] for v in lst]
    return out


def _take_with_ties(candidates: list[int], rank: np.ndarray, size: int) -> list[int]:
    """The first ``size`` candidates, and any further ones tied in rank with the last taken."""
    if size <= 0 or not candidates:
        return []
    taken = candidates[:size]
    last = rank[taken[-1]]
    taken += [i for i in candidates[size:] if rank[i] == last]
    return taken


def chief_table(
    seg_table: pd.DataFrame,
    segments: gpd.GeoDataFrame,
    trips: pd.DataFrame,
    trip_segments: pd.DataFrame,
    *,
    config: TownConfig | PatrolSection | None = None,
) -> pd.DataFrame:
    """Per chief (by ``chief_id`` when present, else by name), for the period of ``seg_table``.

    Returns
    -------
    DataFrame
        ``chief``, ``chief_id``, ``chief_level``, ``village_id``,
        ``segments``, ``length_km``, ``trips`` (in the period),
        ``valid_trips``, ``invalid_trips``, ``invalid_share``,
        ``invalid_reasons`` (per reason, in Chinese with English
        beside it and its code, the trips with this reason: "速度过快(非步行) too
        fast for walking (too_fast): 3"; a trip may have several, so these
        may add to more than ``invalid_trips``), ``patrols`` (the chief's own valid
        patrols of their own segments, year to date, summed over segments),
        ``target`` (sum of their segments' targets), ``progress`` (true
        share, not capped), ``met``, ``due_share``, ``on_track``, ``covered_fraction`` (of their segments,
        length-weighted), ``segments_behind``, ``rank``, ``list``,
        ``list_label``. Chiefs who walked but own no segment are listed
        without a target or rank.
    """
    cfg = _cfg(config)
    start = pd.Timestamp(seg_table["period_start"].iloc[0]).date()
    end = pd.Timestamp(seg_table["period_end"].iloc[0]).date()
    due = float(seg_table["due_share"].iloc[0])
    roster = _chief_roster(seg_table, segments)
    agg, reason_txt = _chief_trips(trips, segments, start, end)
    own_p = _own_patrols(trip_segments, dt.date(end.year, 1, 1), end)
    keys = list(roster.index) + [k for k in agg.index if k not in roster.index]
    out = pd.DataFrame(index=pd.Index(keys, name="chief_key"))
    out = out.join(roster).join(agg)
    out["chief"] = out["chief"].where(out["chief"].notna(), out["chief_t"])
    out["chief_id"] = out["chief_id"].where(out["chief_id"].notna(), out["chief_id_t"])
    out = out.drop(columns=["chief_t", "chief_id_t"])
    for c in ("segments", "trips", "valid_trips", "segments_behind"):
        out[c] = out[c].fillna(0).astype("int64")
    out["invalid_trips"] = out["trips"] - out["valid_trips"]
    out["invalid_share"] = np.divide(
        out["invalid_trips"], out["trips"], out=np.zeros(len(out)), where=out["trips"] > 0
    )
    out["invalid_reasons"] = ["; ".join(reason_txt.get(k, [])) for k in out.index]
    out["patrols"] = own_p.reindex(out.index).fillna(0).astype("int64").to_numpy()
    out["length_km"] = out["length_m"].fillna(0) / 1000.0
    out = _chief_progress(out, due)
    out = rank_red_black(out.reset_index(), config=cfg)
    return out.sort_values(["rank", "chief"], na_position="last", kind="stable")[
        CHIEF_COLUMNS
    ].reset_index(drop=True)


#: Columns of :func:`chief_table`, in order.
CHIEF_COLUMNS = [
    "chief",
    "chief_id",
    "chief_level",
    "village_id",
    "segments",
    "length_km",
    "trips",
    "valid_trips",
    "invalid_trips",
    "invalid_share",
    "invalid_reasons",
    "patrols",
    "target",
    "progress",
    "met",
    "due_share",
    "on_track",
    "covered_fraction",
    "segments_behind",
    "rank",
    "list",
    "list_label",
]


def _chief_roster(seg_table: pd.DataFrame, segments: gpd.GeoDataFrame) -> pd.DataFrame:
    """Per chief of the segment roster: their segments, length, coverage, target and village."""
    st = seg_table.assign(chief_key=_segment_chief_keys(segments))
    st["behind"] = ~st["on_track"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    roster = st.groupby("chief_key", sort=False).agg(
        chief=("chief", "first"),
        chief_id=("chief_id", "first"),
        chief_level=("chief_level", "first"),
        segments=("segment_id", "size"),
        length_m=("length_m", "sum"),
        covered_m=("covered_m", "sum"),
        segments_behind=("behind", "sum"),
    )
    roster["target"] = st.groupby("chief_key", sort=False)["target"].sum(min_count=1)
    # the chief's village: the most common village_id of their segments
    vc = (
        st.dropna(subset=["village_id"])
        .groupby(["chief_key", "village_id"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["chief_key", "n", "village_id"], ascending=[True, False, True])
        .drop_duplicates("chief_key")
        .set_index("chief_key")["village_id"]
    )
    roster["village_id"] = vc.reindex(roster.index).astype(object).to_numpy()
    return roster


def _chief_trips(
    trips: pd.DataFrame, segments: gpd.GeoDataFrame, start: dt.date, end: dt.date
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Per chief (roster key): the period's trips and valid trips, and the invalid ones' reasons."""
    tkey = _map_trip_keys(trips, segments) if len(trips) else np.zeros(0, dtype=object)
    tr = trips.assign(roster_key=tkey)
    in_p = _period_mask(tr["date"], start, end) if len(tr) else np.zeros(0, bool)
    tp = tr[in_p]
    agg = tp.groupby("roster_key", sort=False).agg(
        trips=("trip", "size"),
        valid_trips=("valid", "sum"),
        chief_t=("chief", "first"),
        chief_id_t=("chief_id", "first"),
    )
    inv = tp[~tp["valid"]]
    reasons = (
        inv.assign(r=inv["reason"].str.split(";")).explode("r").groupby(["roster_key", "r"]).size()
        if len(inv)
        else pd.Series(dtype="int64")
    )
    reason_txt: dict[str, list[str]] = {}
    for (rk, r), c in reasons.items():
        reason_txt.setdefault(rk, []).append(f"{reason_label(r)} ({r}): {c}")
    return agg, reason_txt


def _own_patrols(trip_segments: pd.DataFrame, ytd_start: dt.date, end: dt.date) -> pd.Series:
    """Per chief: their valid covering trips on their own segments, year to date."""
    ts = trip_segments
    if not len(ts):
        return pd.Series(dtype="int64")
    ts_key = ts["roster_key"].to_numpy(dtype=object)
    own = ts["own"].to_numpy(dtype=bool)
    in_y = _period_mask(ts["date"], ytd_start, end)
    sel = ts["counts"].to_numpy(dtype=bool) & own & in_y
    return pd.Series(ts_key[sel]).value_counts()


def _chief_progress(out: pd.DataFrame, due: float) -> pd.DataFrame:
    """``progress``, ``due_share``, ``on_track`` and ``covered_fraction`` of each chief."""
    tgt = out["target"].to_numpy(dtype="float64")
    out["progress"], on_track, met = _progress(out["patrols"].to_numpy(), tgt, due)
    out["met"] = met
    out["due_share"] = due
    out["on_track"] = on_track
    lm = out["length_m"].to_numpy(dtype="float64")
    out["covered_fraction"] = np.divide(
        out["covered_m"].fillna(0).to_numpy(), lm, out=np.full(len(out), np.nan), where=lm > 0
    )
    return out


def village_table(
    seg_table: pd.DataFrame,
    chiefs: pd.DataFrame,
    *,
    villages: gpd.GeoDataFrame | None = None,
    config: TownConfig | PatrolSection | None = None,
) -> pd.DataFrame:
    """Per village: its segments' patrols against their targets, and its chiefs' trips.

    A segment belongs to its ``village_id``, else to its chief's village (the
    most common ``village_id`` among the chief's other segments).

    Returns
    -------
    DataFrame
        ``village_id``, ``village_name`` (from ``villages``), ``segments``,
        ``length_km``, ``chiefs``, ``trips``, ``invalid_trips``,
        ``invalid_share``, ``patrols`` (all valid patrols of its segments,
        year to date), ``target``, ``progress`` (true share, not capped),
        ``met``, ``due_share``, ``on_track``,
        ``covered_fraction``, ``segments_behind``, ``rank``, ``list``,
        ``list_label``.
    """
    cfg = _cfg(config)
    st = seg_table.copy()
    chief_village = (
        chiefs.dropna(subset=["village_id"])
        .drop_duplicates("chief")
        .set_index("chief")["village_id"]
    )
    vid = st["village_id"].where(st["village_id"].notna(), st["chief"].map(chief_village))
    st["village_id"] = vid.fillna("(未知 unknown)")
    st["behind"] = ~st["on_track"].astype("boolean").fillna(True).to_numpy(dtype=bool)
    g = st.groupby("village_id", sort=True).agg(
        segments=("segment_id", "size"),
        length_m=("length_m", "sum"),
        chiefs=("chief", "nunique"),
        patrols=("patrols_ytd", "sum"),
        covered_m=("covered_m", "sum"),
        segments_behind=("behind", "sum"),
    )
    g["target"] = st.groupby("village_id", sort=True)["target"].sum(min_count=1)
    ch = chiefs.copy()
    ch["village_id"] = ch["village_id"].fillna("(未知 unknown)")
    ct = ch.groupby("village_id").agg(
        trips=("trips", "sum"), invalid_trips=("invalid_trips", "sum")
    )
    out = g.join(ct, how="left").fillna({"trips": 0, "invalid_trips": 0})
    out["trips"] = out["trips"].astype("int64")
    out["invalid_trips"] = out["invalid_trips"].astype("int64")
    out["invalid_share"] = np.divide(
        out["invalid_trips"], out["trips"], out=np.zeros(len(out)), where=out["trips"] > 0
    )
    out["length_km"] = out["length_m"] / 1000.0
    tgt = out["target"].to_numpy(dtype="float64")
    due = float(seg_table["due_share"].iloc[0]) if len(seg_table) else 0.0
    out["progress"], on_track, met = _progress(out["patrols"].to_numpy(), tgt, due)
    out["met"] = met
    out["due_share"] = due
    out["on_track"] = on_track
    out["covered_fraction"] = np.divide(
        out["covered_m"], out["length_m"], out=np.zeros(len(out)), where=out["length_m"] > 0
    )
    out = out.reset_index()
    out["village_name"] = None
    if villages is not None and "village_id" in villages.columns and "name" in villages.columns:
        v = villages.drop_duplicates("village_id")
        names = dict(zip(v["village_id"].astype(str), v["name"].astype(object)))
        out["village_name"] = out["village_id"].astype(str).map(names).astype(object)
    out = rank_red_black(out, config=cfg)
    return out.sort_values(["rank", "village_id"], na_position="last", kind="stable")[
        VILLAGE_COLUMNS
    ].reset_index(drop=True)


#: Columns of :func:`village_table`, in order.
VILLAGE_COLUMNS = [
    "village_id",
    "village_name",
    "segments",
    "length_km",
    "chiefs",
    "trips",
    "invalid_trips",
    "invalid_share",
    "patrols",
    "target",
    "progress",
    "met",
    "due_share",
    "on_track",
    "covered_fraction",
    "segments_behind",
    "rank",
    "list",
    "list_label",
]
