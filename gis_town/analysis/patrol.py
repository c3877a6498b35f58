"""River patrol coverage (河长制巡河): who patrolled which stretch, how often, and where nobody went.

The plan asks every river chief to patrol "the whole area, whole segments, no
blind spots" (全区域、整河段、无死角) and sets cumulative targets (70 % of the
year's patrols by June 30, 100 % by September 30). This module turns patrol
GPS points into checked trips, matches them to river segments by linear
referencing, and reports per segment, chief and village. See
``docs/patrol.md`` for the method and every output column.

Pipeline (each step a pure function over DataFrames / GeoDataFrames):

1. :func:`prepare_points` - points (or line tracks) to one row per GPS fix in
   the Gauss-Kruger zone, times in Asia/Shanghai;
2. :func:`split_trips` - trips by ``trip_id``, else by a time gap;
3. :func:`prepare_rivers` - segments in the zone with their annual target;
4. :func:`match_points` - every fix within the tolerance of a segment, with
   its position along it (metres from the segment's start), found with a
   uniform grid over the river's edges and exact point-to-edge projection
   (numpy, no per-point Python);
5. :func:`validate_trips` - too fast, too short, too far, out of order;
6. :func:`covered_intervals` - consecutive fixes on the same segment cover
   the stretch between them; stretches merged per trip and segment;
7. :func:`trip_coverage` - covered share of each segment per trip, and
   whether the trip counts as a patrol of it;
8. :func:`segment_table`, :func:`blind_spots`, :func:`chief_table`,
   :func:`village_table` - per period, with the milestone schedule
   (:func:`milestone_share`) and the red/black list (:func:`rank_red_black`).

:func:`analyze_patrols` runs them all, in two stages: :func:`patrol_trips`
(steps 1-6, everything that touches the points) and :func:`patrol_report`
(steps 7-8, from the trips alone); the partitioned path
(:func:`gis_town.parallel.analyze_patrols`) runs the first per group of chiefs
and joins the pieces with :func:`combine_trips`. No buffer-and-union of
tracks anywhere: the work is linear in the number of points.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pyproj import CRS

from gis_town import settings
from gis_town.config import PatrolSection, TownConfig
from gis_town.errors import CRSError, FieldError, LayerError
from gis_town.geodesy import gk_crs as _gk_for_lon
from gis_town.io.tracks import to_local_time
from gis_town.io.validate import PROBLEM_COLUMNS
from gis_town.schema import FIELD_LABELS

__all__ = [
    "COLUMN_LABELS",
    "REASONS",
    "PatrolResult",
    "PatrolTrips",
    "analyze_patrols",
    "blind_spots",
    "chief_table",
    "combine_trips",
    "covered_intervals",
    "match_points",
    "merge_intervals",
    "milestone_share",
    "patrol_report",
    "patrol_trips",
    "prepare_points",
    "prepare_rivers",
    "quarter_periods",
    "rank_red_black",
    "segment_table",
    "split_trips",
    "trip_coverage",
    "validate_trips",
    "village_table",
]

log = logging.getLogger(__name__)

LOCAL_TZ = settings.LOCAL_TZ
_LINES = ("LineString", "MultiLineString")

#: Invalid-trip reasons: code -> Chinese / English text.
REASONS: dict[str, str] = {
    "too_fast": "速度过快(非步行) / too fast for walking",
    "too_short": "时间或距离过短 / too short",
    "too_far": "远离河道 / too far from any river",
    "out_of_order": "时间戳顺序错乱 / timestamps out of order",
    "no_end_time": "轨迹线缺少结束时间 / line track without end time",
}

#: Output labels of the red / black list.
LIST_LABELS = {"red": "红榜", "black": "黑榜", "": ""}

#: Chinese labels of the output columns (report headers); see docs/patrol.md.
COLUMN_LABELS: dict[str, str] = {
    **FIELD_LABELS,
    "length_m": "长度(米)",
    "length_km": "长度(公里)",
    "period": "时段",
    "period_start": "时段起",
    "period_end": "时段止",
    "patrols": "巡河次数",
    "own_patrols": "本人巡河次数",
    "patrols_ytd": "年初至今巡河次数",
    "target": "年度巡河任务(次)",
    "progress": "完成进度",
    "due_share": "应完成比例",
    "due_patrols": "应完成次数",
    "on_track": "进度正常",
    "covered_m": "已巡长度(米)",
    "covered_fraction": "覆盖率",
    "uncovered_m": "未巡长度(米)",
    "blind_spots": "盲区段数",
    "patrols_q1": "一季度巡河",
    "patrols_q2": "二季度巡河",
    "patrols_q3": "三季度巡河",
    "patrols_q4": "四季度巡河",
    "trip_id": "巡河编号",
    "start_time": "开始时间",
    "end_time": "结束时间",
    "date": "日期",
    "duration_min": "时长(分钟)",
    "n_points": "轨迹点数",
    "path_length_m": "轨迹长度(米)",
    "speed_kmh": "最高持续速度(公里/时)",
    "fast_share": "超速时间比例",
    "near_points": "河道附近点数",
    "nearest_river_m": "距河道最近(米)",
    "too_fast": "速度过快",
    "too_short": "过短",
    "too_far": "远离河道",
    "out_of_order": "时间错乱",
    "no_end_time": "缺结束时间",
    "valid": "有效",
    "reason": "无效原因代码",
    "reason_text": "无效原因",
    "from_m": "起点里程(米)",
    "to_m": "终点里程(米)",
    "segments": "河段数",
    "trips": "巡河趟数",
    "valid_trips": "有效趟数",
    "invalid_trips": "无效趟数",
    "invalid_share": "无效比例",
    "invalid_reasons": "无效原因统计",
    "segments_behind": "滞后河段数",
    "chiefs": "河长人数",
    "rank": "名次",
    "list": "榜单代码",
    "list_label": "红黑榜",
    "village_name": "村名",
}


def _cfg(config: TownConfig | PatrolSection | None) -> PatrolSection:
    if config is None:
        return PatrolSection()
    if isinstance(config, TownConfig):
        return config.patrol
    return config


# =========================================================================== points


def _str_col(s: pd.Series) -> pd.Series:
    """Strip text; blanks become <NA>."""
    out = s.astype("string").str.strip()
    return out.where(out != "")


def _zone_for(lon: np.ndarray, lat: np.ndarray, src: CRS) -> CRS:
    if src.is_geographic:
        lon_c = float(np.nanmean([np.nanmin(lon), np.nanmax(lon)]))
    else:
        tr = pyproj.Transformer.from_crs(src, settings.CGCS2000, always_xy=True)
        cx, cy = (np.nanmin(lon) + np.nanmax(lon)) / 2, (np.nanmin(lat) + np.nanmax(lat)) / 2
        lon_c = float(tr.transform(cx, cy)[0])
    return _gk_for_lon(lon_c)


def _to_gk(x: np.ndarray, y: np.ndarray, src: CRS, gk: CRS) -> tuple[np.ndarray, np.ndarray]:
    if src.equals(gk):
        return np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64")
    tr = pyproj.Transformer.from_crs(src, gk, always_xy=True)
    gx, gy = tr.transform(np.asarray(x, dtype="float64"), np.asarray(y, dtype="float64"))
    return np.asarray(gx), np.asarray(gy)


def _problems(layer: str, ids, rows, field_name: str, reasons) -> pd.DataFrame:
    n = len(ids)
    return pd.DataFrame(
        {
            "layer": [layer] * n,
            "feature_id": list(ids),
            "row": list(rows),
            "field": [field_name] * n,
            "action": ["rejected"] * n,
            "reason": [reasons] * n if isinstance(reasons, str) else list(reasons),
        },
        columns=PROBLEM_COLUMNS,
    )


def prepare_points(
    points: pd.DataFrame,
    *,
    crs: str | CRS | None = None,
    gk_crs: str | CRS | None = None,
    layer: str = "patrols",
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One row per GPS fix, in the Gauss-Kruger zone, with local times.

    Parameters
    ----------
    points : GeoDataFrame or DataFrame
        The ``patrols`` layer: Point / MultiPoint fixes with ``time``, or
        LineString tracks with ``start_time`` and ``end_time`` (times along
        the line are interpolated by distance, i.e. at constant speed); plus
        ``chief`` and optionally ``chief_id``, ``trip_id``, ``point_id``.
        A plain DataFrame with ``lon``/``lat`` (or ``x``/``y``) columns skips
        building shapely points (county scale: 10 million fixes).
    crs : str or CRS, optional
        CRS of a plain DataFrame's coordinates (default EPSG:4326 for
        lon/lat). Ignored for GeoDataFrames, which carry their own.
    gk_crs : str or CRS, optional
        The Gauss-Kruger zone of the run (``town.gk_crs``); picked from the
        data when omitted.
    layer : str
        Layer name for messages and the problems table.

    Returns
    -------
    points : DataFrame
        Columns ``record`` (order as recorded), ``feature`` (input row
        position), ``point_id``, ``chief``, ``chief_id``, ``trip_id``
        (categoricals), ``time`` (``datetime64[ns, Asia/Shanghai]``),
        ``x_m``, ``y_m`` (Gauss-Kruger metres), ``line`` (True for vertices
        of line tracks). ``attrs["gk_crs"]`` is the zone.
    problems : DataFrame
        Rejected fixes (:data:`~gis_town.io.validate.PROBLEM_COLUMNS`):
        null geometry, no time, no chief.

    Raises
    ------
    CRSError
        No CRS; FieldError: no ``chief`` or no time column; LayerError: no rows.
    """
    if len(points) == 0:
        raise LayerError("巡河轨迹为空 / no patrol points", layer=layer)
    cols = set(points.columns)
    if "chief" not in cols:
        raise FieldError(
            "缺少河长字段 / missing field chief (河长): each GPS point must name its chief",
            layer=layer,
            field="chief",
        )
    if not ({"time"} <= cols or {"start_time"} <= cols):
        raise FieldError(
            "缺少时间字段 / missing field time (时间) (or start_time and end_time for line tracks)",
            layer=layer,
            field="time",
        )
    n_in = len(points)
    is_gdf = isinstance(points, gpd.GeoDataFrame)
    if is_gdf:
        if points.crs is None:
            raise CRSError(
                "巡河轨迹没有坐标系 / the patrol points have no CRS: set one (EPSG:4490 or EPSG:4326 for "
                "lon/lat, EPSG:4544 for Gauss-Kruger CM 105E) in the file or in the town config "
                "([layers.patrols] crs)",
                layer=layer,
            )
        src = CRS.from_user_input(points.crs)
        geoms = np.asarray(points.geometry.values, dtype=object)
        xy, feat = shapely.get_coordinates(geoms, return_index=True)
        gtype = shapely.get_type_id(geoms)
        line_feat = np.isin(gtype, (1, 5))  # LineString, MultiLineString
        x_src, y_src = xy[:, 0], xy[:, 1]
    else:
        if {"lon", "lat"} <= cols:
            x_src = points["lon"].to_numpy(dtype="float64")
            y_src = points["lat"].to_numpy(dtype="float64")
            src = CRS.from_user_input(crs or "EPSG:4326")
        elif {"x", "y"} <= cols:
            if crs is None:
                raise CRSError(
                    "x/y 坐标没有坐标系 / x/y coordinates without a CRS: pass crs (e.g. EPSG:4544)",
                    layer=layer,
                    field="x, y",
                )
            x_src = points["x"].to_numpy(dtype="float64")
            y_src = points["y"].to_numpy(dtype="float64")
            src = CRS.from_user_input(crs)
        else:
            raise FieldError(
                "缺少坐标 / no coordinates: expected a geometry, lon/lat columns or x/y columns",
                layer=layer,
                field="lon, lat",
            )
        feat = np.arange(n_in)
        line_feat = np.zeros(n_in, dtype=bool)
        finite = np.isfinite(x_src) & np.isfinite(y_src)
        if not finite.all():
            feat, x_src, y_src = feat[finite], x_src[finite], y_src[finite]

    ids = points["point_id"] if "point_id" in cols else None  # read only for rejected rows
    # rejected fixes name their input row: a "row" column, else the index a
    # validated layer keeps (its rows as read), else the position
    if "row" in cols:
        rows = points["row"].to_numpy()
    elif pd.api.types.is_integer_dtype(points.index.dtype) and points.index.is_unique:
        rows = points.index.to_numpy()
    else:
        rows = np.arange(n_in)
    problems = []

    has_xy = np.zeros(n_in, dtype=bool)
    has_xy[feat] = True
    if not has_xy.all():
        bad = np.flatnonzero(~has_xy)
        problems.append(
            _problems(
                layer,
                _ids(ids, bad),
                rows[bad],
                "geometry",
                "空几何或坐标无效 / null geometry or invalid coordinates",
            )
        )

    if len(x_src) == 0:
        raise LayerError(
            "巡河轨迹没有可用的坐标 / no patrol point has usable coordinates (all geometries are "
            "empty or not finite)",
            layer=layer,
        )
    gk = CRS.from_user_input(gk_crs) if gk_crs is not None else _zone_for(x_src, y_src, src)
    gx, gy = _to_gk(x_src, y_src, src, gk)

    # times per vertex
    def local(name: str) -> pd.Series:
        return to_local_time(points[name], field=name, layer=layer, allow_blank=True, rows=rows)

    t_pt = (
        local("time")
        if "time" in cols
        else pd.Series(pd.NaT, index=points.index, dtype=f"datetime64[ns, {LOCAL_TZ}]")
    )
    t_ns = t_pt.to_numpy(dtype="datetime64[ns]").astype("int64")  # UTC ns; NaT -> min int
    nat = np.iinfo("int64").min
    t_v = t_ns[feat]
    is_line_v = line_feat[feat]
    no_end = np.zeros(n_in, dtype=bool)
    if is_line_v.any():
        t_start = (
            local("start_time").to_numpy(dtype="datetime64[ns]").astype("int64")
            if "start_time" in cols
            else t_ns
        )
        t_start = np.where(t_start == nat, t_ns, t_start)
        t_end = (
            local("end_time").to_numpy(dtype="datetime64[ns]").astype("int64")
            if "end_time" in cols
            else np.full(n_in, nat)
        )
        no_end = line_feat & (t_end == nat) & (t_start != nat)
        t_end = np.where(t_end == nat, t_start, t_end)
        lv = np.flatnonzero(is_line_v)
        f = feat[lv]
        # cumulative distance along each line (parts in order), as a fraction of its length
        step = np.r_[0.0, np.hypot(np.diff(gx[lv]), np.diff(gy[lv]))]
        step[np.r_[True, f[1:] != f[:-1]]] = 0.0
        cum = np.cumsum(step)
        first = np.r_[True, f[1:] != f[:-1]]
        base = np.maximum.accumulate(np.where(first, cum, -np.inf))
        along = cum - base
        total = np.zeros(n_in)
        np.maximum.at(total, f, along)
        frac = np.divide(along, total[f], out=np.zeros_like(along), where=total[f] > 0)
        ts, te = t_start[f], t_end[f]
        ok = (ts != nat) & (te != nat)
        t_line = np.where(
            ok, ts + np.round(frac * (te - ts).astype("float64")).astype("int64"), nat
        )
        t_v = t_v.copy()
        t_v[lv] = t_line
    no_time_v = t_v == nat
    no_time_f = np.bincount(feat, weights=no_time_v, minlength=n_in) > 0
    if no_time_f.any():
        bad = np.flatnonzero(no_time_f & has_xy)
        problems.append(
            _problems(
                layer,
                _ids(ids, bad),
                rows[bad],
                "time",
                "缺少时间 / no time: each GPS point needs one",
            )
        )
    chief = _str_col(points["chief"])
    no_chief_f = chief.isna().to_numpy() & ~no_time_f & has_xy
    if no_chief_f.any():
        bad = np.flatnonzero(no_chief_f)
        problems.append(
            _problems(
                layer,
                _ids(ids, bad),
                rows[bad],
                "chief",
                "缺少河长 / no chief: each GPS point must name its chief",
            )
        )
    keep_v = ~no_time_v & ~no_chief_f[feat]
    fv = feat[keep_v]

    out = pd.DataFrame(
        {
            "record": np.arange(int(keep_v.sum()), dtype="int64"),
            "feature": fv.astype("int64"),
        }
    )
    if "point_id" in cols:
        out["point_id"] = _categorical(_str_col(points["point_id"]), fv)
    out["chief"] = _categorical(chief, fv)
    for c in ("chief_id", "trip_id"):
        if c in cols:
            out[c] = _categorical(_str_col(points[c]), fv)
        else:
            out[c] = pd.Categorical.from_codes(
                np.full(len(fv), -1), categories=pd.Index([], dtype=object)
            )
    all_kept = bool(keep_v.all())
    out["time"] = pd.to_datetime(t_v if all_kept else t_v[keep_v], unit="ns", utc=True).tz_convert(
        LOCAL_TZ
    )
    del t_v, t_ns, t_pt
    out["x_m"] = gx if all_kept else gx[keep_v]
    out["y_m"] = gy if all_kept else gy[keep_v]
    del gx, gy
    out["line"] = is_line_v[keep_v]
    out["no_end_time"] = no_end[fv]
    out.attrs["gk_crs"] = gk.to_string()
    prob = (
        pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame(columns=PROBLEM_COLUMNS)
    )
    if len(prob):
        log.warning(
            "%s: %d 个轨迹点被剔除 / %d patrol points rejected (see rejects.csv)",
            layer,
            len(prob),
            len(prob),
        )
    return out, prob


