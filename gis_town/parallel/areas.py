"""Area totals, overlay and zonal statistics per partition (scheduling of the areas analyses)."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.io.validate import PROBLEM_COLUMNS
from gis_town.parallel.cluster import _compute, _need_dask
from gis_town.parallel.sources import (
    _check_layer,
    _counts_row,
    _default_npartitions,
    _find_duplicates,
    _positional,
    _prepare,
    _sort_problems,
    _validate_part,
    partitions,
)
from gis_town.parallel.storage import read_partitioned

log = logging.getLogger(__name__)


def _partial_sums(
    parcels: pd.DataFrame, by: Sequence[str], cols: Sequence[str] | None = None
) -> pd.DataFrame:
    """Parcels and area sums per group of one partition (:func:`gis_town.analysis.areas.group_sums`)."""
    from gis_town.analysis.areas import group_sums

    return group_sums(parcels, by, cols)


def _combine(partials: Iterable[pd.DataFrame], by: Sequence[str]) -> pd.DataFrame:
    """Add up partial sums from every partition."""
    frames = [p for p in partials if p is not None and len(p)]
    if not frames:
        return pd.DataFrame(columns=[*by, "parcels", "area_m2"])
    allp = pd.concat(frames, ignore_index=True)
    for col in by:
        allp[col] = allp[col].astype("object")
    value_cols = [c for c in allp.columns if c not in by]
    out = allp.groupby(list(by), sort=True, dropna=False)[value_cols].sum(min_count=1).reset_index()
    out["parcels"] = out["parcels"].astype("int64")
    return out


def parcel_areas(data: Any, *, npartitions: int | None = None):
    """:func:`gis_town.analysis.areas.parcel_areas` on every partition (lazy dask-geopandas frame)."""
    _need_dask()
    import dask_geopandas

    from gis_town.analysis.areas import parcel_areas as one

    if isinstance(data, dask_geopandas.GeoDataFrame):
        ddf = data
    elif isinstance(data, gpd.GeoDataFrame):
        ddf = dask_geopandas.from_geopandas(
            data, npartitions=npartitions or _default_npartitions(), sort=False
        )
    else:
        ddf = read_partitioned(data)
    return ddf.map_partitions(one, meta=one(ddf._meta))


def _areas_task(part, by, keep_index):
    from gis_town.analysis.areas import parcel_areas as one

    part = _positional(part, keep_index)
    parcels = part if "area_m2" in part.columns else one(part)
    return _partial_sums(parcels, by)


def group_totals(
    data: Any,
    by: Sequence[str],
    *,
    decimals: int = 2,
    total_label: str | None = None,
    npartitions: int | None = None,
) -> pd.DataFrame:
    """:func:`gis_town.analysis.areas.group_totals` over partitions: partial sums, then balanced once.

    Parcels without ``area_m2`` get it from
    :func:`gis_town.analysis.areas.parcel_areas` in their partition.
    """
    import dask

    from gis_town.analysis.areas import TOTAL_LABEL
    from gis_town.analysis.areas import group_totals as finish

    src = partitions(data, npartitions=npartitions)
    parts = _compute(
        [dask.delayed(_areas_task, pure=True)(p, list(by), src.keep_index) for p in src.parts]
    )
    sums = _combine(parts, by)
    return finish(
        sums,
        list(by),
        decimals=decimals,
        total_label=total_label or TOTAL_LABEL,
        count_column="parcels",
    )


def area_totals(
    farmland: Any,
    villages: pd.DataFrame | None = None,
    *,
    by: Sequence[str] = ("status",),
    decimals: int = 2,
    npartitions: int | None = None,
) -> pd.DataFrame:
    """:func:`gis_town.analysis.areas.area_totals` over partitions (same table, balanced once).

    Parameters
    ----------
    farmland : dask frame, GeoDataFrame or path
        Validated parcels (see :func:`partitions`); partitioned GeoParquet
        for large runs.
    villages : DataFrame, optional
        Villages (for ``village_name``); small, sent to no worker.
    by : sequence of str
        Fields after ``village_id``.
    """
    import dask

    from gis_town.analysis.areas import area_totals as finish

    by = list(by)
    src = partitions(farmland, npartitions=npartitions)
    keys = ["village_id", *by]
    parts = _compute(
        [dask.delayed(_areas_task, pure=True)(p, keys, src.keep_index) for p in src.parts]
    )
    sums = _combine(parts, keys)
    return finish(sums, villages, by=by, decimals=decimals, count_column="parcels")


def _private(layer: gpd.GeoDataFrame | None) -> gpd.GeoDataFrame | None:
    """The layer with geometry objects of its own.

    The overlay prepares the zones' geometries in place (GEOS prepared
    geometries); threads of one worker share the objects a task receives, and
    preparing a geometry from two threads at once is not safe. A WKB round
    trip gives each task its own objects (exactly the same coordinates).
    """
    if layer is None:
        return None
    import shapely

    geoms = np.asarray(layer.geometry.values, dtype=object)
    return layer.set_geometry(
        gpd.GeoSeries(shapely.from_wkb(shapely.to_wkb(geoms)), index=layer.index, crs=layer.crs)
    )


def _zone_pieces_task(part, zones, keep_index, kwargs):
    from gis_town.analysis.overlay import area_by_zone as one

    part = _positional(part, keep_index)
    return len(part), one(part, _private(zones), **kwargs)


def area_by_zone(
    parcels: Any,
    zones: gpd.GeoDataFrame,
    *,
    npartitions: int | None = None,
    **kwargs: Any,
) -> pd.DataFrame | gpd.GeoDataFrame:
    """:func:`gis_town.analysis.overlay.area_by_zone` per partition, pieces concatenated.

    The zones (small) are sent to each worker once. ``parcel_row`` is the
    parcel's position in the whole layer, as in the single-machine result.
    Keyword arguments go to :func:`gis_town.analysis.overlay.area_by_zone`.
    """
    import dask

    src = partitions(parcels, npartitions=npartitions)
    z = dask.delayed(zones, pure=True)
    results = _compute(
        [
            dask.delayed(_zone_pieces_task, pure=True)(p, z, src.keep_index, kwargs)
            for p in src.parts
        ]
    )
    frames, offset = [], 0
    for n, pieces in results:
        pieces = pieces.copy()
        pieces["parcel_row"] = pieces["parcel_row"] + offset
        frames.append(pieces)
        offset += n
    if not frames:
        return pd.DataFrame(columns=["parcel_row", "zone_row", "area_m2"])
    out = pd.concat(frames, ignore_index=True)
    if isinstance(frames[0], gpd.GeoDataFrame):
        out = gpd.GeoDataFrame(out, geometry=frames[0].geometry.name, crs=frames[0].crs)
    return out


def _zone_sums_task(part, zones, keep_index):
    from gis_town.analysis.areas import zone_sums

    part = _positional(part, keep_index)
    if len(part) == 0:
        return None
    return zone_sums(part, _private(zones))


def _finish_zones(results: list, zones: pd.DataFrame, decimals: int) -> pd.DataFrame:
    """:func:`gis_town.analysis.areas.finish_zone_totals` of the partitions' summed :func:`zone_sums`."""
    from gis_town.analysis.areas import finish_zone_totals

    parts = [r for r in results if r is not None]
    return finish_zone_totals(
        _combine([p[0] for p in parts], ["zone_id"]), _combine([p[1] for p in parts], ["kind"]), zones,
        decimals=decimals,
    )


