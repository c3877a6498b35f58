"""Any layer as KML or KMZ, for the phone apps field staff use (奥维互动地图, 两步路, Google Earth).

:func:`write_kml_layer` writes every feature as a Placemark: points, lines
and polygons (multi-parts as a MultiGeometry), in lon/lat (CGCS2000, the
same as WGS84 at map scale), named by the feature's name or id, with every
attribute in ``ExtendedData`` under its Chinese label
(:data:`gis_town.schema.FIELD_LABELS`, the English name beside it) and one
style per geometry family (a colour may be given). Text is XML-escaped
here (simplekml writes text as given). KMZ is the same document zipped
(``doc.kml``).
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import geopandas as gpd
import pandas as pd

from gis_town.io.write import atomic_path, write_text
from gis_town.schema import FIELD_LABELS

__all__ = ["write_kml_layer"]

#: Name columns tried, in order, for a placemark's name.
_NAME_FIELDS = ("name", "village_name", "river_name", "head", "chief")


def _cell(v: object) -> str:
    """A value as KML text, XML-escaped (simplekml writes text as given)."""
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return ""
    if isinstance(v, float):
        return f"{v:.2f}" if abs(v) < 1e12 else str(v)
    return escape(str(v))


def _name(row: pd.Series, id_field: str | None) -> str:
    for f in (*(_NAME_FIELDS), *((id_field,) if id_field else ())):
        if f and f in row.index and _cell(row[f]):
            ident = _cell(row[id_field]) if id_field and id_field in row.index and f != id_field else ""
            return f"{_cell(row[f])} {ident}".strip()
    return ""


def _coords(geom) -> list[tuple[float, float]]:
    return [(round(x, 7), round(y, 7)) for x, y, *_ in geom.coords]


def _add(container, geom, name: str):
    """One geometry into ``container`` (a Kml, Folder or MultiGeometry); returns the new element."""
    kind = geom.geom_type
    if kind == "Point":
        return container.newpoint(name=name, coords=_coords(geom))
    if kind == "LineString":
        return container.newlinestring(name=name, coords=_coords(geom))
    if kind == "Polygon":
        return container.newpolygon(
            name=name,
            outerboundaryis=_coords(geom.exterior),
            innerboundaryis=[_coords(r) for r in geom.interiors],
        )
    multi = container.newmultigeometry(name=name)
    for part in geom.geoms:
        _add(multi, part, name)
    return multi


def _styles(kml, color: str):
    import simplekml

    st = simplekml.Style()
    st.linestyle.color = color
    st.linestyle.width = 2
    st.polystyle.color = "66" + color[2:]  # the same colour, 40 % opaque
    st.iconstyle.color = color
    st.labelstyle.scale = 0.8
    return st


def write_kml_layer(
    gdf: gpd.GeoDataFrame,
    path: str | Path,
    *,
    layer: str | None = None,
    id_field: str | None = None,
    color: str = "ff2f6fd9",
) -> Path:
    """Write a layer as KML (``.kml``) or KMZ (``.kmz``), atomically.

    Parameters
    ----------
    gdf : GeoDataFrame
        Any geometry, any CRS (converted to lon/lat).
    path : path
        ``.kml`` or ``.kmz``.
    layer : str, optional
        The document's name (default: the file's stem).
    id_field : str, optional
        The id column, shown after the name (default: the first ``*_id`` column).
    color : str
        KML colour (aabbggrr) of lines, outlines and icons; fills use it at 40 %.

    Returns
    -------
    Path
    """
    import simplekml

    path = Path(path)
    geo = gdf.to_crs("EPSG:4490") if gdf.crs is not None else gdf
    attrs = [c for c in geo.columns if c != geo.geometry.name]
    id_field = id_field or next((c for c in attrs if c.endswith("_id")), None)
    kml = simplekml.Kml(name=escape(layer or path.stem))
    kml.parsetext(parse=False)  # the text is escaped here, once
    style = _styles(kml, color)
    for geom, (_, row) in zip(geo.geometry, pd.DataFrame(geo[attrs]).iterrows()):
        if geom is None or geom.is_empty:
            continue
        el = _add(kml, geom, _name(row, id_field))
        el.style = style
        for c in attrs:
            label = FIELD_LABELS.get(c)
            el.extendeddata.newdata(name=escape(c), value=_cell(row[c]), displayname=escape(f"{label} {c}" if label else c))
    text = kml.kml()
    if path.suffix.lower() != ".kmz":
        return write_text(text, path)
    with atomic_path(path) as tmp, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("doc.kml", text.encode("utf-8"))
    return path
