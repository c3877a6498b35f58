"""High-standard farmland (高标准农田): area built per project against ``targets.high_standard``.

Two measures per project, never mixed: the farmland *tagged* with the project
(``tagged_mu``: parcels whose ``project`` names it) and, when the town has
construction sections (``[high_standard]``, :mod:`~gis_town.analysis.progress.construction`),
the area *built*, *accepted* and *uploaded* (上图入库). The target is compared
with the built area when there are sections, else with the tagged area, and the
row says which.
"""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.analysis.progress.construction import SECTION_COLUMNS, STAGES, section_stages
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
    "tagged_mu",
    "declared_area_mu",
    "sections",
    *(f"{s}_mu" for s in STAGES),
    "target_mu",
    "share_pct",
    "accepted_pct",
    "measure",
    "status",
    "note",
]

#: What the target is compared with (column ``measure``).
MEASURES: dict[str, str] = {
    "built": "建成面积 built area",
    "tagged": "仅标注面积(非建成) tagged area only, not work built",
}
_TAGGED_NOTE = (
    "无建设片区图层，仅为标注本项目的耕地面积，非建成面积 / no construction sections: "
    "the farmland tagged with the project, not work built ([high_standard] in docs/config.md)"
)


def high_standard_progress(
    farmland: gpd.GeoDataFrame,
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
    villages: pd.DataFrame | None = None,
    sections: gpd.GeoDataFrame | None = None,
    checks: pd.DataFrame | None = None,
) -> TopicProgress:
    """High-standard farmland (高标准农田): area built per project against ``targets.high_standard``.

    Parcels carry their project in ``project`` (blank: none): their measured
    area is ``tagged_mu``. With ``sections`` (the construction sections, one
    date per stage), ``planned_mu`` ... ``uploaded_mu`` are the measured areas
    of the sections that reached each stage on ``as_of``
    (:func:`~gis_town.analysis.progress.construction.section_stages`), and the
    target is compared with ``built_mu``: ``share_pct = 100 × built_mu / target_mu``,
    ``accepted_pct = 100 × accepted_mu / target_mu``. Without sections the target
    is compared with ``tagged_mu`` and ``measure`` says so. A project in the
    data but not in the config gets a row marked ``no_target``; a project in
    the config with nothing gets 0 mu (behind once due).

    Parameters
    ----------
    farmland : GeoDataFrame
        Parcels with ``project``, ``village_id``, ``declared_area_mu``.
    config : TownConfig
        ``targets.high_standard`` (project -> mu), ``targets.annual_due``.
    as_of : date or "YYYY-MM-DD"
    villages : DataFrame, optional
        For village names.
    sections : GeoDataFrame, optional
        The construction sections (``section_id``, ``project``, ``village_id``
        and the stage dates ``planned``, ``started``, ``built``, ``accepted``,
        ``uploaded``).
    checks : DataFrame, optional
        The acceptance check per section
        (:func:`~gis_town.analysis.progress.construction.section_checks`): a
        section with a plot that did not pass is not accepted.

    Returns
    -------
    TopicProgress
        ``table``: per project (:data:`_COLUMNS`), last row 合计 (projects
        with a target). ``details["high_standard_sections"]`` (a GeoDataFrame): every section
        with its dates, the stage reached and the check's verdict.
    """
    return _progress(_project_parcels(farmland), config=config, as_of=parse_as_of(as_of),
                     villages=villages, sections=sections, checks=checks)


def _progress(
    f: pd.DataFrame,
    *,
    config: TownConfig,
    as_of: pd.Timestamp,
    villages: pd.DataFrame | None,
    sections: gpd.GeoDataFrame | None,
    checks: pd.DataFrame | None,
) -> TopicProgress:
    """The topic from the project parcels ``f`` (:func:`_project_parcels`, or the partitions' together)."""
    due = _due(config, "targets.annual_due", config.targets.annual_due)
    names = _names(villages)
    sec = None
    if sections is not None:
        sec = section_stages(sections, as_of=as_of, names=names, checks=checks,
                             id_field=config.high_standard.id_field)
    rows = _project_rows(f, config, names, due, as_of, sec)
    total = _total_row(rows, due, as_of)
    if total is not None:
        rows.append(total)
    table = pd.DataFrame(rows, columns=_COLUMNS)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    table["measure_label"] = table["measure"].map(MEASURES)
    details = {}
    if sec is not None:  # with the sections' outlines, for the map
        details["high_standard_sections"] = gpd.GeoDataFrame(
            sec[SECTION_COLUMNS], geometry=sections.geometry.to_numpy(), crs=sections.crs
        )
    return TopicProgress(
        "high_standard",
        "高标准农田 high-standard farmland",
        table,
        _summary(_hs_summary(rows, due, as_of)),
        details,
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
    sec: pd.DataFrame | None = None,
) -> list[dict]:
    """One row per project of the farmland, the sections or the config."""
    targets = config.targets.high_standard
    in_sections = set() if sec is None else set(sec["project"])
    rows: list[dict] = []
    for p in sorted(set(f["project"]) | set(targets) | in_sections):
        g = f[f["project"] == p]
        target = float(targets[p]) if p in targets else np.nan
        row = {
            "project": p,
            "parcels": len(g),
            "tagged_mu": float(g["area_mu"].sum()),
            "declared_area_mu": float(g["declared_area_mu"].sum(min_count=1)) if len(g) else np.nan,
            "target_mu": target,
        }
        vids = set(g["village_id"])
        if sec is None:
            row.update(measure="tagged", note=_TAGGED_NOTE)
            done = row["tagged_mu"]
        else:
            s = sec[sec["project"] == p]
            vids |= set(s["village_id"])
            row.update(_stage_areas(s), measure="built", note="")
            done = row["built_mu"]
        row["villages"] = "、".join(names.get(v, v) for v in sorted(vids))
        row["share_pct"] = _share_pct(done, target)
        row["accepted_pct"] = _share_pct(row.get("accepted_mu", np.nan), target)
        row["status"] = _annual_status(done, target, due, as_of)
        row["note"] = "; ".join(x for x in (_missing_note(p, targets, g, row), row["note"]) if x)
        rows.append(row)
    return rows


