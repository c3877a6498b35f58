"""Village collective economy (村集体经济): the share of villages whose income reaches the threshold."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from gis_town.analysis.progress.fields import _numbers, _require
from gis_town.analysis.progress.status import (
    STATUS_LABELS,
    TOTAL_ID,
    TopicProgress,
    _annual_status,
    _due,
    _fmt_date,
    _names,
    _summary,
    parse_as_of,
)
from gis_town.config import TownConfig

__all__ = ["collective_progress"]


def collective_progress(
    villages: pd.DataFrame, *, config: TownConfig, as_of: str | dt.date | pd.Timestamp
) -> TopicProgress:
    """Village collective economy (村集体经济): share of villages with income >= ``collective_income_wan``.

    Villages without an income figure are listed and marked (``no_data``) and
    count as not reaching the threshold.

    Returns
    -------
    TopicProgress
        ``table``: per village ``collective_income_wan``, ``threshold_wan``,
        ``reached``, ``status``; last row 合计 with the share of villages
        against ``targets.collective_income_share``.
    """
    as_of = parse_as_of(as_of)
    due = _due(config, "targets.annual_due", config.targets.annual_due)
    _require(villages, ("village_id",), "villages")
    thr = float(config.targets.collective_income_wan)
    income = _numbers(villages, "collective_income_wan", "villages", "village_id")
    rows = _village_rows(villages, income, thr, due, as_of)
    n = len(rows)
    n_ok = sum(r["reached"].startswith("是") for r in rows)
    n_missing = sum(r["reached"].startswith("缺失") for r in rows)
    share = 100.0 * n_ok / n if n else np.nan
    target = 100.0 * float(config.targets.collective_income_share)
    status = "no_data" if n == 0 else _annual_status(share, target, due, as_of)
    rows.append(
        {
            "village_id": TOTAL_ID,
            "village_name": f"{n_ok}/{n} 村达标 villages reach {thr:g} 万元",
            "collective_income_wan": float(np.nansum(income)),
            "threshold_wan": thr,
            "reached": f"{n_ok}/{n}",
            "share_pct": share,
            "target_pct": target,
            "status": status,
        }
    )
    table = pd.DataFrame(rows)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    summary = [
        {
            "topic": "村集体经济 collective economy",
            "item": f"收入≥{thr:g}万元的村 villages with income >= {thr:g} (10k yuan)",
            "unit": "% 村 villages",
            "done": share,
            "target": target,
            "share_pct": share / target * 100.0 if target else np.nan,
            "due_date": _fmt_date(due),
            "status": status,
            "note": f"{n_missing} 村收入缺失 villages without income figure" if n_missing else "",
        }
    ]
    return TopicProgress("collective", "村集体经济 collective economy", table, _summary(summary))


def _village_rows(
    villages: pd.DataFrame, income: pd.Series, thr: float, due: pd.Timestamp, as_of: pd.Timestamp
) -> list[dict]:
    """One row per village (by id): income, reached 是/否/缺失 and status."""
    names = _names(villages)
    rows = []
    for vid, inc in sorted(zip(villages["village_id"].astype(str), income), key=lambda t: t[0]):
        reached = bool(np.isfinite(inc) and inc >= thr - 1e-9)
        rows.append(
            {
                "village_id": vid,
                "village_name": names.get(vid, ""),
                "collective_income_wan": inc,
                "threshold_wan": thr,
                "reached": "是 yes"
                if reached
                else ("缺失 missing" if not np.isfinite(inc) else "否 no"),
                "share_pct": np.nan,
                "target_pct": np.nan,
                "status": "done"
                if reached
                else ("no_data" if not np.isfinite(inc) else _annual_status(0, 1, due, as_of)),
            }
        )
    return rows
