"""River problems (河湖"清四乱"问题) as the patrol app and the office keep them.

The ``problems`` layer (:data:`gis_town.schema.LAYERS`) is a point layer:
``problem_id`` 问题编号, ``kind`` 类型 (乱占 occupation, 乱采 mining, 乱堆
dumping, 乱建 construction, 垃圾 garbage, 排污 sewage, 其他 other),
``reported_date`` 上报日期 and optionally ``segment_id`` 河段编码,
``reported_by`` 上报河长, ``rectified_date`` 整改日期, ``photo`` 照片, ``note`` 备注.
It comes in three shapes, all read by :func:`read_problems`:

* a GeoPackage (or Shapefile, GeoJSON) layer with those fields, or mapped to
  them in ``[layers.problems] fields``;
* KML / KMZ placemarks as the patrol apps export them (:func:`read_problem_kml`):
  a ``<Point>`` and a ``<description>`` of ``key：value`` lines (plain or
  HTML, e.g. ``问题类型：乱堆<br/>上报日期：2023年5月12日``) and/or
  ``ExtendedData``; the placemark's ``<name>`` is the id when no line gives one;
* an Excel ledger (``.xlsx``) with 经度/纬度 (lon/lat) columns, through
  :func:`gis_town.io.ledger.read_ledger` with the header spellings of
  :data:`HEADER_ALIASES`.

:func:`load_problems` finds a town's problems (``[layers.problems] path``,
else a ``problems`` layer in the town's GeoPackage or folder), reads and
validates them; rows that cannot be used (no location, unknown kind, a date
that is not one) come back as rejects with the row and the reason.
"""

from __future__ import annotations

import html
import logging
import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.errors import LayerError
from gis_town.io.validate import PROBLEM_COLUMNS, validate_layer
from gis_town.io.values import parse_dates
from gis_town.schema import FIELD_LABELS, LAYERS

__all__ = [
    "HEADER_ALIASES",
    "KML_CRS",
    "load_problems",
    "problem_source",
    "read_problem_kml",
    "read_problems",
]

log = logging.getLogger(__name__)

#: Coordinates of a KML file (the KML standard: WGS84 lon/lat).
KML_CRS = "EPSG:4326"

#: Header / description key spellings (lower case) -> field of the problems layer.
HEADER_ALIASES: dict[str, str] = {
    "编号": "problem_id",
    "问题编号": "problem_id",
    "问题编码": "problem_id",
    "事件编号": "problem_id",
    "id": "problem_id",
    "问题类型": "kind",
    "类型": "kind",
    "问题类别": "kind",
    "四乱类型": "kind",
    "type": "kind",
    "河段": "segment_id",
    "河段编号": "segment_id",
    "河段编码": "segment_id",
    "所在河段": "segment_id",
    "上报日期": "reported_date",
    "发现日期": "reported_date",
    "发现时间": "reported_date",
    "上报时间": "reported_date",
    "交办日期": "reported_date",
    "上报人": "reported_by",
    "上报河长": "reported_by",
    "发现人": "reported_by",
    "巡河人": "reported_by",
    "河长": "reported_by",
    "reporter": "reported_by",
    "整改日期": "rectified_date",
    "整改完成日期": "rectified_date",
    "整改时间": "rectified_date",
    "销号日期": "rectified_date",
    "办结日期": "rectified_date",
    "照片": "photo",
    "照片路径": "photo",
    "现场照片": "photo",
    "图片": "photo",
    "备注": "note",
    "问题描述": "note",
    "描述": "note",
    "说明": "note",
}

_FIELDS = ("problem_id", "kind", "segment_id", "reported_date", "reported_by",
           "rectified_date", "photo", "note")
_DATES = ("reported_date", "rectified_date")


def _key_lookup() -> dict[str, str]:
    """Every spelling (lower case) of a problems field: the name, its Chinese label, the aliases."""
    schema = LAYERS["problems"]
    names = (schema.id_field, *schema.required, *schema.optional)
    out = {n.lower(): n for n in names}
    out.update({FIELD_LABELS[n].lower(): n for n in names if n in FIELD_LABELS})
    out.update(HEADER_ALIASES)
    return out


