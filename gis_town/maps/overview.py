"""The overview of a tiled layer: its parcels dissolved per class, for the low zooms of the page.

At the whole-county view a tile of a million-parcel layer holds hundreds of
thousands of parcels, each a pixel or two on screen: decoding and drawing
them is what kept the first view of the county map seconds away
(benchmarks/README.md, "The county map"). Below the zoom where individual
parcels become visible (:func:`parcel_zoom`), :func:`gis_town.maps.tiles.write_tiles`
therefore writes an **overview** instead:

* the parcels are grouped by class and by a square cell of a grid in Web
  Mercator metres (:func:`cell_size`, about 2 km: a tooltip names a small
  area, and no polygon spans the county), and each group is dissolved into
  one (multi)polygon with :func:`shapely.coverage_union_all` (parcels are a
  coverage: they share edges and do not overlap; a group that is not a clean
  coverage falls back to :func:`shapely.union_all`);
* each group keeps its class (``gt_class``), the parcels' total area in mu
  (``gt_area``, ellipsoidal, :func:`gis_town.geodesy.area_m2`, summed from the
  parcels, so the overview's area per class is the layer's) and its number of
  parcels (``gt_n``);
* for each overview zoom ``z`` (:func:`overview_levels`), the dissolved shapes
  lose the holes and parts smaller than :data:`MIN_PX` pixels across and are
  simplified to :data:`SIMPLIFY_PX` of a pixel (topology preserved) at the
  display zoom ``z + 1`` that shows them (the page draws 512-pixel data
  tiles), then written by GDAL as a one-zoom PMTiles archive of their own.

The page draws the overview of zoom ``z`` only where it has no parcels (each
archive holds one zoom, so each source of the layer answers at its zooms
only), fill without outlines (the cell edges are not boundaries), with the
class's fill; its tooltip and popup show the class, the area and the number
of parcels, escaped like every value.
"""

from __future__ import annotations

import logging
import math
import warnings

import geopandas as gpd
import numpy as np
import shapely

from gis_town.geodesy import area_m2, m2_to_mu

__all__ = [
    "AREA_FIELD",
    "COUNT_FIELD",
    "MIN_PX",
    "OVERVIEW_ABOVE",
    "PARCELS_PER_TILE",
    "SIMPLIFY_PX",
    "cell_size",
    "dissolve",
    "level",
    "overview_levels",
    "parcel_zoom",
]

log = logging.getLogger(__name__)

#: Layers with more features than this get an overview at their low zooms.
OVERVIEW_ABOVE = 20_000

#: Parcels are tiled from the lowest zoom at which a tile holds at most this
#: many of them on average (the layer's features over its bounding box).
PARCELS_PER_TILE = 8_000

#: Holes and parts of an overview level smaller than this many display pixels
#: across (as a square) are dropped.
MIN_PX = 1.5

#: Overview shapes are simplified to this fraction of a display pixel.
SIMPLIFY_PX = 0.5

#: Web Mercator's circumference (m): the side of the zoom 0 tile.
WORLD_M = 2 * math.pi * 6_378_137.0

#: Display pixels across a data tile (protomaps-leaflet's 512-pixel tiles).
TILE_PX = 512

#: Property of an overview feature: its row (as the parcels' ``gt_id``).
ID_FIELD = "gt_id"

#: Property of an overview feature: its parcels' total area (mu).
AREA_FIELD = "gt_area"

#: Property of an overview feature: how many parcels it holds.
COUNT_FIELD = "gt_n"


def tile_m(z: int) -> float:
    """Side of a tile of zoom ``z`` in Web Mercator metres."""
    return WORLD_M / (1 << z)


def parcel_zoom(bounds: np.ndarray, n: int, lo: int, hi: int) -> int:
    """The lowest zoom (``lo`` .. ``hi``) at which a tile holds at most :data:`PARCELS_PER_TILE` features.

    Parameters
    ----------
    bounds : array
        The features' bounds in Web Mercator metres (minx, miny, maxx, maxy).
    n : int
        Number of features.
    lo, hi : int
        The layer's zooms.
    """
    w, s, e, nn = (float(v) for v in bounds)
    area = max((e - w) * (nn - s), 1.0)  # m² of Web Mercator
    for z in range(lo, hi + 1):
        if n * tile_m(z) ** 2 / area <= PARCELS_PER_TILE:
            return z
    return hi


