"""Household and site programmes (抗震房改造, 卫生改厕, 大棚, 合作社 ...): items through their stages.

A programme is declared in the town config alone (``[programmes.KEY]``,
:class:`gis_town.config.Programme`): the items it reads, its stages in order
(one date column each) and the plan's dated targets as shares or counts. One
function, :func:`programme_progress`, gives every programme the same table,
summary rows and per-item list, as resettlement's milestones do:

- an item has reached a stage on ``as_of`` when the stage's date is on or
  before ``as_of`` and the stage before it was reached on or before that
  date. A stage without the one before, or dated before it, is *flagged*
  (``order_issue``) and not counted;
- per stage, in total and per village: ``done``, ``base`` (all items; for a
  town-wide count target the larger of the count and the items), ``share_pct``
  (done / base), ``required_pct`` and ``required`` (the target then due:
  ``ceil(share × base)``, or the count) and the status against it.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from gis_town.analysis.progress.fields import _dates, _ids, _require
from gis_town.analysis.progress.stages import reached_in_order
from gis_town.analysis.progress.status import (
    STATUS_LABELS,
    TOTAL_ID,
    TopicProgress,
    _due,
    _fmt_date,
    _names,
    _summary,
    parse_as_of,
)
from gis_town.config import Programme, TownConfig

__all__ = ["PROGRAMME_COLUMNS", "programme_progress"]

#: Columns of a programme's table: what the row is, then done, all, share, share due, count due.
PROGRAMME_COLUMNS: tuple[str, ...] = (
    "scope", "village_id", "village_name", "stage", "stage_label", "done", "base", "share_pct",
    "required_pct", "required", "flagged", "due_date", "status", "status_label", "note",
)


def _targets_due(prog: Programme, config: TownConfig, as_of: pd.Timestamp, key: str) -> dict[str, dict]:
    """Per stage, the target then due (the latest dated on or before ``as_of``), if any."""
    out: dict[str, dict] = {}
    for i, t in enumerate(prog.targets):
        when = _due(config, f"programmes.{key}.targets[{i}].date", t.date)
        if when <= as_of and (t.stage not in out or when >= out[t.stage]["date"]):
            out[t.stage] = {"date": when, "share": t.share, "count": t.count}
    return out


def _status(done: int, base: int, required: int, has_target: bool) -> str:
    if base == 0:
        return "no_data"
    if not has_target:
        return "done" if done == base else "not_due"
    if done >= required:
        return "done" if done >= base else "on_track"
    return "behind"


def _against(target: dict | None, base: int, is_total: bool) -> tuple[int, float | None, int | None, str]:
    """(base, share due %, count due, note) of a row against the target then due (None: no target here).

    A share target applies to every row (``ceil(share × base)``); a count target is town-wide: the
    合计 row's base is the larger of the count and the items, the village rows have none.
    """
    if target is None:
        return base, None, None, ""
    if target["share"] is not None:
        return base, 100.0 * target["share"], int(np.ceil(target["share"] * base - 1e-9)), ""
    if not is_total:
        return base, None, None, "目标为全镇数 / the target is a town-wide count"
    count = int(target["count"])
    note = f"计划 {count}, 数据 {base} / planned {count}, {base} in the data" if count > base else ""
    base = max(base, count)
    return base, 100.0 * count / base if base else 0.0, count, note


def _row(scope: str, vid: str, name: str, stage: str, label: str, done: int, n: int,
         n_flagged: int, target: dict | None, is_total: bool) -> dict:
    """One row of the table: a stage in total or in a village, against the target then due."""
    base, req_pct, required, note = _against(target, n, is_total)
    if required is not None:
        status = _status(done, base, required, True)
    else:
        status = "town_target_only" if target is not None else _status(done, base, 0, False)
    return {
        "scope": scope, "village_id": vid, "village_name": name, "stage": stage, "stage_label": label,
        "done": done, "base": base, "share_pct": 100.0 * done / base if base else np.nan,
        "required_pct": np.nan if req_pct is None else req_pct,
        "required": np.nan if required is None else required,
        "flagged": n_flagged, "due_date": target["date"] if target is not None else pd.NaT,
        "status": status, "note": note,
    }


def programme_progress(
    items: pd.DataFrame,
    programme: Programme,
    *,
    key: str,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
    villages: pd.DataFrame | None = None,
) -> TopicProgress:
    """A programme's items at each stage as of a date, in total and per village, against its targets.

    Parameters
    ----------
    items : DataFrame or GeoDataFrame
        One row per household or site: ``programme.id_field``, ``programme.village_field``
        (optional) and one date column per stage (a missing column: nobody reached it).
    programme : Programme
        The ``[programmes.KEY]`` declaration.
    key : str
        The programme's key (``toilets``): messages and the topic's name.
    config : TownConfig
        For the plan year of "MM-DD" target dates.
    as_of : date or "YYYY-MM-DD"
    villages : DataFrame, optional
        For village names.

    Returns
    -------
    TopicProgress
        ``table`` (:data:`PROGRAMME_COLUMNS`): per stage the 合计 row then one per village;
        ``summary``: a row per stage of the total; ``details["items"]``: each item with its
        stage dates, ``stage_reached`` (the last stage counted; "" none), ``order_issue``,
        ``behind`` (a target due in full that the item has not met).

    Raises
    ------
    FieldError
        The id field is missing, or a stage date cannot be read (row named).
    ConfigError
        A target date that is not a date.
    """
    as_of = parse_as_of(as_of)
    layer = f"programmes.{key}"
    _require(items, (programme.id_field,), layer)
    order = [s.field for s in programme.stages]
    labels = {s.field: s.label for s in programme.stages}
    dates = {s: _dates(items, s, layer, programme.id_field).to_numpy() for s in order}
    st = reached_in_order(dates, as_of, stages=order, labels=labels,
                          prerequisites={s: (order[k - 1],) for k, s in enumerate(order) if k})
    reached, flagged, issues = st.reached, st.flagged, st.order_issues
    vf = programme.village_field
    vids = items[vf].astype("object").astype(str).to_numpy() if vf in items.columns else np.full(len(items), "")
    names = _names(villages)
    due = _targets_due(programme, config, as_of, key)
    rows: list[dict] = []
    summary: list[dict] = []
    for s in order:
        groups = [("合计 total", TOTAL_ID, np.ones(len(items), dtype=bool))]
        groups += [("村 village", v, vids == v) for v in sorted(set(vids.tolist())) if v]
        for scope, vid, m in groups:
            total = vid == TOTAL_ID
            rows.append(_row(scope, vid, "" if total else names.get(vid, ""), s, labels[s],
                             int(reached[s][m].sum()), int(m.sum()), int(flagged[s][m].sum()),
                             due.get(s), total))
        summary.append(_summary_row(programme, rows[-len(groups)], labels[s], s))
    table = pd.DataFrame(rows, columns=[c for c in PROGRAMME_COLUMNS if c != "status_label"])
    table["status_label"] = table["status"].map(STATUS_LABELS)
    details = {"items": _item_frame(items, programme, order, dates, reached, issues, due, vids, names)}
    return TopicProgress(key, programme.name, table[list(PROGRAMME_COLUMNS)], _summary(summary), details)


def _summary_row(programme: Programme, total: dict, label: str, stage: str) -> dict:
    """The summary row of a stage's total."""
    return {
        "topic": programme.name,
        "item": f"{label} {stage}",
        "unit": programme.unit,
        "done": float(total["done"]),
        "base": float(total["base"]),
        "share_pct": total["share_pct"],
        "target_pct": total["required_pct"],
        "target": float(total["required"]) if pd.notna(total["required"]) else np.nan,
        "due_date": _fmt_date(total["due_date"]),
        "status": total["status"],
        "note": f"{total['flagged']} 个日期顺序异常 out of order" if total["flagged"] else "",
    }


def _item_frame(items, programme, order, dates, reached, issues, due, vids, names) -> pd.DataFrame:
    """Each item with its stage dates, the last stage counted, order issues and what it is behind on."""
    out = items.copy()
    out[programme.id_field] = _ids(items, programme.id_field).to_numpy()
    for s in order:
        out[s] = dates[s]
    last = np.full(len(items), "", dtype=object)
    labels = {s.field: s.label for s in programme.stages}
    for s in order:
        last[reached[s]] = labels[s]
    out["stage_reached"] = last
    out["village_name"] = [names.get(v, "") for v in vids]
    out["order_issue"] = issues
    behind = np.zeros(len(items), dtype=bool)
    for s, t in due.items():
        if t["share"] is not None and t["share"] >= 1.0 - 1e-9:
            behind |= ~reached[s]
    out["behind"] = behind
    return out
