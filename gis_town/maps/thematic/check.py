"""The acceptance check map (验收前检查图): draws a :class:`~gis_town.runners.check.CheckResult`.

The map never runs the check itself: ``gis-town map --kind check`` passes the
runner's result, library use without one calls the runner
(:func:`gis_town.runners.check.run_check`), so the map shows what
``gis-town check`` reports.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.layout import (
    town_map,
)
from gis_town.maps.spec import LayerSpec, Style
from gis_town.maps.thematic.common import context_specs
from gis_town.reports.check import MAP_LABELS, result_plots_layer

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

    from gis_town.runners.check import CheckResult

log = logging.getLogger(__name__)


# =========================================================================== check

CHECK_STYLES: dict[str, Style] = {
    "不通过 fail": Style(color="#9d0208", fill="#e5383b", weight=1.5, fill_opacity=0.75),
    "待补充 incomplete": Style(color="#b35c00", fill="#ffb703", weight=1.2, fill_opacity=0.7),
    "通过 pass": Style(color="#2d6a4f", fill="#95d5b2", weight=0.6, fill_opacity=0.5),
}
#: Popup labels of the plots (from :mod:`gis_town.reports.check`).
CHECK_LABELS = MAP_LABELS

#: Layer names of the town's plot layers.
_PLOT_LAYER_NAMES = {
    "acceptance_plots": "高标准农田验收地块 high-standard plots",
    "reclamation": "拆旧复垦地块 reclaimed plots",
}


def _zone_specs(town: Town) -> list[LayerSpec]:
    """Basic farmland (hidden at first) and the red line under the plots."""
    specs = []
    for lname in ("basic_farmland", "redline"):
        if not town.has(lname):
            continue
        style = (
            Style(color="#bc6c25", fill="#fefae0", weight=1, fill_opacity=0.3)
            if lname == "basic_farmland"
            else Style(color="#9d0208", fill="#e5383b", weight=1.2, fill_opacity=0.15)
        )
        specs.append(
            LayerSpec(
                {
                    "basic_farmland": "永久基本农田 basic farmland",
                    "redline": "生态保护红线 red line",
                }[lname],
                town.layers[lname],
                fields=["zone_id", "name"],
                tooltip=["name"],
                style=style,
                show=lname == "redline",
                schema_layer=lname,
            )
        )
    return specs


def _plots_spec(result: CheckResult) -> LayerSpec:
    """One layer of checked plots, coloured by result, failed rules and messages in the popup."""
    plots_out = result_plots_layer(result)
    id_field = "plot_id" if "plot_id" in plots_out.columns else plots_out.columns[0]
    name = _PLOT_LAYER_NAMES.get(result.layer, "待检查地块 plots")
    return LayerSpec(
        f"{name}: 检查结果 check result",
        plots_out,
        fields=[
            id_field,
            "rule_set",
            "result",
            "rules_failed",
            "rules_not_checked",
            "warnings",
            "messages",
        ],
        tooltip=[id_field, "result"],
        labels=CHECK_LABELS,
        category="result",
        styles=CHECK_STYLES,
        schema_layer=None,
    )


def check_specs(
    town: Town,
    *,
    result: CheckResult | None = None,
    plots: gpd.GeoDataFrame | None = None,
    rules: str | None = None,
) -> tuple[list[LayerSpec], str, str]:
    """Layers of the acceptance-check map: plots by result, failed rules and messages in the popup.

    Parameters
    ----------
    town : Town
    result : CheckResult, optional
        From :func:`gis_town.runners.check.run_check`: drawn as it is (its
        :attr:`~gis_town.runners.check.CheckResult.more` layers too). Without
        it the runner is called here: on ``plots`` with ``rules`` when given,
        else on the town's ``acceptance_plots`` (high_standard rules) and
        ``reclamation`` (reclamation rules), as stored.
    plots, rules : optional
        Only without ``result``: the plots and the rule set to check.
    """
    if result is None:
        from gis_town.runners.check import run_check

        result = run_check(town, town.config, plots=plots, rules=rules or "high_standard")
    specs = context_specs(town, rivers=True, roads=True)
    specs += _zone_specs(town)
    n_fail = n_all = 0
    for r in result.all_results():
        specs.append(_plots_spec(r))
        n_fail += int(r.failed_mask.sum())
        n_all += r.n_plots
    title = f"{town.config.town.name} 验收前检查图 / acceptance check"
    subtitle = f"{n_fail} / {n_all} 个地块未通过 plots did not pass"
    return specs, title, subtitle


def check_map(
    town: Town, *, result: CheckResult | None = None, plots=None, rules=None, **kwargs
) -> TownMap:
    """The acceptance-check map (验收前检查图) as a ``folium.Map``; ``kwargs`` go to ``build_map``."""
    specs, title, subtitle = check_specs(town, result=result, plots=plots, rules=rules)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)
