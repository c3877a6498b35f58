"""The acceptance-check runner (验收前检查): a town, its config and plots to a :class:`CheckResult`.

:func:`run_check` is the one place that decides what the check of
:mod:`gis_town.analysis.check` gets: which plots (given, or the town's
``acceptance_plots`` and ``reclamation`` layers as stored), which rule set
(shipped, from the config, or a file), which DEM and NDVI (given, else the
config's ``[rasters]``; a raster named but missing is an error, the same for
``gis-town check``, ``gis-town map --kind check`` and library use) and which
context layers, and whether the rules run in this process or per partition
of plots on Dask (``workers`` / ``scheduler``, else the config's ``[dask]``;
:func:`gis_town.parallel.check_partitioned`: the same tables). ``gis-town
check`` writes and prints what it returns, the check map draws it
(:func:`gis_town.maps.thematic.check.check_specs`).
"""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from gis_town.analysis.check import (
    CheckContext,
    Plots,
    RuleSet,
    load_rule_set,
    prepare_plots,
    rule_counts,
    run_rules,
    summarize,
)
from gis_town.errors import InputError, LayerError

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from gis_town.config import TownConfig
    from gis_town.io.town import Town

__all__ = [
    "CONTEXT_KINDS",
    "TOWN_PLOT_LAYERS",
    "CheckResult",
    "context_layers",
    "dask_choice",
    "run_check",
]

log = logging.getLogger(__name__)

#: Rule kinds that read a context layer (their ``layer`` limit names it).
CONTEXT_KINDS: tuple[str, ...] = (
    "road_access",
    "redline",
    "river_buffer",
    "homestead",
    "basic_farmland",
)

#: The town's layers of plots to check and the rule set of each (without ``plots``).
TOWN_PLOT_LAYERS: tuple[tuple[str, str], ...] = (
    ("acceptance_plots", "high_standard"),
    ("reclamation", "reclamation"),
)


@dataclass
class CheckResult:
    """The acceptance check of one layer of plots.

    Attributes
    ----------
    plots : Plots
        The plots as prepared for the rules (input order, index reset).
    rule_set : RuleSet
    results : DataFrame
        :data:`~gis_town.analysis.check.RESULT_COLUMNS`: one row per plot and rule.
    summary : DataFrame
        :data:`~gis_town.analysis.check.SUMMARY_COLUMNS`: one row per plot.
    counts : DataFrame
        Per rule: pass / fail / not-checked counts (:func:`~gis_town.analysis.check.rule_counts`).
    problems : list of str
        What limits the check (no town: context rules not checked; no DEM or
        NDVI for a rule that needs one), ``中文 / English``.
    context : CheckContext
        The context layers and rasters the rules read.
    layer : str
        The plots' layer name (``acceptance_plots``, ``reclamation``, ``plots``...).
    dem, ndvi : Path or None
        The rasters used.
    more : list of CheckResult
        Without ``plots``: the town's further layers of plots (``reclamation``
        with its rule set), each checked the same way.
    """

    plots: Plots
    rule_set: RuleSet
    results: pd.DataFrame
    summary: pd.DataFrame
    counts: pd.DataFrame
    problems: list[str]
    context: CheckContext
    layer: str = "plots"
    dem: Path | None = None
    ndvi: Path | None = None
    more: list[CheckResult] = field(default_factory=list)

    @property
    def failed_mask(self) -> np.ndarray:
        """Plots that did not pass (failed, or a rule could not run)."""
        return ~self.summary["passed"].to_numpy(dtype=bool)

    @property
    def n_plots(self) -> int:
        return len(self.summary)

    @property
    def n_passed(self) -> int:
        return int(self.summary["passed"].sum())

    @property
    def n_failed(self) -> int:
        """Plots with at least one failed rule."""
        return int((self.summary["n_failed"] > 0).sum())

    @property
    def n_incomplete(self) -> int:
        """Plots without a failed rule that a rule could not check."""
        return self.n_plots - self.n_passed - self.n_failed

    def all_results(self) -> list[CheckResult]:
        """This result, then :attr:`more`."""
        return [self, *self.more]


