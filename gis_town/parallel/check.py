"""The acceptance check per partition of plots: per-plot rules in the workers, overlaps and ids over the layer.

Every rule of :mod:`gis_town.analysis.check` but two looks at one plot at a
time (its geometry, attributes, the context layers, the DEM and NDVI under
it), so each partition of plots runs them where it lies. The two others
compare plots with each other:

- ``duplicate_id``: the ids (text, a few bytes a plot) come to the driver,
  which runs :func:`~gis_town.analysis.check.check_duplicate_id` on all of
  them at once: an id repeated in two partitions is found, with the rows of
  the whole layer;
- ``overlap``: a *global index*. The driver builds one STRtree of every
  usable plot's Gauss-Kruger bounding box (4 floats a plot) and queries it:
  the same tree and the same candidate pairs, in the same order, as the
  one-process rule's tree of the plots themselves (an STRtree packs and
  searches by bounding boxes only). Each pair, within a partition or across
  two, is therefore found once. The geometric tests (intersects, not only
  touching) and the intersections run in the workers, one task per pair of
  partitions; the few overlap pieces come back and the driver measures them
  in one batch and adds the overlaps up in the one-process order.

The per-plot ellipsoidal area (slivers, declared area, the basic-farmland
share) is measured at the centre of the whole layer, as one process measures
it. The results of each partition are put together in the driver: global row
numbers and ids (blank ids are ``#<row>`` of the whole layer), the categories
in the one-process order, the summary per plot.

The overlay of the plots with a context layer (red line, river buffer,
basic farmland: :func:`gis_town.analysis.overlay.inside_outside`) measures
two batches in one process: the plots touching the zones with their pieces,
then every plot. The extent of the plots touching each rule's zones is found
over the layer first (a second pass over the partitions, which stay in the
workers), and each partition measures both batches at their one-process
centres: every value is the one-process one to the last bit.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
from collections.abc import Sequence
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.parallel.cluster import _compute, _has_client
from gis_town.parallel.risk import (
    _area_m2_at,
    _centre,
    _delayed,
    _geo_bounds,
    _persist,
    _two_points,
    _union_bounds,
)
from gis_town.parallel.sources import _default_npartitions

__all__ = ["GLOBAL_RULE_KINDS", "check_partitioned"]

log = logging.getLogger(__name__)

#: Rule kinds that compare plots with each other: run over the whole layer in the driver.
GLOBAL_RULE_KINDS: frozenset[str] = frozenset({"overlap", "duplicate_id"})


# --------------------------------------------------------------------------- partitions


def _slices(gdf: gpd.GeoDataFrame, n: int) -> tuple[list[gpd.GeoDataFrame], list[int]]:
    """``gdf`` in ``n`` consecutive slices, each with its own rows of the reader's geometry fixes."""
    k = max(1, min(n, len(gdf)))
    edges = np.linspace(0, len(gdf), k + 1).round().astype(int)
    fixes = gdf.attrs.get("geometry_fixes")
    parts = []
    for a, b in zip(edges[:-1], edges[1:]):
        part = gdf.iloc[a:b]
        part.attrs = {k: v for k, v in gdf.attrs.items() if k != "geometry_fixes"}
        if fixes is not None and len(fixes):
            rows = pd.to_numeric(fixes["index"], errors="coerce")
            mine = fixes[((rows >= a) & (rows < b)).to_numpy()].copy()
            mine["index"] = rows[mine.index] - a
            part.attrs["geometry_fixes"] = mine
        parts.append(part)
    return parts, edges[:-1].astype(int).tolist()


def _scatter(objs: list, *, broadcast: bool = False) -> list:
    """``objs`` on the workers (futures) when there is a client, else as they are."""
    if not _has_client():
        return objs
    from distributed import default_client

    return list(default_client().scatter(objs, broadcast=broadcast))


