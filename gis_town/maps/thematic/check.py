"""The acceptance check map (验收前检查图)."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd

from gis_town.errors import LayerError
from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.layout import (
    town_map,
)
from gis_town.maps.spec import LayerSpec, Style
from gis_town.maps.thematic.common import context_specs

log = logging.getLogger(__name__)


# =========================================================================== check

CHECK_STYLES: dict[str, Style] = {
    "不通过 fail": Style(color="#9d0208", fill="#e5383b", weight=1.5, fill_opacity=0.75),
    "待补充 incomplete": Style(color="#b35c00", fill="#ffb703", weight=1.2, fill_opacity=0.7),
    "通过 pass": Style(color="#2d6a4f", fill="#95d5b2", weight=0.6, fill_opacity=0.5),
}
CHECK_LABELS = {
    "result": "检查结果",
    "rules_failed": "不通过的规则",
    "rules_not_checked": "未检查的规则",
    "warnings": "提醒",
    "messages": "问题说明",
    "n_failed": "不通过条数",
    "rule_set": "规则集",
}


def _raw_layer(town: Town, name: str) -> gpd.GeoDataFrame | None:
    """A layer read as stored (invalid geometries reach the validity rule), else the validated one."""
    from gis_town.io.read import list_layers, read_layer

    p = town.path
    is_gpkg = p is not None and Path(p).is_file() and Path(p).suffix.lower() == ".gpkg"
    if is_gpkg and name in {n for n, _ in list_layers(p)}:
        return read_layer(p, name)
    return town.layers.get(name)


def check_specs(
    town: Town,
    *,
    plots: gpd.GeoDataFrame | None = None,
    rules: str | None = None,
) -> tuple[list[LayerSpec], str, str]:
    """Layers of the acceptance-check map: plots by result, failed rules and messages in the popup.

    Without ``plots``: the town's ``acceptance_plots`` (high_standard rules)
    and ``reclamation`` (reclamation rules), as stored.
    """
    from gis_town.analysis.check import CheckContext, load_rule_set, run_rules, summarize

    jobs: list[tuple[str, gpd.GeoDataFrame, str]] = []
    if plots is not None:
        jobs.append(("plots", plots, rules or "high_standard"))
    else:
        for lname, rset in (("acceptance_plots", "high_standard"), ("reclamation", "reclamation")):
            g = _raw_layer(town, lname)
            if g is not None and len(g):
                jobs.append((lname, g, rset))
    if not jobs:
        raise LayerError(
            "没有待检查的地块 / nothing to check: the town has no acceptance_plots or reclamation layer "
            "(give plots= or run `gis-town check PLOTS`)",
            path=str(town.path) if town.path else None,
        )
    specs = context_specs(town, rivers=True, roads=True)
    for lname in ("basic_farmland", "redline"):
        if town.has(lname):
            specs.append(
                LayerSpec(
                    {
                        "basic_farmland": "永久基本农田 basic farmland",
                        "redline": "生态保护红线 red line",
                    }[lname],
                    town.layers[lname],
                    fields=["zone_id", "name"],
                    tooltip=["name"],
                    style=Style(color="#bc6c25", fill="#fefae0", weight=1, fill_opacity=0.3)
                    if lname == "basic_farmland"
                    else Style(color="#9d0208", fill="#e5383b", weight=1.2, fill_opacity=0.15),
                    show=lname == "redline",
                    schema_layer=lname,
                )
            )
    n_fail = 0
    n_all = 0
    for lname, g, rset in jobs:
        rule_set = load_rule_set(rset, town.config)
        ctx = CheckContext.from_town(town)
        results = run_rules(g, rule_set, context=ctx)
        summary = summarize(results)
        plots_out = g.reset_index(drop=True).copy()
        geom = plots_out.geometry.name
        for c in (
            "result",
            "rules_failed",
            "rules_not_checked",
            "warnings",
            "messages",
            "n_failed",
        ):
            plots_out[c] = summary[c].to_numpy()
        plots_out["rule_set"] = f"{rule_set.name}"
        present = ~(plots_out.geometry.isna() | plots_out.geometry.is_empty)
        plots_out = gpd.GeoDataFrame(plots_out.loc[present.to_numpy()], geometry=geom, crs=g.crs)
        n_fail += int((summary["passed"] == False).sum())  # noqa: E712 - boolean column
        n_all += len(summary)
        id_field = "plot_id" if "plot_id" in plots_out.columns else plots_out.columns[0]
        name = {
            "acceptance_plots": "高标准农田验收地块 high-standard plots",
            "reclamation": "拆旧复垦地块 reclaimed plots",
        }.get(lname, "待检查地块 plots")
        specs.append(
            LayerSpec(
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
        )
    title = f"{town.config.town.name} 验收前检查图 / acceptance check"
    subtitle = f"{n_fail} / {n_all} 个地块未通过 plots did not pass"
    return specs, title, subtitle


def check_map(town: Town, *, plots=None, rules=None, **kwargs) -> TownMap:
    """The acceptance-check map (验收前检查图) as a ``folium.Map``; ``kwargs`` go to ``build_map``."""
    specs, title, subtitle = check_specs(town, plots=plots, rules=rules)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)


# =========================================================================== any kind
