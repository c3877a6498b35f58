"""Plan progress with the farmland processed per partition: the overlay with the zones in the workers.

Two topics of :func:`gis_town.analysis.progress.plan_progress` read the
farmland, the large layer: the demonstration belts (every parcel intersected
with the zones, :func:`~gis_town.analysis.progress.zone_progress`) and
high-standard farmland (the area of the parcels of each project,
:func:`~gis_town.analysis.progress.high_standard_progress`). Here each
partition of the farmland is read and validated in its worker and reduced to
what those topics' tables are built from: the parcel-zone pieces of
:func:`~gis_town.analysis.overlay.area_by_zone` (global parcel rows), each
zone kind's inside areas (:func:`~gis_town.analysis.overlay.inside_outside`)
and the parcels of each project. The driver joins them, in the layer's order,
and builds the tables with the topics' own row functions; the other topics
(afforestation, resettlement, roads, collective economy) read small layers
and run in the driver as in one process.

Ellipsoidal areas: one process measures each batch (all the parcels of a
project, the parcels touching the zones with their pieces, the farmland) in
an equal-area projection centred on that batch. Each batch's extent is
found first from the partitions, and every partition measures at the
batch's centre, so the areas are the one-process ones (see
:mod:`gis_town.parallel.risk`).
"""

from __future__ import annotations

import logging
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.parallel.check import _overlay_areas_at, _touching_zones
from gis_town.parallel.cluster import _compute
from gis_town.parallel.risk import (
    _area_m2_at,
    _centre,
    _delayed,
    _geo_bounds,
    _persist,
    _read_task,
    _union_bounds,
)
from gis_town.parallel.sources import (
    _check_layer,
    _counts_row,
    _find_duplicates,
    _sort_problems,
    partitions,
)

__all__ = ["farmland_progress", "plan_progress"]

log = logging.getLogger(__name__)

_PIECE_PARCEL_COLUMNS = ["parcel_id", "status", "film_mulch"]
_PIECE_ZONE_COLUMNS = ["zone_id", "kind", "name", "planned_demo_mu"]


def _has_project(part: pd.DataFrame) -> np.ndarray:
    """The parcels with a project, as :func:`~gis_town.analysis.progress.high_standard_progress` counts them."""
    if "project" not in part.columns:
        return np.zeros(len(part), dtype=bool)
    proj = part["project"].astype("object")
    return (proj.notna() & (proj.astype(str).str.strip() != "")).to_numpy()


def _extents_task(state: dict, zones: gpd.GeoDataFrame | None) -> dict:
    """A partition's lon/lat extents of the batches one process measures together."""
    from gis_town.analysis.progress.zones import _zone_inputs

    part = state["part"]
    out = {"project": _geo_bounds(part.geometry[_has_project(part)])}
    if zones is not None and len(part):
        z, fl, _ = _zone_inputs(part, zones)
        out["pieces"] = _geo_bounds(fl.geometry[_touching_zones(fl, z)])
        out["kinds"] = {
            k: _geo_bounds(fl.geometry[_touching_zones(fl, z[(z["kind"] == k).to_numpy()])])
            for k in pd.unique(z["kind"].dropna())
        }
    return out


def _farmland_task(state: dict, zones, centres: dict, offset: int) -> dict:
    """The pieces, each kind's inside areas and the project parcels of one partition."""
    from gis_town.analysis.overlay import area_by_zone, inside_outside
    from gis_town.analysis.progress.high_standard import _project_parcels
    from gis_town.analysis.progress.zones import _zone_inputs
    from gis_town.geodesy import m2_to_mu

    part = state["part"]
    out: dict[str, Any] = {"n": len(part)}
    proj = _project_parcels(part)
    has = _has_project(part)
    if has.any() and centres.get("project") is not None:
        geoms = gpd.GeoSeries(part.geometry.values[has], crs=part.crs)
        proj["area_mu"] = m2_to_mu(_area_m2_at(geoms, centres["project"]))
    out["project"] = proj
    if zones is None or len(part) == 0:
        return out
    z, fl, has_film = _zone_inputs(part, zones)
    out["has_film"] = has_film
    with _overlay_areas_at(centres.get("pieces")):
        pieces = area_by_zone(
            fl, z, parcel_columns=_PIECE_PARCEL_COLUMNS, zone_columns=_PIECE_ZONE_COLUMNS
        )
    pieces["parcel_row"] = pieces["parcel_row"] + offset
    out["pieces"] = pieces
    inside = {}
    for kind, centre in centres.get("kinds", {}).items():
        zk = z[(z["kind"] == kind).to_numpy()]
        if not len(zk):
            continue
        # one process: the kind's touching parcels and pieces at their centre, then the farmland
        first = (centre,) if _touching_zones(fl, zk).any() else ()
        with _overlay_areas_at(*first, centres.get("farmland")):
            io = inside_outside(
                fl, zk, parcel_columns=["status", "film_mulch"], zones_layer="zones"
            )
        inside[kind] = io[io["inside_m2"] > 0]
    out["inside"] = inside
    return out