def _stage_areas(s: pd.DataFrame) -> dict:
    """A project's sections and the measured mu of those that reached each stage."""
    out: dict = {"sections": len(s)}
    for st in STAGES:
        out[f"{st}_mu"] = float(s["area_mu"][s[f"{st}_reached"].to_numpy(dtype=bool)].sum())
    return out


def _missing_note(p: str, targets: dict, g: pd.DataFrame, row: dict) -> str:
    if p not in targets:
        return "配置中无此项目的计划面积 / no planned mu for this project in targets.high_standard"
    if not len(g) and not row.get("sections"):
        return "数据中无此项目的地块或片区 / no parcels or sections of this project"
    return ""


def _total_row(rows: list[dict], due: pd.Timestamp, as_of: pd.Timestamp) -> dict | None:
    """The 合计 row of the projects with a planned area (None when there is none)."""
    with_target = [r for r in rows if np.isfinite(r["target_mu"])]
    if not with_target:
        return None
    built = with_target[0]["measure"] == "built"
    sums = ["parcels", "tagged_mu", *(["sections", *(f"{s}_mu" for s in STAGES)] if built else [])]
    total = {k: sum(r[k] for r in with_target) for k in sums}
    target = float(sum(r["target_mu"] for r in with_target))
    done = total["built_mu"] if built else total["tagged_mu"]
    total.update(
        project=TOTAL_ID,
        villages="",
        declared_area_mu=float(np.nansum([r["declared_area_mu"] for r in with_target])),
        target_mu=target,
        share_pct=_share_pct(done, target),
        accepted_pct=_share_pct(total.get("accepted_mu", np.nan), target),
        measure=with_target[0]["measure"],
        status=_annual_status(done, target, due, as_of),
        note="有计划面积的项目 projects with a planned area",
    )
    return total


#: The summary topic of the accepted and uploaded area of all projects.
STAGE_TOPIC = "高标准农田验收入库 high-standard acceptance and upload"


def _hs_summary(rows: list[dict], due: pd.Timestamp, as_of: pd.Timestamp) -> list[dict]:
    """Summary rows: each project's built (else tagged) area and their 合计; then, under a topic of
    their own (they are not parts of the built 合计), all projects' accepted and uploaded area;
    a no_data row when there is no project at all."""
    topic = "高标准农田 high-standard farmland"
    summary = []
    for r in rows:
        what = "建成 built" if r["measure"] == "built" else "标注面积 tagged"
        summary.append(_summary_row(topic, f"{r['project']} {what}", r[f"{r['measure']}_mu"], r, due))
    total = next((r for r in rows if r["project"] == TOTAL_ID), None)
    if total is not None and total["measure"] == "built":
        for st, label in (("accepted", "竣工验收 accepted"), ("uploaded", "上图入库 uploaded")):
            done = total[f"{st}_mu"]
            status = _annual_status(done, total["target_mu"], due, as_of)
            summary.append(_summary_row(STAGE_TOPIC, f"全部项目 {label}", done, total, due, status))
    if not rows:
        summary.append(
            {
                "topic": topic,
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


def _summary_row(
    topic: str, item: str, done: float, r: dict, due: pd.Timestamp, status: str | None = None
) -> dict:
    target = r["target_mu"]
    return {
        "topic": topic,
        "item": item,
        "unit": "亩 mu",
        "done": done,
        "target": target,
        "share_pct": _share_pct(done, target),
        "due_date": _fmt_date(due),
        "status": r["status"] if status is None else status,
        "note": r["note"],
    }
