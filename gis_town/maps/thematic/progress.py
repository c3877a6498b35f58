"""The plan progress map (计划进度图)."""

from __future__ import annotations

import logging

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.colors import ordered
from gis_town.maps.layout import (
    farmland_with_area,
    project_styles,
    town_map,
    with_village_names,
)
from gis_town.maps.spec import LayerSpec, Style, geometry_kind, graduated_classes, split_by_family
from gis_town.maps.thematic.common import TOTAL_ID, context_specs
from gis_town.reports.progress import (
    HIGH_STANDARD_HEADERS,
    HIGH_STANDARD_STAGES,
    PROGRAMME_HEADERS,
    PROGRESS_LABELS,
    STAGE_LABELS,
    STAGES,
    stage_label,
)

log = logging.getLogger(__name__)

__all__ = ["PROGRESS_LABELS", "progress_map", "progress_specs"]


def _zone_progress_specs(town: Town, topic) -> list[LayerSpec]:
    if topic is None or not town.has("zones") or not len(topic.table):
        return []
    table = topic.table
    table = table[table["zone_id"].astype(str) != TOTAL_ID]
    z = town.layers["zones"][["zone_id", town.layers["zones"].geometry.name]].merge(
        table.drop(columns=[c for c in ("geometry",) if c in table.columns]),
        on="zone_id",
        how="inner",
    )
    z = gpd.GeoDataFrame(
        z, geometry=town.layers["zones"].geometry.name, crs=town.layers["zones"].crs
    )
    cls, styles, labels = graduated_classes(
        z["share_pct"].astype(float),
        [-np.inf, 50, 80, 100, np.inf],
        ("#d73027", "#fc8d59", "#fee08b", "#1a9850"),
        unit="%",
    )
    z["share_class"] = cls
    fields = [
        "zone_id",
        "name",
        "kind_label",
        "area_mu",
        "film_mu",
        "planned_demo_mu",
        "share_pct",
        "status_label",
        "note",
    ]
    specs = []
    for kinds, name, show in (
        (("valley", "corridor"), "示范片带完成度 belts: share of planned mu", True),
        (("basin",), "三流域完成度 basins: share of planned mu", False),
    ):
        part = z[z["kind"].isin(kinds)]
        if len(part):
            specs.append(
                LayerSpec(
                    name,
                    part,
                    fields=fields,
                    tooltip=["name", "share_pct"],
                    labels=PROGRESS_LABELS,
                    category="share_class",
                    styles={
                        k: Style(color="#7f4f24", fill=s.fill, weight=2, fill_opacity=0.35)
                        for k, s in styles.items()
                    },
                    class_labels={k: f"完成 {v}" for k, v in labels.items()},
                    style=Style(color="#7f4f24", fill="#eeeeee", weight=2, fill_opacity=0.2),
                    label_field="name",
                    schema_layer="zones",
                    show=show,
                )
            )
    return specs


