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
