"""Plan progress (计划进度): where each of the year's targets stands on a given date.

One pure function per topic, each returning a :class:`TopicProgress` (a main
table, detail tables and the topic's rows of the summary):

* :func:`afforestation_progress` - 林长制: trees planted for four-sides planting
  (四旁植树), mu of hillside greening (面山绿化) and economic forest (经济林), per
  village and in total against the year's targets; measured ellipsoidal area
  beside the declared area, plots that differ by more than
  ``targets.afforestation_area_tolerance`` listed.
* :func:`resettlement_progress` - 地质灾害避险搬迁: the share of households at each
  stage against the milestone then due (``targets.resettlement_milestones``),
  per cohort, in total, per destination (进城/乡镇) and per village; households
  behind schedule by name; stage dates out of order flagged and not counted;
  reclaimed area (mu) from the reclamation layer.
* :func:`high_standard_progress` - 高标准农田: farmland area per project against
  ``targets.high_standard``.
* :func:`zone_progress` - 一川两线三流域 demonstration belts: farmland inside
  each zone by true intersection (:mod:`gis_town.analysis.overlay`), all
  statuses and the film-mulched part (全膜双垄沟播), against the zone's
  ``planned_demo_mu``; totals per zone and per kind, never across kinds.
* :func:`road_progress` - 村组道路硬化: km hardened in the plan year (lengths in
  the Gauss-Kruger zone), per village and in total, against the target.
* :func:`collective_progress` - 村集体经济: share of villages whose collective
  income reaches ``targets.collective_income_wan``.

:func:`plan_progress` runs every topic a town has the layers for, and
:func:`summary_table` puts their summary rows together.

Statuses (column ``status``, Chinese in ``status_label``): ``done``,
``on_track``, ``in_progress`` (an annual target before its due date
``targets.annual_due``), ``not_due`` (no milestone due yet), ``behind``,
``no_target`` (the config gives no target: a marked row, never a zero),
``no_data`` and ``town_target_only`` (a village row where only a town-wide
target exists). :func:`needs_attention` tells which rows to highlight.

Shares are in percent (``*_pct``). Areas are ellipsoidal on CGCS2000
(:func:`gis_town.geodesy.area_m2`); lengths are in the town's Gauss-Kruger zone.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gis_town.analysis.overlay import area_by_zone, inside_outside
from gis_town.config import TownConfig
from gis_town.errors import ConfigError, FieldError, InputError
from gis_town.geodesy import area_m2, m2_to_mu, project_to_gk
from gis_town.io.validate import normalize_codes
from gis_town.schema import CODE_VALUES, code_label

__all__ = [
    "AFFORESTATION_UNITS",
    "STAGES",
    "STAGE_PREREQUISITES",
    "STATUS_LABELS",
    "SUMMARY_COLUMNS",
    "TOTAL_ID",
    "TopicProgress",
    "afforestation_progress",
    "collective_progress",
    "high_standard_progress",
    "milestones_due",
    "needs_attention",
    "parse_as_of",
    "plan_progress",
    "resettlement_progress",
    "road_progress",
    "summary_table",
    "zone_progress",
]

log = logging.getLogger(__name__)

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
    "info": "",
}
#: Statuses whose rows are highlighted in the workbook.
_ATTENTION = {"behind", "no_target", "no_data"}

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
_STAGE_LABELS = {
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

#: Afforestation kind -> (unit, target attribute of the config).
AFFORESTATION_UNITS: dict[str, tuple[str, str]] = {
    "four_sides": ("株 trees", "four_sides_trees"),
    "hillside": ("亩 mu", "hillside_mu"),
    "economic": ("亩 mu", "economic_mu"),
}

#: Columns of every summary table.
SUMMARY_COLUMNS: tuple[str, ...] = (
    "topic",
    "item",
    "unit",
    "done",
    "target",
    "share_pct",
    "due_date",
    "status",
    "status_label",
    "note",
)


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
    out["status_label"] = out["status"].map(STATUS_LABELS)
    return out


def _names(villages: pd.DataFrame | None) -> dict[str, str]:
    if villages is None or "village_id" not in villages.columns or "name" not in villages.columns:
        return {}
    return dict(zip(villages["village_id"].astype(str), villages["name"].astype(str)))


def _require(df: pd.DataFrame, fields: Sequence[str], layer: str) -> None:
    missing = [f for f in fields if f not in df.columns]
    if missing:
        have = ", ".join(c for c in df.columns if c != "geometry")
        raise FieldError(
            f"缺少必填字段 / missing field(s) {', '.join(missing)}; the layer has: {have}. "
            f"Rename the columns or map them in the town config ([layers.{layer}] fields)",
            layer=layer,
            field=", ".join(missing),
        )


def _ids(df: pd.DataFrame, id_field: str) -> pd.Series:
    if id_field in df.columns:
        return df[id_field].astype("object").where(df[id_field].notna(), "(无编号 no id)")
    return pd.Series([f"#{i}" for i in range(len(df))], index=df.index, dtype="object")


def _codes(df: pd.DataFrame, fld: str, code_list: str, layer: str, id_field: str) -> pd.Series:
    """Normalise a coded field (English codes or Chinese words); unknown or blank -> FieldError."""
    codes, unknown = normalize_codes(df[fld], code_list)
    blank = codes.isna() & ~unknown
    bad = unknown | blank
    if bad.any():
        ids = _ids(df, id_field)[bad]
        vals = df.loc[bad, fld]
        allowed = ", ".join(f"{c} ({CODE_VALUES[code_list][c][0]})" for c in CODE_VALUES[code_list])
        shown = "; ".join(f"{i}: {v!r}" for i, v in list(zip(ids, vals))[:5])
        raise FieldError(
            f"未知或空的取值 / unknown or blank value(s) in {int(bad.sum())} feature(s) ({shown}); "
            f"expected one of {allowed}. Correct the data or drop these features",
            layer=layer,
            feature_id=ids.iloc[0],
            field=fld,
        )
    return codes


def _dates(df: pd.DataFrame, fld: str, layer: str, id_field: str) -> pd.Series:
    """A date column as midnight timestamps (NaT for blanks); unparseable text -> FieldError."""
    if fld not in df.columns:
        return pd.Series(pd.NaT, index=df.index, dtype="datetime64[ns]")
    s = df[fld]
    if pd.api.types.is_datetime64_any_dtype(s):
        out = s
        if getattr(out.dt, "tz", None) is not None:
            out = out.dt.tz_localize(None)
        return out.dt.normalize().astype("datetime64[ns]")
    obj = s.astype("object")
    blank = obj.isna() | obj.map(lambda v: isinstance(v, str) and v.strip() == "")
    parsed = pd.to_datetime(obj.where(~blank), errors="coerce", format="mixed")
    bad = parsed.isna() & ~blank
    if bad.any():
        ids = _ids(df, id_field)[bad]
        shown = "; ".join(f"{i}: {v!r}" for i, v in list(zip(ids, obj[bad]))[:5])
        raise FieldError(
            f"日期无法解析 / cannot parse {int(bad.sum())} date(s) ({shown}): expected YYYY-MM-DD "
            "(e.g. 2023-06-30) or blank when not done yet",
            layer=layer,
            feature_id=ids.iloc[0],
            field=fld,
        )
    return parsed.dt.normalize().astype("datetime64[ns]")


def _numbers(df: pd.DataFrame, fld: str, layer: str, id_field: str) -> pd.Series:
    """A numeric column as float (NaN for blanks); text that is not a number -> FieldError."""
    if fld not in df.columns:
        return pd.Series(np.nan, index=df.index, dtype="float64")
    s = df[fld]
    if pd.api.types.is_numeric_dtype(s) and not pd.api.types.is_bool_dtype(s):
        return s.astype("float64")
    obj = s.astype("object")
    blank = obj.isna() | obj.map(lambda v: isinstance(v, str) and v.strip() == "")
    parsed = pd.to_numeric(obj.where(~blank), errors="coerce").astype("float64")
    bad = parsed.isna() & ~blank
    if bad.any():
        ids = _ids(df, id_field)[bad]
        shown = "; ".join(f"{i}: {v!r}" for i, v in list(zip(ids, obj[bad]))[:5])
        raise FieldError(
            f"不是数字 / not a number in {int(bad.sum())} feature(s) ({shown})",
            layer=layer,
            feature_id=ids.iloc[0],
            field=fld,
        )
    return parsed


def _bools(df: pd.DataFrame, fld: str) -> pd.Series:
    """A boolean column (validated layers have ``boolean`` dtype); text yes/no spellings accepted."""
    if fld not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="boolean")
    s = df[fld]
    if pd.api.types.is_bool_dtype(s):
        return s.astype("boolean")
    truthy = {"1", "true", "yes", "y", "是", "有", "t", "1.0"}
    falsy = {"0", "false", "no", "n", "否", "无", "f", "0.0"}
    txt = s.astype("object").map(
        lambda v: str(v).strip().lower() if v is not None and v == v else None
    )
    return txt.map(lambda v: True if v in truthy else (False if v in falsy else None)).astype(
        "boolean"
    )


def _village_order(ids: Sequence[str], names: dict[str, str], config: TownConfig) -> list[str]:
    seen = list(dict.fromkeys([*names, *[str(v) for v in ids], *config.targets.villages]))
    return sorted(seen)


def _fmt_date(ts) -> str:
    return "" if ts is None or pd.isna(ts) else pd.Timestamp(ts).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------- afforestation


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
    year = config.town.year
    tol = config.targets.afforestation_area_tolerance
    due = _due(config, "targets.annual_due", config.targets.annual_due)
    frames = [
        _afforestation_frame(g, name, year)
        for name, g in (("afforestation", plots), ("afforestation_points", points))
        if g is not None and len(g)
    ]
    cols = [
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
    if frames:
        f = pd.concat(frames, ignore_index=True)
    else:
        f = pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
        f["planted_date"] = pd.Series(dtype="datetime64[ns]")
        for c in ("layer", "plot_id", "village_id", "kind"):
            f[c] = pd.Series(dtype="object")
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

    names = _names(villages)
    vt = config.targets.villages
    rows: list[dict] = []
    summary: list[dict] = []
    c = f[counted]
    for kind, (unit, attr) in AFFORESTATION_UNITS.items():
        ck = c[c["kind"] == kind]
        for vid in _village_order(f["village_id"], names, config):
            part = ck[ck["village_id"] == vid]
            target = (
                getattr(vt[vid], attr)
                if vid in vt and getattr(vt[vid], attr) is not None
                else np.nan
            )
            done = float(np.nansum(part["done"]))
            rows.append(
                {
                    "village_id": vid,
                    "village_name": names.get(vid, "(不在村图层 not in villages layer)"),
                    "kind": kind,
                    "kind_label": code_label("afforestation_kind", kind),
                    "unit": unit,
                    "plots": len(part),
                    "done": done,
                    "trees": float(np.nansum(part["trees"])),
                    "measured_area_mu": float(np.nansum(part["measured_area_mu"])),
                    "declared_area_mu": float(np.nansum(part["declared_area_mu"])),
                    "target": target,
                    "target_level": "村 village" if np.isfinite(target) else "",
                    "share_pct": _share_pct(done, target),
                    "status": _annual_status(done, target, due, as_of)
                    if np.isfinite(target)
                    else "town_target_only",
                    "issues": int((part["issue"] != "").sum()),
                }
            )
        target = float(getattr(config.targets.afforestation, attr))
        done = float(np.nansum(ck["done"]))
        status = _annual_status(done, target, due, as_of)
        rows.append(
            {
                "village_id": TOTAL_ID,
                "village_name": "",
                "kind": kind,
                "kind_label": code_label("afforestation_kind", kind),
                "unit": unit,
                "plots": len(ck),
                "done": done,
                "trees": float(np.nansum(ck["trees"])),
                "measured_area_mu": float(np.nansum(ck["measured_area_mu"])),
                "declared_area_mu": float(np.nansum(ck["declared_area_mu"])),
                "target": target,
                "target_level": "镇 town",
                "share_pct": _share_pct(done, target),
                "status": status,
                "issues": int((ck["issue"] != "").sum()),
            }
        )
        n_issue = int((ck["issue"] != "").sum())
        summary.append(
            {
                "topic": "林长制 afforestation",
                "item": f"{code_label('afforestation_kind', kind)} {kind}",
                "unit": unit,
                "done": done,
                "target": target,
                "share_pct": _share_pct(done, target),
                "due_date": _fmt_date(due),
                "status": status,
                "note": f"{n_issue} 个地块有问题 plots with issues (see afforestation_plots)"
                if n_issue
                else "",
            }
        )
    table = pd.DataFrame(rows)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    issues = f[f["issue"] != ""].copy()
    issues["village_name"] = issues["village_id"].map(lambda v: names.get(v, ""))
    issues["kind_label"] = issues["kind"].map(lambda k: code_label("afforestation_kind", k))
    issues = issues[
        [
            "layer",
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
    return TopicProgress(
        "afforestation",
        "林长制 造林绿化 afforestation",
        table,
        _summary(summary),
        {"afforestation_plots": issues},
    )


# --------------------------------------------------------------------------- resettlement


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


def resettlement_progress(
    households: gpd.GeoDataFrame | pd.DataFrame,
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
    villages: pd.DataFrame | None = None,
    reclamation: gpd.GeoDataFrame | None = None,
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

    Returns
    -------
    TopicProgress
        ``table``: per cohort, one row per group (合计 total, each destination,
        each village) and stage: ``households``, ``done``, ``flagged``,
        ``share_pct``, ``due_date``, ``required_pct``, ``next_date``,
        ``next_required_pct``, ``status``. ``details["resettlement_households"]``:
        every household with its dates, ``overdue`` stages (a milestone
        requiring 100 % is due and the household has not reached the stage),
        ``pending`` stages (not reached while the cohort as a whole is behind
        a partial milestone, e.g. 70 % moved in: the households to work on),
        ``order_issue`` and ``behind`` (True when anything is overdue).
        ``details["reclamation"]``: reclaimed plots and mu per cohort and village.

    Raises
    ------
    FieldError
        Missing fields, an unknown destination, unparseable dates.
    ConfigError
        A milestone with an unknown stage or an unparseable date.
    """
    as_of = parse_as_of(as_of)
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
    dates = {s: _dates(households, s, layer, "household_id").to_numpy() for s in STAGES}
    for s in STAGES:
        hh[s] = dates[s]
    reached_raw = {s: ~pd.isna(dates[s]) & (dates[s] <= as_of.to_datetime64()) for s in STAGES}
    flagged: dict[str, np.ndarray] = {}
    issues = [[] for _ in range(len(hh))]
    for s in STAGES:
        bad = np.zeros(len(hh), dtype=bool)
        for p in STAGE_PREREQUISITES.get(s, ()):
            no_p = reached_raw[s] & ~reached_raw[p]
            early = reached_raw[s] & reached_raw[p] & (dates[s] < dates[p])
            for i in np.flatnonzero(no_p):
                issues[i].append(
                    f"{_STAGE_LABELS[s]}({_fmt_date(dates[s][i])})但无{_STAGE_LABELS[p]} / {s} without {p}"
                )
            for i in np.flatnonzero(early):
                issues[i].append(
                    f"{_STAGE_LABELS[s]}({_fmt_date(dates[s][i])})早于{_STAGE_LABELS[p]}({_fmt_date(dates[p][i])}) / {s} before {p}"
                )
            bad |= no_p | early
        flagged[s] = bad
    reached = {s: reached_raw[s] & ~flagged[s] for s in STAGES}
    hh["order_issue"] = ["; ".join(x) for x in issues]
    names = _names(villages)
    hh["village_name"] = hh["village_id"].map(lambda v: names.get(v, ""))

    planned = config.targets.resettlement_households
    rows: list[dict] = []
    summary: list[dict] = []
    overdue = [[] for _ in range(len(hh))]
    pending = [[] for _ in range(len(hh))]
    ms = _milestones(config)
    cohorts = hh["cohort"].to_numpy()
    dests = hh["destination"].to_numpy(dtype=object)
    vils = hh["village_id"].to_numpy(dtype=object)
    for coh in sorted(set(cohorts.tolist())):
        in_c = cohorts == coh
        due = {r["stage"]: r for r in _due_records(ms, as_of, int(coh))}
        groups: list[tuple[str, str, str, np.ndarray]] = [("合计 total", TOTAL_ID, "", in_c)]
        for d in sorted(set(dests[in_c].tolist())):
            groups.append(("安置方式 destination", "", d, in_c & (dests == d)))
        for v in sorted(set(vils[in_c].tolist())):
            groups.append(("村 village", v, "", in_c & (vils == v)))
        for s, dr in due.items():
            req = float(dr["required_share"])
            for scope, vid, dest, m in groups:
                n = int(m.sum())
                note = ""
                if (
                    scope.startswith("合计")
                    and coh == plan_year
                    and planned is not None
                    and planned != n
                ):
                    note = f"计划 {planned} 户, 数据 {n} 户 / planned {planned} households, {n} in the data"
                    n = max(n, planned)
                done = int(reached[s][m].sum())
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
                        "households": n,
                        "done": done,
                        "flagged": int(flagged[s][m].sum()),
                        "share_pct": 100.0 * done / n if n else np.nan,
                        "due_date": dr["due_date"],
                        "required_pct": 100.0 * req,
                        "next_date": dr["next_date"],
                        "next_required_pct": 100.0 * float(dr["next_share"]),
                        "status": status,
                        "note": note,
                    }
                )
                if scope.startswith("合计"):
                    total_behind = status == "behind"
                    summary.append(
                        {
                            "topic": "避险搬迁 resettlement",
                            "item": f"{_STAGE_LABELS[s]} {s} ({coh}年度 cohort)",
                            "unit": "户 households",
                            "done": float(done),
                            "target": float(np.ceil(req * n - 1e-9)) if req > 0 else np.nan,
                            "share_pct": 100.0 * done / n if n else np.nan,
                            "due_date": _fmt_date(dr["due_date"]),
                            "status": status,
                            "note": "; ".join(
                                x
                                for x in (
                                    note,
                                    f"{int(flagged[s][m].sum())} 户日期顺序异常 out of order"
                                    if flagged[s][m].any()
                                    else "",
                                )
                                if x
                            ),
                        }
                    )
                    not_done = m & ~reached[s]
                    for i in np.flatnonzero(not_done):
                        if req >= 1.0 - 1e-9:
                            overdue[i].append(_STAGE_LABELS[s])
                        elif total_behind:
                            pending[i].append(_STAGE_LABELS[s])
    table = pd.DataFrame(rows)
    if len(table):
        table["status_label"] = table["status"].map(STATUS_LABELS)
    hh["overdue"] = ["、".join(x) for x in overdue]
    hh["pending"] = ["、".join(x) for x in pending]
    hh["behind"] = hh["overdue"] != ""
    hh["destination_label"] = hh["destination"].map(lambda d: code_label("destination", d))
    hh["cohort_note"] = np.where(
        hh["cohort_missing"], f"搬迁年度缺失，按 {plan_year} / cohort blank: plan year assumed", ""
    )
    hh_out = (
        hh[
            [
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
            ]
        ]
        .sort_values(["cohort", "village_id", "household_id"], kind="stable")
        .reset_index(drop=True)
    )
    details = {"resettlement_households": hh_out}

    if reclamation is not None and len(reclamation):
        rec = _reclamation(reclamation, hh, as_of, names)
        details["reclamation"] = rec
        tot = rec[rec["village_id"] == TOTAL_ID]
        for r in tot.itertuples():
            summary.append(
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
            )
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


