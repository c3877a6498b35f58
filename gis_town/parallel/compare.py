"""Two surveys compared per spatial partition (the Dask path of :mod:`gis_town.analysis.compare`).

The OLD parcels are cut into compact patches along a Hilbert curve
(:func:`gis_town.parallel.storage.hilbert_index` of their bounding-box
centres). Each task gets one patch and the NEW parcels whose bounding boxes
reach it (its halo), and returns, in global parcel numbers, every overlap of
its old parcels (:func:`~gis_town.analysis.compare.match_pairs`) and their
left-over parts (:func:`~gis_town.analysis.compare.remainders`). A second
round does the NEW parcels' left-over parts the same way, by patches of new
parcels, with the old parcels they overlap. The driver puts the pairs back in
the single-machine order (old, then new parcel) and builds the table with
the same function (:func:`~gis_town.analysis.compare.assemble`).

Every geometry operation runs on the same pairs, in the same order, as in
one process, and every area uses the run's one projection centre, so the
result is the single-machine result: the same rows, ids, classes and
digits, whatever the partitioning.
"""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS

from gis_town.analysis.compare import (
    CompareTables,
    PairPieces,
    area_center,
    assemble,
    match_pairs,
    parcel_m2,
    remainders,
)
from gis_town.geodesy import project_to_gk
from gis_town.parallel.cluster import _compute
from gis_town.parallel.storage import hilbert_index

__all__ = ["compare_surveys", "spatial_chunks"]

log = logging.getLogger(__name__)

#: Old parcels per task by default (a county of a million: 40 tasks).
PARCELS_PER_TASK = 25_000


def spatial_chunks(geoms: np.ndarray, n: int) -> list[np.ndarray]:
    """``geoms``' positions in ``n`` compact patches (sorted runs along a Hilbert curve), each sorted."""
    if not len(geoms):
        return []
    b = shapely.bounds(geoms)
    x, y = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    order = np.argsort(hilbert_index(x, y), kind="stable")
    return [np.sort(c) for c in np.array_split(order, max(1, min(n, len(geoms)))) if len(c)]


def _halo(tree: shapely.STRtree, geoms: np.ndarray) -> np.ndarray:
    """Positions in ``tree`` of the geometries whose boxes meet the boxes of ``geoms``, sorted."""
    return np.unique(tree.query(shapely.envelope(geoms)))


def _old_task(oi, og, nj, ng, crs, center, share, min_m2):
    """Overlaps of the old parcels ``oi`` with the new ``nj``, and the old parcels' left-over parts."""
    old_m2, new_m2 = parcel_m2(og, crs, center), parcel_m2(ng, crs, center)
    p = match_pairs(og, ng, old_m2, new_m2, crs, center, share, min_m2)
    rest = remainders(og, ng, p.i[p.real], p.j[p.real], p.equal[p.real])
    pairs = PairPieces(oi[p.i], nj[p.j], p.geoms, p.m2, p.sliver, p.real, p.equal)
    return pairs, rest, old_m2


def _new_task(nj, ng, oi, og, pi, pj, equal, crs, center):
    """The new parcels' left-over parts: ``pi``/``pj`` the real pairs (global), in the global order."""
    local_o = np.searchsorted(oi, pi)
    local_n = np.searchsorted(nj, pj)
    rest = remainders(ng, og, local_n, local_o, equal)
    return rest, parcel_m2(ng, crs, center)


def _concat_pairs(parts: list[PairPieces]) -> PairPieces:
    fields = ("i", "j", "geoms", "m2", "sliver", "real", "equal")
    cat = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
    order = np.lexsort((cat["j"], cat["i"]))
    return PairPieces(**{f: cat[f][order] for f in fields})


def compare_surveys(
    old: gpd.GeoDataFrame,
    new: gpd.GeoDataFrame,
    *,
    gk_crs: CRS | str | None = None,
    sliver_share: float = 0.05,
    sliver_min_m2: float = 10.0,
    npartitions: int | None = None,
) -> CompareTables:
    """:func:`gis_town.analysis.compare.compare_surveys`, the matching done per spatial partition.

    Runs on the current Dask client (:func:`gis_town.parallel.client_for`),
    or one partition at a time in this process without one. Same arguments
    and the same result as the one-process function.

    Parameters
    ----------
    old, new : GeoDataFrame
        Farmland of the two surveys, any CRS.
    gk_crs : CRS or str, optional
        The Gauss-Kruger zone of the run.
    sliver_share, sliver_min_m2 : float
        The sliver thresholds (share of the smaller parcel; m²).
    npartitions : int, optional
        Patches of old (and of new) parcels; default one per
        :data:`PARCELS_PER_TASK` parcels, at least 2.

    Returns
    -------
    CompareTables
    """
    import dask

    o = project_to_gk(old, crs=gk_crs, layer="old farmland").reset_index(drop=True)
    n = project_to_gk(new, crs=o.crs, layer="new farmland").reset_index(drop=True)
    center = area_center(o if len(o) else n)
    og, ng = np.asarray(o.geometry.values, dtype=object), np.asarray(n.geometry.values, dtype=object)
    k = npartitions or max(2, -(-max(len(og), len(ng)) // PARCELS_PER_TASK))
    crs = o.crs
    new_tree = shapely.STRtree(ng)
    tasks, chunks = [], spatial_chunks(og, k)
    for oi in chunks:
        nj = _halo(new_tree, og[oi])
        tasks.append(dask.delayed(_old_task, pure=False)(
            oi, og[oi], nj, ng[nj], crs, center, sliver_share, sliver_min_m2))
    results = _compute(tasks)
    old_m2 = np.zeros(len(og))
    old_rest = np.empty(len(og), dtype=object)
    for oi, (_, rest, m2) in zip(chunks, results):
        old_rest[oi], old_m2[oi] = rest, m2
    pairs = _concat_pairs([r[0] for r in results]) if results else match_pairs(
        og, ng, old_m2, np.zeros(len(ng)), crs, center, sliver_share, sliver_min_m2)
    real = pairs.real
    pi, pj, peq = pairs.i[real], pairs.j[real], pairs.equal[real]
    new_m2 = np.zeros(len(ng))
    new_rest = np.empty(len(ng), dtype=object)
    tasks, chunks = [], spatial_chunks(ng, k)
    for nj in chunks:
        sel = np.isin(pj, nj)
        oi = np.unique(pi[sel])
        tasks.append(dask.delayed(_new_task, pure=False)(
            nj, ng[nj], oi, og[oi], pi[sel], pj[sel], peq[sel], crs, center))
    for nj, (rest, m2) in zip(chunks, _compute(tasks)):
        new_rest[nj], new_m2[nj] = rest, m2
    if not len(og):
        old_rest = og
    if not len(ng):
        new_rest = ng
    log.info("分区对比 partitioned comparison: %d patches of old and of new parcels", k)
    return assemble(o, n, old_m2, new_m2, pairs, old_rest, new_rest, center,
                    sliver_share=sliver_share, sliver_min_m2=sliver_min_m2)
