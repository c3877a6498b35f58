"""Resettlement progress (地质灾害避险搬迁): households at each stage against the milestones then due."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd

from gis_town.analysis.progress.fields import _codes, _dates, _numbers, _require
from gis_town.analysis.progress.first_crop import crop_plots, first_crop, first_crop_summary
from gis_town.analysis.progress.stages import (
    STAGE_LABELS,
    STAGE_PREREQUISITES,
    STAGES,
    StageDates,
    reached_in_order,
)
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
from gis_town.config import TownConfig
from gis_town.errors import ConfigError
from gis_town.geodesy import area_m2, m2_to_mu
from gis_town.schema import code_label

__all__ = ["TABLE_COLUMNS", "milestones_due", "resettlement_progress", "stage_reached"]

_STAGE_LABELS = STAGE_LABELS

#: Columns of ``details["resettlement_households"]`` (as written to resettlement_households.csv).
HOUSEHOLD_COLUMNS: tuple[str, ...] = (
    "household_id",
    "head",
    "village_id",
    "village_name",
    "destination",
    "destination_label",
    "cohort",
    *STAGES,
    "overdue",
    "pending",
    "order_issue",
    "behind",
    "cohort_note",
)


def _milestones(config: TownConfig) -> list[dict]:
    """The config's milestones as records (cohort, stage, date, share), validated."""
    rows = []
    for i, m in enumerate(config.targets.resettlement_milestones):
        key = f"targets.resettlement_milestones[{i}]"
        if m.stage not in STAGES:
            raise ConfigError(
                f"未知的搬迁阶段 / unknown resettlement stage {m.stage!r}; expected one of {', '.join(STAGES)}",
                field=f"{key}.stage",
            )
        rows.append(
            {
                "cohort": m.cohort,
                "stage": m.stage,
                "date": _due(config, f"{key}.date", m.date),
                "share": float(m.share),
            }
        )
    return rows


def _due_records(ms: list[dict], as_of: pd.Timestamp, cohort: int | None) -> list[dict]:
    own = [m for m in ms if cohort is not None and m["cohort"] == cohort]
    use = own or [m for m in ms if m["cohort"] is None]
    rows = []
    for stage in STAGES:
        m = sorted((x for x in use if x["stage"] == stage), key=lambda x: (x["date"], x["share"]))
        if not m:
            continue
        past = [x for x in m if x["date"] <= as_of]
        fut = [x for x in m if x["date"] > as_of]
        rows.append(
            {
                "stage": stage,
                "due_date": past[-1]["date"] if past else pd.NaT,
                "required_share": past[-1]["share"] if past else 0.0,
                "next_date": fut[0]["date"] if fut else pd.NaT,
                "next_share": fut[0]["share"] if fut else np.nan,
            }
        )
    return rows


def milestones_due(
    config: TownConfig, as_of: str | dt.date | pd.Timestamp, *, cohort: int | None = None
) -> pd.DataFrame:
    """For each stage, the milestone then due and the next one.

    The milestone due on a date is the latest one whose date is on or before
    it (a deadline day counts in full). Milestones with a ``cohort`` apply to
    that cohort only; a cohort without its own uses those without one.

    Returns
    -------
    DataFrame
        One row per stage with a milestone: ``stage``, ``due_date``
        (NaT when none due yet), ``required_share`` (0 when none due yet),
        ``next_date``, ``next_share``.
    """
    rows = _due_records(_milestones(config), parse_as_of(as_of), cohort)
    return pd.DataFrame(
        rows, columns=["stage", "due_date", "required_share", "next_date", "next_share"]
    )


def _stage_status(done: int, n: int, required: float) -> str:
    if n == 0:
        return "no_data"
    share = done / n
    if required <= 0:
        return "done" if done == n else "not_due"
    if share >= required - 1e-9:
        return "done" if done == n else "on_track"
    return "behind"


