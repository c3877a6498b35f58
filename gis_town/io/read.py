"""Reading layers from GeoPackage, Shapefile (GBK or UTF-8, with or without .cpg),
GeoJSON, GeoParquet, and patrol points from CSV and GPX.

Thin and predictable, like pyogrio: one function, keyword-only options, errors
that say what was expected and what was found.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pyogrio.raw
import shapely
from shapely.errors import ShapelyError

from gis_town import settings
from gis_town.errors import CRSError, LayerError
from gis_town.io.geometry import REJECTED, REPAIRED, GeometryNotes, curved_rows, sanitize_geometries
from gis_town.schema import TLS_FIELD_MAP

__all__ = ["decode_wkb", "detect_encoding", "list_layers", "read_layer"]

log = logging.getLogger(__name__)

_CPG_ALIASES = {
    "936": "gbk", "cp936": "gbk", "gbk": "gbk", "gb2312": "gbk", "gb18030": "gb18030",
    "65001": "utf-8", "utf-8": "utf-8", "utf8": "utf-8", "ansi 936": "gbk",
}
#: dBASE language-driver ids that name a code page
_LDID = {0x4D: "gbk", 0x7A: "gbk", 0x57: None, 0x00: None}


def _dbf_of(path: Path) -> Path | None:
    for suf in (".dbf", ".DBF"):
        p = path.with_suffix(suf)
        if p.exists():
            return p
    return None


def detect_encoding(path: str | Path) -> str | None:
    """Detect the text encoding of a shapefile's attributes.

    Order: the ``.cpg`` file; the dBASE header's language-driver byte (0x4D =
    GBK); then the bytes themselves: strict UTF-8 decoding, else GBK (Chinese
    GIS software's default). Returns None for formats that carry their
    encoding (GeoPackage, GeoJSON: UTF-8).
    """
    path = Path(path)
    if path.suffix.lower() not in (".shp", ".dbf"):
        return None
    for suf in (".cpg", ".CPG"):
        cpg = path.with_suffix(suf)
        if cpg.exists():
            name = cpg.read_text(encoding="ascii", errors="ignore").strip().lower()
            if name:
                return _CPG_ALIASES.get(name, name)
    dbf = _dbf_of(path)
    if dbf is None:
        return None
    with open(dbf, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            return None
        ldid = head[29]
        header_len = int.from_bytes(head[8:10], "little")
        fh.seek(header_len)
        body = fh.read(2_000_000)
    if _LDID.get(ldid):
        return _LDID[ldid]
    if all(b < 0x80 for b in body):
        return "utf-8"
    try:
        body.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError as exc:
        # a cut multi-byte character at the end of the sample is not an error
        if exc.start >= len(body) - 3:
            return "utf-8"
    try:
        body.decode(settings.CHINESE_LEGACY_ENCODING)
        return settings.CHINESE_LEGACY_ENCODING
    except UnicodeDecodeError:
        return "gb18030"


def check_shapefile_complete(path: str | Path) -> None:
    """Raise :class:`LayerError` when a shapefile's .shp or .dbf is shorter than its headers say.

    GDAL reads a cut-short shapefile without complaint, giving null geometries
    or missing rows; the sizes in the ``.shx`` index and the ``.dbf`` header
    tell how long the files must be.
    """
    path = Path(path)
    shx = next((path.with_suffix(s) for s in (".shx", ".SHX") if path.with_suffix(s).exists()), None)
    if shx is not None and path.exists():
        index = shx.read_bytes()
        if len(index) >= 108:
            last = index[-8:]
            offset_words = int.from_bytes(last[:4], "big")
            length_words = int.from_bytes(last[4:], "big")
            need = (offset_words + 4 + length_words) * 2
            have = path.stat().st_size
            if have < need:
                raise LayerError(
                    f"Shapefile 不完整（被截断）/ the .shp file is truncated: {have} bytes, its index needs "
                    f"{need}; copy all of its files (.shp .shx .dbf .prj .cpg) again",
                    path=str(path),
                )
    dbf = _dbf_of(path)
    if dbf is not None:
        with open(dbf, "rb") as fh:
            head = fh.read(12)
        if len(head) == 12:
            n = int.from_bytes(head[4:8], "little")
            header_len = int.from_bytes(head[8:10], "little")
            rec_len = int.from_bytes(head[10:12], "little")
            need = header_len + n * rec_len
            have = dbf.stat().st_size
            if have < need:
                raise LayerError(
                    f"属性表 .dbf 不完整（被截断）/ the .dbf file is truncated: {have} bytes, its header "
                    f"needs {need} for {n} records; copy it again",
                    path=str(dbf),
                )


def list_layers(path: str | Path) -> list[tuple[str, str]]:
    """Return ``(layer name, geometry type)`` for every layer in a vector file."""
    path = _existing(path)
    if path.suffix.lower() in (".parquet", ".geoparquet"):
        return [(path.stem, "?")]
    if path.suffix.lower() in (".csv", ".gpx"):
        return [(path.stem, "Point")]
    try:
        return [(str(n), str(g)) for n, g in pyogrio.list_layers(path)]
    except Exception as exc:
        raise LayerError(_unreadable(exc), path=str(path)) from None


#: What a reader can open, named when a file is not one of them.
READABLE_FORMATS = (
    "GeoPackage (.gpkg), File Geodatabase (.gdb), Shapefile (.shp), GeoJSON, KML/KMZ, GPX, "
    "GeoParquet, CSV/Excel with lon/lat columns"
)


def _unreadable(exc: Exception) -> str:
    """The message for a file GDAL cannot open: the format not recognised, or the file corrupt."""
    text = str(exc)
    if "not recognized as being in a supported file format" in text or "not recognised" in text:
        return (f"不是可识别的空间数据格式 / not a spatial data format GDAL recognises: expected {READABLE_FORMATS}; "
                "if it is one of them under another extension, rename it (e.g. .txt → .csv)")
    return f"无法读取文件（损坏或格式不支持）/ cannot read the file (corrupt or unsupported): {text.split('; It might help')[0]}"


def _existing(path: str | Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise LayerError("文件不存在 / file not found: check the path", path=str(path))
    return path


def read_layer(
    path: str | Path,
    layer: str | None = None,
    *,
    encoding: str | None = None,
    crs: str | None = None,
    fields: dict[str, str] | None = None,
    defaults: dict[str, Any] | None = None,
    mapping: str | None = None,
    where: str | None = None,
    sheet: str | int | None = None,
    schema_layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read one layer into a GeoDataFrame, with readable Chinese text.

    Parameters
    ----------
    path : path
        GeoPackage, Shapefile, GeoJSON, GeoParquet (``.parquet``), or patrol
        points as CSV (lon, lat, time) or GPX.
    layer : str, optional
        Layer name inside a multi-layer file.
    encoding : str, optional
        Attribute encoding; detected for shapefiles when omitted
        (:func:`detect_encoding`), so GBK files without ``.cpg`` read correctly.
    crs : str, optional
        The CRS of the data when the file has none (or has a wrong one).
    fields : dict, optional
        Source column -> schema field (e.g. ``{"地块编码": "parcel_id"}``).
    defaults : dict, optional
        Schema field -> value for fields the source lacks.
    mapping : {"tls"}, optional
        A ready field mapping ("tls": third land survey DLTB layers).
    where : str, optional
        Attribute filter (SQL WHERE) of the features to read, e.g.
        ``"DLBM LIKE '01%'"`` (GDAL formats only).
    sheet : str or int, optional
        The sheet of an Excel ledger (default: the first).
    schema_layer : str, optional
        The town layer being read: an Excel ledger (``.xlsx``) needs it to
        recognise its headers (:func:`gis_town.io.ledger.read_ledger`).

    Raises
    ------
    LayerError
        Missing, unreadable or corrupt file; unknown layer.

    Notes
    -----
    Geometries are cleaned as they are read (:mod:`gis_town.io.geometry`):
    curves linearised, Z/M dropped, empty rings and parts removed, repeated
    points dropped; a geometry that cannot be decoded, has NaN/inf
    coordinates or a ring under 4 points becomes None. What was done is kept
    per feature in ``gdf.attrs["geometry_fixes"]`` (index, action, reason);
    :func:`gis_town.io.validate.validate_layer` reports it.
    """
    path = _existing(path)
    suffix = path.suffix.lower()
    if suffix in (".csv", ".gpx", ".txt", ".kml", ".kmz") and not (
        suffix in (".kml", ".kmz") and schema_layer not in (None, "patrols")
    ):
        from gis_town.io.tracks import read_tracks

        gdf = read_tracks(path, crs=crs, encoding=encoding)
    elif suffix in (".xlsx", ".xlsm"):
        from gis_town.io.ledger import read_ledger

        if schema_layer is None:
            raise LayerError(
                "Excel 台账须指明图层 / an Excel ledger is read as a town layer: name it in the town "
                "config ([layers.resettlement] path = \"台账.xlsx\")",
                path=str(path),
            )
        gdf = read_ledger(path, layer=schema_layer, sheet=sheet, crs=crs, fields=fields)
        crs = None  # the ledger's coordinates are already in it
    elif suffix in (".parquet", ".geoparquet"):
        try:
            gdf = gpd.read_parquet(path)
        except _DECODE_ERRORS:
            gdf = _read_parquet_tolerant(path)
        except Exception as exc:
            raise LayerError(f"无法读取 GeoParquet / cannot read GeoParquet: {exc}", path=str(path)) from None
    else:
        if layer is not None:
            names = [n for n, _ in list_layers(path)]
            if layer not in names:
                raise LayerError(
                    f"文件中没有此图层 / no such layer; the file has: {', '.join(names) or '(none)'}",
                    path=str(path), layer=layer,
                )
        if suffix == ".shp":
            check_shapefile_complete(path)
        enc = encoding or detect_encoding(path)
        kwargs: dict[str, Any] = {"layer": layer}
        if where:
            kwargs["where"] = where
        if enc:
            kwargs["encoding"] = enc
        gdf = _read_ogr(path, layer, enc, kwargs)
        gdf = _linearise_nested_curves(gdf, path, kwargs)
        if enc:
            gdf.attrs["encoding"] = enc
    if crs is not None:
        if gdf.crs is not None and not gdf.crs.equals(crs):
            log.warning("%s: 配置的坐标系 %s 取代文件的 %s / config CRS overrides the file's", path, crs, gdf.crs)
        try:
            gdf = gdf.set_crs(crs, allow_override=True)
        except Exception as exc:
            raise CRSError(f"无效的坐标系 / invalid CRS {crs!r}: {exc}", path=str(path), layer=layer) from None
    gdf = _sanitize(gdf)
    gdf = apply_field_map(gdf, fields=fields, defaults=defaults, mapping=mapping)
    gdf.attrs["source"] = str(path)
    if layer:
        gdf.attrs["source_layer"] = layer
    return gdf


#: What shapely raises for a geometry it cannot decode (curves: NotImplementedError).
_DECODE_ERRORS = (NotImplementedError, ShapelyError)


def _read_ogr(path: Path, layer: str | None, enc: str | None, kwargs: dict[str, Any]) -> gpd.GeoDataFrame:
    """Read through GDAL: Arrow first, then GDAL's own reader; tolerant of undecodable geometries."""
    try:
        return pyogrio.read_dataframe(path, use_arrow=True, **kwargs)
    except _DECODE_ERRORS:
        return _read_tolerant(path, kwargs)
    except Exception as exc:
        try:  # some drivers/encodings are not supported through Arrow
            return pyogrio.read_dataframe(path, **kwargs)
        except _DECODE_ERRORS:
            return _read_tolerant(path, kwargs)
        except UnicodeDecodeError:
            return _read_lenient(path, layer, enc or "utf-8")
        except Exception:
            raise LayerError(
                f"无法读取（文件损坏或格式不支持）/ cannot read (corrupt or unsupported file): {exc}",
                path=str(path), layer=layer,
            ) from None


def _read_tolerant(path: Path, kwargs: dict[str, Any]) -> gpd.GeoDataFrame:
    """Read a layer with geometries shapely cannot decode as they are (curves, broken rings).

    The attributes are read as usual; the geometries through GDAL's own reader,
    which linearises curves; each geometry is then decoded alone, so one broken
    ring costs one feature, not the layer. What was done goes to
    ``attrs["geometry_fixes"]``.
    """
    try:
        attrs = pyogrio.read_dataframe(path, read_geometry=False, use_arrow=True, **kwargs)
    except Exception:
        attrs = pyogrio.read_dataframe(path, read_geometry=False, **kwargs)
    meta, _fids, linear, _fields = pyogrio.raw.read(path, columns=[], **kwargs)
    try:
        _meta, table = pyogrio.raw.read_arrow(path, columns=[], **kwargs)
        original = table.column(table.num_columns - 1).to_numpy(zero_copy_only=False)
    except Exception:
        original = linear
    geoms, notes = decode_wkb(linear, original)
    gdf = gpd.GeoDataFrame(pd.DataFrame(attrs), geometry=gpd.GeoSeries(geoms, index=attrs.index), crs=meta.get("crs"))
    gdf.attrs["geometry_fixes"] = notes.frame(gdf.index)
    log.warning("%s: 部分几何无法按原样解读，已逐个处理 / some geometries could not be decoded as they are; "
                "decoded one by one (%d linearised, repaired or rejected)", path, len(notes.reasons))
    return gdf


def decode_wkb(wkb: np.ndarray, original: np.ndarray | None = None) -> tuple[np.ndarray, GeometryNotes]:
    """Decode WKB one feature at a time where the whole array cannot be.

    Parameters
    ----------
    wkb : ndarray of bytes or None
        The geometries to decode (curves already linearised, as GDAL gives them).
    original : ndarray of bytes or None, optional
        The geometries as stored: a feature whose bytes differ from ``wkb`` and
        cannot be decoded as stored was a curve, linearised.

    Returns
    -------
    geoms : ndarray of object
        Geometries; None where they cannot be decoded.
    notes : GeometryNotes
        ``repaired`` (curve linearised, unclosed ring closed) or ``rejected``
        (undecodable, with GEOS's message) per feature.
    """
    wkb = np.asarray(wkb, dtype=object)
    notes = GeometryNotes(len(wkb))
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    if original is not None and len(original) == len(wkb):
        for i in np.flatnonzero(np.array([a != b for a, b in zip(original, wkb)], dtype=bool)):
            try:
                shapely.from_wkb(original[i])
            except NotImplementedError:
                notes.add(np.array([i]), REPAIRED, "曲线已线性化 / curve geometry linearised (by GDAL)")
            except ShapelyError:
                pass
    for i in np.flatnonzero(shapely.is_missing(geoms) & pd.notna(pd.Series(wkb)).to_numpy()):
        try:
            shapely.from_wkb(wkb[i])
            continue
        except (ShapelyError, NotImplementedError) as exc:
            why = str(exc)
        fixed = shapely.from_wkb(wkb[i], on_invalid="fix")
        if fixed is not None and not fixed.is_empty:
            geoms[i] = fixed
            notes.add(np.array([i]), REPAIRED, f"几何结构已修正（未闭合的环已闭合）/ geometry structure fixed, unclosed ring closed (GEOS: {why})")
        else:
            notes.add(np.array([i]), REJECTED, f"几何无法解读 / geometry cannot be decoded (GEOS: {why})")
    return geoms, notes


def _read_parquet_tolerant(path: Path) -> gpd.GeoDataFrame:
    """GeoParquet (WKB) whose geometries cannot all be decoded: one feature at a time."""
    import json

    import pyarrow.parquet as pq

    table = pq.read_table(path)
    geo = json.loads((table.schema.metadata or {}).get(b"geo", b"{}"))
    col = geo.get("primary_column", "geometry")
    if col not in table.column_names or geo.get("columns", {}).get(col, {}).get("encoding", "WKB") != "WKB":
        raise LayerError("无法读取 GeoParquet 的几何 / cannot decode the GeoParquet geometry column", path=str(path))
    wkb = table.column(col).to_numpy(zero_copy_only=False)
    geoms, notes = decode_wkb(wkb)
    crs = geo["columns"][col].get("crs", "OGC:CRS84")
    df = table.drop([col]).to_pandas()
    gdf = gpd.GeoDataFrame(df, geometry=gpd.GeoSeries(geoms, index=df.index), crs=crs)
    gdf.attrs["geometry_fixes"] = notes.frame(gdf.index)
    return gdf


def _linearise_nested_curves(gdf: gpd.GeoDataFrame, path: Path, kwargs: dict[str, Any]) -> gpd.GeoDataFrame:
    """Curves inside GeometryCollections: read those features again through Fiona, which linearises them.

    GDAL's Arrow and raw readers pass a collection's curves through, and
    shapely cannot use them; Fiona asks GDAL for the linear geometry.
    """
    curved = curved_rows(np.asarray(gdf.geometry.values, dtype=object))
    if not curved.any():
        return gdf
    import fiona
    from shapely.geometry import shape

    _meta, fids, *_ = pyogrio.raw.read(path, columns=[], read_geometry=False, return_fids=True, **kwargs)
    geoms = np.asarray(gdf.geometry.values, dtype=object).copy()
    notes = GeometryNotes(len(gdf))
    with fiona.open(path, layer=kwargs.get("layer")) as src:
        for i in np.flatnonzero(curved):
            try:
                geoms[i] = shape(src[int(fids[i])].geometry)
                notes.add(np.array([i]), REPAIRED, "曲线已线性化 / curve geometry linearised (by GDAL)")
            except Exception as exc:
                geoms[i] = None
                notes.add(np.array([i]), REJECTED, f"曲线几何无法线性化 / curved geometry cannot be linearised ({exc})")
    gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs), crs=gdf.crs)
    new = notes.frame(gdf.index)
    old = gdf.attrs.get("geometry_fixes")
    gdf.attrs["geometry_fixes"] = _merge_fixes(old, new) if old is not None and len(old) else new
    return gdf


