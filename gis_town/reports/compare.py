"""Comparison reports (两期调查对比): headers, labels and sheets of a :class:`~gis_town.runners.compare.CompareResult`.

The analysis (:mod:`gis_town.analysis.compare`) returns codes and numbers;
this module says how they are shown: the Chinese words of the change classes
(:data:`CHANGE_LABELS`, :data:`GEOMETRY_LABELS`), the columns of
``changes.csv`` (:data:`CHANGES_COLUMNS`), the headers ``中文 english`` of the
workbook, and its sheets (:func:`changes_sheets`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from gis_town.analysis.compare import CHANGE_CLASSES
from gis_town.schema import CODE_VALUES, code_label

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.compare import CompareResult

__all__ = [
    "CHANGES_COLUMNS",
    "CHANGE_CLASSES",
    "CHANGE_LABELS",
    "COLUMN_LABELS",
    "GEOMETRY_LABELS",
    "STATUS_LABELS",
    "balance_lines",
    "balance_text",
    "changes_sheets",
    "LAND_CLASS_COLUMNS",
    "changes_columns",
    "changes_table",
    "labelled",
    "visit_frame",
]

#: Chinese words of the change classes.
CHANGE_LABELS: dict[str, str] = {
    "unchanged": "未变化",
    "newly_abandoned": "新增撂荒",
    "recultivated": "已复耕",
    "still_abandoned": "持续撂荒",
    "other_status_change": "其他状态变化",
    "lost": "耕地减少(非农化/非粮化)",
    "new": "新增耕地",
}
#: Chinese words of the geometry changes.
GEOMETRY_LABELS: dict[str, str] = {
    "same": "未变", "split": "分割", "merged": "合并", "reshaped": "边界调整",
}
#: Chinese words of the status codes (the schema's vocabulary, as every report says them).
STATUS_LABELS: dict[str, str] = {code: code_label("status", code) for code in CODE_VALUES["status"]}
_STATUS_ZH = STATUS_LABELS

#: Visit-list columns the comparison has no values for (left out of its list).
_NOT_COMPARED = frozenset({"score", "risk_class_zh", "top_factor_zh", "last_visit_date", "last_outcome_zh"})

#: Columns of changes.csv, in order.
CHANGES_COLUMNS: tuple[str, ...] = (
    "old_parcel_id", "new_parcel_id", "village_id", "old_status", "new_status", "change",
    "geometry_change", "area_mu", "old_area_mu", "new_area_mu",
)

#: Output column -> Chinese label.
COLUMN_LABELS: dict[str, str] = {
    "old_parcel_id": "上期地块编码", "new_parcel_id": "本期地块编码", "village_id": "村代码",
    "village_name": "村名", "old_status": "上期耕种状态代码", "new_status": "本期耕种状态代码",
    "old_status_zh": "上期耕种状态", "new_status_zh": "本期耕种状态",
    "change": "变化类型代码", "change_zh": "变化类型", "geometry_change": "图形变化代码",
    "geometry_change_zh": "图形变化", "area_mu": "面积(亩)", "old_area_mu": "上期地块面积(亩)",
    "new_area_mu": "本期地块面积(亩)", "total_mu": "合计(亩)", "pieces": "图斑数",
    "new_land_class": "本期地类编码", "new_land_class_name": "本期地类名称",
    "survey": "调查期", "path": "文件", "data_date": "数据日期", "parcels": "地块数",
    **{f"{c}_mu": f"{CHANGE_LABELS[c]}(亩)" for c in CHANGE_CLASSES},
}


def labelled(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each known header as ``中文 english``."""
    return df.rename(columns={c: f"{COLUMN_LABELS[c]} {c}" for c in df.columns if c in COLUMN_LABELS})


#: Columns after :data:`CHANGES_COLUMNS` when the NEW survey is a 三调 database.
LAND_CLASS_COLUMNS: tuple[str, ...] = ("new_land_class", "new_land_class_name")


def changes_columns(pieces: pd.DataFrame) -> list[str]:
    """The columns of changes.csv for ``pieces``: :data:`CHANGES_COLUMNS` (and the new land class)."""
    return [*CHANGES_COLUMNS, *(c for c in LAND_CLASS_COLUMNS if c in pieces.columns)]


def changes_table(pieces: pd.DataFrame) -> pd.DataFrame:
    """The rows of changes.csv (:func:`changes_columns`), areas rounded to 4 decimals of a mu."""
    df = pd.DataFrame(pieces[changes_columns(pieces)]).copy()
    for c in ("area_mu", "old_area_mu", "new_area_mu"):
        df[c] = df[c].astype("float64").round(4)
    return df


