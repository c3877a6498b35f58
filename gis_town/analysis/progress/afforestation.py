"""Afforestation progress (林长制造林): trees and mu per village and kind against the targets."""

from __future__ import annotations

import datetime as dt
import logging

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town.analysis.progress.fields import _codes, _dates, _numbers, _require
from gis_town.analysis.progress.status import (
    STATUS_LABELS,
    TOTAL_ID,
    TopicProgress,
    _annual_status,
    _due,
    _fmt_date,
    _names,
    _share_pct,
    _summary,
    _village_order,
    parse_as_of,
)
from gis_town.config import TownConfig
from gis_town.geodesy import area_m2, m2_to_mu
from gis_town.schema import code_label

__all__ = ["AFFORESTATION_UNITS", "afforestation_progress"]

log = logging.getLogger(__name__)

#: Afforestation kind -> (unit, target attribute of the config).
AFFORESTATION_UNITS: dict[str, tuple[str, str]] = {
    "four_sides": ("株 trees", "four_sides_trees"),
    "hillside": ("亩 mu", "hillside_mu"),
    "economic": ("亩 mu", "economic_mu"),
}

#: Chinese names of the layers a plot comes from (the code stays in ``layer``).
LAYER_LABELS: dict[str, str] = {
    "afforestation": "造林地块",
    "afforestation_points": "四旁植树点",
}

#: Columns of the plots frame.
_PLOT_COLUMNS = [
    "layer",
    "plot_id",
    "village_id",
    "kind",
    "trees",
    "year",
    "planted_date",
    "declared_area_mu",
    "measured_area_mu",
]


def _afforestation_frame(gdf: gpd.GeoDataFrame, layer: str, plan_year: int) -> pd.DataFrame:
    _require(gdf, ("plot_id", "village_id", "kind"), layer)
    f = pd.DataFrame(
        {
            "layer": layer,
            "plot_id": gdf["plot_id"].astype("object").to_numpy(),
            "village_id": gdf["village_id"].astype("object").astype(str).to_numpy(),
            "kind": _codes(gdf, "kind", "afforestation_kind", layer, "plot_id").to_numpy(),
            "trees": _numbers(gdf, "trees", layer, "plot_id").to_numpy(),
            "year": _numbers(gdf, "year", layer, "plot_id").to_numpy(),
            "planted_date": _dates(gdf, "planted_date", layer, "plot_id").to_numpy(),
            "declared_area_mu": _numbers(gdf, "declared_area_mu", layer, "plot_id").to_numpy(),
        }
    )
    polygonal = np.isin(shapely.get_type_id(np.asarray(gdf.geometry.values, dtype=object)), (3, 6))
    measured = np.full(len(gdf), np.nan)
    if polygonal.any():
        measured[polygonal] = m2_to_mu(area_m2(gdf.geometry[polygonal], layer=layer))
    f["measured_area_mu"] = measured
    # the plot's year: `year`, else the planting date's year, else (no such columns) the plan year
    year = f["year"].copy()
    from_date = f["planted_date"].dt.year.astype("float64")
    year = year.where(year.notna(), from_date)
    if "year" not in gdf.columns and "planted_date" not in gdf.columns:
        log.info(
            "%s: 无年度和栽植日期字段, 全部计入 %d 年 / no year or planted_date: all plots counted in %d",
            layer,
            plan_year,
            plan_year,
        )
        year = year.fillna(plan_year)
    f["year"] = year
    return f


