"""The plan progress runner: the only code that turns a town and its config into progress analysis calls.

:func:`run_progress` decides the as-of date (the argument, else the
config's ``town.data_date``, else today in the town's time zone), runs
:func:`gis_town.analysis.progress.plan_progress` and assembles the summary
with a row per layer that lost features while reading. The CLI
(``gis-town progress``), the progress map, the demo and the notebooks all
call it, so that every output of the topic shows the same numbers.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from gis_town.analysis.progress import (
    TopicProgress,
    parse_as_of,
    plan_progress,
    summary_table,
)
from gis_town.config import TownConfig
from gis_town.settings import LOCAL_TZ

__all__ = [
    "LAYERS",
    "AcceptanceVerdict",
    "ProgressResult",
    "acceptance_verdict",
    "construction_inputs",
    "high_standard_inputs",
    "progress_as_of",
    "run_progress",
]

log = logging.getLogger(__name__)

#: Layers the topic reads.
LAYERS: list[str] = [
    "villages",
    "farmland",
    "afforestation",
    "afforestation_points",
    "resettlement",
    "reclamation",
    "zones",
    "roads",
]


def progress_layers(config: TownConfig) -> list[str]:
    """The town layers a progress run reads: :data:`LAYERS`, and the context layers of the
    acceptance check that feeds the high-standard sections' *accepted* stage (rivers, red line,
    basic farmland, ...: without them its context rules would fail every plot)."""
    from gis_town.analysis.check.rulesets import load_rule_set
    from gis_town.runners.check import context_layers

    return list(dict.fromkeys([*LAYERS, *context_layers(load_rule_set("high_standard", config))]))


@dataclass
class ProgressResult:
    """Plan progress of a town on a date.

    Attributes
    ----------
    as_of : Timestamp
        The as-of date (midnight).
    topics : dict of str -> TopicProgress
        :func:`~gis_town.analysis.progress.plan_progress`'s results, keys
        ``afforestation``, ``resettlement``, ``high_standard``, ``zones``,
        ``roads``, ``collective``.
    summary : DataFrame
        The summary across topics, then one ``no_data`` row per progress
        layer with features rejected while reading.
    problems : DataFrame
        The town's reading problems on the progress layers (``layer``,
        ``action``, reasons...), empty when there are none.
    remediation : DataFrame or None
        The follow-up of the visit lists (撂荒地整治) per village and leader
        as of the date (:func:`gis_town.analysis.visits.remediation_table`),
        None without a visit history.
    history : Path or None
        The visit history read (``visits.csv``).
    """

    as_of: pd.Timestamp
    topics: dict[str, TopicProgress]
    summary: pd.DataFrame
    problems: pd.DataFrame = field(default_factory=pd.DataFrame)
    remediation: pd.DataFrame | None = None
    history: Path | None = None

    @property
    def households(self) -> pd.DataFrame | None:
        """The resettlement household table (with ``stage_reached``), None without the layer."""
        res = self.topics.get("resettlement")
        return None if res is None else res.details.get("resettlement_households")

    @property
    def programmes(self) -> dict[str, TopicProgress]:
        """The declared programmes' progress by their key (``toilets``), in config order."""
        n = len(PROGRAMME_PREFIX)
        return {t[n:]: res for t, res in self.topics.items() if t.startswith(PROGRAMME_PREFIX)}

    @property
    def behind(self) -> int:
        """Number of summary items behind schedule."""
        return int((self.summary["status"] == "behind").sum())


def progress_as_of(as_of=None, config: TownConfig | None = None) -> pd.Timestamp:
    """The as-of date: ``as_of``, else the config's ``town.data_date``, else today (town's time zone).

    Raises
    ------
    InputError
        When ``as_of`` is not a date.
    """
    if as_of is not None:
        return parse_as_of(as_of)
    if config is not None and config.town.data_date is not None:
        return parse_as_of(config.town.data_date)
    return parse_as_of(pd.Timestamp.now(tz=LOCAL_TZ).date())


def _problems(town) -> pd.DataFrame:
    problems = getattr(town, "problems", None)
    if problems is None or not len(problems) or "layer" not in problems.columns:
        return pd.DataFrame()
    return problems[problems["layer"].isin(LAYERS)].reset_index(drop=True)


