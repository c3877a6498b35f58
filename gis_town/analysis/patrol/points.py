"""Patrol points and trips: GPS fixes to one row per fix in the Gauss-Kruger zone, split into trips."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from pyproj import CRS

from gis_town import settings
from gis_town.analysis.patrol.common import LOCAL_TZ, _cfg
from gis_town.errors import CRSError, FieldError, LayerError
from gis_town.geodesy import gk_crs as _gk_for_lon
from gis_town.io.tracks import to_local_time
from gis_town.io.validate import PROBLEM_COLUMNS

log = logging.getLogger(__name__)


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
    _check_columns(points, layer)
    cols = set(points.columns)
    n_in = len(points)
    src, feat, line_feat, x_src, y_src = _coordinates(points, crs, layer)
    ids = points["point_id"] if "point_id" in cols else None  # read only for rejected rows
    rows = _input_rows(points)
    problems = []
    has_xy = np.zeros(n_in, dtype=bool)
    has_xy[feat] = True
    if not has_xy.all():
        bad = np.flatnonzero(~has_xy)
        reason = "空几何或坐标无效 / null geometry or invalid coordinates"
        problems.append(_problems(layer, _ids(ids, bad), rows[bad], "geometry", reason))
    if len(x_src) == 0:
        raise LayerError(
            "巡河轨迹没有可用的坐标 / no patrol point has usable coordinates (all geometries are "
            "empty or not finite)",
            layer=layer,
        )
    gk = CRS.from_user_input(gk_crs) if gk_crs is not None else _zone_for(x_src, y_src, src)
    gx, gy = _to_gk(x_src, y_src, src, gk)
    t_v, no_end = _vertex_times(points, feat, line_feat, gx, gy, rows, layer)
    no_time_v = t_v == _NAT
    no_time_f = np.bincount(feat, weights=no_time_v, minlength=n_in) > 0
    chief = _str_col(points["chief"])
    no_chief_f = chief.isna().to_numpy() & ~no_time_f & has_xy
    for mask, name, reason in (
        (no_time_f & has_xy, "time", "缺少时间 / no time: each GPS point needs one"),
        (no_chief_f, "chief", "缺少河长 / no chief: each GPS point must name its chief"),
    ):
        if mask.any():
            bad = np.flatnonzero(mask)
            problems.append(_problems(layer, _ids(ids, bad), rows[bad], name, reason))
    keep_v = ~no_time_v & ~no_chief_f[feat]
    out = _fixes_frame(points, chief, feat, keep_v, t_v, gx, gy, line_feat[feat], no_end)
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


#: NaT as int64 nanoseconds.
_NAT = np.iinfo("int64").min


def _check_columns(points: pd.DataFrame, layer: str) -> None:
    """Rows, a ``chief`` and a time column, or a clear error."""
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


def _coordinates(
    points: pd.DataFrame, crs: str | CRS | None, layer: str
) -> tuple[CRS, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(src_crs, feature_of_vertex, line_feature, x, y)``: every vertex of the input's geometry."""
    if not isinstance(points, gpd.GeoDataFrame):
        return _frame_coordinates(points, crs, layer)
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
    line_feat = np.isin(shapely.get_type_id(geoms), (1, 5))  # LineString, MultiLineString
    return src, feat, line_feat, xy[:, 0], xy[:, 1]


