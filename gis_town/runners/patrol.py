"""The patrol runner: the only code that turns a town and its config into patrol analysis calls.

:func:`run_patrol` decides where the patrol points come from (``--tracks``
files through :func:`gis_town.io.tracks.load_tracks`, a DataFrame of fixes,
else the town's ``patrols`` layer), and whether the analysis runs in this
process (:func:`gis_town.analysis.patrol.analyze_patrols`) or per partition
on Dask (:func:`gis_town.parallel.analyze_patrols`). ``gis-town patrol``,
``gis-town map --kind patrol``, :func:`gis_town.maps.thematic.patrol_map`,
the demo and the notebooks all call it, so they all get the same result.

It also adds the town's river problems (清四乱, the ``problems`` layer:
``[layers.problems]``, else a ``problems`` layer in the town; see
:func:`gis_town.io.problems.load_problems`) with
:func:`gis_town.analysis.patrol.with_problems`: their counts join the
segments and chiefs, the chiefs are ranked with the rectification rate, and
the 回头看 sheet checks the closed ones against the trips.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import pandas as pd

from gis_town.analysis.patrol import PatrolResult, analyze_patrols, prepare_rivers, with_problems
from gis_town.config import TownConfig
from gis_town.io.town import Town

__all__ = ["PATROL_LAYERS", "PatrolResult", "dask_choice", "run_patrol"]

log = logging.getLogger(__name__)

#: Layers of the patrol run, in the order the one-process run loads them.
PATROL_LAYERS = ["rivers", "villages", "patrols"]


def dask_choice(
    config: TownConfig, *, workers: int | None = None, scheduler: str | None = None
) -> tuple[str | None, int | None] | None:
    """``(scheduler, workers)`` when Dask is asked for (arguments first, then ``[dask]``), else None."""
    scheduler = scheduler or config.dask.scheduler
    if workers is None:
        workers = config.dask.workers
    return (scheduler, workers) if scheduler or workers is not None else None


def _track_points(town: Town, tracks, config: TownConfig) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fixes from track files (their counts row joins ``town.counts``) and the rejected files' rows."""
    if isinstance(tracks, pd.DataFrame):
        return tracks, pd.DataFrame()
    from gis_town.io.tracks import load_tracks

    points, rejects, counts = load_tracks(Path(tracks), config)
    counts = pd.DataFrame([counts])
    town.counts = (
        pd.concat([town.counts, counts], ignore_index=True) if len(town.counts) else counts
    )
    return points, rejects


def _partitioned(
    town: Town,
    config: TownConfig,
    as_of: dt.date | str | None,
    cluster: tuple[str | None, int | None],
) -> PatrolResult:
    """The town's patrols layer read and matched per partition; its problems and counts join the town's."""
    from gis_town.parallel import analyze_patrols as analyze_partitioned
    from gis_town.parallel import client_for, layer_source, merge_layer_report

    path, layer, opts = layer_source(Path(town.path), config, "patrols")
    scheduler, workers = cluster
    log.info("Dask 分区计算 partitioned run on %s: %s", scheduler or f"{workers} workers", path)
    with client_for(scheduler, workers):
        res, problems, counts = analyze_partitioned(
            path,
            town.layer("rivers"),
            config=config,
            as_of=as_of,
            villages=town.layers.get("villages"),
            gk_crs=town.gk_crs,
            read_options=opts,
            npartitions=config.dask.partitions,
            layer=layer,
            path=str(path),
        )
    merge_layer_report(town, "patrols", problems, counts, PATROL_LAYERS)
    return res


def _town_problems(town: Town, config: TownConfig, problems):
    """The river problems of the run (validated), or None; their counts row joins ``town.counts``."""
    if problems is False:
        return None, pd.DataFrame()
    from gis_town.io.problems import load_problems
    from gis_town.io.validate import validate_layer

    if problems is None and town.has("problems"):
        return town.layer("problems"), pd.DataFrame()  # loaded with the town: its rejects are the town's
    if isinstance(problems, pd.DataFrame):
        used, rejects = validate_layer(problems, "problems")
        return used, rejects
    path = None if problems is None else Path(problems)
    used, rejects, counts = load_problems(town.path, config, path=path)
    if counts is not None:
        row = pd.DataFrame([counts])
        town.counts = pd.concat([town.counts, row], ignore_index=True) if len(town.counts) else row
    return used, rejects


