"""Field visits back from the villages (走访结果): validation, history, follow-up (撂荒地整治).

The risk command's visit list (:func:`gis_town.analysis.risk.visit_list`)
has empty columns for the village cadres to fill: the visit date, the
outcome (:data:`OUTCOMES`), the planned date of a promised re-cultivation,
the operator a parcel was transferred to, the reason a parcel cannot be
farmed, the visitor and a note. This module checks the filled rows
(:func:`validate_visits`), reads the history of accepted visits
(:func:`last_visits`), decides which parcels need no new visit yet
(:func:`recently_visited`) and counts the follow-up per village and leader
(:func:`remediation_table`). Pure functions over DataFrames: the reading is
:mod:`gis_town.io.visits`, the command ``gis-town visits``.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

__all__ = [
    "FILL_COLUMNS",
    "OUTCOMES",
    "OUTCOME_CHOICES",
    "REJECT_COLUMNS",
    "REMEDIATION_COUNTS",
    "VISIT_HISTORY_COLUMNS",
    "last_visits",
    "outcome_code",
    "parse_date",
    "recently_visited",
    "remediation_table",
    "validate_visits",
]

#: Outcome codes of a visit -> Chinese label (走访结果).
OUTCOMES: dict[str, str] = {
    "recultivated": "已复耕",
    "will_recultivate": "计划复耕",
    "transferred": "已流转",
    "cannot_farm": "无法耕种",
    "not_reached": "未见到人",
}
#: The drop-down choices of the outcome column (``已复耕 recultivated``, ...).
OUTCOME_CHOICES: tuple[str, ...] = tuple(f"{zh} {code}" for code, zh in OUTCOMES.items())

#: The columns of the visit list the cadres fill (empty when the list is written), in order.
FILL_COLUMNS: tuple[str, ...] = (
    "visit_date",
    "outcome",
    "planned_date",
    "operator",
    "cannot_farm_reason",
    "visitor",
    "visit_note",
)

#: Columns of ``visits.csv`` (accepted visits: the history the risk and progress commands read).
VISIT_HISTORY_COLUMNS: tuple[str, ...] = (
    "parcel_id",
    "village_id",
    "village_name",
    "leader",
    "visit_date",
    "outcome",
    "outcome_zh",
    "planned_date",
    "operator",
    "cannot_farm_reason",
    "visitor",
    "visit_note",
    "listed_date",
    "source",
    "sheet",
    "row",
)
#: Columns of the rejected rows (``rejects.csv``): those of every reading problem of the
#: project (:data:`gis_town.io.validate.PROBLEM_COLUMNS`: ``layer`` is ``visits``,
#: ``feature_id`` the parcel id, ``row`` the row number as Excel shows it), then the file,
#: the sheet and what the cells said.
REJECT_COLUMNS: tuple[str, ...] = (
    "layer",
    "feature_id",
    "row",
    "field",
    "action",
    "reason",
    "source",
    "sheet",
    "visit_date",
    "outcome",
    "planned_date",
    "operator",
    "cannot_farm_reason",
    "visitor",
)

_DATE_TEXT = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_EXCEL_EPOCH = dt.date(1899, 12, 30)


def outcome_code(value: object) -> str | None:
    """The outcome code of a cell: ``已复耕``, ``recultivated`` or ``已复耕 recultivated``; None if unknown."""
    if _blank(value):
        return None
    text = str(value).strip()
    by_zh = {zh: code for code, zh in OUTCOMES.items()}
    for word in (text, *text.replace("/", " ").split()):
        w = word.strip()
        if w.lower() in OUTCOMES:
            return w.lower()
        if w in by_zh:
            return by_zh[w]
    return None


def _blank(value: object) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, float) and np.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def _text(value: object) -> str:
    """A cell as stripped text, ``""`` when blank (a whole number read as float without ``.0``)."""
    if _blank(value):
        return ""
    if isinstance(value, dt.datetime) and value == dt.datetime.combine(value.date(), dt.time()):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def parse_date(value: object) -> dt.date | None:
    """A date cell as a date: an Excel date, a serial number, or ``2023-09-12`` / ``2023/9/12`` /
    ``2023.9.12`` / ``2023年9月12日`` text. None when blank.

    Raises
    ------
    ValueError
        When the cell holds something that is not a date.
    """
    if _blank(value):
        return None
    if isinstance(value, (pd.Timestamp, dt.datetime)):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        serial = float(value)
        if 20000 < serial < 80000:  # an Excel serial day number (1954 .. 2119)
            return _EXCEL_EPOCH + dt.timedelta(days=int(serial))
        raise ValueError(value)
    m = _DATE_TEXT.match(str(value))
    if not m:
        raise ValueError(value)
    return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))


#: Chinese names of the checked columns, for the reasons.
_ZH = {
    "parcel_id": "地块编码",
    "visit_date": "走访日期",
    "listed_date": "清单日期",
    "planned_date": "计划复耕日期",
    "outcome": "走访结果",
    "operator": "经营主体",
    "cannot_farm_reason": "无法耕种原因",
}


def _row_date(row: pd.Series, col: str, problems: list[tuple[str, str]]) -> dt.date | None:
    """The date in ``row[col]``, a problem noted when it is not one."""
    try:
        return parse_date(row.get(col))
    except ValueError:
        problems.append(
            (col, f"{_ZH[col]}不是日期 {col} is not a date ({_text(row.get(col))}): 请填 yyyy-mm-dd")
        )
        return None


def _date_problems(
    row: pd.Series, as_of: dt.date, problems: list[tuple[str, str]]
) -> dict[str, dt.date | None]:
    """Visit, list and planned dates of ``row``; the problems with them appended."""
    visit = _row_date(row, "visit_date", problems)
    listed = _row_date(row, "listed_date", problems)
    planned = _row_date(row, "planned_date", problems)
    if visit is None and _blank(row.get("visit_date")):
        problems.append(("visit_date", "未填走访日期 visit_date is empty"))
    if visit is not None and visit > as_of:
        problems.append(
            ("visit_date", f"走访日期晚于今天 visit_date {visit} is in the future (after {as_of})")
        )
    if visit is not None and listed is not None and visit < listed:
        problems.append(
            ("visit_date", f"走访日期早于清单日期 visit_date {visit} is before the list was made "
             f"({listed})")
        )
    return {"visit_date": visit, "listed_date": listed, "planned_date": planned}


def _outcome_problems(
    row: pd.Series, dates: dict[str, dt.date | None], problems: list[tuple[str, str]]
) -> str | None:
    """The outcome code of ``row``; a missing or unknown outcome, or one lacking what it needs, noted."""
    raw = row.get("outcome")
    outcome = outcome_code(raw)
    if outcome is None:
        problems.append(
            ("outcome", "未填走访结果 outcome is empty" if _blank(raw) else
             f"走访结果无法识别 unknown outcome {_text(raw)!r}: 请从下拉列表选择 choose one of "
             f"{', '.join(OUTCOME_CHOICES)}")
        )
    planned, visit = dates["planned_date"], dates["visit_date"]
    if outcome == "will_recultivate" and planned is None and _blank(row.get("planned_date")):
        problems.append(
            ("planned_date", "计划复耕但未填计划日期 will_recultivate without a planned_date")
        )
    if outcome == "will_recultivate" and planned is not None and visit is not None and planned < visit:
        problems.append(
            ("planned_date", f"计划复耕日期早于走访日期 planned_date {planned} is before the visit "
             f"({visit})")
        )
    if outcome == "transferred" and _blank(row.get("operator")):
        problems.append(("operator", "已流转但未填经营主体 transferred without the operator"))
    if outcome == "cannot_farm" and _blank(row.get("cannot_farm_reason")):
        problems.append(
            ("cannot_farm_reason", "无法耕种但未填原因 cannot_farm without the reason")
        )
    return outcome


def _row_problems(
    row: pd.Series, known: set[str], as_of: dt.date, set_aside: set[str]
) -> tuple[list[tuple[str, str]], dict[str, object]]:
    """The (field, reason) problems of ``row`` (empty: accepted) and its parsed values."""
    problems: list[tuple[str, str]] = []
    pid = _text(row.get("parcel_id"))
    if not pid:
        problems.append(("parcel_id", "缺少地块编码 parcel_id is empty"))
    elif pid not in known:
        why = (
            "该地块读入时被剔除 (见 rejects.csv 中的耕地图层) / rejected when the farmland was read"
            if pid in set_aside
            else "请核对编码 check the id against the visit list"
        )
        problems.append(("parcel_id", f"地块编码不在本镇耕地中 unknown parcel_id {pid}: {why}"))
    dates = _date_problems(row, as_of, problems)
    outcome = _outcome_problems(row, dates, problems)
    return problems, {"parcel_id": pid, "outcome": outcome, **dates}


def _reject(row: pd.Series, pid: str, problems: list[tuple[str, str]]) -> dict[str, object]:
    """One row of the rejects table."""
    rec: dict[str, object] = {c: _text(row.get(c)) for c in REJECT_COLUMNS}
    rec.update(
        layer="visits",
        feature_id=pid,
        row=row.get("row"),
        field=", ".join(dict.fromkeys(f for f, _ in problems)),
        action="rejected",
        reason="; ".join(r for _, r in problems),
    )
    return rec


def validate_visits(
    rows: pd.DataFrame,
    parcel_ids,
    *,
    as_of: dt.date,
    set_aside=(),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Check the filled rows of visit lists; split them into accepted visits and rejects.

    A row is rejected (with every reason, Chinese and English) when its
    parcel id is empty or not a parcel of the town, its visit date is
    missing, not a date, after ``as_of`` (in the future) or before the day
    the list was made (``listed_date``), its outcome is missing or not one
    of :data:`OUTCOMES`, it promises re-cultivation (``will_recultivate``)
    without a planned date (or with one before the visit), says
    ``transferred`` without the operator or ``cannot_farm`` without the
    reason. Two accepted rows of one parcel and day that disagree (the
    village's sheet and the all-villages sheet filled differently) are both
    rejected: neither can be trusted.

    Parameters
    ----------
    rows : DataFrame
        The filled rows (:func:`gis_town.io.visits.read_visit_workbooks`):
        ``parcel_id``, the :data:`FILL_COLUMNS`, ``listed_date``, and where
        each row is: ``source`` (file), ``sheet``, ``row`` (Excel row number).
    parcel_ids : iterable of str
        The town's parcel ids.
    as_of : date
        Today: visits after it are in the future.
    set_aside : iterable of str, optional
        Parcel ids rejected when the farmland was read (named in the reason).

    Returns
    -------
    accepted : DataFrame
        :data:`VISIT_HISTORY_COLUMNS` (``village_id``, ``village_name`` and
        ``leader`` as in ``rows`` when it has them, else empty); dates as
        ``datetime64``; exact duplicates (the same visit written on the
        all-villages sheet and the village's sheet) once.
    rejects : DataFrame
        :data:`REJECT_COLUMNS`; ``reason`` joins every problem of the row with ``; ``.
    """
    known = {str(p) for p in parcel_ids}
    aside = {str(p) for p in set_aside}
    good: list[dict] = []
    bad: list[dict] = []
    for _, row in rows.iterrows():
        problems, values = _row_problems(row, known, as_of, aside)
        if problems:
            bad.append(_reject(row, str(values["parcel_id"]), problems))
            continue
        rec = {c: row.get(c) for c in VISIT_HISTORY_COLUMNS}
        rec.update(values)
        rec["outcome_zh"] = OUTCOMES[str(values["outcome"])]
        good.append(rec)
    accepted = _history_frame(good)
    accepted, conflicts = _split_conflicts(accepted, rows)
    rejects = pd.DataFrame(bad + conflicts, columns=list(REJECT_COLUMNS))
    return accepted, rejects