def afforestation_progress(
    plots: gpd.GeoDataFrame | None,
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
    villages: pd.DataFrame | None = None,
    points: gpd.GeoDataFrame | None = None,
) -> TopicProgress:
    """Afforestation progress (林长制造林): trees and mu per village and kind against the targets.

    Parameters
    ----------
    plots : GeoDataFrame or None
        The ``afforestation`` layer (polygons; points accepted too).
    config : TownConfig
        Targets: ``targets.afforestation`` (town-wide), ``targets.villages``
        (per village, where given), ``targets.afforestation_area_tolerance``,
        ``targets.annual_due`` and the plan year ``town.year``.
    as_of : date or "YYYY-MM-DD"
        Plots planted after this date do not count yet; plots without a
        planting date count from the start of their year.
    villages : DataFrame, optional
        Villages layer (names).
    points : GeoDataFrame, optional
        The ``afforestation_points`` layer (four-sides planting sites, same
        fields). Points have no measured area: their declared area is used.

    Returns
    -------
    TopicProgress
        ``table``: one row per village and kind plus a 合计 row per kind,
        with ``unit``, ``plots``, ``done`` (trees for four_sides, measured
        mu otherwise, declared mu where there is no polygon), ``trees``,
        ``measured_area_mu``, ``declared_area_mu``, ``target``,
        ``target_level``, ``share_pct``, ``status``. ``details["afforestation_plots"]``:
        plots with an issue (declared vs measured area beyond the tolerance,
        trees or area missing, year unknown), never silently dropped.

    Raises
    ------
    FieldError
        A required field missing, an unknown kind, unparseable dates or numbers.
    """
    as_of = parse_as_of(as_of)
    due = _due(config, "targets.annual_due", config.targets.annual_due)
    f = _plots_frame(plots, points, config, as_of)
    rows, summary = _afforestation_rows(f, config, _names(villages), due, as_of)
    table = pd.DataFrame(rows)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    return TopicProgress(
        "afforestation",
        "林长制 造林绿化 afforestation",
        table,
        _summary(summary),
        {"afforestation_plots": _plot_issues(f, _names(villages))},
    )


def _empty_plots() -> pd.DataFrame:
    f = pd.DataFrame({c: pd.Series(dtype="float64") for c in _PLOT_COLUMNS})
    f["planted_date"] = pd.Series(dtype="datetime64[ns]")
    for c in ("layer", "plot_id", "village_id", "kind"):
        f[c] = pd.Series(dtype="object")
    return f