def zone_totals(
    farmland: Any, zones: gpd.GeoDataFrame, *, decimals: int = 2, npartitions: int | None = None
) -> pd.DataFrame:
    """:func:`gis_town.analysis.areas.zone_totals` over partitions (one total per zone kind)."""
    import dask

    src = partitions(farmland, npartitions=npartitions)
    z = dask.delayed(zones, pure=True)
    parts = _compute(
        [dask.delayed(_zone_sums_task, pure=True)(p, z, src.keep_index) for p in src.parts]
    )
    return _finish_zones(parts, zones, decimals)


def _basic_task(part, bf, keep_index):
    from gis_town.analysis.areas import basic_farmland_sums

    part = _positional(part, keep_index)
    if len(part) == 0:
        return None
    return basic_farmland_sums(part, _private(bf))


def _finish_basic(results: list, decimals: int) -> pd.DataFrame:
    """:func:`gis_town.analysis.areas.finish_basic_farmland_totals` of the summed partitions."""
    from gis_town.analysis.areas import finish_basic_farmland_totals

    parts = [r for r in results if r is not None]
    return finish_basic_farmland_totals(
        _combine([p[0] for p in parts], ["village_id", "inside"]), _combine([p[1] for p in parts], ["scope"]),
        decimals=decimals,
    )


