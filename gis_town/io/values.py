"""Parsing the values clerks type: dates in every spelling, degrees in 度分秒.

Village ledgers (台账) kept in Excel hold dates as Excel dates, as text
(``2023年6月30日``, ``2023.6.30``, ``2023/06/30``, ``2023-6-30``,
``20230630``) or as Excel serial numbers that lost their format (``45107``),
and coordinates in decimal degrees or degrees-minutes-seconds
(``104°37′12.5″``, ``104度37分12.5秒``, ``E104 37 12.5``). The two functions
here turn a column of any mix into numbers, and say which values could not
be read so the caller can reject those rows by number.
"""

from __future__ import annotations

import datetime as dt
import re

import numpy as np
import pandas as pd

__all__ = ["EXCEL_EPOCH", "parse_dates", "parse_degrees"]

#: Day 0 of Excel's 1900 date system (serial 1 = 1900-01-01, with Excel's 1900 leap-year bug).
EXCEL_EPOCH = pd.Timestamp("1899-12-30")
#: Serial numbers taken as Excel dates (1954-09-30 .. 2119-01-08); others are not dates.
_SERIAL_RANGE = (20000, 80000)

_CN = re.compile(r"^(\d{4})\s*年\s*(\d{1,2})\s*月\s*(\d{1,2})\s*[日号]?")
_SEP = re.compile(r"^(\d{4})\s*[./\-]\s*(\d{1,2})\s*[./\-]\s*(\d{1,2})(?:[ T].*)?$")
_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:\.0+)?$")


def _blank(v: object) -> bool:
    return (
        v is None
        or (isinstance(v, float) and np.isnan(v))
        or v is pd.NaT
        or (isinstance(v, str) and not v.strip())
    )


def _one_date(v: object) -> pd.Timestamp | None:
    """A date from one cell; None when it is not one."""
    if isinstance(v, (pd.Timestamp, dt.datetime)):
        return pd.Timestamp(v).tz_localize(None) if pd.Timestamp(v).tzinfo else pd.Timestamp(v)
    if isinstance(v, dt.date):
        return pd.Timestamp(v)
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        f = float(v)
        if _SERIAL_RANGE[0] <= f <= _SERIAL_RANGE[1]:
            return EXCEL_EPOCH + pd.Timedelta(days=f)
        v = str(int(f)) if f.is_integer() else str(f)
    text = str(v).strip()
    for pattern in (_CN, _SEP, _COMPACT):
        m = pattern.match(text)
        if m:
            try:
                return pd.Timestamp(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                return None
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return _one_date(float(text))
    return None


def parse_dates(values: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Dates from a column of any mix of spellings.

    Parameters
    ----------
    values : Series
        Excel dates (datetime), Excel serial numbers, or text:
        ``2023年6月30日``, ``2023.6.30``, ``2023/06/30``, ``2023-6-30``,
        ``2023-06-30 00:00:00``, ``20230630``.

    Returns
    -------
    (dates, bad)
        ``datetime64[ns]`` dates (NaT for blanks and for values that are not
        dates) and a boolean array marking the values that are not dates
        (blanks are not marked).
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        s = values.dt.tz_localize(None) if getattr(values.dt, "tz", None) else values
        return s.astype("datetime64[ns]"), np.zeros(len(values), dtype=bool)
    out, bad = [], np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values.astype("object").tolist()):
        if _blank(v):
            out.append(pd.NaT)
            continue
        d = _one_date(v)
        if d is None:
            bad[i] = True
            out.append(pd.NaT)
        else:
            out.append(d)
    return pd.Series(pd.to_datetime(out), index=values.index).astype("datetime64[ns]"), bad


_DMS = re.compile(
    r"""^\s*(?P<h1>[NSEW东西南北]|东经|西经|南纬|北纬)?\s*
    (?P<d>\d+(?:\.\d+)?)\s*(?:°|度|:|\s)\s*
    (?:(?P<m>\d+(?:\.\d+)?)\s*(?:′|'|’|分|:|\s)?\s*)?
    (?:(?P<s>\d+(?:\.\d+)?)\s*(?:″|"|”|''|′′|秒)?\s*)?
    (?P<h2>[NSEW东西南北])?\s*$""",
    re.VERBOSE | re.IGNORECASE,
)
_NEGATIVE = ("S", "W", "西", "南", "西经", "南纬")


def _one_degree(v: object) -> float | None:
    if isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
        return float(v) if np.isfinite(v) else None
    text = str(v).strip().replace("，", ".")
    try:
        return float(text)
    except ValueError:
        pass
    m = _DMS.match(text)
    if not m:
        return None
    d, mi, s = float(m.group("d")), float(m.group("m") or 0), float(m.group("s") or 0)
    if mi >= 60 or s >= 60:
        return None
    value = d + mi / 60.0 + s / 3600.0
    hemi = (m.group("h1") or m.group("h2") or "").upper()
    return -value if hemi in _NEGATIVE else value


def parse_degrees(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Decimal degrees from decimal or degrees-minutes-seconds values.

    Parameters
    ----------
    values : Series
        Numbers, or text such as ``104.62014``, ``104°37′12.5″``,
        ``104°37'12.5"``, ``104度37分12.5秒``, ``E104 37 12.5``, ``35:36:00N``.

    Returns
    -------
    (degrees, bad)
        float64 degrees (NaN for blanks and unreadable values) and a boolean
        array marking the values that could not be read (blanks are not marked).
    """
    out = np.full(len(values), np.nan)
    bad = np.zeros(len(values), dtype=bool)
    for i, v in enumerate(values.astype("object").tolist()):
        if _blank(v):
            continue
        d = _one_degree(v)
        if d is None:
            bad[i] = True
        else:
            out[i] = d
    return out, bad