def _extent_task(part: gpd.GeoDataFrame) -> dict:
    """Lon/lat extents of the usable (valid polygon) and the present geometries of a partition."""
    from gis_town.analysis.check.plots import _usable

    geom = np.asarray(part.geometry.values, dtype=object)
    usable, present, _, _ = _usable(geom)
    crs = part.crs
    return {
        "usable": _geo_bounds(gpd.GeoSeries(geom[usable], crs=crs)),
        "present": _geo_bounds(gpd.GeoSeries(geom[present], crs=crs)),
    }


def _rules_task(part, offset, gk_crs, centre, context, rules, id_field, layer):
    """Prepare a partition's plots (global ids and areas) and run its per-plot rules."""
    import shapely

    from gis_town.analysis.check import RULE_FUNCTIONS, prepare_plots

    p = prepare_plots(part, id_field=id_field, gk_crs=gk_crs, layer=layer)
    if offset and p.id_missing.any():  # a blank id is "#<row>" of the whole layer
        p.ids[p.id_missing] = [f"#{offset + i}" for i in np.flatnonzero(p.id_missing)]
    rows = np.flatnonzero(p.usable)
    if len(rows) and centre is not None:  # each plot's area as one process measures it
        p.area_m2[rows] = _area_m2_at(gpd.GeoSeries(p.geom[rows], crs=p.crs), centre)
    # a task's own cache, starting from what the driver prepared (projected layers, river buffers)
    ctx = dataclasses.replace(context, gk_crs=gk_crs, cache=dict(context.cache))
    outs, touch = {}, {}
    for i, r in enumerate(rules):
        if r.kind in _OVERLAY_KINDS:  # after the layer's extent of the plots in the zone is known
            touch[i] = _touching_extent(p, _rule_zones(r, ctx, gk_crs))
        elif r.kind not in GLOBAL_RULE_KINDS:
            outs[i] = RULE_FUNCTIONS[r.kind](p, ctx, **r.limits_dict())
    boxes = shapely.bounds(p.gk[rows]) if len(rows) else np.zeros((0, 4))
    return {"plots": p, "outs": outs, "boxes": boxes, "ctx": ctx, "touch": touch}


def _overlay_task(state: dict, rules, centres: dict, centre) -> dict:
    """The overlay rules of a partition, each batch measured at its one-process centre.

    One process measures, in :func:`~gis_town.analysis.overlay.inside_outside`,
    the plots touching the zone with their pieces at the centre of those
    (``centres``, over the layer), then every plot at the layer's (``centre``).
    """
    from gis_town.analysis.check import RULE_FUNCTIONS

    p, ctx = state["plots"], state["ctx"]
    for i, r in enumerate(rules):
        if r.kind not in _OVERLAY_KINDS:
            continue
        bounds, touching = state["touch"][i]
        seq = (centres.get(i), centre) if touching and centres.get(i) is not None else (centre,)
        if touching and centres.get(i) is None:  # the zone layer could not be found here
            seq = (None,)
        with _overlay_areas_at(*seq):
            state["outs"][i] = RULE_FUNCTIONS[r.kind](p, ctx, **r.limits_dict())
    return state


#: The context layer and buffer each overlay rule reads by default.
_OVERLAY_DEFAULTS = {
    "redline": {"layer": "redline"},
    "basic_farmland": {"layer": "basic_farmland"},
    "river_buffer": {"layer": "rivers", "buffer_m": 30.0},
}


def _rule_zones(rule, ctx, gk_crs) -> gpd.GeoDataFrame | None:
    """The zones an overlay rule measures the plots in (as the rule builds them), None if unknown."""
    limits = {**_OVERLAY_DEFAULTS[rule.kind], **rule.limits_dict()}
    if rule.kind != "river_buffer":
        return ctx.layer_gk(limits["layer"], gk_crs)
    key = f"river_buffer:{limits['layer']}:{limits['buffer_m']}:{gk_crs.to_wkt()}"
    return ctx.cache.get(key)  # built by the driver's warm-up (_warm_context)


def _touching_extent(p, zones) -> tuple[np.ndarray, bool]:
    """Lon/lat extent of the usable plots that intersect ``zones``, and whether there is one."""
    rows = np.flatnonzero(p.usable)
    if zones is None or len(rows) == 0:
        return np.full(4, np.nan), False
    plots = gpd.GeoDataFrame(geometry=gpd.GeoSeries(p.gk[rows], crs=p.gk_crs))
    hit = _touching_zones(plots, zones[[zones.geometry.name]])
    if not hit.any():
        return np.full(4, np.nan), False
    return _geo_bounds(plots.geometry[hit]), True


