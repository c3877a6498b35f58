"""Field parsers of the progress layers: codes, dates, numbers and yes/no values, with clear errors.

They stay here rather than in :mod:`gis_town.io.validate`: the validated
layers already carry these dtypes, and these parsers also accept the raw
frames a notebook passes in (text dates, 是/否), raising a
:class:`~gis_town.errors.FieldError` that names the feature and the field.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from gis_town.errors import FieldError
from gis_town.io.validate import normalize_codes
from gis_town.schema import CODE_VALUES


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