def stage_reached(reached: dict[str, np.ndarray], n: int) -> np.ndarray:
    """The last stage (in :data:`STAGES` order) each household has reached and that counts; "" for none.

    Parameters
    ----------
    reached : dict of str -> bool array
        Per stage, the households that reached it by the as-of date with its
        prerequisites met (stages out of order do not count).
    n : int
        Number of households.
    """
    out = np.full(n, "", dtype=object)
    for s in STAGES:
        if s in reached:
            out[np.asarray(reached[s], dtype=bool)] = s
    return out


def _household_frame(households: pd.DataFrame, config: TownConfig) -> pd.DataFrame:
    """The households with their codes, cohort (blank: the plan year) and stage dates."""
    layer = "resettlement"
    _require(households, ("household_id", "village_id", "destination"), layer)
    plan_year = config.town.year
    hh = pd.DataFrame(
        {
            "household_id": households["household_id"].astype("object").to_numpy(),
            "head": households["head"].astype("object").to_numpy()
            if "head" in households.columns
            else "",
            "village_id": households["village_id"].astype("object").astype(str).to_numpy(),
            "destination": _codes(
                households, "destination", "destination", layer, "household_id"
            ).to_numpy(),
        }
    )
    cohort = _numbers(households, "cohort", layer, "household_id").to_numpy()
    hh["cohort_missing"] = np.isnan(cohort)
    hh["cohort"] = np.where(np.isnan(cohort), plan_year, cohort).astype("int64")
    for s in STAGES:
        hh[s] = _dates(households, s, layer, "household_id").to_numpy()
    return hh


def _groups(hh: pd.DataFrame, in_c: np.ndarray) -> list[tuple[str, str, str, np.ndarray]]:
    """(scope, village id, destination, mask) of a cohort: 合计, each destination, each village."""
    dests = hh["destination"].to_numpy(dtype=object)
    vils = hh["village_id"].to_numpy(dtype=object)
    groups: list[tuple[str, str, str, np.ndarray]] = [("合计 total", TOTAL_ID, "", in_c)]
    for d in sorted(set(dests[in_c].tolist())):
        groups.append(("安置方式 destination", "", d, in_c & (dests == d)))
    for v in sorted(set(vils[in_c].tolist())):
        groups.append(("村 village", v, "", in_c & (vils == v)))
    return groups


def _planned_note(scope: str, coh: int, n: int, config: TownConfig) -> tuple[int, str]:
    """The cohort total's denominator: the planned households of the plan year when they differ."""
    planned = config.targets.resettlement_households
    if (
        scope.startswith("合计")
        and coh == config.town.year
        and planned is not None
        and planned != n
    ):
        note = f"计划 {planned} 户, 数据 {n} 户 / planned {planned} households, {n} in the data"
        return max(n, planned), note
    return n, ""


def _required_households(required: float, n: int) -> int:
    """Households due at a milestone: ``ceil(required × n)`` (70 % of 48 is 34)."""
    return int(np.ceil(required * n - 1e-9)) if required > 0 else 0


#: Columns of the resettlement table, in order: what each row is, then
#: done, all households (the denominator), share of all, share due, households due.
TABLE_COLUMNS: tuple[str, ...] = (
    "cohort",
    "scope",
    "village_id",
    "village_name",
    "destination",
    "destination_label",
    "stage",
    "stage_label",
    "done",
    "households",
    "share_pct",
    "required_pct",
    "required_households",
    "flagged",
    "due_date",
    "next_date",
    "next_required_pct",
    "status",
    "status_label",
    "note",
)