def _officials(pieces: pd.DataFrame) -> pd.DataFrame:
    """The pieces for the workbook: Chinese words beside each code."""
    df = changes_table(pieces)
    for side in ("old", "new"):
        df.insert(df.columns.get_loc(f"{side}_status") + 1, f"{side}_status_zh",
                  df[f"{side}_status"].map(lambda s: _STATUS_ZH.get(s, s) if isinstance(s, str) else s))
    df.insert(df.columns.get_loc("change"), "change_zh", df["change"].map(CHANGE_LABELS))
    df.insert(df.columns.get_loc("geometry_change"), "geometry_change_zh",
              df["geometry_change"].map(GEOMETRY_LABELS))
    return df


def balance_lines(result: CompareResult) -> list[str]:
    """Two lines reconciling the pieces with each survey's total (mu): overlap + lost (new) + slivers."""
    p = result.pieces
    both = float(p.loc[p["old_parcel_id"].notna() & p["new_parcel_id"].notna(), "area_mu"].sum())
    lost = float(p.loc[p["change"] == "lost", "area_mu"].sum())
    new = float(p.loc[p["change"] == "new", "area_mu"].sum())
    return [
        f"上期 old {result.old_mu:,.2f} 亩 = 两期重叠 overlap {both:,.2f} + 减少 lost {lost:,.2f}"
        f" + 细碎 slivers {result.old_mu - both - lost:,.2f}",
        f"本期 new {result.new_mu:,.2f} 亩 = 两期重叠 overlap {both:,.2f} + 新增 new {new:,.2f}"
        f" + 细碎 slivers {result.new_mu - both - new:,.2f}",
    ]


def balance_text(result: CompareResult) -> str:
    """:func:`balance_lines` on one line."""
    return "; ".join(balance_lines(result))


def visit_frame(result: CompareResult) -> pd.DataFrame:
    """The newly abandoned parcels in the visit list's columns (those of ``gis-town risk``).

    The columns of the printed visit list
    (:data:`gis_town.reports.risk.VISIT_PRINT_COLUMNS`) are there, the empty
    ones the cadres fill among them, so the list prints, and comes back from
    the cadres, like the risk command's; the risk score, class, factor and
    the last visit, which the comparison does not have, are left out.
    """
    from gis_town.reports.risk import VISIT_PRINT_COLUMNS

    na = result.newly_abandoned
    df = pd.DataFrame(na.drop(columns=na.geometry.name)).copy()
    df["risk_class"] = ""  # no risk class: the KML's default marker
    for c in VISIT_PRINT_COLUMNS:
        if c not in df.columns and c not in _NOT_COMPARED:  # empty, of the column's kind
            df[c] = pd.NaT if c.endswith("_date") else ""
    return df


def changes_sheets(result: CompareResult) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The sheets of changes.xlsx and their titles: changes, by village, newly abandoned, the surveys."""
    from gis_town.io.export import VISIT_HEADERS

    visits = visit_frame(result)
    visits["status"] = visits["status"].map(lambda s: _STATUS_ZH.get(s, s) if isinstance(s, str) else s)
    heads = {**VISIT_HEADERS, "old_parcel_id": "上期地块编码 old_parcel_id",
             "area_mu": "新增撂荒面积(亩) newly_abandoned_mu", "listed_date": "清单日期 listed_date"}
    cols = [c for c in heads if c in visits.columns and c != "visit_note"] + ["old_parcel_id"]
    cols = list(dict.fromkeys([*cols, *(["visit_note"] if "visit_note" in visits.columns else [])]))
    sheets = {
        "变化明细 changes": labelled(_officials(result.pieces)),
        "各村汇总 by village": labelled(result.villages),
        "新增撂荒 newly abandoned": visits[cols].rename(columns=heads),
        "两期调查 surveys": labelled(result.surveys()),
    }
    titles = {
        "变化明细 changes": "两期耕地调查对比明细 / changes between the two surveys (one row per piece)",
        "各村汇总 by village": "各村变化汇总(亩，强制调平) / change by village and class (mu, balanced); "
        + balance_text(result),
        "新增撂荒 newly abandoned": "新增撂荒地块走访清单 / newly abandoned parcels to visit "
        f"(清单日期 listed {result.listed:%Y-%m-%d})",
        "两期调查 surveys": "对比的两期调查 / the two surveys compared; "
        f"细碎重叠阈值 sliver threshold {result.sliver_share:.0%} / {result.sliver_min_m2:g} m²",
    }
    return sheets, titles
