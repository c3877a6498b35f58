"""Reading patrol GPS tracks (巡河轨迹) from CSV, GPX, KML/KMZ files and folders of them.

The river-chief app (河长制APP) exports patrol points as CSV (one row per GPS
fix: longitude, latitude, time, chief) or as GPX. :func:`read_tracks` reads
both into a point GeoDataFrame with the columns of the ``patrols`` layer
(:data:`gis_town.schema.LAYERS`): ``point_id``, ``chief``, ``time`` and,
when present, ``chief_id`` and ``trip_id``.

* CSV headers may be English (``lon, lat, time, chief``) or Chinese
  (``经度, 纬度, 时间, 河长``); the file may be UTF-8 (with or without BOM) or
  GBK (what Excel saves on a Chinese Windows). ``lon``/``lat`` columns are
  read as WGS84 (EPSG:4326, the phone's GPS) unless ``crs`` says otherwise;
  projected ``x``/``y`` columns (东坐标/北坐标, metres) need ``crs``.
* Times without a zone are Asia/Shanghai local time; times with a zone
  (``...Z``, ``+08:00``) and GPX times (UTC by the GPX standard) are converted
  to it. Unix epoch numbers (seconds or milliseconds) are UTC. The ``time``
  column comes back as ``datetime64[ns, Asia/Shanghai]``.

Bad input raises an :class:`~gis_town.errors.InputError` subclass naming the
file, the row (the line number in the file) and the field: an empty file, a
missing column, an unparseable time or coordinate, a GPX with no track.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town import settings
from gis_town.errors import CRSError, FieldError, LayerError
from gis_town.io.validate import PROBLEM_COLUMNS

__all__ = ["CSV_ALIASES", "chief_from_filename", "drop_duplicate_trips", "load_tracks", "read_tracks", "to_local_time"]

log = logging.getLogger(__name__)

#: CSV header spellings (lower case, stripped) -> patrols field.
CSV_ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "long", "longitude", "经度", "东经", "经度(°)"),
    "lat": ("lat", "latitude", "纬度", "北纬", "纬度(°)"),
    "x": ("x", "easting", "东坐标", "x坐标(东)"),
    "y": ("y", "northing", "北坐标", "y坐标(北)"),
    "time": (
        "time",
        "datetime",
        "timestamp",
        "gps_time",
        "时间",
        "巡河时间",
        "定位时间",
        "采集时间",
    ),
    "chief": ("chief", "chief_name", "河长", "河长姓名", "巡河人", "姓名"),
    "chief_id": ("chief_id", "河长编号", "河长id", "河长代码"),
    "trip_id": ("trip_id", "trip", "巡河编号", "轨迹编号", "巡河记录编号", "记录编号"),
    "point_id": ("point_id", "点号", "序号", "点编号"),
}

#: a time of day followed by a zone designator: "07:00Z", "07:00:00+08:00", "07:00 +0800"
_HAS_ZONE = re.compile(
    r"\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|UTC|GMT|[+-]\d{2}:?\d{2})$", re.IGNORECASE
)
_CN_DATE = re.compile(r"(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*日?")
_CN_TIME = re.compile(r"(\d{1,2})\s*[时點点]\s*(\d{1,2})\s*分(?:\s*(\d{1,2})\s*秒)?")


# --------------------------------------------------------------------------- times


def _first_bad(
    mask: np.ndarray, values, row_base: int, rows: np.ndarray | None = None
) -> tuple[int, object, int]:
    idx = np.flatnonzero(mask)
    i = int(idx[0])
    row = int(rows[i]) if rows is not None else row_base + i
    return row, values[i], len(idx)


def _bad_time_error(
    mask: np.ndarray,
    raw,
    *,
    field: str,
    path: str | None,
    layer: str | None,
    row_base: int,
    rows: np.ndarray | None,
    blank: bool,
) -> FieldError:
    row, value, n = _first_bad(mask, raw, row_base, rows)
    what = (
        "时间为空 / the time is blank"
        if blank
        else f"无法解析时间 / cannot parse the time {value!r}"
    )
    more = f" ({n} 行有此问题 / {n} rows have this problem)" if n > 1 else ""
    return FieldError(
        f"第 {row} 行 / row {row}: {what}{more}. 应为日期时间 / expected a date and time such as "
        "2023-07-01 07:00:00 (北京时间 local time), 2023-06-30T23:00:00Z (UTC) or 2023年7月1日 7时0分; "
        "fix the row in the file and rerun.",
        path=path,
        layer=layer,
        feature_id=row,
        field=field,
    )


def to_local_time(
    values: pd.Series,
    *,
    naive_tz: str = settings.LOCAL_TZ,
    field: str = "time",
    path: str | Path | None = None,
    layer: str | None = None,
    row_base: int = 2,
    rows: np.ndarray | None = None,
    allow_blank: bool = False,
    errors: str = "raise",
) -> pd.Series:
    """Convert times of any common form to ``datetime64[ns, Asia/Shanghai]``.

    Parameters
    ----------
    values : Series
        ``datetime64`` (naive or zoned), strings (ISO 8601, ``2023/7/1 7:00``,
        ``2023年7月1日 7时0分``, with or without a zone), Python datetimes,
        or Unix epoch numbers (seconds, or milliseconds when > 1e11; UTC).
    naive_tz : str, default "Asia/Shanghai"
        Zone of times that carry none (``"UTC"`` for GPX).
    field, path, layer : str, optional
        Where the values come from, for error messages.
    row_base : int, default 2
        Row number (as the user sees it) of the first value: 2 for a CSV data
        row after the header line.
    rows : ndarray of int, optional
        Explicit row numbers of the values (overrides ``row_base``).
    allow_blank : bool, default False
        Return NaT for blank values instead of raising.
    errors : {"raise", "coerce"}, default "raise"
        ``"coerce"``: NaT for values that are not times (and blanks) instead
        of raising (for per-feature rejection by the caller).

    Returns
    -------
    Series
        Zoned local times, same index as ``values``.

    Raises
    ------
    FieldError
        A value that is not a time (or blank, unless ``allow_blank``), naming
        the first bad row, its value and how many rows are bad.
    """
    path = None if path is None else str(path)
    local = settings.LOCAL_TZ
    s = values
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        out = s.dt.tz_convert(local)
    elif pd.api.types.is_datetime64_dtype(s):
        out = s.dt.tz_localize(naive_tz).dt.tz_convert(local)
    elif pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        num = s.astype("float64")
        unit_ms = num.abs() > 1e11
        sec = np.where(unit_ms, num / 1000.0, num)
        out = pd.Series(pd.to_datetime(sec, unit="s", utc=True), index=s.index).dt.tz_convert(local)
    else:
        obj = s.astype("object")
        if s.dtype == object:
            is_dt = obj.map(lambda v: hasattr(v, "year") and hasattr(v, "tzinfo")).astype(bool)
        else:  # a string column
            is_dt = pd.Series(False, index=s.index)
        out = pd.Series(pd.NaT, index=s.index, dtype=f"datetime64[ns, {local}]")
        if is_dt.any():
            part = obj[is_dt]
            aware = part.map(lambda v: getattr(v, "tzinfo", None) is not None)
            if aware.any():
                out[aware[aware].index] = pd.to_datetime(part[aware].tolist(), utc=True).tz_convert(
                    local
                )
            if (~aware).any():
                naive = (
                    pd.to_datetime(part[~aware].tolist()).tz_localize(naive_tz).tz_convert(local)
                )
                out[aware[~aware].index] = naive
        if s.dtype == object:
            txt = obj[~is_dt].map(
                lambda v: None if v is None or (isinstance(v, float) and v != v) else str(v)
            )
            txt = pd.Series(txt, index=obj.index[~is_dt], dtype="string").str.strip()
        else:
            txt = s.astype("string").str.strip()
        if len(txt):
            txt = txt.str.replace(_CN_DATE, r"\1-\2-\3 ", regex=True)
            txt = txt.str.replace(
                _CN_TIME, lambda m: f"{m.group(1)}:{m.group(2)}:{m.group(3) or '0'}", regex=True
            )
            txt = txt.str.replace(r"\s+", " ", regex=True).str.strip()
            blank_t = txt.isna() | (txt == "")
            zoned = txt.str.contains(_HAS_ZONE, na=False)
            parsed = pd.Series(pd.NaT, index=txt.index, dtype=f"datetime64[ns, {local}]")
            zi = txt.index[zoned & ~blank_t]
            if len(zi):
                z = txt[zi].str.replace(r"\s*(UTC|GMT)$", "Z", regex=True, case=False)
                parsed[zi] = pd.to_datetime(
                    z, utc=True, errors="coerce", format="mixed"
                ).dt.tz_convert(local)
            ni = txt.index[~zoned & ~blank_t]
            if len(ni):
                nv = pd.to_datetime(txt[ni], errors="coerce", format="mixed")
                parsed[ni] = nv.dt.tz_localize(naive_tz).dt.tz_convert(local)
            out[txt.index] = parsed
    if str(out.dtype) != f"datetime64[ns, {local}]":
        out = out.dt.tz_convert(local).dt.as_unit("ns")
    textual = values.dtype == object or pd.api.types.is_string_dtype(values)
    blank = pd.isna(values).to_numpy().copy()
    if textual:
        blank |= (values.astype("string").str.strip() == "").fillna(False).to_numpy(dtype=bool)
    bad = out.isna().to_numpy() & ~blank
    if errors == "coerce":
        return out
    if bad.any() or (blank.any() and not allow_blank):
        raw = np.asarray(values.astype("object"))
        if bad.any():
            raise _bad_time_error(
                bad,
                raw,
                field=field,
                path=path,
                layer=layer,
                row_base=row_base,
                rows=rows,
                blank=False,
            )
        raise _bad_time_error(
            blank,
            raw,
            field=field,
            path=path,
            layer=layer,
            row_base=row_base,
            rows=rows,
            blank=True,
        )
    return out


# --------------------------------------------------------------------------- CSV


def _decode(path: Path, encoding: str | None) -> tuple[str, str]:
    data = path.read_bytes()
    if encoding:
        try:
            return data.decode(encoding), encoding
        except (UnicodeDecodeError, LookupError) as exc:
            raise LayerError(
                f"无法按 {encoding} 解码 / cannot decode the file as {encoding}: {exc}. "
                "Omit the encoding to detect UTF-8 or GBK automatically.",
                path=str(path),
            ) from None
    try:
        return data.decode("utf-8-sig"), "utf-8"
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(settings.CHINESE_LEGACY_ENCODING), settings.CHINESE_LEGACY_ENCODING
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030"), "gb18030"
    except UnicodeDecodeError as exc:
        raise LayerError(
            f"文件既不是 UTF-8 也不是 GBK 编码 / the file is neither UTF-8 nor GBK text ({exc}); "
            "save it as CSV UTF-8 from Excel and rerun.",
            path=str(path),
        ) from None


def _find_columns(columns: list[str]) -> dict[str, str]:
    """Map patrols fields to the CSV's own column names."""
    norm = {str(c).strip().lower().lstrip("\ufeff"): c for c in columns}
    found: dict[str, str] = {}
    for field, names in CSV_ALIASES.items():
        for name in names:
            if name.lower() in norm:
                found[field] = norm[name.lower()]
                break
    return found