def _stage_summary(
    s: str, coh: int, dr: dict, n: int, done: int, n_flagged: int, status: str, note: str
) -> dict:
    """The summary row of a stage's cohort total."""
    req = float(dr["required_share"])
    return {
        "topic": "避险搬迁 resettlement",
        "item": f"{_STAGE_LABELS[s]} {s} ({coh}年度 cohort)",
        "unit": "户 households",
        "done": float(done),
        "base": float(n),
        "share_pct": 100.0 * done / n if n else np.nan,
        "target_pct": 100.0 * req,
        "target": float(_required_households(req, n)) if req > 0 else np.nan,
        "due_date": _fmt_date(dr["due_date"]),
        "status": status,
        "note": "; ".join(
            x for x in (note, f"{n_flagged} 户日期顺序异常 out of order" if n_flagged else "") if x
        ),
    }


def _cohort_rows(
    hh: pd.DataFrame,
    st: StageDates,
    config: TownConfig,
    as_of: pd.Timestamp,
    names: dict[str, str],
) -> tuple[list[dict], list[dict], list[list[str]], list[list[str]]]:
    """Rows of the table and the summary per cohort, group and stage; each household's overdue and pending stages."""
    rows: list[dict] = []
    summary: list[dict] = []
    overdue: list[list[str]] = [[] for _ in range(len(hh))]
    pending: list[list[str]] = [[] for _ in range(len(hh))]
    ms = _milestones(config)
    cohorts = hh["cohort"].to_numpy()
    for coh in sorted(set(cohorts.tolist())):
        in_c = cohorts == coh
        due = {r["stage"]: r for r in _due_records(ms, as_of, int(coh))}
        groups = _groups(hh, in_c)
        for s, dr in due.items():
            req = float(dr["required_share"])
            for scope, vid, dest, m in groups:
                n, note = _planned_note(scope, coh, int(m.sum()), config)
                done = int(st.reached[s][m].sum())
                status = _stage_status(done, n, req)
                rows.append(
                    {
                        "cohort": int(coh),
                        "scope": scope,
                        "village_id": vid,
                        "village_name": names.get(vid, "") if vid and vid != TOTAL_ID else "",
                        "destination": dest,
                        "destination_label": code_label("destination", dest) if dest else "",
                        "stage": s,
                        "stage_label": _STAGE_LABELS[s],
                        "done": done,
                        "households": n,
                        "share_pct": 100.0 * done / n if n else np.nan,
                        "required_pct": 100.0 * req,
                        "required_households": _required_households(req, n),
                        "flagged": int(st.flagged[s][m].sum()),
                        "due_date": dr["due_date"],
                        "next_date": dr["next_date"],
                        "next_required_pct": 100.0 * float(dr["next_share"]),
                        "status": status,
                        "note": note,
                    }
                )
                if not scope.startswith("合计"):
                    continue
                n_flagged = int(st.flagged[s][m].sum())
                summary.append(_stage_summary(s, coh, dr, n, done, n_flagged, status, note))
                for i in np.flatnonzero(m & ~st.reached[s]):
                    if req >= 1.0 - 1e-9:
                        overdue[i].append(_STAGE_LABELS[s])
                    elif status == "behind":
                        pending[i].append(_STAGE_LABELS[s])
    return rows, summary, overdue, pending


def _reclamation_summary(rec: pd.DataFrame) -> list[dict]:
    """Summary rows of the reclaimed area, one per cohort (information, no target)."""
    tot = rec[rec["village_id"] == TOTAL_ID]
    return [
        {
            "topic": "避险搬迁 resettlement",
            "item": f"复垦面积 reclaimed area ({r.cohort}年度 cohort)",
            "unit": "亩 mu",
            "done": r.reclaimed_mu,
            "target": np.nan,
            "share_pct": np.nan,
            "due_date": "",
            "status": "info",
            "note": f"{r.reclaimed_plots}/{r.plots} 地块已复垦 plots reclaimed; 申报 declared {r.declared_mu:.2f} 亩",
        }
        for r in tot.itertuples()
    ]