def _categorical(values: pd.Series, take: np.ndarray) -> pd.Categorical:
    """``values[take]`` as a categorical, factorised once (no Python object per row)."""
    codes, uniques = pd.factorize(values)
    return pd.Categorical.from_codes(
        codes[take], categories=pd.Index(np.asarray(uniques, dtype=object))
    )


def _ids(ids: pd.Series | None, idx: np.ndarray) -> list:
    """Feature ids of rows ``idx`` for the problems table (``#row`` when there is none)."""
    if ids is None:
        return [f"#{i}" for i in idx]
    vals = ids.iloc[idx].astype("string").fillna("").str.strip().tolist()
    return [v if v != "" else f"#{i}" for v, i in zip(vals, idx)]


def _t_seconds(points: pd.DataFrame) -> np.ndarray:
    """Times as float seconds since the Unix epoch (UTC)."""
    return points["time"].to_numpy(dtype="datetime64[ns]").astype("int64") / 1e9


def split_trips(
    points: pd.DataFrame, *, trip_gap_min: float | None = None, config=None
) -> pd.DataFrame:
    """Split fixes into trips and sort them by trip and time.

    A trip is the fixes of one chief with the same ``trip_id``; fixes without
    a ``trip_id`` are split where the time between two consecutive fixes of
    the same chief exceeds ``trip_gap_min``. The chief is identified by
    ``chief_id`` when present, else by name.

    Parameters
    ----------
    points : DataFrame
        From :func:`prepare_points`.
    trip_gap_min : float, optional
        Gap (minutes) that splits trips; default ``config.patrol.trip_gap_min``.
    config : TownConfig or PatrolSection, optional

    Returns
    -------
    DataFrame
        ``points`` sorted by trip and time (ties in recorded order), with
        ``trip`` (int, 0..n_trips-1) and ``chief_key`` (``id:...`` or
        ``name:...``). The index is reset.
    """
    gap_s = (trip_gap_min if trip_gap_min is not None else _cfg(config).trip_gap_min) * 60.0
    n = len(points)
    if n == 0:
        out = points.copy()
        out["trip"] = np.zeros(0, dtype="int64")
        out["chief_key"] = pd.Categorical([])
        return out
    key = _chief_key(points)
    kc = key.codes.astype("int64")
    tc = (
        pd.factorize(points["trip_id"])[0] if "trip_id" in points.columns else np.full(n, -1)
    )  # -1 for missing
    has_tid = tc >= 0
    g = kc.astype("int64") * (int(tc.max()) + 2) + (tc.astype("int64") + 1)
    t = _t_seconds(points)
    rec = points["record"].to_numpy() if "record" in points.columns else np.arange(n)
    order = np.lexsort((rec, t, g))
    gs, ts, hs = g[order], t[order], has_tid[order]
    new = np.r_[True, gs[1:] != gs[:-1]]
    new[1:] |= ~hs[1:] & ((ts[1:] - ts[:-1]) > gap_s)
    out = points.iloc[order].reset_index(drop=True)
    out["trip"] = np.cumsum(new) - 1
    out["chief_key"] = key[order]
    return out


