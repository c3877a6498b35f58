"""Nothing from the data runs: no formulas in CSV or Excel outputs, whatever the attribute values."""

from __future__ import annotations

import csv

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gis_town.io.write import write_csv, write_xlsx

HOSTILE = st.one_of(
    st.text(min_size=0, max_size=30),
    st.sampled_from([
        "=cmd|' /C calc'!A0", "+1+1", "-2+3", "@SUM(1,2)", "\t=1", "\r=1", "=HYPERLINK(\"http://x\",\"y\")",
        "<img src=x onerror=alert(1)>", "${7*7}", "'; DROP TABLE x; --", '"quoted"', "将台村=",
    ]),
)
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@settings(deadline=None, derandomize=True, max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(HOSTILE, min_size=1, max_size=8))
def test_csv_cells_never_start_a_formula(tmp_path, values):
    path = write_csv(pd.DataFrame({"name": values, "村名": values[::-1]}), tmp_path / "x.csv")
    with open(path, encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    for row in rows:
        for cell in row:
            assert not cell.startswith(FORMULA_START), cell


@settings(deadline=None, derandomize=True, max_examples=30, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(values=st.lists(HOSTILE, min_size=1, max_size=6))
def test_xlsx_cells_are_never_formulas(tmp_path, values):
    from openpyxl import load_workbook

    path = write_xlsx({"表": pd.DataFrame({"name": values})}, tmp_path / "x.xlsx", titles={"表": values[0]})
    for row in load_workbook(path).active.iter_rows():
        for c in row:
            assert c.data_type != "f", c.value
