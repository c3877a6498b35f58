"""Geometries for the fuzz suite: the GEOS xmltester files and hypothesis-made degenerate shapes.

The xmltester files (GEOS's own test suite, LGPL) are read from
``../shared/realdata/geos-xmltester`` beside the repository (or
``$GIS_TOWN_REALDATA``); tests skip when it is absent. Every ``<a>`` and
``<b>`` input and every geometry-valued expected result is used; curves
(which shapely cannot hold) are kept as WKT text and written through GDAL.
"""

from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import shapely
from hypothesis import strategies as st

from tests.conftest import _realdata_dir

_HEX = re.compile(r"[0-9A-Fa-f]+")
_WKT_START = re.compile(r"^(POINT|LINESTRING|LINEARRING|POLYGON|MULTI|GEOMETRYCOLLECTION|CIRCULARSTRING|"
                        r"COMPOUNDCURVE|CURVEPOLYGON|MULTICURVE|MULTISURFACE)", re.IGNORECASE)
_CURVE = re.compile(r"CIRCULARSTRING|COMPOUNDCURVE|CURVEPOLYGON|MULTICURVE|MULTISURFACE", re.IGNORECASE)


@dataclass(frozen=True)
class Case:
    """One fuzz geometry: a shapely geometry, or the WKT of a curve (``geom`` None)."""

    name: str
    geom: object = None
    curve_wkt: str = ""


def xmltester_dir() -> Path | None:
    """The GEOS xmltester folder, or None when the shared real data is absent."""
    path = _realdata_dir() / "geos-xmltester"
    return path if path.is_dir() else None


def _texts(case: ET.Element) -> list[tuple[str, str]]:
    out = []
    for tag in ("a", "b"):
        for el in case.findall(tag):
            out.append((tag, (el.text or "").strip()))
    for k, op in enumerate(case.iter("op")):
        text = (op.text or "").strip()
        if _WKT_START.match(text):
            out.append((f"op{k}", text))
    return out


@lru_cache(maxsize=1)
def xmltester_cases() -> tuple[Case, ...]:
    """Every distinct geometry of every xmltester file (inputs and geometry results)."""
    root = xmltester_dir()
    if root is None:
        return ()
    seen: set[str] = set()
    cases: list[Case] = []
    for f in sorted(root.rglob("*.xml")):
        rel = f.relative_to(root).as_posix()
        for c, case in enumerate(ET.parse(f).getroot().iter("case")):
            for tag, text in _texts(case):
                if not text or text in seen:
                    continue
                seen.add(text)
                name = f"{rel}#{c}{tag}"
                if _CURVE.search(text[:200]) and not _HEX.fullmatch(text):
                    cases.append(Case(name, curve_wkt=" ".join(text.split())))
                    continue
                try:
                    g = shapely.from_wkb(bytes.fromhex(text)) if _HEX.fullmatch(text) else shapely.from_wkt(text)
                except Exception:  # a few cases are deliberately unparseable
                    continue
                cases.append(Case(name, geom=g))
    return tuple(cases)


def validity_cases() -> tuple[Case, ...]:
    """The polygonal inputs of the validity files (TestValid*, TestIsValid, makevalid)."""
    keep = ("TestValid.xml", "TestValid2.xml", "TestIsValid.xml", "makevalid.xml")
    return tuple(c for c in xmltester_cases() if c.name.split("#")[0] in keep and c.geom is not None
                 and c.geom.geom_type in ("Polygon", "MultiPolygon", "GeometryCollection"))


# --------------------------------------------------------------------------- hypothesis: degenerate shapes

CELL = 40.0  #: metres: every fuzz geometry is drawn in a cell this size

_coord = st.floats(min_value=0.0, max_value=CELL, allow_nan=False, allow_infinity=False)


def _ring_text(pts: list[tuple[float, float]]) -> str:
    return "(" + ", ".join(f"{x!r} {y!r}" for x, y in pts) + ")"


@st.composite
def simple_ring(draw, *, n_min: int = 3, n_max: int = 9) -> list[tuple[float, float]]:
    """A closed star-shaped ring (valid), its vertices sorted by angle round the cell centre."""
    n = draw(st.integers(n_min, n_max))
    angles = sorted(draw(st.lists(st.floats(0, 2 * math.pi - 1e-3), min_size=n, max_size=n, unique=True)))
    radii = draw(st.lists(st.floats(0.5, CELL / 2), min_size=n, max_size=n))
    c = CELL / 2
    pts = [(c + r * math.cos(a), c + r * math.sin(a)) for a, r in zip(angles, radii)]
    return [*pts, pts[0]]


