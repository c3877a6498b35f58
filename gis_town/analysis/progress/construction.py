"""High-standard farmland construction (高标准农田建设进度): each section's stages and area.

A project is built in sections (建设片区/标段), each a polygon with its
``project``, ``village_id`` and one date per stage of
:data:`~gis_town.analysis.progress.stages.HIGH_STANDARD_STAGES` (规划设计, 开工建设,
完工, 竣工验收, 上图入库). A stage counts on the as-of date when its date is on or
before it and the stage before was reached by then
(:func:`~gis_town.analysis.progress.stages.reached_in_order`); *accepted* also
needs the acceptance check (验收前检查): a section with a checked plot that did
not pass is not accepted, whatever its date says (:func:`section_checks`).
Areas are ellipsoidal on CGCS2000, in mu.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town.analysis.progress.fields import _dates, _numbers, _require
from gis_town.analysis.progress.stages import HIGH_STANDARD_STAGES, reached_in_order
from gis_town.errors import FieldError
from gis_town.geodesy import area_m2, m2_to_mu, reproject

__all__ = ["SECTION_COLUMNS", "section_checks", "section_ids", "section_stages"]

LAYER = "high_standard_sections"
STAGES: tuple[str, ...] = tuple(HIGH_STANDARD_STAGES)
#: Each stage needs the one before it.
PREREQUISITES: dict[str, tuple[str, ...]] = {s: (STAGES[i - 1],) for i, s in enumerate(STAGES) if i}

#: Columns of the per-section table.
SECTION_COLUMNS: list[str] = [
    "section_id",
    "project",
    "village_id",
    "village_name",
    "area_mu",
    "declared_area_mu",
    *STAGES,
    "stage_reached",
    "checked_plots",
    "failed_plots",
    "check_state",
    "check_state_label",
    "failed_plot_ids",
    "order_issue",
    "note",
]

#: check_state -> label.
CHECK_STATES: dict[str, str] = {
    "passed": "通过 passed",
    "failed": "未通过 not passed",
    "unchecked": "未检查 not checked",
}


def section_ids(sections: gpd.GeoDataFrame, id_field: str = "section_id") -> np.ndarray:
    """The sections' ids as text, each given once.

    Raises
    ------
    FieldError
        A blank or repeated id (the rows and ids named): each section needs its own.
    """
    _require(sections, (id_field,), LAYER)
    raw = sections[id_field].astype("object")
    sid = raw.fillna("").astype(str).str.strip()
    bad = (sid == "") | sid.duplicated(keep=False)
    if bad.any():
        rows = np.flatnonzero(bad.to_numpy())
        shown = "、".join(f"{r + 1}:{sid.iloc[r] or '(空 blank)'}" for r in rows[:10])
        raise FieldError(
            f"标段编号为空或重复 / blank or repeated {id_field} in {len(rows)} section(s) (row:id {shown}): "
            "give each section its own id",
            layer=LAYER, field=id_field,
        )
    return sid.to_numpy(dtype=object)


def section_checks(
    sections: gpd.GeoDataFrame,
    plots: gpd.GeoDataFrame,
    passed: np.ndarray,
    *,
    plot_ids: np.ndarray,
    id_field: str = "section_id",
) -> pd.DataFrame:
    """The acceptance check's verdict per section: plots checked in it and those that did not pass.

    A plot belongs to the section named in its own ``section_id`` when it has
    one, else to the section that contains its representative point (the
    centre of its bounding box when its geometry is not a valid polygon, so
    an invalid plot still counts against its section).

    Parameters
    ----------
    sections : GeoDataFrame
        The sections, with ``id_field``.
    plots : GeoDataFrame
        The checked plots, in the order of ``passed``.
    passed : array of bool
        Per plot: passed every error rule (:attr:`CheckResult.summary` ``passed``).
    plot_ids : array
        Per plot: its id, listed for the plots that did not pass.

    Returns
    -------
    DataFrame
        ``section_id``, ``checked_plots``, ``failed_plots``, ``failed_plot_ids``
        (up to 10, ``、``-separated); sections without a checked plot have 0.
    """
    sid = section_ids(sections, id_field)
    where = _plot_sections(sections, sid, plots, id_field)
    out = pd.DataFrame({"section_id": where, "failed": ~np.asarray(passed, dtype=bool),
                        "plot_id": np.asarray(plot_ids).astype(str)})
    out = out[out["section_id"].notna()]
    g = out.groupby("section_id", sort=False)
    table = pd.DataFrame({"checked_plots": g.size(), "failed_plots": g["failed"].sum()})
    table["failed_plot_ids"] = g.apply(
        lambda d: "、".join(d.loc[d["failed"], "plot_id"].head(10)), include_groups=False
    )
    table = table.reindex(pd.Index(sid, name="section_id"))
    table[["checked_plots", "failed_plots"]] = table[["checked_plots", "failed_plots"]].fillna(0)
    table["failed_plot_ids"] = table["failed_plot_ids"].fillna("")
    return table.astype({"checked_plots": "int64", "failed_plots": "int64"}).reset_index()


def _plot_sections(
    sections: gpd.GeoDataFrame, sid: np.ndarray, plots: gpd.GeoDataFrame, id_field: str
) -> np.ndarray:
    """Per plot: the id of its section (its own field, else the one containing it), None outside."""
    where = np.full(len(plots), None, dtype=object)
    if id_field in plots.columns:
        own = plots[id_field].astype("object").fillna("").astype(str).str.strip().to_numpy(dtype=object)
        has = np.isin(own, sid)
        where[has] = own[has]
    todo = np.flatnonzero(where == None)  # noqa: E711 (element-wise)
    if not len(todo):
        return where
    geom = reproject(plots.geometry, sections.crs, layer=LAYER).to_numpy()[todo]
    ok = shapely.is_valid(geom) & ~shapely.is_empty(geom) & ~shapely.is_missing(geom)
    pts = np.empty(len(geom), dtype=object)
    pts[ok] = shapely.point_on_surface(geom[ok])
    b = shapely.bounds(geom[~ok])
    pts[~ok] = shapely.points((b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2)
    has_pt = ~shapely.is_missing(pts) & ~shapely.is_empty(pts)
    tree = shapely.STRtree(sections.geometry.to_numpy())
    ip, isec = tree.query(pts[has_pt], predicate="within")
    hit = todo[np.flatnonzero(has_pt)[ip]]
    where[hit] = sid[isec]
    return where


def section_stages(
    sections: gpd.GeoDataFrame,
    *,
    as_of: pd.Timestamp,
    names: dict[str, str],
    checks: pd.DataFrame | None = None,
    id_field: str = "section_id",
) -> pd.DataFrame:
    """Each section's area and the stages it reached on ``as_of`` (:data:`SECTION_COLUMNS`).

    ``accepted`` counts only when the date says so, ``built`` was reached
    before, and no checked plot of the section failed the acceptance check
    (``checks`` from :func:`section_checks`; None: the check was not run, the
    date alone counts and the note says so). ``uploaded`` needs ``accepted``.

    Raises
    ------
    FieldError
        Missing ``section_id`` or ``project``, a date that cannot be parsed.
    """
    _require(sections, (id_field, "project"), LAYER)
    sid = section_ids(sections, id_field)
    dates = {s: _dates(sections, s, LAYER, id_field).to_numpy() for s in STAGES}
    st = reached_in_order(dates, as_of, stages=STAGES, prerequisites=PREREQUISITES,
                          labels=HIGH_STANDARD_STAGES)
    sec = pd.DataFrame({
        "section_id": sid,
        "project": sections["project"].astype(str).str.strip().to_numpy(),
        "village_id": sections["village_id"].astype(str).to_numpy()
        if "village_id" in sections.columns else "",
        "area_mu": m2_to_mu(area_m2(sections, layer=LAYER)),
        "declared_area_mu": _numbers(sections, "declared_area_mu", LAYER, id_field).to_numpy(),
        **{s: dates[s] for s in STAGES},
    })
    sec["village_name"] = sec["village_id"].map(lambda v: names.get(v, ""))
    reached = dict(st.reached)
    for before, s in zip(STAGES, STAGES[1:]):  # a stage after one not counted is not counted either
        reached[s] = reached[s] & reached[before]
    sec["order_issue"] = st.order_issues
    sec = _with_checks(sec, checks, reached)
    sec["stage_reached"] = _last_stage(reached, len(sec))
    sec["check_state_label"] = sec["check_state"].map(CHECK_STATES)
    for s in STAGES:
        sec[f"{s}_reached"] = reached[s]
    return sec


def _with_checks(sec: pd.DataFrame, checks: pd.DataFrame | None, reached: dict) -> pd.DataFrame:
    """The check's verdict per section; an accepted section with a failed plot loses ``accepted``."""
    if checks is None:
        sec["checked_plots"], sec["failed_plots"], sec["failed_plot_ids"] = 0, 0, ""
        sec["check_state"] = "unchecked"
        sec["note"] = np.where(reached["accepted"], "未运行验收前检查，按验收日期计 / no acceptance check run: "
                               "counted by its date", "")
        return sec
    c = checks.set_index("section_id")
    sec["checked_plots"] = sec["section_id"].map(c["checked_plots"]).fillna(0).astype("int64")
    sec["failed_plots"] = sec["section_id"].map(c["failed_plots"]).fillna(0).astype("int64")
    sec["failed_plot_ids"] = sec["section_id"].map(c["failed_plot_ids"]).fillna("")
    failed = sec["failed_plots"].to_numpy() > 0
    sec["check_state"] = np.select([failed, sec["checked_plots"].to_numpy() > 0],
                                   ["failed", "passed"], "unchecked")
    blocked = reached["accepted"] & failed
    reached["accepted"] = reached["accepted"] & ~failed
    reached["uploaded"] = reached["uploaded"] & reached["accepted"]
    notes = np.full(len(sec), "", dtype=object)
    notes[blocked] = [
        f"验收日期已填但{n}个地块未通过验收前检查，不计验收 / accepted by date but {n} plot(s) "
        f"failed the acceptance check: not counted ({ids})"
        for n, ids in zip(sec["failed_plots"][blocked], sec["failed_plot_ids"][blocked], strict=True)
    ]
    unchecked = reached["accepted"] & (sec["checked_plots"].to_numpy() == 0)
    notes[unchecked] = "片区内无验收前检查地块，按验收日期计 / no checked plot in the section: counted by its date"
    sec["note"] = notes
    return sec


def _last_stage(reached: dict[str, np.ndarray], n: int) -> np.ndarray:
    """The label of the last stage reached in order (未开始 when none)."""
    out = np.full(n, "未开始 not started", dtype=object)
    still = np.ones(n, dtype=bool)
    for s in STAGES:
        still &= reached[s]
        out[still] = HIGH_STANDARD_STAGES[s]
    return out