def progress_specs(
    town: Town, *, result=None, as_of=None, results: dict | None = None
) -> tuple[list[LayerSpec], str, str]:
    """Layers, title and subtitle of the plan progress map.

    Parameters
    ----------
    town : Town
    result : ProgressResult, optional
        From :func:`gis_town.runners.progress.run_progress`; the map draws it
        and computes nothing. Without it, the runner is called (library use).
    as_of : date, optional
        Only used without ``result`` (the runner's as-of date).
    results : dict, optional
        Former argument: per-topic results of ``plan_progress`` (drawn as of ``as_of``).
    """
    if result is None:
        from gis_town.runners.progress import run_progress

        if results is not None:
            from gis_town.runners.progress import ProgressResult, progress_as_of

            result = ProgressResult(progress_as_of(as_of, town.config), results, pd.DataFrame())
        else:
            result = run_progress(town, town.config, as_of=as_of)
    res = result.topics
    day = result.as_of.date()
    ts = result.as_of
    specs = context_specs(town)
    specs += _zone_progress_specs(town, res.get("zones"))

    if (
        town.has("farmland")
        and res.get("high_standard") is not None
        and len(res["high_standard"].table)
    ):
        farm = town.layers["farmland"]
        if "project" in farm.columns:
            proj = farm[farm["project"].astype("string").fillna("").str.strip() != ""]
            if len(proj):
                proj = with_village_names(farmland_with_area(proj), town)
                tab = res["high_standard"].table
                tab = tab[tab["project"].astype(str) != TOTAL_ID][
                    [
                        c
                        for c in ("project", "target_mu", "share_pct", "status_label")
                        if c in tab.columns
                    ]
                ].rename(
                    columns={
                        "target_mu": "project_target_mu",
                        "share_pct": "project_share_pct",
                        "status_label": "project_status",
                    }
                )
                proj = proj.assign(project=proj["project"].astype(str).str.strip()).merge(
                    tab, on="project", how="left"
                )
                specs.append(
                    LayerSpec(
                        "高标准农田 high-standard farmland",
                        proj,
                        fields=[
                            "parcel_id",
                            "village_name",
                            "project",
                            "area_mu",
                            "project_target_mu",
                            "project_share_pct",
                            "project_status",
                        ],
                        tooltip=["project"],
                        labels={
                            **PROGRESS_LABELS,
                            "project_target_mu": "项目计划(亩)",
                            "project_share_pct": "项目完成(%)",
                            "project_status": "项目状态",
                        },
                        category="project",
                        styles=project_styles(proj["project"], fill_opacity=0.6, weight=0.5),
                        schema_layer="farmland",
                        coverage=True,
                    )
                )

    aff = res.get("afforestation")
    issues = aff.details.get("afforestation_plots") if aff is not None else None
    kind_styles_poly = {
        "hillside": Style(color="#2b9348", fill="#80b918", weight=1, fill_opacity=0.6),
        "economic": Style(color="#bc6c25", fill="#dda15e", weight=1, fill_opacity=0.6),
        "four_sides": Style(color="#006400", fill="#38b000", weight=1, fill_opacity=0.6),
    }
    kind_styles_pt = {
        "four_sides": Style(
            color="#004b23", fill="#38b000", radius=4.5, fill_opacity=0.95, weight=1
        ),
        "hillside": Style(color="#004b23", fill="#80b918", radius=4.5, fill_opacity=0.95, weight=1),
        "economic": Style(color="#6f4518", fill="#dda15e", radius=4.5, fill_opacity=0.95, weight=1),
    }
    for layer_name, title in (
        ("afforestation", "造林地块 afforestation plots"),
        ("afforestation_points", "四旁植树点 four-sides planting"),
    ):
        if not town.has(layer_name):
            continue
        g = with_village_names(town.layers[layer_name], town)
        if issues is not None and len(issues) and "plot_id" in issues.columns:
            iss = issues[[c for c in ("plot_id", "issue") if c in issues.columns]].drop_duplicates(
                "plot_id"
            )
            g = g.merge(iss, on="plot_id", how="left")
            g = gpd.GeoDataFrame(
                g, geometry=town.layers[layer_name].geometry.name, crs=town.layers[layer_name].crs
            )
        parts = split_by_family(g)  # the schema allows polygons and points in one layer
        for kind, part in parts.items():
            if kind == "polygon":
                part = part.assign(measured_area_mu=farmland_with_area(part)["area_mu"].to_numpy())
            name = (
                title
                if len(parts) == 1
                else f"{title} ({'点 points' if kind == 'point' else '面 areas'})"
            )
            specs.append(_afforestation_spec(name, part, kind, kind_styles_poly, kind_styles_pt))

    if town.has("reclamation"):
        rec = town.layers["reclamation"].copy()
        if "reclaimed_date" in rec.columns:
            d = pd.to_datetime(rec["reclaimed_date"], errors="coerce")
            rec["reclaimed_by_date"] = np.where(
                (d <= ts).fillna(False), "已复垦 reclaimed", "未复垦 not yet"
            )
        else:
            rec["reclaimed_by_date"] = "日期缺失 no date"
        rec = farmland_with_area(rec)
        specs.append(
            LayerSpec(
                "拆旧复垦地块 reclamation plots",
                rec,
                fields=[
                    "plot_id",
                    "household_id",
                    "reclaimed_date",
                    "declared_area_mu",
                    "area_mu",
                    "reclaimed_by_date",
                ],
                tooltip=["plot_id", "reclaimed_by_date"],
                labels=PROGRESS_LABELS,
                category="reclaimed_by_date",
                styles={
                    "已复垦 reclaimed": Style(
                        color="#386641", fill="#a7c957", weight=1.2, fill_opacity=0.8
                    ),
                    "未复垦 not yet": Style(
                        color="#9c6644", fill="#e6ccb2", weight=1.2, fill_opacity=0.8
                    ),
                },
                schema_layer="reclamation",
            )
        )

    rs = res.get("resettlement")
    if town.has("resettlement") and rs is not None and "resettlement_households" in rs.details:
        hh = rs.details["resettlement_households"]
        pts = town.layers["resettlement"][
            ["household_id", town.layers["resettlement"].geometry.name]
        ].drop_duplicates("household_id")
        g = pts.merge(hh, on="household_id", how="inner")
        g = gpd.GeoDataFrame(
            g,
            geometry=town.layers["resettlement"].geometry.name,
            crs=town.layers["resettlement"].crs,
        )
        g["stage_reached"] = g["stage_reached"].map(stage_label).to_numpy()  # the analysis' code
        order = [stage_label(""), *[STAGE_LABELS.get(s, s) for s in STAGES]]
        ramp = ordered(len(order))  # not started (lightest) .. funds paid (darkest)
        styles = {
            lab: Style(color="#333333", fill=ramp[i], radius=6, fill_opacity=0.95, weight=1)
            for i, lab in enumerate(order)
        }
        fields = [
            "household_id",
            "village_name",
            "head",
            "destination_label",
            "cohort",
            "stage_reached",
            "overdue",
            "pending",
            "order_issue",
            "behind",
        ]
        specs.append(
            LayerSpec(
                "搬迁户 households by stage reached",
                g,
                fields=fields,
                tooltip=["household_id", "stage_reached"],
                labels=PROGRESS_LABELS,
                category="stage_reached",
                styles=styles,
                schema_layer="resettlement",
            )
        )
        behind = g[g["behind"].fillna(False).astype(bool).to_numpy()]
        if len(behind):
            specs.append(
                LayerSpec(
                    "滞后户 households behind schedule",
                    behind,
                    fields=fields,
                    tooltip=["household_id", "overdue"],
                    labels=PROGRESS_LABELS,
                    style=Style(
                        color="#d00000", fill="#ffffff", radius=10, fill_opacity=0.0, weight=2.5
                    ),
                    schema_layer="resettlement",
                )
            )

    specs += _section_specs(res.get("high_standard"))
    specs += _programme_specs(town, result.programmes)

    if town.has("roads"):
        roads = town.layers["roads"].copy()
        year = town.config.town.year
        hard = (
            roads["hardened"].fillna(False).astype(bool)
            if "hardened" in roads.columns
            else pd.Series(False, index=roads.index)
        )
        hy = pd.to_numeric(
            roads.get("hardened_year", pd.Series(np.nan, index=roads.index)), errors="coerce"
        )
        roads["hardening"] = np.where(
            hard & (hy == year),
            f"{year}年硬化 hardened this year",
            np.where(hard, "已硬化 hardened earlier", "未硬化 not hardened"),
        )
        specs.append(
            LayerSpec(
                "道路硬化 road hardening",
                roads,
                fields=["road_id", "name", "road_class", "hardened", "hardened_year"],
                tooltip=["name", "hardening"],
                labels=PROGRESS_LABELS,
                category="hardening",
                styles={
                    f"{year}年硬化 hardened this year": Style(color="#d00000", weight=3.5),
                    "已硬化 hardened earlier": Style(color="#495057", weight=2),
                    "未硬化 not hardened": Style(color="#adb5bd", weight=1.5, dash="5 4"),
                },
                schema_layer="roads",
            )
        )
    title = f"{town.config.town.name} 计划进度图 / plan progress"
    subtitle = f"截至 as of {day:%Y-%m-%d}"
    return specs, title, subtitle


