"""Parcels x zones overlay by true intersection, fast: areas per (parcel, zone).

The planner's baseline is ``geopandas.overlay(parcels, zones)`` followed by an
area: it intersects *every* candidate pair with GEOS. Most parcels lie wholly
inside one zone, so :func:`area_by_zone`

1. finds the candidate pairs with one :class:`shapely.STRtree` query (the tree
   holds the parcels; each zone is prepared once and queried with
   ``intersects``),
2. tests ``zone contains parcel`` for all pairs in one vectorised call (with
   the zones prepared): those pairs take the parcel's own ellipsoidal area,
   with no intersection at all,
3. runs :func:`shapely.intersection` only for the pairs that cross a zone
   boundary, and measures the pieces' ellipsoidal area (CGCS2000, via
   :func:`gis_town.geodesy.area_m2`).

Pieces that only touch a zone (a shared edge, zero area) are dropped.
Every area is ellipsoidal, never planar in degrees.

Functions
---------
:func:`area_by_zone`
    One row per (parcel, zone) piece with its area (optionally the piece
    geometries as a GeoDataFrame).
:func:`totals_by_zone`
    Piece areas summed per zone (or per any zone column, e.g. ``kind``), with
    optional flagged parts (e.g. film-mulched area).
:func:`inside_outside`
    Per parcel: area inside and outside a zone layer (e.g. permanent basic
    farmland 永久基本农田), overlapping zones counted once.

Zones of different kinds may overlap (a corridor crossing the valley): the
pieces then include one row per zone, so sums over *all* zones double count;
sum per zone or per kind (:func:`totals_by_zone` with ``by="kind"`` sums within
one kind), or use :func:`inside_outside` for a union.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS

from gis_town import settings
from gis_town.errors import CRSError, FieldError
from gis_town.geodesy import area_m2, m2_to_mu

__all__ = ["PIECE_COLUMNS", "area_by_zone", "inside_outside", "subdivide", "totals_by_zone"]

log = logging.getLogger(__name__)

#: Columns every :func:`area_by_zone` result has (besides the requested id/attribute columns).
PIECE_COLUMNS: tuple[str, ...] = (
    "parcel_row",
    "zone_row",
    "area_m2",
    "parcel_area_m2",
    "share",
    "whole",
)

_DEFAULT_PARCEL_COLUMNS = ("parcel_id",)
_DEFAULT_ZONE_COLUMNS = ("zone_id", "kind", "name")


def _geoms(gdf: gpd.GeoDataFrame | gpd.GeoSeries) -> np.ndarray:
    geom = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
    return np.asarray(geom.values, dtype=object)


def _same_crs(parcels, zones, parcels_layer: str, zones_layer: str):
    if parcels.crs is None:
        raise CRSError(
            "没有坐标系 / the layer has no CRS: set one (e.g. EPSG:4490)", layer=parcels_layer
        )
    if zones.crs is None:
        raise CRSError(
            "没有坐标系 / the layer has no CRS: set one (e.g. EPSG:4490)", layer=zones_layer
        )
    if not CRS.from_user_input(parcels.crs).equals(CRS.from_user_input(zones.crs)):
        log.info(
            "%s 转换到 %s 的坐标系 / reprojecting %s to %s's CRS",
            zones_layer,
            parcels_layer,
            zones_layer,
            parcels_layer,
        )
        zones = zones.to_crs(parcels.crs)
    return zones


def _valid(geoms: np.ndarray, layer: str) -> np.ndarray:
    """Repair invalid polygons (logged): GEOS intersection needs valid input."""
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    bad = present & ~shapely.is_valid(geoms)
    if bad.any():
        log.warning(
            "%s: %d 个几何无效，已按 make_valid 修复后求交 / %d invalid geometries repaired with make_valid "
            "before intersection (validate the layer to see them in rejects.csv)",
            layer,
            int(bad.sum()),
            int(bad.sum()),
        )
        geoms = geoms.copy()
        geoms[bad] = shapely.make_valid(geoms[bad])
    return geoms


def _pick_columns(
    gdf: gpd.GeoDataFrame, wanted: Sequence[str] | None, default: Sequence[str], layer: str
) -> list[str]:
    if wanted is None:
        return [c for c in default if c in gdf.columns]
    missing = [c for c in wanted if c not in gdf.columns]
    if missing:
        have = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        raise FieldError(
            f"缺少字段 / missing field(s) {', '.join(missing)}; the layer has: {have}",
            layer=layer,
            field=", ".join(missing),
        )
    return list(wanted)


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """Keep only the polygonal parts of geometry collections (intersection by-products)."""
    out = geoms.copy()
    coll = shapely.get_type_id(out) == 7
    for i in np.flatnonzero(coll):
        parts = [p for p in shapely.get_parts(out[i]) if shapely.get_type_id(p) in (3, 6)]
        out[i] = shapely.union_all(parts) if parts else shapely.Polygon()
    return out


def area_by_zone(
    parcels: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    parcel_columns: Sequence[str] | None = None,
    zone_columns: Sequence[str] | None = None,
    parcel_id: str | None = None,
    zone_id: str | None = None,
    pieces: bool = False,
    min_area_m2: float = 0.0,
    parcels_layer: str = "farmland",
    zones_layer: str = "zones",
) -> pd.DataFrame | gpd.GeoDataFrame:
    """Ellipsoidal area of every parcel inside every zone, by true intersection.

    Parameters
    ----------
    parcels : GeoDataFrame
        Polygons (e.g. the ``farmland`` layer) with a CRS. Null or empty
        geometries get no rows.
    zones : GeoDataFrame
        Polygons (e.g. ``zones``, ``basic_farmland``) with a CRS; reprojected
        to the parcels' CRS when it differs. Zones may overlap each other.
    parcel_columns : sequence of str, optional
        Parcel columns copied onto each piece (default: ``parcel_id`` when
        present). Use it to carry ``status``, ``film_mulch``, ``project``...
    zone_columns : sequence of str, optional
        Zone columns copied onto each piece (default: those of ``zone_id``,
        ``kind``, ``name`` present). A zone column whose name is also a parcel
        column is renamed ``zone_<name>``.
    parcel_id, zone_id : str, optional
        Shorthand: the id column to carry when ``parcel_columns`` /
        ``zone_columns`` are not given (then only that column is carried),
        e.g. ``area_by_zone(farmland, basic_farmland, zone_id="zone_id")``.
    pieces : bool, default False
        If True, return a GeoDataFrame with each piece's geometry (the parcel
        itself for whole pairs, the intersection otherwise; polygonal parts
        only) in the parcels' CRS.
    min_area_m2 : float, default 0
        Pieces of at most this area (m²) are dropped; 0 drops only pairs that
        merely touch (shared edges, zero area).
    parcels_layer, zones_layer : str
        Layer names used in error messages and logs.

    Returns
    -------
    DataFrame or GeoDataFrame
        One row per (parcel, zone) piece, ordered by parcel then zone, with:

        - ``parcel_row``, ``zone_row`` (int): positions in the inputs
          (``parcels.iloc[parcel_row]``),
        - the requested parcel and zone columns,
        - ``area_m2`` (float): ellipsoidal area of the piece, m²,
        - ``parcel_area_m2`` (float): ellipsoidal area of the whole parcel, m²,
        - ``share`` (float): ``area_m2 / parcel_area_m2`` (0..1),
        - ``whole`` (bool): True when the parcel lies wholly inside the zone
          (its full area was taken without intersection).

    Raises
    ------
    CRSError
        When either layer has no CRS.
    FieldError
        When a requested column is missing.

    Notes
    -----
    Within one kind whose zones tile the area, the pieces of a parcel add up
    to the parcel's area (to ~1e-9). Across overlapping zones they double
    count: sum per zone or per kind, or use :func:`inside_outside`.

    Examples
    --------
    >>> pieces = area_by_zone(farmland, zones, parcel_columns=["parcel_id", "film_mulch"])
    >>> pieces.groupby("zone_id")["area_m2"].sum()          # doctest: +SKIP
    """
    zones = _same_crs(parcels, zones, parcels_layer, zones_layer)
    if parcel_columns is None and parcel_id is not None:
        parcel_columns = [parcel_id]
    if zone_columns is None and zone_id is not None:
        zone_columns = [zone_id]
    pcols = _pick_columns(parcels, parcel_columns, _DEFAULT_PARCEL_COLUMNS, parcels_layer)
    zcols = _pick_columns(zones, zone_columns, _DEFAULT_ZONE_COLUMNS, zones_layer)
    pg = _geoms(parcels)
    zg = _valid(_geoms(zones), zones_layer)
    crs = parcels.crs

    present = ~(shapely.is_missing(pg) | shapely.is_empty(pg))
    zpresent = ~(shapely.is_missing(zg) | shapely.is_empty(zg))
    if present.any() and zpresent.any():
        tree = shapely.STRtree(np.where(present, pg, None))
        zq = np.flatnonzero(zpresent)
        shapely.prepare(zg[zq])
        z_local, pi = tree.query(zg[zq], predicate="intersects")
        zi = zq[z_local]
    else:
        zi = pi = np.zeros(0, dtype=np.intp)
    order = np.lexsort((zi, pi))
    zi, pi = zi[order], pi[order]

    whole = shapely.contains(zg[zi], pg[pi]) if len(pi) else np.zeros(0, dtype=bool)
    cross = ~whole
    log.debug(
        "%d 候选对, %d 完全落入, %d 需求交 / %d pairs, %d whole, %d crossing",
        len(pi),
        int(whole.sum()),
        int(cross.sum()),
        len(pi),
        int(whole.sum()),
        int(cross.sum()),
    )

    uniq = np.unique(pi)
    inter = np.empty(0, dtype=object)
    if cross.any():
        cp = np.unique(pi[cross])
        pgv = pg.copy()
        pgv[cp] = _valid(pg[cp], parcels_layer)
        inter = shapely.intersection(pgv[pi[cross]], zg[zi[cross]])
    # one ellipsoidal-area pass over the parcels and the intersection pieces together
    areas = (
        area_m2(gpd.GeoSeries(np.concatenate([pg[uniq], inter]), crs=crs), layer=parcels_layer)
        if len(uniq)
        else np.zeros(0)
    )
    parcel_area = np.full(len(pg), np.nan)
    parcel_area[uniq] = areas[: len(uniq)]
    piece_area = parcel_area[pi].copy()
    piece_area[cross] = areas[len(uniq) :]
    piece_geom = None
    if pieces:
        piece_geom = pg[pi].copy()
        piece_geom[cross] = _polygonal(inter)
    piece_area = np.nan_to_num(piece_area, nan=0.0)
    keep = piece_area > min_area_m2
    pi, zi, whole, piece_area = pi[keep], zi[keep], whole[keep], piece_area[keep]

    out = pd.DataFrame({"parcel_row": pi.astype("int64"), "zone_row": zi.astype("int64")})
    for c in pcols:
        out[c] = parcels[c].iloc[pi].reset_index(drop=True)
    for c in zcols:
        name = f"zone_{c}" if c in pcols or c in PIECE_COLUMNS else c
        out[name] = zones[c].iloc[zi].reset_index(drop=True)
    out["area_m2"] = piece_area
    out["parcel_area_m2"] = parcel_area[pi]
    with np.errstate(divide="ignore", invalid="ignore"):
        out["share"] = np.where(out["parcel_area_m2"] > 0, piece_area / out["parcel_area_m2"], 0.0)
    out["whole"] = whole
    if pieces:
        return gpd.GeoDataFrame(
            out, geometry=gpd.GeoSeries(piece_geom[keep], crs=crs).values, crs=crs
        )
    return out


def totals_by_zone(
    pieces: pd.DataFrame,
    by: str | Sequence[str] = "zone_id",
    *,
    parts: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Sum :func:`area_by_zone` pieces per zone (or per any zone column).

    Parameters
    ----------
    pieces : DataFrame
        The result of :func:`area_by_zone`.
    by : str or sequence of str, default "zone_id"
        Grouping columns, e.g. ``"zone_id"`` or ``["kind", "zone_id"]`` or
        ``"kind"``. Summing by ``kind`` is correct only within one kind whose
        zones do not overlap each other; never sum across kinds that overlap.
    parts : mapping of str -> str, optional
        ``{name: column}``: for each boolean parcel column (carried with
        ``parcel_columns``), also sum the area of pieces where it is true,
        as ``<name>_area_m2`` / ``<name>_area_mu`` (e.g.
        ``{"film": "film_mulch"}``). Nulls count as false.

    Returns
    -------
    DataFrame
        One row per group: the ``by`` columns, ``parcels`` (distinct parcels
        with a piece), ``area_m2``, ``area_mu``, and the parts' columns.
    """
    by = [by] if isinstance(by, str) else list(by)
    missing = [c for c in [*by, *(parts or {}).values()] if c not in pieces.columns]
    if missing:
        raise FieldError(
            f"分区汇总缺少字段 / pieces lack column(s) {', '.join(missing)}: carry them with "
            "area_by_zone(parcel_columns=..., zone_columns=...)",
            field=", ".join(missing),
        )
    frame = pieces[[*by, "parcel_row", "area_m2"]].copy()
    agg: dict[str, tuple[str, str]] = {
        "parcels": ("parcel_row", "nunique"),
        "area_m2": ("area_m2", "sum"),
    }
    for name, col in (parts or {}).items():
        flag = pieces[col].astype("boolean").fillna(False).to_numpy(dtype=bool)
        frame[f"{name}_area_m2"] = np.where(flag, pieces["area_m2"].to_numpy(), 0.0)
        agg[f"{name}_area_m2"] = (f"{name}_area_m2", "sum")
    out = frame.groupby(by, sort=True, dropna=False).agg(**agg).reset_index()
    out.insert(out.columns.get_loc("area_m2") + 1, "area_mu", m2_to_mu(out["area_m2"].to_numpy()))
    for name in parts or {}:
        out[f"{name}_area_mu"] = m2_to_mu(out[f"{name}_area_m2"].to_numpy())
    return out


