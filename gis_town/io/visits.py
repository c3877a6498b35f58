"""Reading filled visit lists (走访清单回收) and the visit history (visits.csv).

A visit list is the workbook ``gis-town risk`` writes (``visit_list.xlsx``:
a sheet of every village and one per village, a title line above the
header). :func:`read_visit_workbooks` reads one or more of them (or the
folders holding them, one file per village), finds the header row of each
sheet, maps the ``中文 english`` headers back to column names and returns the
rows the cadres filled in, each with its file, sheet and row number as Excel
shows it, for :func:`gis_town.analysis.visits.validate_visits`.
:func:`read_visit_history` reads the ``visits.csv`` that ``gis-town visits``
writes, :func:`read_listed_parcels` the ``listed.csv`` beside it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from gis_town.analysis.visits import FILL_COLUMNS, VISIT_HISTORY_COLUMNS
from gis_town.errors import InputError
from gis_town.reports.risk import VISIT_HEADERS

__all__ = [
    "header_keys",
    "header_row",
    "read_listed_parcels",
    "read_visit_history",
    "read_visit_workbooks",
    "visit_workbook_paths",
]

log = logging.getLogger(__name__)

#: Header rows are looked for among a sheet's first rows.
HEADER_SCAN_ROWS = 15
#: Columns read from every parcel row of a list (filled or not).
_LISTED = ("parcel_id", "village_id", "listed_date")


def header_keys() -> dict[str, str]:
    """Every spelling of a header -> column: ``地块编码 parcel``, ``地块编码``, ``parcel_id``."""
    keys: dict[str, str] = {}
    for col, label in VISIT_HEADERS.items():
        keys[label.strip().lower()] = col
        keys[label.split(" ", 1)[0].strip().lower()] = col
        keys[col] = col
    return keys


def header_row(rows: list[tuple], keys: dict[str, str]) -> int | None:
    """Index (0-based) of the row holding the parcel id header, None if the sheet has none."""
    for i, row in enumerate(rows[:HEADER_SCAN_ROWS]):
        if any(keys.get(str(v).strip().lower()) == "parcel_id" for v in row if v is not None):
            return i
    return None


def _filled(value: object) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _sheet(ws, source: str, keys: dict[str, str]) -> tuple[list[dict], list[dict], set[str]]:
    """One sheet: its filled rows (with source, sheet, Excel row), its parcel rows, its columns."""
    rows = [tuple(r) for r in ws.iter_rows(values_only=True)]
    h = header_row(rows, keys)
    if h is None:
        return [], [], set()
    cols = [keys.get(str(v).strip().lower()) if v is not None else None for v in rows[h]]
    filled, listed = [], []
    for i, row in enumerate(rows[h + 1:], start=h + 2):  # Excel rows count from 1
        rec = {c: v for c, v in zip(cols, row) if c is not None}
        if _filled(rec.get("parcel_id")):
            listed.append({**{c: rec.get(c) for c in _LISTED}, "source": source, "sheet": ws.title})
        if any(_filled(rec.get(c)) for c in FILL_COLUMNS):
            filled.append({**rec, "source": source, "sheet": ws.title, "row": i})
    return filled, listed, {c for c in cols if c}


def _open(path: Path):
    import openpyxl

    if not path.is_file():
        raise InputError(
            f"走访清单不存在 / filled visit list not found: {path}: check the path",
            path=str(path),
        )
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # zip or XML errors of a damaged or non-xlsx file
        raise InputError(
            f"无法读取走访清单 / cannot read the visit list {path.name} ({type(exc).__name__}: "
            f"{exc}): save it as .xlsx (Excel 工作簿) and try again",
            path=str(path),
        ) from exc


def visit_workbook_paths(paths: Iterable[str | Path]) -> list[Path]:
    """The workbooks named: files as given, folders searched (also below) for ``*.xlsx``.

    Excel's lock files (``~$...``) are skipped.

    Raises
    ------
    InputError
        A path does not exist, or a folder holds no workbook.
    """
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            found = sorted(
                f for f in p.rglob("*.xlsx") if f.is_file() and not f.name.startswith("~$")
            )
            if not found:
                raise InputError(
                    f"文件夹中没有走访清单 / no .xlsx workbook in the folder {p}", path=str(p)
                )
            out.extend(found)
        elif not p.exists():
            raise InputError(
                f"走访清单不存在 / filled visit list not found: {p}: check the path", path=str(p)
            )
        else:
            out.append(p)
    return list(dict.fromkeys(out))


def _read_one(path: Path, keys: dict[str, str]) -> tuple[list[dict], list[dict]]:
    """Filled rows and parcel rows of one workbook; InputError when it is no visit list."""
    wb = _open(path)
    try:
        parts = [_sheet(ws, path.name, keys) for ws in wb.worksheets]
    finally:
        wb.close()
    columns = set().union(*(c for _, _, c in parts)) if parts else set()
    if "parcel_id" not in columns:
        raise InputError(
            f"走访清单中没有地块编码列 / no sheet of {path.name} has a parcel id header "
            f"({VISIT_HEADERS['parcel_id']}): is it the visit list of gis-town risk?",
            path=str(path),
        )
    lacking = [c for c in ("visit_date", "outcome") if c not in columns]
    if lacking:
        raise InputError(
            f"走访清单缺少填写列 / {path.name} has no "
            f"{' / '.join(VISIT_HEADERS[c] for c in lacking)} column: a visit list of an older "
            "version? make a new one with gis-town risk, or add the columns",
            path=str(path),
        )
    filled = [r for f, _, _ in parts for r in f]
    listed = [r for _, li, _ in parts for r in li]
    log.info("%s: %d filled rows, %d parcels listed", path.name, len(filled), len(listed))
    return filled, listed


def read_visit_workbooks(paths: Iterable[str | Path]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The filled rows and the listed parcels of one or more visit-list workbooks.

    Every sheet with a parcel-id header (地块编码 parcel) is read; a row is
    *filled* when any of the columns to fill
    (:data:`~gis_town.analysis.visits.FILL_COLUMNS`) has a value.

    Parameters
    ----------
    paths : iterable of path
        ``visit_list.xlsx`` files (one per village or the town's), or folders of them.

    Returns
    -------
    filled : DataFrame
        ``parcel_id``, ``village_id``, ``village_name``, ``leader``,
        ``listed_date``, the columns to fill (the cells as read), ``source``
        (file name), ``sheet``, ``row`` (Excel row number).
    listed : DataFrame
        ``parcel_id``, ``village_id``, ``listed_date``, ``source``, ``sheet``
        of every parcel row, filled or not (each parcel once).

    Raises
    ------
    InputError
        A file is missing, is not an xlsx workbook, has no sheet with a
        parcel-id header, or lacks the visit date and outcome columns.
    """
    keys = header_keys()
    filled: list[dict] = []
    listed: list[dict] = []
    for p in visit_workbook_paths(paths):
        f, li = _read_one(p, keys)
        filled.extend(f)
        listed.extend(li)
    cols = ["parcel_id", "village_id", "village_name", "leader", "listed_date", *FILL_COLUMNS,
            "source", "sheet", "row"]
    f = pd.DataFrame(filled).reindex(columns=cols)
    f["parcel_id"] = f["parcel_id"].map(_id_text)
    li = pd.DataFrame(listed).reindex(columns=[*_LISTED, "source", "sheet"])
    li["parcel_id"] = li["parcel_id"].map(_id_text)
    li["village_id"] = li["village_id"].map(_id_text)
    return f, li.drop_duplicates("parcel_id").reset_index(drop=True)


