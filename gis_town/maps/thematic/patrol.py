"""The river patrol coverage map (河长制巡河覆盖图)."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town.io.town import Town
from gis_town.maps.base import TownMap
from gis_town.maps.encode import label_points
from gis_town.maps.layout import (
    palette_styles,
    town_map,
    with_village_names,
)
from gis_town.maps.spec import LayerSpec, Style
from gis_town.maps.thematic.common import context_specs

log = logging.getLogger(__name__)


#: Colours of the progress classes (:data:`gis_town.reports.patrol.PROGRESS_CLASS_LABELS`).
PROGRESS_STYLES: dict[int, Style] = {
    0: Style(color="#d7191c", weight=4),
    1: Style(color="#fdae61", weight=4),
    2: Style(color="#1a9641", weight=4),
    3: Style(color="#0b5394", weight=4),
}

#: Pop-up fields of a segment.
SEGMENT_FIELDS = [
    "segment_id",
    "river_name",
    "chief",
    "chief_level",
    "village_name",
    "patrols",
    "patrols_ytd",
    "target",
    "due_patrols",
    "progress_text",
    "met",
    "on_track",
    "covered_fraction",
    "blind_spots",
]

#: Hover text of a segment: its id, river, chief and the true share of the year's target.
SEGMENT_TOOLTIP = ["segment_id", "river_name", "chief", "progress_text"]

#: Pop-up and hover fields of a blind spot.
GAP_FIELDS = ["segment_id", "river_name", "chief", "from_m", "to_m", "length_m"]
GAP_TOOLTIP = ["gap_text", "segment_id", "river_name", "chief"]

#: A blind spot: a thick solid magenta line (not a junction-like black tick) ...
GAP_STYLE = Style(color="#d01c8b", weight=7, opacity=0.95)
#: ... and a ring at its middle, so that a 20 m gap shows at the town's zoom too.
GAP_MARK_STYLE = Style(color="#d01c8b", fill="#ffffff", weight=3, fill_opacity=0.9, radius=7)

#: Extra map labels (the popups' Chinese names of the added columns).
EXTRA_LABELS = {
    "progress_text": "完成进度 progress (实际 true share)",
    "met": "完成全年任务 met",
    "gap_text": "盲区 blind spot",
    "name_label": "河段 segment",
    "revisit_text": "回头看 revisit",
}

#: River problems by state: open an orange disc, overdue a larger red disc with a thick
#: dark ring, closed a smaller green disc with a white rim (told apart by size and outline,
#: not colour alone; none is a hollow ring like the blind-spot markers).
PROBLEM_STYLES: dict[str, Style] = {
    "open": Style(color="#7f3b08", fill="#f1a340", weight=1.5, fill_opacity=0.95, radius=6.5),
    "overdue": Style(color="#1a1a1a", fill="#d7191c", weight=3, fill_opacity=0.95, radius=8.5),
    "closed": Style(color="#ffffff", fill="#1a9641", weight=1.5, fill_opacity=0.95, radius=5),
}

#: Pop-up and hover fields of a river problem.
PROBLEM_FIELDS = [
    "problem_id",
    "kind_label",
    "state_label",
    "segment_id",
    "river_name",
    "chief",
    "reported_by",
    "reported_date",
    "rectified_date",
    "days_open",
    "revisit_text",
    "snap_note",
    "photo",
    "note",
]
PROBLEM_TOOLTIP = ["problem_id", "kind_label", "state_label", "days_open"]

#: Pop-up fields of an invalid trip.
TRIP_FIELDS = [
    "trip_id",
    "chief",
    "start_time",
    "duration_min",
    "length_m",
    "speed_kmh",
    "reason_text",
]


def patrol_specs(
    town: Town,
    *,
    as_of=None,
    tracks: str | Path | pd.DataFrame | None = None,
    result=None,
) -> tuple[list[LayerSpec], str, str]:
    """Layers of the patrol coverage map: they draw a result, never run an analysis.

    Parameters
    ----------
    town : Town
        With ``rivers`` (and ``patrols`` when ``result`` is omitted and
        there are no ``tracks``).
    as_of : date, optional
        Report date, when ``result`` is omitted (default: the config's data
        date, else the last patrol).
    tracks : path or DataFrame, optional
        Patrol points instead of the ``patrols`` layer, when ``result`` is
        omitted (see :func:`gis_town.runners.patrol.run_patrol`).
    result : PatrolResult, optional
        From :func:`gis_town.runners.patrol.run_patrol` (with
        ``keep_points=True`` for the invalid trips); run here when omitted.

    Returns
    -------
    (list of LayerSpec, str, str)
        The layers, the title and the subtitle.
    """
    if result is None:
        from gis_town.runners.patrol import run_patrol

        result = run_patrol(town, town.config, as_of=as_of, tracks=tracks, keep_points=True)
    segs = segment_frame(town, result)
    due = float(segs["due_share"].iloc[0]) if len(segs) else 0.0
    specs = context_specs(town, roads=True) + _segment_specs(segs)
    specs += _gaps_specs(town, result)
    trips = _invalid_trips_spec(town, result)
    specs += [trips] if trips is not None else []
    problems = _problems_spec(result)
    specs += [problems] if problems is not None else []
    title = f"{town.config.town.name} 河长制巡河覆盖图 / river patrol coverage"
    subtitle = f"截至 as of {result.as_of:%Y-%m-%d}；应完成 due {due:.0%}"
    return specs, title, subtitle


def segment_frame(town: Town, result) -> gpd.GeoDataFrame:
    """The result's segment table on the rivers' geometry, with ``progress_class`` and village names."""
    from gis_town.reports.patrol import progress_classes

    rivers = town.layer("rivers")
    seg = pd.DataFrame(result.segments).copy()
    seg = seg.drop(
        columns=[
            c
            for c in seg.columns
            if c == "geometry" or isinstance(seg[c].dtype, gpd.array.GeometryDtype)
        ]
    )
    seg["progress_class"] = progress_classes(seg)
    seg["progress_text"] = _progress_text(seg)
    geo = rivers[["segment_id", rivers.geometry.name]].drop_duplicates("segment_id")
    segs = gpd.GeoDataFrame(
        geo.merge(seg, on="segment_id", how="inner"), geometry=rivers.geometry.name, crs=rivers.crs
    )
    return with_village_names(segs, town)


def _progress_text(seg: pd.DataFrame) -> pd.Series:
    """``65/52 (125%)``: patrols year to date of the target, and the true share (not capped)."""
    from gis_town.reports.patrol import pct

    if not len(seg):
        return pd.Series([], dtype=object, index=seg.index)
    ytd = seg["patrols_ytd"].to_numpy()
    tgt = seg["target"].to_numpy(dtype="float64")
    prog = seg["progress"].to_numpy(dtype="float64")
    out = [
        f"{int(y)} 次 patrols" if t != t else f"{int(y)}/{t:g} ({pct(p)})"
        for y, t, p in zip(ytd, tgt, prog)
    ]
    return pd.Series(out, index=seg.index, dtype=object)


def _labels() -> dict[str, str]:
    from gis_town.reports.patrol import COLUMN_LABELS

    return {**COLUMN_LABELS, **EXTRA_LABELS}


def _name_label(segs: gpd.GeoDataFrame) -> pd.Series:
    """``HD21 杨家沟 张玉强``: a segment's id, river and chief (missing parts left out)."""
    parts = [
        segs[c].astype("string").fillna("")
        for c in ("segment_id", "river_name", "chief")
        if c in segs.columns
    ]
    text = parts[0]
    for p in parts[1:]:
        text = text.str.cat(p, sep=" ")
    return text.str.replace(r"\s+", " ", regex=True).str.strip()