def resettlement_progress(
    households: gpd.GeoDataFrame | pd.DataFrame,
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
    villages: pd.DataFrame | None = None,
    reclamation: gpd.GeoDataFrame | None = None,
    scenes: dict | None = None,
) -> TopicProgress:
    """Resettlement progress (地质灾害避险搬迁) as of a date, against the config's milestones.

    A household has reached a stage on ``as_of`` when the stage's date is on
    or before ``as_of`` *and* the stages it depends on
    (:data:`STAGE_PREREQUISITES`) were reached on or before that date. A stage
    reached out of order (e.g. moved in before housing was confirmed, or with
    no housing date) is *flagged* (``flagged`` column, ``order_issue`` text)
    and not counted.

    Parameters
    ----------
    households : GeoDataFrame or DataFrame
        The ``resettlement`` layer: ``household_id``, ``village_id``,
        ``destination`` (city / town or 进城 / 乡镇), ``cohort`` (搬迁年度;
        blank means the plan year) and one date per stage (:data:`STAGES`).
    config : TownConfig
        ``targets.resettlement_milestones`` (date "MM-DD" of the plan year
        ``town.year``, stage, share, optional cohort) and
        ``targets.resettlement_households`` (planned households of the plan
        year's cohort: the denominator of its total when larger than the data).
    as_of : date or "YYYY-MM-DD"
    villages : DataFrame, optional
        For village names.
    reclamation : GeoDataFrame, optional
        The ``reclamation`` layer (plots by household): measured area (mu)
        reclaimed by ``as_of`` (``reclaimed_date``, else the household's
        ``reclaimed`` date).
    scenes : mapping date -> NDVI raster, optional
        Dated NDVI scenes (``[rasters] ndvi_scenes``): with them and
        ``reclamation``, the first crop of each reclaimed plot
        (:func:`~gis_town.analysis.progress.first_crop.first_crop`).

    Returns
    -------
    TopicProgress
        ``table``: per cohort, one row per group (合计 total, each destination,
        each village) and stage (:data:`TABLE_COLUMNS`): ``done``,
        ``households`` (all households of the group: the denominator),
        ``share_pct`` (done / households), ``required_pct`` (share due by
        the milestone then due), ``required_households`` (households due:
        ``ceil(required_pct × households)``), ``flagged``, ``due_date``,
        ``next_date``, ``next_required_pct``, ``status``. ``details["resettlement_households"]``:
        every household with its dates, ``overdue`` stages (a milestone
        requiring 100 % is due and the household has not reached the stage),
        ``pending`` stages (not reached while the cohort as a whole is behind
        a partial milestone, e.g. 70 % moved in: the households to work on),
        ``order_issue`` and ``behind`` (True when anything is overdue).
        ``details["reclamation"]``: reclaimed plots and mu per cohort and village.
        ``details["first_crop"]`` (with ``scenes``): each plot's first crop, and
        a summary row per cohort (plots cropped of the plots due).

    Raises
    ------
    FieldError
        Missing fields, an unknown destination, unparseable dates.
    ConfigError
        A milestone with an unknown stage or an unparseable date.
    """
    as_of = parse_as_of(as_of)
    plan_year = config.town.year
    hh = _household_frame(households, config)
    st = reached_in_order({s: hh[s].to_numpy() for s in STAGES}, as_of, stages=STAGES,
                          prerequisites=STAGE_PREREQUISITES, labels=_STAGE_LABELS)
    hh["order_issue"] = st.order_issues
    names = _names(villages)
    hh["village_name"] = hh["village_id"].map(lambda v: names.get(v, ""))
    rows, summary, overdue, pending = _cohort_rows(hh, st, config, as_of, names)
    table = pd.DataFrame(rows, columns=[c for c in TABLE_COLUMNS if c != "status_label"])
    table["status_label"] = table["status"].map(STATUS_LABELS)
    table = table[list(TABLE_COLUMNS)]
    hh["overdue"] = ["、".join(x) for x in overdue]
    hh["pending"] = ["、".join(x) for x in pending]
    hh["behind"] = hh["overdue"] != ""
    hh["destination_label"] = hh["destination"].map(lambda d: code_label("destination", d))
    hh["cohort_note"] = np.where(
        hh["cohort_missing"], f"搬迁年度缺失，按 {plan_year} / cohort blank: plan year assumed", ""
    )
    hh["stage_reached"] = stage_reached(st.reached, len(hh))
    hh_out = (
        hh[[*HOUSEHOLD_COLUMNS, "stage_reached"]]
        .sort_values(["cohort", "village_id", "household_id"], kind="stable")
        .reset_index(drop=True)
    )
    details = {"resettlement_households": hh_out}
    if reclamation is not None and len(reclamation):
        rec = _reclamation(reclamation, hh, as_of, names)
        details["reclamation"] = rec
        summary += _reclamation_summary(rec)
        if scenes is not None:
            crop = first_crop(crop_plots(reclamation, hh, names), scenes, config=config, as_of=as_of)
            details["first_crop"] = crop
            summary += first_crop_summary(crop, config)
    return TopicProgress(
        "resettlement", "地质灾害避险搬迁 resettlement", table, _summary(summary), details
    )