def _touching_zones(fl: gpd.GeoDataFrame, z: gpd.GeoDataFrame) -> np.ndarray:
    """Which of ``fl`` intersect a zone: the ones :func:`~gis_town.analysis.overlay.area_by_zone` measures."""
    import shapely

    from gis_town.analysis.overlay import _geoms, _same_crs, _valid

    zones = _same_crs(fl, z, "farmland", "zones")
    pg, zg = _geoms(fl), _valid(_geoms(zones), "zones")
    present = ~(shapely.is_missing(pg) | shapely.is_empty(pg))
    zp = ~(shapely.is_missing(zg) | shapely.is_empty(zg))
    hit = np.zeros(len(fl), dtype=bool)
    if present.any() and zp.any():
        tree = shapely.STRtree(np.where(present, pg, None))
        hit[np.unique(tree.query(zg[zp], predicate="intersects")[1])] = True
    return hit


#: Rule kinds that measure the plots' area inside a context layer (:func:`~gis_town.analysis.overlay.inside_outside`).
_OVERLAY_KINDS = frozenset({"redline", "river_buffer", "basic_farmland"})

_OVERLAY_LOCK = threading.Lock()


@contextlib.contextmanager
def _overlay_areas_at(*centres: tuple[float, float] | None):
    """Within the block, the overlay measures areas at the given centres, not its batches' own.

    :mod:`gis_town.analysis.overlay` measures every batch of geometries at
    the batch's own centre; one process's batch is the whole layer's. The
    overlay's ``area_m2`` is swapped for :func:`_area_m2_at` for the block:
    its first call measures at ``centres[0]``, the second at ``centres[1]``
    and so on, the last centre for every further call (a lock keeps the
    threads of a worker from seeing it outside the block). No centre, or a
    first centre None: the overlay as it is.
    """
    if not centres or centres[0] is None:
        yield
        return
    from gis_town.analysis import overlay

    calls = [0]

    def at_centre(gdf, *, layer: str | None = None) -> np.ndarray:
        geoms = gdf.geometry if isinstance(gdf, gpd.GeoDataFrame) else gdf
        centre = centres[min(calls[0], len(centres) - 1)]
        calls[0] += 1
        if centre is None:
            return original(gdf, layer=layer)
        return _area_m2_at(geoms, centre, layer or "plots")

    with _OVERLAY_LOCK:
        original = overlay.area_m2
        overlay.area_m2 = at_centre
        try:
            yield
        finally:
            overlay.area_m2 = original


def _ids_task(state: dict) -> dict:
    p = state["plots"]
    return {
        "ids": p.ids,
        "id_missing": p.id_missing,
        "usable": p.usable,
        "boxes": state["boxes"],
        "touch": {i: b for i, (b, _) in state["touch"].items()},
    }


def _plot_arrays(state: dict) -> dict:
    p = state["plots"]
    keys = ("usable", "why_unusable_zh", "why_unusable_en", "gk", "area_m2")
    return {k: getattr(p, k) for k in keys}


# --------------------------------------------------------------------------- the global rules


def _id_plots(ids: np.ndarray, id_missing: np.ndarray, id_field: str):
    """The layer's ids as :class:`~gis_town.analysis.check.Plots` for the duplicate-id rule (reads only these)."""
    from gis_town.analysis.check import Plots

    empty = np.zeros(0, dtype=object)
    return Plots(
        gdf=None, ids=ids, id_missing=id_missing, geom=empty, usable=empty,
        why_unusable_zh=empty, why_unusable_en=empty, gk=empty, area_m2=empty,
        crs=None, gk_crs=None, id_field=id_field,
    )  # fmt: skip


