"""Patrol scheduling: each group of chiefs' points to trips in one task, the tables in the driver."""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import pandas as pd

from gis_town.errors import LayerError
from gis_town.io.validate import PROBLEM_COLUMNS
from gis_town.parallel.cluster import _compute
from gis_town.parallel.sources import (
    Partitions,
    _check_layer,
    _counts_row,
    _find_duplicates,
    _prepare,
    _sort_problems,
    _source_column,
    _validate_part,
    partitions,
)

log = logging.getLogger(__name__)


def _chief_keys(chief: pd.Series, chief_id: pd.Series) -> set[str]:
    """The chiefs of a partition as the patrol analysis tells them apart: by id, else by name."""
    cid = chief_id.astype("string").str.strip()
    has_id = (cid.notna() & (cid != "")).to_numpy(dtype=bool)
    name = chief.astype("string").str.strip()[~has_id].dropna()
    return {f"id:{v}" for v in pd.unique(cid[has_id])} | {f"name:{v}" for v in pd.unique(name)}


def _chief_groups(src: Partitions) -> list[list[int]]:
    """Partitions grouped so that no chief has points in two groups.

    A chief's trips are split from all of the chief's points, so a chief's
    points must be processed together. Partitions written by chief (points
    sorted by chief and time, ``write_partitioned(..., sort=False)``) each
    form a group of their own; partitions sharing a chief (by ``chief_id``,
    else by name, as the analysis tells chiefs apart) are merged (union-find).
    """
    import dask

    names = src.column(_source_column("chief", src.prepare))
    ids = src.column(_source_column("chief_id", src.prepare))
    keys = _compute([dask.delayed(_chief_keys, pure=True)(a, b) for a, b in zip(names, ids)])
    k = len(src.parts)
    parent = list(range(k))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    owner: dict[str, int] = {}
    for i in range(k):
        for key in keys[i]:
            j = owner.setdefault(key, i)
            a, b = root(i), root(j)
            if a != b:
                parent[max(a, b)] = min(a, b)
    groups: dict[int, list[int]] = {}
    for i in range(k):
        groups.setdefault(root(i), []).append(i)
    return sorted(groups.values())


def _patrol_task(
    parts, offsets, dups, path, prepare, validate, segments, config, gk_crs, points_crs
):
    from gis_town.analysis.patrol import patrol_trips

    used_parts, problems, read = [], [], 0
    for part, offset, d in zip(parts, offsets, dups):
        part = _prepare(part, prepare).reset_index(drop=True)
        read += len(part)
        if validate:
            part, prob = _validate_part(part, "patrols", offset, d, path)
            problems.append(prob)
        part.index = part.index + offset  # global input rows: rejected fixes name them
        used_parts.append(part)
    used = pd.concat(used_parts) if used_parts else pd.DataFrame()
    found = None
    if len(used):
        found = patrol_trips(used, segments, config=config, gk_crs=gk_crs, points_crs=points_crs)
    prob = (
        pd.concat(problems, ignore_index=True)
        if problems
        else pd.DataFrame(columns=PROBLEM_COLUMNS)
    )
    return found, prob, read, len(used)


def analyze_patrols(
    points: Any,
    rivers: gpd.GeoDataFrame,
    *,
    config: Any = None,
    as_of: Any = None,
    start: Any = None,
    end: Any = None,
    villages: gpd.GeoDataFrame | None = None,
    gk_crs: Any = None,
    points_crs: str | None = None,
    validate: bool = True,
    read_options: dict[str, Any] | None = None,
    npartitions: int | None = None,
    layer: str | None = None,
    path: str | None = None,
):
    """:func:`gis_town.analysis.patrol.analyze_patrols` with the points processed per partition.

    The points (10 million for a county) never come to the driver: each
    task reads its partitions, validates them
    (:func:`~gis_town.io.validate.validate_layer`, duplicate point ids found
    over the whole layer first), splits trips, matches them to the river and
    returns the trips and the stretches they covered
    (:func:`~gis_town.analysis.patrol.patrol_trips`); the driver combines
    them (:func:`~gis_town.analysis.patrol.combine_trips`) and builds the
    tables (:func:`~gis_town.analysis.patrol.patrol_report`). Partitions that
    share a chief are processed together (a chief's trips need all of the
    chief's points); store patrols sorted by chief and time (the county
    benchmark's layout) and every partition is a task of its own.

    Parameters
    ----------
    points : path, GeoDataFrame or dask frame
        The ``patrols`` layer: a partitioned GeoParquet folder, any vector
        file, or a frame (see :func:`partitions`).
    rivers : GeoDataFrame
        The ``rivers`` layer (small: sent to every task).
    validate : bool, default True
        Validate each partition as :func:`gis_town.io.load_town` would.
    read_options : dict, optional
        ``[layers.patrols]`` options (``crs``, ``fields``, ``defaults``).
    npartitions, layer : optional
        For a GeoDataFrame or a GeoPackage (see :func:`partitions`).
    path : str, optional
        For messages (default: the source's path).
    Other parameters
        As :func:`gis_town.analysis.patrol.analyze_patrols`.

    Returns
    -------
    (PatrolResult, DataFrame, dict)
        The result (equal to the single-machine one), the validation
        problems (global rows, single-machine order) and the counts row
        (``layer, read, used, repaired, rejected``).
    """
    from gis_town.analysis.patrol import combine_trips, patrol_report, prepare_run

    cfg, gk_crs, segs = prepare_run(rivers, config=config, gk_crs=gk_crs)
    src = partitions(points, npartitions=npartitions, layer=layer)
    src.prepare = dict(read_options or src.prepare)
    path = path or src.path
    dups = _find_duplicates(src, "patrols")
    _check_layer("patrols", dups, path)
    groups = _chief_groups(src)
    log.info(
        "巡河轨迹 patrol points: %d 个分区 partitions, %d 组 groups of chiefs",
        len(src.parts),
        len(groups),
    )
    kwargs = {"path": path, "prepare": src.prepare, "validate": validate, "segments": segs}
    kwargs.update(config=cfg.patrol, gk_crs=gk_crs, points_crs=points_crs)
    found, prob, counts = _run_groups(src, dups, groups, **kwargs)
    res = patrol_report(
        combine_trips(found),
        segs,
        config=cfg,
        as_of=as_of,
        start=start,
        end=end,
        villages=villages,
        gk_crs=gk_crs,
    )
    return res, prob, counts


def _run_groups(src: Partitions, dups, groups: list[list[int]], *, path: str, **task):
    """One :func:`_patrol_task` per group of chiefs, computed.

    Returns the groups' :class:`~gis_town.analysis.patrol.PatrolTrips`, the
    validation problems (single-machine order) and the counts row.
    """
    import dask

    tasks = [
        dask.delayed(_patrol_task, pure=True)(
            [src.parts[i] for i in g],
            [dups.offsets[i] for i in g],
            [dups.per_part[i] for i in g],
            path,
            task["prepare"],
            task["validate"],
            task["segments"],
            task["config"],
            task["gk_crs"],
            task["points_crs"],
        )
        for g in groups
    ]
    results = _compute(tasks)
    found = [f for f, *_ in results if f is not None]
    if not found:
        raise LayerError(
            "巡河轨迹没有可用的点 / no usable patrol point (every point was rejected: see the rejects)",
            path=path,
            layer="patrols",
        )
    prob = _sort_problems(pd.concat([p for _, p, *_ in results], ignore_index=True), "patrols")
    counts = _counts_row(
        "patrols", sum(r for *_, r, _ in results), sum(u for *_, u in results), prob
    )
    return found, prob, counts