#: What makes two rows the same visit (written twice: on the village's sheet and the town's).
_SAME_VISIT = ("parcel_id", "visit_date", "outcome", "planned_date", "operator",
               "cannot_farm_reason", "visitor", "visit_note")


def _history_frame(good: list[dict]) -> pd.DataFrame:
    """Accepted rows as :data:`VISIT_HISTORY_COLUMNS`: dates datetime64, text stripped, once each."""
    accepted = pd.DataFrame(good, columns=list(VISIT_HISTORY_COLUMNS))
    for c in ("visit_date", "planned_date", "listed_date"):
        accepted[c] = pd.to_datetime(accepted[c])
    for c in ("parcel_id", "outcome", "outcome_zh", "operator", "cannot_farm_reason", "visitor",
              "visit_note", "village_id", "village_name", "leader", "source", "sheet"):
        accepted[c] = accepted[c].map(_text).astype("string")
    accepted["row"] = pd.to_numeric(accepted["row"], errors="coerce").astype("Int64")
    return accepted.drop_duplicates(list(_SAME_VISIT)).reset_index(drop=True)


def _split_conflicts(
    accepted: pd.DataFrame, rows: pd.DataFrame
) -> tuple[pd.DataFrame, list[dict]]:
    """Accepted rows without the parcels visited twice on one day with different results; those as rejects."""
    dup = accepted.duplicated(["parcel_id", "visit_date"], keep=False).to_numpy()
    if not dup.any():
        return accepted, []
    bad = []
    for _, grp in accepted[dup].groupby(["parcel_id", "visit_date"], sort=False):
        where = [f"{s} {sh} 第{r}行 row {r}" for s, sh, r in zip(grp["source"], grp["sheet"], grp["row"])]
        for k, (_, rec) in enumerate(grp.iterrows()):
            others = [w for j, w in enumerate(where) if j != k]
            reason = (
                f"同一地块同一天的走访结果不一致 the same parcel and day filled differently "
                f"(另见 also {'; '.join(others)}): 核对后只填一处 keep one"
            )
            planned = rec["planned_date"]
            row = pd.Series({**rec.to_dict(), "visit_date": f"{rec['visit_date']:%Y-%m-%d}",
                             "planned_date": "" if pd.isna(planned) else f"{planned:%Y-%m-%d}"})
            bad.append(_reject(row, str(rec["parcel_id"]), [("visit_date", reason)]))
    return accepted[~dup].reset_index(drop=True), bad