def _pairs_task(state_a, state_b, la: np.ndarray, lb: np.ndarray):
    """Candidate pairs of two partitions' usable plots: which overlap (not only touch), and the pieces."""
    import shapely

    pa, pb = state_a["plots"], state_b["plots"]
    ga = pa.gk[np.flatnonzero(pa.usable)[la]]
    gb = pb.gk[np.flatnonzero(pb.usable)[lb]]
    keep = np.zeros(len(la), dtype=bool)
    hit = shapely.intersects(ga, gb)
    keep[hit] = ~shapely.touches(ga[hit], gb[hit])
    pieces = shapely.intersection(ga[keep], gb[keep])
    return keep, pieces


def _candidate_pairs(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of usable plots whose boxes intersect, in the one-process rule's order."""
    import shapely

    if len(boxes) < 2:
        return np.zeros(0, dtype=np.intp), np.zeros(0, dtype=np.intp)
    g = shapely.box(boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3])
    a, b = shapely.STRtree(g).query(g)
    keep = a < b
    return a[keep], b[keep]


def _overlaps(states: list, small: list, gk_crs) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every overlapping pair of plots (global rows ``a < b`` in usable order) and its area in m²."""
    from gis_town.geodesy import area_m2

    n_usable = [len(s["boxes"]) for s in small]
    part_of = np.repeat(np.arange(len(small)), n_usable)
    local = np.concatenate([np.arange(k) for k in n_usable]) if n_usable else np.zeros(0, int)
    boxes = np.concatenate([s["boxes"] for s in small]) if small else np.zeros((0, 4))
    a, b = _candidate_pairs(boxes)
    keep = np.zeros(len(a), dtype=bool)
    pieces = np.full(len(a), None, dtype=object)
    groups = pd.DataFrame({"pa": part_of[a], "pb": part_of[b]}).groupby(["pa", "pb"]).indices
    todo = sorted(groups.items())
    results = _compute(
        [
            _delayed(_pairs_task)(states[pa], states[pb], local[a[idx]], local[b[idx]])
            for (pa, pb), idx in todo
        ]
    )
    for ((_pa, _pb), idx), (k, pc) in zip(todo, results):
        keep[idx] = k
        sel = idx[k]
        pieces[sel] = pc
    log.info(
        "重叠检查 overlap: %d 候选对 candidate pairs, %d 个分区对 partition pairs, %d 对相交 overlapping",
        len(a), len(todo), int(keep.sum()),
    )  # fmt: skip
    a, b, pieces = a[keep], b[keep], pieces[keep]
    areas = (
        np.nan_to_num(area_m2(gpd.GeoSeries(pieces, crs=gk_crs)), nan=0.0)
        if len(pieces)
        else np.zeros(0)
    )
    pos = areas > 0
    return a[pos], b[pos], areas[pos]


def _overlap_output(
    usable: np.ndarray, ids: np.ndarray, pairs: tuple, urows: np.ndarray, *, tolerance_m2: float
) -> pd.DataFrame:
    """The overlap rule's table (:func:`~gis_town.analysis.check.check_overlap`) from the global pairs."""
    from gis_town.analysis.check.plots import FAIL, PASS, _Out

    n = len(usable)
    o = _Out(n, unit="m²", limit=f"<= {tolerance_m2:g} m²")
    a, b, areas = pairs
    a, b = urows[a], urows[b]
    total = np.zeros(n)
    total += np.bincount(a, weights=areas, minlength=n) + np.bincount(b, weights=areas, minlength=n)
    partners: dict[int, list[tuple[float, int]]] = {}
    for i, j, ar in zip(a, b, areas):
        partners.setdefault(int(i), []).append((float(ar), int(j)))
        partners.setdefault(int(j), []).append((float(ar), int(i)))
    u = usable
    o.value[u] = total[u]
    fail = u & (total > tolerance_m2)
    ok = u & ~fail
    o.status[ok] = PASS
    o.zh[ok] = [f"与其他地块重叠 {v:,.1f} m²" for v in total[ok]]
    o.en[ok] = [f"overlaps other plots by {v:,.1f} m²" for v in total[ok]]
    o.status[fail] = FAIL
    zh, en = [], []
    for i in np.flatnonzero(fail):
        lst = sorted(partners.get(int(i), []), reverse=True)[:5]
        names = ", ".join(f"{ids[j]} ({ar:,.1f} m²)" for ar, j in lst)
        more = len(partners.get(int(i), [])) - len(lst)
        tail = f" +{more}" if more > 0 else ""
        zh.append(f"与 {names}{tail} 重叠，共 {total[i]:,.1f} m²")
        en.append(f"overlaps {names}{tail}: {total[i]:,.1f} m² in all")
    o.zh[fail] = zh
    o.en[fail] = en
    return o.frame()