#: The legend class of an item that has reached no stage yet.
NOT_STARTED_LABEL = "未开始 not started"


def _section_specs(topic) -> list[LayerSpec]:
    """The high-standard farmland sections by the last stage reached (light to dark), and the
    sections whose acceptance check failed, ringed in red."""
    sec = None if topic is None else topic.details.get("high_standard_sections")
    if not isinstance(sec, gpd.GeoDataFrame) or not len(sec) or sec.crs is None:
        return []
    order = [NOT_STARTED_LABEL, *HIGH_STANDARD_STAGES.values()]
    g = sec.assign(stage_reached=sec["stage_reached"].where(sec["stage_reached"].isin(order), NOT_STARTED_LABEL))
    styles = {lab: Style(color=c, fill=c, weight=1, fill_opacity=0.6) for lab, c in zip(order, ordered(len(order)))}
    labels = {**PROGRESS_LABELS, **HIGH_STANDARD_HEADERS}
    fields = ["section_id", "project", "village_name", "area_mu", "stage_reached", "check_state_label",
              "failed_plot_ids", "order_issue", "note", *HIGH_STANDARD_STAGES]
    specs = [LayerSpec("高标准农田建设片区 high-standard sections", g, fields=fields,
                       tooltip=["section_id", "stage_reached"], labels=labels,
                       category="stage_reached", styles=styles)]
    failed = g[(g["check_state"] == "failed").to_numpy()]
    if len(failed):
        specs.append(LayerSpec("验收前检查未通过片区 sections failing the check", failed, fields=fields,
                               tooltip=["section_id", "failed_plot_ids"], labels=labels,
                               style=Style(color="#d00000", fill="#ffffff", weight=3, fill_opacity=0.0)))
    return specs


