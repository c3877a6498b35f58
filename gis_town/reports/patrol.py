"""Patrol tables as officials read them: Chinese headers, the workbook's sheets, the map's progress classes.

Labels only: the analysis (:mod:`gis_town.analysis.patrol`) returns English
column names; this module names them in Chinese for the workbook
(``patrol_report.xlsx``), the printed tables and the map's pop-ups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis_town.reports.labels import code_header, with_code_labels
from gis_town.schema import FIELD_LABELS

__all__ = [
    "COLUMN_LABELS",
    "PROBLEM_STATE_LABELS",
    "PROGRESS_CLASS_LABELS",
    "patrol_sheets",
    "pct",
    "problem_view",
    "progress_classes",
    "red_black_view",
    "revisit_view",
    "segment_view",
    "zh_columns",
]

#: Chinese labels of the output columns (report headers); see docs/patrol.md.
COLUMN_LABELS: dict[str, str] = {
    **FIELD_LABELS,
    "length_m": "长度(米)",
    "length_km": "长度(公里)",
    "period": "时段",
    "period_start": "时段起",
    "period_end": "时段止",
    "patrols": "巡河次数",
    "own_patrols": "本人巡河次数",
    "patrols_ytd": "年初至今巡河次数",
    "target": "年度巡河任务(次)",
    "progress": "完成进度(实际, 不封顶)",
    "met": "完成全年任务",
    "due_share": "应完成比例",
    "due_patrols": "应完成次数",
    "on_track": "进度正常",
    "covered_m": "已巡长度(米)",
    "covered_fraction": "覆盖率",
    "uncovered_m": "未巡长度(米)",
    "blind_spots": "盲区段数",
    "patrols_q1": "一季度巡河",
    "patrols_q2": "二季度巡河",
    "patrols_q3": "三季度巡河",
    "patrols_q4": "四季度巡河",
    "trip_id": "巡河编号",
    "start_time": "开始时间",
    "end_time": "结束时间",
    "date": "日期",
    "duration_min": "时长(分钟)",
    "n_points": "轨迹点数",
    "path_length_m": "轨迹长度(米)",
    "speed_kmh": "最高持续速度(公里/时)",
    "fast_share": "超速时间比例",
    "near_points": "河道附近点数",
    "nearest_river_m": "距河道最近(米)",
    "too_fast": "速度过快",
    "too_short": "过短",
    "too_far": "远离河道",
    "out_of_order": "时间错乱",
    "no_end_time": "缺结束时间",
    "valid": "有效",
    "reason": "无效原因代码",
    "reason_text": "无效原因",
    "from_m": "起点里程(米)",
    "to_m": "终点里程(米)",
    "segments": "河段数",
    "trips": "巡河趟数",
    "valid_trips": "有效趟数",
    "invalid_trips": "无效趟数",
    "invalid_share": "无效比例",
    "invalid_reasons": "无效原因(含此原因的趟数)",
    "segments_behind": "滞后河段数",
    "chiefs": "河长人数",
    "rank": "名次",
    "list": "榜单代码",
    "list_label": "红黑榜",
    "village_name": "村名",
    "chief_level": code_header(FIELD_LABELS["chief_level"]),
    "chief_level_label": FIELD_LABELS["chief_level"],
    # river problems (清四乱)
    "problems": "问题数",
    "problems_open": "未整改",
    "problems_overdue": "逾期未整改",
    "problems_closed": "已整改",
    "rectification_rate": "整改率",
    "problems_reported": "上报问题数",
    "rank_score": "排名分",
    "kind_label": "问题类型",
    "state": "状态代码",
    "state_label": "状态",
    "days_open": "历时(天)",
    "overdue": "逾期",
    "closed": "已整改",
    "closed_late": "超期整改",
    "closed_in_period": "本期整改",
    "segment_source": "河段来源",
    "distance_m": "距河段(米)",
    "far_from_river": "远离河段",
    "snap_note": "定位说明",
    "chainage_m": "河段里程(米)",
    "revisited": "回头看已巡",
    "revisit_date": "回头看日期",
    "revisit_trip_id": "回头看巡河编号",
    "revisit_chief": "回头看河长",
    "revisit_distance_m": "回头看距离(米)",
    "revisit_note": "回头看说明",
}

#: A river problem's state (codes of :data:`gis_town.analysis.patrol.PROBLEM_STATES`).
PROBLEM_STATE_LABELS: dict[str, str] = {
    "open": "未整改 open",
    "overdue": "逾期未整改 overdue",
    "closed": "已整改 closed",
}


#: Classes of a segment's progress against what is due now (the map's colours).
PROGRESS_CLASS_LABELS: dict[int, str] = {
    0: "严重滞后 far behind (< 50% of due)",
    1: "滞后 behind (50-100% of due)",
    2: "按期 on track",
    3: "全年完成 year's target done",
}


def zh_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Chinese + English headers, the chief level's words beside its code; zoned times as local
    wall-clock times (Excel has no time zones)."""
    out = with_code_labels(df, {"chief_level": "chief_level"})
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.tz_localize(None)
    return out.rename(
        columns={c: f"{COLUMN_LABELS[c]} {c}" if c in COLUMN_LABELS else c for c in out.columns}
    )