def basic_farmland_totals(
    farmland: Any,
    basic_farmland: gpd.GeoDataFrame,
    *,
    decimals: int = 2,
    npartitions: int | None = None,
) -> pd.DataFrame:
    """:func:`gis_town.analysis.areas.basic_farmland_totals` over partitions."""
    import dask

    src = partitions(farmland, npartitions=npartitions)
    bf = dask.delayed(basic_farmland, pure=True)
    parts = _compute(
        [dask.delayed(_basic_task, pure=True)(p, bf, src.keep_index) for p in src.parts]
    )
    return _finish_basic(parts, decimals)


def _zonal_task(part, raster, keep_index, kwargs):
    from gis_town.raster import zonal_stats as one

    part = _positional(part, keep_index)
    if len(part) == 0:
        return 0, None
    return len(part), one(part, raster, **kwargs)


def zonal_stats(
    polygons: Any,
    raster: str | Path,
    *,
    npartitions: int | None = None,
    **kwargs: Any,
) -> pd.DataFrame:
    """:func:`gis_town.raster.zonal_stats` per partition (each reads only its own window of the raster).

    Hilbert-sorted partitions cover compact patches, so each worker reads a
    small part of a large DEM. Keyword arguments go to
    :func:`gis_town.raster.zonal_stats`.

    Returns
    -------
    DataFrame
        Indexed like the input for a GeoDataFrame; by global row position
        (0..n-1) for a GeoParquet folder.

    Raises
    ------
    RasterError
        As :func:`gis_town.raster.zonal_stats`, when no polygon of a
        partition overlaps the raster.
    """
    import dask

    src = partitions(polygons, npartitions=npartitions)
    results = _compute(
        [
            dask.delayed(_zonal_task, pure=True)(p, str(raster), src.keep_index, kwargs)
            for p in src.parts
        ]
    )
    frames, offset = [], 0
    for n, stats in results:
        if stats is not None:
            if not src.keep_index:
                stats = stats.copy()
                stats.index = pd.RangeIndex(offset, offset + n)
            frames.append(stats)
        offset += n
    return pd.concat(frames) if frames else pd.DataFrame()


@dataclass
class AreasReport:
    """Everything ``gis-town areas`` writes, computed in one pass over the partitions.

    Attributes
    ----------
    main : DataFrame
        :func:`area_totals` by village and ``by``.
    by_project : DataFrame or None
        Totals per project (None when no parcel has one).
    by_zone : DataFrame or None
        :func:`zone_totals` (None without zones).
    basic_farmland : DataFrame or None
        :func:`basic_farmland_totals` (None without basic farmland).
    problems : DataFrame
        The farmland layer's rejected and repaired features (global rows).
    counts : dict
        The farmland layer's ``layer, read, used, repaired, rejected``.
    partitions : int
        Partitions processed.
    """

    main: pd.DataFrame
    by_project: pd.DataFrame | None = None
    by_zone: pd.DataFrame | None = None
    basic_farmland: pd.DataFrame | None = None
    problems: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=PROBLEM_COLUMNS))
    counts: dict[str, Any] = field(default_factory=dict)
    partitions: int = 0


def _report_task(part, name, offset, dups, path, prepare, keep_index, validate, by, zones, bf):
    from gis_town.analysis.areas import parcel_areas as one

    part = _positional(_prepare(part, prepare), keep_index)
    n_read = len(part)
    if validate:
        part, prob = _validate_part(part, name, offset, dups, path)
    else:
        prob = pd.DataFrame(columns=PROBLEM_COLUMNS)
    out: dict[str, Any] = {"read": n_read, "used": len(part), "problems": prob}
    if len(part) == 0:
        return out
    for col in by:
        if col not in part.columns:
            from gis_town.errors import FieldError

            raise FieldError(
                f"耕地图层没有此字段 / farmland has no field {col!r} to group by",
                layer="farmland",
                field=col,
            )
    parcels = part if "area_m2" in part.columns else one(part)
    out["main"] = _partial_sums(parcels, ["village_id", *by])
    if "project" in parcels.columns:
        from gis_town.analysis.areas import project_parcels

        proj = project_parcels(parcels)
        out["project"] = _partial_sums(proj, ["project"]) if len(proj) else None
    if zones is not None:
        from gis_town.analysis.areas import zone_sums

        out["zones"] = zone_sums(parcels, _private(zones))
    if bf is not None:
        from gis_town.analysis.areas import basic_farmland_sums

        out["basic"] = basic_farmland_sums(parcels, _private(bf))
    return out


