"""Atomic, Excel-safe, exchange-friendly outputs.

Every output is written beside its target under a temporary name and renamed
into place (:func:`atomic_path`), so an interrupted run leaves the old file or
the new one, never half a file. CSV files are UTF-8 with a BOM (Excel opens
Chinese text correctly) and cells that Excel would run as a formula
(starting with ``=``, ``+``, ``-``, ``@``, tab or CR) are written as text.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town import settings
from gis_town.errors import InputError, OutputError

__all__ = [
    "COUNT_UNITS",
    "atomic_path",
    "count_rows",
    "excel_safe",
    "is_measure",
    "safe_output_path",
    "write_csv",
    "write_gpkg_layers",
    "write_text",
    "write_vector",
    "write_xlsx",
]

log = logging.getLogger(__name__)

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Rows of an Excel worksheet (xlsx): longer tables are cut, with a note (the CSV has them all).
XLSX_MAX_ROWS = 1_048_576
_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".prj", ".cpg")


def safe_output_path(out_dir: str | Path, name: str) -> Path:
    """Join ``name`` to ``out_dir`` and refuse anything that escapes it.

    Names that come from config or data (a village name used as a file name)
    cannot write outside the output folder: ``..``, absolute paths and drive
    letters raise :class:`~gis_town.errors.InputError`.
    """
    base = Path(out_dir).resolve()
    target = (base / name).resolve()
    if target != base and base not in target.parents:
        raise InputError(
            f"输出文件名越出输出目录 / output name {name!r} would write outside the output folder {base}",
        )
    return target


@contextlib.contextmanager
def atomic_path(path: str | Path, *, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` when the block succeeds.

    On error the temporary file is removed and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    suffix = path.suffix if suffix is None else suffix
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{suffix}", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # let the writer create it (GDAL refuses to overwrite some formats)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, path)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def excel_safe(value: object) -> object:
    """Return ``value`` with a leading apostrophe if Excel would run it as a formula."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _excel_safe_frame(df: pd.DataFrame) -> pd.DataFrame:
    """:func:`excel_safe` on every text cell; vectorised (a county's check has 13M rows)."""
    out = df.copy()
    for col in out.columns:
        s = out[col]
        if isinstance(s.dtype, pd.CategoricalDtype):
            cats = list(s.cat.categories)
            safe = [excel_safe(c) for c in cats]
            if safe != cats:
                try:
                    out[col] = s.cat.rename_categories(safe)
                except ValueError:  # a renamed category collides with another: plain text
                    out[col] = s.astype(object).map(excel_safe)
        elif pd.api.types.is_string_dtype(s) and s.dtype != object:
            risky = s.str.startswith(_FORMULA_START).fillna(False).to_numpy(dtype=bool)
            if risky.any():
                s = s.copy()
                s[risky] = "'" + s[risky]
                out[col] = s
        elif s.dtype == object:
            out[col] = s.map(excel_safe)
    out.columns = [excel_safe(str(c)) for c in out.columns]
    return out


def write_csv(df: pd.DataFrame, path: str | Path, *, index: bool = False) -> Path:
    """Write ``df`` as UTF-8-with-BOM CSV, formula-safe, atomically. Geometry columns are dropped."""
    path = Path(path)
    frame = pd.DataFrame(df.drop(columns=df.geometry.name)) if isinstance(df, gpd.GeoDataFrame) else df
    frame = _excel_safe_frame(frame)
    try:
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=index, encoding="utf-8-sig", lineterminator="\r\n")
    except OSError as exc:
        raise OutputError(f"无法写出 / cannot write: {exc}", path=str(path)) from exc
    log.info("写出 wrote %s (%d rows)", path, len(frame))
    return path


