"""Patrol tracks from KML and KMZ files, as phone apps export them (奥维互动地图, 两步路, Google Earth).

A KML patrol comes in one of three shapes, all read by :func:`read_kml_points`:

* ``<gx:Track>`` (also inside ``<gx:MultiTrack>``): a ``<when>`` for every
  ``<gx:coord>``, the usual export of a recorded trip;
* a ``<LineString>`` (or several in a ``<MultiGeometry>``) with the
  Placemark's ``<TimeSpan>``: the fixes get times interpolated between
  ``begin`` and ``end`` in proportion to the distance along the line (on the
  WGS84 ellipsoid), marked ``time_interpolated``;
* ``<Point>`` Placemarks each with a ``<TimeStamp>``: one trip of the file.

Each Placemark with a track or line is one trip (``trip_id`` = file stem and
number). The chief is read from ``ExtendedData`` (a ``Data``/``SimpleData``
named 河长, 巡河人, chief ...), on the Placemark or the Document, else from
``<atom:author><atom:name>``; the caller falls back to the file name.
Times without a zone are Beijing time, as for CSV files; ``Z`` and offsets
are honoured. The XML is parsed namespace-agnostic (KML 2.1, 2.2, gx).
"""

from __future__ import annotations

import logging
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd

from gis_town.errors import FieldError, LayerError

__all__ = ["CHIEF_KEYS", "read_kml_points"]

log = logging.getLogger(__name__)

#: ExtendedData names that carry the chief's name (lower case).
CHIEF_KEYS: tuple[str, ...] = (
    "河长",
    "河长姓名",
    "巡河人",
    "巡查人",
    "chief",
    "chief_name",
    "author",
)
_CHIEF_ID_KEYS: tuple[str, ...] = ("河长编号", "chief_id")

_COLUMNS = ["point_id", "chief", "chief_id", "trip_id", "lon", "lat", "time", "time_interpolated"]


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(el: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in el if _local(c.tag) == name]


def _first(el: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in el.iter() if _local(c.tag) == name), None)


def _text(el: ET.Element | None) -> str | None:
    if el is None or el.text is None:
        return None
    t = el.text.strip()
    return t or None


def _kml_bytes(path: Path) -> bytes:
    if path.suffix.lower() != ".kmz":
        return path.read_bytes()
    try:
        with zipfile.ZipFile(path) as z:
            names = [n for n in z.namelist() if n.lower().endswith(".kml")]
            if not names:
                raise LayerError(
                    "KMZ 中没有 .kml 文件 / the KMZ holds no .kml file", path=str(path)
                )
            name = "doc.kml" if "doc.kml" in names else sorted(names)[0]
            return z.read(name)
    except zipfile.BadZipFile as exc:
        raise LayerError(
            f"KMZ 文件损坏 / the KMZ is not a valid zip file: {exc}", path=str(path)
        ) from None


def _parse(path: Path) -> ET.Element:
    raw = _kml_bytes(path)
    if not raw.strip():
        raise LayerError("文件为空 / the KML file is empty", path=str(path))
    try:
        return ET.fromstring(raw)
    except ET.ParseError as exc:
        raise LayerError(
            f"无法解析 KML / cannot parse the KML file: {exc}", path=str(path)
        ) from None


def _extended(el: ET.Element, keys: tuple[str, ...]) -> str | None:
    """A value of ``el``'s own ExtendedData whose name is one of ``keys``."""
    for ext in _children(el, "ExtendedData"):
        for item in ext.iter():
            kind = _local(item.tag)
            if kind not in ("Data", "SimpleData"):
                continue
            name = (item.get("name") or "").strip().lower()
            if name in keys:
                value = _text(item) if kind == "SimpleData" else _text(_first(item, "value"))
                if value:
                    return value
    return None


def _document_chief(root: ET.Element) -> str | None:
    for el in root.iter():
        if _local(el.tag) in ("Document", "Folder", "kml"):
            found = _extended(el, CHIEF_KEYS)
            if found:
                return found
    author = _first(root, "author")
    return _text(_first(author, "name")) if author is not None else None


def _coords(text: str | None) -> list[tuple[float, float]]:
    """``lon,lat[,alt]`` tuples separated by white space (a LineString's coordinates)."""
    out = []
    for tok in (text or "").split():
        parts = tok.split(",")
        if len(parts) >= 2:
            out.append((float(parts[0]), float(parts[1])))
    return out


def _gx_tracks(pm: ET.Element) -> list[tuple[list[str], list[tuple[float, float]]]]:
    tracks = []
    for tr in (e for e in pm.iter() if _local(e.tag) == "Track"):
        whens = [_text(w) or "" for w in _children(tr, "when")]
        coords = []
        for c in _children(tr, "coord"):
            parts = (_text(c) or "").split()
            coords.append(
                (float(parts[0]), float(parts[1])) if len(parts) >= 2 else (np.nan, np.nan)
            )
        tracks.append((whens, coords))
    return tracks


def _interpolated(line: list[tuple[float, float]], begin: pd.Timestamp, end: pd.Timestamp) -> list:
    """Times along ``line`` from ``begin`` to ``end`` in proportion to the distance walked."""
    from pyproj import Geod

    lon = np.array([p[0] for p in line])
    lat = np.array([p[1] for p in line])
    step = Geod(ellps="WGS84").inv(lon[:-1], lat[:-1], lon[1:], lat[1:])[2] if len(line) > 1 else []
    cum = np.concatenate([[0.0], np.cumsum(step)])
    share = cum / cum[-1] if cum[-1] > 0 else np.linspace(0.0, 1.0, len(line))
    return [begin + (end - begin) * float(s) for s in share]