def _kind_centres(ext: list[dict]) -> dict:
    kinds: dict[str, list] = {}
    for e in ext:
        for k, b in e.get("kinds", {}).items():
            kinds.setdefault(k, []).append(b)
    return {k: _centre(_union_bounds(v)) for k, v in kinds.items()}


def _high_standard(results: list[dict], config, as_of, villages, sections=None, checks=None):
    """:func:`~gis_town.analysis.progress.high_standard_progress` from the partitions' project parcels."""
    from gis_town.analysis.progress.high_standard import _progress

    f = pd.concat([r["project"] for r in results], ignore_index=True)
    return _progress(f, config=config, as_of=as_of, villages=villages, sections=sections,
                     checks=checks)


def _kind_total(io: pd.DataFrame, zk, kind: str, film_note: str, due, as_of) -> dict:
    """The 合计 row of a kind (:func:`~gis_town.analysis.progress.zones._kind_total`) from its inside areas."""
    from gis_town.analysis.progress.status import TOTAL_ID
    from gis_town.analysis.progress.zones import _row
    from gis_town.schema import code_label

    planned = float(zk["planned_demo_mu"].sum(min_count=1))
    if zk["planned_demo_mu"].isna().any():
        planned = np.nan
    return _row(
        kind,
        TOTAL_ID,
        f"合计({code_label('zone_kind', kind)})",
        io["inside_m2"].to_numpy(),
        io["status"].to_numpy(),
        io["film_mulch"].to_numpy(dtype=bool),
        len(io),
        planned,
        "; ".join(x for x in (film_note, "本类分区合计(不跨类相加) total of this kind only") if x),
        due,
        as_of,
    )


def _zones_topic(results: list[dict], zones: gpd.GeoDataFrame, config, as_of, crs):
    """:func:`~gis_town.analysis.progress.zone_progress` from the partitions' pieces and inside areas."""
    from gis_town.analysis.progress.status import STATUS_LABELS, TopicProgress, _due, _summary
    from gis_town.analysis.progress.zones import (
        _COLUMNS,
        _NO_FILM,
        _noted_total,
        _zone_inputs,
        _zone_rows,
        _zone_summary,
    )
    from gis_town.schema import CODE_VALUES

    due = _due(config, "targets.annual_due", config.targets.annual_due)
    none = gpd.GeoDataFrame({"parcel_id": pd.Series([], dtype=object)}, geometry=[], crs=crs)
    z = _zone_inputs(none, zones)[0]
    done = [r for r in results if "pieces" in r]
    has_film = any(r["has_film"] for r in done)
    film_note = "" if has_film else _NO_FILM
    pieces = pd.concat([r["pieces"] for r in done], ignore_index=True)
    rows: list[dict] = []
    for kind in [k for k in CODE_VALUES["zone_kind"] if (z["kind"] == k).any()]:
        zk = z[(z["kind"] == kind).to_numpy()]
        parts = _zone_rows(zk, pieces, kind, film_note, due, as_of)
        io = [r["inside"][kind] for r in done if kind in r["inside"]]
        io = (
            pd.concat(io, ignore_index=True)
            if io
            else pd.DataFrame(
                {"inside_m2": [], "status": [], "film_mulch": pd.Series([], dtype=bool)}
            )
        )
        rows += [*parts, _noted_total(_kind_total(io, zk, kind, film_note, due, as_of), parts)]
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    return TopicProgress(
        "zones",
        "一川两线三流域 示范片带 demonstration belts",
        table,
        _summary(_zone_summary(rows, due)),
    )


