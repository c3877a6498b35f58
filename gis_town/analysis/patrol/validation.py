"""Trip validation: too fast, too short, too far from the river, timestamps out of order."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town.analysis.patrol.common import REASONS, _cfg
from gis_town.analysis.patrol.network import _Network, _network
from gis_town.analysis.patrol.points import _t_seconds
from gis_town.config import PatrolSection, TownConfig

log = logging.getLogger(__name__)


def _trip_bounds(trip: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first = np.flatnonzero(np.r_[True, trip[1:] != trip[:-1]])
    last = np.r_[first[1:] - 1, len(trip) - 1]
    return first, last


def _window_time(
    mask: np.ndarray, j: np.ndarray, dt_step: np.ndarray, trip: np.ndarray, n_trips: int
) -> np.ndarray:
    """Per trip, the time of the steps inside at least one window ``[i, j[i]]`` with ``mask[i]``."""
    n = len(mask)
    starts = np.flatnonzero(mask)
    depth = np.cumsum(
        np.bincount(starts, minlength=n + 1) - np.bincount(j[starts], minlength=n + 1)
    )[:n]
    return np.bincount(trip, weights=np.where(depth > 0, dt_step, 0.0), minlength=n_trips)


def validate_trips(
    points: pd.DataFrame,
    matches: pd.DataFrame,
    *,
    config: TownConfig | PatrolSection | None = None,
    segments: gpd.GeoDataFrame | None = None,
    _net: _Network | None = None,
) -> pd.DataFrame:
    """One row per trip, flagged invalid with its reasons.

    A trip is invalid when it is

    * ``too_fast``: more than ``max_fast_share`` of its moving time at a
      sustained speed above ``max_speed_kmh``. The speed at a fix is its straight-line
      displacement to the first fix at least ``speed_window_min`` later,
      divided by the time between them; it is sustained when two consecutive
      fixes both show it (one GPS jump does not flag a walk). Moving: the
      windowed speed exceeds ``2 * gps_noise_m`` per window. A drive-by is
      fast whenever it moves (also if it then stands by the river); a walk
      with a short drive to the next stretch is not (the drive covers
      nothing). Trips too short for the window use
      their start-to-end displacement;
    * ``too_short``: shorter than ``min_trip_minutes``, or its length
      (measured on the track simplified by ``gps_noise_m``, so GPS jitter
      while standing still adds no length) below ``min_trip_length_m``;
    * ``too_far``: no fix within ``tolerance_m`` of any river segment;
    * ``out_of_order``: a fix recorded after another carries an earlier time;
    * ``no_end_time``: a line track without ``end_time``.

    Parameters
    ----------
    points : DataFrame
        From :func:`split_trips`.
    matches : DataFrame
        From :func:`match_points`.
    config : TownConfig or PatrolSection, optional
    segments : GeoDataFrame, optional
        From :func:`prepare_rivers`: to report how far the ``too_far`` trips are.

    Returns
    -------
    DataFrame
        ``trip``, ``trip_id`` (the app's id, else ``chief@start``), ``chief``,
        ``chief_id``, ``chief_key``, ``start_time``, ``end_time``, ``date``
        (local date of the start), ``duration_min``, ``n_points``,
        ``length_m``, ``path_length_m``, ``speed_kmh`` (the highest sustained
        speed), ``fast_share``, ``near_points``,
        ``nearest_river_m``, the flags, ``valid``, ``reason`` (codes, ``;``
        separated) and ``reason_text``.
    """
    cfg = _cfg(config)
    n = len(points)
    if n == 0:
        return pd.DataFrame(columns=["trip", "trip_id", "chief", "chief_id", "valid", "reason"])
    trip = points["trip"].to_numpy()
    x, y = points["x_m"].to_numpy(), points["y_m"].to_numpy()
    t = _t_seconds(points)
    first, last = _trip_bounds(trip)
    n_trips = len(first)
    n_points = last - first + 1
    same = trip[1:] == trip[:-1]
    step = np.hypot(np.diff(x), np.diff(y))
    path_len = np.bincount(trip[:-1][same], weights=step[same], minlength=n_trips)
    duration = t[last] - t[first]

    length = _simplified_length(trip, x, y, first, last, cfg.gps_noise_m)
    speed_kmh, fast_share = _speeds(trip, x, y, t, first, last, cfg)

    near, flags = _flags(points, matches, trip, first, duration, length, fast_share, cfg)
    too_far = flags["too_far"]
    valid = ~np.logical_or.reduce(list(flags.values()))

    nearest = _nearest_river(too_far, trip, x, y, first, n_points, cfg, segments, _net)
    start_time = points["time"].iloc[first].reset_index(drop=True)
    end_time = points["time"].iloc[last].reset_index(drop=True)
    chief = points["chief"].iloc[first].astype("object").reset_index(drop=True)
    chief_id = points["chief_id"].iloc[first].astype("object").reset_index(drop=True)
    tid = points["trip_id"].iloc[first].astype("object").reset_index(drop=True)
    label = tid.where(
        tid.notna(), chief.astype(str) + "@" + start_time.dt.strftime("%Y-%m-%d %H:%M")
    )
    codes, texts = _reasons(flags, n_trips)
    return pd.DataFrame(
        {
            "trip": np.arange(n_trips),
            "trip_id": label.to_numpy(dtype=object),
            "chief": chief.to_numpy(),
            "chief_id": chief_id.to_numpy(),
            "chief_key": points["chief_key"].iloc[first].astype("object").to_numpy(),
            "start_time": start_time,
            "end_time": end_time,
            "date": start_time.dt.tz_localize(None).dt.normalize(),
            "duration_min": duration / 60.0,
            "n_points": n_points,
            "length_m": length,
            "path_length_m": path_len,
            "speed_kmh": speed_kmh,
            "fast_share": fast_share,
            "near_points": near,
            "nearest_river_m": nearest,
            **flags,
            "valid": valid,
            "reason": codes,
            "reason_text": texts,
        }
    )


def _simplified_length(
    trip: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    gps_noise_m: float,
) -> np.ndarray:
    """Each trip's length on its track simplified by the GPS noise, in blocks of about a million fixes.

    GPS jitter while standing still adds nothing.
    """
    n_trips = len(first)
    n_points = last - first + 1
    length = np.zeros(n_trips)
    multi = np.flatnonzero(n_points >= 2)
    block = 1_000_000
    i = 0
    while i < len(multi):
        # trips multi[i:k] with about `block` fixes
        k = int(np.searchsorted(first[multi], first[multi[i]] + block, side="left"))
        k = max(k, i + 1)
        tr_ = multi[i:k]
        lo_, hi_ = first[tr_[0]], last[tr_[-1]] + 1
        sel = n_points[trip[lo_:hi_]] >= 2
        ts_ = trip[lo_:hi_][sel]
        consecutive = np.cumsum(np.r_[False, ts_[1:] != ts_[:-1]])
        lines = shapely.linestrings(
            np.column_stack([x[lo_:hi_][sel], y[lo_:hi_][sel]]), indices=consecutive
        )
        if gps_noise_m > 0:
            lines = shapely.simplify(lines, gps_noise_m, preserve_topology=False)
        length[tr_] = shapely.length(lines)
        del lines
        i = k
    return length


def _window_speeds(
    trip: np.ndarray, x: np.ndarray, y: np.ndarray, t: np.ndarray, w: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per fix: ``j`` (the first fix at least ``w`` seconds later) and the speed to it (m/s).

    The speed is ``-inf`` where the trip ends before ``w``.
    """
    n = len(trip)
    t0 = float(t.min())
    span = float(t.max() - t0) + w + 1.0
    key = trip.astype("float64")
    key *= span
    key += t
    key -= t0
    j = np.searchsorted(key, key + w, side="left")
    del key
    has = j < n
    np.minimum(j, n - 1, out=j)
    has &= trip[j] == trip
    v = x[j]
    v -= x
    dy = y[j]
    dy -= y
    np.hypot(v, dy, out=v)
    dtj = dy
    np.subtract(t[j], t, out=dtj)
    np.maximum(dtj, 1e-9, out=dtj)
    v /= dtj
    del dy, dtj
    v[~has] = -np.inf
    return j, v


def _speeds(
    trip: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    t: np.ndarray,
    first: np.ndarray,
    last: np.ndarray,
    cfg: PatrolSection,
) -> tuple[np.ndarray, np.ndarray]:
    """Per trip: the highest sustained speed (km/h) and the share of moving time above the limit."""
    n, n_trips = len(trip), len(first)
    same = trip[1:] == trip[:-1]
    w = cfg.speed_window_min * 60.0
    # sustained speed over the window: displacement to the first fix >= w seconds later
    j, v = _window_speeds(trip, x, y, t, w)
    v2 = np.full(n, -np.inf)
    np.minimum(v[:-1], v[1:], out=v2[:-1])
    v2[:-1][~same] = -np.inf
    sustained = np.maximum.reduceat(v2, first)
    # share of the trip's *moving* time that lies in a window of sustained speed above the
    # limit: a drive-by is fast whenever it moves (also when it then stands by the river); a
    # walk with a short drive to the next stretch is not. Moving: displaced by more than twice
    # the GPS noise within the window (standing still, the noise averages out). The time of a
    # window is every step from its first fix to its last.
    dt_step = np.zeros(n)
    dt_step[:-1] = np.where(same, np.diff(t), 0.0)
    fast_time = _window_time(v2 > cfg.max_speed_kmh / 3.6, j, dt_step, trip, n_trips)
    moving_time = _window_time(v2 > 2.0 * max(cfg.gps_noise_m, 1.0) / w, j, dt_step, trip, n_trips)
    del v2, dt_step, j
    single = np.maximum.reduceat(v, first)
    del v
    duration = t[last] - t[first]
    disp = np.hypot(x[last] - x[first], y[last] - y[first])
    whole = np.divide(disp, duration, out=np.zeros(n_trips), where=duration > 0)
    speed_ms = np.where(
        np.isfinite(sustained), sustained, np.where(np.isfinite(single), single, whole)
    )
    speed_kmh = speed_ms * 3.6
    fast_share = np.divide(fast_time, moving_time, out=np.zeros(n_trips), where=moving_time > 0)
    # trips with no moving window (too short, or standing): their start-to-end speed decides
    fast_share = np.where(
        moving_time > 0, fast_share, (speed_kmh > cfg.max_speed_kmh).astype(float)
    )
    return speed_kmh, fast_share


def _nearest_river(
    too_far: np.ndarray,
    trip: np.ndarray,
    x: np.ndarray,
    y: np.ndarray,
    first: np.ndarray,
    n_points: np.ndarray,
    cfg: PatrolSection,
    segments: gpd.GeoDataFrame | None,
    net: _Network | None,
) -> np.ndarray:
    """Distance of each too-far trip to the nearest river (0 for the others; NaN without rivers).

    The closest of up to 20 evenly spaced fixes of each far trip.
    """
    nearest = np.where(too_far, np.nan, 0.0)
    if not too_far.any() or (segments is None and net is None):
        return nearest
    net = net or _network(segments, cfg.tolerance_m)
    far_pts = np.flatnonzero(too_far[trip])
    ft = trip[far_pts]
    stride = np.maximum(np.ceil(n_points[ft] / 20.0), 1).astype("int64")
    far_pts = far_pts[(far_pts - first[ft]) % stride == 0]
    _, dist = net.tree.query_nearest(
        shapely.points(x[far_pts], y[far_pts]), return_distance=True, all_matches=False
    )
    dmin = np.full(len(first), np.inf)
    np.minimum.at(dmin, trip[far_pts], dist)
    return np.where(too_far, dmin, 0.0)


def _reasons(flags: dict[str, np.ndarray], n_trips: int) -> tuple[np.ndarray, np.ndarray]:
    """The flags as ``reason`` codes (``;`` separated) and ``reason_text`` (:data:`REASONS`)."""
    codes = np.full(n_trips, "", dtype=object)
    texts = np.full(n_trips, "", dtype=object)
    for name, mask in flags.items():
        if mask.any():
            codes = np.where(mask, np.where(codes == "", name, codes + ";" + name), codes)
            texts = np.where(
                mask, np.where(texts == "", REASONS[name], texts + "; " + REASONS[name]), texts
            )
    return codes, texts


def _flags(
    points: pd.DataFrame,
    matches: pd.DataFrame,
    trip: np.ndarray,
    first: np.ndarray,
    duration: np.ndarray,
    length: np.ndarray,
    fast_share: np.ndarray,
    cfg: PatrolSection,
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Per trip: the fixes near a river, and each invalid-trip flag (keys of :data:`REASONS`)."""
    n, n_trips = len(trip), len(first)
    same = trip[1:] == trip[:-1]
    # fixes near a river
    mp = matches["point"].to_numpy()
    near_pt = np.zeros(n, dtype=bool)
    near_pt[mp] = True
    near = np.bincount(trip[near_pt], minlength=n_trips)

    rec = points["record"].to_numpy() if "record" in points.columns else np.arange(n)
    back = np.zeros(n_trips, dtype=bool)
    bad_step = same & (np.diff(rec) < 0)
    back[trip[:-1][bad_step]] = True
    no_end = np.zeros(n_trips, dtype=bool)
    if "no_end_time" in points.columns:
        no_end = np.logical_or.reduceat(points["no_end_time"].to_numpy(dtype=bool), first)

    too_fast = fast_share > cfg.max_fast_share
    too_short = (duration < cfg.min_trip_minutes * 60.0) | (length < cfg.min_trip_length_m)
    too_far = near == 0
    return near, {
        "too_fast": too_fast,
        "too_short": too_short,
        "too_far": too_far,
        "out_of_order": back,
        "no_end_time": no_end,
    }
