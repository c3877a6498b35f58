"""Siting reports (选址): headers, column orders and sheets of a :class:`~gis_town.runners.siting.SitingResult`.

The analysis (:mod:`gis_town.analysis.siting`) returns the numbers; this
module says how they are shown: Chinese headers (:data:`COLUMN_LABELS`), the
columns of the ranked list and of the excluded list, and the workbook's
sheets with Chinese headers (the codes kept in their own columns). The CLI
and the siting map take them from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import pandas as pd

from gis_town.analysis.siting import PURPOSE_LABELS, SITING_FACTOR_INFO
from gis_town.config import SITING_FACTORS
from gis_town.reports.totals import balance_to_totals
from gis_town.schema import FIELD_LABELS

if TYPE_CHECKING:  # pragma: no cover
    from gis_town.runners.siting import SitingResult

__all__ = [
    "COLUMN_LABELS",
    "PURPOSE_LABELS",
    "candidate_columns",
    "labelled",
    "sheets",
    "weights_text",
]

#: Output columns of the siting analysis -> Chinese labels (sheet headers, map popups).
COLUMN_LABELS: dict[str, str] = {
    **{k: f.label + (f"({f.unit})" if f.unit else "") for k, f in SITING_FACTOR_INFO.items()},
    **{f"suit_{k}": f"{f.label}适宜度(0-1)" for k, f in SITING_FACTOR_INFO.items()},
    **{f"points_{k}": f"{f.label}得分" for k, f in SITING_FACTOR_INFO.items()},
    "perimeter_m": "周长(m)",
    "water_source": "最近水源图层",
    "score": "适宜性得分(0-100)",
    "rank": "村内排名",
    "best_factor": "优势因素代码",
    "best_factor_zh": "优势因素",
    "worst_factor": "短板因素代码",
    "worst_factor_zh": "短板因素",
    "reason": "得分构成",
    "missing_factors": "缺少的因素",
    "excluded": "是否排除",
    "exclusion_codes": "排除原因代码",
    "exclusion": "排除原因",
    "village_name": "村名",
    "dem_flag": "DEM覆盖",
    "dem_note": "DEM说明",
    "candidates": "候选地块数",
    "suitable": "适宜地块数",
    "best_score": "最高得分",
    "suitable_mu": "适宜面积(亩)",
    "candidate_id": "候选编号",
}

_FRONT = ["village_id", "village_name", "rank"]
_BACK = [
    "score",
    *SITING_FACTORS,
    *[f"points_{f}" for f in SITING_FACTORS],
    "water_source",
    "best_factor_zh",
    "worst_factor_zh",
    "reason",
    "missing_factors",
    "best_factor",
    "worst_factor",
]
_EXCLUDED = ["exclusion", "exclusion_codes"]


def candidate_columns(df: pd.DataFrame, id_column: str, *, excluded: bool = False) -> list[str]:
    """Columns of the ranked list (or, ``excluded=True``, of the excluded list), those present."""
    front = [c for c in _FRONT if not (excluded and c == "rank")]
    extra = ["status"] if "status" in df.columns else []
    cols = [*front, id_column, *extra, *(_EXCLUDED if excluded else []), *_BACK]
    seen: list[str] = []
    for c in cols:
        if c in df.columns and c not in seen:
            seen.append(c)
    return seen


def labelled(df: pd.DataFrame, labels: Mapping[str, str] | None = None) -> pd.DataFrame:
    """``df`` with each known header as ``中文 english`` (printed tables)."""
    labels = {**FIELD_LABELS, **COLUMN_LABELS} if labels is None else labels
    return df.rename(columns={c: f"{labels[c]} {c}" if c in labels else c for c in df.columns})


def chinese(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with Chinese headers only (workbook sheets); unknown headers kept."""
    labels = {**FIELD_LABELS, **COLUMN_LABELS}
    out = df.rename(columns={c: labels.get(c, c) for c in df.columns})
    return out.loc[:, ~out.columns.duplicated()]


def weights_text(weights_used: Mapping[str, float]) -> str:
    """``平均坡度 slope_mean_deg 30%, ...``: the factors scored and their share of the weight."""
    return ", ".join(f"{SITING_FACTOR_INFO[f].label} {f} {w:.0%}" for f, w in weights_used.items())


def _table(gdf, cols: list[str]) -> pd.DataFrame:
    df = pd.DataFrame(gdf[cols]).copy()
    if "status" in df.columns:
        from gis_town.schema import code_label

        df.insert(df.columns.get_loc("status") + 1, "status_zh", [code_label("status", s) for s in df["status"]])
    return df


def sheets(result: SitingResult) -> dict[str, pd.DataFrame]:
    """The workbook's sheets, headers ``中文 english``: ranked list, excluded, villages, weights."""
    c = result.candidates
    ranked = _table(result.ranked, candidate_columns(c, result.id_column))
    excluded = _table(result.excluded, candidate_columns(c, result.id_column, excluded=True))
    weights = pd.DataFrame(
        [
            {
                "因素代码 factor": f,
                "因素 factor_label": SITING_FACTOR_INFO[f].label,
                "权重占比 weight_share": w,
            }
            for f, w in result.weights_used.items()
        ]
    )
    villages = balance_to_totals(result.villages)  # the villages' areas add up to the 合计 shown
    return {
        "排名 ranked": _zh(ranked),
        "排除 excluded": _zh(excluded),
        "各村 villages": _zh(villages, excluded="排除地块数"),
        "权重 weights": weights,
    }


def _zh(df: pd.DataFrame, **labels: str) -> pd.DataFrame:
    """Sheet headers ``中文 english`` (``labels`` override a column's Chinese)."""
    words = {**FIELD_LABELS, **COLUMN_LABELS, "status_zh": "耕种状态", "status": "耕种状态代码", **labels}
    out = df.loc[:, ~df.columns.duplicated()]
    return out.rename(columns={k: f"{words[k]} {k}" if k in words else k for k in out.columns})