def areas_report(
    farmland: Any,
    *,
    villages: pd.DataFrame | None = None,
    zones: gpd.GeoDataFrame | None = None,
    basic_farmland: gpd.GeoDataFrame | None = None,
    by: str | Sequence[str] = "status",
    decimals: int = 2,
    validate: bool = True,
    read_options: dict[str, Any] | None = None,
    npartitions: int | None = None,
    layer: str | None = None,
    path: str | None = None,
) -> AreasReport:
    """All the area tables of ``gis-town areas`` in one pass over the farmland partitions.

    Each partition is read (in its worker), validated
    (:func:`~gis_town.io.validate.validate_layer`, with the layer's duplicate
    ids found beforehand), given areas
    (:func:`~gis_town.analysis.areas.parcel_areas`), overlaid with the zones
    and basic farmland (:func:`~gis_town.analysis.overlay.area_by_zone`), and
    reduced to partial sums; the driver adds the sums up and balances each
    table once. The parcels themselves are never gathered, so the driver's
    memory does not grow with the county.

    Parameters
    ----------
    farmland : dask frame, GeoDataFrame or path
        The farmland layer *as read* (validated here when ``validate``): a
        partitioned GeoParquet folder for large runs, or a GeoPackage /
        Shapefile (each partition reads its slice of features).
    villages, zones, basic_farmland : GeoDataFrame, optional
        Validated small layers.
    by : str or sequence of str
        Fields after ``village_id`` in the main table (default ``status``).
    validate : bool, default True
        Validate the parcels (False when they are validated already).
    read_options : dict, optional
        ``encoding``, ``crs``, ``fields``, ``defaults``, ``mapping`` as in
        the town config's ``[layers.farmland]``.
    npartitions : int, optional
        Partitions for a GeoDataFrame or a non-Parquet file.
    layer : str, optional
        Layer name inside a GeoPackage.
    path : str, optional
        Source, for messages.

    Returns
    -------
    AreasReport
    """
    import dask

    from gis_town.analysis.areas import area_totals as finish_main
    from gis_town.analysis.areas import group_totals as finish

    by = [by] if isinstance(by, str) else list(by)
    opts = {k: v for k, v in (read_options or {}).items() if v is not None and v != {}}
    src = partitions(
        farmland, npartitions=npartitions, layer=layer, encoding=opts.pop("encoding", None)
    )
    src.prepare = opts
    path = path or src.path
    name = "farmland"
    if validate:
        dups = _find_duplicates(src, name)
        _check_layer(name, dups, path)
        offsets, per_part = dups.offsets, dups.per_part
    else:
        offsets, per_part = [0] * len(src.parts), [{} for _ in src.parts]
    z = dask.delayed(zones, pure=True) if zones is not None else None
    bf = dask.delayed(basic_farmland, pure=True) if basic_farmland is not None else None
    tasks = [
        dask.delayed(_report_task, pure=True)(
            p, name, off, d, path, src.prepare, src.keep_index, validate, by, z, bf
        )
        for p, off, d in zip(src.parts, offsets, per_part)
    ]
    results = _compute(tasks)
    prob = _sort_problems(pd.concat([r["problems"] for r in results], ignore_index=True), name)
    read = sum(r["read"] for r in results)
    used = sum(r["used"] for r in results)
    report = AreasReport(
        main=finish_main(
            _combine([r.get("main") for r in results], ["village_id", *by]),
            villages,
            by=by,
            decimals=decimals,
            count_column="parcels",
        ),
        problems=prob,
        counts=_counts_row(name, read, used, prob),
        partitions=len(results),
    )
    proj = [r.get("project") for r in results if r.get("project") is not None]
    if proj:
        report.by_project = finish(
            _combine(proj, ["project"]), ["project"], decimals=decimals, count_column="parcels"
        )
    if zones is not None:
        report.by_zone = _finish_zones([r.get("zones") for r in results], zones, decimals)
    if basic_farmland is not None:
        report.basic_farmland = _finish_basic([r.get("basic") for r in results], decimals)
    return report
