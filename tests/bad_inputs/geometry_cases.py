"""Odd geometries of the bad-input suite: each one fed as one parcel (or river segment) of the tiny town.

Every case is written into the town's GeoPackage as it comes from the field:
some as WKB bytes written by hand (curves, unclosed and 3-point rings, which
shapely refuses to build), the rest from WKT. Shapes are given in
Gauss-Kruger metres relative to the town's corner (X0, Y0) and stored in
EPSG:4490 like the rest of the town.
"""

from __future__ import annotations

import re
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyogrio.raw
import shapely
from pyproj import Transformer

from tests.bad_inputs.factory import CRS_GK, X0, Y0, layers, make_town

_TO_GEO = Transformer.from_crs(CRS_GK, "EPSG:4490", always_xy=True)
_NUM_PAIR = re.compile(r"(-?(?:\d+(?:\.\d*)?|nan|inf)) (-?(?:\d+(?:\.\d*)?|nan|inf))", re.IGNORECASE)


def _geo(x: float, y: float) -> tuple[float, float]:
    if not (np.isfinite(x) and np.isfinite(y)):
        return (x, y)
    lon, lat = _TO_GEO.transform(X0 + x, Y0 + y)
    return float(lon), float(lat)


def geo_wkt(local: str) -> str:
    """WKT in local metres -> the same WKT in EPSG:4490 (NaN and inf kept)."""
    def repl(m):
        lon, lat = _geo(float(m.group(1)), float(m.group(2)))
        return f"{lon!r} {lat!r}"
    return _NUM_PAIR.sub(repl, local)


def _pts(pts) -> bytes:
    return struct.pack("<I", len(pts)) + b"".join(struct.pack("<dd", *_geo(*p)) for p in pts)


def polygon_wkb(rings: list[list[tuple[float, float]]]) -> bytes:
    """WKB of a polygon whose rings may be ones GEOS refuses (unclosed, too short)."""
    return struct.pack("<BII", 1, 3, len(rings)) + b"".join(_pts(r) for r in rings)


def circle_wkb(cx: float, cy: float, r: float) -> bytes:
    """ISO WKB of a CurvePolygon: a full circle as one CircularString."""
    pts = [(cx - r, cy), (cx, cy + r), (cx + r, cy), (cx, cy - r), (cx - r, cy)]
    return struct.pack("<BII", 1, 10, 1) + struct.pack("<BI", 1, 8) + _pts(pts)


@dataclass(frozen=True)
class GeometryCase:
    """One odd geometry: where it goes, as WKT (local metres) or WKB, and what must come of it."""

    layer: str  #: farmland or rivers
    fed: str  #: what was fed, for the docs
    action: str  #: repaired, rejected, or "" (used as it is)
    needle: str  #: a word of the reason
    wkt: str = ""
    wkb: bytes = b""


