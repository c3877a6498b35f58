"""Geometry clean-up at the read boundary: nothing degenerate reaches GEOS.

Some geometries that GEOS accepts as input make its operations fail, or crash
the process outright (a segmentation fault, which no ``try`` can catch): a
polygon with an EMPTY interior ring, ``POLYGON ((0 0, 100 50, 0 100, 0 0),
EMPTY)``, written by some converters and *valid* by GEOS, kills
``shapely.buffer`` in GEOS 3.14. The only defence is that such geometries
never reach an analysis, so every reader cleans them, once, here:

:func:`sanitize_geometries` (run by :func:`gis_town.io.read.read_layer` and
again, idempotently, by :func:`gis_town.io.validate.validate_layer`; it
needs no knowledge of the layer):

* Z and M coordinates removed (every analysis is 2-D);
* NaN or infinite coordinates: rejected (GEOS cannot repair them);
* empty interior rings and empty parts removed; nested collections flattened;
* consecutive repeated points dropped;
* rings with fewer than 4 points (or lines with fewer than 2), as read or
  once repeated points are dropped: rejected.

:func:`conform_to_layer` (validation, knowing the layer's geometry type):

* null or empty: rejected;
* GeometryCollections split by type: the parts of the layer's type kept,
  the others reported;
* zero-length lines rejected;
* invalid geometries repaired with ``shapely.make_valid`` (GEOS's reason
  recorded), or rejected when nothing of the layer's type is left;
* any other geometry type rejected.

Curves (CircularString, CurvePolygon...) are linearised by GDAL as they are
read (:func:`gis_town.io.read.read_layer`).

Both steps are vectorised with shapely 2 array functions; a layer with
nothing wrong (a county's million parcels) pays a few array passes and no
Python loop. Only the odd features are rebuilt one by one.

Every change is returned per feature: ``action`` (``""``, ``"repaired"`` or
``"rejected"``) and ``reason`` (Chinese / English), for ``rejects.csv``.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import shapely
from shapely.errors import GEOSException, ShapelyError
from shapely.geometry import (
    GeometryCollection,
    LinearRing,
    LineString,
    MultiLineString,
    MultiPoint,
    MultiPolygon,
    Point,
    Polygon,
)

__all__ = [
    "FIX_COLUMNS",
    "REJECTED",
    "REPAIRED",
    "GeometryNotes",
    "conform_to_layer",
    "curved_rows",
    "sanitize_geometries",
]

log = logging.getLogger(__name__)

REPAIRED = "repaired"
REJECTED = "rejected"
#: Columns of the read-time fixes kept in ``gdf.attrs["geometry_fixes"]``.
FIX_COLUMNS = ["index", "action", "reason"]

# shapely type ids
_POINT, _LINE, _RING, _POLY, _MPOINT, _MLINE, _MPOLY, _GC = range(8)
_MULTI = (_MPOINT, _MLINE, _MPOLY, _GC)
_TYPE_NAMES = np.array(
    ["Point", "LineString", "LinearRing", "Polygon", "MultiPoint", "MultiLineString",
     "MultiPolygon", "GeometryCollection"],
    dtype=object,
)
#: geometry family -> (type ids of its parts, multi-part class, single-part class)
_FAMILIES = {
    "Polygon": ((_POLY, _MPOLY), MultiPolygon, Polygon),
    "LineString": ((_LINE, _RING, _MLINE), MultiLineString, LineString),
    "Point": ((_POINT, _MPOINT), MultiPoint, Point),
}
_FAMILY_OF = {
    "Polygon": "Polygon", "MultiPolygon": "Polygon", "LineString": "LineString",
    "MultiLineString": "LineString", "Point": "Point", "MultiPoint": "Point",
}

MSG_CURVE = "曲线几何无法使用，请先线性化 / curved geometry cannot be used: linearise it first"
MSG_ZM = "去除 Z/M 坐标 / Z/M coordinates dropped (analyses are 2-D)"
MSG_NONFINITE = "坐标含 NaN 或无穷大 / coordinates contain NaN or infinity"
MSG_EMPTY = "空几何 / null or empty geometry"
MSG_ZERO_LINE = "零长度线 / zero-length line"


class GeometryNotes:
    """Per-feature action and reasons, gathered across the clean-up steps.

    Parameters
    ----------
    n : int
        Number of features.
    """

    def __init__(self, n: int) -> None:
        self.action = np.full(n, "", dtype=object)
        self.reasons: dict[int, list[str]] = {}

    def add(self, rows: np.ndarray, action: str, reasons: str | list[str]) -> None:
        """Record ``action`` for ``rows`` (positions or a boolean mask), one reason each or one for all."""
        rows = np.flatnonzero(rows) if rows.dtype == bool else np.asarray(rows, dtype=int)
        if len(rows) == 0:
            return
        texts = [reasons] * len(rows) if isinstance(reasons, str) else list(reasons)
        for i, text in zip(rows.tolist(), texts):
            if self.action[i] != REJECTED:
                self.action[i] = action
            self.reasons.setdefault(i, []).append(text)

    def rejected(self) -> np.ndarray:
        """Boolean mask of rejected features."""
        return self.action == REJECTED

    def reason(self) -> np.ndarray:
        """One text per feature: its reasons joined with ``；`` (empty when untouched)."""
        out = np.full(len(self.action), "", dtype=object)
        for i, texts in self.reasons.items():
            out[i] = "；".join(dict.fromkeys(texts))
        return out

    def frame(self, index: pd.Index) -> pd.DataFrame:
        """The touched features as :data:`FIX_COLUMNS` (``index``: labels of ``index``)."""
        rows = np.array(sorted(self.reasons), dtype=int)
        reason = self.reason()
        return pd.DataFrame(
            {"index": index[rows] if len(rows) else [], "action": self.action[rows],
             "reason": reason[rows]},
            columns=FIX_COLUMNS,
        )


def _has_m(arr: np.ndarray) -> np.ndarray:
    has_m = getattr(shapely, "has_m", None)  # shapely >= 2.1
    return has_m(arr) if has_m is not None else np.zeros(len(arr), dtype=bool)


# --------------------------------------------------------------------------- sanitize


def sanitize_geometries(geoms) -> tuple[np.ndarray, GeometryNotes]:
    """Remove the structural oddities that GEOS mishandles (see the module docstring).

    Parameters
    ----------
    geoms : array-like of shapely geometries
        As read (None for missing). Not modified.

    Returns
    -------
    out : ndarray of object
        The geometries, cleaned; rejected ones are None.
    notes : GeometryNotes
        What was changed, per feature.
    """
    arr = np.array(np.asarray(geoms, dtype=object), dtype=object, copy=True)
    n = len(arr)
    notes = GeometryNotes(n)
    if n == 0:
        return arr, notes
    curved = curved_rows(arr)
    if curved.any():  # read_layer linearises them; one that comes another way cannot be used
        arr[curved] = None
        notes.add(curved, REJECTED, MSG_CURVE)
    zm = shapely.has_z(arr) | _has_m(arr)
    if zm.any():
        arr[zm] = shapely.force_2d(arr[zm])
        notes.add(zm, REPAIRED, MSG_ZM)
    coords, owner = shapely.get_coordinates(arr, return_index=True)
    x, y = coords[:, 0], coords[:, 1]
    nonfinite = np.zeros(n, dtype=bool)
    with np.errstate(over="ignore", invalid="ignore"):
        suspect = ~np.isfinite(x + y)  # one pass; an overflowing sum is confirmed below
    if suspect.any():
        bad = suspect.copy()
        bad[suspect] = ~(np.isfinite(x[suspect]) & np.isfinite(y[suspect]))
        nonfinite[np.unique(owner[bad])] = True
    # consecutive equal vertices of one feature (a ring's closing vertex next to the
    # next ring's first is a false alarm, settled by the rebuild)
    same = (x[1:] == x[:-1]) & (y[1:] == y[:-1]) & (owner[1:] == owner[:-1])
    repeated = np.zeros(n, dtype=bool)
    repeated[np.unique(owner[1:][same])] = True
    del coords, owner, same, x, y
    if nonfinite.any():
        arr[nonfinite] = None
        notes.add(nonfinite, REJECTED, MSG_NONFINITE)
    present = ~shapely.is_missing(arr)
    present[present] = ~shapely.is_empty(arr[present])
    odd = present & (_structure_flags(arr, present) | repeated)
    for i in np.flatnonzero(odd):
        fixed, texts, why = _rebuild(arr[i])
        if why:
            arr[i] = None
            notes.add(np.array([i]), REJECTED, why)
        elif texts:
            arr[i] = fixed
            notes.add(np.array([i]), REPAIRED, "；".join(texts))
    if odd.any():
        log.info("几何清理 / geometry clean-up: %d 个要素已检查重建 / %d features rebuilt", int(odd.sum()), int(odd.sum()))
    return arr, notes


def curved_rows(arr: np.ndarray) -> np.ndarray:
    """Features holding a curve inside a collection (GEOS >= 3.13 decodes those, shapely cannot use them).

    Only GeometryCollections are looked into (a top-level curve does not
    decode at all), so a layer without collections costs one array pass.
    """
    n = len(arr)
    out = np.zeros(n, dtype=bool)
    tid = shapely.get_type_id(arr)
    for i in np.flatnonzero(tid == _GC):
        todo = [arr[i]]
        try:
            while todo:
                h = todo.pop()
                t = shapely.get_type_id(h)
                if t > _GC:
                    raise NotImplementedError
                if t in _MULTI:
                    todo.extend(shapely.get_parts(h))
        except (NotImplementedError, GEOSException):
            out[i] = True
    out |= tid > _GC
    return out


def _structure_flags(arr: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Features with an empty part or ring, a nested collection, or a ring under 4 points."""
    n = len(arr)
    flag = np.zeros(n, dtype=bool)
    tid = np.full(n, -1)
    tid[present] = shapely.get_type_id(arr[present])
    holes = np.zeros(n, dtype=int)
    poly = tid == _POLY
    holes[poly] = shapely.get_num_interior_rings(arr[poly])
    ncoord = np.zeros(n, dtype=int)
    simple = poly & (holes == 0) | (tid == _RING)
    ncoord[simple] = shapely.get_num_coordinates(arr[simple])
    flag[simple] = ncoord[simple] < 4
    line = tid == _LINE
    flag[line] = shapely.get_num_coordinates(arr[line]) < 2
    deep = np.flatnonzero(np.isin(tid, _MULTI) | (poly & (holes > 0)))
    if len(deep) == 0:
        return flag
    parts, pown = shapely.get_parts(arr[deep], return_index=True)
    ptid = shapely.get_type_id(parts)
    pempty = shapely.is_empty(parts)
    bad_part = pempty | (ptid == _GC) | (ptid == _RING)
    pline = (ptid == _LINE) & ~pempty
    bad_part[pline] = shapely.get_num_coordinates(parts[pline]) < 2
    flag[deep[np.unique(pown[bad_part])]] = True
    ppoly = np.flatnonzero((ptid == _POLY) & ~pempty)
    if len(ppoly):
        rings, rown = shapely.get_rings(parts[ppoly], return_index=True)
        short = shapely.get_num_coordinates(rings) < 4  # 0: an EMPTY ring
        flag[deep[np.unique(pown[ppoly[rown[short]]])]] = True
    return flag