def _plots_frame(
    plots: gpd.GeoDataFrame | None,
    points: gpd.GeoDataFrame | None,
    config: TownConfig,
    as_of: pd.Timestamp,
) -> pd.DataFrame:
    """Every plot and site with its quantity (``done``), ``counted`` and ``issue`` text."""
    year = config.town.year
    tol = config.targets.afforestation_area_tolerance
    frames = [
        _afforestation_frame(g, name, year)
        for name, g in (("afforestation", plots), ("afforestation_points", points))
        if g is not None and len(g)
    ]
    f = pd.concat(frames, ignore_index=True) if frames else _empty_plots()
    f["issue"] = ""

    def note(mask, text):
        m = np.asarray(mask, dtype=bool)
        f.loc[m, "issue"] = np.where(f.loc[m, "issue"] == "", text, f.loc[m, "issue"] + "; " + text)

    in_year = (f["year"] == year).to_numpy(dtype=bool)
    note(f["year"].isna(), "年度不明，未计入 year unknown (no year, no planted_date): not counted")
    planted = (f["planted_date"].isna() | (f["planted_date"] <= as_of)).to_numpy(dtype=bool)
    counted = in_year & planted
    area_mu = f["measured_area_mu"].where(f["measured_area_mu"].notna(), f["declared_area_mu"])
    f["area_mu"] = area_mu
    trees_kind = (f["kind"] == "four_sides").to_numpy(dtype=bool)
    note(
        counted & trees_kind & f["trees"].isna().to_numpy(),
        "株数缺失，未计入 trees missing: not counted",
    )
    note(
        counted & ~trees_kind & area_mu.isna().to_numpy(),
        "面积缺失，未计入 area missing (no polygon, no declared area): not counted",
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        diff = (f["measured_area_mu"] - f["declared_area_mu"]) / f["declared_area_mu"]
    f["diff_mu"] = f["measured_area_mu"] - f["declared_area_mu"]
    f["diff_pct"] = 100.0 * diff
    off = (diff.abs() > tol).to_numpy(dtype=bool) & f["declared_area_mu"].gt(0).to_numpy(dtype=bool)
    note(
        off,
        f"实测与申报面积相差超过 {tol:.0%} / measured vs declared area differ by more than {tol:.0%}",
    )
    missing_qty = np.where(trees_kind, f["trees"].isna(), area_mu.isna()).astype(bool)
    counted = counted & ~missing_qty
    f["counted"] = counted
    f["done"] = np.where(trees_kind, f["trees"], area_mu)
    return f


def _kind_row(part: pd.DataFrame, kind: str, unit: str, target: float) -> dict:
    """The quantities of one kind in ``part`` (a village's plots or all plots)."""
    done = float(np.nansum(part["done"]))
    return {
        "kind": kind,
        "kind_label": code_label("afforestation_kind", kind),
        "unit": unit,
        "plots": len(part),
        "done": done,
        "trees": float(np.nansum(part["trees"])),
        "measured_area_mu": float(np.nansum(part["measured_area_mu"])),
        "declared_area_mu": float(np.nansum(part["declared_area_mu"])),
        "target": target,
    }


def _afforestation_rows(
    f: pd.DataFrame,
    config: TownConfig,
    names: dict[str, str],
    due: pd.Timestamp,
    as_of: pd.Timestamp,
) -> tuple[list[dict], list[dict]]:
    """Rows of the table (per village and kind, a 合计 per kind) and of the summary."""
    vt = config.targets.villages
    rows: list[dict] = []
    summary: list[dict] = []
    c = f[f["counted"]]
    for kind, (unit, attr) in AFFORESTATION_UNITS.items():
        ck = c[c["kind"] == kind]
        for vid in _village_order(f["village_id"], names, config):
            part = ck[ck["village_id"] == vid]
            target = (
                getattr(vt[vid], attr)
                if vid in vt and getattr(vt[vid], attr) is not None
                else np.nan
            )
            r = _kind_row(part, kind, unit, target)
            rows.append(
                {
                    "village_id": vid,
                    "village_name": names.get(vid, "(不在村图层 not in villages layer)"),
                    **r,
                    "target_level": "村 village" if np.isfinite(target) else "",
                    "share_pct": _share_pct(r["done"], target),
                    "status": _annual_status(r["done"], target, due, as_of)
                    if np.isfinite(target)
                    else "town_target_only",
                    "issues": int((part["issue"] != "").sum()),
                }
            )
        target = float(getattr(config.targets.afforestation, attr))
        r = _kind_row(ck, kind, unit, target)
        status = _annual_status(r["done"], target, due, as_of)
        n_issue = int((ck["issue"] != "").sum())
        rows.append(
            {
                "village_id": TOTAL_ID,
                "village_name": "",
                **r,
                "target_level": "镇 town",
                "share_pct": _share_pct(r["done"], target),
                "status": status,
                "issues": n_issue,
            }
        )
        summary.append(
            {
                "topic": "林长制 afforestation",
                "item": f"{code_label('afforestation_kind', kind)} {kind}",
                "unit": unit,
                "done": r["done"],
                "target": target,
                "share_pct": _share_pct(r["done"], target),
                "due_date": _fmt_date(due),
                "status": status,
                "note": f"{n_issue} 个地块有问题 plots with issues (see afforestation_plots)"
                if n_issue
                else "",
            }
        )
    return rows, summary


def _plot_issues(f: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    """Plots with an issue, never silently dropped."""
    issues = f[f["issue"] != ""].copy()
    issues["village_name"] = issues["village_id"].map(lambda v: names.get(v, ""))
    issues["kind_label"] = issues["kind"].map(lambda k: code_label("afforestation_kind", k))
    issues["layer_label"] = issues["layer"].map(lambda x: LAYER_LABELS.get(x, x))
    issues = issues[
        [
            "layer",
            "layer_label",
            "plot_id",
            "village_id",
            "village_name",
            "kind",
            "kind_label",
            "year",
            "planted_date",
            "trees",
            "declared_area_mu",
            "measured_area_mu",
            "diff_mu",
            "diff_pct",
            "counted",
            "issue",
        ]
    ].reset_index(drop=True)
    return issues