def farmland_progress(
    farmland: Any,
    zones: gpd.GeoDataFrame | None = None,
    *,
    config: Any,
    as_of: Any,
    villages: pd.DataFrame | None = None,
    validate: bool = True,
    read_options: dict[str, Any] | None = None,
    npartitions: int | None = None,
    layer: str | None = None,
    path: str | None = None,
    high_standard: dict | None = None,
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, Any]]:
    """The farmland topics of plan progress, the farmland read, validated and overlaid per partition.

    Parameters
    ----------
    farmland : path, GeoDataFrame or dask frame
        The farmland layer as read (validated here when ``validate``; see
        :func:`gis_town.parallel.partitions`).
    zones : GeoDataFrame, optional
        The validated zones (small: sent to every task). Without them there
        is no ``zones`` topic.
    config : TownConfig
        Targets and due dates.
    as_of : date or "YYYY-MM-DD"
    villages : DataFrame, optional
        For the villages' names.
    high_standard : dict, optional
        The construction ``sections`` and their ``checks``
        (:func:`~gis_town.analysis.progress.plan_progress`).
    validate, read_options, npartitions, layer, path
        As :func:`gis_town.parallel.areas_report`.

    Returns
    -------
    (dict, DataFrame, dict)
        ``{"high_standard": TopicProgress, "zones": TopicProgress or None}``
        (the one-process topics), the farmland's validation problems
        (global rows) and its counts row.
    """
    from gis_town.analysis.progress import parse_as_of

    as_of = parse_as_of(as_of)
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
    small = _compute([_delayed(_read_summary)(s) for s in read])
    prob = _sort_problems(pd.concat([s["problems"] for s in small], ignore_index=True), name)
    used = [s["used"] for s in small]
    rows = np.concatenate([[0], np.cumsum(used)[:-1]]).astype(int).tolist()
    ext = _compute([_delayed(_extents_task)(s, zones) for s in read])
    centres = {
        "farmland": _centre(_union_bounds([s["bounds"] for s in small])),
        "project": _centre(_union_bounds([e["project"] for e in ext])),
        "pieces": _centre(_union_bounds([e["pieces"] for e in ext if "pieces" in e])),
        "kinds": _kind_centres(ext),
    }
    results = _compute([_delayed(_farmland_task)(s, zones, centres, r) for s, r in zip(read, rows)])
    del read
    topics: dict[str, Any] = {
        "high_standard": _high_standard(results, config, as_of, villages, **(high_standard or {})),
        "zones": None,
    }
    if zones is not None:
        crs = next((s["crs"] for s in small if s["crs"] is not None), zones.crs)
        topics["zones"] = _zones_topic(results, zones, config, as_of, crs)
    counts = _counts_row(name, sum(s["read"] for s in small), sum(used), prob)
    return topics, prob, counts


def _read_summary(state: dict) -> dict:
    return {
        "problems": state["problems"],
        "read": state["read"],
        "used": len(state["part"]),
        "bounds": state["bounds"],
        "crs": state["part"].crs,
    }


def plan_progress(
    town,
    as_of: Any,
    *,
    config: Any = None,
    farmland: Any = None,
    high_standard: dict | None = None,
    **options: Any,
) -> tuple[dict[str, Any], pd.DataFrame, dict[str, Any]]:
    """:func:`gis_town.analysis.progress.plan_progress` with the farmland per partition.

    ``town`` holds the small layers (not the farmland); ``farmland`` is the
    farmland layer's source (see :func:`farmland_progress`, which also takes
    ``options``). Returns the topics (keys and order of
    :data:`~gis_town.analysis.progress.TOPICS`), the farmland's problems and
    its counts row.
    """
    from gis_town.analysis.progress import TOPICS, _missing_topic, _topic, parse_as_of

    as_of = parse_as_of(as_of)
    cfg = town.config if config is None else config
    fp, prob, counts = farmland_progress(
        farmland,
        town.layers.get("zones"),
        config=cfg,
        as_of=as_of,
        villages=town.layers.get("villages"),
        high_standard=high_standard,
        **options,
    )
    out: dict[str, Any] = {}
    for key, label, layers in TOPICS:
        res = fp.get(key) if key in fp else _topic(key, town, cfg, as_of, high_standard)
        out[key] = res if res is not None else _missing_topic(key, label, layers)
    return out, prob, counts