def _numbers(df: pd.DataFrame, col: str, field: str, path: Path) -> np.ndarray:
    raw = df[col]
    txt = raw.astype("string").str.strip()
    val = pd.to_numeric(txt, errors="coerce")
    bad = val.isna().to_numpy()
    if bad.any():
        row, value, n = _first_bad(bad, raw.to_numpy(dtype=object), 2)
        more = f" ({n} 行有此问题 / {n} rows have this problem)" if n > 1 else ""
        raise FieldError(
            f"第 {row} 行 / row {row}: 坐标不是数字 / coordinate is not a number: {value!r}{more}; "
            "expected decimal degrees such as 104.6123 (or metres for x/y); fix the row and rerun.",
            path=str(path),
            feature_id=row,
            field=field,
        )
    return val.to_numpy(dtype="float64")


def _read_csv(path: Path, *, crs: str | None, encoding: str | None) -> gpd.GeoDataFrame:
    import io

    text, enc = _decode(path, encoding)
    if not text.strip():
        raise LayerError(
            "文件为空 / the file is empty: expected a header line (lon, lat, time, chief or 经度, 纬度, 时间, 河长) "
            "and one row per GPS point",
            path=str(path),
        )
    try:
        df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skipinitialspace=True)
    except Exception as exc:  # pandas' parser errors are of several kinds
        raise LayerError(f"无法解析 CSV / cannot parse the CSV: {exc}", path=str(path)) from None
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    cols = _find_columns(list(df.columns))
    geographic = "lon" in cols and "lat" in cols
    projected = "x" in cols and "y" in cols
    missing = []
    if not (geographic or projected):
        missing.append("lon/经度, lat/纬度")
    for f, zh in (("time", "时间"), ("chief", "河长")):
        if f not in cols:
            missing.append(f"{f}/{zh}")
    if missing:
        raise FieldError(
            f"缺少必填列 / missing column(s): {', '.join(missing)}. The file has: "
            f"{', '.join(map(str, df.columns)) or '(none)'}. Expected lon, lat, time, chief "
            "(or 经度, 纬度, 时间, 河长); rename the header line, or map the columns in the town config "
            "([layers.patrols] fields).",
            path=str(path),
            field=", ".join(missing),
        )
    if len(df) == 0:
        raise LayerError(
            "文件只有表头，没有数据行 / the file has a header but no data rows", path=str(path)
        )
    if geographic:
        xs = _numbers(df, cols["lon"], "lon", path)
        ys = _numbers(df, cols["lat"], "lat", path)
        src_crs = crs or "EPSG:4326"
        if crs is None and (np.nanmax(np.abs(xs)) > 180 or np.nanmax(np.abs(ys)) > 90):
            raise CRSError(
                f"经纬度列中的值不是度 / the lon/lat columns hold values like {xs[0]:.1f}, {ys[0]:.1f}, "
                "which are not degrees: these look like projected metres with no CRS. Rename the columns "
                'to x, y and set the CRS ([layers.patrols] crs = "EPSG:4544" in the town config).',
                path=str(path),
                field="lon, lat",
            )
    else:
        if crs is None:
            raise CRSError(
                "x/y 坐标(米)没有坐标系 / the file has projected x/y coordinates but no CRS: set it in the "
                'town config ([layers.patrols] crs = "EPSG:4544" for Gauss-Kruger CM 105E), or export '
                "lon/lat (经度/纬度) instead.",
                path=str(path),
                field="x, y",
            )
        xs = _numbers(df, cols["x"], "x", path)
        ys = _numbers(df, cols["y"], "y", path)
        src_crs = crs
    times = to_local_time(df[cols["time"]], field="time", path=path)
    out = pd.DataFrame(index=df.index)
    if "point_id" in cols:
        out["point_id"] = df[cols["point_id"]].astype("string").str.strip()
    else:
        out["point_id"] = pd.Series(np.arange(2, len(df) + 2), index=df.index).astype("string")
    out["chief"] = df[cols["chief"]].astype("string").str.strip()
    for f in ("chief_id", "trip_id"):
        if f in cols:
            v = df[cols[f]].astype("string").str.strip()
            out[f] = v.where(v != "")
    out["time"] = times
    out["row"] = np.arange(2, len(df) + 2)
    used = {cols[f] for f in cols}
    for c in df.columns:
        if c not in used and c not in out.columns:
            out[c] = df[c]
    try:
        gdf = gpd.GeoDataFrame(out, geometry=gpd.points_from_xy(xs, ys), crs=src_crs)
    except Exception as exc:  # pyproj CRS errors
        raise CRSError(f"无效的坐标系 / invalid CRS {src_crs!r}: {exc}", path=str(path)) from None
    gdf.attrs["encoding"] = enc
    return gdf