def _unusable_texts(states: list, small: list) -> tuple[np.ndarray, np.ndarray, list]:
    """Why each plot is not usable (zh, en), over the layer (for the overlap rule's not-checked rows)."""
    arrays = _compute([_delayed(_plot_arrays)(s) for s in states])
    zh = np.concatenate([x["why_unusable_zh"] for x in arrays])
    en = np.concatenate([x["why_unusable_en"] for x in arrays])
    return zh, en, arrays


def _global_outputs(rules, states, small, ctx, gk_crs, id_field) -> tuple[dict, list]:
    """The tables of the rules that compare plots (index: rule position), over the whole layer."""
    from gis_town.analysis.check import RULE_FUNCTIONS

    ids = np.concatenate([s["ids"] for s in small])
    id_missing = np.concatenate([s["id_missing"] for s in small])
    usable = np.concatenate([s["usable"] for s in small])
    urows = np.flatnonzero(usable)
    why_zh, why_en, arrays = _unusable_texts(states, small)
    out: dict[int, pd.DataFrame] = {}
    pairs = None
    for i, rule in enumerate(rules):
        if rule.kind == "duplicate_id":
            out[i] = RULE_FUNCTIONS[rule.kind](
                _id_plots(ids, id_missing, id_field), ctx, **rule.limits_dict()
            )
        elif rule.kind == "overlap":
            if pairs is None:
                pairs = _overlaps(states, small, gk_crs)
            frame = _overlap_output(usable, ids, pairs, urows, **rule.limits_dict())
            frame.loc[~usable, "detail_zh"] = why_zh[~usable]
            frame.loc[~usable, "detail_en"] = why_en[~usable]
            out[i] = frame
    return out, arrays


# --------------------------------------------------------------------------- results


def _encode_rule(rule, out: pd.DataFrame, acc) -> None:
    """Add one rule's table to the engine's accumulator (the part of its ``_run_rule`` after the rule)."""
    from gis_town.analysis.check.engine import _messages
    from gis_town.analysis.check.plots import FAIL, NOT_CHECKED

    n = acc.n
    status = out["status"].to_numpy(dtype=object)
    f, nc = status == FAIL, status == NOT_CHECKED
    zh, en = out["detail_zh"].to_numpy(dtype=object), out["detail_en"].to_numpy(dtype=object)
    for b, lo in enumerate(acc.blocks):
        hi = lo + acc.step
        msg, reason = _messages(rule, f[lo:hi], nc[lo:hi], zh[lo:hi], en[lo:hi])
        acc.text[b]["message"].append(msg)
        acc.text[b]["reason"].append(reason)
    for c, v in (
        ("rule", [rule.id] * n),
        ("kind", [rule.kind] * n),
        ("severity", [rule.severity] * n),
        ("status", status),
        ("unit", out["unit"].to_numpy(dtype=object)),
        ("limit", out["limit"].to_numpy(dtype=object)),
    ):
        acc.cols[c].append(pd.Categorical(v))
    acc.values.append(out["value"].to_numpy(dtype=float))


def _finish_task(state, offset, global_outs: dict, rules, rule_set_name: str, step: int):
    """A partition's results (global rows) and summary, and each rule's categories per column."""
    from gis_town.analysis.check import RESULT_COLUMNS, summarize
    from gis_town.analysis.check.engine import _CATEGORY_COLUMNS, _Columns

    p = state["plots"]
    acc = _Columns(len(p), step)
    for i, rule in enumerate(rules):
        _encode_rule(rule, global_outs[i] if i in global_outs else state["outs"][i], acc)
    cats = {c: [list(x.categories) for x in acc.cols[c]] for c in _CATEGORY_COLUMNS}
    res = acc.frame(p, len(rules))
    res["row"] = res["row"] + offset
    res = res[list(RESULT_COLUMNS)]
    return res, summarize(res), cats


