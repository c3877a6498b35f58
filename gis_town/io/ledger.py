"""Excel ledgers (台账) as town layers: households, monitored families, village records.

A village clerk keeps records in Excel: one row per household, Chinese
headers, often a title row above the header, coordinates in decimal degrees
or 度分秒, dates as Excel dates or typed text. :func:`read_ledger` reads such
a sheet as a point layer of the town:

* the header row is found among the first rows (the one naming the most
  fields of the layer); headers may be the schema's English names, its
  Chinese labels (:data:`gis_town.schema.FIELD_LABELS`: 户编号, 村代码,
  安置方式, 户主, 房源确定, 入住, 拆旧 ...) or a ``fields`` mapping;
* point geometry from coordinate columns (经度/纬度, lon/lat, or X/Y in
  metres with ``crs``), decimal or 度分秒 (:func:`gis_town.io.values.parse_degrees`);
* the layer's date fields in every common spelling (:func:`gis_town.io.values.parse_dates`);
* a row that cannot be used (no readable coordinate, a date that is not a
  date) goes to ``attrs["rejects"]`` with its row number in the sheet; the
  rest is used;
* a ledger without coordinates takes each row's point from another layer by
  a shared field (``join_layer``, ``join_on``: e.g. households placed at
  their village's settlement), done by :func:`place_by_join`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.errors import CRSError, FieldError, LayerError
from gis_town.io.validate import PROBLEM_COLUMNS
from gis_town.io.values import parse_dates, parse_degrees
from gis_town.schema import FIELD_LABELS, LAYERS

__all__ = ["LEDGER_SUFFIXES", "place_by_join", "read_ledger"]

log = logging.getLogger(__name__)

LEDGER_SUFFIXES: tuple[str, ...] = (".xlsx", ".xlsm")
#: Coordinate headers (lower case) -> lon / lat / x / y.
COORD_ALIASES: dict[str, tuple[str, ...]] = {
    "lon": ("lon", "lng", "longitude", "经度", "东经", "经度(°)"),
    "lat": ("lat", "latitude", "纬度", "北纬", "纬度(°)"),
    "x": ("x", "easting", "东坐标", "x坐标", "横坐标"),
    "y": ("y", "northing", "北坐标", "y坐标", "纵坐标"),
}
#: Other header spellings clerks use (lower case) -> schema field.
HEADER_ALIASES: dict[str, str] = {
    "户主姓名": "head",
    "编号": "household_id",
    "安置去向": "destination",
}
_HEADER_SCAN_ROWS = 10


def _field_names(layer: str, fields: dict[str, str] | None) -> dict[str, str]:
    """Header (lower case) -> schema field, for the layer's fields."""
    schema = LAYERS[layer]
    names = {schema.id_field, *schema.required, *schema.optional}
    out = {n.lower(): n for n in names}
    out.update({FIELD_LABELS[n].lower(): n for n in names if n in FIELD_LABELS})
    out.update({k: v for k, v in HEADER_ALIASES.items() if v in names})
    for kind, spellings in COORD_ALIASES.items():
        out.update({s.lower(): kind for s in spellings})
    out.update({str(k).strip().lower(): v for k, v in (fields or {}).items()})
    return out


def _open_sheet(path: Path, sheet: str | int | None):
    from openpyxl import load_workbook

    try:
        wb = load_workbook(path, read_only=False, data_only=True)
    except Exception as exc:  # zipfile / openpyxl errors of several kinds
        raise LayerError(
            f"无法读取 Excel 文件 / cannot read the workbook: {exc}", path=str(path)
        ) from None
    if sheet is None:
        return wb.worksheets[0]
    if isinstance(sheet, int):
        if not 0 <= sheet < len(wb.worksheets):
            raise LayerError(
                f"工作表序号超出范围 / no sheet number {sheet}: the workbook has {len(wb.worksheets)}",
                path=str(path),
            )
        return wb.worksheets[sheet]
    if sheet not in wb.sheetnames:
        raise LayerError(
            f"没有工作表 / no sheet {sheet!r}; the workbook has: {', '.join(wb.sheetnames)}",
            path=str(path),
        )
    return wb[sheet]


def _header_row(rows: list[tuple], names: dict[str, str]) -> int:
    """Index of the row naming the most known fields among the first rows."""

    def score(row: tuple) -> int:
        return sum(1 for v in row if v is not None and str(v).strip().lower() in names)

    scores = [score(r) for r in rows[:_HEADER_SCAN_ROWS]]
    best = int(np.argmax(scores)) if scores else 0
    if not scores or scores[best] < 2:
        return -1
    return best


def _check_merged(ws, header: int, path: Path) -> None:
    row = header + 1  # openpyxl rows are 1-based
    for rng in ws.merged_cells.ranges:
        if rng.min_row <= row <= rng.max_row and rng.max_col > rng.min_col:
            raise FieldError(
                f"表头有合并单元格 / the header row has merged cells ({rng.coord}): give each column "
                "its own header in one row (取消合并，每列一个表头), e.g. 户编号, 村代码, 安置方式, 入住",
                path=str(path),
                field=str(rng.coord),
            )