def _with_rejects(summary: pd.DataFrame, problems: pd.DataFrame) -> pd.DataFrame:
    """The summary with one row per progress layer that had features rejected."""
    if not len(problems) or "action" not in problems.columns:
        return summary
    rejected = problems[problems["action"] == "rejected"]
    summary = summary.copy()
    for layer, n in rejected.groupby("layer").size().items():
        summary.loc[len(summary)] = {
            "topic": "数据问题 data problems",
            "item": f"{layer}: 剔除要素 rejected features",
            "unit": "个 features",
            "done": float(n),
            "base": float("nan"),
            "share_pct": float("nan"),
            "target_pct": float("nan"),
            "target": float("nan"),
            "due_date": "",
            "status": "no_data",
            "status_label": "未计入 not counted",
            "note": "见 rejects.csv (原因 reasons) / fix the data and rerun",
        }
    return summary


#: The topics of the declared programmes are keyed ``programme:KEY`` (after the plan's own).
PROGRAMME_PREFIX = "programme:"


def read_programme_items(town, config: TownConfig, key: str):
    """The items of ``[programmes.KEY]``: its ``path`` (default the town's file) and ``layer``
    (default the key), read and cleaned as every layer is, its ``fields`` mapped."""
    from gis_town.io.town import read_config_layer

    prog = config.programmes[key]
    return read_config_layer(config, town.path, path=prog.path, layer=prog.layer or key,
                             fields=prog.fields, key=f"programmes.{key}")


def programme_topics(town, config: TownConfig, as_of: pd.Timestamp) -> dict:
    """Each declared programme's progress (:func:`~gis_town.analysis.progress.programmes.programme_progress`),
    keyed :data:`PROGRAMME_PREFIX` + KEY after the plan's topics."""
    from gis_town.analysis.progress.programmes import programme_progress

    return {
        f"{PROGRAMME_PREFIX}{key}": programme_progress(
            read_programme_items(town, config, key), prog, key=key, config=config, as_of=as_of,
            villages=town.layers.get("villages"),
        )
        for key, prog in config.programmes.items()
    }


def read_sections(town, config: TownConfig):
    """The construction sections of ``[high_standard]`` (its ``path``, else the town's file when it
    has the layer), read and cleaned as every layer is; None when there are none."""
    from gis_town.io.read import list_layers
    from gis_town.io.town import read_config_layer

    hs = config.high_standard
    if hs.path is None:
        p = town.path
        if p is None or not Path(p).is_file() or hs.layer not in {n for n, _ in list_layers(p)}:
            return None
    sections = read_config_layer(config, town.path, path=hs.path, layer=hs.layer, fields=hs.fields,
                                 key="high_standard")
    return _polygon_sections(town, sections, hs.layer, hs.id_field)


def _polygon_sections(town, sections, layer: str, id_field: str):
    """The sections that are polygons; the others (empty, or cleaned into lines or points) are
    set aside into ``town.problems`` (rejects.csv), once, with a warning."""
    import pandas as pd

    geom = sections.geometry
    ok = (geom.geom_type.isin(["Polygon", "MultiPolygon"]) & ~geom.is_empty).to_numpy()
    if ok.all():
        return sections
    rows = np.flatnonzero(~ok)
    ids = (sections[id_field].astype("object").fillna("").astype(str).to_numpy()[rows]
           if id_field in sections.columns else np.full(len(rows), "", dtype=object))
    log.warning("%s: %d 个建设片区不是面，未计入 / %d section(s) are not polygons, left out (rejects.csv)",
                layer, len(rows), len(rows))
    problems = getattr(town, "problems", None)
    if problems is not None and not (problems.get("layer", pd.Series(dtype=object)) == layer).any():
        extra = pd.DataFrame({"layer": layer, "feature_id": ids, "row": rows, "field": "geometry",
                              "action": "rejected",
                              "reason": "建设片区不是面(空或退化为线、点) / the section is not a polygon "
                                        "(empty, or degenerate: a line or point); redraw it"})
        town.problems = pd.concat([problems, extra], ignore_index=True) if len(problems) else extra
    return sections[ok].reset_index(drop=True)


@dataclass
class AcceptanceVerdict:
    """The acceptance check (验收前检查) of the town's ``acceptance_plots``, per plot.

    Attributes
    ----------
    plots : GeoDataFrame
        The plots as checked (input order, index reset).
    ids : ndarray of str
        Per plot: its id (``"#<row>"`` where blank).
    passed : ndarray of bool
        Per plot: passed every error rule.
    rules_failed : ndarray of str
        Per plot: the rules it failed or that could not run, ``; ``-separated.
    """

    plots: object
    ids: np.ndarray
    passed: np.ndarray
    rules_failed: np.ndarray

    @property
    def failures(self) -> dict[str, str]:
        """The plots that did not pass: id -> the rules they failed or that could not run."""
        out = ~self.passed
        return dict(zip(self.ids[out], self.rules_failed[out], strict=True))