def _dedupe(coords: np.ndarray) -> tuple[np.ndarray, int]:
    """Drop consecutive repeated vertices; return (vertices, how many were dropped)."""
    if len(coords) < 2:
        return coords, 0
    keep = np.concatenate([[True], (coords[1:] != coords[:-1]).any(axis=1)])
    return coords[keep], int((~keep).sum())


def _rebuild(g) -> tuple[object, list[str], str]:
    """Rebuild one geometry without empty rings/parts and repeated points.

    Returns (geometry, notes, rejection reason); the reason is empty when the
    geometry is kept.
    """
    notes: list[str] = []
    stats = {"empty_ring": 0, "empty_part": 0, "repeated": 0, "nested": 0}
    try:
        out, why = _rebuild_part(g, stats)
    except (GEOSException, ShapelyError, ValueError) as exc:
        return None, [], f"几何结构损坏，无法重建 / broken geometry structure, cannot be rebuilt ({exc})"
    if why:
        return None, [], why
    if stats["empty_ring"]:
        notes.append(f"去除空内环 {stats['empty_ring']} 个 / {stats['empty_ring']} empty interior ring(s) removed")
    if stats["empty_part"]:
        notes.append(f"去除空的部分 {stats['empty_part']} 个 / {stats['empty_part']} empty part(s) removed")
    if stats["nested"]:
        notes.append("嵌套的几何集合已展开 / nested GeometryCollection flattened")
    if stats["repeated"]:
        notes.append(f"去除重复点 {stats['repeated']} 个 / {stats['repeated']} repeated point(s) dropped")
    return out, notes, ""


