"""Plan progress as officials read it: labels, the workbook's sheets, the CSVs and the map layers.

The analyses (:mod:`gis_town.analysis.progress`) return tables with English
columns; this module labels them (``中文 english`` headers, 是/否, dates as
``YYYY-MM-DD``) and writes them. :func:`write_progress` writes everything
``gis-town progress`` puts in ``--out`` from a
:class:`~gis_town.runners.progress.ProgressResult`.
"""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gis_town.analysis.progress.resettlement import HOUSEHOLD_COLUMNS
from gis_town.analysis.progress.stages import HIGH_STANDARD_STAGES, STAGE_LABELS, STAGES
from gis_town.analysis.progress.status import needs_attention
from gis_town.reports.labels import labels_beside_codes
from gis_town.reports.totals import balance_to_totals
from gis_town.schema import FIELD_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.progress import ProgressResult

__all__ = [
    "HEADERS",
    "HIGH_STANDARD_HEADERS",
    "HIGH_STANDARD_STAGES",
    "NOT_STARTED",
    "OUTPUTS",
    "PROGRESS_LABELS",
    "RESETTLEMENT_CONSOLE_HEADERS",
    "RESETTLEMENT_HEADERS",
    "SHEET_HEADERS",
    "STAGES",
    "STAGE_LABELS",
    "SUMMARY_HEADERS",
    "SUMMARY_SHEET_HEADERS",
    "for_output",
    "labels_beside_codes",
    "resettlement_totals",
    "stage_label",
    "topic_tables",
    "write_progress",
    "zh_columns",
]

log = logging.getLogger(__name__)

#: Label of a household that has reached no stage yet.
NOT_STARTED = "未开始 not started"

#: Labels of the workbook's headers (the schema's ``status`` is the farmland status).
HEADERS: dict[str, str] = {
    **FIELD_LABELS,
    "status": "进度代码",
    "layer": "图层代码",
    "layer_label": "图层",
    "village_name": "村名",
    "name": "名称",
    "kind": "类型代码",
    "destination": "安置方式代码",
    "stage": "阶段代码",
    "done": "完成",
    "households": "户数",
    "parcels": "地块数",
    "area_mu": "面积(亩)",
    "declared_area_mu": "申报面积(亩)",
}

#: Labels of the progress columns on the map's popups.
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

#: Headers of the resettlement table naming the denominator (in the table's order:
#: done, all households, share of all, share due, households due).
RESETTLEMENT_HEADERS: dict[str, str] = {
    "done": "完成户数",
    "households": "户数(全部,分母)",
    "share_pct": "完成率(%)=完成户数/户数",
    "required_pct": "应完成比例(%)",
    "required_households": "应完成户数",
    "next_required_pct": "下一节点应完成比例(%)",
}

#: Headers of the summary sheet naming the denominator of the share.
SUMMARY_SHEET_HEADERS: dict[str, str] = {
    "done": "完成",
    "base": "分母(户数或目标)",
    "share_pct": "完成率(%)=完成/分母",
    "target_pct": "应完成比例(%)",
    "target": "应完成数或目标",
}

#: Headers of the summary as printed.
SUMMARY_HEADERS: dict[str, str] = {
    "topic": "工作 topic",
    "item": "项目 item",
    "unit": "单位 unit",
    "done": "完成 done",
    "base": "分母 of",
    "share_pct": "完成率% share",
    "target_pct": "应完成% due share",
    "target": "应完成/目标 target",
    "due_date": "截止 due",
    "status_label": "进度 status",
    "note": "备注 note",
}

#: Headers of the resettlement totals as printed (short: they fit 80 columns).
RESETTLEMENT_CONSOLE_HEADERS: dict[str, str] = {
    "cohort": "年度 cohort",
    "stage_label": "阶段 stage",
    "done": "完成 done",
    "households": "户数 of all",
    "share_pct": "完成率% share",
    "required_pct": "应完成% due",
    "required_households": "应完成户 due",
    "status_label": "进度 status",
}