def _segment_specs(segs: gpd.GeoDataFrame) -> list[LayerSpec]:
    """Segments by progress class, and (hidden) by chief."""
    from gis_town.reports.patrol import PROGRESS_CLASS_LABELS

    specs = [
        LayerSpec(
            "河段巡河进度 segment progress",
            segs,
            fields=SEGMENT_FIELDS,
            tooltip=SEGMENT_TOOLTIP,
            labels=_labels(),
            category="progress_class",
            styles=PROGRESS_STYLES,
            class_labels=PROGRESS_CLASS_LABELS,
            style=Style(color="#999999", weight=3),
            schema_layer="rivers",
        )
    ]
    if "chief" in segs.columns:
        specs.append(
            LayerSpec(
                "各河长责任河段 segments per chief",
                segs,
                fields=["segment_id", "river_name", "chief", "chief_level"],
                tooltip=["chief", "segment_id", "river_name"],
                labels=_labels(),
                category="chief",
                styles=palette_styles(segs["chief"], kind="line", weight=2.5),
                show=False,
                legend=False,
                schema_layer="rivers",
                print_show=False,
            )
        )
    if len(segs):
        specs.append(_names_spec(segs))
    return specs


def _names_spec(segs: gpd.GeoDataFrame) -> LayerSpec:
    """The segments' names (id, river, chief) as text labels at each segment's middle.

    Off when the map opens (31 names over a town's rivers cover the map at
    its first zoom): turned on in the layer list when zoomed in. The labels are
    HTML-escaped by the map code like every value.
    """
    pts = label_points(np.asarray(segs.geometry.values))
    names = gpd.GeoDataFrame(
        {"segment_id": segs["segment_id"].to_numpy(dtype=object)},
        geometry=pts,
        crs=segs.crs,
    )
    names["name_label"] = _name_label(segs).to_numpy(dtype=object)
    return LayerSpec(
        "河段名称 segment names (放大后打开 turn on when zoomed in)",
        names,
        fields=[],
        tooltip=[],
        labels=_labels(),
        label_field="name_label",
        style=Style(color="#000000", weight=0, opacity=0, fill=None, radius=0.5),
        show=False,
        legend=False,
        print_show=False,
    )