# --------------------------------------------------------------------------- high-standard farmland


def high_standard_progress(
    farmland: gpd.GeoDataFrame,
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
    villages: pd.DataFrame | None = None,
) -> TopicProgress:
    """High-standard farmland (高标准农田): measured area per project against ``targets.high_standard``.

    Parcels carry their project in ``project`` (blank: none). A project in the
    data but not in the config gets a row marked ``no_target``; a project in
    the config with no parcels gets a row with 0 mu (behind once due).

    Returns
    -------
    TopicProgress
        ``table``: per project ``villages``, ``parcels``, ``area_mu``
        (ellipsoidal), ``declared_area_mu``, ``target_mu``, ``share_pct``,
        ``status``; last row 合计 (projects with a target).
    """
    as_of = parse_as_of(as_of)
    due = _due(config, "targets.annual_due", config.targets.annual_due)
    targets = config.targets.high_standard
    names = _names(villages)
    rows: list[dict] = []
    if "project" in farmland.columns:
        proj = farmland["project"].astype("object")
        has = proj.notna() & (proj.astype(str).str.strip() != "")
        part = farmland[has.to_numpy()]
        f = pd.DataFrame(
            {
                "project": part["project"].astype(str).str.strip().to_numpy(),
                "village_id": part["village_id"].astype(str).to_numpy()
                if "village_id" in part.columns
                else "",
                "area_mu": m2_to_mu(area_m2(part, layer="farmland")) if len(part) else np.zeros(0),
                "declared_area_mu": _numbers(
                    part, "declared_area_mu", "farmland", "parcel_id"
                ).to_numpy(),
            }
        )
    else:
        f = pd.DataFrame(columns=["project", "village_id", "area_mu", "declared_area_mu"])
    projects = sorted(set(f["project"]) | set(targets))
    for p in projects:
        g = f[f["project"] == p]
        target = float(targets[p]) if p in targets else np.nan
        done = float(g["area_mu"].sum())
        vids = sorted(set(g["village_id"]))
        status = _annual_status(done, target, due, as_of)
        note = ""
        if p not in targets:
            note = (
                "配置中无此项目的计划面积 / no planned mu for this project in targets.high_standard"
            )
        elif not len(g):
            note = "数据中无此项目的地块 / no parcels of this project in the farmland layer"
        rows.append(
            {
                "project": p,
                "villages": "、".join(names.get(v, v) for v in vids),
                "parcels": len(g),
                "area_mu": done,
                "declared_area_mu": float(g["declared_area_mu"].sum(min_count=1))
                if len(g)
                else np.nan,
                "target_mu": target,
                "share_pct": _share_pct(done, target),
                "status": status,
                "note": note,
            }
        )
    with_target = [r for r in rows if np.isfinite(r["target_mu"])]
    if with_target:
        done = float(sum(r["area_mu"] for r in with_target))
        target = float(sum(r["target_mu"] for r in with_target))
        rows.append(
            {
                "project": TOTAL_ID,
                "villages": "",
                "parcels": int(sum(r["parcels"] for r in with_target)),
                "area_mu": done,
                "declared_area_mu": float(np.nansum([r["declared_area_mu"] for r in with_target])),
                "target_mu": target,
                "share_pct": _share_pct(done, target),
                "status": _annual_status(done, target, due, as_of),
                "note": "有计划面积的项目 projects with a planned area",
            }
        )
    cols = [
        "project",
        "villages",
        "parcels",
        "area_mu",
        "declared_area_mu",
        "target_mu",
        "share_pct",
        "status",
        "note",
    ]
    table = pd.DataFrame(rows, columns=cols)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    summary = [
        {
            "topic": "高标准农田 high-standard farmland",
            "item": r["project"],
            "unit": "亩 mu",
            "done": r["area_mu"],
            "target": r["target_mu"],
            "share_pct": r["share_pct"],
            "due_date": _fmt_date(due),
            "status": r["status"],
            "note": r["note"],
        }
        for r in rows
    ]
    if not rows:
        summary.append(
            {
                "topic": "高标准农田 high-standard farmland",
                "item": "(无项目 no projects)",
                "unit": "亩 mu",
                "done": np.nan,
                "target": np.nan,
                "share_pct": np.nan,
                "due_date": _fmt_date(due),
                "status": "no_data",
                "note": "耕地无 project 字段值且配置无 targets.high_standard / no project in the data or the config",
            }
        )
    return TopicProgress(
        "high_standard", "高标准农田 high-standard farmland", table, _summary(summary)
    )