def patrol_sheets(result) -> dict[str, pd.DataFrame]:
    """The sheets of ``patrol_report.xlsx`` from a :class:`~gis_town.analysis.patrol.PatrolResult`."""
    invalid = result.invalid_trips.drop(columns=["trip", "chief_key"])
    sheets = {
        "河段 segments": zh_columns(result.segments),
        "河长 chiefs": zh_columns(result.chiefs),
        "村 villages": zh_columns(result.villages),
        "无效轨迹 invalid trips": zh_columns(invalid),
        "分季度 quarters": zh_columns(result.periods),
    }
    found = getattr(result, "river_problems", None)
    if found is not None:
        sheets["问题 problems"] = zh_columns(problem_table(found))
        sheets["回头看 revisits"] = zh_columns(revisit_frame(found))
    return sheets


#: Columns of the problems table (``patrol_problems.csv``, the workbook's 问题 sheet), in order.
PROBLEM_COLUMNS = [
    "problem_id", "kind", "kind_label", "state", "state_label", "segment_id", "river_name", "chief",
    "chief_id", "village_id", "reported_by", "reported_date", "rectified_date", "days_open", "overdue",
    "closed_late", "closed_in_period", "segment_source", "distance_m", "far_from_river", "snap_note",
    "chainage_m", "photo", "note", "lon", "lat",
]


def problem_table(found) -> pd.DataFrame:
    """One row per problem of the period, with state labels and lon/lat (CGCS2000, 6 decimals), no geometry."""
    t = found.table
    out = pd.DataFrame(t.drop(columns=t.geometry.name))
    out["state_label"] = out["state"].map(PROBLEM_STATE_LABELS)
    if len(t):
        ll = t.geometry.to_crs("EPSG:4490")
        out["lon"], out["lat"] = np.round(ll.x.to_numpy(), 6), np.round(ll.y.to_numpy(), 6)
    else:
        out["lon"], out["lat"] = [], []
    return out[[c for c in PROBLEM_COLUMNS if c in out.columns]]


def revisit_frame(found) -> pd.DataFrame:
    """The 回头看 sheet: problems closed in the period, and whether a later valid patrol passed them."""
    return pd.DataFrame(found.revisits)


def pct(v: float | None) -> str:
    """A share as a whole percentage (``""`` for a missing value)."""
    return "" if v is None or v != v else f"{100 * v:.0f}%"