def _sanitize(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Run the geometry clean-up (:func:`sanitize_geometries`); note what it did in ``attrs``."""
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf._geometry_column_name not in gdf.columns:
        return gdf
    arr, notes = sanitize_geometries(gdf.geometry.values)
    if not notes.reasons:
        return gdf
    gdf = gdf.set_geometry(gpd.GeoSeries(arr, index=gdf.index, crs=gdf.crs), crs=gdf.crs)
    new = notes.frame(gdf.index)
    old = gdf.attrs.get("geometry_fixes")
    if old is not None and len(old):
        new = _merge_fixes(old, new)
    gdf.attrs["geometry_fixes"] = new
    return gdf


def _merge_fixes(first: pd.DataFrame, then: pd.DataFrame) -> pd.DataFrame:
    """One row per feature: reasons joined, rejected wins over repaired."""
    both = pd.concat([first, then], ignore_index=True)
    both["_rej"] = both["action"] == REJECTED
    out = both.groupby("index", sort=True).agg(
        action=("_rej", lambda r: REJECTED if r.any() else REPAIRED), reason=("reason", "；".join)
    ).reset_index()
    return out[["index", "action", "reason"]]


def _read_lenient(path: Path, layer: str | None, encoding: str) -> gpd.GeoDataFrame:
    """Read with byte-transparent latin-1, then decode text with ``encoding``, replacing bad bytes.

    Shapefile writers cut long Chinese field names at 10 bytes, sometimes in
    the middle of a character; GDAL then cannot decode the header at all.
    """
    gdf = pyogrio.read_dataframe(path, layer=layer, encoding="ISO-8859-1")

    def fix(v):
        return v.encode("latin-1").decode(encoding, errors="replace") if isinstance(v, str) else v

    gdf = gdf.rename(columns={c: fix(c) for c in gdf.columns if c != gdf.geometry.name})
    for col in gdf.columns:
        if col != gdf.geometry.name and (gdf[col].dtype == object or pd.api.types.is_string_dtype(gdf[col])):
            gdf[col] = gdf[col].map(fix)
    log.warning("%s: 部分文本无法按 %s 解码，已替换 / some text could not be decoded as %s and was replaced", path, encoding, encoding)
    return gdf


def apply_field_map(
    gdf: gpd.GeoDataFrame,
    *,
    fields: dict[str, str] | None = None,
    defaults: dict[str, Any] | None = None,
    mapping: str | None = None,
) -> gpd.GeoDataFrame:
    """Rename source columns to schema fields and fill defaults (see :func:`read_layer`)."""
    rename: dict[str, str] = {}
    if mapping == "tls":
        rename.update({k: v for k, v in TLS_FIELD_MAP.items() if k in gdf.columns})
    if fields:
        rename.update({k: v for k, v in fields.items() if k in gdf.columns})
    if rename:
        gdf = gdf.rename(columns=rename)
    if mapping == "tls" and "declared_area_m2" in gdf.columns and "declared_area_mu" not in gdf.columns:
        gdf["declared_area_mu"] = pd.to_numeric(gdf["declared_area_m2"], errors="coerce") * settings.MU_PER_M2
    for key, value in (defaults or {}).items():
        if key not in gdf.columns:
            gdf[key] = value
    return gdf