def _categories(per_part: list[dict], column: str, n_rules: int) -> list:
    """The one-process categories of a column: each rule's values sorted, in the order they first appear."""
    out: list = []
    seen: set = set()
    for k in range(n_rules):
        for v in sorted(set().union(*(c[column][k] for c in per_part))):
            if v not in seen:
                seen.add(v)
                out.append(v)
    return out


def _assemble(
    finished: list, n_rules: int, rule_set_name: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    from gis_town.analysis.check import SUMMARY_COLUMNS
    from gis_town.analysis.check.engine import _CATEGORY_COLUMNS

    cats = [c for _, _, c in finished]
    frames = [r for r, _, _ in finished]
    for c in _CATEGORY_COLUMNS:
        order = _categories(cats, c, n_rules)
        for r in frames:
            r[c] = r[c].cat.set_categories(order)
    results = pd.concat(frames, ignore_index=True)
    results.attrs["rule_set"] = rule_set_name
    summaries = [s for _, s, _ in finished if len(s)]
    summary = (
        pd.concat(summaries, ignore_index=True)
        if summaries
        else pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    )
    return results, summary


# --------------------------------------------------------------------------- the check


#: Rule kinds whose context (projected layers, buffers) the driver prepares once for every task.
_CONTEXT_KINDS = ("road_access", "redline", "river_buffer", "homestead", "basic_farmland")


def _warm_context(ctx, gdf: gpd.GeoDataFrame, gk_crs, rules, id_field: str, layer: str):
    """A copy of ``ctx`` whose cache holds the context layers in the zone and the river buffers.

    The context rules run once on no plot: they project their layers and
    build the buffers into the cache, which every task then starts from
    (instead of each partition building them again).
    """
    from gis_town.analysis.check import RULE_FUNCTIONS, prepare_plots

    warm = dataclasses.replace(ctx, gk_crs=gk_crs, cache=dict(ctx.cache))
    none = prepare_plots(gdf.iloc[:0], id_field=id_field, gk_crs=gk_crs, layer=layer)
    for r in rules:
        if r.kind in _CONTEXT_KINDS:
            RULE_FUNCTIONS[r.kind](none, warm, **r.limits_dict())
    return warm


def _zone_and_centre(parts: list, ctx, layer: str):
    """The run's Gauss-Kruger zone (as :func:`~gis_town.analysis.check.prepare_plots` picks it) and area centre."""
    from gis_town.errors import LayerError
    from gis_town.geodesy import pick_gk_crs

    ext = _compute([_delayed(_extent_task)(p) for p in parts])
    usable = _union_bounds([e["usable"] for e in ext])
    base = usable if np.isfinite(usable).all() else _union_bounds([e["present"] for e in ext])
    gk = ctx.gk_crs
    if gk is None:
        if not np.isfinite(base).all():
            raise LayerError("地块没有可用的几何 / no plot has a usable geometry", layer=layer)
        gk = pick_gk_crs(_two_points(base), layer=layer)
    return gk, _centre(usable)


def check_partitioned(
    plots: gpd.GeoDataFrame,
    rule_set: Any,
    *,
    context: Any = None,
    layer: str = "plots",
    npartitions: int | None = None,
):
    """:func:`~gis_town.analysis.check.run_rules` and :func:`~gis_town.analysis.check.summarize` per partition.

    Parameters
    ----------
    plots : GeoDataFrame
        The plots as read (invalid geometries included), in the driver: they
        are split into ``npartitions`` slices, sent to the workers once.
    rule_set : RuleSet or str
    context : CheckContext, optional
        Context layers (sent to every task once), DEM and NDVI paths (each
        partition reads its window), ``gk_crs`` (default: picked from the
        plots, as one process picks it), ``id_field``.
    layer : str
        The plots' layer name, for messages.
    npartitions : int, optional
        Default: twice the cluster's workers (2 without a cluster).

    Returns
    -------
    (Plots, DataFrame, DataFrame)
        The prepared plots of the whole layer, the results
        (:data:`~gis_town.analysis.check.RESULT_COLUMNS`) and the summary
        (:data:`~gis_town.analysis.check.SUMMARY_COLUMNS`): the one-process
        tables, same rows, order, categories and texts.

    Raises
    ------
    FieldError, CRSError, LayerError
        As :func:`~gis_town.analysis.check.prepare_plots`.
    """
    from gis_town import settings
    from gis_town.analysis.check import CheckContext, Plots, load_rule_set
    from gis_town.analysis.check.plots import _require_crs_and_id
    from gis_town.parallel.cluster import _need_dask

    _need_dask()
    ctx = context if context is not None else CheckContext()
    rs = rule_set if not isinstance(rule_set, str) else load_rule_set(rule_set)
    id_field = ctx.id_field
    _require_crs_and_id(plots, id_field, layer)
    if not rs.rules or len(plots) == 0:  # nothing to spread: the one-process engine
        from gis_town.analysis.check import prepare_plots, run_rules, summarize

        p = prepare_plots(plots, id_field=id_field, gk_crs=ctx.gk_crs, layer=layer)
        res = run_rules(p, rs, context=dataclasses.replace(ctx, gk_crs=p.gk_crs))
        return p, res, summarize(res)
    gdf = plots.reset_index(drop=True)
    slices, offsets = _slices(gdf, npartitions or _default_npartitions())
    parts = _scatter(slices)
    gk, centre = _zone_and_centre(parts, ctx, layer)
    rules = list(rs.rules)
    ctx = _warm_context(ctx, gdf, gk, rules, id_field, layer)
    c = _scatter([ctx], broadcast=True)[0]
    states = _persist(
        [
            _delayed(_rules_task)(p, off, gk, centre, c, rules, id_field, layer)
            for p, off in zip(parts, offsets)
        ]
    )
    del parts
    small = _compute([_delayed(_ids_task)(s) for s in states])
    touch = {i: _centre(_union_bounds([sm["touch"][i] for sm in small])) for i in small[0]["touch"]}
    states = _persist([_delayed(_overlay_task)(s, rules, touch, centre) for s in states])
    global_outs, arrays = _global_outputs(rules, states, small, ctx, gk, id_field)
    step = max(int(settings.CHECK_BLOCK_PLOTS), 1)
    finished = _compute(
        [
            _delayed(_finish_task)(
                s, off, _slice_outs(global_outs, off, len(sm["ids"])), rules, rs.name, step
            )
            for s, off, sm in zip(states, offsets, small)
        ]
    )
    del states
    results, summary = _assemble(finished, len(rules), rs.name)
    cat = _concat_arrays
    prepared = Plots(
        gdf=gdf,
        ids=np.concatenate([s["ids"] for s in small]),
        id_missing=np.concatenate([s["id_missing"] for s in small]),
        geom=np.asarray(gdf.geometry.values, dtype=object),
        usable=cat(arrays, "usable"),
        why_unusable_zh=cat(arrays, "why_unusable_zh"),
        why_unusable_en=cat(arrays, "why_unusable_en"),
        gk=cat(arrays, "gk"),
        area_m2=cat(arrays, "area_m2"),
        crs=_crs(plots),
        gk_crs=_crs(gk),
        id_field=id_field,
    )
    return prepared, results, summary


def _concat_arrays(arrays: Sequence[dict], key: str) -> np.ndarray:
    return np.concatenate([a[key] for a in arrays])


def _crs(x):
    from pyproj import CRS

    return CRS.from_user_input(x.crs if hasattr(x, "crs") else x)


def _slice_outs(outs: dict, offset: int, n: int) -> dict:
    """The global rules' tables for the rows ``offset .. offset + n`` (index reset)."""
    return {i: t.iloc[offset : offset + n].reset_index(drop=True) for i, t in outs.items()}