def _id_text(v: object) -> str | None:
    """An id cell as text (a number typed into Excel comes back as 101.0: ``101``)."""
    if v is None or (isinstance(v, float) and v != v):
        return None
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v).strip()


def read_visit_history(path: str | Path) -> pd.DataFrame:
    """The accepted visits ``gis-town visits`` wrote (``visits.csv``), dates as datetime64.

    Raises
    ------
    InputError
        The file is missing or has no ``parcel_id``, ``visit_date`` and ``outcome`` columns.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(
            f"走访记录不存在 / visit history not found: {p}: run gis-town visits first, or fix "
            "[risk] visits in the config / the --visits option",
            path=str(p),
        )
    try:
        df = pd.read_csv(p, dtype="string", encoding="utf-8-sig", keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(
            f"无法读取走访记录 / cannot read the visit history {p.name} ({exc}): expected the "
            "visits.csv of gis-town visits",
            path=str(p),
        ) from exc
    missing = [c for c in ("parcel_id", "visit_date", "outcome") if c not in df.columns]
    if missing:
        raise InputError(
            f"走访记录缺少列 / visit history {p.name} lacks columns {missing}: expected the "
            f"visits.csv of gis-town visits ({', '.join(VISIT_HISTORY_COLUMNS)})",
            path=str(p),
        )
    for c in ("visit_date", "planned_date", "listed_date"):
        if c in df.columns:
            df[c] = pd.to_datetime(df[c].replace("", None), errors="coerce")
    return df


def read_listed_parcels(history_path: str | Path) -> pd.DataFrame | None:
    """The ``listed.csv`` beside a ``visits.csv`` (every parcel on the lists read), None if absent."""
    p = Path(history_path).with_name("listed.csv")
    if not p.is_file():
        return None
    return pd.read_csv(p, dtype="string", encoding="utf-8-sig", keep_default_na=False)