def last_visits(history: pd.DataFrame) -> pd.DataFrame:
    """Each parcel's last visit of ``history`` (accepted visits, ``visits.csv``).

    Returns
    -------
    DataFrame
        One row per parcel: ``parcel_id``, ``last_visit_date``,
        ``last_outcome``, ``last_outcome_zh``, ``last_planned_date``,
        ``visits`` (number of visits). Of two visits on one day the later row wins.
    """
    cols = ["parcel_id", "last_visit_date", "last_outcome", "last_outcome_zh",
            "last_planned_date", "visits"]
    if history is None or not len(history):
        return pd.DataFrame(columns=cols)
    h = pd.DataFrame(history).copy()
    h["parcel_id"] = h["parcel_id"].astype("string")
    h["visit_date"] = pd.to_datetime(h["visit_date"], errors="coerce")
    h["planned_date"] = pd.to_datetime(h.get("planned_date"), errors="coerce")
    h["_order"] = np.arange(len(h))
    h = h.sort_values(["parcel_id", "visit_date", "_order"], kind="stable")
    n = h.groupby("parcel_id").size()
    last = h.groupby("parcel_id").tail(1).set_index("parcel_id")
    out = pd.DataFrame(
        {
            "parcel_id": last.index.astype("string"),
            "last_visit_date": last["visit_date"].to_numpy(),
            "last_outcome": last["outcome"].astype("string").to_numpy(),
            "last_planned_date": last["planned_date"].to_numpy(),
            "visits": n.reindex(last.index).astype("int64").to_numpy(),
        }
    )
    out["last_outcome_zh"] = out["last_outcome"].map(OUTCOMES).astype("string")
    return out[cols].reset_index(drop=True)


