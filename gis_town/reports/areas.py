"""Area tables as officials read them: Chinese headers beside the English ones, the sheets of areas.xlsx."""

from __future__ import annotations

import pandas as pd

from gis_town.reports.labels import code_header, with_code_labels
from gis_town.schema import FIELD_LABELS

__all__ = ["AREA_HEADERS", "area_sheets", "zh_columns"]

#: Chinese headers of the area tables (a coded column's header ends in 代码, its words follow it).
AREA_HEADERS: dict[str, str] = {
    **FIELD_LABELS,
    "status": code_header("耕种状态"),
    "status_label": "耕种状态",
    "status_zh": "状态",
    "kind": code_header("分区类型"),
    "kind_label": "分区类型",
    "inside": "基本农田内外",
}

#: Coded columns of the area tables and their code lists (:data:`gis_town.schema.CODE_VALUES`).
AREA_CODES: dict[str, str] = {"status": "status", "kind": "zone_kind"}


def zh_columns(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each header as ``中文 english`` (the workbook's headers)."""
    return df.rename(columns={c: f"{AREA_HEADERS.get(c, c)} {c}" for c in df.columns})


def area_sheets(result) -> dict[str, pd.DataFrame]:
    """The sheets of areas.xlsx from an :class:`~gis_town.runners.areas.AreasResult`, in order.

    Each coded column (status, zone kind) has its Chinese words in the column after it.
    """
    parts = [
        ("村-状态 villages", result.villages),
        ("项目 projects", result.projects),
        ("分区 zones", result.zones),
        ("基本农田 basic farmland", result.basic_farmland),
        ("面积核对 survey check", result.survey_check),
    ]
    return {
        name: zh_columns(with_code_labels(t.drop(columns="status_zh", errors="ignore"), AREA_CODES))
        for name, t in parts
        if t is not None
    }