# --------------------------------------------------------------------------- GPX


def _read_gpx(path: Path, *, crs: str | None, encoding: str | None) -> gpd.GeoDataFrame:
    import gpxpy
    import gpxpy.gpx

    raw = path.read_bytes()
    if not raw.strip():
        raise LayerError("文件为空 / the GPX file is empty", path=str(path))
    try:
        text = raw.decode(encoding or "utf-8-sig")
    except (UnicodeDecodeError, LookupError):
        text = raw.decode("gb18030", errors="replace")
    try:
        gpx = gpxpy.parse(text)
    except Exception as exc:  # gpxpy raises GPXXMLSyntaxException and others
        raise LayerError(
            f"无法解析 GPX / cannot parse the GPX file: {exc}", path=str(path)
        ) from None
    author = (gpx.author_name or "").strip() or None
    recs: list[tuple] = []
    n_trk = 0
    for ti, trk in enumerate(gpx.tracks):
        chief = author or ((trk.name or "").strip() or None)
        trip = f"{path.stem}-{ti + 1}"
        for si, seg in enumerate(trk.segments):
            for pi, pt in enumerate(seg.points):
                recs.append(
                    (f"{ti + 1}-{si + 1}-{pi + 1}", chief, trip, pt.longitude, pt.latitude, pt.time)
                )
        if trk.get_points_no():
            n_trk += 1
    if n_trk == 0:
        extra = ""
        if gpx.waypoints or gpx.routes:
            extra = f" (it has {len(gpx.waypoints)} waypoints and {len(gpx.routes)} routes, which carry no patrol times)"
        raise LayerError(
            f"GPX 中没有轨迹 / the GPX file has no track (<trk> with <trkpt> points){extra}; "
            "export the patrol as a track (轨迹) from the river-chief app",
            path=str(path),
        )
    df = pd.DataFrame.from_records(
        recs, columns=["point_id", "chief", "trip_id", "lon", "lat", "time"]
    )
    no_time = df["time"].isna().to_numpy()
    if no_time.any():
        i = int(np.flatnonzero(no_time)[0])
        raise FieldError(
            f"轨迹点 {df['point_id'].iloc[i]} (track-segment-point) 没有时间 / track point has no <time> "
            f"({int(no_time.sum())} points lack it): patrol tracks need a time on every point",
            path=str(path),
            feature_id=df["point_id"].iloc[i],
            field="time",
        )
    # GPX times are UTC by the standard; gpxpy returns zoned datetimes when the file says "Z"
    times = to_local_time(
        df["time"].astype("object"),
        naive_tz="UTC",
        field="time",
        path=path,
        rows=np.arange(1, len(df) + 1),
    )
    df["time"] = times
    df["row"] = np.arange(1, len(df) + 1)
    src_crs = crs or "EPSG:4326"
    return gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]).astype(
            {"point_id": "string", "chief": "string", "trip_id": "string"}
        ),
        geometry=gpd.points_from_xy(df["lon"], df["lat"]),
        crs=src_crs,
    )


