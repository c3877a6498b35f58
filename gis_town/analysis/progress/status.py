"""The shared status machinery of plan progress: statuses, the summary rows, the as-of date.

Every topic module builds its rows with these helpers, so that a status
means the same thing in each table: ``done``, ``on_track``, ``in_progress``
(an annual target before its due date), ``not_due``, ``behind``,
``no_target``, ``no_data``, ``town_target_only`` and ``info``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from gis_town.config import TownConfig
from gis_town.errors import ConfigError, InputError

__all__ = [
    "STATUS_LABELS",
    "SUMMARY_COLUMNS",
    "TOTAL_ID",
    "TopicProgress",
    "needs_attention",
    "parse_as_of",
]

#: Id used on total rows (合计).
TOTAL_ID = "合计"

#: Status code -> label (Chinese / English).
STATUS_LABELS: dict[str, str] = {
    "done": "已完成 done",
    "on_track": "按期 on track",
    "in_progress": "进行中 in progress",
    "not_due": "未到期 not yet due",
    "behind": "滞后 behind",
    "no_target": "目标缺失 no target in config",
    "no_data": "数据缺失 no data",
    "town_target_only": "仅全镇目标 town-wide target only",
    "info": "仅供参考 information only",
}
#: Statuses whose rows are highlighted in the workbook.
_ATTENTION = {"behind", "no_target", "no_data"}


#: Columns of every summary table.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "topic",
    "item",
    "unit",
    "done",
    "base",
    "share_pct",
    "target_pct",
    "target",
    "due_date",
    "status",
    "status_label",
    "note",
)
"""Order: what is done, of how many (``base``, the denominator of ``share_pct``),
the share, the share due now (``target_pct``, blank for annual targets), the
count due now (``target``). For resettlement ``base`` is all households of the
cohort and ``target`` the households due (``ceil(target_pct × base)``); for the
other topics ``base`` is the target itself (share = done / target)."""


@dataclass
class TopicProgress:
    """Progress of one topic.

    Attributes
    ----------
    topic : str
        Short English name (``afforestation``, ``resettlement``, ...).
    label : str
        Chinese / English title.
    table : DataFrame
        The main table (one sheet, one CSV), with ``status`` / ``status_label``.
    summary : DataFrame
        The topic's rows of the summary (:data:`SUMMARY_COLUMNS`).
    details : dict of str -> DataFrame
        Further tables (e.g. households, plots with area differences).
    """

    topic: str
    label: str
    table: pd.DataFrame
    summary: pd.DataFrame
    details: dict[str, pd.DataFrame] = field(default_factory=dict)


# --------------------------------------------------------------------------- helpers


def parse_as_of(value: str | dt.date | dt.datetime | pd.Timestamp | None) -> pd.Timestamp:
    """Parse an as-of date (``YYYY-MM-DD``) into a midnight :class:`pandas.Timestamp`.

    Raises
    ------
    InputError
        When the value is not a date.
    """
    if value is None:
        raise InputError("需要统计日期 / an as-of date is required (--as-of YYYY-MM-DD)")
    if isinstance(value, str):
        try:
            return pd.Timestamp(dt.date.fromisoformat(value.strip()))
        except ValueError:
            raise InputError(
                f"统计日期无法解析 / cannot parse the as-of date {value!r}: expected YYYY-MM-DD, e.g. 2023-06-30",
                field="as_of",
            ) from None
    ts = pd.Timestamp(value)
    if ts.tz is not None:
        ts = ts.tz_localize(None)
    return ts.normalize()


def needs_attention(table: pd.DataFrame) -> pd.Series:
    """Boolean mask of rows to highlight: behind schedule, missing target or data, stage dates out of order."""
    mask = pd.Series(False, index=table.index)
    if "status" in table.columns:
        mask |= table["status"].isin(_ATTENTION)
    if "behind" in table.columns:
        mask |= table["behind"].astype("boolean").fillna(False).astype(bool)
    if "order_issue" in table.columns:
        mask |= table["order_issue"].fillna("").astype(str).str.len() > 0
    if "issue" in table.columns:
        mask |= table["issue"].fillna("").astype(str).str.len() > 0
    return mask


def _share_pct(done: float, target: float) -> float:
    if target is None or not np.isfinite(target):
        return np.nan
    if target == 0:
        return 100.0
    return 100.0 * float(done) / float(target)


def _annual_status(
    done: float, target: float | None, due: pd.Timestamp, as_of: pd.Timestamp
) -> str:
    """Status of an annual target: done / in progress before the due date / behind after it."""
    if target is None or not np.isfinite(target):
        return "no_target"
    if done >= target - 1e-9:
        return "done"
    return "behind" if as_of >= due else "in_progress"


def _due(config: TownConfig, key: str, month_day: str) -> pd.Timestamp:
    try:
        return pd.Timestamp(config.milestone_date(month_day))
    except ValueError:
        raise ConfigError(
            f"日期无法解析 / cannot parse {month_day!r} as MM-DD (e.g. 06-30) or YYYY-MM-DD",
            field=key,
        ) from None


def _summary(rows: list[dict]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=list(SUMMARY_COLUMNS))
    given = [("base" in r) for r in rows]
    if len(out):
        # without an explicit denominator the share is done / target
        out["base"] = out["base"].where(pd.Series(given, index=out.index), out["target"])
        out["base"] = pd.to_numeric(out["base"], errors="coerce")
        out["target_pct"] = pd.to_numeric(out["target_pct"], errors="coerce")
    out["status_label"] = out["status"].map(STATUS_LABELS)
    return out


def _names(villages: pd.DataFrame | None) -> dict[str, str]:
    if villages is None or "village_id" not in villages.columns or "name" not in villages.columns:
        return {}
    return dict(zip(villages["village_id"].astype(str), villages["name"].astype(str)))


def _village_order(ids: Sequence[str], names: dict[str, str], config: TownConfig) -> list[str]:
    seen = list(dict.fromkeys([*names, *[str(v) for v in ids], *config.targets.villages]))
    return sorted(seen)


def _fmt_date(ts) -> str:
    return "" if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d")
