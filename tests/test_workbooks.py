"""Every workbook the demo writes, opened as an office clerk's Excel would show it.

The commands run are the demo's own steps (:func:`gis_town.cli.demo._steps`,
maps left out), so a workbook a new step writes is checked too. Each sheet's
table is the autofilter range (header row + data rows); titles above it and
notes below it are not data.
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
from pathlib import Path

import openpyxl
import pytest

from gis_town.analysis.progress.stages import STAGE_LABELS
from gis_town.analysis.progress.status import STATUS_LABELS
from gis_town.analysis.risk.score import RISK_CLASS_LABELS
from gis_town.cli import main
from gis_town.cli.demo import _steps
from gis_town.schema import CODE_VALUES

#: English codes an official must never have to read (the vocabularies of the schema and analyses).
CODES: frozenset[str] = frozenset(
    [code for values in CODE_VALUES.values() for code in values]
    + list(STAGE_LABELS)
    + list(STATUS_LABELS)
    + list(RISK_CLASS_LABELS)
    + ["True", "False", "true", "false", "TRUE", "FALSE"]
)
#: A header naming a column of codes or ids, for machines (its words are in the next column).
MACHINE_HEADER = re.compile(r"代码|编码|编号|\bid\b|_id\b|图层 layer$|rule|kind$")
#: Text that is a Python repr, not something written for a person.
REPR = re.compile(r"\[['\"]|\{['\"]?\w+['\"]?: |\w+=\[|\w+=\{|<\w+ object|object at 0x|Timestamp\(|^(nan|None|NaT)$")
ISO_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}( \d{2}:\d{2}(:\d{2})?)?$")
#: Headers of counts (integers) and of shares (percentages), by their English part.
COUNT_HEADER = re.compile(r"(^|_)(parcels|plots|households|trees|patrols|trips|segments|chiefs|count|rank|n)(_|$)")
SHARE_HEADER = re.compile(r"(share|_pct|^pct|rate|progress|rank_score)")


@pytest.fixture(scope="module")
def workbooks(demo_town, tmp_path_factory) -> list[Path]:
    out = tmp_path_factory.mktemp("demo")
    args = argparse.Namespace(town=demo_town, reports=out / "reports", maps=out / "maps",
                              as_of=None, offline=True, delivered=False)
    for name, argv in _steps(args):
        if name in ("map", "info"):
            continue
        assert main(["-q", *argv]) in (0, 1), f"demo step {name} failed: {argv}"
    books = sorted(out.rglob("*.xlsx"))
    assert len(books) >= 5, books
    return books


def _tables(path: Path):
    """(sheet, header cells, data rows) of every sheet of ``path``."""
    wb = openpyxl.load_workbook(path)
    for ws in wb.worksheets:
        ref = ws.auto_filter.ref
        assert ref, f"{path.name} / {ws.title}: no autofilter"
        assert ws.freeze_panes, f"{path.name} / {ws.title}: header not frozen"
        (c0, r0), (c1, r1) = (openpyxl.utils.cell.coordinate_from_string(x) for x in ref.split(":"))
        rows = list(ws.iter_rows(min_row=r0, max_row=r1))
        assert ws.freeze_panes == f"A{r0 + 1}", f"{path.name} / {ws.title}: frozen at {ws.freeze_panes}"
        yield ws.title, [str(c.value or "") for c in rows[0]], rows[1:]


def _english(header: str) -> str:
    return header.rsplit(" ", 1)[-1].lower()


def _cell_problem(header: str, v, fmt: str) -> str | None:
    """What is wrong with one data cell as Excel shows it (None when nothing is)."""
    if isinstance(v, (dt.datetime, dt.date)):
        return None if "yy" in fmt else f"date shown as {fmt}: {v}"
    if isinstance(v, bool):
        return f"boolean (是/否 expected): {v}"
    if isinstance(v, (int, float)):
        en = _english(header)
        if fmt == "General":
            return f"number without a number format: {v}"
        if SHARE_HEADER.search(en):
            return None if "%" in fmt else f"share shown as {fmt}: {v}"
        if COUNT_HEADER.search(en) and fmt not in ("#,##0", "0"):
            return f"count shown as {fmt}: {v}"
        return None
    if not isinstance(v, str):
        return None
    if ISO_DATE_TEXT.match(v):
        return f"date as text: {v!r}"
    if REPR.search(v):
        return f"Python repr: {v[:60]!r}"
    if v in CODES and not MACHINE_HEADER.search(header):
        return f"English code in a column meant for officials: {v!r}"
    return None


def _problems(path: Path) -> list[str]:
    """One line per column with bad cells: the column, the first bad cell, how many, what is wrong."""
    found: dict[tuple[str, str], list] = {}
    for sheet, headers, rows in _tables(path):
        for row in rows:
            for header, cell in zip(headers, row):
                problem = _cell_problem(header, cell.value, cell.number_format)
                if problem is not None:
                    kind = problem.split(":", 1)[0]
                    where = f"{path.parent.name}/{path.name} [{sheet}] {header}"
                    found.setdefault((where, kind), []).append(f"{cell.coordinate} {problem}")
    return [f"{where}: {len(cells)} cells, first {cells[0]}" for (where, _), cells in found.items()]


def test_every_demo_workbook_reads_as_an_office_hands_it_over(workbooks):
    bad = [p for path in workbooks for p in _problems(path)]
    assert not bad, f"{len(bad)} columns:\n" + "\n".join(bad[:60])


def test_the_checker_catches_what_it_is_for(tmp_path):
    """The checks above can fail: a sheet with a text date, a bare number, a code and a repr."""
    import pandas as pd

    from gis_town.io.write import write_xlsx

    frame = pd.DataFrame({
        "状态 status_zh": ["abandoned"],
        "备注 note": ["required=['plot_id']"],
        "日期 note2": ["2023-01-05 10:00"],
    })
    path = write_xlsx({"s": frame}, tmp_path / "t.xlsx")
    bad = _problems(path)
    assert any("English code" in b for b in bad)
    assert any("Python repr" in b for b in bad)
    assert any("date as text" in b for b in bad)


# --------------------------------------------------------------------------- totals

#: Columns whose rows add up to their 合计 (by the English part of the header): areas,
#: lengths, money and counts of things. Shares, targets per row, thresholds and ranks do not.
ADDITIVE = re.compile(
    r"^(?!threshold|required).*(_mu|_ha|_km|_m|_wan)$"
    r"|^(parcels|plots|pieces|households|trees|done|roads|listed|visited|not_visited|recultivated"
    r"|promised|overdue|transferred|cannot_farm|not_reached|reclaimed_plots|flagged|patrols|base"
    r"|candidates|suitable|excluded)$"
)
#: The note of a total whose parcels (roads) count once though they count in each part.
COUNTED_ONCE = "只计一次"
#: The note of a total over overlapping zones: its area is their union.
OVERLAP = "重叠"
#: Counts a split item adds to each part of.
SPLIT_COUNTS = frozenset({"parcels", "roads"})


def _decimals(fmt: str) -> int:
    """Decimals Excel shows for a number format (``#,##0.00`` -> 2)."""
    m = re.search(r"0\.(0+)", fmt)
    return len(m.group(1)) if m else 0


def _shown(cell) -> float:
    """A number cell as Excel shows it: rounded to its format's decimals."""
    return round(float(cell.value), _decimals(cell.number_format))


def _is_total(row) -> bool:
    return any(isinstance(c.value, str) and c.value.startswith("合计") for c in row[:4])


def _total_groups(headers: list[str], rows: list):
    """(total row, additive column indices, {scope: body rows}) for each 合计 row of a table.

    A total's body is the rows that agree with it on every non-empty cell left of the first
    additive column (its 合计 cells aside: cohort, kind, stage ...), counted separately for each
    value of a 统计范围 scope column (the destinations and the villages each add to the total).
    """
    english = [_english(h) for h in headers]
    additive = [i for i, en in enumerate(english) if ADDITIVE.search(en)]
    if not additive:
        return
    scope = english.index("scope") if "scope" in english else None
    body = [r for r in rows if not _is_total(r)]
    for total in (r for r in rows if _is_total(r)):
        keys = [
            i for i in range(additive[0])
            if i != scope and total[i].value not in (None, "")
            and not (isinstance(total[i].value, str) and total[i].value.startswith("合计"))
        ]
        parts: dict = {}
        for r in body:
            if all(r[i].value == total[i].value for i in keys):
                parts.setdefault(None if scope is None else r[scope].value, []).append(r)
        yield total, additive, parts


def _total_mismatches(path: Path) -> list[str]:
    bad: list[str] = []
    for sheet, headers, rows in _tables(path):
        note = next((i for i, h in enumerate(headers) if _english(h) == "note"), None)
        for total, additive, parts in _total_groups(headers, rows):
            said = str(total[note].value or "") if note is not None else ""
            for scope, members in parts.items():
                for i in additive:
                    shown = total[i]
                    cells = [r[i] for r in members if isinstance(r[i].value, (int, float))]
                    if not isinstance(shown.value, (int, float)) or not cells:
                        continue  # a town-wide value with no parts (a target)
                    added = round(sum(_shown(c) for c in cells), _decimals(shown.number_format))
                    union = OVERLAP in said or (COUNTED_ONCE in said and _english(headers[i]) in SPLIT_COUNTS)
                    if union and _shown(shown) <= added:
                        continue  # counted once: at most the parts' sum, as its note says
                    if added != _shown(shown):
                        bad.append(f"{path.name} [{sheet}] {headers[i]} row {shown.row}"
                                   f"{'' if scope is None else f' ({scope})'}: rows add to {added},"
                                   f" 合计 shows {_shown(shown)} ({len(cells)} rows)")
    return bad


def test_every_total_is_the_sum_of_its_rows_as_shown(workbooks):
    """Each 合计 equals its rows as Excel shows them (rounded to the decimals displayed)."""
    bad = [m for path in workbooks for m in _total_mismatches(path)]
    checked = sum(1 for path in workbooks for _, h, rows in _tables(path)
                  for _ in _total_groups(h, rows))
    assert checked >= 20, f"only {checked} totals found: is the 合计 row still there?"
    assert not bad, f"{len(bad)} totals:\n" + "\n".join(bad[:60])