# --------------------------------------------------------------------------- demonstration belts


def zone_progress(
    farmland: gpd.GeoDataFrame,
    zones: gpd.GeoDataFrame,
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
) -> TopicProgress:
    """Demonstration belts (一川两线三流域): farmland inside each zone against ``planned_demo_mu``.

    Parcels crossing a zone boundary are split by true intersection
    (:func:`gis_town.analysis.overlay.area_by_zone`). The belt's built area
    is the film-mulched farmland (全膜双垄沟播, ``film_mulch``) inside the zone;
    without a ``film_mulch`` field, all farmland inside (marked in ``note``).
    Totals are per zone and per kind (one 合计 row per kind, a union so
    overlapping zones of one kind never count twice), never across kinds.

    Returns
    -------
    TopicProgress
        ``table``: ``kind``, ``kind_label``, ``zone_id``, ``name``,
        ``parcels``, ``area_mu`` (all statuses), ``cultivated_mu``,
        ``abandoned_mu``, ``fallow_mu``, ``film_mu``, ``planned_demo_mu``,
        ``share_pct`` (film / planned), ``status``, ``note``.

    Raises
    ------
    FieldError
        Missing fields, an unknown zone kind, a non-numeric ``planned_demo_mu``.
    """
    as_of = parse_as_of(as_of)
    due = _due(config, "targets.annual_due", config.targets.annual_due)
    _require(zones, ("zone_id", "kind"), "zones")
    _require(farmland, ("parcel_id",), "farmland")
    z = zones.copy()
    z["kind"] = _codes(zones, "kind", "zone_kind", "zones", "zone_id").to_numpy()
    z["planned_demo_mu"] = _numbers(zones, "planned_demo_mu", "zones", "zone_id").to_numpy()
    if "name" not in z.columns:
        z["name"] = ""
    fl = farmland.copy()
    has_film = "film_mulch" in fl.columns
    fl["film_mulch"] = (
        _bools(farmland, "film_mulch").fillna(False).to_numpy(dtype=bool) if has_film else True
    )
    fl["status"] = (
        normalize_codes(farmland["status"], "status")[0].to_numpy()
        if "status" in farmland.columns
        else None
    )
    pcols = ["parcel_id", "status", "film_mulch"]
    pieces = area_by_zone(
        fl, z, parcel_columns=pcols, zone_columns=["zone_id", "kind", "name", "planned_demo_mu"]
    )
    rows: list[dict] = []
    film_note = (
        ""
        if has_film
        else "耕地无 film_mulch 字段: 按全部耕地计 / no film_mulch field: all farmland counted"
    )

    def row(kind, zid, name, part_area, part_status, part_film, n_parcels, planned, note):
        film_mu = float(m2_to_mu(np.sum(part_area[part_film])))
        return {
            "kind": kind,
            "kind_label": code_label("zone_kind", kind),
            "zone_id": zid,
            "name": name,
            "parcels": int(n_parcels),
            "area_mu": float(m2_to_mu(part_area.sum())),
            "cultivated_mu": float(m2_to_mu(part_area[part_status == "cultivated"].sum())),
            "abandoned_mu": float(m2_to_mu(part_area[part_status == "abandoned"].sum())),
            "fallow_mu": float(m2_to_mu(part_area[part_status == "fallow"].sum())),
            "film_mu": film_mu,
            "planned_demo_mu": planned,
            "share_pct": _share_pct(film_mu, planned),
            "status": _annual_status(film_mu, planned, due, as_of),
            "note": note,
        }

    kinds = [k for k in CODE_VALUES["zone_kind"] if (z["kind"] == k).any()]
    for kind in kinds:
        zk = z[(z["kind"] == kind).to_numpy()]
        for zr in zk.sort_values("zone_id").itertuples():
            p = pieces[pieces["zone_id"] == zr.zone_id]
            planned = float(zr.planned_demo_mu)
            note = "; ".join(
                x
                for x in (
                    film_note,
                    "" if np.isfinite(planned) else "分区无计划示范面积 planned_demo_mu blank",
                )
                if x
            )
            rows.append(
                row(
                    kind,
                    zr.zone_id,
                    zr.name,
                    p["area_m2"].to_numpy(),
                    p["status"].to_numpy(),
                    p["film_mulch"].to_numpy(dtype=bool),
                    p["parcel_row"].nunique(),
                    planned,
                    note,
                )
            )
        io = inside_outside(fl, zk, parcel_columns=["status", "film_mulch"], zones_layer="zones")
        io = io[io["inside_m2"] > 0]
        planned = float(zk["planned_demo_mu"].sum(min_count=1))
        if zk["planned_demo_mu"].isna().any():
            planned = np.nan
        rows.append(
            row(
                kind,
                TOTAL_ID,
                f"合计({code_label('zone_kind', kind)})",
                io["inside_m2"].to_numpy(),
                io["status"].to_numpy(),
                io["film_mulch"].to_numpy(dtype=bool),
                len(io),
                planned,
                "; ".join(
                    x for x in (film_note, "本类分区合计(不跨类相加) total of this kind only") if x
                ),
            )
        )
    cols = [
        "kind",
        "kind_label",
        "zone_id",
        "name",
        "parcels",
        "area_mu",
        "cultivated_mu",
        "abandoned_mu",
        "fallow_mu",
        "film_mu",
        "planned_demo_mu",
        "share_pct",
        "status",
        "note",
    ]
    table = pd.DataFrame(rows, columns=cols)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    summary = [
        {
            "topic": "示范片带 demonstration belts",
            "item": f"{r['kind_label']} {r['name']}",
            "unit": "亩 mu (覆膜 film)",
            "done": r["film_mu"],
            "target": r["planned_demo_mu"],
            "share_pct": r["share_pct"],
            "due_date": _fmt_date(due),
            "status": r["status"],
            "note": r["note"],
        }
        for r in rows
        if r["zone_id"] != TOTAL_ID
    ]
    return TopicProgress(
        "zones", "一川两线三流域 示范片带 demonstration belts", table, _summary(summary)
    )


