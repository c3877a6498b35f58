"""Coverage: the stretches each trip covered, per trip and segment, and the blind spots nobody covered."""

from __future__ import annotations

import datetime as dt
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town.analysis.patrol.common import _cfg, _map_trip_keys, _period_mask, _segment_chief_keys
from gis_town.analysis.patrol.network import _Network, _network
from gis_town.analysis.patrol.points import _t_seconds
from gis_town.config import PatrolSection, TownConfig

log = logging.getLogger(__name__)


def merge_intervals(
    key: np.ndarray, lo: np.ndarray, hi: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Merge overlapping or touching intervals ``[lo, hi]`` within each ``key``.

    Returns the merged (key, lo, hi), sorted by key then lo. Vectorised: one
    sort and a grouped running maximum.
    """
    if len(key) == 0:
        return key, lo, hi
    order = np.lexsort((lo, key))
    k, lo_s, hi_s = key[order], lo[order], hi[order]
    newgrp = np.r_[True, k[1:] != k[:-1]]
    run_max = pd.Series(hi_s).groupby(np.cumsum(newgrp)).cummax().to_numpy()
    prev = np.r_[-np.inf, run_max[:-1]]
    start = newgrp | (lo_s > prev)
    s = np.flatnonzero(start)
    return k[s], lo_s[s], np.maximum.reduceat(hi_s, s)


def covered_intervals(
    points: pd.DataFrame,
    matches: pd.DataFrame,
    trips: pd.DataFrame,
    *,
    config: TownConfig | PatrolSection | None = None,
) -> pd.DataFrame:
    """The stretches of each segment each trip covered, merged.

    Two consecutive fixes of a trip that both lie within the tolerance of the
    same segment cover the stretch between their positions along it, unless
    the step between them is faster than ``max_speed_kmh`` or its along-river
    length exceeds the straight step plus twice the tolerance (the track cut
    across a bend or a meander neck). Stretches are merged per trip and piece.

    Returns
    -------
    DataFrame
        ``trip``, ``segment`` (position), ``segment_id``, ``piece``,
        ``start_m``, ``end_m`` (chainage along the segment), ``length_m``,
        ``valid`` (the trip's).
    """
    cfg = _cfg(config)
    cols = ["trip", "segment", "segment_id", "piece", "start_m", "end_m", "length_m", "valid"]
    if len(matches) == 0:
        return pd.DataFrame(columns=cols)
    trip = points["trip"].to_numpy()
    n = len(points)
    step_ok, step = _steps(points, cfg)
    p = matches["point"].to_numpy()
    pc = matches["piece"].to_numpy()
    m = matches["m"].to_numpy()
    seg = matches["segment"].to_numpy()
    n_pieces = int(pc.max()) + 1
    a, b = _next_fix_on_piece(p, pc, n_pieces)
    pa = p[a]
    ok = step_ok[pa] & (np.abs(m[b] - m[a]) <= step[pa] + 2.0 * cfg.tolerance_m)
    a, b, pa = a[ok], b[ok], pa[ok]
    if len(a) == 0:
        return pd.DataFrame(columns=cols)
    lo = np.minimum(m[a], m[b])
    hi = np.maximum(m[a], m[b])
    piece = pc[a]
    # chain consecutive steps on the same piece into runs (their union is one interval)
    order = np.argsort(piece.astype("int64") * (n + 1) + pa, kind="stable")
    piece, pa, lo, hi = piece[order], pa[order], lo[order], hi[order]
    brk = np.r_[True, (piece[1:] != piece[:-1]) | (pa[1:] != pa[:-1] + 1)]
    s = np.flatnonzero(brk)
    run_piece, run_pt = piece[s], pa[s]
    run_lo, run_hi = np.minimum.reduceat(lo, s), np.maximum.reduceat(hi, s)
    run_trip = trip[run_pt]
    k2 = run_trip.astype("int64") * n_pieces + run_piece
    mk, mlo, mhi = merge_intervals(k2, run_lo, run_hi)
    out_trip, out_piece = mk // n_pieces, mk % n_pieces
    seg_of_piece = np.zeros(n_pieces, dtype="int64")
    seg_of_piece[pc] = seg
    out_seg = seg_of_piece[out_piece]
    sid = matches["segment_id"]
    if isinstance(sid.dtype, pd.CategoricalDtype):
        sid_of_seg = np.asarray(sid.cat.categories, dtype=object)
    else:
        sid_of_seg = np.empty(int(seg.max()) + 1, dtype=object)
        sid_of_seg[seg] = sid.to_numpy(dtype=object)
    valid = trips["valid"].to_numpy(dtype=bool)[out_trip] if len(trips) else np.zeros(len(mk), bool)
    return pd.DataFrame(
        {
            "trip": out_trip,
            "segment": out_seg,
            "segment_id": sid_of_seg[out_seg],
            "piece": out_piece,
            "start_m": mlo,
            "end_m": mhi,
            "length_m": mhi - mlo,
            "valid": valid,
        }
    )


def _steps(points: pd.DataFrame, cfg: PatrolSection) -> tuple[np.ndarray, np.ndarray]:
    """Per fix: whether the step to the next fix may cover river (same trip, not too fast, in time order), and its length."""
    trip = points["trip"].to_numpy()
    x, y = points["x_m"].to_numpy(), points["y_m"].to_numpy()
    t = _t_seconds(points)
    step = np.hypot(np.diff(x), np.diff(y))
    dt_ = np.diff(t)
    speed_ok = (step <= cfg.max_speed_kmh / 3.6 * np.maximum(dt_, 0.0)) | (step == 0)
    step_ok = np.r_[(trip[1:] == trip[:-1]) & speed_ok & (dt_ >= 0), False]
    return step_ok, np.r_[step, 0.0]


def _next_fix_on_piece(
    p: np.ndarray, pc: np.ndarray, n_pieces: int
) -> tuple[np.ndarray, np.ndarray]:
    """Match rows ``a`` and ``b``: fix ``p[a] + 1`` is matched to the same piece at row ``b``."""
    # the same piece matched at the next fix: look up key (point + 1, piece)
    key = p.astype("int64")
    key *= n_pieces
    key += pc
    nxt = key + n_pieces
    pos = np.searchsorted(key, nxt)
    del key
    has = pos < len(p)
    np.minimum(pos, len(p) - 1, out=pos)
    has &= p[pos].astype("int64") * n_pieces + pc[pos] == nxt
    del nxt
    a = np.flatnonzero(has)
    return a, pos[a]


def trip_coverage(
    intervals: pd.DataFrame,
    segments: gpd.GeoDataFrame,
    trips: pd.DataFrame,
    *,
    config: TownConfig | PatrolSection | None = None,
) -> pd.DataFrame:
    """Covered length and share of each segment per trip, and whether it counts as a patrol.

    A trip counts as a patrol of a segment (``counts``) when it is valid and
    covers at least ``min_cover_share`` of the segment's length. Each such
    trip counts once for every segment it covers, whoever walked it.

    Returns
    -------
    DataFrame
        ``trip``, ``trip_id``, ``chief``, ``chief_key``, ``date``,
        ``segment``, ``segment_id``, ``covered_m``, ``share``, ``valid``,
        ``counts``.
    """
    cfg = _cfg(config)
    cols = [
        "trip",
        "trip_id",
        "chief",
        "chief_key",
        "date",
        "segment",
        "segment_id",
        "covered_m",
        "share",
        "valid",
        "counts",
        "roster_key",
        "own",
    ]
    if len(intervals) == 0:
        return pd.DataFrame(columns=cols)
    g = (
        intervals.groupby(["trip", "segment"], sort=True, observed=True)["length_m"]
        .sum()
        .reset_index()
    )
    g = g.rename(columns={"length_m": "covered_m"})
    seg_len = segments["length_m"].to_numpy()
    g["segment_id"] = segments["segment_id"].to_numpy(dtype=object)[g["segment"].to_numpy()]
    g["share"] = np.minimum(g["covered_m"].to_numpy() / seg_len[g["segment"].to_numpy()], 1.0)
    tr = trips.set_index("trip")
    ti = g["trip"].to_numpy()
    g["trip_id"] = tr["trip_id"].to_numpy(dtype=object)[ti]
    g["chief"] = tr["chief"].to_numpy(dtype=object)[ti]
    g["chief_key"] = tr["chief_key"].to_numpy(dtype=object)[ti]
    g["date"] = tr["date"].to_numpy()[ti]
    g["valid"] = tr["valid"].to_numpy(dtype=bool)[ti]
    g["counts"] = g["valid"] & (g["share"] >= cfg.min_cover_share - 1e-9)
    # whose: the trip's chief matched to the segments' chiefs (by id, else by name)
    rk = _map_trip_keys(trips, segments)[tr.index.get_indexer(ti)]
    g["roster_key"] = rk
    g["own"] = rk == _segment_chief_keys(segments)[g["segment"].to_numpy()]
    return g[cols]


def _union_per_piece(
    intervals: pd.DataFrame, trip_mask: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    if len(intervals) == 0:
        z = np.zeros(0)
        return z.astype("int64"), z, z
    sel = intervals["valid"].to_numpy(dtype=bool) & trip_mask[intervals["trip"].to_numpy()]
    return merge_intervals(
        intervals["piece"].to_numpy()[sel].astype("int64"),
        intervals["start_m"].to_numpy()[sel],
        intervals["end_m"].to_numpy()[sel],
    )


def _gap_intervals(
    net: _Network, uk: np.ndarray, ulo: np.ndarray, uhi: np.ndarray, min_gap_m: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Complement of the covered intervals on every piece: (piece, from_m, to_m), piece chainage."""
    n_p = len(net.piece_len)
    local_lo = ulo - net.piece_offset[uk]
    local_hi = uhi - net.piece_offset[uk]
    s_piece = np.r_[np.arange(n_p), uk]
    s_val = np.r_[np.zeros(n_p), local_hi]
    e_piece = np.r_[uk, np.arange(n_p)]
    e_val = np.r_[local_lo, net.piece_len]
    so = np.lexsort((s_val, s_piece))
    eo = np.lexsort((e_val, e_piece))
    gp, ga, gb = s_piece[so], s_val[so], np.minimum(e_val[eo], net.piece_len[s_piece[so]])
    keep = (gb - ga) > max(min_gap_m, 1e-6)
    return gp[keep], ga[keep], gb[keep]


def _substrings(net: _Network, piece: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Vectorised ``shapely.ops.substring``: the part of each piece between a and b (metres)."""
    if len(piece) == 0:
        return np.array([], dtype=object)
    xy, vidx = shapely.get_coordinates(net.piece_geom, return_index=True)
    step = np.r_[0.0, np.hypot(np.diff(xy[:, 0]), np.diff(xy[:, 1]))]
    first = np.r_[True, vidx[1:] != vidx[:-1]]
    step[first] = 0.0
    # global chainage: pieces laid end to end with a 1 m spacer
    offs = np.r_[0.0, np.cumsum(net.piece_len + 1.0)[:-1]]
    cd = np.cumsum(step)
    cd = cd - np.maximum.accumulate(np.where(first, cd, -np.inf))
    g = offs[vidx] + cd
    ga, gb = offs[piece] + a, offs[piece] + b
    i0 = np.searchsorted(g, ga, side="right")
    i1 = np.searchsorted(g, gb, side="left")

    def interp(k: np.ndarray, gv: np.ndarray) -> np.ndarray:
        k = np.clip(k, 0, len(g) - 2)
        den = g[k + 1] - g[k]
        f = np.clip(np.divide(gv - g[k], den, out=np.zeros_like(gv), where=den > 0), 0, 1)
        return xy[k] + f[:, None] * (xy[k + 1] - xy[k])

    p_start = interp(i0 - 1, ga)
    p_end = interp(i1 - 1, gb)
    n_in = np.maximum(i1 - i0, 0)
    counts = n_in + 2
    total = int(counts.sum())
    gi = np.repeat(np.arange(len(piece)), counts)
    pos = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    coords = np.empty((total, 2))
    is_start = pos == 0
    is_end = pos == counts[gi] - 1
    coords[is_start] = p_start
    coords[is_end] = p_end
    mid = ~is_start & ~is_end
    coords[mid] = xy[(i0[gi] + pos - 1)[mid]]
    return shapely.linestrings(coords, indices=gi)


def blind_spots(
    segments: gpd.GeoDataFrame,
    trips: pd.DataFrame,
    intervals: pd.DataFrame,
    *,
    start: dt.date,
    end: dt.date,
    config: TownConfig | PatrolSection | None = None,
    _net: _Network | None = None,
) -> gpd.GeoDataFrame:
    """The stretches of river no valid trip covered in the period (巡河盲区), as lines.

    Returns
    -------
    GeoDataFrame
        One row per uncovered stretch longer than ``gps_noise_m``:
        ``segment_id``, ``river_name``, ``chief``, ``chief_id``,
        ``village_id``, ``from_m``, ``to_m`` (chainage along the segment),
        ``length_m``, geometry (in the CRS of ``segments``).
    """
    cfg = _cfg(config)
    net = _net or _network(segments, cfg.tolerance_m)
    mask = (
        _period_mask(trips["date"], pd.Timestamp(start).date(), pd.Timestamp(end).date())
        if len(trips)
        else np.zeros(0, bool)
    )
    uk, ulo, uhi = _union_per_piece(intervals, mask)
    gp, ga, gb = _gap_intervals(net, uk, ulo, uhi, cfg.gps_noise_m)
    geoms = _substrings(net, gp, ga, gb)
    seg = net.piece_seg[gp]
    off = net.piece_offset[gp]
    cols = {
        c: segments[c].to_numpy(dtype=object)[seg]
        for c in ("segment_id", "river_name", "chief", "chief_id", "village_id")
    }
    return gpd.GeoDataFrame(
        {**cols, "from_m": ga + off, "to_m": gb + off, "length_m": gb - ga},
        geometry=geoms if len(geoms) else gpd.GeoSeries([], crs=segments.crs).values,
        crs=segments.crs,
    )