def _reclamation(
    rec: gpd.GeoDataFrame, hh: pd.DataFrame, as_of: pd.Timestamp, names: dict[str, str]
) -> pd.DataFrame:
    layer = "reclamation"
    _require(rec, ("plot_id", "household_id"), layer)
    f = pd.DataFrame(
        {
            "plot_id": rec["plot_id"].astype("object").to_numpy(),
            "household_id": rec["household_id"].astype("object").to_numpy(),
            "declared_mu": _numbers(rec, "declared_area_mu", layer, "plot_id").to_numpy(),
            "measured_mu": m2_to_mu(area_m2(rec, layer=layer)),
            "reclaimed_date": _dates(rec, "reclaimed_date", layer, "plot_id").to_numpy(),
        }
    )
    info = hh.drop_duplicates("household_id").set_index("household_id")
    f["cohort"] = f["household_id"].map(info["cohort"]).astype("Int64")
    f["village_id"] = (
        f["household_id"]
        .map(info["village_id"])
        .astype("object")
        .fillna("(未匹配搬迁户 unmatched household)")
    )
    hh_date = f["household_id"].map(info["reclaimed"])
    when = f["reclaimed_date"].where(f["reclaimed_date"].notna(), hh_date)
    f["reclaimed"] = (when.notna() & (when <= as_of)).to_numpy(dtype=bool)
    f["reclaimed_mu"] = np.where(f["reclaimed"], f["measured_mu"], 0.0)
    f["cohort"] = f["cohort"].astype("object").where(f["cohort"].notna(), "(未匹配 unmatched)")
    g = f.groupby(["cohort", "village_id"], sort=True, dropna=False)
    out = g.agg(
        plots=("plot_id", "size"),
        reclaimed_plots=("reclaimed", "sum"),
        measured_mu=("measured_mu", "sum"),
        reclaimed_mu=("reclaimed_mu", "sum"),
        declared_mu=("declared_mu", "sum"),
    ).reset_index()
    tot = (
        f.groupby("cohort", sort=True)
        .agg(
            plots=("plot_id", "size"),
            reclaimed_plots=("reclaimed", "sum"),
            measured_mu=("measured_mu", "sum"),
            reclaimed_mu=("reclaimed_mu", "sum"),
            declared_mu=("declared_mu", "sum"),
        )
        .reset_index()
    )
    tot["village_id"] = TOTAL_ID
    out = pd.concat([out, tot], ignore_index=True)
    out["village_name"] = out["village_id"].map(lambda v: names.get(v, ""))
    out["reclaimed_plots"] = out["reclaimed_plots"].astype("int64")
    return out[
        [
            "cohort",
            "village_id",
            "village_name",
            "plots",
            "reclaimed_plots",
            "measured_mu",
            "reclaimed_mu",
            "declared_mu",
        ]
    ]
