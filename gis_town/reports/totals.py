"""Tables whose rows add up to their 合计 at the digits shown.

A report shows areas to two decimals; a clerk adds the rows shown and must
find the total shown. Each group of rows is rounded by the largest remainder
(:func:`gis_town.analysis.areas.balance`) so that its rounded values add up
to its rounded total. A total that is not the sum of its rows (the union of
overlapping zones, a town-wide target) is only rounded.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
import pandas as pd

from gis_town.analysis.areas import balance

__all__ = ["MEASURE_COLUMN", "balance_to_totals", "is_total_row"]

#: Columns of measures that add up (areas, lengths, money): by their unit suffix.
MEASURE_COLUMN = re.compile(r"(_mu|_ha|_km|_m|_wan)$")
#: Measures that are per-row limits, not parts of a sum.
_NOT_PARTS = re.compile(r"^(threshold|target|required)")


def is_total_row(table: pd.DataFrame, *, first: int = 4) -> pd.Series:
    """Rows whose text in one of the ``first`` columns starts with 合计 (a total row)."""
    mask = pd.Series(False, index=table.index)
    for col in table.columns[:first]:
        mask |= table[col].astype("string").str.startswith("合计").fillna(False).astype(bool)
    return mask


def balance_to_totals(
    table: pd.DataFrame,
    *,
    keys: Sequence[str] = (),
    columns: Sequence[str] | None = None,
    decimals: int = 2,
) -> pd.DataFrame:
    """``table`` with each total and its rows rounded to ``decimals`` so that the rows add to it.

    Parameters
    ----------
    table : DataFrame
        Rows and their 合计 rows (:func:`is_total_row`).
    keys : sequence of str
        Columns a total shares with its rows (``kind``: one 合计 per kind); none: one total
        over every other row.
    columns : sequence of str, optional
        The measures to balance (default: float columns named ``*_mu``, ``*_ha``, ``*_km``,
        ``*_m``, ``*_wan``, except targets and thresholds).
    decimals : int
        Decimals shown.

    Returns
    -------
    DataFrame
        A copy; where a total is the sum of its rows (to 1e-6 of it) the rows add up to the
        rounded total, else both are rounded as they are.
    """
    if columns is None:
        columns = [c for c in table.columns if MEASURE_COLUMN.search(str(c)) and not _NOT_PARTS.match(str(c))
                   and pd.api.types.is_float_dtype(table[c])]
    out = table.copy()
    totals = is_total_row(out)
    for t in out.index[totals.to_numpy()]:
        same = np.ones(len(out), dtype=bool)
        for k in keys:
            same &= (out[k] == out.at[t, k]).fillna(False).to_numpy(dtype=bool)
        rows = out.index[same & ~totals.to_numpy()]
        for col in columns:
            _balance_group(out, t, rows, col, decimals)
    for col in columns:  # rows no total covers, and totals of no rows
        out[col] = out[col].round(decimals)
    return out


def _balance_group(out: pd.DataFrame, total: object, rows: pd.Index, col: str, decimals: int) -> None:
    """Round the rows ``rows`` of ``col`` to add up to the rounded total at ``total`` (in place)."""
    values = out.loc[rows, col].to_numpy(dtype="float64")
    whole = float(out.at[total, col])
    if not len(values) or not np.isfinite(values).all() or not np.isfinite(whole):
        return
    if abs(values.sum() - whole) > 1e-6 * max(abs(whole), 1.0):
        return  # not a sum (a union of overlapping zones): rounded as it is
    shown, shown_total = balance(values, decimals)
    out.loc[rows, col] = shown
    out.at[total, col] = shown_total