def resettlement_totals(table: pd.DataFrame) -> pd.DataFrame:
    """The cohort totals of the resettlement table, with :data:`RESETTLEMENT_CONSOLE_HEADERS`."""
    tot = table[table["scope"].astype(str).str.startswith("合计")]
    return tot[list(RESETTLEMENT_CONSOLE_HEADERS)].rename(columns=RESETTLEMENT_CONSOLE_HEADERS)


#: (topic key, table key or None for the main table, file stem, sheet name)
OUTPUTS: list[tuple[str, str | None, str, str]] = [
    ("afforestation", None, "afforestation", "造林 afforestation"),
    ("afforestation", "afforestation_plots", "afforestation_plots", "造林地块 plots"),
    ("resettlement", None, "resettlement", "搬迁 resettlement"),
    ("resettlement", "resettlement_households", "resettlement_households", "搬迁户 households"),
    ("resettlement", "reclamation", "reclamation", "复垦 reclamation"),
    ("resettlement", "first_crop", "first_crop", "复垦首季种植 first crop"),
    ("high_standard", None, "high_standard", "高标准农田 high-standard"),
    ("high_standard", "high_standard_sections", "high_standard_sections", "高标准农田片区 sections"),
    ("zones", None, "zones", "示范片带 zones"),
    ("roads", None, "roads", "道路 roads"),
    ("collective", None, "collective", "集体经济 collective"),
]


def stage_label(code: str) -> str:
    """Chinese label of a stage code; :data:`NOT_STARTED` for ``""``."""
    return STAGE_LABELS.get(code, code) if code else NOT_STARTED


#: Topic tables with 合计 rows, and the columns a total shares with its rows (one 合计 per kind,
#: per cohort): their areas and lengths add up to the 合计 at the digits shown.
TOTAL_KEYS: dict[str, tuple[str, ...]] = {
    "afforestation": ("kind",),
    "reclamation": ("cohort",),
    "zones": ("kind",),
    "high_standard": (),
    "roads": (),
    "collective": (),
}


def for_output(df: pd.DataFrame) -> pd.DataFrame:
    """Dates as YYYY-MM-DD text, booleans as 是/否, geometry dropped."""
    out = labels_beside_codes(pd.DataFrame(df.drop(columns="geometry", errors="ignore"))).copy()
    for col in out.columns:
        s = out[col]
        if pd.api.types.is_datetime64_any_dtype(s):
            out[col] = s.dt.strftime("%Y-%m-%d").astype("object").where(s.notna(), "")
        elif pd.api.types.is_bool_dtype(s):
            out[col] = (
                s.astype("boolean").map({True: "是", False: "否"}).astype("object").fillna("")
            )
    return out


def zh_columns(df: pd.DataFrame, headers: dict[str, str] | None = None) -> pd.DataFrame:
    """``df`` with each known header as ``中文 english`` (``headers`` before :data:`HEADERS`)."""
    labels = {**HEADERS, **(headers or {})}
    return df.rename(columns={c: f"{labels[c]} {c}" if c in labels else c for c in df.columns})


#: Headers of a programme's sheets (``[programmes.KEY]``: the table and its items).
PROGRAMME_HEADERS: dict[str, str] = {
    "stage": "阶段代码", "stage_label": "阶段名称", "done": "完成数", "base": "总数(分母)",
    "share_pct": "完成率(%)=完成数/总数", "required_pct": "应完成比例(%)", "required": "应完成数",
    "flagged": "日期顺序异常数", "stage_reached": "已到阶段", "order_issue": "日期顺序问题",
    "behind": "滞后",
}