@st.composite
def degenerate_polygon(draw) -> str:
    """WKT of a polygon with one of the oddities that break GEOS or analyses."""
    ring = draw(simple_ring())
    kind = draw(st.sampled_from([
        "plain", "empty_ring", "empty_part", "spike", "sliver", "dup", "near_dup", "self_touch",
        "hole_touch", "random", "nan", "inf", "z", "collection", "tiny", "huge",
    ]))
    if kind == "empty_ring":
        return f"POLYGON ({_ring_text(ring)}, EMPTY)"
    if kind == "empty_part":
        return f"MULTIPOLYGON (({_ring_text(ring)}), EMPTY)"
    if kind == "spike":
        k = draw(st.integers(1, len(ring) - 2))
        x, y = ring[k]
        far = draw(st.floats(1.0, 1e5))
        ring = ring[: k + 1] + [(x + far, y), (x, y)] + ring[k + 1:]
    elif kind == "sliver":
        x0 = draw(_coord)
        ring = [(x0, 0.0), (x0 + 10, draw(st.sampled_from([0.0, 1e-9, 1e-3]))), (x0 + 20, 0.0), (x0, 0.0)]
    elif kind == "dup":
        k = draw(st.integers(0, len(ring) - 2))
        ring = ring[: k + 1] + [ring[k]] * draw(st.integers(1, 4)) + ring[k + 1:]
    elif kind == "near_dup":
        k = draw(st.integers(0, len(ring) - 2))
        eps = draw(st.sampled_from([1e-12, 1e-9, 1e-6]))
        ring = ring[: k + 1] + [(ring[k][0] + eps, ring[k][1] - eps)] + ring[k + 1:]
    elif kind == "self_touch":  # the ring comes back to touch one of its own vertices
        ring = [(0, 0), (20, 0), (20, 20), (10, 0), (0, 20), (0, 0)]
    elif kind == "hole_touch":
        shell = [(0, 0), (30, 0), (30, 30), (0, 30), (0, 0)]
        hole = [(0, 15), (10, 10), (10, 20), (0, 15)] if draw(st.booleans()) else [(5, 5), (30, 15), (5, 25), (5, 5)]
        return f"POLYGON ({_ring_text(shell)}, {_ring_text(hole)})"
    elif kind == "random":  # any vertices: bow-ties, self-intersections
        pts = draw(st.lists(st.tuples(_coord, _coord), min_size=3, max_size=8))
        ring = [*pts, pts[0]]
    elif kind in ("nan", "inf"):  # an inner vertex: the ring stays closed
        k = draw(st.integers(1, len(ring) - 2))
        ring = list(ring)
        ring[k] = (float(kind), ring[k][1])
    elif kind == "z":
        return "POLYGON Z (" + "(" + ", ".join(f"{x!r} {y!r} 1900" for x, y in ring) + "))"
    elif kind == "collection":
        return (f"GEOMETRYCOLLECTION (POLYGON ({_ring_text(ring)}), LINESTRING (0 0, 5 5), POINT (1 1), "
                "POLYGON EMPTY, GEOMETRYCOLLECTION (POINT EMPTY))")
    elif kind in ("tiny", "huge"):
        s = draw(st.sampled_from([1e-9, 1e-6, 1e-3])) if kind == "tiny" else draw(st.sampled_from([10.0, 1e3, 1e4]))
        ring = [(x * s, y * s) for x, y in ring]
    return f"POLYGON ({_ring_text(ring)})"


@st.composite
def degenerate_line(draw) -> str:
    """WKT of a line with an oddity: zero length, repeated points, empty parts, spikes, NaN."""
    pts = draw(st.lists(st.tuples(_coord, _coord), min_size=2, max_size=6))
    kind = draw(st.sampled_from(["plain", "zero", "dup", "empty_part", "spike", "nan", "z", "ring", "tiny"]))
    if kind == "zero":
        pts = [pts[0]] * draw(st.integers(2, 4))
    elif kind == "dup":
        pts = [pts[0], pts[0], *pts[1:], pts[-1]]
    elif kind == "empty_part":
        return f"MULTILINESTRING ({_ring_text(pts)}, EMPTY)"
    elif kind == "spike":
        pts = [pts[0], (pts[0][0] + draw(st.floats(1.0, 1e5)), pts[0][1]), *pts]
    elif kind == "nan":
        pts = [(float("nan"), pts[0][1]), *pts[1:]]
    elif kind == "z":
        return "LINESTRING Z (" + ", ".join(f"{x!r} {y!r} 5" for x, y in pts) + ")"
    elif kind == "ring":
        return f"LINEARRING {_ring_text([*pts, pts[0]] if len(pts) >= 3 else [pts[0], pts[1], (pts[0][0], pts[1][1]), pts[0]])}"
    elif kind == "tiny":
        pts = [(x * 1e-9, y * 1e-9) for x, y in pts]
    return f"LINESTRING {_ring_text(pts)}"


def degenerate_batch(min_size: int = 6, max_size: int = 14):
    """A list of WKT texts (polygons and lines) for one fuzz town."""
    return st.lists(st.one_of(degenerate_polygon(), degenerate_polygon(), degenerate_line()),
                    min_size=min_size, max_size=max_size)


def cases_from_wkt(texts: list[str], prefix: str = "hyp") -> list[Case]:
    """Parse hypothesis' WKT texts (NaN/inf included) into cases."""
    out = []
    for k, text in enumerate(texts):
        out.append(Case(f"{prefix}{k}", geom=shapely.from_wkt(text)))
    return out
