"""Abandonment risk per partition: factors and scores in the workers, the normalisation over the whole layer.

The factors of :func:`gis_town.analysis.risk.parcel_factors` are per parcel
(zonal statistics of the slope and NDVI on each partition's own window of the
rasters, distances, shape, years idle), so each partition computes its own.
Two things are not:

- the score normalises each factor by the 2 % and 98 % quantiles over *all*
  parcels (:func:`gis_town.analysis.risk.normalise_factors`): the weighted
  factor columns (a few floats per parcel) come to the driver, the driver
  runs :func:`~gis_town.analysis.risk.normalise_factors` on them once, and
  every partition is scored with those global bounds;
- a parcel's ellipsoidal area (:func:`gis_town.geodesy.area_m2`) is measured in
  an equal-area projection centred on the batch of parcels measured together;
  one process measures the whole layer at once, so each partition measures
  with the centre of the whole layer (found first from the partitions'
  extents) and its areas, ``area_mu`` and ``shape_index`` are the one-process
  values to the last bit.

The per-village summary and the visit list are sorts and group sums of the
scored parcels: the driver runs them on the gathered parcels (the runner's
own :func:`~gis_town.analysis.risk.village_summary` and
:func:`~gis_town.analysis.risk.visit_list`), so they are the one-process
lists by construction.

Also here, shared by :mod:`~gis_town.parallel.progress` and
:mod:`~gis_town.parallel.check`: keeping partitions in the workers between
passes (:func:`_persist`), geographic extents, and areas at a given centre.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.io.validate import PROBLEM_COLUMNS
from gis_town.parallel.cluster import _compute, _has_client
from gis_town.parallel.sources import (
    _check_layer,
    _counts_row,
    _find_duplicates,
    _positional,
    _prepare,
    _sort_problems,
    _validate_part,
    partitions,
)

__all__ = ["risk_scored"]

log = logging.getLogger(__name__)

# --------------------------------------------------------------------------- shared helpers


def _persist(tasks: Sequence[Any]) -> list[Any]:
    """Compute delayed tasks and keep their results where they are.

    On a Dask client: futures (the results stay in the workers' memory, later
    tasks take them as arguments); without one: the results, computed here.
    """
    if not tasks:
        return []
    if _has_client():
        from distributed import default_client

        return list(default_client().compute(list(tasks)))
    return _compute(tasks)


def _delayed(fn):
    """``dask.delayed(fn, pure=False)``: arguments are big partitions, never hashed."""
    import dask

    return dask.delayed(fn, pure=False)


def _geo_bounds(geoms: gpd.GeoSeries) -> np.ndarray:
    """Bounds ``(minx, miny, maxx, maxy)`` in CGCS2000 lon/lat of the present geometries (NaN: none)."""
    from gis_town.geodesy import to_geographic

    g = geoms[~(geoms.isna() | geoms.is_empty)]
    if len(g) == 0:
        return np.full(4, np.nan)
    return np.asarray(to_geographic(g).total_bounds, dtype="float64")


def _union_bounds(bounds: Sequence[np.ndarray]) -> np.ndarray:
    """The extent of several extents (NaN rows ignored; NaN when all are)."""
    b = np.array([np.asarray(x, dtype="float64") for x in bounds]).reshape(-1, 4)
    b = b[np.isfinite(b).all(axis=1)]
    if len(b) == 0:
        return np.full(4, np.nan)
    return np.array([b[:, 0].min(), b[:, 1].min(), b[:, 2].max(), b[:, 3].max()])


def _centre(bounds: np.ndarray) -> tuple[float, float] | None:
    """The centre :func:`gis_town.geodesy.area_m2` uses for a batch with these lon/lat bounds."""
    if not np.isfinite(bounds).all():
        return None
    minx, miny, maxx, maxy = (float(v) for v in bounds)
    return (minx + maxx) / 2.0, (miny + maxy) / 2.0


def _area_m2_at(
    geoms: gpd.GeoSeries, centre: tuple[float, float], layer: str = "farmland"
) -> np.ndarray:
    """:func:`gis_town.geodesy.area_m2` with the equal-area projection centred on ``centre``.

    The same operations as ``area_m2`` (one transformer, coordinates projected
    in place, planar area), with the centre of the whole layer instead of the
    partition's: a parcel's area is then the one-process value exactly.
    """
    import pyproj
    import shapely

    from gis_town.geodesy import _laea_crs, _require_crs

    src = _require_crs(geoms, layer)
    if len(geoms) == 0:
        return np.zeros(0)
    tr = pyproj.Transformer.from_crs(src, _laea_crs(*centre), always_xy=True)
    arr = np.asarray(geoms.values, dtype=object)

    def _project(xy: np.ndarray) -> np.ndarray:
        x, y = np.ascontiguousarray(xy[:, 0]), np.ascontiguousarray(xy[:, 1])
        tr.transform(x, y, inplace=True)
        xy[:, 0], xy[:, 1] = x, y
        return xy

    out = shapely.area(shapely.transform(arr, _project)).astype("float64")
    out[shapely.is_missing(arr)] = np.nan
    return out


def _two_points(bounds: np.ndarray) -> gpd.GeoSeries:
    """Two lon/lat points spanning ``bounds``: what :func:`gis_town.geodesy.pick_gk_crs` reads of a layer."""
    import shapely

    return gpd.GeoSeries(
        shapely.points([[bounds[0], bounds[1]], [bounds[2], bounds[3]]]), crs="EPSG:4490"
    )


# --------------------------------------------------------------------------- the passes


def _read_task(part, name, offset, dups, path, prepare, keep_index, validate):
    """Read and validate one partition; its lon/lat extent for the area centre."""
    part = _positional(_prepare(part, prepare), keep_index)
    n_read = len(part)
    if validate and n_read:
        part, prob = _validate_part(part, name, offset, dups, path)
    else:
        prob = pd.DataFrame(columns=PROBLEM_COLUMNS)
    if not keep_index:  # the input's row numbers, as the one-process layer keeps them
        part = part.copy()
        part.index = part.index + offset
    return {"part": part, "problems": prob, "read": n_read, "bounds": _geo_bounds(part.geometry)}


def _small(state: dict, keys: Sequence[str]) -> dict:
    return {k: state[k] for k in keys}


def _factors_task(state, centre, kwargs):
    """:func:`gis_town.analysis.risk.parcel_factors` of one partition, areas at the layer's centre."""
    from gis_town.analysis.risk import parcel_factors
    from gis_town.geodesy import m2_to_mu

    part = state["part"]
    if len(part) == 0:
        return None
    f = parcel_factors(part, **kwargs)
    if centre is not None:  # the one-process area of each parcel, and what derives from it
        a = _area_m2_at(gpd.GeoSeries(f.geometry.values, crs=f.crs), centre)
        f["area_m2"] = a
        f["area_mu"] = m2_to_mu(a)
        perim = f["perimeter_m"].to_numpy(dtype="float64")
        with np.errstate(invalid="ignore", divide="ignore"):
            f["shape_index"] = np.where(a > 0, perim / (2.0 * np.sqrt(np.pi * a)), np.nan)
    return f