def progress_classes(segments: pd.DataFrame) -> pd.Series:
    """Each segment's progress class (keys of :data:`PROGRESS_CLASS_LABELS`), as nullable ints.

    Progress against what is due now (``patrols_ytd / (target * due_share)``):
    0 below half of it, 1 below it, 2 on track, 3 the year's target done;
    missing where the segment has no target.
    """
    due = float(segments["due_share"].iloc[0]) if len(segments) else 0.0
    target = segments["target"].to_numpy(dtype=float)
    ytd = segments["patrols_ytd"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(
            target * due > 0, ytd / (target * due), np.where(np.isnan(target), np.nan, np.inf)
        )
    cls = np.select([ratio < 0.5, ratio < 1.0 - 1e-9], [0, 1], default=2).astype(float)
    cls[ytd >= np.where(target > 0, target, np.inf)] = 3
    cls[np.isnan(ratio)] = np.nan
    return pd.Series(
        pd.array(np.where(np.isnan(cls), None, cls), dtype="Int64"), index=segments.index
    )


#: The printed segment table's columns and headers.
SEGMENT_VIEW: dict[str, str] = {
    "segment_id": "河段 segment",
    "river_name": "河流 river",
    "chief": "河长 chief",
    "patrols_ytd": "巡河 patrols",
    "target": "任务 target",
    "progress": "进度 progress",
    "met": "完成 met",
    "covered_fraction": "覆盖 covered",
    "on_track": "正常 on track",
}

#: The printed red/black list's columns and headers.
RED_BLACK_VIEW: dict[str, str] = {
    "list_label": "榜 list",
    "rank": "名次 rank",
    "chief": "河长 chief",
    "chief_level": "级别 level",
    "patrols": "巡河 patrols",
    "target": "任务 target",
    "progress": "进度 progress",
    "rectification_rate": "整改率 rectified",
    "rank_score": "排名分 score",
    "met": "完成 met",
    "covered_fraction": "覆盖 covered",
    "invalid_trips": "无效 invalid",
}

#: The printed problems per chief.
PROBLEM_VIEW: dict[str, str] = {
    "chief": "河长 chief",
    "problems": "问题 problems",
    "problems_open": "未整改 open",
    "problems_overdue": "逾期 overdue",
    "problems_closed": "已整改 closed",
    "rectification_rate": "整改率 rate",
    "problems_reported": "上报 reported",
}

#: The printed 回头看 sheet.
REVISIT_VIEW: dict[str, str] = {
    "problem_id": "问题 problem",
    "kind_label": "类型 kind",
    "segment_id": "河段 segment",
    "chief": "河长 chief",
    "rectified_date": "整改 rectified",
    "revisited": "回头看 revisited",
    "revisit_date": "巡河日期 patrol date",
}


def _yes_no(v) -> str:
    return "" if v is pd.NA or v is None or v != v else ("是 yes" if v else "否 NO")


def _view(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    view = df[[c for c in columns if c in df.columns]].copy()
    for c in ("progress", "covered_fraction", "invalid_share", "rectification_rate", "rank_score"):
        if c in view:
            view[c] = view[c].map(pct)
    for c in ("rectified_date", "revisit_date"):
        if c in view:
            view[c] = pd.to_datetime(view[c]).dt.strftime("%Y-%m-%d").fillna("")
    for c in ("met", "on_track", "revisited"):
        if c in view:
            view[c] = view[c].map(_yes_no)
    return view.rename(columns=columns)


def segment_view(segments: pd.DataFrame) -> pd.DataFrame:
    """The segments as ``gis-town patrol`` prints them: shares as percentages, 是/否, Chinese headers.

    ``progress`` is the true share (65 of 52 shows 125%); ``met`` says the
    year's target is reached.
    """
    return _view(segments, SEGMENT_VIEW)


def red_black_view(chiefs: pd.DataFrame) -> pd.DataFrame:
    """The ranked chiefs (red and black lists) as ``gis-town patrol`` prints them.

    With the three ranking keys (progress, coverage, invalid share) in whole
    percent, as :func:`~gis_town.analysis.patrol.rank_red_black` compares them.
    """
    return _view(chiefs.loc[chiefs["list"] != ""], RED_BLACK_VIEW)


def problem_view(chiefs: pd.DataFrame) -> pd.DataFrame:
    """The chiefs with river problems in the period, as ``gis-town patrol`` prints them (rate in whole percent)."""
    if "problems" not in chiefs.columns:
        return pd.DataFrame()
    return _view(chiefs.loc[chiefs["problems"] > 0], PROBLEM_VIEW)


def revisit_view(revisits: pd.DataFrame) -> pd.DataFrame:
    """The 回头看 sheet as ``gis-town patrol`` prints it."""
    return _view(revisits, REVISIT_VIEW)