def _rebuild_part(g, stats: dict) -> tuple[object, str]:
    tid = shapely.get_type_id(g)
    if tid == _POINT:
        return g, ""
    if tid in (_LINE, _RING):
        c, k = _dedupe(shapely.get_coordinates(g))
        stats["repeated"] += k
        if tid == _LINE and len(c) < 2:
            return None, f"{MSG_ZERO_LINE}（所有点重合 / all its points coincide）"
        if tid == _RING and len(c) < 4:
            return None, f"环少于 4 个点 / a ring has fewer than 4 distinct points ({len(c)})"
        return (LinearRing(c) if tid == _RING else LineString(c)), ""
    if tid == _POLY:
        return _rebuild_polygon(g, stats)
    parts = []
    todo = list(shapely.get_parts(g))
    while todo:
        p = todo.pop(0)
        if p.is_empty:
            stats["empty_part"] += 1
        elif tid == _GC and shapely.get_type_id(p) == _GC:
            stats["nested"] += 1
            todo[:0] = list(shapely.get_parts(p))
        else:
            parts.append(p)
    rebuilt = []
    for p in parts:
        q, why = _rebuild_part(p, stats)
        if why:
            return None, why
        rebuilt.append(q)
    if tid == _MLINE:
        rebuilt = [LineString(r.coords) if isinstance(r, LinearRing) else r for r in rebuilt]
    cls = {_MPOINT: MultiPoint, _MLINE: MultiLineString, _MPOLY: MultiPolygon, _GC: GeometryCollection}[tid]
    return cls(rebuilt), ""