def _span_times(pm: ET.Element, path: Path) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    from gis_town.io.tracks import to_local_time

    span = _first(pm, "TimeSpan")
    if span is None:
        return None
    begin, end = _text(_first(span, "begin")), _text(_first(span, "end"))
    if not begin or not end:
        return None
    t = to_local_time(
        pd.Series([begin, end], dtype="object"), field="TimeSpan", path=path, rows=np.array([1, 2])
    )
    return t.iloc[0], t.iloc[1]


def _placemark_records(pm: ET.Element, path: Path, trip: str) -> list[tuple]:
    """(lon, lat, time, interpolated) of one Placemark's track or line; [] when it has none."""
    recs: list[tuple] = []
    for whens, coords in _gx_tracks(pm):
        if len(whens) != len(coords):
            raise FieldError(
                f"gx:Track 的 when ({len(whens)}) 与 coord ({len(coords)}) 个数不同 / the track's "
                "<when> and <gx:coord> counts differ: re-export the trip",
                path=str(path),
                feature_id=trip,
                field="time",
            )
        recs += [(lon, lat, w, False) for (lon, lat), w in zip(coords, whens)]
    if recs:
        return recs
    lines = [_coords(_text(e)) for e in pm.iter() if _local(e.tag) == "coordinates"]
    lines = [ln for ln in lines if len(ln) >= 2]
    if not lines:
        return []
    span = _span_times(pm, path)
    if span is None:
        raise FieldError(
            "轨迹线没有时间 / the track line has no <TimeSpan> (begin and end) and no <gx:Track> "
            "times: export the patrol as a track with times (轨迹, not a drawn line)",
            path=str(path),
            feature_id=trip,
            field="time",
        )
    line = [p for ln in lines for p in ln]
    return [(lon, lat, t, True) for (lon, lat), t in zip(line, _interpolated(line, *span))]


def _point_records(placemarks: list[ET.Element]) -> list[tuple]:
    recs = []
    for pm in placemarks:
        pt = _first(pm, "Point")
        stamp = _first(pm, "TimeStamp")
        when = _text(_first(stamp, "when")) if stamp is not None else None
        xy = _coords(_text(_first(pt, "coordinates"))) if pt is not None else []
        if xy and when:
            recs.append((xy[0][0], xy[0][1], when, False))
    return recs


def read_kml_points(path: str | Path) -> pd.DataFrame:
    """GPS fixes of the patrol trips in a KML or KMZ file.

    Parameters
    ----------
    path : path
        ``.kml`` or ``.kmz``.

    Returns
    -------
    DataFrame
        ``point_id``, ``chief`` (None where the file does not say),
        ``chief_id``, ``trip_id``, ``lon``, ``lat`` (WGS84 degrees), ``time``
        (local ``datetime64[ns, Asia/Shanghai]``), ``time_interpolated``
        (bool) and ``row`` (the fix's number in the file).

    Raises
    ------
    LayerError
        An empty, broken or unparseable file, or one with no track.
    FieldError
        A track without times, or a time that cannot be read.
    """
    from gis_town.io.tracks import to_local_time

    path = Path(path)
    root = _parse(path)
    doc_chief = _document_chief(root)
    placemarks = [e for e in root.iter() if _local(e.tag) == "Placemark"]
    frames: list[pd.DataFrame] = []
    n_trip = 0
    for pm in placemarks:
        recs = _placemark_records(pm, path, f"{path.stem}-{n_trip + 1}")
        if not recs:
            continue
        n_trip += 1
        df = pd.DataFrame.from_records(recs, columns=["lon", "lat", "time", "time_interpolated"])
        df["trip_id"] = f"{path.stem}-{n_trip}"
        df["chief"] = _extended(pm, CHIEF_KEYS) or doc_chief
        df["chief_id"] = _extended(pm, _CHIEF_ID_KEYS)
        frames.append(df)
    points = _point_records(placemarks)
    if points:
        df = pd.DataFrame.from_records(points, columns=["lon", "lat", "time", "time_interpolated"])
        df["trip_id"], df["chief"], df["chief_id"] = f"{path.stem}-points", doc_chief, None
        frames.append(df)
    if not frames:
        raise LayerError(
            "KML 中没有带时间的轨迹 / the KML has no track with times (<gx:Track> with <when>, a "
            "LineString with <TimeSpan>, or Points with <TimeStamp>): export the patrol as a track",
            path=str(path),
        )
    df = pd.concat(frames, ignore_index=True)
    df["row"] = np.arange(1, len(df) + 1)
    df["point_id"] = [
        f"{t}-{i}" for t, i in zip(df["trip_id"], df.groupby("trip_id").cumcount() + 1)
    ]
    bad = ~(np.isfinite(df["lon"].to_numpy(float)) & np.isfinite(df["lat"].to_numpy(float)))
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise FieldError(
            f"第 {i + 1} 个点的坐标无法读取 / fix {i + 1} has no readable coordinate",
            path=str(path),
            feature_id=df["point_id"].iloc[i],
            field="coordinates",
        )
    raw_time = df["time"]
    if not isinstance(raw_time.dtype, pd.DatetimeTZDtype):
        raw_time = to_local_time(
            raw_time.astype("object"), field="when", path=path, rows=df["row"].to_numpy()
        )
    df["time"] = raw_time
    log.debug("KML %s: %d fixes in %d trips", path, len(df), df["trip_id"].nunique())
    return df[[*_COLUMNS, "row"]]
