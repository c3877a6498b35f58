"""Codes and their Chinese words side by side: the convention every report follows.

Officials read the words (撂荒, 乡镇级, 流域); machines read the codes
(``abandoned``, ``town``, ``basin``). A coded column ``X`` keeps its codes
under a header ending in 代码 (``耕种状态代码 status``), and its words follow
right after it as ``X_label`` (``耕种状态 status_label``), from one
vocabulary: :data:`gis_town.schema.CODE_VALUES`.
"""

from __future__ import annotations

import pandas as pd

from gis_town.schema import code_label

__all__ = ["code_header", "labels_beside_codes", "with_code_labels"]


def labels_beside_codes(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each ``X_label`` column (the Chinese words) right after its code column ``X``."""
    cols = [c for c in df.columns if not (str(c).endswith("_label") and str(c)[:-6] in df.columns)]
    out: list = []
    for c in cols:
        out.append(c)
        if f"{c}_label" in df.columns:
            out.append(f"{c}_label")
    return df[out]


def with_code_labels(df: pd.DataFrame, code_lists: dict[str, str]) -> pd.DataFrame:
    """``df`` with an ``X_label`` column of Chinese words after each coded column ``X``.

    Parameters
    ----------
    df : DataFrame
    code_lists : dict
        Column -> code list of :data:`gis_town.schema.CODE_VALUES` (``{"status": "status"}``,
        ``{"kind": "zone_kind"}``); columns ``df`` lacks are skipped. A value outside the
        list keeps its own text; a blank stays blank.
    """
    out = df.copy()
    for col, code_list in code_lists.items():
        if col not in out.columns:
            continue
        codes = out[col].astype("string")
        words = {c: code_label(code_list, c) for c in codes.dropna().unique()}
        out[f"{col}_label"] = codes.map(words).astype("string")
    return labels_beside_codes(out)


def code_header(label: str) -> str:
    """The Chinese header of a code column: ``耕种状态`` -> ``耕种状态代码``."""
    return label if label.endswith("代码") else f"{label}代码"