def _frame(path: Path, sheet, names: dict[str, str], layer: str) -> tuple[pd.DataFrame, np.ndarray]:
    """The sheet's data rows under its header, and each row's number in the sheet."""
    ws = _open_sheet(path, sheet)
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    rows = [r for r in rows]
    if not any(any(v is not None and str(v).strip() for v in r) for r in rows):
        raise LayerError(
            f"工作表 {ws.title!r} 为空 / the sheet {ws.title!r} is empty", path=str(path)
        )
    header = _header_row(rows, names)
    if header < 0:
        schema = LAYERS[layer]
        expected = ", ".join(f"{FIELD_LABELS.get(f, f)} {f}" for f in schema.required)
        raise FieldError(
            f"找不到表头 / no header row found in the first {_HEADER_SCAN_ROWS} rows of sheet {ws.title!r}: "
            f"expected column headers such as {expected} (Chinese or English), or map them in the "
            f"town config ([layers.{layer}] fields)",
            path=str(path),
        )
    _check_merged(ws, header, path)
    cols = [str(v).strip() if v is not None else f"列{j + 1}" for j, v in enumerate(rows[header])]
    body = rows[header + 1 :]
    numbers = np.arange(header + 2, header + 2 + len(body))
    keep = np.array([any(v is not None and str(v).strip() for v in r) for r in body], dtype=bool)
    width = len(cols)
    data = [tuple(r[:width]) + (None,) * (width - len(r)) for r, k in zip(body, keep) if k]
    if not data:
        raise LayerError(
            f"工作表 {ws.title!r} 只有表头，没有数据行 / the sheet has a header but no data rows",
            path=str(path),
        )
    return pd.DataFrame.from_records(data, columns=cols), numbers[keep]


def _reject(layer: str, fid, row: int, field: str, reason: str) -> dict:
    return {
        "layer": layer,
        "feature_id": fid,
        "row": int(row),
        "field": field,
        "action": "rejected",
        "reason": reason,
    }


def _geometry(
    df: pd.DataFrame, rows: np.ndarray, layer: str, id_field: str, crs: str | None, path: Path
):
    """Point geometry and the rejected rows' reasons, from lon/lat or x/y."""
    if {"lon", "lat"} <= set(df.columns):
        kx, ky, src_crs = "lon", "lat", crs or "EPSG:4490"
    elif {"x", "y"} <= set(df.columns):
        if crs is None:
            raise CRSError(
                f"X/Y 坐标(米)没有坐标系 / the ledger has X/Y coordinates but no CRS: set crs in "
                f'[layers.{layer}] (e.g. crs = "EPSG:4544"), or give 经度/纬度 columns',
                path=str(path),
                field="x, y",
            )
        kx, ky, src_crs = "x", "y", crs
    else:
        return None, [], None
    xs, bad_x = parse_degrees(df[kx]) if kx == "lon" else parse_degrees(df[kx].astype("object"))
    ys, bad_y = parse_degrees(df[ky]) if ky == "lat" else parse_degrees(df[ky].astype("object"))
    rejects = []
    missing = ~(np.isfinite(xs) & np.isfinite(ys))
    for i in np.flatnonzero(missing):
        fid = df[id_field].iloc[i] if id_field in df.columns else None
        field = kx if (bad_x[i] or not np.isfinite(xs[i])) else ky
        raw = df[field].iloc[i]
        why = (
            f"无法解析坐标 / cannot read the coordinate {raw!r}"
            if (bad_x[i] or bad_y[i])
            else "坐标为空 / no coordinate"
        )
        rejects.append(
            _reject(layer, fid, rows[i], field, why + " (expected 104.62 or 104°37′12.5″)")
        )
    geom = gpd.points_from_xy(xs, ys)
    return geom, rejects, src_crs


def _dates(
    df: pd.DataFrame, rows: np.ndarray, layer: str, id_field: str
) -> tuple[pd.DataFrame, list[dict]]:
    """The layer's date fields parsed; a row with an unreadable date is rejected."""
    types = LAYERS[layer].types
    rejects = []
    for col in [c for c in df.columns if types.get(c) in ("date", "datetime")]:
        parsed, bad = parse_dates(df[col])
        for i in np.flatnonzero(bad):
            fid = df[id_field].iloc[i] if id_field in df.columns else None
            rejects.append(
                _reject(
                    layer,
                    fid,
                    rows[i],
                    col,
                    f"无法解析日期 / cannot read the date {df[col].iloc[i]!r} "
                    "(expected 2023-06-30, 2023年6月30日, 2023.6.30 or an Excel date)",
                )
            )
        df[col] = parsed
    return df, rejects