def _rebuild_polygon(g, stats: dict) -> tuple[object, str]:
    shell, k = _dedupe(shapely.get_coordinates(g.exterior))
    stats["repeated"] += k
    if len(shell) < 4:
        return None, f"外环少于 4 个点 / the exterior ring has fewer than 4 distinct points ({len(shell)})"
    holes = []
    for ring in g.interiors:
        if ring.is_empty:
            stats["empty_ring"] += 1
            continue
        c, k = _dedupe(shapely.get_coordinates(ring))
        stats["repeated"] += k
        if len(c) < 4:
            return None, f"内环少于 4 个点 / an interior ring has fewer than 4 distinct points ({len(c)})"
        holes.append(c)
    return Polygon(shell, holes), ""


# --------------------------------------------------------------------------- conform to the layer


def _families(allowed: tuple[str, ...] | list[str]) -> list[str]:
    """Geometry families of a layer, in the schema's order of preference."""
    return list(dict.fromkeys(_FAMILY_OF[t] for t in allowed if t in _FAMILY_OF))


def _flat_parts(g) -> list:
    """Single parts of a geometry, collections flattened to any depth."""
    out, todo = [], [g]
    while todo:
        h = todo.pop()
        if shapely.get_type_id(h) in _MULTI:
            todo.extend(reversed(list(shapely.get_parts(h))))
        elif not h.is_empty:
            out.append(h)
    return out


def _combine(parts: list, family: str):
    _, multi, _single = _FAMILIES[family]
    if family == "LineString":
        parts = [LineString(p.coords) if isinstance(p, LinearRing) else p for p in parts]
    return parts[0] if len(parts) == 1 else multi(parts)


def _split_collections(arr: np.ndarray, tid: np.ndarray, families: list[str], notes: GeometryNotes) -> None:
    """GeometryCollections: keep the parts of the layer's first family present; report the rest."""
    for i in np.flatnonzero(tid == _GC):
        parts = _flat_parts(arr[i])
        ptypes = [shapely.get_type_id(p) for p in parts]
        fam = next((f for f in families if any(t in _FAMILIES[f][0] for t in ptypes)), None)
        found = ", ".join(sorted({_TYPE_NAMES[t] for t in ptypes})) or "EMPTY"
        if fam is None:
            arr[i] = None
            notes.add(np.array([i]), REJECTED,
                      f"几何集合中没有 {'/'.join(families)} / GeometryCollection has no "
                      f"{'/'.join(families)} part (it has {found})")
            continue
        keep = [p for p, t in zip(parts, ptypes) if t in _FAMILIES[fam][0]]
        dropped = [_TYPE_NAMES[t] for t in ptypes if t not in _FAMILIES[fam][0]]
        arr[i] = _combine(keep, fam)
        extra = f"，舍弃 {len(dropped)} 个 ({', '.join(sorted(set(dropped)))})" if dropped else ""
        extra_en = f", dropped {len(dropped)} ({', '.join(sorted(set(dropped)))})" if dropped else ""
        notes.add(np.array([i]), REPAIRED,
                  f"几何集合已按类型拆分：保留 {len(keep)} 个 {fam}{extra} / GeometryCollection split "
                  f"by type: kept {len(keep)} {fam} part(s){extra_en}")