# --------------------------------------------------------------------------- KML


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _text(el) -> str | None:
    if el is None or el.text is None:
        return None
    t = el.text.strip()
    return t or None


def _child(el, name: str):
    return next((c for c in el if _local(c.tag) == name), None)


_BREAKS = re.compile(r"<\s*(br|/p|/tr|/div|/li)\s*/?\s*>", re.IGNORECASE)
_CELL = re.compile(r"<\s*/t[dh]\s*>\s*<\s*t[dh][^>]*>", re.IGNORECASE)
_TAGS = re.compile(r"<[^>]+>")


def description_pairs(text: str | None) -> dict[str, str]:
    """``key：value`` lines of a placemark description (plain text or HTML), keys as written.

    HTML line breaks, paragraphs and table rows end a line; a table's
    ``<td>key</td><td>value</td>`` is a pair. The first ``：`` or ``:`` of a line
    separates key and value, so ``上报日期: 2023-05-12 10:30`` keeps its time.
    """
    if not text:
        return {}
    t = _CELL.sub("：", _BREAKS.sub("\n", text))
    t = html.unescape(_TAGS.sub("", t))
    out: dict[str, str] = {}
    for line in t.splitlines():
        cut = [i for i in (line.find("："), line.find(":")) if i > 0]
        if not cut:
            continue
        i = min(cut)
        key, value = line[:i].strip(), line[i + 1:].strip()
        if key and value and key not in out:
            out[key] = value
    return out


def _extended_pairs(pm) -> dict[str, str]:
    """``Data`` / ``SimpleData`` name -> value of a placemark's ExtendedData."""
    out: dict[str, str] = {}
    for ext in (c for c in pm if _local(c.tag) == "ExtendedData"):
        for item in ext.iter():
            kind = _local(item.tag)
            if kind == "SimpleData":
                value = _text(item)
            elif kind == "Data":
                value = _text(next((c for c in item.iter() if _local(c.tag) == "value"), None))
            else:
                continue
            name = (item.get("name") or "").strip()
            if name and value:
                out.setdefault(name, value)
    return out


def _placemark_record(pm, lookup: dict[str, str]) -> dict:
    """One placemark as a record of the problems fields, with its lon/lat (NaN when it has no point)."""
    rec: dict = {f: None for f in _FIELDS}
    pairs = {**description_pairs(_text(_child(pm, "description"))), **_extended_pairs(pm)}
    for key, value in pairs.items():
        field = lookup.get(key.strip().lower())
        if field is not None and rec[field] is None:
            rec[field] = value
    if rec["problem_id"] is None:
        rec["problem_id"] = _text(_child(pm, "name"))
    stamp = next((e for e in pm.iter() if _local(e.tag) == "TimeStamp"), None)
    if rec["reported_date"] is None and stamp is not None:
        rec["reported_date"] = _text(_child(stamp, "when"))
    point = next((e for e in pm.iter() if _local(e.tag) == "Point"), None)
    coords = _text(next((e for e in point.iter() if _local(e.tag) == "coordinates"), None)) if point is not None else None
    lon = lat = np.nan
    if coords:
        parts = coords.split()[0].split(",")
        try:
            lon, lat = float(parts[0]), float(parts[1])
        except (IndexError, ValueError):
            pass
    rec["lon"], rec["lat"] = lon, lat
    return rec


def _reject(fid, row: int, field: str, reason: str) -> dict:
    return {"layer": "problems", "feature_id": fid, "row": int(row), "field": field,
            "action": "rejected", "reason": reason}