# --------------------------------------------------------------------------- KML


def _read_kml(path: Path, *, crs: str | None, encoding: str | None) -> gpd.GeoDataFrame:
    from gis_town.io.kml import read_kml_points

    df = read_kml_points(path)
    return gpd.GeoDataFrame(
        df.drop(columns=["lon", "lat"]).astype(
            {"point_id": "string", "chief": "string", "chief_id": "string", "trip_id": "string"}
        ),
        geometry=gpd.points_from_xy(df["lon"], df["lat"]),
        crs=crs or "EPSG:4326",
    )


_READERS = {".gpx": _read_gpx, ".csv": _read_csv, ".txt": _read_csv, ".kml": _read_kml, ".kmz": _read_kml}


def chief_from_filename(path: str | Path, pattern: str = settings.TRACK_CHIEF_PATTERN) -> str | None:
    """The chief's name in a track file's name: the first group of ``pattern``, else None.

    >>> chief_from_filename("巡河/张三_20230601.kml")
    '张三'
    """
    m = re.search(pattern, Path(path).stem)
    name = m.group(1).strip() if m else ""
    return name or None


def _fill_chief(gdf: gpd.GeoDataFrame, path: Path, pattern: str) -> gpd.GeoDataFrame:
    """Chiefs the file does not give, from its name; an error when neither says."""
    missing = gdf["chief"].isna() | (gdf["chief"].astype("string").str.strip() == "")
    if not missing.any():
        return gdf
    name = chief_from_filename(path, pattern)
    if name is None:
        raise FieldError(
            "轨迹文件没有河长姓名 / the track file does not name the chief: expected it in the file "
            "(GPX <metadata><author><name> or a track <name>; KML ExtendedData 河长/chief or "
            f"<atom:author>) or in the file name as the pattern {pattern!r} finds it (e.g. "
            "张三_20230601.kml; [patrol] chief_from_filename in the town config)",
            path=str(path),
            field="chief",
        )
    gdf.loc[missing.to_numpy(), "chief"] = name
    return gdf