def _frame_coordinates(
    points: pd.DataFrame, crs: str | CRS | None, layer: str
) -> tuple[CRS, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_coordinates` of a plain DataFrame's lon/lat or x/y columns (non-finite rows left out)."""
    cols = set(points.columns)
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
    n_in = len(points)
    feat = np.arange(n_in)
    line_feat = np.zeros(n_in, dtype=bool)
    finite = np.isfinite(x_src) & np.isfinite(y_src)
    if not finite.all():
        feat, x_src, y_src = feat[finite], x_src[finite], y_src[finite]
    return src, feat, line_feat, x_src, y_src


def _input_rows(points: pd.DataFrame) -> np.ndarray:
    """The input row each feature names in the problems table.

    A ``row`` column, else the index a validated layer keeps (its rows as
    read), else the position.
    """
    if "row" in points.columns:
        return points["row"].to_numpy()
    if pd.api.types.is_integer_dtype(points.index.dtype) and points.index.is_unique:
        return points.index.to_numpy()
    return np.arange(len(points))


def _vertex_times(
    points: pd.DataFrame,
    feat: np.ndarray,
    line_feat: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    rows: np.ndarray,
    layer: str,
) -> tuple[np.ndarray, np.ndarray]:
    """Each vertex's time (UTC int64 ns, :data:`_NAT` for none) and per feature "line without end time"."""
    cols = set(points.columns)

    def local(name: str) -> pd.Series:
        return to_local_time(points[name], field=name, layer=layer, allow_blank=True, rows=rows)

    t_pt = (
        local("time")
        if "time" in cols
        else pd.Series(pd.NaT, index=points.index, dtype=f"datetime64[ns, {LOCAL_TZ}]")
    )
    t_ns = t_pt.to_numpy(dtype="datetime64[ns]").astype("int64")  # UTC ns; NaT -> min int
    t_v = t_ns[feat]
    no_end = np.zeros(len(points), dtype=bool)
    is_line_v = line_feat[feat]
    if not is_line_v.any():
        return t_v, no_end
    t_start = (
        local("start_time").to_numpy(dtype="datetime64[ns]").astype("int64")
        if "start_time" in cols
        else t_ns
    )
    t_start = np.where(t_start == _NAT, t_ns, t_start)
    t_end = (
        local("end_time").to_numpy(dtype="datetime64[ns]").astype("int64")
        if "end_time" in cols
        else np.full(len(points), _NAT)
    )
    no_end = line_feat & (t_end == _NAT) & (t_start != _NAT)
    t_end = np.where(t_end == _NAT, t_start, t_end)
    lv = np.flatnonzero(is_line_v)
    t_v = t_v.copy()
    t_v[lv] = _line_times(feat[lv], gx[lv], gy[lv], t_start, t_end, len(points))
    return t_v, no_end


def _line_times(
    f: np.ndarray, x: np.ndarray, y: np.ndarray, t_start: np.ndarray, t_end: np.ndarray, n_in: int
) -> np.ndarray:
    """Times of line vertices, interpolated by distance along each line (constant speed)."""
    # cumulative distance along each line (parts in order), as a fraction of its length
    step = np.r_[0.0, np.hypot(np.diff(x), np.diff(y))]
    step[np.r_[True, f[1:] != f[:-1]]] = 0.0
    cum = np.cumsum(step)
    first = np.r_[True, f[1:] != f[:-1]]
    base = np.maximum.accumulate(np.where(first, cum, -np.inf))
    along = cum - base
    total = np.zeros(n_in)
    np.maximum.at(total, f, along)
    frac = np.divide(along, total[f], out=np.zeros_like(along), where=total[f] > 0)
    ts, te = t_start[f], t_end[f]
    ok = (ts != _NAT) & (te != _NAT)
    return np.where(ok, ts + np.round(frac * (te - ts).astype("float64")).astype("int64"), _NAT)


def _fixes_frame(
    points: pd.DataFrame,
    chief: pd.Series,
    feat: np.ndarray,
    keep_v: np.ndarray,
    t_v: np.ndarray,
    gx: np.ndarray,
    gy: np.ndarray,
    is_line_v: np.ndarray,
    no_end: np.ndarray,
) -> pd.DataFrame:
    """The kept vertices as :func:`prepare_points`' output frame."""
    cols = set(points.columns)
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
    out["x_m"] = gx if all_kept else gx[keep_v]
    out["y_m"] = gy if all_kept else gy[keep_v]
    out["line"] = is_line_v[keep_v]
    out["no_end_time"] = no_end[fv]
    return out


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