def _factor_columns(factors, names: Sequence[str]) -> pd.DataFrame | None:
    if factors is None:
        return None
    return pd.DataFrame({n: factors[n] for n in names if n in factors.columns})


def _score_task(
    factors, table: pd.DataFrame, weights: Mapping[str, float], med: float, high: float
):
    """Score one partition with the global normalisation ``table`` (see :func:`_score_part`)."""
    if factors is None:
        return None
    return _score_part(factors, table, weights, med, high)


def _normalised(factors: pd.DataFrame, table: pd.DataFrame) -> pd.DataFrame:
    """:func:`gis_town.analysis.risk.normalise_factors`' columns with the bounds of ``table``."""
    from gis_town.analysis.risk.factors import FACTORS

    norm = pd.DataFrame(index=factors.index)
    for row in table.itertuples(index=False):
        if row.note:  # no values, or one value everywhere: no column (as normalise_factors)
            continue
        x = pd.to_numeric(factors[row.factor], errors="coerce").to_numpy(
            dtype="float64", na_value=np.nan
        )
        n = np.clip((x - row.lo) / (row.hi - row.lo), 0.0, 1.0)
        norm[row.factor] = 1.0 - n if FACTORS[row.factor].direction < 0 else n
    return norm


def _score_part(
    factors: gpd.GeoDataFrame,
    table: pd.DataFrame,
    weights: Mapping[str, float],
    med: float,
    high: float,
) -> gpd.GeoDataFrame:
    """:func:`gis_town.analysis.risk.risk_score` of some parcels with the layer's normalisation.

    The steps of ``risk_score`` after the normalisation, on the normalised
    columns from ``table`` (the global ``lo``/``hi``).
    """
    from gis_town.analysis.risk.factors import FACTORS
    from gis_town.analysis.risk.score import _add_classes, _add_missing_notes, _reasons

    norm = _normalised(factors, table)
    used = [f for f in weights if f in norm.columns]
    w = np.array([weights[f] for f in used])
    n = norm[used].to_numpy(dtype="float64")
    have = np.isfinite(n)
    contrib = np.where(have, n * w, 0.0)
    wsum = (have * w).sum(axis=1)
    out = factors.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        score = np.where(wsum > 0, 100.0 * contrib.sum(axis=1) / wsum, np.nan)
    out["score"] = score
    _add_classes(out, score, medium=med, high=high)
    top_idx = np.argmax(np.where(have, n * w, -1.0), axis=1)
    top = np.array(used, dtype=object)[top_idx]
    top = np.where(have.any(axis=1), top, None)
    out["top_factor"] = pd.array(top, dtype="string")
    out["top_factor_zh"] = pd.array([FACTORS[t].label if t else None for t in top], dtype="string")
    out["reason"] = pd.array(_reasons(factors, top), dtype="string")
    _add_missing_notes(out, used, have, score)
    return out