#: Headers of the first-crop sheet (拆旧复垦 种植夏粮, ``details["first_crop"]``).
FIRST_CROP_HEADERS: dict[str, str] = {
    "reclaimed_date": "复垦日期", "season": "首季年度", "window_start": "夏粮窗口起",
    "window_end": "夏粮窗口止", "scene_date": "影像日期", "ndvi_mean": "地块NDVI均值(最高一景)",
    "state": "种植状态代码", "state_label": "种植状态",
}

#: Headers of the high-standard sheets (the projects and their construction sections).
HIGH_STANDARD_HEADERS: dict[str, str] = {
    "tagged_mu": "标注本项目的耕地面积(亩)", "sections": "建设片区数", "planned_mu": "已规划设计(亩)",
    "started_mu": "已开工(亩)", "built_mu": "已完工(亩)", "accepted_mu": "已竣工验收(亩)",
    "uploaded_mu": "已上图入库(亩)", "target_mu": "计划面积(亩)",
    "share_pct": "完成率(%)=完工或标注面积/计划面积", "accepted_pct": "验收率(%)=验收面积/计划面积",
    "measure": "对比口径代码", "measure_label": "对比口径", "section_id": "标段编号",
    "planned": "规划设计日期", "started": "开工日期", "built": "完工日期", "accepted": "验收日期",
    "uploaded": "上图入库日期", "stage_reached": "已到阶段", "checked_plots": "验收前检查地块数",
    "failed_plots": "未通过地块数", "check_state": "验收前检查代码", "check_state_label": "验收前检查",
    "failed_plot_ids": "未通过地块编号", "order_issue": "日期顺序问题",
}

#: Header overrides of the sheets whose columns mean something of their own.
SHEET_HEADERS: dict[str, dict[str, str]] = {
    "resettlement": RESETTLEMENT_HEADERS,
    "first_crop": FIRST_CROP_HEADERS,
    "high_standard": HIGH_STANDARD_HEADERS,
    "high_standard_sections": HIGH_STANDARD_HEADERS,
    "summary": SUMMARY_SHEET_HEADERS,
}


def sheet_headers(stem: str) -> dict[str, str] | None:
    """The header overrides of a table (by its file stem), programmes' included."""
    return PROGRAMME_HEADERS if stem.startswith("programme_") else SHEET_HEADERS.get(stem)


def topic_tables(result: ProgressResult) -> list[tuple[str, str, pd.DataFrame]]:
    """(file stem, sheet name, table) of every topic table the result has, in :data:`OUTPUTS` order.

    The household table is written with its documented columns
    (:data:`~gis_town.analysis.progress.HOUSEHOLD_COLUMNS`).
    """
    out = []
    for topic, key, stem, sheet in OUTPUTS:
        res = result.topics.get(topic)
        if res is None:
            continue
        table = res.table if key is None else res.details.get(key)
        if table is None:
            continue
        if key == "resettlement_households":
            table = table[[c for c in HOUSEHOLD_COLUMNS if c in table.columns]]
        out.append((stem, sheet, table))
    for key, res in result.programmes.items():  # the declared programmes, in config order
        out.append((f"programme_{key}", res.label[:28], res.table))
        out.append((f"programme_{key}_items", f"{res.label[:24]} 明细", res.details["items"]))
    return out


def _write_map_layers(town, result: ProgressResult, out_dir: Path, fmt: str) -> None:
    """Zones with their belt progress and households with their schedule, for a GIS map."""
    from gis_town.io.write import safe_output_path, write_vector

    crs = town.config.town.crs

    def target(layer: str) -> Path:
        return safe_output_path(out_dir, "progress.gpkg" if fmt == "gpkg" else f"{layer}.shp")

    zones = result.topics.get("zones")
    if zones is not None and len(zones.table) and town.has("zones"):
        z = town.layer("zones")[["zone_id", "geometry"]]
        tab = zones.table[zones.table["zone_id"] != "合计"].drop(columns=["note"])
        g = z.merge(tab, on="zone_id", how="inner")
        write_vector(g, target("progress_zones"), layer="progress_zones", fmt=fmt, crs=crs)
    households = result.households
    if households is not None and town.has("resettlement"):
        hh = for_output(households[[c for c in HOUSEHOLD_COLUMNS if c in households.columns]])
        pts = town.layer("resettlement")[["household_id", "geometry"]]
        g = pts.merge(hh, on="household_id", how="inner")
        write_vector(
            g, target("progress_households"), layer="progress_households", fmt=fmt, crs=crs
        )