def subdivide(geoms: np.ndarray, max_vertices: int | None = None) -> np.ndarray:
    """Polygons cut into pieces of at most ``max_vertices`` vertices that tile them exactly.

    As PostGIS ``ST_Subdivide``: a polygon with more vertices is split in half
    across the longer side of its bounding box, recursively (exact
    intersections with the two halves, so the pieces' union is the polygon
    and their areas add up to its area). Intersecting a small parcel with a
    piece costs a few hundred vertices instead of a whole river corridor's.

    Parameters
    ----------
    geoms : array of shapely geometries
        Polygons / MultiPolygons (missing and empty ones are dropped).
    max_vertices : int, optional
        Default :data:`gis_town.settings.SUBDIVIDE_MAX_VERTICES`.

    Returns
    -------
    numpy.ndarray
        Polygons.
    """
    limit = max(int(max_vertices or settings.SUBDIVIDE_MAX_VERTICES), 8)
    g = shapely.get_parts(np.asarray(geoms, dtype=object))
    g = g[~(shapely.is_missing(g) | shapely.is_empty(g))]
    done = []
    for level in range(64):  # a cut halves a box: 64 levels reach any vertex spacing
        g = g[shapely.get_type_id(g) == 3]  # polygons (the parts of what the cuts return)
        big = (shapely.get_num_coordinates(g) > limit) & (level < 63)
        done.append(g[~big])
        g = g[big]
        if not len(g):
            break
        x0, y0, x1, y1 = shapely.bounds(g).T
        wide = (x1 - x0) >= (y1 - y0)
        xm, ym = (x0 + x1) / 2.0, (y0 + y1) / 2.0
        first = shapely.box(x0, y0, np.where(wide, xm, x1), np.where(wide, y1, ym))
        second = shapely.box(np.where(wide, xm, x0), np.where(wide, y0, ym), x1, y1)
        halves = np.concatenate([shapely.intersection(g, first), shapely.intersection(g, second)])
        g = shapely.get_parts(halves)
        g = g[~shapely.is_empty(g)]
    return np.concatenate(done)