def _read_file(path: Path, *, crs: str | None, encoding: str | None, chief_pattern: str) -> gpd.GeoDataFrame:
    suffix = path.suffix.lower()
    if suffix not in _READERS:
        raise LayerError(
            f"不支持的轨迹文件类型 / unsupported track file type {suffix!r}: expected "
            f"{', '.join(settings.TRACK_SUFFIXES)}",
            path=str(path),
        )
    gdf = _fill_chief(_READERS[suffix](path, crs=crs, encoding=encoding), path, chief_pattern)
    gdf["source"] = str(path)
    return gdf


def _file_reject(path: Path, exc: Exception) -> dict:
    return {
        "layer": "patrols",
        "feature_id": path.name,
        "row": None,
        "field": getattr(exc, "field", None) or "file",
        "action": "rejected",
        "reason": f"轨迹文件无法使用 / track file not used: {exc}",
    }


def _read_folder(
    folder: Path, *, crs: str | None, encoding: str | None, chief_pattern: str
) -> tuple[list[gpd.GeoDataFrame], list[dict]]:
    """Every track file below ``folder``; files that cannot be read become reject rows."""
    from gis_town.errors import GisTownError

    files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in settings.TRACK_SUFFIXES)
    frames, rejects = [], []
    for path in files:
        try:
            frames.append(_read_file(path, crs=crs, encoding=encoding, chief_pattern=chief_pattern))
        except GisTownError as exc:
            log.warning("轨迹文件未使用 / track file not used: %s: %s", path, exc)
            rejects.append(_file_reject(path, exc))
    if not frames:
        why = f" ({len(rejects)} 个文件无法读取 / {len(rejects)} files could not be read)" if rejects else ""
        raise LayerError(
            f"文件夹中没有可用的轨迹文件 / no usable track file in the folder{why}: expected "
            f"{', '.join(settings.TRACK_SUFFIXES)} files",
            path=str(folder),
        )
    return frames, rejects