def acceptance_verdict(town, config: TownConfig) -> AcceptanceVerdict | None:
    """The ``high_standard`` rules (shipped or configured, :func:`gis_town.runners.check.run_check`)
    on the town's ``acceptance_plots``; None when the town has none, or when a raster the rules
    read is missing (a warning says so)."""
    from gis_town.errors import InputError
    from gis_town.io.town import stored_layer
    from gis_town.runners.check import run_check

    plots = stored_layer(town, "acceptance_plots")
    if plots is None or not len(plots):
        return None
    try:
        res = run_check(town, config, plots=plots, rules="high_standard", layer="acceptance_plots")
    except InputError as err:  # a raster the rules read is missing: go on without the verdict
        log.warning("验收前检查未运行，竣工验收按日期计 / acceptance check not run, accepted counted by "
                    "its date: %s", err)
        return None
    rows = res.summary["row"].to_numpy(dtype=int)
    passed = np.zeros(res.n_plots, dtype=bool)
    passed[rows] = res.summary["passed"].to_numpy(dtype=bool)
    failed = np.full(res.n_plots, "", dtype=object)
    rules = res.summary["rules_failed"].fillna("").astype(str).to_numpy()
    unchecked = res.summary["rules_not_checked"].fillna("").astype(str).to_numpy()
    failed[rows] = ["; ".join(x for x in pair if x) for pair in zip(rules, unchecked, strict=True)]
    return AcceptanceVerdict(res.plots.gdf, np.asarray(res.plots.ids, dtype=object), passed, failed)


def construction_inputs(town, config: TownConfig):
    """The construction sections of ``[high_standard]``, the acceptance check of the town's
    ``acceptance_plots`` (:func:`acceptance_verdict`, None when it did not run) and its verdict
    per section (:func:`~gis_town.analysis.progress.construction.section_checks`, None with
    it); None without sections. Progress and the upload both start from these."""
    from gis_town.analysis.progress.construction import section_checks

    sections = read_sections(town, config)
    if sections is None:
        return None
    verdict = acceptance_verdict(town, config)
    checks = None if verdict is None else section_checks(
        sections, verdict.plots, verdict.passed, plot_ids=verdict.ids, id_field=config.high_standard.id_field)
    return sections, verdict, checks


def high_standard_inputs(town, config: TownConfig) -> dict | None:
    """What :func:`~gis_town.analysis.progress.high_standard_progress` needs beyond the farmland:
    the construction ``sections`` and the acceptance check's verdict per section (``checks``;
    :func:`construction_inputs`). None without sections."""
    got = construction_inputs(town, config)
    if got is None:
        return None
    sections, _, checks = got
    return {"sections": sections, "checks": checks}


def run_progress(
    town,
    config: TownConfig | None = None,
    *,
    as_of: str | dt.date | None = None,
    visits: str | Path | None = None,
) -> ProgressResult:
    """Plan progress of ``town`` as of a date.

    Parameters
    ----------
    town : gis_town.io.Town
        A loaded town (the layers of :data:`LAYERS` it has).
    config : TownConfig, optional
        Targets and the default as-of date; default ``town.config``.
    as_of : date or "YYYY-MM-DD", optional
        Default: the config's ``town.data_date``, else today.
    visits : path, optional
        The visit history (``visits.csv`` of ``gis-town visits``); default
        ``[risk] visits``. With one, :attr:`ProgressResult.remediation` is
        the 撂荒地整治 table (listed, visited, re-cultivated, promised, overdue).

    Returns
    -------
    ProgressResult

    Raises
    ------
    InputError, FieldError, ConfigError
        An unparseable date, a bad field, a milestone with an unknown stage,
        a visit history (given or configured) that does not exist.
    """
    from gis_town.runners.visits import visit_history

    cfg = town.config if config is None else config
    day = progress_as_of(as_of, cfg)
    history, listed, history_path = visit_history(cfg, visits)
    topics = plan_progress(town, day, config=cfg, high_standard=high_standard_inputs(town, cfg))
    topics.update(programme_topics(town, cfg, day))
    problems = _problems(town)
    summary = _with_rejects(summary_table(topics), problems)
    remediation = None
    if history is not None:
        from gis_town.analysis.visits import remediation_table

        remediation = remediation_table(
            history, as_of=day.date(), listed=listed, villages=town.layers.get("villages")
        )
    log.debug("plan progress as of %s: %d summary rows", f"{day:%Y-%m-%d}", len(summary))
    return ProgressResult(day, topics, summary, problems, remediation, history_path)