def context_layers(rule_set: RuleSet) -> list[str]:
    """The context layers a rule set reads (the town layers to load), sorted."""
    names = {r.limits_dict().get("layer", "") for r in rule_set.rules if r.kind in CONTEXT_KINDS}
    return sorted(names - {""})


def _rasters(config: TownConfig, dem, ndvi) -> tuple[Path | None, Path | None]:
    """DEM and NDVI: as given, else the config's (the latest NDVI year); a missing file is an error."""
    if dem is None:
        dem = config.dem_path()
    if ndvi is None and config.rasters.ndvi:
        ndvi = config.ndvi_paths()[max(config.rasters.ndvi)]
    for what, path in (("DEM", dem), ("NDVI", ndvi)):
        if path is not None and not Path(path).exists():
            raise InputError(
                f"{what} 文件不存在 / {what} raster not found: check --{what.lower()} or [rasters] in the config",
                path=str(path),
            )
    return dem, ndvi


def _town_jobs(town: Town | None, rules) -> list[tuple[str, Any, Any]]:
    """The town's layers of plots and their rule sets: ``acceptance_plots`` gets ``rules``."""
    from gis_town.io.town import stored_layer

    jobs = []
    if town is not None:
        for lname, default in TOWN_PLOT_LAYERS:
            g = stored_layer(town, lname)
            if g is not None and len(g):
                jobs.append((lname, g, rules if lname == "acceptance_plots" else default))
    if not jobs:
        raise LayerError(
            "没有待检查的地块 / nothing to check: the town has no acceptance_plots or reclamation layer "
            "(give plots= or run `gis-town check PLOTS`)",
            path=str(town.path) if town is not None and town.path else None,
        )
    return jobs


def _problems(town: Town | None, rule_set: RuleSet, dem, ndvi) -> list[str]:
    """What limits the check, ``中文 / English``."""
    kinds = {r.kind for r in rule_set.rules}
    out = []
    if town is None:
        out.append(
            "未给出乡镇数据 (--town)：道路、红线等规则将标为未检查 / no --town: context rules will be not_checked"
        )
    if dem is None and "slope" in kinds:
        out.append("未提供 DEM：坡度规则将标为未检查 / no DEM: the slope rule will be not_checked")
    if ndvi is None and "ndvi" in kinds:
        out.append("未提供 NDVI：植被规则将标为未检查 / no NDVI: the NDVI rule will be not_checked")
    return out


def dask_choice(
    config: TownConfig, *, workers: int | None = None, scheduler: str | None = None
) -> tuple[str | None, int | None] | None:
    """``(scheduler, workers)`` when Dask is asked for (arguments first, then ``[dask]``), else None."""
    scheduler = scheduler or config.dask.scheduler
    if workers is None:
        workers = config.dask.workers
    return (scheduler, workers) if scheduler or workers is not None else None


def _rules_over(
    plots: gpd.GeoDataFrame | Plots,
    rule_set: RuleSet,
    ctx: CheckContext,
    *,
    layer: str,
    partitioned: bool,
    npartitions: int | None,
) -> tuple[Plots, pd.DataFrame, pd.DataFrame]:
    """The prepared plots, the results and the summary: in this process, or per partition on Dask."""
    if partitioned and not isinstance(plots, Plots):
        from gis_town.parallel import check_partitioned

        prepared, results, summary = check_partitioned(
            plots, rule_set, context=ctx, layer=layer, npartitions=npartitions
        )
        ctx.gk_crs = prepared.gk_crs
        return prepared, results, summary
    prepared = prepare_plots(plots, id_field=ctx.id_field, layer=layer)
    ctx.gk_crs = prepared.gk_crs
    results = run_rules(prepared, rule_set, context=ctx)
    return prepared, results, summarize(results)


