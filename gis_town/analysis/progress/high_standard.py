"""High-standard farmland (高标准农田): measured area per project against ``targets.high_standard``."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.analysis.progress.fields import _numbers
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
from gis_town.geodesy import area_m2, m2_to_mu

__all__ = ["high_standard_progress"]

#: Columns of the table.
_COLUMNS = [
    "project",
    "villages",
    "parcels",
    "area_mu",
    "declared_area_mu",
    "target_mu",
    "share_pct",
    "status",
    "note",
]


def high_standard_progress(
    farmland: gpd.GeoDataFrame,
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
    villages: pd.DataFrame | None = None,
) -> TopicProgress:
    """High-standard farmland (高标准农田): measured area per project against ``targets.high_standard``.

    Parcels carry their project in ``project`` (blank: none). A project in the
    data but not in the config gets a row marked ``no_target``; a project in
    the config with no parcels gets a row with 0 mu (behind once due).

    Returns
    -------
    TopicProgress
        ``table``: per project ``villages``, ``parcels``, ``area_mu``
        (ellipsoidal), ``declared_area_mu``, ``target_mu``, ``share_pct``,
        ``status``; last row 合计 (projects with a target).
    """
    as_of = parse_as_of(as_of)
    due = _due(config, "targets.annual_due", config.targets.annual_due)
    rows = _project_rows(_project_parcels(farmland), config, _names(villages), due, as_of)
    total = _total_row(rows, due, as_of)
    if total is not None:
        rows.append(total)
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    return TopicProgress(
        "high_standard",
        "高标准农田 high-standard farmland",
        table,
        _summary(_hs_summary(rows, due)),
    )


def _project_parcels(farmland: gpd.GeoDataFrame) -> pd.DataFrame:
    """Parcels with a project: project, village, measured and declared mu."""
    if "project" in farmland.columns:
        proj = farmland["project"].astype("object")
        has = proj.notna() & (proj.astype(str).str.strip() != "")
        part = farmland[has.to_numpy()]
        f = pd.DataFrame(
            {
                "project": part["project"].astype(str).str.strip().to_numpy(),
                "village_id": part["village_id"].astype(str).to_numpy()
                if "village_id" in part.columns
                else "",
                "area_mu": m2_to_mu(area_m2(part, layer="farmland")) if len(part) else np.zeros(0),
                "declared_area_mu": _numbers(
                    part, "declared_area_mu", "farmland", "parcel_id"
                ).to_numpy(),
            }
        )
    else:
        f = pd.DataFrame(columns=["project", "village_id", "area_mu", "declared_area_mu"])
    return f


def _project_rows(
    f: pd.DataFrame,
    config: TownConfig,
    names: dict[str, str],
    due: pd.Timestamp,
    as_of: pd.Timestamp,
) -> list[dict]:
    """One row per project of the data or the config."""
    targets = config.targets.high_standard
    rows: list[dict] = []
    projects = sorted(set(f["project"]) | set(targets))
    for p in projects:
        g = f[f["project"] == p]
        target = float(targets[p]) if p in targets else np.nan
        done = float(g["area_mu"].sum())
        vids = sorted(set(g["village_id"]))
        status = _annual_status(done, target, due, as_of)
        note = ""
        if p not in targets:
            note = (
                "配置中无此项目的计划面积 / no planned mu for this project in targets.high_standard"
            )
        elif not len(g):
            note = "数据中无此项目的地块 / no parcels of this project in the farmland layer"
        rows.append(
            {
                "project": p,
                "villages": "、".join(names.get(v, v) for v in vids),
                "parcels": len(g),
                "area_mu": done,
                "declared_area_mu": float(g["declared_area_mu"].sum(min_count=1))
                if len(g)
                else np.nan,
                "target_mu": target,
                "share_pct": _share_pct(done, target),
                "status": status,
                "note": note,
            }
        )
    return rows


def _total_row(rows: list[dict], due: pd.Timestamp, as_of: pd.Timestamp) -> dict | None:
    """The 合计 row of the projects with a planned area (None when there is none)."""
    with_target = [r for r in rows if np.isfinite(r["target_mu"])]
    if not with_target:
        return None
    done = float(sum(r["area_mu"] for r in with_target))
    target = float(sum(r["target_mu"] for r in with_target))
    return {
        "project": TOTAL_ID,
        "villages": "",
        "parcels": int(sum(r["parcels"] for r in with_target)),
        "area_mu": done,
        "declared_area_mu": float(np.nansum([r["declared_area_mu"] for r in with_target])),
        "target_mu": target,
        "share_pct": _share_pct(done, target),
        "status": _annual_status(done, target, due, as_of),
        "note": "有计划面积的项目 projects with a planned area",
    }


def _hs_summary(rows: list[dict], due: pd.Timestamp) -> list[dict]:
    """Summary rows: one per project (and the total); a no_data row when there is no project at all."""
    summary = [
        {
            "topic": "高标准农田 high-standard farmland",
            "item": r["project"],
            "unit": "亩 mu",
            "done": r["area_mu"],
            "target": r["target_mu"],
            "share_pct": r["share_pct"],
            "due_date": _fmt_date(due),
            "status": r["status"],
            "note": r["note"],
        }
        for r in rows
    ]
    if not rows:
        summary.append(
            {
                "topic": "高标准农田 high-standard farmland",
                "item": "(无项目 no projects)",
                "unit": "亩 mu",
                "done": np.nan,
                "target": np.nan,
                "share_pct": np.nan,
                "due_date": _fmt_date(due),
                "status": "no_data",
                "note": "耕地无 project 字段值且配置无 targets.high_standard / no project in the data or the config",
            }
        )
    return summary