def _gaps_specs(town: Town, result) -> list[LayerSpec]:
    """The blind spots (when there are any): a thick magenta line with its length, and a ring at its middle."""
    gaps = result.gaps
    if not len(gaps):
        return []
    gaps = gaps.copy()
    if gaps.crs is None:
        gaps = gaps.set_crs(result.summary.get("gk_crs") or town.gk_crs)
    gaps["gap_text"] = [
        f"盲区 blind spot {v:,.0f} 米 m" if v == v else "盲区 blind spot" for v in gaps["length_m"]
    ]
    specs = [
        LayerSpec(
            "巡河盲区 blind spots",
            gaps,
            fields=["gap_text", *GAP_FIELDS],
            tooltip=GAP_TOOLTIP,
            labels=_labels(),
            style=GAP_STYLE,
            schema_layer="rivers",
        )
    ]
    marks = gaps.drop(columns=gaps.geometry.name).copy()
    marks = gpd.GeoDataFrame(
        marks, geometry=label_points(np.asarray(gaps.geometry.values)), crs=gaps.crs
    )
    specs.append(
        LayerSpec(
            "巡河盲区位置 blind spot markers",
            marks,
            fields=["gap_text", *GAP_FIELDS],
            tooltip=GAP_TOOLTIP,
            labels=_labels(),
            style=GAP_MARK_STYLE,
            legend=True,
            schema_layer="rivers",
        )
    )
    return specs