SQ = "100 100, 300 100, 300 300, 100 300, 100 100"
GEOMETRY_CASES: dict[str, GeometryCase] = {
    "empty interior ring (issue 15)": GeometryCase(
        "farmland", "`POLYGON ((…), EMPTY)`", "repaired", "empty interior ring",
        wkt="POLYGON ((100 100, 300 150, 100 300, 100 100), EMPTY)"),
    "empty part": GeometryCase("farmland", "`MULTIPOLYGON (((…)), EMPTY)`", "repaired", "empty part",
                               wkt=f"MULTIPOLYGON ((({SQ})), EMPTY)"),
    "repeated vertices": GeometryCase("farmland", "the same vertex three times running", "repaired", "repeated point",
                                      wkt="POLYGON ((100 100, 300 100, 300 100, 300 100, 300 300, 100 300, 100 100))"),
    "Z coordinates": GeometryCase("farmland", "`POLYGON Z` (heights from a survey)", "repaired", "Z/M",
                                  wkt="POLYGON Z ((100 100 1900, 300 100 1900, 300 300 1901, 100 300 1900, 100 100 1900))"),
    "curve (CurvePolygon)": GeometryCase("farmland", "a circle as `CURVEPOLYGON (CIRCULARSTRING …)`", "repaired",
                                         "linearised", wkb=circle_wkb(200, 200, 80)),
    "unclosed ring": GeometryCase("farmland", "a ring whose last vertex is not its first (WKB)", "repaired", "unclosed",
                                  wkb=polygon_wkb([[(100, 100), (300, 100), (300, 300), (100, 300)]])),
    "ring of 3 points": GeometryCase("farmland", "`POLYGON ((a, b, a))`", "rejected", "fewer than 4",
                                     wkb=polygon_wkb([[(100, 100), (300, 300), (100, 100)]])),
    "ring of 1 point": GeometryCase("farmland", "a ring of one vertex (WKB)", "rejected", "cannot be decoded",
                                    wkb=polygon_wkb([[(100, 100)]])),
    "NaN coordinate": GeometryCase("farmland", "a vertex `NaN 300`", "rejected", "NaN",
                                   wkt="POLYGON ((100 100, 300 100, nan 300, 100 300, 100 100))"),
    "infinite coordinate": GeometryCase("farmland", "a vertex `inf 300`", "rejected", "infinity",
                                        wkt="POLYGON ((100 100, 300 100, inf 300, 100 300, 100 100))"),
    "collection: polygon, line and point": GeometryCase(
        "farmland", "`GEOMETRYCOLLECTION (POLYGON …, LINESTRING …, POINT …)`", "repaired", "split",
        wkt=f"GEOMETRYCOLLECTION (POLYGON (({SQ})), LINESTRING (100 100, 300 300), POINT (200 200))"),
    "collection without a polygon": GeometryCase(
        "farmland", "`GEOMETRYCOLLECTION (POINT …, LINESTRING …)`", "rejected", "no Polygon",
        wkt="GEOMETRYCOLLECTION (POINT (200 200), LINESTRING (100 100, 300 300))"),
    "nested collection": GeometryCase(
        "farmland", "`GEOMETRYCOLLECTION (GEOMETRYCOLLECTION (POLYGON …))`", "repaired", "split",
        wkt=f"GEOMETRYCOLLECTION (GEOMETRYCOLLECTION (POLYGON (({SQ}))), POINT EMPTY)"),
    "spike": GeometryCase("farmland", "a vertex that runs out 50 km and back", "repaired", "GEOS",
                          wkt="POLYGON ((100 100, 300 100, 50300 100, 300 100, 300 300, 100 300, 100 100))"),
    "zero-area sliver": GeometryCase("farmland", "a ring that goes out and comes back the same way (no area)",
                                     "rejected", "cannot be repaired",
                                     wkt="POLYGON ((100 100, 300 100, 300 300, 300 100, 100 100))"),
    "self-touching ring": GeometryCase("farmland", "the shell passes twice through one vertex", "repaired",
                                       "GEOS", wkt="POLYGON ((100 100, 300 100, 200 200, 300 300, 100 300, 200 200, 100 100))"),
    "hole crossing the shell": GeometryCase(
        "farmland", "an interior ring that crosses the exterior", "repaired", "GEOS",
        wkt=f"POLYGON (({SQ}), (150 150, 350 200, 150 250, 150 150))"),
    "hole touching the shell at a point": GeometryCase(
        "farmland", "an interior ring with one vertex on the exterior (valid)", "", "",
        wkt=f"POLYGON (({SQ}), (100 200, 200 150, 200 250, 100 200))"),
    "river with an empty part": GeometryCase("rivers", "`MULTILINESTRING ((…), EMPTY)`", "repaired", "empty part",
                                             wkt="MULTILINESTRING ((0 20, 1000 20), EMPTY)"),
    "river that is one point repeated": GeometryCase("rivers", "`LINESTRING (a, a, a)`", "rejected", "zero-length",
                                                     wkt="LINESTRING (0 20, 0 20, 0 20)"),
}

#: The feature each case replaces (its id, row 4 of farmland, row 0 of rivers).
TARGET = {"farmland": (4, "P5"), "rivers": (0, "R1")}


def make_geometry_town(folder: Path, case: GeometryCase) -> tuple[Path, str]:
    """Write the tiny town with ``case`` in place of one feature; return (GeoPackage, feature id)."""
    row, fid = TARGET[case.layer]
    base = layers()[case.layer]
    if case.wkt:
        geoms = list(base.geometry)
        geoms[row] = shapely.from_wkt(geo_wkt(case.wkt))
        gdf = base.set_geometry(geoms, crs=base.crs)
        folder.mkdir(parents=True, exist_ok=True)
        town = make_town(folder, overrides={case.layer: None})
        gdf.to_file(town, layer=case.layer, engine="pyogrio", geometry_type="Unknown")
        return town, fid
    town = make_town(folder, overrides={case.layer: None})
    wkb = [shapely.to_wkb(g) for g in base.geometry]
    wkb[row] = case.wkb
    cols = [c for c in base.columns if c != base.geometry.name]
    data = [base[c].to_numpy() for c in cols]
    pyogrio.raw.write(town, geometry=np.array(wkb, dtype=object), field_data=data, fields=cols, layer=case.layer,
                      driver="GPKG", geometry_type="Unknown", crs="EPSG:4490")
    return town, fid
