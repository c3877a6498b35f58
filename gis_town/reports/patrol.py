"""Patrol tables as officials read them: Chinese headers, the workbook's sheets, the map's progress classes.

Labels only: the analysis (:mod:`gis_town.analysis.patrol`) returns English
column names; this module names them in Chinese for the workbook
(``patrol_report.xlsx``), the printed tables and the map's pop-ups.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from gis_town.schema import FIELD_LABELS

__all__ = [
    "COLUMN_LABELS",
    "PROGRESS_CLASS_LABELS",
    "patrol_sheets",
    "pct",
    "progress_classes",
    "red_black_view",
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
}


#: Classes of a segment's progress against what is due now (the map's colours).
PROGRESS_CLASS_LABELS: dict[int, str] = {
    0: "严重滞后 far behind (< 50% of due)",
    1: "滞后 behind (50-100% of due)",
    2: "按期 on track",
    3: "全年完成 year's target done",
}


def zh_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Chinese + English headers; zoned times as local wall-clock times (Excel has no time zones)."""
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            out[c] = out[c].dt.tz_localize(None)
    return out.rename(
        columns={c: f"{COLUMN_LABELS[c]} {c}" if c in COLUMN_LABELS else c for c in out.columns}
    )


def patrol_sheets(result) -> dict[str, pd.DataFrame]:
    """The sheets of ``patrol_report.xlsx`` from a :class:`~gis_town.analysis.patrol.PatrolResult`."""
    invalid = result.invalid_trips.drop(columns=["trip", "chief_key"])
    return {
        "河段 segments": zh_columns(result.segments),
        "河长 chiefs": zh_columns(result.chiefs),
        "村 villages": zh_columns(result.villages),
        "无效轨迹 invalid trips": zh_columns(invalid),
        "分季度 quarters": zh_columns(result.periods),
    }


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
    "met": "完成 met",
    "covered_fraction": "覆盖 covered",
    "invalid_trips": "无效 invalid",
}


def _yes_no(v) -> str:
    return "" if v is pd.NA or v is None or v != v else ("是 yes" if v else "否 NO")


def _view(df: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    view = df[[c for c in columns if c in df.columns]].copy()
    for c in ("progress", "covered_fraction", "invalid_share"):
        if c in view:
            view[c] = view[c].map(pct)
    for c in ("met", "on_track"):
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