def recently_visited(
    last: pd.DataFrame, *, as_of: dt.date, revisit_after_days: int
) -> set[str]:
    """Parcels that need no new visit yet: visited within ``revisit_after_days`` before ``as_of``.

    A visit where nobody was met (``not_reached``) does not count, and a
    promised re-cultivation (``will_recultivate``) whose planned date has
    passed (before ``as_of``) brings the parcel back on the list.

    Parameters
    ----------
    last : DataFrame
        :func:`last_visits`.
    as_of : date
    revisit_after_days : int
        Days after a visit before the parcel is listed again.
    """
    if last is None or not len(last):
        return set()
    day = pd.Timestamp(as_of)
    visit = pd.to_datetime(last["last_visit_date"])
    planned = pd.to_datetime(last["last_planned_date"])
    outcome = last["last_outcome"].astype("string")
    recent = ((day - visit).dt.days <= revisit_after_days) & (visit <= day)
    reached = outcome != "not_reached"
    overdue = (outcome == "will_recultivate") & (planned < day)
    keep_off = (recent & reached & ~overdue).to_numpy(dtype=bool, na_value=False)
    return set(last.loc[keep_off, "parcel_id"].astype(str))


#: Count columns of the follow-up table (:func:`remediation_table`), in order.
REMEDIATION_COUNTS: tuple[str, ...] = (
    "listed",
    "visited",
    "not_visited",
    "recultivated",
    "promised",
    "overdue",
    "transferred",
    "cannot_farm",
    "not_reached",
)


