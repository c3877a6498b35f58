"""防返贫监测 the households under monitoring (三类户): counts per village and the visits due.

The plan: "发现一户、监测一户、帮扶一户、动态清零一户". Each monitored household has a
category (脱贫不稳定户, 边缘易致贫户, 突发严重困难户), its risk reasons from the plan's
list (:data:`RISK_REASONS`: 产业, 就业, 就医, 教育, 医保, 民政救助, 公益岗位) and
the date of its last visit (六必访). Two pure functions:

- :func:`monitoring_by_village`: per village, households, people, per category
  and per risk reason (a household with two reasons counts under each), and the
  visits due. Counts only: what a map and a public report may show;
- :func:`visits_due`: the households due a visit (never visited, or last visited
  more than ``visit_every_days`` before the as-of date) with their village leader.
  Names and ids: for internal use only.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

from gis_town.analysis.progress.fields import _dates, _ids, _numbers, _require
from gis_town.analysis.progress.status import TOTAL_ID, _names, parse_as_of

__all__ = ["CATEGORIES", "RISK_REASONS", "monitoring_by_village", "visits_due"]

#: The three categories of households under monitoring (三类户), as the ledgers write them,
#: and the key of each one's count column (``category_<key>``; any other: ``category_other``).
CATEGORIES: dict[str, str] = {"脱贫不稳定户": "unstable", "边缘易致贫户": "marginal", "突发严重困难户": "sudden_hardship"}
#: Risk reasons of the plan (风险类型), in its order.
RISK_REASONS: tuple[str, ...] = ("产业", "就业", "就医", "教育", "医保", "民政救助", "公益岗位")
_SPLIT = re.compile(r"[、，,;；/\s]+")


def _frame(households: pd.DataFrame, *, id_field: str, layer: str) -> pd.DataFrame:
    """The ledger's fields the counts need, checked: village, category, people, reasons."""
    _require(households, (id_field, "village_id", "category"), layer)
    people = _numbers(households, "members", layer, id_field)
    reasons = households["risk_reasons"] if "risk_reasons" in households.columns else pd.Series("", index=households.index)
    return pd.DataFrame({
        "village_id": households["village_id"].astype("object").astype(str).to_numpy(),
        "category": households["category"].astype("object").fillna("").astype(str).str.strip().to_numpy(),
        "members": people.fillna(0).to_numpy(dtype="int64"),
        "reasons": [set(_SPLIT.split(str(r))) - {""} if isinstance(r, str) else set() for r in reasons],
    })


def _due_mask(households: pd.DataFrame, *, id_field: str, layer: str, as_of: pd.Timestamp,
              visit_every_days: int) -> tuple[np.ndarray, np.ndarray]:
    """(due, days since the last visit; NaN when never visited)."""
    last = _dates(households, "last_visit", layer, id_field).to_numpy()
    days = (as_of.to_datetime64() - last) / np.timedelta64(1, "D")
    return np.isnan(days) | (days > visit_every_days), days


def monitoring_by_village(
    households: pd.DataFrame,
    *,
    as_of: str | dt.date | pd.Timestamp,
    visit_every_days: int = 30,
    villages: pd.DataFrame | None = None,
    id_field: str = "household_id",
    layer: str = "monitoring",
) -> pd.DataFrame:
    """Per village (and a 合计 row): households, people, each category, each risk reason, visits due.

    Parameters
    ----------
    households : DataFrame
        ``id_field``, ``village_id``, ``category``; optional ``members`` (people),
        ``risk_reasons`` (several, separated by 、 , ; or spaces) and ``last_visit`` (a date).
    as_of : date or "YYYY-MM-DD"
    visit_every_days : int
        A household not visited for longer is due (default 30: monthly).
    villages : DataFrame, optional
        Names; villages without monitored households get a row of zeros.

    Returns
    -------
    DataFrame
        ``village_id``, ``village_name``, ``households``, ``people``, ``category_<key>`` per
        category (:data:`CATEGORIES`) and ``category_other``, ``reason_<reason>`` per
        :data:`RISK_REASONS` (others found: ``reason_其他``), ``visits_due``. No names, no ids.
    """
    as_of = parse_as_of(as_of)
    f = _frame(households, id_field=id_field, layer=layer)
    f["due"] = _due_mask(households, id_field=id_field, layer=layer, as_of=as_of,
                         visit_every_days=visit_every_days)[0]
    names = _names(villages)
    vids = sorted(set(names) | set(f["village_id"]))
    rows = []
    for vid in [*vids, TOTAL_ID]:
        m = f if vid == TOTAL_ID else f[f["village_id"] == vid]
        row = {"village_id": vid, "village_name": names.get(vid, "") if vid != TOTAL_ID else "",
               "households": len(m), "people": int(m["members"].sum())}
        row |= {f"category_{k}": int((m["category"] == c).sum()) for c, k in CATEGORIES.items()}
        row["category_other"] = int((~m["category"].isin(list(CATEGORIES))).sum())
        row |= {f"reason_{r}": int(sum(r in x for x in m["reasons"])) for r in RISK_REASONS}
        row["reason_其他"] = int(sum(bool(x - set(RISK_REASONS)) for x in m["reasons"]))
        row["visits_due"] = int(m["due"].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def visits_due(
    households: pd.DataFrame,
    *,
    as_of: str | dt.date | pd.Timestamp,
    visit_every_days: int = 30,
    villages: pd.DataFrame | None = None,
    id_field: str = "household_id",
    layer: str = "monitoring",
) -> pd.DataFrame:
    """The households due a visit, longest waiting first per village, with the village leader.

    Returns
    -------
    DataFrame
        ``village_id``, ``village_name``, ``leader``, ``id_field``, ``head`` (when given),
        ``category``, ``risk_reasons``, ``last_visit``, ``days_since_visit`` (empty: never).
        Personal data: only for ``--internal`` outputs.
    """
    as_of = parse_as_of(as_of)
    due, days = _due_mask(households, id_field=id_field, layer=layer, as_of=as_of,
                          visit_every_days=visit_every_days)
    names = _names(villages)
    leaders = ({} if villages is None or "leader" not in villages.columns
               else dict(zip(villages["village_id"].astype(str), villages["leader"].astype("object"))))
    out = pd.DataFrame({
        "village_id": households["village_id"].astype("object").astype(str).to_numpy(),
        id_field: _ids(households, id_field).to_numpy(),
        "head": households["head"].astype("object").to_numpy() if "head" in households.columns else "",
        "category": households["category"].astype("object").to_numpy(),
        "risk_reasons": households.get("risk_reasons", pd.Series("", index=households.index)).to_numpy(),
        "last_visit": _dates(households, "last_visit", layer, id_field).to_numpy(),
        "days_since_visit": days,
    })[due]
    out.insert(1, "village_name", out["village_id"].map(lambda v: names.get(v, "")))
    out.insert(2, "leader", out["village_id"].map(lambda v: leaders.get(v, "")))
    order = out["days_since_visit"].fillna(np.inf)
    return out.assign(_o=-order).sort_values(["village_id", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)
