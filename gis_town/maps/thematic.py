"""Thematic maps drawn from the analyses' outputs.

Each map calls the analysis' public functions (never a re-implementation)
and turns the result into :class:`~gis_town.maps.spec.LayerSpec` layers:

* :func:`patrol_map` - river patrol coverage (河长制巡河): segments by progress
  against the milestone due, covered stretches and blind spots (巡河盲区),
  segments per chief, invalid trips with their reasons
  (:func:`gis_town.analysis.patrol.analyze_patrols`);
* :func:`risk_map` - abandoned-land risk (撂荒风险): parcels by risk class with
  the top factor and its reason in the popup, the leaders' visit list
  (:func:`gis_town.analysis.risk.parcel_factors`,
  :func:`~gis_town.analysis.risk.risk_score`,
  :func:`~gis_town.analysis.risk.visit_list`);
* :func:`progress_map` - plan progress (计划进度): demonstration belts by share
  of their planned area, high-standard farmland by project, afforestation by
  kind, resettlement households by the stage reached, reclaimed plots and
  roads hardened this year (:func:`gis_town.analysis.progress.plan_progress`);
* :func:`check_map` - acceptance check (验收前检查): plots that failed, with
  their failed rules and messages in the popup
  (:func:`gis_town.analysis.check.run_rules`, :func:`~gis_town.analysis.check.summarize`).

:func:`map_specs` returns the layers, title and subtitle of any kind (the
print map uses it); :func:`make_map` returns the ``folium.Map``.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town.errors import InputError, LayerError
from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.layout import (
    farmland_with_area,
    layout_specs,
    palette_styles,
    town_map,
    with_village_names,
)
from gis_town.maps.spec import LayerSpec, Style, graduated_classes, split_by_family

__all__ = [
    "check_map",
    "check_specs",
    "context_specs",
    "make_map",
    "map_specs",
    "patrol_map",
    "patrol_specs",
    "progress_map",
    "progress_specs",
    "risk_map",
    "risk_specs",
]

log = logging.getLogger(__name__)

#: Id of total rows in the analyses' tables (合计).
TOTAL_ID = "合计"


def _as_of_date(town: Town, as_of) -> dt.date:
    if as_of is not None:
        return pd.Timestamp(as_of).date()
    if town.config.town.data_date is not None:
        return town.config.town.data_date
    return dt.date.today()


def context_specs(town: Town, *, rivers: bool = False, roads: bool = False) -> list[LayerSpec]:
    """Background layers of a thematic map: village outlines with names (and rivers, roads)."""
    specs: list[LayerSpec] = []
    if town.has("villages"):
        specs.append(
            LayerSpec(
                "行政村 villages",
                town.layers["villages"],
                fields=["village_id", "name", "leader"],
                tooltip=["name"],
                style=Style(color="#495057", weight=1.6, fill="#ffffff", fill_opacity=0.0),
                label_field="name",
                schema_layer="villages",
                coverage=True,
                legend=True,
            )
        )
    if rivers and town.has("rivers"):
        specs.append(
            LayerSpec(
                "河流 rivers",
                town.layers["rivers"],
                fields=["segment_id", "river_name"],
                tooltip=["river_name"],
                style=Style(color="#74a9cf", weight=1.5),
                schema_layer="rivers",
            )
        )
    if roads and town.has("roads"):
        specs.append(
            LayerSpec(
                "道路 roads",
                town.layers["roads"],
                fields=["road_id", "name", "road_class"],
                tooltip=["name"],
                style=Style(color="#adb5bd", weight=1.2),
                schema_layer="roads",
                show=False,
            )
        )
    return specs


# =========================================================================== patrol


def patrol_specs(
    town: Town,
    *,
    as_of=None,
    tracks: str | Path | pd.DataFrame | None = None,
    result=None,
) -> tuple[list[LayerSpec], str, str]:
    """Layers of the patrol coverage map.

    Parameters
    ----------
    town : Town
        With ``rivers`` and ``patrols`` (or ``tracks``).
    as_of : date, optional
        Report date (default: the config's data date, else the last patrol).
    tracks : path or DataFrame, optional
        Patrol points from a CSV/GPX (:func:`gis_town.io.tracks.read_tracks`)
        instead of the ``patrols`` layer.
    result : PatrolResult, optional
        An analysis already run (with ``keep_points=True`` for invalid trips).
    """
    from gis_town.analysis import patrol as pa

    rivers = town.layer("rivers")
    if result is None:
        if tracks is not None and not isinstance(tracks, pd.DataFrame):
            from gis_town.io.tracks import load_tracks

            points, _, _ = load_tracks(tracks, town.config)
        elif tracks is not None:
            points = tracks
        else:
            points = town.layer("patrols")
        result = pa.analyze_patrols(
            points,
            rivers,
            config=town.config,
            as_of=as_of,
            villages=town.layers.get("villages"),
            gk_crs=town.gk_crs,
            keep_points=True,
        )
    labels = dict(pa.COLUMN_LABELS)
    seg = pd.DataFrame(result.segments).copy()
    seg = seg.drop(
        columns=[
            c
            for c in seg.columns
            if c == "geometry" or isinstance(seg[c].dtype, gpd.array.GeometryDtype)
        ]
    )
    due = float(seg["due_share"].iloc[0]) if len(seg) else 0.0
    target = seg["target"].to_numpy(dtype=float)
    ytd = seg["patrols_ytd"].to_numpy(dtype=float)
    # progress against what is due now: < 50 % of due, 50-100 % of due, on track, year's target done
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            target * due > 0, ytd / (target * due), np.where(np.isnan(target), np.nan, np.inf)
        )
    cls = np.select([ratio < 0.5, ratio < 1.0 - 1e-9], [0, 1], default=2).astype(float)
    cls[ytd >= np.where(target > 0, target, np.inf)] = 3
    cls[np.isnan(ratio)] = np.nan
    seg["progress_class"] = pd.array(np.where(np.isnan(cls), None, cls), dtype="Int64")
    geo = rivers[["segment_id", rivers.geometry.name]].drop_duplicates("segment_id")
    segs = gpd.GeoDataFrame(
        geo.merge(seg, on="segment_id", how="inner"), geometry=rivers.geometry.name, crs=rivers.crs
    )
    segs = with_village_names(segs, town)
    prog_styles = {
        0: Style(color="#d7191c", weight=4),
        1: Style(color="#fdae61", weight=4),
        2: Style(color="#1a9641", weight=4),
        3: Style(color="#0b5394", weight=4),
    }
    prog_labels = {
        0: "严重滞后 far behind (< 50% of due)",
        1: "滞后 behind (50-100% of due)",
        2: "按期 on track",
        3: "全年完成 year's target done",
    }
    fields = [
        "segment_id",
        "river_name",
        "chief",
        "chief_level",
        "village_name",
        "patrols",
        "patrols_ytd",
        "target",
        "due_patrols",
        "progress",
        "on_track",
        "covered_fraction",
        "blind_spots",
    ]
    specs = context_specs(town, roads=True)
    specs.append(
        LayerSpec(
            "河段巡河进度 segment progress",
            segs,
            fields=fields,
            tooltip=["river_name", "chief"],
            labels=labels,
            category="progress_class",
            styles=prog_styles,
            class_labels=prog_labels,
            style=Style(color="#999999", weight=3),
            schema_layer="rivers",
        )
    )
    if "chief" in segs.columns:
        specs.append(
            LayerSpec(
                "各河长责任河段 segments per chief",
                segs,
                fields=["segment_id", "river_name", "chief", "chief_level"],
                tooltip=["chief"],
                labels=labels,
                category="chief",
                styles=palette_styles(segs["chief"], kind="line", weight=2.5),
                show=False,
                legend=False,
                schema_layer="rivers",
                print_show=False,
            )
        )
    gaps = result.gaps
    if len(gaps):
        gaps = gaps.copy()
        if gaps.crs is None:
            gaps = gaps.set_crs(result.summary.get("gk_crs") or town.gk_crs)
        specs.append(
            LayerSpec(
                "巡河盲区 blind spots",
                gaps,
                fields=["segment_id", "river_name", "chief", "from_m", "to_m", "length_m"],
                tooltip=["river_name", "length_m"],
                labels=labels,
                style=Style(color="#111111", weight=5, dash="1 8"),
                schema_layer="rivers",
            )
        )
    trips = result.trips
    pts = getattr(result, "points", None)
    if len(trips) and pts is not None and len(pts) and "trip" in pts.columns:
        invalid = ~trips["valid"].to_numpy(dtype=bool)
        bad_ids = trips["trip"].to_numpy()[invalid]
        sel = pts[pts["trip"].isin(bad_ids)].sort_values(["trip"], kind="stable")
        if len(sel):
            trip_idx = sel["trip"].to_numpy()
            counts = pd.Series(trip_idx).value_counts()
            keep = np.isin(trip_idx, counts[counts >= 2].index.to_numpy())
            sel = sel[keep]
            trip_idx = trip_idx[keep]
        if len(sel):
            uniq, inv = np.unique(trip_idx, return_inverse=True)
            lines = shapely.linestrings(sel[["x_m", "y_m"]].to_numpy(dtype=float), indices=inv)
            tinfo = trips.set_index("trip").loc[uniq].reset_index()
            gk = result.summary.get("gk_crs") or town.gk_crs
            tracks_gdf = gpd.GeoDataFrame(
                tinfo[
                    [
                        c
                        for c in (
                            "trip_id",
                            "chief",
                            "date",
                            "start_time",
                            "duration_min",
                            "length_m",
                            "speed_kmh",
                            "reason_text",
                        )
                        if c in tinfo.columns
                    ]
                ],
                geometry=lines,
                crs=gk,
            )
            specs.append(
                LayerSpec(
                    "无效巡河轨迹 invalid trips",
                    tracks_gdf,
                    fields=[
                        "trip_id",
                        "chief",
                        "start_time",
                        "duration_min",
                        "length_m",
                        "speed_kmh",
                        "reason_text",
                    ],
                    tooltip=["chief", "reason_text"],
                    labels=labels,
                    style=Style(color="#6a3d9a", weight=2, opacity=0.85, dash="2 4"),
                    show=True,
                )
            )
    title = f"{town.config.town.name} 河长制巡河覆盖图 / river patrol coverage"
    subtitle = f"截至 as of {result.as_of:%Y-%m-%d}；应完成 due {due:.0%}"
    return specs, title, subtitle


def patrol_map(town: Town, *, as_of=None, tracks=None, result=None, **kwargs) -> TownMap:
    """The patrol coverage map (河长制巡河覆盖图) as a ``folium.Map``; ``kwargs`` go to ``build_map``."""
    specs, title, subtitle = patrol_specs(town, as_of=as_of, tracks=tracks, result=result)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)


# =========================================================================== risk

RISK_STYLES: dict[str, Style] = {
    "low": Style(color="#1a9850", fill="#a6d96a", weight=0.4, fill_opacity=0.6),
    "medium": Style(color="#e08214", fill="#fee08b", weight=0.5, fill_opacity=0.75),
    "high": Style(color="#a50026", fill="#d73027", weight=0.6, fill_opacity=0.8),
}


def risk_specs(
    town: Town, *, scored: gpd.GeoDataFrame | None = None
) -> tuple[list[LayerSpec], str, str]:
    """Layers of the abandoned-land risk map (parcels by class, top factor, visit list)."""
    from gis_town.analysis import risk as ra

    cfg = town.config
    villages = town.layers.get("villages")
    if scored is None:
        dem = cfg.dem_path()
        ndvi = cfg.ndvi_paths()
        factors = ra.parcel_factors(
            town.layer("farmland"),
            villages=villages,
            roads=town.layers.get("roads"),
            settlements=town.layers.get("settlements"),
            dem=dem if dem is not None and Path(dem).is_file() else None,
            ndvi={y: p for y, p in ndvi.items() if Path(p).is_file()} or None,
            year=cfg.town.year,
            gk_crs=town.gk_crs,
        )
        scored = ra.risk_score(factors, cfg.risk)
    scored = with_village_names(scored, town)
    if "area_mu" not in scored.columns:
        scored = farmland_with_area(scored)
    labels = dict(ra.COLUMN_LABELS)
    factor_cols = [
        f
        for f in (
            "slope_mean_deg",
            "slope_gt25_share",
            "road_distance_m",
            "settlement_distance_m",
            "years_idle",
            "ndvi_mean",
            "monitored_share",
        )
        if f in scored.columns
    ]
    fields = [
        "parcel_id",
        "village_name",
        "group",
        "contractor",
        "status",
        "area_mu",
        "score",
        "risk_class_zh",
        "top_factor_zh",
        "reason",
        *factor_cols,
        "score_note",
    ]
    class_labels = {k: f"{v}风险 {k}" for k, v in ra.RISK_CLASS_LABELS.items()}
    specs = context_specs(town, roads=True)
    specs.append(
        LayerSpec(
            "撂荒风险 abandonment risk",
            scored,
            fields=fields,
            tooltip=["parcel_id", "risk_class_zh", "top_factor_zh"],
            labels=labels,
            category="risk_class",
            styles=RISK_STYLES,
            class_labels=class_labels,
            style=Style(color="#999999", fill="#dddddd", weight=0.4, fill_opacity=0.5),
            schema_layer="farmland",
            coverage=True,
        )
    )
    size = cfg.risk.visit_list_size
    visits = ra.visit_list(scored, size=size, villages=villages)
    if len(visits):
        specs.append(
            LayerSpec(
                f"走访清单 visit list (每村前 {size} top {size} per village)",
                visits,
                fields=[
                    "village_name",
                    "leader",
                    "group",
                    "rank",
                    "parcel_id",
                    "contractor",
                    "area_mu",
                    "score",
                    "risk_class_zh",
                    "top_factor_zh",
                    "reason",
                ],
                tooltip=["parcel_id", "rank"],
                labels=labels,
                style=Style(color="#5a189a", weight=1.6, fill=None, dash="4 2"),
                schema_layer="farmland",
            )
        )
    n_high = int((scored["risk_class"] == "high").sum())
    title = f"{cfg.town.name} 撂荒风险图 / abandoned-farmland risk"
    subtitle = f"高风险 high: {n_high} 块 parcels；阈值 thresholds 中 {cfg.risk.medium:g} / 高 {cfg.risk.high:g}"
    return specs, title, subtitle


def risk_map(town: Town, *, scored=None, **kwargs) -> TownMap:
    """The abandoned-land risk map (撂荒风险图) as a ``folium.Map``; ``kwargs`` go to ``build_map``."""
    specs, title, subtitle = risk_specs(town, scored=scored)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)


# =========================================================================== progress

#: Extra labels of progress columns.
PROGRESS_LABELS: dict[str, str] = {
    "kind_label": "类型",
    "area_mu": "耕地面积(亩)",
    "film_mu": "全膜覆盖面积(亩)",
    "cultivated_mu": "耕种面积(亩)",
    "share_pct": "完成比例(%)",
    "status_label": "状态",
    "target_mu": "计划面积(亩)",
    "measured_area_mu": "实测面积(亩)",
    "issue": "问题",
    "stage_reached": "已到环节",
    "overdue": "逾期环节",
    "pending": "待完成环节",
    "order_issue": "顺序问题",
    "behind": "滞后",
    "destination_label": "安置方式",
    "reclaimed_by_date": "已复垦",
    "hardening": "硬化情况",
    "village_name": "村名",
    "note": "说明",
}


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


def _stage_reached(
    hh: pd.DataFrame, stages, labels: dict[str, str], as_of: pd.Timestamp
) -> pd.Series:
    """Label of the last plan stage whose date is on or before ``as_of`` (display only)."""
    reached = np.full(len(hh), "", dtype=object)
    for s in stages:
        if s in hh.columns:
            d = pd.to_datetime(hh[s], errors="coerce")
            ok = (d <= as_of).fillna(False).to_numpy(dtype=bool)
            reached[ok] = labels.get(s, s)
    reached[reached == ""] = "未开始 not started"
    return pd.Series(reached, index=hh.index, dtype="object")


def progress_specs(
    town: Town, *, as_of=None, results: dict | None = None
) -> tuple[list[LayerSpec], str, str]:
    """Layers of the plan progress map (as of a date)."""
    from gis_town.analysis import progress as pg

    day = _as_of_date(town, as_of)
    ts = pd.Timestamp(day)
    res = results if results is not None else pg.plan_progress(town, day)
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
                        styles=palette_styles(
                            proj["project"],
                            fill_opacity=0.6,
                            weight=0.5,
                            palette=("#2d6a4f", "#40916c", "#74c69d", "#1b4332", "#95d5b2"),
                        ),
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
            name = title if len(parts) == 1 else f"{title} ({'点 points' if kind == 'point' else '面 areas'})"
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
        stage_labels = (
            {s: pg._STAGE_LABELS.get(s, s) for s in pg.STAGES}
            if hasattr(pg, "_STAGE_LABELS")
            else {}
        )
        g["stage_reached"] = _stage_reached(g, pg.STAGES, stage_labels, ts).to_numpy()
        order = ["未开始 not started", *[stage_labels.get(s, s) for s in pg.STAGES]]
        ramp = (
            "#f7fbff",
            "#deebf7",
            "#c6dbef",
            "#9ecae1",
            "#6baed6",
            "#4292c6",
            "#2171b5",
            "#08519c",
            "#08306b",
            "#3f007d",
            "#54278f",
        )
        styles = {
            lab: Style(
                color="#333333", fill=ramp[i % len(ramp)], radius=6, fill_opacity=0.95, weight=1
            )
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


def progress_map(town: Town, *, as_of=None, results=None, **kwargs) -> TownMap:
    """The plan progress map (计划进度图) as a ``folium.Map``; ``kwargs`` go to ``build_map``."""
    specs, title, subtitle = progress_specs(town, as_of=as_of, results=results)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)


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


def map_specs(
    town: Town, kind: str, *, as_of=None, **kwargs
) -> tuple[list[LayerSpec], str, str | None]:
    """Layers, title and subtitle of a map of ``kind`` (layout, patrol, risk, progress, check)."""
    kind = kind.lower()
    if kind == "layout":
        return (
            layout_specs(town),
            f"{town.config.town.name} 一川两线三流域布局图 / layout map",
            None,
        )
    if kind == "patrol":
        return patrol_specs(town, as_of=as_of, **kwargs)
    if kind == "risk":
        return risk_specs(town, **kwargs)
    if kind == "progress":
        return progress_specs(town, as_of=as_of, **kwargs)
    if kind == "check":
        return check_specs(town, **kwargs)
    raise InputError(
        f"未知地图类型 / unknown map kind {kind!r}: layout, patrol, risk, progress or check"
    )


def make_map(
    town: Town, kind: str = "layout", *, as_of=None, analysis: dict | None = None, **kwargs
) -> TownMap:
    """A town map of ``kind`` as a ``folium.Map``.

    Parameters
    ----------
    town : Town
    kind : {"layout", "patrol", "risk", "progress", "check"}
    as_of : date, optional
        For patrol and progress maps.
    analysis : dict, optional
        Extra arguments of the kind's spec builder (``tracks``, ``result``,
        ``scored``, ``results``, ``plots``, ``rules``).
    **kwargs
        :func:`gis_town.maps.base.build_map` options (basemap, offline, public ...).
    """
    specs, title, subtitle = map_specs(town, kind, as_of=as_of, **(analysis or {}))
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)


def _afforestation_spec(title: str, g: gpd.GeoDataFrame, kind: str, styles_poly: dict, styles_pt: dict) -> LayerSpec:
    """The progress map's layer of afforestation plots (polygons) or planting points."""
    return LayerSpec(
        title,
        g,
        fields=["plot_id", "village_name", "kind", "trees", "planted_date", "declared_area_mu",
                "measured_area_mu", "issue"],
        tooltip=["kind", "plot_id"],
        labels=PROGRESS_LABELS,
        category="kind",
        styles=styles_poly if kind == "polygon" else styles_pt,
        schema_layer="afforestation",
    )