def _programme_specs(town: Town, programmes: dict) -> list[LayerSpec]:
    """One layer per declared programme (``ProgressResult.programmes``): its items by the last
    stage reached, in ordered colours from light to dark."""
    specs: list[LayerSpec] = []
    for key, res in programmes.items():
        items = res.details.get("items")
        if not isinstance(items, gpd.GeoDataFrame) or not len(items) or items.crs is None:
            continue
        prog = town.config.programmes[key]
        g = items.copy()
        g["stage_reached"] = g["stage_reached"].replace("", NOT_STARTED_LABEL)
        order = [NOT_STARTED_LABEL, *[s.label for s in prog.stages]]
        kind = geometry_kind(g)
        styles = {
            lab: (Style(color="#333333", fill=c, radius=6, fill_opacity=0.95, weight=1) if kind == "point"
                  else Style(color=c, fill=c, weight=1, fill_opacity=0.6))
            for lab, c in zip(order, ordered(len(order)))
        }
        fields = [c for c in (prog.id_field, "village_name", "stage_reached", "order_issue") if c in g.columns]
        specs.append(LayerSpec(prog.name, g, fields=[*fields, *[s.field for s in prog.stages]],
                               tooltip=[prog.id_field, "stage_reached"], labels=PROGRAMME_HEADERS,
                               category="stage_reached", styles=styles))
    return specs


def progress_map(town: Town, *, result=None, as_of=None, results=None, **kwargs) -> TownMap:
    """The plan progress map (计划进度图) as a ``folium.Map``; ``kwargs`` go to ``build_map``.

    ``result`` is the runner's :class:`~gis_town.runners.progress.ProgressResult`
    (computed when omitted).
    """
    specs, title, subtitle = progress_specs(town, result=result, as_of=as_of, results=results)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)


def _afforestation_spec(
    title: str, g: gpd.GeoDataFrame, kind: str, styles_poly: dict, styles_pt: dict
) -> LayerSpec:
    """The progress map's layer of afforestation plots (polygons) or planting points."""
    return LayerSpec(
        title,
        g,
        fields=[
            "plot_id",
            "village_name",
            "kind",
            "trees",
            "planted_date",
            "declared_area_mu",
            "measured_area_mu",
            "issue",
        ],
        tooltip=["kind", "plot_id"],
        labels=PROGRESS_LABELS,
        category="kind",
        styles=styles_poly if kind == "polygon" else styles_pt,
        schema_layer="afforestation",
    )