def write_text(text: str, path: str | Path, *, encoding: str = "utf-8") -> Path:
    """Write text atomically."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding=encoding)
    except OSError as exc:
        raise OutputError(f"无法写出 / cannot write: {exc}", path=str(path)) from exc
    return path


def write_xlsx(
    sheets: Mapping[str, pd.DataFrame],
    path: str | Path,
    *,
    highlight: Mapping[str, pd.Series] | None = None,
    titles: Mapping[str, str] | None = None,
    footer_lines: Mapping[str, list[str]] | None = None,
) -> Path:
    """Write several tables to one xlsx workbook, atomically.

    Headers are bold, columns sized to their content, numbers formatted with
    two decimals, strings written as text (never formulas).

    Parameters
    ----------
    sheets : mapping of sheet name -> DataFrame
        Sheet names are cut to Excel's 31 characters.
    highlight : mapping of sheet name -> boolean Series, optional
        Rows to highlight (e.g. behind schedule) in light red.
    titles : mapping of sheet name -> str, optional
        A title line written above the table.
    footer_lines : mapping of sheet name -> list of str, optional
        Lines written below the table (e.g. sign-off lines 检查人/审核人/日期).
    """
    import xlsxwriter

    path = Path(path)
    highlight = highlight or {}
    titles = titles or {}
    footer_lines = footer_lines or {}
    try:
        with atomic_path(path) as tmp:
            # constant memory: rows are written out in order (a county's sheet has a million)
            wb = xlsxwriter.Workbook(
                str(tmp),
                {
                    "constant_memory": True,
                    "strings_to_formulas": False,
                    "strings_to_urls": False,
                    "strings_to_numbers": False,
                },
            )
            fmt = _formats(wb)
            for name, df in sheets.items():
                frame = (
                    pd.DataFrame(df.drop(columns=df.geometry.name))
                    if isinstance(df, gpd.GeoDataFrame)
                    else df
                )
                _write_sheet(
                    wb.add_worksheet(name[:31]),
                    frame.reset_index(drop=True),
                    fmt,
                    path_name=path.name,
                    title=titles.get(name),
                    footer=list(footer_lines.get(name, [])),
                    highlight=highlight.get(name),
                )
            wb.close()
    except OSError as exc:
        raise OutputError(f"无法写出 / cannot write: {exc}", path=str(path)) from exc
    log.info("写出 wrote %s", path)
    return path


#: Number formats of the kinds of column (:func:`_excel_kind`); each also has a highlighted variant.
XLSX_NUMBER_FORMATS: dict[str, str] = {
    "num": "#,##0.00",
    "int": "#,##0",
    "pct": '0.00"%"',  # a percentage already x 100 (share_pct = 81.25)
    "share": "0.0%",  # a share of 1 (0.8125 shows 81.3%)
    "coord": "0.000000",  # degrees: six decimals (about 0.1 m)
    "datetime": "yyyy-mm-dd hh:mm",
    "date": "yyyy-mm-dd",
    "text": "@",
}
_HIGHLIGHT = "#F8CBAD"


def _formats(wb) -> dict:
    fmt = {
        "head": wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}),
        "title": wb.add_format({"bold": True, "font_size": 14}),
    }
    for kind, number in XLSX_NUMBER_FORMATS.items():
        fmt[kind] = wb.add_format({"num_format": number})
        fmt[kind + "_red"] = wb.add_format({"num_format": number, "bg_color": _HIGHLIGHT})
    return fmt


#: Rows converted to Python values at a time when writing a sheet.
_XLSX_BLOCK = 20_000


def _write_sheet(ws, frame: pd.DataFrame, fmt: dict, *, path_name: str, title, footer, highlight):
    """One worksheet, row after row: title, header, data (highlighted rows red), footer."""
    start = 2 if title else 0
    fit = XLSX_MAX_ROWS - (start + 1) - (len(footer) + 3)
    if len(frame) > fit:
        log.warning(
            "%s: 表格过长，只写前 %d 行 / sheet %r: %d rows do not fit in Excel, "
            "the first %d written (every row is in the CSV)",
            path_name,
            fit,
            ws.name,
            len(frame),
            fit,
        )
        footer.insert(
            0,
            f"仅列出前 {fit:,} 行（共 {len(frame):,} 行，Excel 每表最多 {XLSX_MAX_ROWS:,} 行），"
            f"全部见同名 CSV / the first {fit:,} of {len(frame):,} rows (an Excel sheet "
            "holds at most 1,048,576): every row is in the CSV",
        )
        frame = frame.iloc[:fit]
    kinds = [_excel_kind(frame[c], str(c)) for c in frame.columns]
    frame = _as_cells(frame, kinds)
    counted = count_rows(frame)  # rows whose unit is a count: their numbers shown as integers
    as_count = [k == "num" and not is_measure(str(c)) for c, k in zip(frame.columns, kinds)]
    for j, col in enumerate(frame.columns):
        width = max([len(str(col))] + [len(str(v)) for v in frame[col].head(500)]) + 2
        ws.set_column(j, j, min(max(width * 1.2, 8), 60), fmt[kinds[j]])
    if title:
        ws.write_string(0, 0, title, fmt["title"])
    ws.write_row(start, 0, [str(c) for c in frame.columns], fmt["head"])
    red = (
        np.asarray(highlight, dtype=bool)[: len(frame)]
        if highlight is not None
        else np.zeros(len(frame), dtype=bool)
    )
    red_fmt = [fmt[k + "_red"] for k in kinds]
    for lo in range(0, len(frame), _XLSX_BLOCK):
        block = frame.iloc[lo : lo + _XLSX_BLOCK]
        columns = [[_excel_value(v) for v in block[c].astype(object)] for c in block.columns]
        for i, values in enumerate(zip(*columns)):
            r, red_row = start + 1 + lo + i, red[lo + i]
            if red_row:  # highlighted: every cell keeps its column's number format
                for j, v in enumerate(values):
                    if v is None:
                        ws.write_blank(r, j, None, red_fmt[j])
                    else:
                        ws.write(r, j, v, red_fmt[j])
            else:
                ws.write_row(r, 0, values)
            if counted[lo + i]:  # 户, 株, 个 ...: the row's numbers are counts
                for j in (j for j, v in enumerate(values) if as_count[j] and isinstance(v, (int, float))):
                    ws.write_number(r, j, values[j], fmt["int_red" if red_row else "int"])
    ws.freeze_panes(start + 1, 0)
    if len(frame.columns):
        ws.autofilter(start, 0, start + len(frame), len(frame.columns) - 1)
    for k, line in enumerate(footer):
        ws.write_string(start + len(frame) + 2 + k, 0, line)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
#: Units of counts (a row whose ``unit`` starts with one shows its numbers as integers).
COUNT_UNITS: tuple[str, ...] = ("户", "株", "个", "座", "家", "人", "次", "处", "条", "趟", "households", "trees")


def is_measure(name: str) -> bool:
    """Whether the column ``name`` (``中文 english`` or english) holds a measure shown with two
    decimals whatever its values (areas, lengths, money, scores; :data:`_MEASURE`)."""
    return bool(_MEASURE.search(_english(name)))


def count_rows(frame: pd.DataFrame) -> np.ndarray:
    """Rows of ``frame`` whose unit column (``unit`` / ``单位 unit``) names a count (:data:`COUNT_UNITS`).

    A table mixing units in one column (trees, mu and households in the
    progress summary's ``done``) shows each count as an integer and each
    measure with two decimals.
    """
    unit = next((c for c in frame.columns if _english(str(c)).lower() == "unit"), None)
    if unit is None:
        return np.zeros(len(frame), dtype=bool)
    text = frame[unit].astype("string").fillna("").str.strip()
    return text.str.startswith(COUNT_UNITS).to_numpy(dtype=bool)
#: Float columns that hold measures (two decimals) whatever their values: areas, lengths, money, scores.
_MEASURE = re.compile(r"(area|_mu|_ha|_m2|_m$|_km|length|_wan|score|speed|_deg|ndvi|elevation|diff|value|limit)",
                      re.IGNORECASE)


def _english(name: str) -> str:
    """The English part of a ``中文 english`` header."""
    return name.rsplit(" ", 1)[-1]


#: Columns holding a share of 1 whose name does not say so (``rank_score`` mixes two shares).
_SHARE_NAMES = frozenset({"progress", "fraction", "rate", "rank_score"})


def _excel_kind(s: pd.Series, name: str = "") -> str:
    """The kind of a column (a key of :data:`XLSX_NUMBER_FORMATS`), from its dtype, values and name.

    Dates (also ISO date strings and date objects) get a date format; floats
    a two-decimal one, except counts (every value whole, the name not a
    measure) as integers, ``*_pct`` as a percentage already x 100 and
    ``*share*`` / ``*_fraction`` / ``*_rate`` / ``progress`` / ``rank_score`` (of 1)
    as a percentage.
    """
    en = _english(name).lower()
    if pd.api.types.is_bool_dtype(s):
        return "text"
    if pd.api.types.is_datetime64_any_dtype(s):
        return "date" if _all_midnight(s) else "datetime"
    if pd.api.types.is_numeric_dtype(s):
        if en in ("lon", "lat", "longitude", "latitude", "经度", "纬度"):
            return "coord"
        if en.endswith("_pct") or en == "pct":
            return "pct"
        if "share" in en or en.endswith(("_fraction", "_rate")) or en in _SHARE_NAMES:
            return "share"
        if pd.api.types.is_integer_dtype(s):
            return "int"
        v = s.dropna().to_numpy(dtype="float64")
        if len(v) and not _MEASURE.search(en) and np.all(np.isfinite(v)) and np.all(v == np.round(v)):
            return "int"
        return "num"
    if s.dtype == object or pd.api.types.is_string_dtype(s):  # dates kept as objects or ISO text
        vals = [v for v in s.dropna().head(200).tolist() if v != ""]  # "" is a blank cell
        if vals and all(isinstance(v, dt.datetime) for v in vals):
            return "datetime"
        if vals and all(isinstance(v, dt.date) for v in vals):
            return "date"
        if vals and all(isinstance(v, str) and _ISO_DATE.match(v) for v in vals):
            return "date"
    return "text"


def _all_midnight(s: pd.Series) -> bool:
    v = s.dropna()
    if getattr(v.dt, "tz", None) is not None:
        v = v.dt.tz_localize(None)
    return bool(len(v)) and bool((v == v.dt.normalize()).all())


def _as_cells(frame: pd.DataFrame, kinds: list[str]) -> pd.DataFrame:
    """ISO date strings as dates, booleans as 是/否 (the CSV keeps the codes)."""
    out = frame
    for col, kind in zip(frame.columns, kinds):
        s = frame[col]
        conv = None
        if kind == "date" and (s.dtype == object or pd.api.types.is_string_dtype(s)):
            conv = s.map(lambda v: (dt.date.fromisoformat(v) if _ISO_DATE.match(v) else v or None)
                         if isinstance(v, str) else v)
        elif pd.api.types.is_bool_dtype(s):
            conv = s.map(lambda v: None if v is None or v is pd.NA else ("是" if v else "否"))
        if conv is not None:
            if out is frame:
                out = frame.copy()
            out[col] = conv.astype(object)
    return out


def _excel_value(v: object) -> object:
    """One cell as a Python value for xlsxwriter (None: a blank cell)."""
    if isinstance(v, np.generic):
        v = v.item()
    if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, pd.Timestamp):
        v = v.to_pydatetime()
    if isinstance(v, dt.datetime):  # Excel has no time zones: local wall-clock time
        return v.replace(tzinfo=None)
    if isinstance(v, (str, int, float, dt.date)):
        return v
    return str(v)


def _shp_field_names(columns: list[str]) -> dict[str, str]:
    """Map column names to unique dBASE names of at most 10 bytes (GBK)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for col in columns:
        name = col
        while len(name.encode(settings.CHINESE_LEGACY_ENCODING, "replace")) > 10:
            name = name[:-1]
        base, k = name, 1
        while name.upper() in used:
            suffix = f"_{k}"
            name = base
            while len((name + suffix).encode(settings.CHINESE_LEGACY_ENCODING, "replace")) > 10:
                name = name[:-1]
            name = name + suffix
            k += 1
        used.add(name.upper())
        out[col] = name
    return out


def write_vector(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    layer: str | None = None,
    fmt: str | None = None,
    crs: str | None = None,
) -> Path:
    """Write a GeoDataFrame as GeoPackage (default), Shapefile, KML or KMZ, atomically.

    Parameters
    ----------
    gdf : GeoDataFrame
    path : path
        Target file. For GeoPackage, other layers already in the file are kept
        (the file is copied, the layer written into the copy, and renamed back).
    layer : str, optional
        Layer name (GeoPackage).
    fmt : {"gpkg", "shp", "kml", "kmz"}, optional
        From the suffix when omitted. Shapefiles are written for ArcGIS 10.x,
        MapGIS and CASS: GBK attributes with a ``.cpg``, a CGCS2000 ``.prj``,
        field names of at most 10 bytes. KML/KMZ for phone apps (奥维, 两步路):
        lon/lat, attributes under their Chinese labels
        (:func:`gis_town.io.kml_write.write_kml_layer`).
    crs : str, optional
        Output CRS (the town config's ``town.crs``); the data's own when omitted.
    """
    path = Path(path)
    fmt = (fmt or path.suffix.lstrip(".") or settings.DEFAULT_VECTOR_FORMAT).lower()
    if crs is not None and gdf.crs is not None:
        gdf = gdf.to_crs(crs)
    gdf = _writable(gdf)
    try:
        if fmt == "gpkg":
            layer = layer or path.stem
            with atomic_path(path) as tmp:
                if path.exists():
                    shutil.copy2(path, tmp)
                try:  # Arrow writes about twice as fast
                    gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio", use_arrow=True)
                except (TypeError, ValueError, NotImplementedError):  # columns Arrow cannot type
                    gdf.to_file(tmp, layer=layer, driver="GPKG", engine="pyogrio")
        elif fmt == "shp":
            path = path.with_suffix(".shp")
            names = _shp_field_names([c for c in gdf.columns if c != gdf.geometry.name])
            renamed = gdf.rename(columns=names)
            tmpdir = Path(tempfile.mkdtemp(prefix=f".{path.stem}.", dir=path.parent))
            try:
                tmp = tmpdir / path.name
                renamed.to_file(tmp, driver="ESRI Shapefile", engine="pyogrio", encoding=settings.CHINESE_LEGACY_ENCODING)
                (tmpdir / path.with_suffix(".cpg").name).write_text("GBK", encoding="ascii")
                for ext in _SHP_SIDECARS:
                    src = tmp.with_suffix(ext)
                    if src.exists():
                        os.replace(src, path.with_suffix(ext))
            finally:
                shutil.rmtree(tmpdir, ignore_errors=True)
        elif fmt in ("kml", "kmz"):
            from gis_town.io.kml_write import write_kml_layer

            path = write_kml_layer(gdf, path.with_suffix(f".{fmt}"), layer=layer)
        else:
            raise InputError(f"未知的输出格式 / unknown output format {fmt!r}: expected gpkg, shp, kml or kmz")
    except OSError as exc:
        raise OutputError(f"无法写出 / cannot write: {exc}", path=str(path)) from exc
    log.info("写出 wrote %s (%d features)", path, len(gdf))
    return path


def _writable(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Convert columns GDAL cannot store (lists, dicts, tz-aware mixed objects) to text."""
    out = gdf
    for col in gdf.columns:
        if col == gdf.geometry.name:
            continue
        s = gdf[col]
        if s.dtype == object and s.map(lambda v: isinstance(v, (list, dict, tuple, set))).any():
            out = out.copy() if out is gdf else out
            out[col] = s.map(lambda v: "; ".join(map(str, v)) if isinstance(v, (list, tuple, set)) else (str(v) if isinstance(v, dict) else v))
    return out


def write_gpkg_layers(layers: Mapping[str, gpd.GeoDataFrame], path: str | Path) -> Path:
    """Write several layers into one new GeoPackage at ``path``, atomically (a layer per key).

    For files written whole (the demo's ledgers): an existing file is replaced, not appended to.
    """
    import pyogrio

    path = Path(path)
    with atomic_path(path) as tmp:
        for name, gdf in layers.items():
            pyogrio.write_dataframe(gdf, tmp, layer=name, driver="GPKG", append=tmp.exists())
    return path