# --------------------------------------------------------------------------- roads


def road_progress(
    roads: gpd.GeoDataFrame,
    *,
    config: TownConfig,
    as_of: str | dt.date | pd.Timestamp,
    villages: gpd.GeoDataFrame | None = None,
    gk_crs=None,
) -> TopicProgress:
    """Village roads hardened in the plan year (村组道路硬化), km against ``targets.road_hardened_km``.

    A road counts when ``hardened_year`` is the plan year and ``hardened`` is
    not false. Lengths are measured in the Gauss-Kruger zone (``gk_crs``,
    picked from the data when omitted). With villages, each road is split by
    the village boundaries (per-village km against ``targets.villages``).

    Returns
    -------
    TopicProgress
        ``table``: per village ``roads``, ``hardened_km``, ``target_km``,
        ``share_pct``, ``status``; last row 合计 against the town target.
    """
    as_of = parse_as_of(as_of)
    year = config.town.year
    due = _due(config, "targets.annual_due", config.targets.annual_due)
    notes = []
    if "hardened_year" not in roads.columns:
        notes.append(
            "道路无 hardened_year 字段 / roads have no hardened_year field: nothing counted"
        )
    hy = _numbers(roads, "hardened_year", "roads", "road_id")
    hard = _bools(roads, "hardened")
    this_year = (hy == year).to_numpy(dtype=bool) & ~hard.eq(False).fillna(False).to_numpy(
        dtype=bool
    )
    no_year = hard.eq(True).fillna(False).to_numpy(dtype=bool) & hy.isna().to_numpy(dtype=bool)
    if no_year.any():
        notes.append(
            f"{int(no_year.sum())} 条已硬化道路缺硬化年度, 未计入 / hardened roads without hardened_year: not counted"
        )
    sel = roads[this_year]
    gk = project_to_gk(sel, crs=gk_crs, layer="roads") if len(sel) else sel
    names = _names(villages)
    vt = config.targets.villages
    per_v: dict[str, float] = {}
    n_v: dict[str, int] = {}
    if villages is not None and len(villages) and len(gk):
        vg = project_to_gk(villages, crs=gk.crs, layer="villages")
        rg = np.asarray(gk.geometry.values, dtype=object)
        vgeo = np.asarray(vg.geometry.values, dtype=object)
        r_idx, v_idx = shapely.STRtree(rg).query(vgeo, predicate="intersects")[::-1]
        lens = shapely.length(shapely.intersection(rg[r_idx], vgeo[v_idx]))
        vids = vg["village_id"].astype(str).to_numpy()[v_idx]
        for vid, ln in zip(vids, lens):
            if ln > 0:
                per_v[vid] = per_v.get(vid, 0.0) + ln / 1000.0
        for vid in set(vids):
            n_v[vid] = len(set(r_idx[vids == vid]))
        total_km = float(shapely.length(rg).sum() / 1000.0)
        outside = total_km - sum(per_v.values())
        if outside > 1e-6:
            per_v["(村界外 outside villages)"] = outside
    else:
        total_km = float(gk.length.sum() / 1000.0) if len(gk) else 0.0
    rows = []
    for vid in sorted(
        set(per_v) | set(names) | {v for v in vt if vt[v].road_hardened_km is not None}
    ):
        target = (
            vt[vid].road_hardened_km
            if vid in vt and vt[vid].road_hardened_km is not None
            else np.nan
        )
        done = per_v.get(vid, 0.0)
        rows.append(
            {
                "village_id": vid,
                "village_name": names.get(vid, ""),
                "roads": n_v.get(vid, 0),
                "hardened_km": done,
                "target_km": target,
                "share_pct": _share_pct(done, target),
                "status": _annual_status(done, target, due, as_of)
                if np.isfinite(target)
                else "town_target_only",
                "note": "",
            }
        )
    target = float(config.targets.road_hardened_km)
    status = _annual_status(total_km, target, due, as_of)
    note = "; ".join(notes)
    rows.append(
        {
            "village_id": TOTAL_ID,
            "village_name": "",
            "roads": len(sel),
            "hardened_km": total_km,
            "target_km": target,
            "share_pct": _share_pct(total_km, target),
            "status": status,
            "note": note,
        }
    )
    table = pd.DataFrame(rows)
    table["status_label"] = table["status"].map(STATUS_LABELS)
    summary = [
        {
            "topic": "村组道路硬化 road hardening",
            "item": f"硬化 hardened in {year}",
            "unit": "公里 km",
            "done": total_km,
            "target": target,
            "share_pct": _share_pct(total_km, target),
            "due_date": _fmt_date(due),
            "status": status,
            "note": note,
        }
    ]
    return TopicProgress("roads", "村组道路硬化 road hardening", table, _summary(summary))