def _check_one(
    town: Town | None,
    config: TownConfig,
    plots: gpd.GeoDataFrame | Plots,
    rules: RuleSet | str | Path,
    *,
    dem: Path | None,
    ndvi: Path | None,
    id_field: str,
    layer: str,
    partitioned: bool = False,
) -> CheckResult:
    """Prepare one layer of plots, run its rule set over it, summarise."""
    rule_set = load_rule_set(rules, config)
    layers = dict(town.layers) if town is not None else {}
    ctx = CheckContext(layers=layers, dem=dem, ndvi=ndvi, id_field=id_field)
    prepared, results, summary = _rules_over(
        plots,
        rule_set,
        ctx,
        layer=layer,
        partitioned=partitioned,
        npartitions=config.dask.partitions,
    )
    return CheckResult(
        plots=prepared,
        rule_set=rule_set,
        results=results,
        summary=summary,
        counts=rule_counts(results, rule_set),
        problems=_problems(town, rule_set, dem, ndvi),
        context=ctx,
        layer=layer,
        dem=dem,
        ndvi=ndvi,
    )


def run_check(
    town: Town | None,
    config: TownConfig | None = None,
    *,
    plots: gpd.GeoDataFrame | Plots | None = None,
    rules: RuleSet | str | Path = "high_standard",
    dem: str | Path | None = None,
    ndvi: str | Path | None = None,
    id_field: str = "plot_id",
    layer: str | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
) -> CheckResult:
    """Check plots before acceptance: every rule of the rule set, every plot.

    Parameters
    ----------
    town : Town or None
        Context layers (roads, rivers, red line, basic farmland,
        resettlement) by schema name; None: the context rules are
        ``not_checked`` (``config`` is then required).
    config : TownConfig, optional
        Default: the town's. Rule-set overrides, ``[rasters]``.
    plots : GeoDataFrame or Plots, optional
        The plots as read (invalid geometries reach the validity rule).
        Default: the town's ``acceptance_plots`` checked with ``rules`` and
        its ``reclamation`` with the reclamation rules (in
        :attr:`CheckResult.more`), read as stored.
    rules : RuleSet, str or Path
        ``high_standard``, ``reclamation``, a set named in the config, or a
        rule file.
    dem, ndvi : path, optional
        Default: ``config.dem_path()`` and the latest of ``config.ndvi_paths()``.
    id_field : str
        The plots' id field.
    layer : str, optional
        The plots' layer name, for messages (default ``plots``).
    workers, scheduler : optional
        Dask: a local cluster of ``workers`` processes or a scheduler's
        address (default: the config's ``[dask]``). The plots are split into
        partitions (``[dask] partitions``, default twice the workers) checked
        in the workers; the overlap and duplicate-id rules run over the whole
        layer (:func:`gis_town.parallel.check_partitioned`). Without either,
        one process.

    Returns
    -------
    CheckResult

    Raises
    ------
    InputError
        A DEM or NDVI raster, given or in the config, does not exist.
    LayerError
        No plots given and the town has none to check.
    """
    if config is None:
        if town is None:
            raise InputError("run_check: give a town or a config")
        config = town.config
    dem, ndvi = _rasters(config, dem, ndvi)
    if plots is not None:
        jobs = [(layer or "plots", plots, rules)]
    else:
        jobs = _town_jobs(town, rules)
    cluster = dask_choice(config, workers=workers, scheduler=scheduler)
    with _cluster(cluster):
        out = [
            _check_one(
                town,
                config,
                g,
                rs,
                dem=dem,
                ndvi=ndvi,
                id_field=id_field,
                layer=lname,
                partitioned=cluster is not None,
            )
            for lname, g, rs in jobs
        ]
    for r in out:
        log.info(
            "%s: %d 个地块，通过 %d，不通过 %d，待补充 %d / %d plots, %d passed, %d failed, %d incomplete",
            r.layer,
            r.n_plots,
            r.n_passed,
            r.n_failed,
            r.n_incomplete,
            r.n_plots,
            r.n_passed,
            r.n_failed,
            r.n_incomplete,
        )
    first = out[0]
    first.more = out[1:]
    return first


def _cluster(cluster: tuple[str | None, int | None] | None):
    """The Dask client of the run (a ``with`` block), or nothing to enter for one process."""
    if cluster is None:
        return contextlib.nullcontext()
    from gis_town.parallel import client_for

    scheduler, workers = cluster
    log.info("Dask 分区计算 partitioned check on %s", scheduler or f"{workers} workers")
    return client_for(scheduler, workers)