def read_ledger(
    path: str | Path,
    *,
    layer: str,
    sheet: str | int | None = None,
    crs: str | None = None,
    fields: dict[str, str] | None = None,
) -> gpd.GeoDataFrame:
    """Read an Excel ledger sheet as the town layer ``layer``.

    Parameters
    ----------
    path : path
        ``.xlsx`` / ``.xlsm`` workbook (never modified).
    layer : str
        The town layer it becomes (e.g. ``"resettlement"``): decides which
        headers are recognised and which columns are dates.
    sheet : str or int, optional
        Sheet name or 0-based number (default: the first sheet).
    crs : str, optional
        CRS of the coordinates: default EPSG:4490 (CGCS2000) for 经度/纬度;
        required for X/Y in metres.
    fields : dict, optional
        Header -> schema field for headers not recognised by themselves.

    Returns
    -------
    GeoDataFrame
        Schema-named columns, point geometry where the sheet has coordinates
        (else no geometry: place it with :func:`place_by_join`), a ``row``
        column (the row number in the sheet), and ``attrs["rejects"]``: rows
        that cannot be used, with reasons.

    Raises
    ------
    LayerError
        An unreadable workbook, a missing or empty sheet.
    FieldError
        No header row; merged header cells.
    CRSError
        X/Y coordinates without ``crs``.
    """
    path = Path(path)
    if not path.is_file():
        raise LayerError("文件不存在 / file not found: check the path", path=str(path))
    names = _field_names(layer, fields)
    raw, rows = _frame(path, sheet, names, layer)
    df = raw.rename(columns={c: names.get(c.lower(), c) for c in raw.columns})
    df = df.loc[:, ~df.columns.duplicated()]
    id_field = LAYERS[layer].id_field
    if id_field in df.columns:
        df[id_field] = df[id_field].map(
            lambda v: (
                None
                if v is None
                else (str(int(v)) if isinstance(v, float) and v.is_integer() else str(v).strip())
            )
        )
    df, rejects = _dates(df, rows, layer, id_field)
    geom, geo_rejects, src_crs = _geometry(df, rows, layer, id_field, crs, path)
    rejects += geo_rejects
    df["row"] = rows
    bad_rows = {r["row"] for r in rejects}
    keep = ~np.isin(rows, list(bad_rows))
    coords = [c for c in ("lon", "lat", "x", "y") if c in df.columns]
    if geom is None:
        gdf = gpd.GeoDataFrame(
            df[keep].reset_index(drop=True),
            geometry=gpd.GeoSeries([None] * int(keep.sum())),
            crs=crs or "EPSG:4490",
        )
        gdf.attrs["needs_geometry"] = True
    else:
        gdf = gpd.GeoDataFrame(
            df.drop(columns=coords)[keep].reset_index(drop=True),
            geometry=np.asarray(geom)[keep],
            crs=src_crs,
        )
    gdf.attrs["rejects"] = pd.DataFrame(rejects, columns=PROBLEM_COLUMNS)
    gdf.attrs["source"] = str(path)
    log.info("读入台账 read %d rows of %s (%d rejected)", len(gdf), path, len(bad_rows))
    return gdf


def place_by_join(
    ledger: gpd.GeoDataFrame, other: gpd.GeoDataFrame, *, on: str, layer: str, other_layer: str
) -> gpd.GeoDataFrame:
    """Give each ledger row the point of the ``other`` feature sharing its ``on`` value.

    Polygons give their representative point (inside the polygon); where
    several features share a value, the first by their id is used. Rows with
    no match go to ``attrs["rejects"]``.
    """
    if on not in ledger.columns or on not in other.columns:
        where = layer if on not in ledger.columns else other_layer
        raise FieldError(
            f"无法按 {on!r} 关联 / cannot join on {on!r}: the {where} layer has no such field",
            layer=where,
            field=on,
        )
    other = (
        other.sort_values(LAYERS[other_layer].id_field)
        if LAYERS[other_layer].id_field in other.columns
        else other
    )
    first = other.drop_duplicates(on).set_index(on)
    pts = (
        first.geometry.representative_point()
        if not first.geom_type.isin(["Point"]).all()
        else first.geometry
    )
    pts = pts.to_crs(ledger.crs) if ledger.crs is not None and pts.crs != ledger.crs else pts
    key = ledger[on].astype("string")
    lookup = pd.Series(pts.to_numpy(), index=pts.index.astype("string"))
    geom = key.map(lookup)
    hit = geom.notna().to_numpy()
    id_field = LAYERS[layer].id_field
    rejects = [
        _reject(
            layer,
            ledger[id_field].iloc[i] if id_field in ledger.columns else None,
            ledger["row"].iloc[i],
            on,
            f"没有坐标，{other_layer} 中也没有 {on} = {key.iloc[i]!r} / no coordinate and no {other_layer} feature with this {on}",
        )
        for i in np.flatnonzero(~hit)
    ]
    out = gpd.GeoDataFrame(
        ledger[hit].drop(columns=ledger.geometry.name).reset_index(drop=True),
        geometry=list(geom[hit]),
        crs=pts.crs,
    )
    prior = ledger.attrs.get("rejects", pd.DataFrame(columns=PROBLEM_COLUMNS))
    out.attrs = {
        **ledger.attrs,
        "rejects": pd.concat(
            [prior, pd.DataFrame(rejects, columns=PROBLEM_COLUMNS)], ignore_index=True
        ),
    }
    out.attrs.pop("needs_geometry", None)
    return out