# --------------------------------------------------------------------------- collective economy


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


# --------------------------------------------------------------------------- all topics


def _missing_topic(topic: str, label: str, layers: str) -> TopicProgress:
    summary = _summary(
        [
            {
                "topic": label,
                "item": "",
                "unit": "",
                "done": np.nan,
                "target": np.nan,
                "share_pct": np.nan,
                "due_date": "",
                "status": "no_data",
                "note": f"缺少图层 / missing layer(s): {layers}",
            }
        ]
    )
    return TopicProgress(topic, label, pd.DataFrame(), summary)


def plan_progress(town, as_of: str | dt.date | pd.Timestamp) -> dict[str, TopicProgress]:
    """Run every topic the town has layers for; a topic without its layers gets a ``no_data`` summary row.

    Parameters
    ----------
    town : gis_town.io.Town
        A loaded town (validated layers and config).
    as_of : date or "YYYY-MM-DD"

    Returns
    -------
    dict of str -> TopicProgress
        Keys ``afforestation``, ``resettlement``, ``high_standard``, ``zones``,
        ``roads``, ``collective``, in that order.
    """
    as_of = parse_as_of(as_of)
    cfg = town.config
    L = town.layers
    villages = L.get("villages")
    out: dict[str, TopicProgress] = {}
    if "afforestation" in L or "afforestation_points" in L:
        out["afforestation"] = afforestation_progress(
            L.get("afforestation"),
            points=L.get("afforestation_points"),
            config=cfg,
            as_of=as_of,
            villages=villages,
        )
    else:
        out["afforestation"] = _missing_topic(
            "afforestation", "林长制 afforestation", "afforestation"
        )
    if "resettlement" in L:
        out["resettlement"] = resettlement_progress(
            L["resettlement"],
            config=cfg,
            as_of=as_of,
            villages=villages,
            reclamation=L.get("reclamation"),
        )
    else:
        out["resettlement"] = _missing_topic(
            "resettlement", "避险搬迁 resettlement", "resettlement"
        )
    if "farmland" in L:
        out["high_standard"] = high_standard_progress(
            L["farmland"], config=cfg, as_of=as_of, villages=villages
        )
    else:
        out["high_standard"] = _missing_topic(
            "high_standard", "高标准农田 high-standard farmland", "farmland"
        )
    if "farmland" in L and "zones" in L:
        out["zones"] = zone_progress(L["farmland"], L["zones"], config=cfg, as_of=as_of)
    else:
        out["zones"] = _missing_topic("zones", "示范片带 demonstration belts", "farmland, zones")
    if "roads" in L:
        out["roads"] = road_progress(
            L["roads"], config=cfg, as_of=as_of, villages=villages, gk_crs=town.gk_crs
        )
    else:
        out["roads"] = _missing_topic("roads", "村组道路硬化 road hardening", "roads")
    if villages is not None:
        out["collective"] = collective_progress(villages, config=cfg, as_of=as_of)
    else:
        out["collective"] = _missing_topic(
            "collective", "村集体经济 collective economy", "villages"
        )
    return out


def summary_table(results: dict[str, TopicProgress] | Sequence[TopicProgress]) -> pd.DataFrame:
    """The summary across topics: one row per item with done, target, share, due date and status."""
    items = results.values() if isinstance(results, dict) else results
    frames = [r.summary for r in items if r.summary is not None and len(r.summary)]
    if not frames:
        return pd.DataFrame(columns=list(SUMMARY_COLUMNS))
    return pd.concat(frames, ignore_index=True)[list(SUMMARY_COLUMNS)]
