"""Risk reports (撂荒风险): headers, column orders and tables of a :class:`~gis_town.runners.risk.RiskResult`.

The analysis (:mod:`gis_town.analysis.risk`) returns the numbers; this module
says how they are shown: the Chinese headers (:data:`COLUMN_LABELS`), the
column order of ``risk.csv`` (:func:`risk_csv_columns`), the visit list's
columns for print, phones and the map (all from the one definition
:data:`VISIT_COLUMNS`), and the labelled tables the CLI prints. The CLI, the
risk map and the demo take them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from gis_town.analysis.risk.factors import FACTORS
from gis_town.analysis.risk.lists import VISIT_COLUMNS
from gis_town.analysis.risk.score import RISK_CLASS_LABELS
from gis_town.analysis.visits import FILL_COLUMNS
from gis_town.config import RISK_FACTORS
from gis_town.schema import FIELD_LABELS

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "CLASS_NAMES",
    "COLUMN_LABELS",
    "MAP_FACTORS",
    "PARCEL_MAP_FIELDS",
    "RISK_CLASS_LABELS",
    "RISK_CSV_BACK",
    "RISK_CSV_FRONT",
    "RISK_CSV_VISITS",
    "VISIT_COLUMNS",
    "VISIT_HEADERS",
    "VISIT_MAP_FIELDS",
    "VISIT_PRINT_COLUMNS",
    "labelled",
    "risk_csv_columns",
    "weights_text",
]

#: Output columns of the risk analysis -> Chinese labels (report headers, map popups).
COLUMN_LABELS: dict[str, str] = {
    **{k: f.label + (f"({f.unit})" if f.unit else "") for k, f in FACTORS.items()},
    "perimeter_m": "周长(m)",
    "score": "风险分(0-100)",
    "risk_class": "风险等级",
    "risk_class_zh": "风险等级",
    "top_factor": "主要因素",
    "top_factor_zh": "主要因素",
    "reason": "原因",
    "missing_factors": "缺少的因素",
    "score_note": "说明",
    "dem_flag": "DEM覆盖",
    "dem_note": "DEM说明",
    "ndvi_flag": "NDVI覆盖",
    "ndvi_note": "NDVI说明",
    "village_name": "村名",
    "rank": "序号",
    "lon": "经度",
    "lat": "纬度",
    "high_parcels": "高风险地块数",
    "high_mu": "高风险面积(亩)",
    "medium_parcels": "中风险地块数",
    "medium_mu": "中风险面积(亩)",
    "score_mean": "平均风险分",
    "abandoned_parcels": "已撂荒地块数",
    "abandoned_mu": "已撂荒面积(亩)",
    "last_visit_date": "上次走访日期",
    "last_outcome": "上次走访结果代码",
    "last_outcome_zh": "上次走访结果",
    "last_planned_date": "计划复耕日期",
    "visits": "走访次数",
}

#: Legend names of the risk classes (``高风险 high``).
CLASS_NAMES: dict[str, str] = {k: f"{v}风险 {k}" for k, v in RISK_CLASS_LABELS.items()}

#: Leading columns of risk.csv; then every factor (:data:`gis_town.config.RISK_FACTORS`), then these.
RISK_CSV_FRONT: tuple[str, ...] = (
    "parcel_id",
    "village_id",
    "village_name",
    "group",
    "contractor",
    "status",
    "area_mu",
    "score",
    "risk_class",
    "risk_class_zh",
    "top_factor",
    "top_factor_zh",
    "reason",
)
#: Trailing columns of risk.csv: perimeter, raster flags and notes, missing factors.
RISK_CSV_BACK: tuple[str, ...] = (
    "perimeter_m",
    "dem_flag",
    "dem_note",
    "ndvi_flag",
    "ndvi_note",
    "missing_factors",
    "score_note",
)
#: Columns of risk.csv after :data:`RISK_CSV_BACK` when a visit history was read: each parcel's last visit.
RISK_CSV_VISITS: tuple[str, ...] = (
    "last_visit_date",
    "last_outcome",
    "last_outcome_zh",
    "last_planned_date",
    "visits",
)

#: Factors shown in the risk map's popups (the ones a leader can check in the field).
MAP_FACTORS: tuple[str, ...] = (
    "slope_mean_deg",
    "slope_gt25_share",
    "road_distance_m",
    "settlement_distance_m",
    "years_idle",
    "ndvi_mean",
    "monitored_share",
)
#: Popup fields of the risk map's parcels, factors inserted before ``score_note``.
PARCEL_MAP_FIELDS: tuple[str, ...] = (
    "parcel_id",
    "village_name",
    "group",
    "contractor",
    "status",
    "area_mu",
    "score",
    "risk_class_zh",
    "top_factor_zh",
    "reason",
    "last_visit_date",
    "last_outcome_zh",
    "score_note",
)

# The visit list's views: all of them subsets of VISIT_COLUMNS, in its order.
_CODES = ("risk_class", "top_factor")  # codes: the labels are shown instead

#: Columns of the printed visit list (xlsx): rank first, codes left out, the columns the cadres
#: fill last (:data:`~gis_town.analysis.visits.FILL_COLUMNS`: read back by ``gis-town visits``).
VISIT_PRINT_COLUMNS: tuple[str, ...] = (
    "rank",
    *(c for c in VISIT_COLUMNS if c != "rank" and c not in _CODES and c not in FILL_COLUMNS),
    *FILL_COLUMNS,
)
#: Popup fields of the visit list on the map (the empty columns to fill left out).
VISIT_MAP_FIELDS: tuple[str, ...] = tuple(
    c
    for c in VISIT_COLUMNS
    if c not in ("village_id", "status", "lon", "lat", "listed_date", *_CODES, *FILL_COLUMNS)
)

_VISIT_LABELS: dict[str, str] = {
    "rank": "序号 no.",
    "village_id": "村代码 village",
    "village_name": "村名 village",
    "leader": "包村领导 leader",
    "group": "社 group",
    "parcel_id": "地块编码 parcel",
    "contractor": "承包户 household",
    "status": "现状 status",
    "area_mu": "面积(亩) mu",
    "score": "风险分 score",
    "risk_class_zh": "风险等级 class",
    "top_factor_zh": "主要因素 main factor",
    "reason": "原因 reason",
    "lon": "经度 lon",
    "lat": "纬度 lat",
    "listed_date": "清单日期 listed on",
    "last_visit_date": "上次走访 last visit",
    "last_outcome_zh": "上次结果 last outcome",
    "visit_date": "走访日期 visit date",
    "outcome": "走访结果 outcome",
    "planned_date": "计划复耕日期 planned date",
    "operator": "经营主体(已流转) operator",
    "cannot_farm_reason": "无法耕种原因 why not farmed",
    "visitor": "走访人 visitor",
    "visit_note": "备注 note",
}
#: Headers of the printed visit list (Chinese with the English), in :data:`VISIT_PRINT_COLUMNS` order.
VISIT_HEADERS: dict[str, str] = {c: _VISIT_LABELS[c] for c in VISIT_PRINT_COLUMNS}


def risk_csv_columns(scored: pd.DataFrame) -> list[str]:
    """Columns of risk.csv present in ``scored``: :data:`RISK_CSV_FRONT`, the factors,
    :data:`RISK_CSV_BACK`, then (with a visit history) :data:`RISK_CSV_VISITS`."""
    factors = [f for f in RISK_FACTORS if f in scored.columns]
    cols = [c for c in RISK_CSV_FRONT if c in scored.columns]
    cols += [f for f in factors if f not in RISK_CSV_FRONT]
    cols += [c for c in RISK_CSV_BACK if c in scored.columns]
    cols += [c for c in RISK_CSV_VISITS if c in scored.columns]
    return cols


def labelled(df: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``df`` with each known header as ``中文 english`` (the printed tables)."""
    labels = {**FIELD_LABELS, **COLUMN_LABELS} if labels is None else labels
    return df.rename(columns={c: f"{labels[c]} {c}" if c in labels else c for c in df.columns})


def weights_text(weights_used: Mapping[str, float]) -> str:
    """``平均坡度 slope_mean_deg 20%, ...``: the factors scored and their share of the weight."""
    return ", ".join(f"{FACTORS[f].label} {f} {w:.0%}" for f, w in weights_used.items())