def remediation_table(
    history: pd.DataFrame,
    *,
    as_of: dt.date,
    listed: pd.DataFrame | None = None,
    villages: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The follow-up of the visit lists (撂荒地整治) per village and leader, total row last.

    Parameters
    ----------
    history : DataFrame
        Accepted visits (``visits.csv``): ``parcel_id``, ``village_id``,
        ``visit_date``, ``outcome``, ``planned_date``. Visits after ``as_of`` are left out.
    as_of : date
        A promise whose planned date is before it, not yet re-cultivated, is overdue.
    listed : DataFrame, optional
        The parcels on the lists read (``listed.csv``: ``parcel_id``,
        ``village_id``); a visited parcel counts as listed too.
    villages : DataFrame, optional
        ``village_id``, ``name``, ``leader`` (the villages layer).

    Returns
    -------
    DataFrame
        ``village_id``, ``village_name``, ``leader``, then the
        :data:`REMEDIATION_COUNTS` (int64, parcels): ``listed`` (on a list),
        ``visited`` (at least one visit), ``not_visited`` (listed − visited),
        and the visited parcels by their last visit's outcome:
        ``recultivated``, ``promised`` (will_recultivate), ``transferred``,
        ``cannot_farm``, ``not_reached`` (these five add up to ``visited``);
        ``overdue`` (promised, the planned date before ``as_of``) is part of
        ``promised``. The 合计 total row holds the column sums.
    """
    day = pd.Timestamp(as_of)
    h = pd.DataFrame(history).copy() if history is not None else pd.DataFrame()
    if len(h):
        h["visit_date"] = pd.to_datetime(h["visit_date"], errors="coerce")
        h = h[(h["visit_date"] <= day).to_numpy(dtype=bool, na_value=False)]
    last = last_visits(h)
    vid = pd.Series(dtype="string")
    if len(h) and "village_id" in h:
        vid = (h.assign(parcel_id=h["parcel_id"].astype("string"))
               .drop_duplicates("parcel_id", keep="last").set_index("parcel_id")["village_id"])
    parcels = pd.DataFrame({"parcel_id": last["parcel_id"].astype("string"),
                            "village_id": last["parcel_id"].map(vid).astype("string")})
    if listed is not None and len(listed):
        lst = pd.DataFrame(listed)[["parcel_id", "village_id"]].astype("string")
        parcels = pd.concat([parcels, lst], ignore_index=True).drop_duplicates("parcel_id")
    outcome = last.set_index("parcel_id")["last_outcome"].astype("string")
    planned = pd.to_datetime(last.set_index("parcel_id")["last_planned_date"])
    got = parcels["parcel_id"].map(outcome)
    flags = {
        "listed": pd.Series(True, index=parcels.index),
        "visited": got.notna(),
        "not_visited": got.isna(),
        "recultivated": got == "recultivated",
        "promised": got == "will_recultivate",
        "overdue": (got == "will_recultivate") & (parcels["parcel_id"].map(planned) < day),
        "transferred": got == "transferred",
        "cannot_farm": got == "cannot_farm",
        "not_reached": got == "not_reached",
    }
    frame = pd.DataFrame({k: v.to_numpy(dtype=bool, na_value=False) for k, v in flags.items()})
    frame["village_id"] = parcels["village_id"].fillna("").to_numpy()
    out = frame.groupby("village_id").sum().astype("int64").reset_index()
    out["village_id"] = out["village_id"].astype("string")
    out = _with_village_names(out, villages)
    total = {"village_id": "合计 total", "village_name": "", "leader": ""}
    total.update({c: int(out[c].sum()) for c in REMEDIATION_COUNTS})
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    return out.astype({c: "int64" for c in REMEDIATION_COUNTS})


def _with_village_names(out: pd.DataFrame, villages: pd.DataFrame | None) -> pd.DataFrame:
    """``village_name`` and ``leader`` from the villages layer, in front of the counts."""
    out["village_name"] = pd.array([""] * len(out), dtype="string")
    out["leader"] = pd.array([""] * len(out), dtype="string")
    if villages is not None and len(villages):
        v = pd.DataFrame(villages).drop_duplicates("village_id")
        v = v.assign(village_id=v["village_id"].astype("string")).set_index("village_id")
        if "name" in v:
            out["village_name"] = out["village_id"].map(v["name"].astype("string")).fillna("")
        if "leader" in v:
            out["leader"] = out["village_id"].map(v["leader"].astype("string")).fillna("")
    return out[["village_id", "village_name", "leader", *REMEDIATION_COUNTS]]