def _add_problems(res: PatrolResult, town: Town, config: TownConfig, problems, rejects, keep_points: bool):
    """``res`` with the river problems (when there are any), the problem rejects joining its problems."""
    if problems is not None and len(problems):
        gk = res.summary.get("gk_crs") or town.gk_crs
        segs = prepare_rivers(town.layer("rivers"), config=config.patrol, gk_crs=gk)
        res = with_problems(res, problems, segs, config=config.patrol, gk_crs=gk)
    if len(rejects):
        res.problems = pd.concat([p for p in (res.problems, rejects) if len(p)], ignore_index=True)
    if not keep_points:
        res.points = None
    return res


def run_patrol(
    town: Town,
    config: TownConfig | None = None,
    *,
    as_of: dt.date | str | None = None,
    tracks: str | Path | pd.DataFrame | None = None,
    keep_points: bool = False,
    workers: int | None = None,
    scheduler: str | None = None,
    problems=None,
) -> PatrolResult:
    """River patrol coverage of a town, in one process or on Dask.

    Parameters
    ----------
    town : Town
        With ``rivers`` (and ``villages`` for names); ``patrols`` unless
        ``tracks`` is given or the run is partitioned.
    config : TownConfig, optional
        Default ``town.config``.
    as_of : date, optional
        Report date (default: ``[town] data_date``, else the last patrol's day).
    tracks : path or DataFrame, optional
        A track file or folder (CSV, GPX, KML/KMZ; read with
        :func:`~gis_town.io.tracks.load_tracks`, its counts row joins
        ``town.counts``) or a DataFrame of fixes, instead of the ``patrols`` layer.
    keep_points : bool, default False
        Keep the prepared points in the result (the map draws invalid trips
        from them); one process only.
    workers, scheduler : optional
        Dask: a local cluster of ``workers`` processes or a scheduler's
        address (default: the config's ``[dask]``). Used when the points are
        the town's ``patrols`` layer and not loaded yet (they are then read
        from the town's file in the workers; their problems and counts join
        the town's).
    problems : GeoDataFrame, path or False, optional
        River problems (清四乱): a ``problems`` layer, or a file of them
        (GeoPackage, KML/KMZ, xlsx); default the town's (``[layers.problems]``,
        else a ``problems`` layer beside the others); False for none.

    Returns
    -------
    PatrolResult
        Its ``problems`` are the rejected track rows (``tracks``) followed by
        the rejected points and the rejected problem rows. With river problems a
        :class:`~gis_town.analysis.patrol.PatrolProblemsResult`: ``river_problems``
        holds them, the segments and chiefs carry their counts.
    """
    cfg = config if config is not None else town.config
    rejects = pd.DataFrame()
    cluster = dask_choice(cfg, workers=workers, scheduler=scheduler)
    if tracks is None and cluster is not None and not town.has("patrols"):
        if keep_points:
            log.warning("分区计算不保留轨迹点 / a partitioned run keeps no points (keep_points)")
        res = _partitioned(town, cfg, as_of, cluster)
        found, problem_rejects = _town_problems(town, cfg, problems)  # its counts row after the merge
        return _add_problems(res, town, cfg, found, problem_rejects, False)
    if tracks is not None:
        points, rejects = _track_points(town, tracks, cfg)
    else:
        points = town.layer("patrols")
    found, problem_rejects = _town_problems(town, cfg, problems)  # its counts row after the tracks'
    res = analyze_patrols(
        points,
        town.layer("rivers"),
        config=cfg,
        as_of=as_of,
        villages=town.layers.get("villages"),
        gk_crs=town.gk_crs,
        keep_points=keep_points or found is not None,  # 回头看 looks at the fixes
    )
    if len(rejects):
        frames = [p for p in (rejects, res.problems) if len(p)]
        res.problems = pd.concat(frames, ignore_index=True)
    return _add_problems(res, town, cfg, found, problem_rejects, keep_points)
