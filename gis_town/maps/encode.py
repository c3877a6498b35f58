"""Compact, safe encoding of map layers for the page.

folium's ``GeoJson`` writes every coordinate as a 15-17 digit float inside
``[...]`` pairs and every property as ``"key": value``: about 440 bytes a
farmland parcel. Here a layer becomes one small JSON object:

* coordinates rounded to ``10**-decimals`` degrees (6 decimals: about 0.1 m)
  as integers, delta-encoded within each ring or line (neighbouring vertices
  differ by a few hundred units), in the GeoArrow layout of
  :func:`shapely.to_ragged_array` (vectorised);
* every integer array (coordinates, ring lengths, style and dictionary codes)
  written as one string in the *encoded polyline* varint format (zigzag sign,
  5-bit groups, characters ``?``..``~``; Google's polyline algorithm): a
  delta of a few hundred units takes 2 characters instead of 4-5 digits and
  a comma, and a trivial offset array (one ring per polygon, one part per
  feature) is left out;
* the closing vertex of each polygon ring dropped (Leaflet closes rings);
* only the columns the map shows, each one a list of strings, or a
  dictionary and codes when values repeat (status, land use), or
  front-coded (shared prefix length + suffix) when neighbouring values
  share a prefix (parcel ids);
* every string HTML-escaped (:func:`gis_town.maps.spec.escape_series`) before
  it is written, and the JSON written with ``<``, ``>``, U+2028 and U+2029 as
  ``\\u`` escapes, so no value can close the ``<script>`` element.

A small script in the page (:data:`gis_town.maps.page.DECODER_JS`) turns it
back into Leaflet layers.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town import settings
from gis_town.maps.gcj02 import shift_coords_to_gcj02
from gis_town.maps.spec import LayerSpec, escape, escape_series, format_series

__all__ = [
    "decode_varints",
    "encode_geometries",
    "encode_varints",
    "encode_layer",
    "int_list",
    "label_points",
    "safe_json",
    "simplify_layer",
    "display_simplify",
    "display_tolerance_m",
    "fit_zoom",
]

log = logging.getLogger(__name__)

_JSON_ESCAPES = {ord("<"): "\\u003c", ord(">"): "\\u003e", 0x2028: "\\u2028", 0x2029: "\\u2029"}


def safe_json(obj: object) -> str:
    """JSON that is safe inside a ``<script>`` element and inside a folium (Jinja) element.

    ``<``, ``>``, U+2028 and U+2029 become ``\\u`` escapes (no ``</script>``,
    no ``<!--``). ``{{``, ``{%`` and ``{#`` (which can only occur inside JSON
    strings) get their second character escaped: branca compiles every
    rendered script as a Jinja template, so a value such as ``{{ 7*7 }}``
    would otherwise be evaluated on the machine that makes the map.
    """
    text = json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    text = text.translate(_JSON_ESCAPES)
    return text.replace("{{", "{\\u007b").replace("{%", "{\\u0025").replace("{#", "{\\u0023")


def int_list(values: np.ndarray) -> str:
    """A JSON array of integers, written fast."""
    arr = np.asarray(values, dtype="int64")
    if arr.size == 0:
        return "[]"
    return "[" + ",".join(map(str, arr.tolist())) + "]"


def encode_varints(values: np.ndarray) -> str:
    """Integers as an encoded-polyline string (zigzag, 5-bit groups, chars 63-126), vectorised.

    Examples
    --------
    >>> encode_varints(np.array([0, 1, -1, 500, -500]))
    '?A@g^f^'
    """
    v = np.asarray(values, dtype="int64").ravel()
    if v.size == 0:
        return ""
    z = np.where(v < 0, ~(v << 1), v << 1).astype("uint64")  # zigzag
    nbits = np.zeros(len(z), dtype="int64")
    nz = z > 0
    nbits[nz] = np.floor(np.log2(z[nz].astype("float64"))).astype("int64") + 1
    # float log2 can be off by one near powers of two: fix exactly
    nbits = np.where(
        (nbits > 0) & ((z >> np.maximum(nbits, 1).astype("uint64")) > 0), nbits + 1, nbits
    )
    nbits = np.where((nbits > 1) & ((z >> (nbits - 1).astype("uint64")) == 0), nbits - 1, nbits)
    k = np.maximum(1, -(-nbits // 5))
    kmax = int(k.max())
    j = np.arange(kmax, dtype="uint64")
    chunks = ((z[:, None] >> (5 * j)[None, :]) & np.uint64(31)).astype("int64")
    more = j[None, :].astype("int64") < (k[:, None] - 1)
    chars = chunks + np.where(more, 32, 0) + 63
    mask = j[None, :].astype("int64") < k[:, None]
    return chars[mask].astype("uint8").tobytes().decode("ascii")


def decode_varints(text: str) -> np.ndarray:
    """Inverse of :func:`encode_varints` (for tests and tools)."""
    b = np.frombuffer(text.encode("ascii"), dtype="uint8").astype("int64") - 63
    out = []
    result, shift = 0, 0
    for x in b.tolist():
        result |= (x & 31) << shift
        shift += 5
        if x < 32:
            out.append(~(result >> 1) if result & 1 else result >> 1)
            result, shift = 0, 0
    return np.asarray(out, dtype="int64")


class _Raw(str):
    """A pre-serialised JSON fragment."""


def _dumps(obj: object) -> str:
    """Serialise dicts and lists that may hold :class:`_Raw` fragments."""
    if isinstance(obj, _Raw):
        return str(obj)
    if isinstance(obj, dict):
        return "{" + ",".join(f"{safe_json(str(k))}:{_dumps(v)}" for k, v in obj.items()) + "}"
    if isinstance(obj, (list, tuple)) and any(
        isinstance(v, (_Raw, dict, list, tuple)) for v in obj
    ):
        return "[" + ",".join(_dumps(v) for v in obj) + "]"
    return safe_json(obj)


def _normalise_offsets(
    gtype: shapely.GeometryType, n_coords: int, offsets: tuple
) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """Return (kind, ring offsets, part offsets, feature offsets) for any geometry type."""
    t = shapely.GeometryType
    if gtype == t.POLYGON:
        r, p = offsets
        return "P", r, p, np.arange(len(p), dtype="int64")
    if gtype == t.MULTIPOLYGON:
        r, p, g = offsets
        return "P", r, p, g
    if gtype == t.LINESTRING:
        (r,) = offsets
        return "L", r, np.arange(len(r), dtype="int64"), np.arange(len(r), dtype="int64")
    if gtype == t.MULTILINESTRING:
        r, g = offsets
        return "L", r, np.arange(len(r), dtype="int64"), g
    if gtype == t.POINT:
        idx = np.arange(n_coords + 1, dtype="int64")
        return "M", idx, idx, idx
    if gtype == t.MULTIPOINT:
        (g,) = offsets
        return (
            "M",
            np.arange(n_coords + 1, dtype="int64"),
            np.arange(n_coords + 1, dtype="int64"),
            g,
        )
    raise ValueError(f"unsupported geometry type for maps: {gtype}")


def encode_geometries(
    geoms: np.ndarray,
    *,
    decimals: int = settings.MAP_COORD_DECIMALS,
    gcj02: bool = False,
    origin: tuple[int, int] | None = None,
) -> dict:
    """Encode lon/lat geometries of one family into the compact layout.

    Parameters
    ----------
    geoms : array of shapely geometries
        Non-empty, in lon/lat degrees, one family (polygons, lines or points,
        single and multi mixed).
    decimals : int
        Decimal places of a degree kept (6: about 0.1 m).
    gcj02 : bool
        Shift every coordinate WGS84 -> GCJ-02 first (for Gaode tiles).
    origin : (int, int), optional
        Integer origin subtracted from the first vertex of each ring.

    Returns
    -------
    dict with ``t`` (P polygon, L line, M point), ``m`` (10**decimals),
    ``o`` (origin), ``c`` (delta-encoded integers x, y, ... as a varint
    string), ``r`` (vertices per ring or line), ``p`` (rings per polygon;
    empty when every polygon has one ring), ``g`` (parts per feature, points
    per feature for M; empty when every feature has one), ``nf`` (features).
    """
    gtype, coords, offsets = shapely.to_ragged_array(
        np.asarray(geoms, dtype=object), include_z=False
    )
    if gcj02:
        coords = shift_coords_to_gcj02(coords)
    kind, r, p, g = _normalise_offsets(gtype, len(coords), offsets)
    r = np.asarray(r, dtype="int64")
    mult = 10**decimals
    q = np.rint(coords * mult).astype("int64")
    if kind == "P" and len(r) > 1:
        # drop each ring's closing vertex (equal to its first)
        keep = np.ones(len(q), dtype=bool)
        ends = r[1:] - 1
        closed = (r[1:] - r[:-1] > 1) & np.all(q[ends] == q[r[:-1]], axis=1)
        keep[ends[closed]] = False
        q = q[keep]
        r = r - np.concatenate([[0], np.cumsum(closed)])
    if origin is None:
        origin = (int(q[:, 0].min()), int(q[:, 1].min())) if len(q) else (0, 0)
    d = q.copy()
    if len(q):
        d[1:] -= q[:-1]
        starts = r[:-1][r[:-1] < len(q)] if kind != "M" else np.arange(len(q))
        d[starts] = q[starts] - np.asarray(origin, dtype="int64")
    ring_len = np.diff(r) if kind != "M" else np.zeros(0, dtype="int64")
    part_len = np.diff(np.asarray(p, dtype="int64")) if kind == "P" else np.zeros(0, dtype="int64")
    feat_len = np.diff(np.asarray(g, dtype="int64"))
    return {
        "t": kind,
        "m": mult,
        "o": list(origin),
        "c": encode_varints(d.ravel()),
        "r": encode_varints(ring_len),
        # empty string = one ring per polygon / one part (point) per feature
        "p": "" if np.all(part_len == 1) else encode_varints(part_len),
        "g": "" if np.all(feat_len == 1) else encode_varints(feat_len),
        "nf": int(len(feat_len)),
    }


def label_points(geoms: np.ndarray) -> np.ndarray:
    """Where to put a text label: a point inside each polygon, the middle of each line."""
    geoms = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(geoms)
    out = shapely.point_on_surface(geoms)
    lines = np.isin(types, (1, 2, 5))
    if lines.any():
        out[lines] = shapely.line_interpolate_point(geoms[lines], 0.5, normalized=True)
    return out


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _front_code(values: list[str]) -> tuple[np.ndarray, list[str]]:
    """Shared-prefix lengths (UTF-16 units, as JS counts) with the previous value, and the suffixes.

    Vectorised: the strings as a code-point matrix, compared with the row above.
    """
    n = len(values)
    if n == 0:
        return np.zeros(0, dtype="int64"), []
    width = max(1, max(len(v) for v in values))
    cps = np.array(values, dtype=f"<U{width}").view("uint32").reshape(n, width)
    prev = np.vstack([np.zeros((1, width), dtype="uint32"), cps[:-1]])
    same = (cps == prev) & (cps != 0)
    k = np.where(same.all(axis=1), width, np.argmin(same, axis=1))  # code points shared
    # JS counts UTF-16 units: characters beyond the BMP take two
    wide = np.cumsum(cps > 0xFFFF, axis=1)
    extra = np.where(k > 0, wide[np.arange(n), np.maximum(k - 1, 0)], 0)
    suffixes = [v[i:] for v, i in zip(values, k.tolist())]
    return (k + extra).astype("int64"), suffixes


def _encode_column(values: pd.Series) -> dict:
    """A column of already escaped strings: dictionary-coded when values repeat, front-coded when they share prefixes."""
    s = values.astype("string").fillna("")
    n = len(s)
    codes, uniques = pd.factorize(s, sort=False)
    if n and len(uniques) <= max(1, n // 3):
        return {"d": [str(u) for u in uniques], "i": encode_varints(codes)}
    plain = s.tolist()
    ks, suffixes = _front_code(plain)
    saved = int(sum(len(a) - len(b) for a, b in zip(plain, suffixes)))
    if saved > 2 * n:
        return {"k": encode_varints(ks), "x": suffixes}
    return {"s": plain}


def simplify_layer(
    gdf: gpd.GeoDataFrame, tolerance_m: float, gk_crs, *, coverage: bool
) -> gpd.GeoDataFrame:
    """Simplify geometries by ``tolerance_m`` metres (in the Gauss-Kruger zone ``gk_crs``).

    Polygon coverages (villages, parcels that tile) use
    :func:`shapely.coverage_simplify`, which keeps shared borders shared (no
    gaps or slivers between neighbours); other layers use topology-preserving
    simplification per feature.
    """
    if tolerance_m <= 0 or len(gdf) == 0:
        return gdf
    src_crs = gdf.crs
    proj = gdf.to_crs(gk_crs)
    geoms = np.asarray(proj.geometry.values)
    kind_poly = bool(np.all(np.isin(shapely.get_type_id(geoms), (3, 6))))
    if coverage and kind_poly:
        try:
            simp = shapely.coverage_simplify(geoms, tolerance_m)
        except Exception as exc:
            log.warning(
                "覆盖简化失败，改用逐要素简化 / coverage simplification failed (%s); simplifying each feature",
                exc,
            )
            simp = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    else:
        simp = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
    empty = shapely.is_empty(simp)
    simp = np.where(empty, geoms, simp)
    out = proj.set_geometry(gpd.GeoSeries(simp, index=proj.index, crs=gk_crs))
    return out.to_crs(src_crs)


#: Web Mercator metres per pixel at zoom 0 on the equator (256-pixel tiles).
_M_PER_PX_Z0 = 2 * np.pi * 6_378_137.0 / 256


def fit_zoom(bounds: tuple[float, float, float, float], view_px: tuple[int, int]) -> int:
    """The whole zoom at which Leaflet's ``fitBounds`` shows lon/lat ``bounds`` in ``view_px``.

    Parameters
    ----------
    bounds : tuple of float
        ``(west, south, east, north)`` in degrees.
    view_px : tuple of int
        The view's (width, height) in CSS pixels.

    Returns
    -------
    int
        The largest zoom (0-20) at which the bounds fit.
    """
    w, s, e, n = bounds
    y = lambda lat: np.log(np.tan(np.pi / 4 + np.radians(np.clip(lat, -85.0, 85.0)) / 2))  # noqa: E731
    dx = max(np.radians(e - w), 1e-12) / (2 * np.pi)  # world widths
    dy = max(y(n) - y(s), 1e-12) / (2 * np.pi)
    z = min(np.log2(view_px[0] / 256 / dx), np.log2(view_px[1] / 256 / dy))
    return int(np.clip(np.floor(z), 0, 20))


def display_tolerance_m(
    bounds: tuple[float, float, float, float],
    *,
    view_px: tuple[int, int] = settings.MAP_VIEW_PX,
    px: float = settings.MAP_DISPLAY_PX,
    zooms: int = settings.MAP_DISPLAY_ZOOMS,
) -> float:
    """Ground metres of ``px`` pixels at ``zooms`` zooms closer than the first view of ``bounds``.

    Parameters
    ----------
    bounds : tuple of float
        The layer's ``(west, south, east, north)`` in degrees.
    view_px : tuple of int
        The screen the first view is planned for (CSS pixels).
    px : float
        Pixels of error allowed there.
    zooms : int
        Zooms closer than the one that fits ``bounds``.

    Returns
    -------
    float
        Tolerance in metres (Web Mercator pixel size at the layer's middle latitude).
    """
    z = fit_zoom(bounds, view_px) + zooms
    lat = np.radians((bounds[1] + bounds[3]) / 2)
    return float(px * _M_PER_PX_Z0 * np.cos(lat) / 2**z)


def display_simplify(
    gdf: gpd.GeoDataFrame,
    gk_crs,
    *,
    coverage: bool = True,
    max_vertices: int | None = None,
) -> tuple[gpd.GeoDataFrame, float]:
    """A layer with more than ``max_vertices`` vertices, simplified for display.

    The tolerance is :func:`display_tolerance_m` of the layer's bounds; a
    polygon coverage is simplified with :func:`shapely.coverage_simplify`, so
    neighbours keep one shared border (no gaps, no overlaps), other layers
    (rivers) feature by feature, keeping their topology. Only what the page
    draws changes; the layer itself is not touched.

    Parameters
    ----------
    gdf : GeoDataFrame
        The layer (any CRS).
    gk_crs : CRS
        Gauss-Kruger zone the simplification works in (metres).
    coverage : bool
        The polygons tile (villages): simplify them as one coverage.
    max_vertices : int, optional
        Layers with at most this many vertices are returned as they are
        (default :data:`~gis_town.settings.MAP_DISPLAY_VERTICES`).

    Returns
    -------
    (GeoDataFrame, float)
        The frame to draw (in ``gdf``'s CRS) and the tolerance used in metres
        (0 when left as it is).
    """
    limit = settings.MAP_DISPLAY_VERTICES if max_vertices is None else max_vertices
    n_vertices = int(shapely.get_num_coordinates(np.asarray(gdf.geometry.values)).sum())
    if len(gdf) == 0 or n_vertices <= limit:
        return gdf, 0.0
    b = gdf.to_crs(4326).total_bounds
    tol = display_tolerance_m((float(b[0]), float(b[1]), float(b[2]), float(b[3])))
    out = simplify_layer(gdf, tol, gk_crs, coverage=coverage)
    log.info(
        "显示简化 %.1f 米 / simplified for display at %.1f m: %d -> %d vertices",
        tol,
        tol,
        n_vertices,
        int(shapely.get_num_coordinates(np.asarray(out.geometry.values)).sum()),
    )
    return out, tol


def encode_layer(
    spec: LayerSpec,
    lonlat: gpd.GeoDataFrame,
    *,
    decimals: int = settings.MAP_COORD_DECIMALS,
    gcj02: bool = False,
) -> tuple[str, int]:
    """Encode one layer's features and shown values; return (JSON text, features written).

    Parameters
    ----------
    spec : LayerSpec
    lonlat : GeoDataFrame
        ``spec.gdf`` in lon/lat (EPSG:4490/4326), already simplified if wanted.
    """
    geom = lonlat.geometry
    ok = ~(geom.isna() | geom.is_empty)
    if not ok.all():
        log.info(
            "地图图层 %s: %d 个空几何未绘制 / %d empty geometries not drawn",
            spec.name,
            int((~ok).sum()),
            int((~ok).sum()),
        )
    frame = lonlat.loc[ok.to_numpy()]
    geoms = np.asarray(frame.geometry.values)
    out: dict = {}
    if len(frame):
        out.update(encode_geometries(geoms, decimals=decimals, gcj02=gcj02))
    else:
        out.update(
            {
                "t": {"polygon": "P", "line": "L", "point": "M"}[spec.kind],
                "m": 10**decimals,
                "o": [0, 0],
                "c": "",
                "r": "",
                "p": "",
                "g": "",
                "nf": 0,
            }
        )
    # style index per feature
    styles = [spec.style]
    if spec.category is not None:
        classes = spec.classes()
        styles = [spec.style] + [spec.style_of(c) for c in classes]
        index = {c: i + 1 for i, c in enumerate(classes)}
        cat = frame[spec.category]
        idx = cat.map(lambda v: index.get(v, 0)).fillna(0).astype("int64").to_numpy()
        out["s"] = encode_varints(idx)
    out["st"] = [s.to_leaflet() for s in styles]
    out["rad"] = [s.radius for s in styles]
    # shown columns: formatted, escaped, encoded
    shown: list[str] = list(dict.fromkeys([*spec.fields, *(spec.tooltip or [])]))
    cols = []
    for col in shown:
        text = escape_series(format_series(frame[col], col, spec.codes))
        cols.append(_encode_column(text))
    out["f"] = [escape(spec.label(c)) for c in shown]
    out["v"] = cols
    out["pf"] = [shown.index(c) for c in spec.fields]
    out["tf"] = [shown.index(c) for c in (spec.tooltip or [])]
    out["n"] = escape(spec.name)
    if spec.label_field and len(frame):
        pts = label_points(geoms)
        xy = shapely.get_coordinates(pts)
        if gcj02:
            xy = shift_coords_to_gcj02(xy)
        q = np.rint(xy * 10**decimals).astype("int64") - np.asarray(out["o"], dtype="int64")
        out["lp"] = encode_varints(q.ravel())
        out["lt"] = escape_series(
            format_series(frame[spec.label_field], spec.label_field, spec.codes)
        ).tolist()
    return _dumps(out), int(len(frame))


def bounds_lonlat(frames: Sequence[gpd.GeoDataFrame]) -> tuple[float, float, float, float] | None:
    """Combined lon/lat bounds of non-empty frames."""
    boxes = [f.total_bounds for f in frames if len(f) and np.all(np.isfinite(f.total_bounds))]
    if not boxes:
        return None
    b = np.vstack(boxes)
    return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())