def _trip_units(points: pd.DataFrame) -> tuple[pd.DataFrame, np.ndarray]:
    """One row per imported trip: a file's trip id, else a file's chief; its chief, time span, size.

    Returns the trips (numbered in order of first appearance) and each fix's trip number.
    """
    n = len(points)
    trip = points["trip_id"].astype("string") if "trip_id" in points.columns else pd.Series(pd.NA, index=points.index, dtype="string")
    chief = points["chief"].astype("string").str.strip()
    g = pd.DataFrame({
        "source": points["source"].astype(str).to_numpy(),
        "has_trip": trip.notna().to_numpy(),
        "trip": trip.fillna(chief).to_numpy(),
        "chief": chief.to_numpy(),
        "time": points["time"].to_numpy(),
    }, index=np.arange(n))
    g["unit"] = g.groupby(["source", "has_trip", "trip"], sort=False, dropna=False).ngroup().to_numpy()
    agg = g.groupby("unit").agg(
        chief=("chief", "first"), start=("time", "min"), end=("time", "max"), n=("time", "size"),
        source=("source", "first"), trip=("trip", "first"),
    )
    return agg, g["unit"].to_numpy()


def drop_duplicate_trips(points: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Keep one copy of a trip imported twice (the same chief, overlapping times).

    A trip is a file's ``trip_id`` (else all of a file's fixes of one chief).
    Two trips of the same chief whose time spans overlap are one patrol
    exported twice (a chief cannot walk two patrols at once): the one with more
    fixes is kept (on a tie, the first file by name), the other goes to the
    rejects with the trip it repeats.

    Returns
    -------
    (points, rejects)
        The fixes kept (a ``source`` column names each fix's file), and one
        reject row (:data:`gis_town.io.validate.PROBLEM_COLUMNS`) per dropped trip.
    """
    if "source" not in points.columns or not len(points):
        return points, pd.DataFrame(columns=PROBLEM_COLUMNS)
    units, codes = _trip_units(points)
    dropped: dict[int, int] = {}
    for _, grp in units.sort_values(["n", "source"], ascending=[False, True]).groupby("chief", sort=False):
        kept: list[int] = []
        for u, row in grp.iterrows():
            twin = next((k for k in kept if row.start < units.at[k, "end"] and units.at[k, "start"] < row.end), None)
            if twin is None:
                kept.append(u)
            else:
                dropped[u] = twin
    rejects = [
        {
            "layer": "patrols",
            "feature_id": units.at[u, "trip"],
            "row": None,
            "field": "trip_id",
            "action": "rejected",
            "reason": (
                f"重复导入的巡河轨迹，只计一次 / the same trip imported twice, counted once: "
                f"{units.at[u, 'n']} fixes of {Path(units.at[u, 'source']).name} repeat trip "
                f"{units.at[k, 'trip']} of {Path(units.at[k, 'source']).name} (chief "
                f"{units.at[u, 'chief']}, overlapping times)"
            ),
        }
        for u, k in sorted(dropped.items())
    ]
    keep = ~np.isin(codes, list(dropped))
    return points[keep].copy(), pd.DataFrame(rejects, columns=PROBLEM_COLUMNS)


# --------------------------------------------------------------------------- public


def read_tracks(
    path: str | Path,
    *,
    crs: str | None = None,
    encoding: str | None = None,
    chief_pattern: str = settings.TRACK_CHIEF_PATTERN,
    dedupe: bool = True,
) -> gpd.GeoDataFrame:
    """Read patrol GPS points from a track file, or from every track file in a folder.

    Parameters
    ----------
    path : path
        A file: ``.csv`` (or ``.txt``) with columns lon, lat, time, chief (or
        经度, 纬度, 时间, 河长; optional chief_id/河长编号, trip_id/巡河编号,
        point_id/点号); ``.gpx`` (each ``<trk>`` is one trip; the chief is the
        metadata author, else the track name); ``.kml`` / ``.kmz``
        (:mod:`gis_town.io.kml`: ``gx:Track``, LineString with TimeSpan, or
        timed Points). Or a folder: every such file below it, in any mix; a
        file that cannot be read is set aside (``attrs["rejects"]``) and the
        rest is used.
    crs : str, optional
        CRS of the coordinates. Default EPSG:4326 (GPS) for lon/lat; required
        for projected x/y columns.
    encoding : str, optional
        Text encoding; UTF-8 (with or without BOM) or GBK is detected when
        omitted.
    chief_pattern : str
        Regular expression giving the chief's name from a file's name (first
        group) where the file does not name the chief; default
        :data:`gis_town.settings.TRACK_CHIEF_PATTERN` (the text before the
        first ``_``).
    dedupe : bool, default True
        Count a trip imported twice once (:func:`drop_duplicate_trips`).

    Returns
    -------
    GeoDataFrame
        Points with ``point_id``, ``chief``, ``time`` (``datetime64[ns,
        Asia/Shanghai]``), ``row`` (line number in the CSV, fix number in a
        GPX or KML), ``source`` (the file), ``chief_id`` and ``trip_id`` when
        present, and any other columns of a CSV. ``attrs["source"]`` is
        ``path``; ``attrs["rejects"]`` lists files not used and duplicate
        trips dropped (:data:`gis_town.io.validate.PROBLEM_COLUMNS`), and
        ``attrs["n_read"]`` counts the fixes read before duplicates were dropped.

    Raises
    ------
    LayerError
        Missing, empty or unparseable file; a GPX or KML with no track; a
        folder with no usable track file.
    FieldError
        A missing column, or a row whose time or coordinate cannot be read
        (the message names the row and the field); a file that names no chief.
    CRSError
        Projected coordinates without ``crs``; an invalid ``crs``.
    """
    path = Path(path)
    if path.is_dir():
        frames, rejects = _read_folder(path, crs=crs, encoding=encoding, chief_pattern=chief_pattern)
    elif path.is_file():
        frames, rejects = [_read_file(path, crs=crs, encoding=encoding, chief_pattern=chief_pattern)], []
    else:
        raise LayerError("文件不存在 / file or folder not found: check the path", path=str(path))
    gdf = _concat_points(frames)
    n_read = len(gdf)
    dup = pd.DataFrame()
    if dedupe:
        gdf, dup = drop_duplicate_trips(gdf)
    problems = [pd.DataFrame(rejects), dup]
    gdf.attrs["rejects"] = pd.concat([p for p in problems if len(p)] or [dup], ignore_index=True)
    gdf.attrs["n_read"] = n_read
    gdf.attrs["source"] = str(path)
    log.info("读入轨迹点 read %d track points from %s", len(gdf), path)
    return gdf


def _concat_points(frames: list[gpd.GeoDataFrame]) -> gpd.GeoDataFrame:
    """One point frame from several files (all in the first file's CRS)."""
    if len(frames) == 1:
        return frames[0]
    crs = frames[0].crs
    parts = []
    for f in frames:  # point ids are a file's own: prefix them with the file's name
        f = f if f.crs == crs else f.to_crs(crs)
        parts.append(f.assign(point_id=Path(str(f["source"].iloc[0])).stem + ":" + f["point_id"].astype("string")))
    out = pd.concat(parts, ignore_index=True)
    for c in ("point_id", "chief", "chief_id", "trip_id"):
        if c in out.columns:
            out[c] = out[c].astype("string")
    return gpd.GeoDataFrame(out, geometry=parts[0].geometry.name, crs=crs)


def load_tracks(path: str | Path, config=None) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict]:
    """Track files (or a folder of them) read, mapped and validated as the town's ``patrols`` layer.

    The one way every command takes ``--tracks``: the config's
    ``[layers.patrols]`` options (CRS, encoding, field mapping, defaults) and
    ``[patrol] chief_from_filename`` apply; files set aside and duplicate
    trips join the validation's rejects.

    Parameters
    ----------
    path : path
        A track file or a folder (see :func:`read_tracks`).
    config : TownConfig, optional

    Returns
    -------
    (points, problems, counts)
        Validated points; reject rows (:data:`gis_town.io.validate.PROBLEM_COLUMNS`);
        the feature accounting row (``layer``, ``read``, ``used``, ``repaired``, ``rejected``).
    """
    from gis_town.config import TownConfig
    from gis_town.io.read import apply_field_map
    from gis_town.io.validate import validate_layer

    cfg = config if config is not None else TownConfig()
    path = Path(path)
    src = cfg.layers.get("patrols")
    raw = read_tracks(
        path,
        crs=src.crs if src else None,
        encoding=src.encoding if src else None,
        chief_pattern=cfg.patrol.chief_from_filename,
    )
    reader_rejects = raw.attrs.get("rejects", pd.DataFrame())
    n_read = int(raw.attrs.get("n_read", len(raw)))
    if src is not None and (src.fields or src.defaults):
        raw = apply_field_map(raw, fields=src.fields, defaults=src.defaults)
    points, problems = validate_layer(raw, "patrols", path=str(path))
    problems = pd.concat([p for p in (reader_rejects, problems) if len(p)] or [problems], ignore_index=True)
    counts = {
        "layer": f"patrols ({path.name})",
        "read": n_read,
        "used": len(points),
        "repaired": int((problems["action"] == "repaired").sum()),
        "rejected": n_read - len(points),
    }
    return points, problems, counts
