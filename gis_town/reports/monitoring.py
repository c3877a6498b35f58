"""防返贫监测 reports: the headers of the per-village counts and of the (internal) visits-due list."""

from __future__ import annotations

import pandas as pd

from gis_town.analysis.monitoring import CATEGORIES, RISK_REASONS
from gis_town.schema import FIELD_LABELS

__all__ = ["MONITORING_HEADERS", "count_columns", "zh_columns"]

#: Column -> Chinese label.
MONITORING_HEADERS: dict[str, str] = {
    **FIELD_LABELS,
    "village_name": "村名", "households": "监测户数", "people": "监测人数", "visits_due": "待走访户数",
    "head": "户主", "category": "监测类型", "risk_reasons": "风险类型", "last_visit": "最近走访日期",
    "days_since_visit": "距上次走访(天)", "leader": "包村领导", "household_id": "户编号",
    **{f"reason_{r}": f"风险:{r}" for r in (*RISK_REASONS, "其他")},
    **{f"category_{k}": c for c, k in CATEGORIES.items()}, "category_other": "其他类型",
}


def count_columns(by_village: pd.DataFrame) -> list[str]:
    """The count columns of the per-village table (everything but its id and name)."""
    return [c for c in by_village.columns if c not in ("village_id", "village_name")]


def zh_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Headers ``中文 english``."""
    return df.rename(columns={c: f"{MONITORING_HEADERS[c]} {c}" for c in df.columns if c in MONITORING_HEADERS})
