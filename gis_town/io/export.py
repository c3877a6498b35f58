"""Exports for the field: KML and GPX for the map apps on leaders' phones, xlsx for printing.

- :func:`write_kml` - placemarks (a point inside each feature, for
  navigation) in folders, coloured by a class column, with the polygons'
  outlines in a second folder; opens in Google Earth, 奥维互动地图 (Ovital),
  两步路 and most phone map apps.
- :func:`write_gpx` - waypoints (and one route per group in list order) for
  GPS apps and handheld receivers.
- :func:`write_visit_list` - the abandonment-risk visit list (走访清单) as
  xlsx (one printable sheet per village, with the empty columns the cadres
  fill - visit date, outcome from a drop-down, planned date, operator,
  reason, visitor, note - read back by ``gis-town visits``, and sign-off
  lines), KML and GPX.

Coordinates are written in CGCS2000 longitude/latitude (EPSG:4490), which
agrees with WGS84 (what KML and GPX expect) to a few centimetres. They are
never shifted to GCJ-02: apps that show a Gaode/Tencent basemap convert
imported WGS84 files themselves. Text is XML-escaped (KML: here, once, with
simplekml's own parsing off, as it passes ``<![CDATA[`` through; GPX: by
gpxpy): a name with ``<``, ``&`` or ``<![CDATA[`` stays text. Files are written atomically.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.analysis.visits import FILL_COLUMNS, OUTCOME_CHOICES
from gis_town.errors import InputError
from gis_town.io.write import atomic_path, safe_output_path, write_text, write_xlsx
from gis_town.reports.risk import VISIT_HEADERS, VISIT_PRINT_COLUMNS
from gis_town.schema import CODE_VALUES, code_label

__all__ = [
    "RISK_COLORS",
    "VISIT_HEADERS",
    "add_fill_validation",
    "write_gpx",
    "write_kml",
    "write_visit_list",
]

log = logging.getLogger(__name__)

#: KML colours (aabbggrr) of the risk classes: high red, medium orange, low yellow.
RISK_COLORS: dict[str, str] = {"high": "ff0000ff", "medium": "ff0080ff", "low": "ff00ffff"}

#: The status words of every report (the schema's vocabulary: 耕种, 撂荒, 休耕).
_STATUS_ZH = {code: code_label("status", code) for code in CODE_VALUES["status"]}


def _lonlat_points(gdf: gpd.GeoDataFrame) -> tuple[gpd.GeoSeries, np.ndarray, np.ndarray]:
    if gdf.crs is None:
        raise InputError("导出 KML/GPX 需要坐标系 / exporting KML or GPX needs a CRS on the layer")
    geo = gdf.geometry.to_crs(4490)
    pts = geo.representative_point()
    return geo, pts.x.to_numpy(), pts.y.to_numpy()


def _text(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA:
        return ""
    if isinstance(v, float):
        return f"{v:.2f}"
    return str(v)


def _description(row: pd.Series, fields: Sequence[str], labels: Mapping[str, str]) -> str:
    return "\n".join(
        f"{labels.get(f, f)}: {_text(row[f])}" for f in fields if f in row.index and _text(row[f])
    )


def write_kml(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    name_field: str,
    description_fields: Sequence[str] = (),
    folder_fields: Sequence[str] = (),
    style_field: str | None = None,
    colors: Mapping[str, str] | None = None,
    labels: Mapping[str, str] | None = None,
    document_name: str = "gis_town",
    outlines: bool = True,
) -> Path:
    """Write features as KML placemarks, atomically.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any geometry, any CRS (converted to lon/lat EPSG:4490 ~ WGS84).
    path : path
        Target ``.kml``.
    name_field : str
        Column shown as each placemark's name.
    description_fields : sequence of str
        Columns listed in the placemark's description ("label: value" lines).
    folder_fields : sequence of str
        Nest placemarks in folders by these columns (e.g. village, group).
    style_field : str, optional
        Column whose value picks the icon colour from ``colors``.
    colors : mapping value -> KML colour (aabbggrr), optional
        Default :data:`RISK_COLORS`.
    labels : mapping column -> label, optional
        Labels in descriptions (default :data:`VISIT_HEADERS`).
    document_name : str
        Name of the KML document.
    outlines : bool, default True
        For polygons, also write their outlines in a folder "地块范围 outlines".

    Returns
    -------
    Path
    """
    import simplekml

    colors = dict(RISK_COLORS if colors is None else colors)
    labels = dict(VISIT_HEADERS if labels is None else labels)
    geo, lon, lat = _lonlat_points(gdf)
    kml = simplekml.Kml(name=escape(document_name))
    kml.parsetext(parse=False)  # text is XML-escaped here, once (simplekml passes CDATA through)
    styles: dict[str, simplekml.Style] = {}

    def style_for(value: object) -> simplekml.Style | None:
        key = _text(value)
        if key not in colors:
            return None
        if key not in styles:
            st = simplekml.Style()
            st.iconstyle.color = colors[key]
            st.iconstyle.icon.href = "http://maps.google.com/mapfiles/kml/paddle/wht-blank.png"
            st.linestyle.color = colors[key]
            st.linestyle.width = 2
            st.polystyle.fill = 0
            styles[key] = st
        return styles[key]

    folders: dict[tuple, simplekml.Folder] = {}

    def folder_for(row: pd.Series, root) -> simplekml.Folder:
        node, key = root, ()
        for f in folder_fields:
            key = (*key, _text(row[f]) or "(未分组 none)")
            if key not in folders:
                folders[key] = node.newfolder(name=escape(key[-1]))
            node = folders[key]
        return node

    points_root = kml.newfolder(name="位置点 points") if outlines else kml
    outline_root = kml.newfolder(name="地块范围 outlines") if outlines else None
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    for i, (_, row) in enumerate(frame.iterrows()):
        g = geo.iloc[i]
        if g is None or g.is_empty:
            continue
        desc = escape(_description(row, description_fields, labels))
        name = escape(_text(row[name_field]))
        pt = folder_for(row, points_root).newpoint(
            name=name, coords=[(float(lon[i]), float(lat[i]))], description=desc
        )
        st = style_for(row[style_field]) if style_field else None
        if st is not None:
            pt.style = st
        if outline_root is not None and g.geom_type in ("Polygon", "MultiPolygon"):
            holder = folder_for(row, outline_root).newmultigeometry(name=name, description=desc)
            for poly in getattr(g, "geoms", [g]):
                holder.newpolygon(
                    outerboundaryis=[(round(x, 7), round(y, 7)) for x, y in poly.exterior.coords],
                    innerboundaryis=[
                        [(round(x, 7), round(y, 7)) for x, y in r.coords] for r in poly.interiors
                    ],
                )
            if st is not None:
                holder.style = st
    return write_text(kml.kml(), path)


def write_gpx(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    name_field: str,
    description_fields: Sequence[str] = (),
    route_field: str | None = None,
    labels: Mapping[str, str] | None = None,
    document_name: str = "gis_town",
) -> Path:
    """Write features as GPX waypoints (a point inside each), with optional routes, atomically.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any geometry, any CRS (converted to lon/lat).
    path : path
        Target ``.gpx``.
    name_field : str
        Column used as each waypoint's name.
    description_fields : sequence of str
        Columns in the waypoint's description.
    route_field : str, optional
        One route per value of this column, through its waypoints in the
        order of ``gdf`` (the visit order).
    labels : mapping column -> label, optional
    document_name : str
    """
    import gpxpy.gpx

    labels = dict(VISIT_HEADERS if labels is None else labels)
    geo, lon, lat = _lonlat_points(gdf)
    gpx = gpxpy.gpx.GPX()
    gpx.name = document_name
    gpx.creator = "gis_town"
    frame = pd.DataFrame(gdf.drop(columns=gdf.geometry.name))
    routes: dict[str, gpxpy.gpx.GPXRoute] = {}
    for i, (_, row) in enumerate(frame.iterrows()):
        g = geo.iloc[i]
        if g is None or g.is_empty:
            continue
        name = _text(row[name_field])
        desc = _description(row, description_fields, labels)
        wp = gpxpy.gpx.GPXWaypoint(
            latitude=round(float(lat[i]), 7),
            longitude=round(float(lon[i]), 7),
            name=name,
            description=desc,
        )
        gpx.waypoints.append(wp)
        if route_field is not None:
            key = _text(row[route_field]) or "(未分组 none)"
            if key not in routes:
                routes[key] = gpxpy.gpx.GPXRoute(name=key)
                gpx.routes.append(routes[key])
            routes[key].points.append(
                gpxpy.gpx.GPXRoutePoint(latitude=wp.latitude, longitude=wp.longitude, name=name)
            )
    return write_text(gpx.to_xml(), path)


def _printable(visit: pd.DataFrame) -> pd.DataFrame:
    df = pd.DataFrame(
        visit.drop(columns=visit.geometry.name) if isinstance(visit, gpd.GeoDataFrame) else visit
    ).copy()
    if "status" in df:
        df["status"] = (
            df["status"]
            .astype("string")
            .map(lambda s: _STATUS_ZH.get(s, s) if isinstance(s, str) else s)
        )
    for c in ("score", "area_mu"):
        if c in df:
            df[c] = df[c].astype("float64").round(1 if c == "score" else 2)
    for c in df.columns:  # dates as dates (a column of no date yet stays blank)
        if pd.api.types.is_datetime64_any_dtype(df[c]):
            df[c] = pd.Series([None if pd.isna(v) else v.date() for v in df[c]], index=df.index,
                              dtype=object)
    for c in FILL_COLUMNS:  # the columns the cadres fill: empty
        df[c] = ""
    cols = [c for c in VISIT_PRINT_COLUMNS if c in df.columns]
    return df[cols].rename(columns=VISIT_HEADERS)


def write_visit_list(
    visit: gpd.GeoDataFrame,
    out_dir: str | Path,
    *,
    town_name: str = "",
    stem: str = "visit_list",
    title: str = "撂荒风险走访清单 / abandonment-risk visit list",
    max_sheets: int = 60,
) -> dict[str, Path]:
    """Write the visit list (走访清单) as xlsx (for printing), KML and GPX (for phones).

    Parameters
    ----------
    visit : GeoDataFrame
        Output of :func:`gis_town.analysis.risk.visit_list`.
    out_dir : path
        Output folder.
    town_name : str
        For titles.
    stem : str
        File name stem (``visit_list.xlsx`` / ``.kml`` / ``.gpx``).
    title : str
        What the list is, ``中文 / English`` (the village sheets take the Chinese part).
    max_sheets : int, default 60
        One sheet per village up to this many villages (else only the "all" sheet).

    Returns
    -------
    dict
        ``{"xlsx": path, "kml": path, "gpx": path}``.
    """
    out_dir = Path(out_dir)
    sheets: dict[str, pd.DataFrame] = {}
    titles: dict[str, str] = {}
    footers: dict[str, list[str]] = {}
    sign = [
        "走访人 visited by: ____________    日期 date: ____________    村干部 village cadre: ____________"
    ]
    all_name = "全部 all"
    sheets[all_name] = _printable(visit)
    titles[all_name] = f"{town_name} {title}".strip()
    villages = list(dict.fromkeys(visit["village_id"].astype("string").fillna("").tolist()))
    if 1 < len(villages) <= max_sheets or len(villages) == 1:
        used: set[str] = {all_name}
        for vid in villages:
            part = visit[visit["village_id"].astype("string").fillna("") == vid]
            vname = _text(part["village_name"].iloc[0]) if "village_name" in part else ""
            leader = _text(part["leader"].iloc[0]) if "leader" in part else ""
            sheet = _sheet_name(vname or vid, used)
            sheets[sheet] = _printable(part).drop(
                columns=[
                    VISIT_HEADERS["village_id"],
                    VISIT_HEADERS["village_name"],
                    VISIT_HEADERS["leader"],
                ],
                errors="ignore",
            )
            titles[sheet] = (
                f"{town_name} {vname or vid} {title.split(' / ')[0]} (包村领导 leader: {leader or '—'})".strip()
            )
            footers[sheet] = sign
    xlsx = write_xlsx(
        sheets, safe_output_path(out_dir, f"{stem}.xlsx"), titles=titles, footer_lines=footers
    )
    add_fill_validation(xlsx)
    desc = [
        "village_name",
        "group",
        "contractor",
        "status",
        "area_mu",
        "score",
        "risk_class_zh",
        "reason",
        "last_visit_date",
        "last_outcome_zh",
    ]
    name = f"{town_name} 撂荒风险走访 visit list".strip()
    visit = _dates_as_text(visit)
    kml = write_kml(
        visit,
        safe_output_path(out_dir, f"{stem}.kml"),
        name_field="parcel_id",
        description_fields=desc,
        folder_fields=[c for c in ("village_name", "group") if c in visit.columns],
        style_field="risk_class",
        document_name=name,
    )
    gpx = write_gpx(
        visit,
        safe_output_path(out_dir, f"{stem}.gpx"),
        name_field="parcel_id",
        description_fields=desc,
        route_field="village_name" if "village_name" in visit.columns else None,
        document_name=name,
    )
    return {"xlsx": xlsx, "kml": kml, "gpx": gpx}


def _dates_as_text(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """``gdf`` with its date columns as ``YYYY-MM-DD`` text (KML and GPX descriptions)."""
    out = gdf
    for c in gdf.columns:
        if c != gdf.geometry.name and pd.api.types.is_datetime64_any_dtype(gdf[c]):
            if out is gdf:
                out = gdf.copy()
            out[c] = gdf[c].dt.strftime("%Y-%m-%d").astype("object").where(gdf[c].notna(), "")
    return out


#: Columns to fill that take a date (formatted as dates, with an input hint).
_DATE_FILL = ("visit_date", "planned_date")


def add_fill_validation(path: str | Path) -> Path:
    """Help the cadres fill a written visit list, in place (atomically).

    On every sheet with the visit-list header: the outcome column (走访结果)
    gets a drop-down of :data:`~gis_town.analysis.visits.OUTCOME_CHOICES`
    (a typed code or Chinese word is still accepted: ``gis-town visits``
    checks it), the date columns (走访日期, 计划复耕日期) a date format and a hint.
    """
    import openpyxl
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    path = Path(path)
    heads = {VISIT_HEADERS[c]: c for c in ("outcome", "parcel_id", *_DATE_FILL)}
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        found = _header_cells(ws, heads)
        if found is None or "outcome" not in found[1]:
            continue
        head, cols = found
        last = max(ws.max_row, head + 1)
        while last > head + 1 and ws.cell(last, cols["parcel_id"]).value in (None, ""):
            last -= 1  # the footer lines below the table
        dv = DataValidation(type="list", formula1='"' + ",".join(OUTCOME_CHOICES) + '"',
                            allow_blank=True, showErrorMessage=False)
        dv.promptTitle, dv.prompt = "走访结果 outcome", "从列表选择 choose from the list"
        letter = get_column_letter(cols["outcome"])
        dv.add(f"{letter}{head + 1}:{letter}{last}")
        ws.add_data_validation(dv)
        for c in _DATE_FILL:
            if c not in cols:
                continue
            hint = DataValidation(allow_blank=True, showErrorMessage=False)
            hint.promptTitle, hint.prompt = VISIT_HEADERS[c], "日期 date: 2023-09-15"
            letter = get_column_letter(cols[c])
            hint.add(f"{letter}{head + 1}:{letter}{last}")
            ws.add_data_validation(hint)
            for r in range(head + 1, last + 1):
                ws.cell(r, cols[c]).number_format = "yyyy-mm-dd"
    with atomic_path(path) as tmp:
        wb.save(tmp)
    return path


def _header_cells(ws, heads: Mapping[str, str]) -> tuple[int, dict[str, int]] | None:
    """(1-based header row, column -> 1-based column number) of a visit-list sheet, or None."""
    for r, row in enumerate(ws.iter_rows(max_row=15, values_only=True), start=1):
        cols = {heads[str(v)]: j for j, v in enumerate(row, start=1) if str(v) in heads}
        if "parcel_id" in cols:
            return r, cols
    return None


def _sheet_name(name: str, used: set[str]) -> str:
    """An Excel-safe, unique sheet name (31 chars, no []:*?/\\)."""
    clean = "".join("_" if ch in "[]:*?/\\" else ch for ch in name).strip("'") or "sheet"
    clean = clean[:31]
    base, k = clean, 2
    while clean in used:
        suffix = f" ({k})"
        clean = base[: 31 - len(suffix)] + suffix
        k += 1
    used.add(clean)
    return clean
