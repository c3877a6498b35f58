"""Validating a layer against the town schema.

Two kinds of problem (see README, "Bad input"):

* a layer that cannot be used (empty, no CRS, coordinates clearly in the
  wrong CRS, a required field missing) raises :class:`~gis_town.errors.LayerError`,
  :class:`~gis_town.errors.CRSError` or :class:`~gis_town.errors.FieldError`,
  with *all* the layer's missing fields at once;
* a feature that cannot be used (null or empty geometry, wrong geometry type,
  invalid geometry that cannot be repaired, zero-length line, missing or
  duplicate id, unknown coded value, unparseable number or date) is set aside
  with its reason. Repairable invalid geometries are repaired
  (``shapely.make_valid``) and recorded as repaired, with GEOS's reason.

:func:`validate_layer` returns the usable features and a problems table
(layer, feature_id, row, field, action, reason) so that
``read = used + rejected`` always holds.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.errors import CRSError, FieldError, LayerError
from gis_town.io.geometry import (
    REJECTED,
    REPAIRED,
    GeometryNotes,
    conform_to_layer,
    sanitize_geometries,
)
from gis_town.schema import CODE_VALUES, LAYERS, LayerSchema

__all__ = ["PROBLEM_COLUMNS", "check_coordinates", "normalize_codes", "validate_layer"]

log = logging.getLogger(__name__)

PROBLEM_COLUMNS = ["layer", "feature_id", "row", "field", "action", "reason"]



def check_coordinates(gdf: gpd.GeoDataFrame, *, layer: str, path: str | None = None) -> None:
    """Raise :class:`CRSError` when coordinates clearly do not fit the layer's CRS.

    Catches a missing CRS, latitude/longitude swapped, metres labelled as
    degrees, degrees labelled as metres, and absurdly large coordinates.
    """
    if gdf.crs is None:
        raise CRSError(
            "没有坐标系 / the layer has no CRS: add a .prj, or set `crs` for this layer in the "
            "town config (e.g. EPSG:4490 for CGCS2000 lon/lat, EPSG:4544 for Gauss-Kruger CM 105E)",
            path=path, layer=layer,
        )
    geoms = gdf.geometry[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    if len(geoms) == 0:
        return
    minx, miny, maxx, maxy = geoms.total_bounds
    if not np.all(np.isfinite([minx, miny, maxx, maxy])) or max(abs(minx), abs(maxx), abs(miny), abs(maxy)) > 1e8:
        raise CRSError(
            f"坐标值异常巨大或无效 / coordinates are absurdly large or not finite (bounds {minx:.6g}, {miny:.6g}, {maxx:.6g}, {maxy:.6g})",
            path=path, layer=layer,
        )
    if gdf.crs.is_geographic:
        if 73 <= miny and maxy <= 136 and 3 <= minx and maxx <= 54:
            raise CRSError(
                f"经纬度颠倒 / latitude and longitude look swapped (x {minx:.4f}..{maxx:.4f} "
                f"looks like latitude, y {miny:.4f}..{maxy:.4f} like longitude): swap the columns "
                "or re-export with lon/lat (x = longitude) axis order",
                path=path, layer=layer,
            )
        if max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90:
            raise CRSError(
                f"坐标系为经纬度，但坐标像是米 / the CRS is geographic ({gdf.crs.to_string()}) but "
                f"coordinates look like metres (x {minx:.0f}..{maxx:.0f}, y {miny:.0f}..{maxy:.0f}): "
                "set the layer's real projected CRS (e.g. EPSG:4544 or EPSG:4523)",
                path=path, layer=layer,
            )
        if 73 <= minx and maxx <= 136 and 3 <= miny and maxy <= 54:
            return
        log.warning("%s: 坐标不在中国境内 / coordinates outside China (%.3f, %.3f, %.3f, %.3f)", layer, minx, miny, maxx, maxy)
    else:
        if max(abs(minx), abs(maxx)) <= 180 and max(abs(miny), abs(maxy)) <= 90:
            raise CRSError(
                f"坐标系为投影坐标(米)，但坐标像是经纬度 / the CRS is projected ({gdf.crs.to_string()}) "
                f"but coordinates look like degrees (x {minx:.4f}..{maxx:.4f}): set crs = \"EPSG:4490\" for this layer",
                path=path, layer=layer,
            )


def normalize_codes(values: pd.Series, code_list: str) -> tuple[pd.Series, pd.Series]:
    """Map English codes and Chinese words to codes; return (codes, unknown mask). Nulls are not unknown."""
    lookup: dict[str, str] = {}
    for code, spellings in CODE_VALUES[code_list].items():
        for s in (code, *spellings):
            lookup[s.strip().lower()] = code
    raw = values.astype("object")
    present = raw.notna() & (raw.astype(str).str.strip() != "")
    # one lookup per distinct value: a county layer has a million rows and a handful of spellings
    mapping = {v: lookup.get(str(v).strip().lower()) for v in pd.unique(raw[raw.notna()])}
    codes = raw.map(mapping).astype("object")
    unknown = present & codes.isna()
    return codes, unknown


def _parse_typed(s: pd.Series, kind: str) -> tuple[pd.Series, pd.Series]:
    """Parse a column to its kind; return (parsed, bad mask). Blank values are null, not bad."""
    if pd.api.types.is_object_dtype(s) or pd.api.types.is_string_dtype(s):
        blank = s.isna() | (s.astype(str).str.strip() == "").fillna(False).astype(bool)
    else:  # numbers, booleans, dates: no blank strings (vectorised for county-size layers)
        blank = s.isna()
    if kind in ("int", "float"):
        if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
            parsed = s.astype("float64")
        else:
            parsed = pd.to_numeric(s.where(~blank), errors="coerce")
        bad = parsed.isna() & ~blank
        if kind == "int":
            frac = parsed.notna() & (parsed != np.round(parsed))
            bad |= frac
            parsed = parsed.round().astype("Int64")
        return parsed, bad
    if kind == "bool":
        truthy = {"1", "true", "yes", "y", "是", "有", "t"}
        falsy = {"0", "false", "no", "n", "否", "无", "f"}
        if pd.api.types.is_bool_dtype(s):
            return s.astype("boolean"), pd.Series(False, index=s.index)
        obj = s.astype("object")
        words = {v: str(v).strip().lower() for v in pd.unique(obj[obj.notna()])}
        parsed = obj.map({v: True if w in truthy else (False if w in falsy else None) for v, w in words.items()})
        bad = parsed.isna() & ~blank
        return parsed.astype("boolean"), bad
    if kind in ("date", "datetime"):
        if pd.api.types.is_datetime64_any_dtype(s):
            parsed = s
        else:
            try:
                parsed = pd.to_datetime(s.where(~blank), errors="coerce", format="mixed")
            except ValueError:  # mixed zones (+08:00, Z, none): all to local time (Asia/Shanghai)
                from gis_town.io.tracks import to_local_time

                parsed = to_local_time(s.where(~blank), errors="coerce")
        bad = parsed.isna() & ~blank
        if kind == "date":
            parsed = parsed.dt.normalize()
        return parsed, bad
    return s, pd.Series(False, index=s.index)


def _fid(gdf: gpd.GeoDataFrame, schema: LayerSchema) -> pd.Series:
    if schema.id_field in gdf.columns:
        ids = gdf[schema.id_field].astype("object")
        if ids.notna().all():
            return ids
        return ids.where(ids.notna(), other=pd.Series([f"#{i}" for i in range(len(gdf))], index=gdf.index))
    return pd.Series([f"#{i}" for i in range(len(gdf))], index=gdf.index, dtype="object")


#: Order of the geometry reasons (as the checks ran before the clean-up had one
#: pass; :mod:`gis_town.parallel` sorts partitioned problems the same way).
_GEOMETRY_ORDER = (("空几何", 0), ("坐标含 NaN", 1), ("零长度线", 2), ("几何无效已修复", 3), ("几何无效且无法修复", 4))


def _geometry_rank(reason: str) -> int:
    return next((r for prefix, r in _GEOMETRY_ORDER if reason.startswith(prefix)), 5)


def _read_fixes(gdf: gpd.GeoDataFrame, notes: GeometryNotes) -> None:
    """Carry the fixes :func:`~gis_town.io.read.read_layer` made (curves, undecodable WKB) into ``notes``."""
    fixes = gdf.attrs.get("geometry_fixes")
    if fixes is None or len(fixes) == 0:
        return
    pos = gdf.index.get_indexer(pd.Index(fixes["index"]))
    keep = pos >= 0
    for action in (REPAIRED, REJECTED):
        m = keep & (fixes["action"].to_numpy() == action)
        notes.add(pos[m], action, list(fixes["reason"].to_numpy()[m]))


def _clean_geometry(
    gdf: gpd.GeoDataFrame, schema: LayerSchema, *, name: str, path: str | None
) -> tuple[gpd.GeoDataFrame, GeometryNotes]:
    """The read-boundary geometry clean-up (:mod:`gis_town.io.geometry`) for one layer.

    Sanitises, checks the coordinates against the CRS (:func:`check_coordinates`),
    then conforms the geometries to the layer's types. Rejected features get a
    None geometry. A layer with nothing wrong keeps its geometry array as it is.
    """
    arr, notes = sanitize_geometries(gdf.geometry.values)
    read_notes = GeometryNotes(len(gdf))
    _read_fixes(gdf, read_notes)
    for i, texts in read_notes.reasons.items():  # read-time reasons first
        notes.reasons[i] = texts + notes.reasons.get(i, [])
        if notes.action[i] != REJECTED:
            notes.action[i] = read_notes.action[i]
    gdf.attrs.pop("geometry_fixes", None)
    if notes.reasons:
        gdf = gdf.set_geometry(gpd.GeoSeries(arr, index=gdf.index, crs=gdf.crs), crs=gdf.crs)
    check_coordinates(gdf, layer=name, path=path)
    arr = conform_to_layer(arr, schema.geometry, notes)
    if notes.reasons:  # a layer with nothing wrong keeps its geometry array
        gdf = gdf.set_geometry(gpd.GeoSeries(arr, index=gdf.index, crs=gdf.crs), crs=gdf.crs)
    return gdf, notes


def validate_layer(
    gdf: gpd.GeoDataFrame, name: str, *, path: str | None = None
) -> tuple[gpd.GeoDataFrame, pd.DataFrame]:
    """Validate ``gdf`` as the town layer ``name``.

    Parameters
    ----------
    gdf : GeoDataFrame
        As read (after field mapping).
    name : str
        Schema layer name (see :data:`gis_town.schema.LAYERS`).
    path : str, optional
        Source file, for messages.

    Returns
    -------
    used : GeoDataFrame
        The usable features, coded fields normalised to English codes, typed
        fields parsed, invalid geometries repaired. Keeps the input's index.
    problems : DataFrame
        Columns :data:`PROBLEM_COLUMNS`; ``action`` is ``rejected`` or ``repaired``.

    Raises
    ------
    LayerError, CRSError, FieldError
        When the layer as a whole cannot be used.
    """
    schema = LAYERS[name]
    if len(gdf) == 0:
        raise LayerError("图层为空 / the layer has no features", path=path, layer=name)
    missing = [f for f in schema.required if f not in gdf.columns]
    if name == "patrols" and not ({"time"} <= set(gdf.columns) or {"start_time", "end_time"} <= set(gdf.columns)):
        missing.append("time (or start_time and end_time)")
    if missing:
        have = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        raise FieldError(
            f"缺少必填字段 / missing required field(s): {', '.join(missing)}. The layer has: {have}. "
            "Rename the columns, or map them in the town config ([layers.%s] fields = {\"源字段\" = \"%s\"})"
            % (name, missing[0]),
            path=path, layer=name, field=", ".join(missing),
        )
    gdf = gdf.copy()
    fid = _fid(gdf, schema)
    problems: list[dict] = []

    def add(mask: pd.Series | np.ndarray, field: str | None, action: str, reasons) -> None:
        idx = np.flatnonzero(np.asarray(mask, dtype=bool))
        if len(idx) == 0:
            return
        if isinstance(reasons, str):
            reasons = [reasons] * len(idx)
        for k, i in enumerate(idx):
            problems.append({
                "layer": name, "feature_id": fid.iloc[i], "row": int(i), "field": field,
                "action": action, "reason": reasons[k],
            })

    gdf, notes = _clean_geometry(gdf, schema, name=name, path=path)
    touched = notes.action != ""
    add(touched, "geometry", "", notes.reason()[touched])
    for rec in problems:  # one row per feature: its geometry action and every reason
        rec["action"] = notes.action[rec["row"]]
    problems.sort(key=lambda r: (_geometry_rank(r["reason"]), r["row"]))
    reject = pd.Series(notes.rejected(), index=gdf.index)

    # id
    if schema.id_field in gdf.columns:
        ids = gdf[schema.id_field]
        no_id = ids.isna() | (ids.astype(str).str.strip() == "")
        add(no_id & ~reject, schema.id_field, "rejected", "缺少编号 / missing id")
        reject |= no_id
        dup = ids.duplicated(keep="first") & ~no_id & ~reject
        first_row = {v: i for i, v in reversed(list(enumerate(ids)))} if dup.any() else {}
        add(dup, schema.id_field, "rejected", [f"编号重复 / duplicate id (first at row {first_row[v]})" for v in ids[dup]])
        reject |= dup

    # typed and coded fields
    for field, kind in schema.types.items():
        if field not in gdf.columns:
            continue
        if kind in CODE_VALUES:
            codes, unknown = normalize_codes(gdf[field], kind)
            allowed_txt = ", ".join(f"{c} ({CODE_VALUES[kind][c][0]})" for c in CODE_VALUES[kind])
            add(unknown & ~reject, field, "rejected", [f"未知取值 / unknown value {v!r}; expected one of {allowed_txt}" for v in gdf.loc[unknown & ~reject, field]])
            reject |= unknown
            if field in schema.required:
                blank = codes.isna() & ~unknown
                add(blank & ~reject, field, "rejected", "必填字段为空 / required field is blank")
                reject |= blank
            gdf[field] = codes
        else:
            parsed, bad = _parse_typed(gdf[field], kind)
            add(bad & ~reject, field, "rejected", [f"无法解析为 {kind} / cannot parse {v!r} as {kind}" for v in gdf.loc[bad & ~reject, field]])
            reject |= bad
            gdf[field] = parsed
    for field in schema.required:
        if field in schema.types or field == schema.id_field:
            continue
        blank = gdf[field].isna() | (gdf[field].astype(str).str.strip() == "")
        add(blank & ~reject, field, "rejected", "必填字段为空 / required field is blank")
        reject |= blank

    used = gdf[~reject]
    prob = pd.DataFrame(problems, columns=PROBLEM_COLUMNS)
    if len(prob):
        log.warning(
            "%s: %d 个要素被剔除, %d 个已修复 / %d rejected, %d repaired (see rejects.csv)",
            name, int(reject.sum()), int((prob.action == "repaired").sum()),
            int(reject.sum()), int((prob.action == "repaired").sum()),
        )
    return used, prob