def read_problem_kml(path: str | Path) -> gpd.GeoDataFrame:
    """River problems from the placemarks of a KML / KMZ export (坐标 WGS84).

    Parameters
    ----------
    path : path
        ``.kml`` or ``.kmz``.

    Returns
    -------
    GeoDataFrame
        In :data:`KML_CRS`; the problems fields found (see :data:`HEADER_ALIASES`),
        dates parsed (2023-05-12, 2023年5月12日, 2023.5.12 ...), ``row`` (the
        placemark's number in the file) and ``attrs["rejects"]``: placemarks
        without a point or with a date that is not one, with the reason.

    Raises
    ------
    LayerError
        An empty, broken or unparseable file, or one without placemarks.
    """
    from gis_town.io.kml import _parse

    path = Path(path)
    root = _parse(path)
    lookup = _key_lookup()
    placemarks = [e for e in root.iter() if _local(e.tag) == "Placemark"]
    if not placemarks:
        raise LayerError("KML 中没有地标 / the KML has no placemarks (问题点)", path=str(path))
    df = pd.DataFrame([_placemark_record(pm, lookup) for pm in placemarks])
    df["row"] = np.arange(1, len(df) + 1)
    rejects = []
    for col in _DATES:
        parsed, bad = parse_dates(df[col])
        rejects += [
            _reject(df["problem_id"].iloc[i], df["row"].iloc[i], col,
                    f"无法解析日期 / cannot read the date {df[col].iloc[i]!r} (expected 2023-06-30 or 2023年6月30日)")
            for i in np.flatnonzero(bad)
        ]
        df[col] = parsed
    no_xy = ~(np.isfinite(df["lon"].to_numpy(float)) & np.isfinite(df["lat"].to_numpy(float)))
    rejects += [
        _reject(df["problem_id"].iloc[i], df["row"].iloc[i], "geometry",
                "没有位置 / no location: the placemark has no <Point> coordinates")
        for i in np.flatnonzero(no_xy)
    ]
    bad_rows = {r["row"] for r in rejects}
    keep = ~df["row"].isin(bad_rows).to_numpy()
    kept = df[keep].reset_index(drop=True)
    gdf = gpd.GeoDataFrame(
        kept.drop(columns=["lon", "lat"]),
        geometry=gpd.points_from_xy(kept["lon"], kept["lat"]),
        crs=KML_CRS,
    )
    gdf.attrs["rejects"] = pd.DataFrame(rejects, columns=PROBLEM_COLUMNS)
    gdf.attrs["source"] = str(path)
    log.info("KML 问题点 %s: %d placemarks, %d rejected", path, len(df), len(bad_rows))
    return gdf


# --------------------------------------------------------------------------- any source


def read_problems(
    path: str | Path,
    *,
    layer: str | None = None,
    config=None,
) -> gpd.GeoDataFrame:
    """Read river problems from a GeoPackage / Shapefile / GeoJSON layer, a KML / KMZ or an xlsx ledger.

    Parameters
    ----------
    path : path
        The file.
    layer : str, optional
        The layer in a multi-layer file (default ``problems`` for a GeoPackage
        holding one, else its only layer).
    config : TownConfig, optional
        Its ``[layers.problems]`` (``fields``, ``crs``, ``encoding``, ``sheet``) applies.

    Returns
    -------
    GeoDataFrame
        As read (not validated): see :func:`load_problems`. Rows the reader
        could not use are in ``attrs["rejects"]``.
    """
    from gis_town.io.read import apply_field_map, list_layers, read_layer

    path = Path(path)
    src = config.layers.get("problems") if config is not None else None
    fields = dict(src.fields) if src is not None else {}
    suffix = path.suffix.lower()
    if suffix in (".kml", ".kmz"):
        gdf = read_problem_kml(path)
        return apply_field_map(gdf, fields=fields, defaults=src.defaults if src else None)
    if suffix in (".xlsx", ".xlsm"):
        from gis_town.io.ledger import read_ledger

        aliases = {k: v for k, v in HEADER_ALIASES.items() if k not in ("id", "type")}
        gdf = read_ledger(path, layer="problems", sheet=src.sheet if src else None,
                          crs=src.crs if src else None, fields={**aliases, **fields})
        return gdf
    if layer is None and suffix == ".gpkg":
        names = [n for n, _ in list_layers(path)]
        layer = "problems" if "problems" in names or len(names) != 1 else names[0]
    opts = {}
    if src is not None:
        opts = {"encoding": src.encoding, "crs": src.crs, "fields": src.fields,
                "defaults": src.defaults, "where": src.where}
    return _known_headers(read_layer(path, layer, schema_layer="problems", **opts))