def _invalid_trip_lines(town: Town, result) -> gpd.GeoDataFrame | None:
    """The invalid trips of at least two kept points, as lines in the run's zone."""
    trips = result.trips
    pts = getattr(result, "points", None)
    if not (len(trips) and pts is not None and len(pts) and "trip" in pts.columns):
        return None
    invalid = ~trips["valid"].to_numpy(dtype=bool)
    bad_ids = trips["trip"].to_numpy()[invalid]
    sel = pts[pts["trip"].isin(bad_ids)].sort_values(["trip"], kind="stable")
    trip_idx = sel["trip"].to_numpy()
    if len(sel):
        counts = pd.Series(trip_idx).value_counts()
        keep = np.isin(trip_idx, counts[counts >= 2].index.to_numpy())
        sel, trip_idx = sel[keep], trip_idx[keep]
    if not len(sel):
        return None
    uniq, inv = np.unique(trip_idx, return_inverse=True)
    lines = shapely.linestrings(sel[["x_m", "y_m"]].to_numpy(dtype=float), indices=inv)
    tinfo = trips.set_index("trip").loc[uniq].reset_index()
    cols = [c for c in (*TRIP_FIELDS[:2], "date", *TRIP_FIELDS[2:]) if c in tinfo.columns]
    gk = result.summary.get("gk_crs") or town.gk_crs
    return gpd.GeoDataFrame(tinfo[cols], geometry=lines, crs=gk)


def _invalid_trips_spec(town: Town, result) -> LayerSpec | None:
    """The invalid trips' tracks (from the result's kept points), when there are any."""
    tracks = _invalid_trip_lines(town, result)
    if tracks is None:
        return None
    return LayerSpec(
        "无效巡河轨迹 invalid trips",
        tracks,
        fields=TRIP_FIELDS,
        tooltip=["chief", "reason_text"],
        labels=_labels(),
        style=Style(color="#6a3d9a", weight=2, opacity=0.85, dash="2 4"),
        show=True,
    )


def _revisit_text(table: pd.DataFrame, revisits: pd.DataFrame) -> list[str]:
    """``回头看 已巡 2023-06-10`` / ``未巡``, for the problems closed in the period; empty for the others."""
    by_id = revisits.set_index("problem_id") if len(revisits) else None
    out = []
    for pid in table["problem_id"]:
        if by_id is None or pid not in by_id.index:
            out.append("")
            continue
        r = by_id.loc[pid]
        seen = r["revisited"]
        if seen is pd.NA or seen is None:
            out.append("未核查 not checked")
        elif bool(seen):
            out.append(f"整改后已巡 patrolled after rectification {pd.Timestamp(r['revisit_date']):%Y-%m-%d}")
        else:
            out.append("整改后未巡 not patrolled since rectification")
    return out


def _problems_spec(result) -> LayerSpec | None:
    """The river problems (清四乱) by state: open, overdue, closed (when the run has any)."""
    from gis_town.reports.patrol import PROBLEM_STATE_LABELS, problem_table

    found = getattr(result, "river_problems", None)
    if found is None or not len(found.table):
        return None
    table = problem_table(found).drop(columns=["lon", "lat"])
    table["revisit_text"] = _revisit_text(table, found.revisits)
    gdf = gpd.GeoDataFrame(table, geometry=found.table.geometry.to_numpy(), crs=found.table.crs)
    return LayerSpec(
        "河湖问题 river problems (清四乱)",
        gdf,
        fields=PROBLEM_FIELDS,
        tooltip=PROBLEM_TOOLTIP,
        labels=_labels(),
        category="state",
        styles=PROBLEM_STYLES,
        class_labels=PROBLEM_STATE_LABELS,
        style=Style(color="#555555", fill="#bbbbbb", radius=5),
    )


def patrol_map(town: Town, *, as_of=None, tracks=None, result=None, **kwargs) -> TownMap:
    """The patrol coverage map (河长制巡河覆盖图) as a ``folium.Map``; ``kwargs`` go to ``build_map``."""
    specs, title, subtitle = patrol_specs(town, as_of=as_of, tracks=tracks, result=result)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)