def _chief_key(points: pd.DataFrame) -> pd.Categorical:
    """``id:<chief_id>`` where there is one, else ``name:<chief>`` (built on the categories: cheap at scale)."""
    chief = pd.Categorical(points["chief"])
    names = ["name:" + str(c) for c in chief.categories]
    if "chief_id" in points.columns:
        cid = pd.Categorical(points["chief_id"])
        ids = ["id:" + str(c) for c in cid.categories]
        codes = np.where(cid.codes >= 0, cid.codes, len(ids) + chief.codes.astype("int64"))
    else:
        ids = []
        codes = chief.codes.astype("int64")
    cats = ids + names
    # categories may repeat a label (an id equal to another); keep codes unique by label
    uniq, inv = np.unique(np.asarray(cats, dtype=object), return_inverse=True)
    return pd.Categorical.from_codes(inv[codes], categories=uniq)


# =========================================================================== rivers


def prepare_rivers(
    rivers: gpd.GeoDataFrame,
    *,
    config: TownConfig | PatrolSection | None = None,
    gk_crs: str | CRS | None = None,
) -> gpd.GeoDataFrame:
    """River segments in the Gauss-Kruger zone, with their annual target and length.

    Parameters
    ----------
    rivers : GeoDataFrame
        The ``rivers`` layer: ``segment_id``, ``river_name``, ``chief``,
        ``chief_level`` (code: county/town/village/grid), optional
        ``chief_id``, ``village_id``, ``annual_patrol_target``.
    config : TownConfig or PatrolSection, optional
        ``targets`` per chief level, used where the segment has no
        ``annual_patrol_target``.
    gk_crs : str or CRS, optional
        The run's zone; picked from the data when omitted.

    Returns
    -------
    GeoDataFrame
        In ``gk_crs``; columns ``segment_id``, ``river_name``, ``chief``,
        ``chief_id``, ``chief_level``, ``village_id``, ``target`` (patrols a
        year, float: NaN when neither the segment nor the config gives one),
        ``length_m``, geometry.
    """
    cfg = _cfg(config)
    if len(rivers) == 0:
        raise LayerError("河段图层为空 / the rivers layer has no segments", layer="rivers")
    if rivers.crs is None:
        raise CRSError("河段图层没有坐标系 / the rivers layer has no CRS", layer="rivers")
    missing = [c for c in ("segment_id", "chief") if c not in rivers.columns]
    if missing:
        raise FieldError(
            f"缺少字段 / missing field(s) {', '.join(missing)}; the layer has: "
            f"{', '.join(c for c in rivers.columns if c != rivers.geometry.name)}",
            layer="rivers",
            field=", ".join(missing),
        )
    dup = rivers["segment_id"].duplicated()
    if dup.any():
        raise FieldError(
            f"河段编码重复 / duplicate segment_id {rivers['segment_id'][dup].iloc[0]!r}: each segment needs its own id",
            layer="rivers",
            field="segment_id",
            feature_id=rivers["segment_id"][dup].iloc[0],
        )
    if gk_crs is None:
        from gis_town.geodesy import pick_gk_crs

        gk_crs = pick_gk_crs(rivers, layer="rivers")
    gk = CRS.from_user_input(gk_crs)
    r = rivers.to_crs(gk) if not CRS.from_user_input(rivers.crs).equals(gk) else rivers
    out = gpd.GeoDataFrame(
        {
            "segment_id": r["segment_id"].astype("string").to_numpy(dtype=object),
            "river_name": _col(r, "river_name"),
            "chief": _str_col(r["chief"]).to_numpy(dtype=object),
            "chief_id": _str_col(r["chief_id"]).to_numpy(dtype=object)
            if "chief_id" in r.columns
            else None,
            "chief_level": _col(r, "chief_level"),
            "village_id": _str_col(r["village_id"]).to_numpy(dtype=object)
            if "village_id" in r.columns
            else None,
        },
        geometry=np.asarray(r.geometry.values, dtype=object),
        crs=gk,
    )
    level_target = out["chief_level"].map(
        lambda v: cfg.targets.get(v) if isinstance(v, str) else None
    )
    target = pd.to_numeric(level_target, errors="coerce").astype("float64")
    if "annual_patrol_target" in r.columns:
        own = pd.to_numeric(
            pd.Series(r["annual_patrol_target"].to_numpy(), index=out.index), errors="coerce"
        )
        target = own.astype("float64").where(own.notna(), target)
    out["target"] = target.to_numpy()
    out["length_m"] = shapely.length(np.asarray(out.geometry.values, dtype=object))
    if out["target"].isna().any():
        log.warning(
            "%d 个河段没有巡河任务 / %d segments have no target (no annual_patrol_target and no "
            "[patrol] targets entry for their chief_level)",
            int(out["target"].isna().sum()),
            int(out["target"].isna().sum()),
        )
    return out


