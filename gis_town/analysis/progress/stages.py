"""The resettlement stages (地质灾害避险搬迁的环节) and the high-standard farmland construction
stages: the one definition of each, in plan order.

The analysis, the reports, the map and the demo generator all take the
stages from here (``from gis_town.analysis.progress.stages import STAGES``).
:func:`reached_in_order` (who reached which stage, in order) serves resettlement
and the declared programmes alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = [
    "HIGH_STANDARD_STAGES",
    "STAGES",
    "STAGE_LABELS",
    "STAGE_PREREQUISITES",
    "StageDates",
    "reached_in_order",
]

#: Resettlement stages (fields of the resettlement layer), in plan order.
STAGES: tuple[str, ...] = (
    "agreement_signed",
    "entered",
    "filed",
    "housing_confirmed",
    "contract_signed",
    "moved_in",
    "demolished",
    "self_inspected",
    "reclaimed",
    "funds_paid",
)
#: Stage -> Chinese label.
STAGE_LABELS: dict[str, str] = {
    "agreement_signed": "协议签订",
    "entered": "系统录入",
    "filed": "档案建立",
    "housing_confirmed": "房源确定",
    "contract_signed": "购房合同签订",
    "moved_in": "入住",
    "demolished": "拆旧",
    "self_inspected": "自验",
    "reclaimed": "复垦",
    "funds_paid": "资金拨付",
}
#: A stage counts only when these stages were reached on or before its date
#: (moving in before housing is confirmed is flagged, not counted).
STAGE_PREREQUISITES: dict[str, tuple[str, ...]] = {
    "entered": ("agreement_signed",),
    "filed": ("agreement_signed",),
    "housing_confirmed": ("agreement_signed",),
    "contract_signed": ("housing_confirmed",),
    "moved_in": ("housing_confirmed",),
    "self_inspected": ("moved_in",),
    "reclaimed": ("demolished",),
    "funds_paid": ("agreement_signed",),
}

#: High-standard farmland construction stages of a section (建设片区), in order -> Chinese label.
HIGH_STANDARD_STAGES: dict[str, str] = {
    "planned": "规划设计",
    "started": "开工建设",
    "built": "完工",
    "accepted": "竣工验收",
    "uploaded": "上图入库",
}


@dataclass
class StageDates:
    """Who reached each stage by the as-of date (``reached``: counted, ``flagged``: out of order)."""

    reached: dict[str, np.ndarray]
    flagged: dict[str, np.ndarray]
    order_issues: list[str]


def reached_in_order(
    dates: Mapping[str, np.ndarray],
    as_of: pd.Timestamp,
    *,
    stages: Sequence[str],
    prerequisites: Mapping[str, Sequence[str]],
    labels: Mapping[str, str],
) -> StageDates:
    """Each stage reached on ``as_of`` with its prerequisites; those out of order flagged, not counted.

    A stage counts when its date is on or before ``as_of`` and every stage it depends on
    (``prerequisites``) was reached on or before that date. A stage reached without one, or dated
    before it, is flagged with a reason (Chinese, English beside it) and not counted. Used by
    resettlement (:data:`STAGE_PREREQUISITES`) and by the programmes (each stage needs the one
    before it).
    """
    from gis_town.analysis.progress.status import _fmt_date

    n = len(next(iter(dates.values()))) if dates else 0
    reached_raw = {s: ~pd.isna(dates[s]) & (dates[s] <= as_of.to_datetime64()) for s in stages}
    flagged: dict[str, np.ndarray] = {}
    issues: list[list[str]] = [[] for _ in range(n)]
    for s in stages:
        bad = np.zeros(n, dtype=bool)
        for p in prerequisites.get(s, ()):
            no_p = reached_raw[s] & ~reached_raw[p]
            early = reached_raw[s] & reached_raw[p] & (dates[s] < dates[p])
            for i in np.flatnonzero(no_p):
                issues[i].append(f"{labels[s]}({_fmt_date(dates[s][i])})但无{labels[p]} / {s} without {p}")
            for i in np.flatnonzero(early):
                issues[i].append(
                    f"{labels[s]}({_fmt_date(dates[s][i])})早于{labels[p]}({_fmt_date(dates[p][i])}) / {s} before {p}"
                )
            bad |= no_p | early
        flagged[s] = bad
    reached = {s: reached_raw[s] & ~flagged[s] for s in stages}
    return StageDates(reached, flagged, ["; ".join(x) for x in issues])