def _add_remediation(
    result: ProgressResult, out_dir: Path, sheets: dict, highlight: dict
) -> None:
    """The 撂荒地整治 sheet and ``remediation.csv`` when there is a visit history (rows with
    overdue promises or parcels not visited highlighted); a stale CSV removed when there is none."""
    from gis_town.io.write import safe_output_path, write_csv
    from gis_town.reports.visits import REMEDIATION_SHEET, remediation_sheet

    path = safe_output_path(out_dir, "remediation.csv")
    table = result.remediation
    if table is None:
        path.unlink(missing_ok=True)  # our own output of an earlier run with a history
        return
    write_csv(table, path)
    sheets[REMEDIATION_SHEET] = remediation_sheet(table)
    late = (table["overdue"] > 0) | (table["not_visited"] > 0)
    late &= ~table["village_id"].astype(str).str.startswith("合计")
    highlight[REMEDIATION_SHEET] = late.reset_index(drop=True)


def write_progress(town, result: ProgressResult, out_dir: Path, *, fmt: str = "gpkg") -> Path:
    """Write the workbook, the CSVs and the map layers of ``result`` into ``out_dir``.

    Parameters
    ----------
    town : gis_town.io.Town
        The town the result was computed on (zone and household geometries).
    result : ProgressResult
        From :func:`gis_town.runners.progress.run_progress`.
    out_dir : Path
    fmt : {"gpkg", "shp"}
        Format of the map layers.

    Returns
    -------
    Path
        The workbook ``progress.xlsx``.
    """
    from gis_town.io.write import safe_output_path, write_csv, write_xlsx

    cfg = town.config
    summary = result.summary
    out_dir.mkdir(parents=True, exist_ok=True)
    shown = balance_to_totals(for_output(summary), keys=("topic", "unit"), columns=["done"])
    sheets: dict[str, pd.DataFrame] = {"汇总 summary": zh_columns(shown, SUMMARY_SHEET_HEADERS)}
    highlight: dict[str, pd.Series] = {
        "汇总 summary": needs_attention(summary).reset_index(drop=True)
    }
    write_csv(shown, safe_output_path(out_dir, "summary.csv"))
    for stem, sheet, table in topic_tables(result):
        frame = for_output(table)
        if stem in TOTAL_KEYS:
            frame = balance_to_totals(frame, keys=TOTAL_KEYS[stem])
        write_csv(frame, safe_output_path(out_dir, f"{stem}.csv"))
        sheets[sheet] = zh_columns(frame, sheet_headers(stem))
        highlight[sheet] = needs_attention(table).reset_index(drop=True)
    _add_remediation(result, out_dir, sheets, highlight)
    title = (
        f"{cfg.town.name} {cfg.town.year}年计划进度 plan progress, "
        f"截至 as of {result.as_of:%Y-%m-%d}"
    )
    xlsx = write_xlsx(
        sheets,
        safe_output_path(out_dir, "progress.xlsx"),
        highlight=highlight,
        titles={k: f"{title} — {k}" for k in sheets},
        footer_lines={
            "汇总 summary": [
                "红色行: 滞后、目标缺失或数据缺失 / red rows: behind schedule, missing target or data",
                f"生成日期 generated {dt.date.today():%Y-%m-%d}",
                "填表人:            审核人:            日期:",
            ]
        },
    )
    _write_map_layers(town, result, out_dir, fmt)
    log.info("wrote %s and the CSV tables in %s", xlsx, out_dir)
    return xlsx