# --------------------------------------------------------------------------- the analysis


def _thresholds(risk) -> tuple[dict[str, float], float, float]:
    from gis_town.analysis.risk.score import weights_from
    from gis_town.config import RiskSection
    from gis_town.errors import ConfigError

    section = risk if isinstance(risk, RiskSection) else RiskSection()
    weights = weights_from(risk if risk is not None else section)
    med, high = section.medium, section.high
    if med > high:
        raise ConfigError(
            f"风险阈值 medium ({med}) 不应大于 high ({high}) / medium must not exceed high"
        )
    return weights, med, high


def risk_scored(
    farmland: Any,
    *,
    villages: gpd.GeoDataFrame | None = None,
    roads: gpd.GeoDataFrame | None = None,
    settlements: gpd.GeoDataFrame | None = None,
    dem: str | Path | None = None,
    ndvi: Mapping[int, str | Path] | None = None,
    year: int = 2023,
    gk_crs: Any = None,
    risk: Any = None,
    validate: bool = True,
    read_options: dict[str, Any] | None = None,
    npartitions: int | None = None,
    layer: str | None = None,
    path: str | None = None,
) -> tuple[gpd.GeoDataFrame, pd.DataFrame, dict[str, Any]]:
    """``risk_score(parcel_factors(farmland, ...), risk)`` with the parcels processed per partition.

    Three passes over the partitions, which stay in the workers between them:
    (1) read and validate (:func:`~gis_town.io.validate.validate_layer`,
    duplicate ids over the whole layer first) and take each partition's
    extent; (2) :func:`~gis_town.analysis.risk.parcel_factors`, each parcel's
    area at the centre of the whole layer; the weighted factors come to the
    driver, which normalises them once
    (:func:`~gis_town.analysis.risk.normalise_factors`); (3) each partition
    scored with those bounds. The scored parcels are gathered (the visit
    list, the village table, the risk map and the files need them).

    Parameters
    ----------
    farmland : path, GeoDataFrame or dask frame
        The farmland layer *as read* (a partitioned GeoParquet folder, any
        vector file, a frame; see :func:`gis_town.parallel.partitions`),
        validated here when ``validate``; or validated parcels with
        ``validate=False``.
    villages, roads, settlements : GeoDataFrame, optional
        The small layers (sent to every task).
    dem : path, optional
        Elevation raster: each partition reads its own window.
    ndvi : mapping year -> path, optional
        NDVI rasters.
    year : int
        The plan year (``config.town.year``).
    gk_crs : CRS, optional
        The run's Gauss-Kruger zone (``town.gk_crs``); default: picked as
        :func:`gis_town.geodesy.pick_gk_crs` picks it from the villages, else
        from the whole farmland.
    risk : RiskSection or mapping, optional
        Weights and thresholds (``config.risk``), as for
        :func:`~gis_town.analysis.risk.risk_score`.
    validate, read_options, npartitions, layer, path
        As :func:`gis_town.parallel.areas_report`.

    Returns
    -------
    (GeoDataFrame, DataFrame, dict)
        The scored parcels (the one-process ``risk_score`` result: same
        columns, values, order and ``attrs``), the farmland's validation
        problems (global rows) and its counts row.

    Raises
    ------
    ConfigError
        Bad weights or thresholds, or no weighted factor can be computed.
    LayerError
        The layer has no feature, or none is usable.
    """
    from gis_town.analysis.risk.score import _usable, _weighted_table, normalise_factors
    from gis_town.errors import LayerError
    from gis_town.geodesy import pick_gk_crs

    weights, med, high = _thresholds(risk)
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
        lengths = _compute([_delayed(len)(p) for p in src.parts])
        offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(int).tolist()
        per_part = [{} for _ in src.parts]
    read = _persist(
        [
            _delayed(_read_task)(p, name, off, d, path, src.prepare, src.keep_index, validate)
            for p, off, d in zip(src.parts, offsets, per_part)
        ]
    )
    small = _compute([_delayed(_small)(s, ("problems", "read", "bounds")) for s in read])
    prob = _sort_problems(pd.concat([s["problems"] for s in small], ignore_index=True), name)
    bounds = _union_bounds([s["bounds"] for s in small])
    centre = _centre(bounds)
    if centre is None:
        raise LayerError(
            "耕地没有可用的地块 / no usable parcel (see the rejects)", path=path, layer=name
        )
    if gk_crs is None:
        gk_crs = pick_gk_crs(
            villages if villages is not None and len(villages) else _two_points(bounds)
        )
    kwargs = dict(villages=villages, roads=roads, settlements=settlements, dem=dem)
    kwargs.update(ndvi=dict(ndvi) if ndvi else None, year=year, gk_crs=gk_crs)
    factors = _persist([_delayed(_factors_task)(s, centre, kwargs) for s in read])
    del read
    cols = _compute([_delayed(_factor_columns)(f, list(weights)) for f in factors])
    have = [c for c in cols if c is not None]
    values = pd.concat(have, ignore_index=True)
    norm, table = normalise_factors(values, list(weights))
    used = _usable(weights, norm)
    parts = _compute([_delayed(_score_task)(f, table, weights, med, high) for f in factors])
    del factors
    scored = _gather(parts)
    w = np.array([weights[f] for f in used])
    share = {f: weights[f] / w.sum() for f in used}
    scored.attrs.update(next(p for p in parts if p is not None).attrs)
    if src.path is not None:  # as read_layer marks a layer read from a file
        scored.attrs.update(source=str(src.path), source_layer=layer or name)
    scored.attrs["normalisation"] = _weighted_table(table, weights, share)
    scored.attrs["weights_used"] = share
    scored.attrs["thresholds"] = {"medium": med, "high": high}
    used_n = len(scored)
    return scored, prob, _counts_row(name, sum(s["read"] for s in small), used_n, prob)


def _gather(parts: list) -> gpd.GeoDataFrame:
    """The partitions' scored parcels, in order, as one GeoDataFrame."""
    frames = [p for p in parts if p is not None]
    first = frames[0]
    out = pd.concat(frames)
    return gpd.GeoDataFrame(out, geometry=first.geometry.name, crs=first.crs)
