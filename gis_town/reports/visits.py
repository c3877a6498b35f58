"""Visit results as officials read them (走访结果, 撂荒地整治): headers, tables, the files written.

The analysis (:mod:`gis_town.analysis.visits`) returns tables with English
columns; this module gives them their Chinese headers with the English
beside (:data:`REMEDIATION_HEADERS`, :data:`HISTORY_HEADERS`,
:data:`REJECT_HEADERS`), dates as ``YYYY-MM-DD`` and counts as integers, and
writes what ``gis-town visits`` puts in ``--out`` (:func:`write_visits`).
The progress workbook's 撂荒地整治 sheet takes its headers from here.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from gis_town.analysis.visits import REMEDIATION_COUNTS, VISIT_HISTORY_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.visits import VisitsResult

__all__ = [
    "HISTORY_HEADERS",
    "REJECT_HEADERS",
    "REMEDIATION_CONSOLE_HEADERS",
    "REMEDIATION_HEADERS",
    "REMEDIATION_SHEET",
    "dated",
    "labelled",
    "remediation_sheet",
    "write_visits",
]

log = logging.getLogger(__name__)

#: Sheet name of the follow-up table (in visits.xlsx and progress.xlsx).
REMEDIATION_SHEET = "撂荒地整治 remediation"

#: Headers of the follow-up table per village and leader (counts of parcels).
REMEDIATION_HEADERS: dict[str, str] = {
    "village_id": "村代码 village_id",
    "village_name": "村名 village_name",
    "leader": "包村领导 leader",
    "listed": "列入清单地块数 listed",
    "visited": "已走访地块数 visited",
    "not_visited": "未走访地块数 not_visited",
    "recultivated": "已复耕 recultivated",
    "promised": "计划复耕 promised",
    "overdue": "计划复耕已逾期 overdue",
    "transferred": "已流转 transferred",
    "cannot_farm": "无法耕种 cannot_farm",
    "not_reached": "未见到人 not_reached",
}

#: Short headers of the follow-up table as printed (they fit a terminal).
REMEDIATION_CONSOLE_HEADERS: dict[str, str] = {
    "village_id": "村 village",
    "village_name": "村名 name",
    "leader": "领导 leader",
    "listed": "清单 listed",
    "visited": "走访 visited",
    "not_visited": "未访 not",
    "recultivated": "复耕 recult.",
    "promised": "计划 promised",
    "overdue": "逾期 overdue",
    "transferred": "流转 transf.",
    "cannot_farm": "无法 cannot",
    "not_reached": "未见 absent",
}

#: Headers of the accepted visits (visits.xlsx; visits.csv keeps the English names).
HISTORY_HEADERS: dict[str, str] = {
    "parcel_id": "地块编码 parcel_id",
    "village_id": "村代码 village_id",
    "village_name": "村名 village_name",
    "leader": "包村领导 leader",
    "visit_date": "走访日期 visit_date",
    "outcome": "走访结果代码 outcome",
    "outcome_zh": "走访结果 outcome_zh",
    "planned_date": "计划复耕日期 planned_date",
    "operator": "经营主体 operator",
    "cannot_farm_reason": "无法耕种原因 cannot_farm_reason",
    "visitor": "走访人 visitor",
    "visit_note": "备注 visit_note",
    "listed_date": "清单日期 listed_date",
    "source": "文件 source",
    "sheet": "工作表 sheet",
    "row": "行号 row",
}

#: Headers of the rejected rows (visits.xlsx; rejects.csv keeps the English names).
REJECT_HEADERS: dict[str, str] = {
    "source": "文件 source",
    "sheet": "工作表 sheet",
    "row": "行号 row",
    "feature_id": "地块编码 parcel_id",
    "field": "有问题的列 field",
    "reason": "原因 reason",
    "visit_date": "走访日期 visit_date",
    "outcome": "走访结果 outcome",
    "planned_date": "计划复耕日期 planned_date",
    "operator": "经营主体 operator",
    "cannot_farm_reason": "无法耕种原因 cannot_farm_reason",
    "visitor": "走访人 visitor",
}


def dated(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its date columns as ``YYYY-MM-DD`` text (blank where none)."""
    out = pd.DataFrame(df).copy()
    for c in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[c]):
            out[c] = out[c].dt.strftime("%Y-%m-%d").astype("object").where(out[c].notna(), "")
    return out


def labelled(df: pd.DataFrame, headers: dict[str, str]) -> pd.DataFrame:
    """The columns of ``df`` named in ``headers``, in that order, with those headers."""
    cols = [c for c in headers if c in df.columns]
    return df[cols].rename(columns=headers)


def remediation_sheet(table: pd.DataFrame) -> pd.DataFrame:
    """The follow-up table for a workbook: Chinese headers with English, counts as integers."""
    out = table.copy()
    for c in REMEDIATION_COUNTS:
        out[c] = out[c].astype("int64")
    return labelled(out, REMEDIATION_HEADERS)


def write_visits(result: VisitsResult, out_dir: str | Path) -> dict[str, Path]:
    """Write ``visits.csv``, ``listed.csv``, ``visits_villages.csv`` and ``visits.xlsx``.

    ``visits.csv`` is the history ``gis-town risk`` and ``gis-town progress``
    read (``--visits`` or ``[risk] visits``); ``listed.csv`` beside it names
    every parcel on the lists read (the 撂荒地整治 table's ``listed``).
    ``rejects.csv`` is written by the command (with the town's reading problems).

    Returns
    -------
    dict
        ``{"visits": path, "listed": path, "villages": path, "xlsx": path}``.
    """
    from gis_town.io.write import safe_output_path, write_csv, write_xlsx

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    history = dated(result.accepted[list(VISIT_HISTORY_COLUMNS)])
    paths = {
        "visits": write_csv(history, safe_output_path(out_dir, "visits.csv")),
        "listed": write_csv(dated(result.listed), safe_output_path(out_dir, "listed.csv")),
        "villages": write_csv(result.villages, safe_output_path(out_dir, "visits_villages.csv")),
    }
    sheets = {
        REMEDIATION_SHEET: remediation_sheet(result.villages),
        "走访记录 visits": labelled(history, HISTORY_HEADERS),
    }
    if len(result.rejects):
        sheets["未通过 rejected"] = labelled(dated(result.rejects), REJECT_HEADERS)
    day = f"{result.as_of:%Y-%m-%d}"
    titles = {
        REMEDIATION_SHEET: f"撂荒地整治 走访结果汇总 / visit follow-up by village, 截至 as of {day}",
        "走访记录 visits": f"走访记录 accepted visits ({len(history)}), 截至 as of {day}",
        "未通过 rejected": f"未通过检查的行 rejected rows ({len(result.rejects)}): 改正后重新运行 "
        "fix them in the workbook and run again",
    }
    paths["xlsx"] = write_xlsx(
        sheets, safe_output_path(out_dir, "visits.xlsx"),
        titles={k: v for k, v in titles.items() if k in sheets},
    )
    log.info("wrote %s", ", ".join(str(p) for p in paths.values()))
    return paths