def _overlapping(zg: np.ndarray) -> bool:
    """True when two zones share interior (not just an edge)."""
    present = ~(shapely.is_missing(zg) | shapely.is_empty(zg))
    idx = np.flatnonzero(present)
    if len(idx) < 2:
        return False
    tree = shapely.STRtree(zg[idx])
    a, b = tree.query(zg[idx], predicate="intersects")
    sel = a < b
    if not sel.any():
        return False
    return bool(shapely.relate_pattern(zg[idx][a[sel]], zg[idx][b[sel]], "T********").any())


def inside_outside(
    parcels: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    parcel_columns: Sequence[str] | None = None,
    parcels_layer: str = "farmland",
    zones_layer: str = "basic_farmland",
) -> pd.DataFrame:
    """Per parcel: ellipsoidal area inside and outside a zone layer (e.g. 永久基本农田).

    Zones that overlap each other are dissolved first, so a parcel's inside
    area is never counted twice; zones that only share edges are used as they
    are (no dissolve, which would build huge polygons).

    Parameters
    ----------
    parcels, zones : GeoDataFrame
        As for :func:`area_by_zone`.
    parcel_columns : sequence of str, optional
        Parcel columns to carry (default: ``parcel_id`` when present).
    parcels_layer, zones_layer : str
        Layer names for messages.

    Returns
    -------
    DataFrame
        One row per parcel with a geometry (in input order): ``parcel_row``,
        the parcel columns, ``area_m2`` (whole parcel), ``inside_m2``,
        ``outside_m2`` (= area - inside, clipped at 0), ``inside_share``
        (0..1), and their mu equivalents ``area_mu``, ``inside_mu``,
        ``outside_mu``.
    """
    zones = _same_crs(parcels, zones, parcels_layer, zones_layer)
    pcols = _pick_columns(parcels, parcel_columns, _DEFAULT_PARCEL_COLUMNS, parcels_layer)
    zg = _valid(_geoms(zones), zones_layer)
    if _overlapping(zg):
        log.info("%s 分区有重叠，先合并 / zones overlap: dissolving them first", zones_layer)
        zg = shapely.get_parts(shapely.union_all(zg[~shapely.is_missing(zg)]))
    # only the union matters here: cut big zones (a county's river buffers, red line) into
    # small pieces that tile them, so each parcel is intersected with a few hundred vertices
    zones = gpd.GeoDataFrame(geometry=gpd.GeoSeries(subdivide(zg), crs=zones.crs))
    pc = area_by_zone(
        parcels,
        zones,
        parcel_columns=[],
        zone_columns=[],
        parcels_layer=parcels_layer,
        zones_layer=zones_layer,
    )
    inside = np.bincount(
        pc["parcel_row"].to_numpy(), weights=pc["area_m2"].to_numpy(), minlength=len(parcels)
    )
    pg = _geoms(parcels)
    present = ~(shapely.is_missing(pg) | shapely.is_empty(pg))
    rows = np.flatnonzero(present)
    total = (
        area_m2(gpd.GeoSeries(pg[rows], crs=parcels.crs), layer=parcels_layer)
        if len(rows)
        else np.zeros(0)
    )
    # a parcel wholly inside (one zone, or pieces adding up to its area within 1e-9) is inside by
    # its full area, not total minus a float sliver (areas come from differently centred projections)
    whole = np.zeros(len(parcels), dtype=bool)
    whole[pc.loc[pc["whole"].to_numpy(dtype=bool), "parcel_row"].to_numpy()] = True
    full = whole[rows] | (inside[rows] >= total * (1.0 - 1e-9))
    ins = np.where(full, total, np.minimum(inside[rows], total))
    out = pd.DataFrame({"parcel_row": rows.astype("int64")})
    for c in pcols:
        out[c] = parcels[c].iloc[rows].reset_index(drop=True)
    out["area_m2"] = total
    out["inside_m2"] = ins
    out["outside_m2"] = np.clip(total - ins, 0.0, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["inside_share"] = np.where(total > 0, ins / total, 0.0)
    out["area_mu"] = m2_to_mu(total)
    out["inside_mu"] = m2_to_mu(ins)
    out["outside_mu"] = m2_to_mu(out["outside_m2"].to_numpy())
    return out