def _col(df: pd.DataFrame, name: str) -> np.ndarray | None:
    return df[name].astype("object").to_numpy() if name in df.columns else None


@dataclass
class _Network:
    """Pieces (single lines) and edges of the river segments, with a uniform grid over the edges."""

    n_seg: int
    piece_seg: np.ndarray
    piece_len: np.ndarray
    piece_offset: np.ndarray  #: chainage of each piece's start along its segment (m)
    piece_geom: np.ndarray
    ax: np.ndarray
    ay: np.ndarray
    bx: np.ndarray
    by: np.ndarray
    e_piece: np.ndarray
    e_m0: np.ndarray
    cell: float
    x0: float
    y0: float
    nx: int
    ny: int
    cell_keys: np.ndarray
    cell_ptr: np.ndarray
    cell_edges: np.ndarray
    _tree: shapely.STRtree | None = None

    @property
    def tree(self) -> shapely.STRtree:
        """STRtree over the edges (short two-point lines: fast nearest queries)."""
        if self._tree is None:
            edges = shapely.linestrings(
                np.stack(
                    [np.column_stack([self.ax, self.ay]), np.column_stack([self.bx, self.by])],
                    axis=1,
                )
            )
            self._tree = shapely.STRtree(edges)
        return self._tree


def _network(segments: gpd.GeoDataFrame, tolerance_m: float) -> _Network:
    geoms = np.asarray(segments.geometry.values, dtype=object)
    parts, seg_of = shapely.get_parts(geoms, return_index=True)
    plen = shapely.length(parts)
    keep = np.isfinite(plen) & (plen > 0)
    parts, seg_of, plen = parts[keep], seg_of[keep], plen[keep]
    if len(parts) == 0:
        raise LayerError(
            "河段没有有效的线 / the river segments have no usable lines", layer="rivers"
        )
    # chainage of each piece along its segment: the lengths of the segment's earlier pieces
    cum = np.cumsum(plen)
    first = np.r_[True, seg_of[1:] != seg_of[:-1]]
    start_cum = np.maximum.accumulate(np.where(first, cum - plen, -np.inf))
    poff = cum - plen - start_cum
    cell = float(max(tolerance_m, 1.0))
    dense = shapely.segmentize(parts, max_segment_length=cell)
    xy, pidx = shapely.get_coordinates(dense, return_index=True)
    same = pidx[1:] == pidx[:-1]
    ax, ay = xy[:-1, 0][same], xy[:-1, 1][same]
    bx, by = xy[1:, 0][same], xy[1:, 1][same]
    e_piece = pidx[:-1][same]
    elen = np.hypot(bx - ax, by - ay)
    ecum = np.cumsum(elen)
    efirst = np.r_[True, e_piece[1:] != e_piece[:-1]]
    e_m0 = ecum - elen - np.maximum.accumulate(np.where(efirst, ecum - elen, -np.inf))
    # uniform grid: every edge registered in each cell its bbox (grown by the tolerance) touches
    tol = float(tolerance_m)
    x0 = float(min(ax.min(), bx.min()) - tol - cell)
    y0 = float(min(ay.min(), by.min()) - tol - cell)
    nx = int((max(ax.max(), bx.max()) + tol - x0) // cell) + 2
    ny = int((max(ay.max(), by.max()) + tol - y0) // cell) + 2
    ix0 = ((np.minimum(ax, bx) - tol - x0) // cell).astype("int64")
    ix1 = ((np.maximum(ax, bx) + tol - x0) // cell).astype("int64")
    iy0 = ((np.minimum(ay, by) - tol - y0) // cell).astype("int64")
    iy1 = ((np.maximum(ay, by) + tol - y0) // cell).astype("int64")
    wx, wy = ix1 - ix0 + 1, iy1 - iy0 + 1
    cnt = wx * wy
    e_rep = np.repeat(np.arange(len(ax), dtype="int64"), cnt)
    k = np.arange(int(cnt.sum()), dtype="int64") - np.repeat(np.cumsum(cnt) - cnt, cnt)
    cx = ix0[e_rep] + k // wy[e_rep]
    cy = iy0[e_rep] + k % wy[e_rep]
    # keep a cell only if its centre is within tolerance + half its diagonal of the edge
    # (conservative: every point of the cell within the tolerance of the edge is kept)
    ccx, ccy = x0 + (cx + 0.5) * cell - ax[e_rep], y0 + (cy + 0.5) * cell - ay[e_rep]
    edx, edy = (bx - ax)[e_rep], (by - ay)[e_rep]
    el2 = edx * edx + edy * edy
    tt = np.clip(
        np.divide(ccx * edx + ccy * edy, el2, out=np.zeros_like(el2), where=el2 > 0), 0.0, 1.0
    )
    near = np.hypot(ccx - tt * edx, ccy - tt * edy) <= tol + cell * np.sqrt(0.5) + 1e-6
    cx, cy, e_rep = cx[near], cy[near], e_rep[near]
    ckey = cx * ny + cy
    order = np.argsort(ckey, kind="stable")  # edges stay in id order within a cell
    ckey, e_sorted = ckey[order], e_rep[order]
    starts = np.flatnonzero(np.r_[True, ckey[1:] != ckey[:-1]])
    return _Network(
        n_seg=len(segments),
        piece_seg=seg_of,
        piece_len=plen,
        piece_offset=poff,
        piece_geom=parts,
        ax=ax,
        ay=ay,
        bx=bx,
        by=by,
        e_piece=e_piece,
        e_m0=e_m0,
        cell=cell,
        x0=x0,
        y0=y0,
        nx=nx,
        ny=ny,
        cell_keys=ckey[starts],
        cell_ptr=np.r_[starts, len(ckey)],
        cell_edges=e_sorted,
    )


# =========================================================================== matching


def _match_arrays(
    x: np.ndarray, y: np.ndarray, net: _Network, tolerance_m: float, max_pairs: int = 65_536
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Nearest position on every piece within the tolerance, for every fix.

    Candidates come from the grid cell of each fix; the exact point-to-edge
    distance decides. Work is done in chunks of about ``max_pairs``
    candidates, so memory stays flat whatever the number of fixes.

    Returns (point, piece, m, distance) sorted by point then piece.
    """
    n = len(x)
    ix = np.floor((x - net.x0) / net.cell).astype("int64")
    iy = np.floor((y - net.y0) / net.cell).astype("int64")
    inside = (ix >= 0) & (ix < net.nx) & (iy >= 0) & (iy < net.ny)
    key = np.where(inside, ix * net.ny + iy, -1)
    del ix, iy
    pos = np.searchsorted(net.cell_keys, key)
    pos_c = np.minimum(pos, len(net.cell_keys) - 1)
    found = inside & (net.cell_keys[pos_c] == key)
    start = np.where(found, net.cell_ptr[pos_c], 0)
    cnt = np.where(found, net.cell_ptr[pos_c + 1] - net.cell_ptr[pos_c], 0)
    del key, pos, pos_c, found, inside
    csum = np.cumsum(cnt)
    # per-edge constants
    dx_e, dy_e = net.bx - net.ax, net.by - net.ay
    l2_e = dx_e * dx_e + dy_e * dy_e
    il2_e = np.divide(1.0, l2_e, out=np.zeros_like(l2_e), where=l2_e > 0)
    len_e = np.sqrt(l2_e)
    out_p, out_pc, out_m, out_d = [], [], [], []
    tol2 = float(tolerance_m) ** 2
    lo = 0
    while lo < n:
        base = csum[lo - 1] if lo else 0
        hi = int(np.searchsorted(csum, base + max_pairs, side="right"))
        hi = min(max(hi, lo + 1), n)
        c = cnt[lo:hi]
        tot = int(c.sum())
        if tot:
            first = np.cumsum(c) - c
            e = net.cell_edges[
                np.repeat(start[lo:hi] - first, c) + np.arange(tot, dtype=start.dtype)
            ]
            px = np.repeat(x[lo:hi], c)
            py = np.repeat(y[lo:hi], c)
            px -= net.ax[e]
            py -= net.ay[e]
            dx, dy = dx_e[e], dy_e[e]
            t = px * dx
            t += py * dy
            t *= il2_e[e]
            np.clip(t, 0.0, 1.0, out=t)
            dx *= t
            dy *= t
            px -= dx
            py -= dy
            px *= px
            py *= py
            px += py  # squared distance
            ok = np.flatnonzero(px <= tol2)
            if len(ok):
                p = np.repeat(np.arange(lo, hi, dtype="int32" if n < 2**31 else "int64"), c)[ok]
                e, t, d2 = e[ok], t[ok], px[ok]
                pc = net.e_piece[e]
                # nearest edge per (point, piece): rows are grouped by point, pieces ascending within
                run = np.r_[True, (p[1:] != p[:-1]) | (pc[1:] != pc[:-1])]
                starts = np.flatnonzero(run)
                rid = np.cumsum(run) - 1
                dmin = np.minimum.reduceat(d2, starts)
                best = np.flatnonzero(d2 == dmin[rid])
                best = best[np.r_[True, rid[best][1:] != rid[best][:-1]]]
                eb, pcb = e[best], pc[best]
                out_p.append(p[best])
                out_pc.append(pcb.astype("int32"))
                out_m.append(np.minimum(net.e_m0[eb] + t[best] * len_e[eb], net.piece_len[pcb]))
                out_d.append(np.sqrt(d2[best]))
        lo = hi
    if not out_p:
        z = np.zeros(0)
        return z.astype("int64"), z.astype("int64"), z, z
    return (
        np.concatenate(out_p),
        np.concatenate(out_pc),
        np.concatenate(out_m),
        np.concatenate(out_d),
    )


def match_points(
    points: pd.DataFrame,
    segments: gpd.GeoDataFrame,
    *,
    tolerance_m: float | None = None,
    config=None,
    _net: _Network | None = None,
) -> pd.DataFrame:
    """Match every fix to every river segment within the tolerance (linear referencing).

    For each fix and each segment (piece of a multi-part segment) closer than
    ``tolerance_m``, the nearest position on it is found by projecting the fix
    onto the segment's edges (a uniform grid of cell size ``tolerance_m``
    over the edges gives the candidates; exact point-to-edge distance in
    numpy decides).

    Parameters
    ----------
    points : DataFrame
        From :func:`split_trips` (``x_m``, ``y_m`` in the zone of ``segments``).
    segments : GeoDataFrame
        From :func:`prepare_rivers`.
    tolerance_m : float, optional
        Default ``config.patrol.tolerance_m`` (50 m).

    Returns
    -------
    DataFrame
        ``point`` (row position in ``points``), ``segment`` (row position in
        ``segments``), ``segment_id``, ``piece``, ``m`` (metres from the
        segment's start, along it), ``distance_m``; sorted by point and piece.
    """
    tol = tolerance_m if tolerance_m is not None else _cfg(config).tolerance_m
    net = _net or _network(segments, tol)
    p, pc, m, d = _match_arrays(points["x_m"].to_numpy(), points["y_m"].to_numpy(), net, tol)
    seg = net.piece_seg[pc].astype("int32")
    m += net.piece_offset[pc]
    return pd.DataFrame(
        {
            "point": p,
            "segment": seg,
            "segment_id": pd.Categorical.from_codes(
                seg, categories=pd.Index(segments["segment_id"].to_numpy(dtype=object))
            ),
            "piece": pc,
            "m": m,
            "distance_m": d.astype("float32"),
        }
    )


# =========================================================================== trips


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

    # length on the simplified track (GPS jitter while standing still adds nothing), in blocks
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
        if cfg.gps_noise_m > 0:
            lines = shapely.simplify(lines, cfg.gps_noise_m, preserve_topology=False)
        length[tr_] = shapely.length(lines)
        del lines
        i = k

    # sustained speed over the window: displacement to the first fix >= w seconds later
    w = cfg.speed_window_min * 60.0
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
    del has
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
    flags = {
        "too_fast": too_fast,
        "too_short": too_short,
        "too_far": too_far,
        "out_of_order": back,
        "no_end_time": no_end,
    }
    valid = ~(too_fast | too_short | too_far | back | no_end)

    nearest = np.where(too_far, np.nan, 0.0)
    if too_far.any() and (segments is not None or _net is not None):
        # distance to the nearest river: the closest of up to 20 evenly spaced fixes of each far trip
        net = _net or _network(segments, cfg.tolerance_m)
        far_pts = np.flatnonzero(too_far[trip])
        ft = trip[far_pts]
        stride = np.maximum(np.ceil(n_points[ft] / 20.0), 1).astype("int64")
        far_pts = far_pts[(far_pts - first[ft]) % stride == 0]
        _, dist = net.tree.query_nearest(
            shapely.points(x[far_pts], y[far_pts]), return_distance=True, all_matches=False
        )
        dmin = np.full(n_trips, np.inf)
        np.minimum.at(dmin, trip[far_pts], dist)
        nearest = np.where(too_far, dmin, 0.0)

    start_time = points["time"].iloc[first].reset_index(drop=True)
    end_time = points["time"].iloc[last].reset_index(drop=True)
    chief = points["chief"].iloc[first].astype("object").reset_index(drop=True)
    chief_id = points["chief_id"].iloc[first].astype("object").reset_index(drop=True)
    tid = points["trip_id"].iloc[first].astype("object").reset_index(drop=True)
    label = tid.where(
        tid.notna(), chief.astype(str) + "@" + start_time.dt.strftime("%Y-%m-%d %H:%M")
    )
    codes = np.full(n_trips, "", dtype=object)
    texts = np.full(n_trips, "", dtype=object)
    for name, mask in flags.items():
        if mask.any():
            codes = np.where(mask, np.where(codes == "", name, codes + ";" + name), codes)
            texts = np.where(
                mask, np.where(texts == "", REASONS[name], texts + "; " + REASONS[name]), texts
            )
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


# =========================================================================== intervals


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
    x, y = points["x_m"].to_numpy(), points["y_m"].to_numpy()
    t = _t_seconds(points)
    n = len(points)
    step = np.hypot(np.diff(x), np.diff(y))
    dt_ = np.diff(t)
    speed_ok = (step <= cfg.max_speed_kmh / 3.6 * np.maximum(dt_, 0.0)) | (step == 0)
    step_ok = np.r_[(trip[1:] == trip[:-1]) & speed_ok & (dt_ >= 0), False]
    step = np.r_[step, 0.0]

    p = matches["point"].to_numpy()
    pc = matches["piece"].to_numpy()
    m = matches["m"].to_numpy()
    seg = matches["segment"].to_numpy()
    n_pieces = int(pc.max()) + 1
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
    del has
    b = pos[a]
    del pos
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


# =========================================================================== schedule


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


def _period_mask(dates: pd.Series | np.ndarray, start: dt.date, end: dt.date) -> np.ndarray:
    d = pd.DatetimeIndex(pd.to_datetime(np.asarray(dates)))
    return np.asarray((d >= pd.Timestamp(start)) & (d <= pd.Timestamp(end)))


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
        (``patrols_ytd / target``, capped at 1), ``due_share`` (milestone
        schedule), ``due_patrols``, ``on_track``, ``covered_m``,
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
    ytd_start = dt.date(end_eff.year, 1, 1)
    n_seg = len(segments)
    ts = trip_segments
    in_p = _period_mask(ts["date"], start, end_eff) if len(ts) else np.zeros(0, bool)
    in_y = _period_mask(ts["date"], ytd_start, end_eff) if len(ts) else np.zeros(0, bool)
    cnt = ts["counts"].to_numpy(dtype=bool) if len(ts) else np.zeros(0, bool)
    segi = ts["segment"].to_numpy().astype("int64") if len(ts) else np.zeros(0, "int64")
    own = ts["own"].to_numpy(dtype=bool) if len(ts) else np.zeros(0, bool)
    patrols = np.bincount(segi[cnt & in_p], minlength=n_seg)
    own_patrols = np.bincount(segi[cnt & in_p & own], minlength=n_seg)
    ytd = np.bincount(segi[cnt & in_y], minlength=n_seg)
    target = segments["target"].to_numpy(dtype="float64")
    progress = np.where(
        target > 0,
        np.minimum(ytd / np.where(target > 0, target, 1.0), 1.0),
        np.where(target == 0, 1.0, np.nan),
    )
    due = float(milestone_share([end_eff], config=cfg)[0])
    due_patrols = due * target
    on_track = pd.array(
        np.where(np.isnan(target), None, ytd >= due_patrols - 1e-9), dtype="boolean"
    )

    net = _net or _network(segments, cfg.tolerance_m)
    trip_mask = _period_mask(trips["date"], start, end_eff) if len(trips) else np.zeros(0, bool)
    uk, ulo, uhi = _union_per_piece(intervals, trip_mask)
    covered = (
        np.bincount(net.piece_seg[uk], weights=uhi - ulo, minlength=n_seg)
        if len(uk)
        else np.zeros(n_seg)
    )
    length = segments["length_m"].to_numpy()
    covered = np.minimum(covered, length)
    gaps = _gap_intervals(net, uk, ulo, uhi, cfg.gps_noise_m)
    n_gaps = (
        np.bincount(net.piece_seg[gaps[0]], minlength=n_seg)
        if len(gaps[0])
        else np.zeros(n_seg, "int64")
    )
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


# =========================================================================== chiefs, villages


def _segment_chief_keys(segments: gpd.GeoDataFrame) -> np.ndarray:
    name = "name:" + segments["chief"].astype("string").fillna("")
    cid = segments["chief_id"].astype("string")
    return ("id:" + cid).where(cid.notna(), name).to_numpy(dtype=object)


def _roster_lookup(segments: gpd.GeoDataFrame) -> dict[str, str]:
    """Map a trip's chief key to the segment roster's key: by id when both have one, else by name."""
    keys = _segment_chief_keys(segments)
    names = segments["chief"].astype("object").to_numpy()
    lookup: dict[str, str] = {}
    name_keys: dict[str, set] = {}
    for k, nm in zip(keys, names):
        lookup[k] = k
        if isinstance(nm, str):
            name_keys.setdefault(nm, set()).add(k)
    for nm, ks in name_keys.items():
        if len(ks) == 1:
            lookup.setdefault(f"name:{nm}", next(iter(ks)))
    return lookup


def _map_trip_keys(trips: pd.DataFrame, segments: gpd.GeoDataFrame) -> np.ndarray:
    lookup = _roster_lookup(segments)
    key = trips["chief_key"].astype("object").reset_index(drop=True)
    by_name = (
        ("name:" + trips["chief"].astype("string").fillna(""))
        .astype("object")
        .reset_index(drop=True)
    )
    out = key.map(lookup)
    out = out.where(out.notna(), by_name.map(lookup))
    return out.where(out.notna(), key).to_numpy(dtype=object)


def rank_red_black(
    df: pd.DataFrame,
    *,
    list_size: int | None = None,
    config=None,
    eligible: pd.Series | None = None,
) -> pd.DataFrame:
    """Rank rows for the red/black list (红黑榜).

    Order: ``progress`` (high first), then ``covered_fraction`` (high
    first), then ``invalid_share`` (low first). Rows with no target are not
    ranked. The best ``list_size`` rows that are on track make the red list
    (红榜); the worst ``list_size`` rows that are behind schedule make the
    black list (黑榜).

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
    k1 = -out["progress"].fillna(0).to_numpy(dtype="float64")
    k2 = -out["covered_fraction"].fillna(0).to_numpy(dtype="float64")
    k3 = (
        out["invalid_share"].fillna(0).to_numpy(dtype="float64")
        if "invalid_share" in out
        else np.zeros(len(out))
    )
    idx = np.flatnonzero(ok)
    order = idx[np.lexsort((k3[idx], k2[idx], k1[idx]))]
    rank = np.full(len(out), np.nan)
    if len(order):
        kk = np.column_stack(
            [np.round(k1[order], 9), np.round(k2[order], 9), np.round(k3[order], 9)]
        )
        new = np.r_[True, np.any(kk[1:] != kk[:-1], axis=1)]
        pos = np.arange(1, len(order) + 1)
        rank[order] = np.maximum.accumulate(np.where(new, pos, 0))
    out["rank"] = pd.array(np.where(np.isnan(rank), None, rank), dtype="Int64")
    on = out["on_track"].astype("boolean").fillna(False).to_numpy(dtype=bool)
    lst = np.full(len(out), "", dtype=object)
    reds = [i for i in order if on[i]][:size]
    blacks = [i for i in order[::-1] if not on[i]][:size]
    lst[reds] = "red"
    lst[blacks] = "black"
    out["list"] = lst
    out["list_label"] = [LIST_LABELS[v] for v in lst]
    return out


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
        ``invalid_reasons`` (code: count), ``patrols`` (the chief's own valid
        patrols of their own segments, year to date, summed over segments),
        ``target`` (sum of their segments' targets), ``progress``,
        ``due_share``, ``on_track``, ``covered_fraction`` (of their segments,
        length-weighted), ``segments_behind``, ``rank``, ``list``,
        ``list_label``. Chiefs who walked but own no segment are listed
        without a target or rank.
    """
    cfg = _cfg(config)
    start = pd.Timestamp(seg_table["period_start"].iloc[0]).date()
    end = pd.Timestamp(seg_table["period_end"].iloc[0]).date()
    ytd_start = dt.date(end.year, 1, 1)
    due = float(seg_table["due_share"].iloc[0])
    seg_key = _segment_chief_keys(segments)
    st = seg_table.assign(chief_key=seg_key)
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
    reason_txt = {}
    for (rk, r), c in reasons.items():
        reason_txt.setdefault(rk, []).append(f"{r}: {c}")
    # own patrols: the chief's valid covering trips on the chief's own segments, year to date
    ts = trip_segments
    if len(ts):
        ts_key = ts["roster_key"].to_numpy(dtype=object)
        own = ts["own"].to_numpy(dtype=bool)
        in_y = _period_mask(ts["date"], ytd_start, end)
        sel = ts["counts"].to_numpy(dtype=bool) & own & in_y
        own_p = pd.Series(ts_key[sel]).value_counts()
    else:
        own_p = pd.Series(dtype="int64")
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
    tgt = out["target"].to_numpy(dtype="float64")
    out["progress"] = np.where(
        tgt > 0,
        np.minimum(out["patrols"] / np.where(tgt > 0, tgt, 1), 1.0),
        np.where(tgt == 0, 1.0, np.nan),
    )
    out["due_share"] = due
    out["on_track"] = pd.array(
        np.where(np.isnan(tgt), None, out["patrols"].to_numpy() >= due * tgt - 1e-9),
        dtype="boolean",
    )
    lm = out["length_m"].to_numpy(dtype="float64")
    out["covered_fraction"] = np.divide(
        out["covered_m"].fillna(0).to_numpy(), lm, out=np.full(len(out), np.nan), where=lm > 0
    )
    out = rank_red_black(out.reset_index(), config=cfg)
    cols = [
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
        "due_share",
        "on_track",
        "covered_fraction",
        "segments_behind",
        "rank",
        "list",
        "list_label",
    ]
    return out.sort_values(["rank", "chief"], na_position="last", kind="stable")[cols].reset_index(
        drop=True
    )


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
        year to date), ``target``, ``progress``, ``due_share``, ``on_track``,
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
    out["progress"] = np.where(
        tgt > 0,
        np.minimum(out["patrols"] / np.where(tgt > 0, tgt, 1), 1.0),
        np.where(tgt == 0, 1.0, np.nan),
    )
    out["due_share"] = due
    out["on_track"] = pd.array(
        np.where(np.isnan(tgt), None, out["patrols"].to_numpy() >= due * tgt - 1e-9),
        dtype="boolean",
    )
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
    cols = [
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
        "due_share",
        "on_track",
        "covered_fraction",
        "segments_behind",
        "rank",
        "list",
        "list_label",
    ]
    return out.sort_values(["rank", "village_id"], na_position="last", kind="stable")[
        cols
    ].reset_index(drop=True)


# =========================================================================== all steps


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
    cfg = config or TownConfig()
    if gk_crs is None:
        from gis_town.geodesy import pick_gk_crs

        gk_crs = pick_gk_crs(rivers, layer="rivers")
    segs = prepare_rivers(rivers, config=cfg.patrol, gk_crs=gk_crs)
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
    n_valid = int(trips["valid"].sum()) if len(trips) else 0
    summary = {
        "points": n_points,
        "rejected_points": len(problems),
        "trips": len(trips),
        "valid_trips": n_valid,
        "invalid_trips": len(trips) - n_valid,
        "invalid_by_reason": {k: int(trips[k].sum()) for k in REASONS} if len(trips) else {},
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