def _make_valid_one(g):
    try:
        return shapely.make_valid(g)
    except (GEOSException, ShapelyError):
        return None


def _repair(arr: np.ndarray, bad: np.ndarray, family: str, notes: GeometryNotes) -> None:
    """Repair invalid geometries with make_valid, keeping the family's parts with some size."""
    idx = np.flatnonzero(bad)
    reasons = shapely.is_valid_reason(arr[idx])
    try:
        fixed = shapely.make_valid(arr[idx])
    except (GEOSException, ShapelyError):  # one bad apple: repair one by one
        fixed = np.array([_make_valid_one(g) for g in arr[idx]] + [None], dtype=object)[:-1]
    codes = _FAMILIES[family][0]
    for i, r, g in zip(idx, reasons, fixed):
        parts = [p for p in _flat_parts(g)] if g is not None else []
        parts = [p for p in parts if shapely.get_type_id(p) in codes]
        if family == "Polygon":
            parts = [p for p in parts if p.area > 0]
        elif family == "LineString":
            parts = [p for p in parts if p.length > 0]
        if parts:
            merged = shapely.union_all(parts) if len(parts) > 1 and family == "Polygon" else _combine(parts, family)
            arr[i] = merged
            notes.add(np.array([i]), REPAIRED, f"几何无效已修复 / invalid geometry repaired (GEOS: {r})")
        else:
            arr[i] = None
            notes.add(np.array([i]), REJECTED,
                      f"几何无效且无法修复 / invalid geometry, cannot be repaired (GEOS: {r})")


def conform_to_layer(
    arr: np.ndarray, allowed: tuple[str, ...] | list[str], notes: GeometryNotes
) -> np.ndarray:
    """Make sanitised geometries fit a layer's geometry types (see the module docstring).

    Parameters
    ----------
    arr : ndarray of object
        Output of :func:`sanitize_geometries`; modified in place and returned.
    allowed : sequence of str
        The layer's accepted types (``LayerSchema.geometry``), in order of preference.
    notes : GeometryNotes
        Gathers what was done; rejected features end as None.

    Returns
    -------
    ndarray of object
    """
    n = len(arr)
    if n == 0:
        return arr
    families = _families(allowed)
    missing = shapely.is_missing(arr)
    null = missing.copy()
    null[~missing] = shapely.is_empty(arr[~missing])
    notes.add(null & ~notes.rejected(), REJECTED, MSG_EMPTY)
    tid = np.full(n, -1)
    tid[~null] = shapely.get_type_id(arr[~null])
    if (tid == _GC).any() and families:
        _split_collections(arr, tid, families, notes)
        tid = np.where(notes.rejected(), -1, tid)
        live = tid >= 0
        tid[live] = shapely.get_type_id(arr[live])
    live = tid >= 0
    ring = live & (tid == _RING)
    if ring.any() and "LineString" in families:  # a LinearRing read as a line: the same line
        arr[ring] = shapely.linestrings(shapely.get_coordinates(arr[ring]), indices=np.repeat(
            np.arange(int(ring.sum())), shapely.get_num_coordinates(arr[ring])))
        tid[ring] = _LINE
    if "LineString" in families:
        lines = live & np.isin(tid, _FAMILIES["LineString"][0])
        zero = np.zeros(n, dtype=bool)
        zero[lines] = shapely.length(arr[lines]) == 0
        notes.add(zero, REJECTED, MSG_ZERO_LINE)
        arr[zero] = None
        live &= ~zero
    valid = np.ones(n, dtype=bool)
    valid[live] = shapely.is_valid(arr[live])
    for fam in families:
        bad = live & ~valid & np.isin(tid, _FAMILIES[fam][0])
        if bad.any():
            _repair(arr, bad, fam, notes)
    live &= ~notes.rejected()
    tid[live] = shapely.get_type_id(arr[live])
    ok_codes = [c for f in families for c in _FAMILIES[f][0] if _TYPE_NAMES[c] in allowed]
    wrong = live & ~np.isin(tid, ok_codes)
    if wrong.any():
        want = "/".join(allowed)
        notes.add(wrong, REJECTED, [f"几何类型应为 {want} / expected {want}, got {_TYPE_NAMES[t]}" for t in tid[wrong]])
        arr[wrong] = None
    arr[notes.rejected()] = None
    return arr
