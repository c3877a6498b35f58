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
    "progress",
    "on_track",
    "covered_fraction",
    "blind_spots",
]

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
    gaps = _gaps_spec(town, result)
    trips = _invalid_trips_spec(town, result)
    specs += [s for s in (gaps, trips) if s is not None]
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
    geo = rivers[["segment_id", rivers.geometry.name]].drop_duplicates("segment_id")
    segs = gpd.GeoDataFrame(
        geo.merge(seg, on="segment_id", how="inner"), geometry=rivers.geometry.name, crs=rivers.crs
    )
    return with_village_names(segs, town)


def _labels() -> dict[str, str]:
    from gis_town.reports.patrol import COLUMN_LABELS

    return dict(COLUMN_LABELS)


def _segment_specs(segs: gpd.GeoDataFrame) -> list[LayerSpec]:
    """Segments by progress class, and (hidden) by chief."""
    from gis_town.reports.patrol import PROGRESS_CLASS_LABELS

    specs = [
        LayerSpec(
            "河段巡河进度 segment progress",
            segs,
            fields=SEGMENT_FIELDS,
            tooltip=["river_name", "chief"],
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
                tooltip=["chief"],
                labels=_labels(),
                category="chief",
                styles=palette_styles(segs["chief"], kind="line", weight=2.5),
                show=False,
                legend=False,
                schema_layer="rivers",
                print_show=False,
            )
        )
    return specs


def _gaps_spec(town: Town, result) -> LayerSpec | None:
    """The blind spots, when there are any."""
    gaps = result.gaps
    if not len(gaps):
        return None
    gaps = gaps.copy()
    if gaps.crs is None:
        gaps = gaps.set_crs(result.summary.get("gk_crs") or town.gk_crs)
    return LayerSpec(
        "巡河盲区 blind spots",
        gaps,
        fields=["segment_id", "river_name", "chief", "from_m", "to_m", "length_m"],
        tooltip=["river_name", "length_m"],
        labels=_labels(),
        style=Style(color="#111111", weight=5, dash="1 8"),
        schema_layer="rivers",
    )


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


def patrol_map(town: Town, *, as_of=None, tracks=None, result=None, **kwargs) -> TownMap:
    """The patrol coverage map (河长制巡河覆盖图) as a ``folium.Map``; ``kwargs`` go to ``build_map``."""
    specs, title, subtitle = patrol_specs(town, as_of=as_of, tracks=tracks, result=result)
    return town_map(town, specs, title, subtitle=subtitle, **kwargs)