def overview_levels(lo: int, split: int) -> list[tuple[int, int]]:
    """(lowest, highest) zoom of each overview archive: one zoom each, the lowest reaching 3 zooms lower."""
    out = [(z, z) for z in range(lo, split)]
    if out:
        out[0] = (max(0, lo - 3), lo)
    return out


def cell_size(split: int) -> float:
    """Side of the dissolve grid's cells (Web Mercator m): half a tile of the parcels' first zoom."""
    return tile_m(split) / 2


def _groups(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row order sorted by key, and where each key's run starts in it."""
    order = np.argsort(keys, kind="stable")
    ks = keys[order]
    starts = np.flatnonzero(np.r_[True, ks[1:] != ks[:-1]])
    return order, starts


def _union(parts: np.ndarray) -> shapely.Geometry:
    """One group's parcels as one geometry: coverage union, else a full union."""
    if len(parts) == 1:
        return parts[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = shapely.coverage_union_all(parts)
    if out is None or out.is_empty or not out.is_valid:
        out = shapely.union_all(shapely.make_valid(parts))
    return out


def dissolve(merc: gpd.GeoDataFrame, cls: np.ndarray, cell: float) -> gpd.GeoDataFrame:
    """The features dissolved per class within each grid cell.

    Parameters
    ----------
    merc : GeoDataFrame
        The features in Web Mercator (EPSG:3857) metres, non-empty polygons.
    cls : array of int
        Each feature's class (index into the layer's styles).
    cell : float
        Grid cell side, Web Mercator metres (:func:`cell_size`).

    Returns
    -------
    GeoDataFrame
        ``gt_class`` (int32), ``gt_id`` (row, int32), ``gt_area`` (mu, float64, the parcels' ellipsoidal
        area summed), ``gt_n`` (int32) and the dissolved geometry, EPSG:3857.
    """
    geoms = np.asarray(merc.geometry.values)
    mu = m2_to_mu(area_m2(merc.geometry))
    c = shapely.centroid(geoms)
    ix = np.floor(shapely.get_x(c) / cell).astype(np.int64)
    iy = np.floor(shapely.get_y(c) / cell).astype(np.int64)
    ix -= ix.min(initial=0)
    iy -= iy.min(initial=0)
    cls = np.asarray(cls, dtype=np.int64)
    keys = (ix * (iy.max(initial=0) + 1) + iy) * (cls.max(initial=0) + 1) + cls
    order, starts = _groups(keys)
    bounds = np.r_[starts, len(order)]
    out = [_union(geoms[order[a:b]]) for a, b in zip(bounds[:-1], bounds[1:])]
    first = order[starts]
    return gpd.GeoDataFrame(
        {
            "gt_class": cls[first].astype("int32"),
            ID_FIELD: np.arange(len(starts), dtype="int32"),
            AREA_FIELD: np.add.reduceat(mu[order], starts) if len(order) else np.zeros(0),
            COUNT_FIELD: np.diff(bounds).astype("int32"),
        },
        geometry=out,
        crs=merc.crs,
    )


def _drop_small(geoms: np.ndarray, min_area: float) -> np.ndarray:
    """``geoms`` without the holes and polygon parts of less than ``min_area`` (m²).

    A geometry all of whose parts are smaller keeps its largest part, so that
    a class of scattered parcels stays visible; None only for an empty one.
    """
    parts, pidx = shapely.get_parts(geoms, return_index=True)
    rings, ridx = shapely.get_rings(
        parts, return_index=True
    )  # each part: its shell, then its holes
    area = shapely.area(shapely.polygons(rings))
    big = area >= min_area
    shell = np.r_[True, ridx[1:] != ridx[:-1]] if len(ridx) else np.zeros(0, dtype=bool)
    keep: dict[int, list] = {}  # part -> [shell, holes...] of the parts whose shell is big enough
    for r in np.flatnonzero(big):
        p = int(ridx[r])
        if shell[r]:
            keep[p] = [rings[r]]
        elif p in keep:
            keep[p].append(rings[r])
    out: list[list] = [[] for _ in range(len(geoms))]
    for p, (sh, *holes) in keep.items():
        out[int(pidx[p])].append(shapely.Polygon(sh, holes or None))
    # a shape all of whose parts are too small keeps its largest one (scattered parcels stay seen)
    shells = np.flatnonzero(shell)
    owner = pidx[ridx[shells]]
    by_size = shells[np.lexsort((-area[shells], owner))]  # per geometry, largest shell first
    owner = pidx[ridx[by_size]]
    largest = by_size[np.r_[True, owner[1:] != owner[:-1]]] if len(by_size) else by_size
    for r in largest:
        g = int(pidx[ridx[r]])
        if not out[g]:
            out[g].append(shapely.Polygon(rings[r]))
    return np.array(
        [None if not v else (v[0] if len(v) == 1 else shapely.MultiPolygon(v)) for v in out],
        dtype=object,
    )


def level(base: gpd.GeoDataFrame, z: int) -> gpd.GeoDataFrame:
    """The dissolved overview as drawn at data zoom ``z``: small holes and parts dropped, simplified.

    Parameters
    ----------
    base : GeoDataFrame
        :func:`dissolve`'s result (EPSG:3857).
    z : int
        The data zoom (shown at display zoom ``z + 1``).
    """
    px = tile_m(z) / TILE_PX
    geoms = _drop_small(np.asarray(base.geometry.values), (MIN_PX * px) ** 2)
    ok = np.array([g is not None for g in geoms], dtype=bool)
    kept = shapely.simplify(geoms[ok], SIMPLIFY_PX * px, preserve_topology=True)
    out = base.loc[ok].copy()
    out = out.set_geometry(gpd.GeoSeries(kept, index=out.index, crs=base.crs))
    non_empty = ~out.geometry.is_empty
    return out.loc[non_empty.to_numpy()]


def write_levels(
    tiles: gpd.GeoDataFrame, folder, key: str, *, lo: int, split: int, name: str = ""
) -> list[dict]:
    """Dissolve the tile features and write one overview archive (and its pieces) per level.

    Parameters
    ----------
    tiles : GeoDataFrame
        The layer's tile features (``gt_class``, geometry in lon/lat).
    folder : path
        The tiles folder.
    key : str
        The layer's file stem; level ``z`` is ``KEY_oZ.pmtiles`` and ``KEY_oZ/``.
    lo, split : int
        The layer's lowest zoom and the zoom its parcels start at.
    name : str
        The layer's name (archive metadata).

    Returns
    -------
    list of dict
        Per level: ``key``, ``archive``, ``chunk_dir``, ``min_zoom``, ``max_zoom``,
        ``n_features``, ``archive_bytes``, ``packed_bytes``, ``n_chunks``.
    """
    from pathlib import Path

    from gis_town.maps.tiles import pack_archive, write_archive

    folder = Path(folder)
    merc = tiles.to_crs(3857)
    base = dissolve(merc, tiles["gt_class"].to_numpy(), cell_size(split))
    out = []
    for zmin, zmax in overview_levels(lo, split):
        frame = level(base, zmax)
        lkey = f"{key}_o{zmax}"
        archive = folder / f"{lkey}.pmtiles"
        write_archive(frame, archive, layer=lkey, min_zoom=zmin, max_zoom=zmax, name=name)
        chunk_dir, n_chunks, packed = pack_archive(archive, folder / lkey, lkey)
        size = archive.stat().st_size
        out.append(
            {
                "key": lkey,
                "archive": archive,
                "chunk_dir": chunk_dir,
                "min_zoom": zmin,
                "max_zoom": zmax,
                "n_features": len(frame),
                "n_vertices": int(
                    shapely.get_num_coordinates(np.asarray(frame.geometry.values)).sum()
                ),
                "archive_bytes": size,
                "packed_bytes": packed,
                "n_chunks": n_chunks,
            }
        )
        log.info(
            "概览 overview %s: zoom %d-%d, %d shapes (%d groups of %d features), %.2f MB",
            archive,
            zmin,
            zmax,
            len(frame),
            len(base),
            len(tiles),
            size / 1e6,
        )
    return out