def _known_headers(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Chinese or other known column names (问题编号, 问题类型, 上报日期 ...) renamed to the fields.

    A column is renamed only when the field is not there already, so a
    ``[layers.problems] fields`` mapping always wins.
    """
    lookup = _key_lookup()
    rename: dict[str, str] = {}
    for c in gdf.columns:
        if c == gdf.geometry.name:
            continue
        f = lookup.get(str(c).strip().lower())
        if f is not None and f != c and f not in gdf.columns and f not in rename.values():
            rename[c] = f
    return gdf.rename(columns=rename) if rename else gdf


def problem_source(town_path: Path | None, config) -> tuple[Path | None, str | None]:
    """Where a town's problems are: ``[layers.problems] path`` (and ``layer``), else the town's own.

    Returns ``(None, None)`` when the town has none: a ``problems`` layer in
    its GeoPackage, or a ``problems.gpkg/.kml/.xlsx/...`` file in its folder.
    """
    from gis_town.io.read import list_layers

    src = config.layers.get("problems")
    if src is not None and src.path:
        return config.resolve(src.path), src.layer
    if town_path is None:
        return None, None
    town_path = Path(town_path)
    if town_path.is_dir():
        for suf in (".gpkg", ".shp", ".geojson", ".kml", ".kmz", ".xlsx"):
            cand = town_path / f"problems{suf}"
            if cand.exists():
                return cand, None
        return None, None
    if town_path.suffix.lower() == ".gpkg" and town_path.is_file():
        name = src.layer if src is not None and src.layer else "problems"
        if name in {n for n, _ in list_layers(town_path)}:
            return town_path, name
    return None, None


def load_problems(
    town_path: str | Path | None,
    config,
    *,
    path: str | Path | None = None,
) -> tuple[gpd.GeoDataFrame | None, pd.DataFrame, dict | None]:
    """A town's river problems, read and validated.

    Parameters
    ----------
    town_path : path or None
        The town GeoPackage or folder (for :func:`problem_source`).
    config : TownConfig
    path : path, optional
        A problems file instead of the town's (GeoPackage, KML/KMZ, xlsx).

    Returns
    -------
    (GeoDataFrame or None, DataFrame, dict or None)
        The usable problems (None when the town has none), the rejected rows
        (:data:`~gis_town.io.validate.PROBLEM_COLUMNS`: no location, unknown
        kind, unreadable date, missing or duplicate id) and the layer's counts
        row (``layer``, ``read``, ``used``, ``repaired``, ``rejected``).
        A configured file that does not exist is warned about and skipped; a
        ``path`` that does not exist raises :class:`~gis_town.errors.LayerError`.
    """
    layer = None
    if path is not None and not Path(path).exists():
        raise LayerError("问题文件不存在 / the problems file does not exist: check the path", path=str(path))
    if path is None:
        path, layer = problem_source(Path(town_path) if town_path is not None else None, config)
    if path is None:
        return None, pd.DataFrame(columns=PROBLEM_COLUMNS), None
    path = Path(path)
    if not path.exists():
        log.warning("问题图层文件不存在 / the problems file %s does not exist: no river problems in this run", path)
        return None, pd.DataFrame(columns=PROBLEM_COLUMNS), None
    gdf = read_problems(path, layer=layer, config=config)
    reader_rejects = gdf.attrs.get("rejects")
    used, prob = validate_layer(gdf, "problems", path=str(path))
    if "row" in gdf.columns and len(prob):  # ledger and KML rows: the number a clerk looks up
        prob = prob.assign(row=gdf["row"].to_numpy()[prob["row"].to_numpy(dtype=int)])
    if reader_rejects is not None and len(reader_rejects):
        prob = pd.concat([reader_rejects, prob] if len(prob) else [reader_rejects], ignore_index=True)
    n_read = len(gdf) + (0 if reader_rejects is None else len(reader_rejects))
    counts = {"layer": "problems", "read": n_read, "used": len(used),
              "repaired": int((prob["action"] == "repaired").sum()) if len(prob) else 0,
              "rejected": n_read - len(used)}
    used.attrs["source"] = str(path)
    return used, prob.reset_index(drop=True), counts
