"""Village roads hardened in the plan year (村组道路硬化): km against ``targets.road_hardened_km``."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town.analysis.progress.fields import _bools, _numbers
from gis_town.analysis.progress.status import (
    STATUS_LABELS,
    TOTAL_ID,
    TopicProgress,
    _annual_status,
    _due,
    _fmt_date,
    _names,
    _share_pct,
    _summary,
    parse_as_of,
)
from gis_town.config import TownConfig
from gis_town.geodesy import project_to_gk

__all__ = ["road_progress"]

_OUTSIDE = "(村界外 outside villages)"


def road_progress(
    roads: gpd.GeoDataFrame,
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
    villages: gpd.GeoDataFrame | None = None,
    gk_crs=None,
) -> TopicProgress:
    """Village roads hardened in the plan year (村组道路硬化), km against ``targets.road_hardened_km``.

    A road counts when ``hardened_year`` is the plan year and ``hardened`` is
    not false. Lengths are measured in the Gauss-Kruger zone (``gk_crs``,
    picked from the data when omitted). With villages, each road is split by
    the village boundaries (per-village km against ``targets.villages``).

    Returns
    -------
    TopicProgress
        ``table``: per village ``roads``, ``hardened_km``, ``target_km``,
        ``share_pct``, ``status``; last row 合计 against the town target.
    """
    as_of = parse_as_of(as_of)
    year = config.town.year
    due = _due(config, "targets.annual_due", config.targets.annual_due)
    sel, notes = _hardened_this_year(roads, year)
    gk = project_to_gk(sel, crs=gk_crs, layer="roads") if len(sel) else sel
    per_v, n_v, total_km = _km_per_village(gk, villages)
    rows = _village_rows(per_v, n_v, _names(villages), config, due, as_of)
    target = float(config.targets.road_hardened_km)
    status = _annual_status(total_km, target, due, as_of)
    note = "; ".join(notes)
    split = sum(n_v.values()) - len(sel)
    if split > 0:  # a road crossing a village boundary counts in each village's row
        notes.append(f"跨村道路在各村各计一条，合计只计一次 / a road crossing villages counts in each, "
                     f"once in the total ({split})")
    rows.append(
        {
            "village_id": TOTAL_ID,
            "village_name": "",
            "roads": len(sel),
            "hardened_km": total_km,
            "target_km": target,
            "share_pct": _share_pct(total_km, target),
            "status": status,
            "note": "; ".join(notes),
        }
    )
    table = pd.DataFrame(rows)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    summary = [
        {
            "topic": "村组道路硬化 road hardening",
            "item": f"硬化 hardened in {year}",
            "unit": "公里 km",
            "done": total_km,
            "target": target,
            "share_pct": _share_pct(total_km, target),
            "due_date": _fmt_date(due),
            "status": status,
            "note": note,
        }
    ]
    return TopicProgress("roads", "村组道路硬化 road hardening", table, _summary(summary))


def _hardened_this_year(roads: gpd.GeoDataFrame, year: int) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Roads hardened in ``year`` (``hardened`` not false) and notes on what was not counted."""
    notes = []
    if "hardened_year" not in roads.columns:
        notes.append(
            "道路无 hardened_year 字段 / roads have no hardened_year field: nothing counted"
        )
    hy = _numbers(roads, "hardened_year", "roads", "road_id")
    hard = _bools(roads, "hardened")
    this_year = (hy == year).to_numpy(dtype=bool) & ~hard.eq(False).fillna(False).to_numpy(
        dtype=bool
    )
    no_year = hard.eq(True).fillna(False).to_numpy(dtype=bool) & hy.isna().to_numpy(dtype=bool)
    if no_year.any():
        notes.append(
            f"{int(no_year.sum())} 条已硬化道路缺硬化年度, 未计入 / hardened roads without hardened_year: not counted"
        )
    return roads[this_year], notes


def _km_per_village(
    gk: gpd.GeoDataFrame, villages: gpd.GeoDataFrame | None
) -> tuple[dict[str, float], dict[str, int], float]:
    """Km of the (Gauss-Kruger) roads per village split at the boundaries, roads per village, total km."""
    per_v: dict[str, float] = {}
    n_v: dict[str, int] = {}
    if villages is None or not len(villages) or not len(gk):
        return per_v, n_v, float(gk.length.sum() / 1000.0) if len(gk) else 0.0
    vg = project_to_gk(villages, crs=gk.crs, layer="villages")
    rg = np.asarray(gk.geometry.values, dtype=object)
    vgeo = np.asarray(vg.geometry.values, dtype=object)
    r_idx, v_idx = shapely.STRtree(rg).query(vgeo, predicate="intersects")[::-1]
    lens = shapely.length(shapely.intersection(rg[r_idx], vgeo[v_idx]))
    vids = vg["village_id"].astype(str).to_numpy()[v_idx]
    for vid, ln in zip(vids, lens):
        if ln > 0:
            per_v[vid] = per_v.get(vid, 0.0) + ln / 1000.0
    for vid in set(vids):
        n_v[vid] = len(set(r_idx[vids == vid]))
    total_km = float(shapely.length(rg).sum() / 1000.0)
    outside = total_km - sum(per_v.values())
    if outside > 1e-6:
        per_v[_OUTSIDE] = outside
    return per_v, n_v, total_km


def _village_rows(
    per_v: dict[str, float],
    n_v: dict[str, int],
    names: dict[str, str],
    config: TownConfig,
    due: pd.Timestamp,
    as_of: pd.Timestamp,
) -> list[dict]:
    """One row per village (with roads, a name or a target), against its own target where given."""
    vt = config.targets.villages
    rows = []
    for vid in sorted(
        set(per_v) | set(names) | {v for v in vt if vt[v].road_hardened_km is not None}
    ):
        target = (
            vt[vid].road_hardened_km
            if vid in vt and vt[vid].road_hardened_km is not None
            else np.nan
        )
        done = per_v.get(vid, 0.0)
        rows.append(
            {
                "village_id": vid,
                "village_name": names.get(vid, ""),
                "roads": n_v.get(vid, 0),
                "hardened_km": done,
                "target_km": target,
                "share_pct": _share_pct(done, target),
                "status": _annual_status(done, target, due, as_of)
                if np.isfinite(target)
                else "town_target_only",
                "note": "",
            }
        )
    return rows
