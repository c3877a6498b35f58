"""Outputs: atomic, Excel-safe, exchange-friendly."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
from shapely.geometry import box

from gis_town.errors import InputError
from gis_town.io.read import read_layer
from gis_town.io.write import atomic_path, safe_output_path, write_csv, write_vector, write_xlsx


def test_atomic_write_keeps_old_file_when_writing_fails(tmp_path):
    target = tmp_path / "out.csv"
    target.write_text("old")

    class Boom(Exception):
        pass

    with pytest.raises(Boom), atomic_path(target) as tmp:
        tmp.write_text("half a fi")
        raise Boom
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.csv"]


def test_failed_dataframe_write_midway_leaves_old_file(tmp_path, monkeypatch):
    target = tmp_path / "t.csv"
    write_csv(pd.DataFrame({"a": [1]}), target)
    before = target.read_bytes()
    original = pd.DataFrame.to_csv

    def half_then_fail(self, path, *args, **kwargs):
        original(self.head(1), path, *args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", half_then_fail)
    with pytest.raises(OSError):
        write_csv(pd.DataFrame({"a": range(100)}), target)
    assert target.read_bytes() == before


def test_csv_is_utf8_bom_and_formula_safe(tmp_path):
    df = pd.DataFrame({"村名": ["将台村", "=HYPERLINK(\"x\")", "+1", "-2", "@SUM(A1)", "ok"], "n": range(6)})
    path = write_csv(df, tmp_path / "x.csv")
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    back = pd.read_csv(path, encoding="utf-8-sig")
    assert back["村名"][0] == "将台村"
    for v in back["村名"][1:5]:
        assert v.startswith("'")
    assert back["n"].tolist() == list(range(6))  # numbers are not touched


@pytest.mark.parametrize("dtype", ["object", "string", "str", "category"])
def test_csv_formula_safe_whatever_the_text_dtype(tmp_path, dtype):
    values = ["=1+1", "将台村", "@A1", "ok", "=1+1"]
    df = pd.DataFrame({"t": pd.Series(values).astype(dtype)})
    back = pd.read_csv(write_csv(df, tmp_path / "x.csv"), encoding="utf-8-sig")
    assert back["t"].tolist() == ["'=1+1", "将台村", "'@A1", "ok", "'=1+1"]
    assert df["t"].astype(str).tolist() == values  # the input is not modified


def test_xlsx_never_holds_formulas(tmp_path):
    from openpyxl import load_workbook

    df = pd.DataFrame({"名称": ["=1+1", "将台村"], "面积": [1.5, 2.25]})
    path = write_xlsx({"表": df}, tmp_path / "x.xlsx", titles={"表": "标题"}, footer_lines={"表": ["检查人：", "日期："]})
    ws = load_workbook(path).active
    values = [c.value for row in ws.iter_rows() for c in row if c.value is not None]
    assert "=1+1" in values  # stored as a string cell
    assert all(c.data_type != "f" for row in ws.iter_rows() for c in row)
    assert "检查人：" in values


def test_xlsx_cells_types_formats_and_highlight(tmp_path):
    from openpyxl import load_workbook

    df = pd.DataFrame(
        {
            "名称": pd.array(["将台村", None, "=1"], dtype="string"),
            "面积": [1.5, np.nan, 2.25],
            "户数": pd.array([3, None, 5], dtype="Int64"),
            "达标": [True, False, True],
            "时间": pd.to_datetime(["2023-06-30 08:00", None, "2023-01-01 00:30"]).tz_localize(
                "Asia/Shanghai"
            ),
            "类": pd.Categorical(["a", "b", "a"]),
            "期限": [dt.date(2023, 6, 30), None, dt.date(2023, 9, 30)],
        }
    )
    path = write_xlsx(
        {"表": df}, tmp_path / "x.xlsx", titles={"表": "标题"}, highlight={"表": [False, True, False]}
    )
    ws = load_workbook(path).active
    assert ws["A1"].value == "标题"
    assert [c.value for c in ws[3]] == list(df.columns)
    assert [c.value for c in ws[4]] == [
        "将台村", 1.5, 3, "是", pd.Timestamp("2023-06-30 08:00").to_pydatetime(), "a",
        dt.datetime(2023, 6, 30),
    ]
    assert [c.value for c in ws[5]] == [None, None, None, "否", None, "b", None]  # blanks; booleans as 是/否
    assert ws["G4"].number_format == "yyyy-mm-dd"
    assert ws["A6"].value == "=1" and ws["A6"].data_type == "s"
    assert ws["B4"].number_format == "#,##0.00" and ws["C4"].number_format == "#,##0"
    assert ws["E4"].number_format == "yyyy-mm-dd hh:mm"
    assert ws["D5"].fill.fgColor.rgb.endswith("F8CBAD")  # the highlighted row
    assert not ws["D4"].fill.fgColor.rgb.endswith("F8CBAD")
    assert ws.freeze_panes == "A4"


def test_xlsx_formats_an_office_can_hand_over(tmp_path):
    """Dates as dates, counts as integers, shares as percentages, six-decimal degrees; highlighting keeps them."""
    from openpyxl import load_workbook

    df = pd.DataFrame(
        {
            "截止日期 due_date": ["2023-06-30", None, "2023-12-31"],  # ISO text, as the analyses give dates
            "户数 households": [48.0, 15.0, 33.0],  # whole numbers in a float column: a count
            "面积 area_mu": [12.0, 3.5, 8.0],  # a measure: two decimals even when whole
            "完成率 share_pct": [81.25, 100.0, 0.0],  # already x 100
            "覆盖率 covered_fraction": [0.891, 1.0, 0.5],  # a share of 1
            "经度 lon": [104.5931234, 104.6, 104.61],
        }
    )
    path = write_xlsx({"表": df}, tmp_path / "x.xlsx", highlight={"表": [True, False, False]})
    ws = load_workbook(path).active
    assert ws.auto_filter.ref == "A1:F4" and ws.freeze_panes == "A2"
    for row in (2, 4):  # row 2 is highlighted: same formats
        assert isinstance(ws.cell(row, 1).value, dt.datetime) and ws.cell(row, 1).number_format == "yyyy-mm-dd"
        assert ws.cell(row, 2).number_format == "#,##0"
        assert ws.cell(row, 3).number_format == "#,##0.00"
        assert ws.cell(row, 4).number_format == '0.00"%"'
        assert ws.cell(row, 5).number_format == "0.0%"
        assert ws.cell(row, 6).number_format == "0.000000"
    assert ws.cell(2, 1).value == dt.datetime(2023, 6, 30) and ws.cell(3, 1).value is None
    assert ws.cell(2, 2).fill.fgColor.rgb.endswith("F8CBAD") and not ws.cell(3, 2).fill.fgColor.rgb.endswith("F8CBAD")


def test_xlsx_sheet_longer_than_excel_is_cut_with_a_note(tmp_path, monkeypatch):
    from openpyxl import load_workbook

    import gis_town.io.write as w

    monkeypatch.setattr(w, "XLSX_MAX_ROWS", 20)  # Excel's 1,048,576, small for the test
    df = pd.DataFrame({"n": range(50)})
    hl = pd.Series(np.arange(50) % 2 == 0)
    path = write_xlsx(
        {"表": df}, tmp_path / "x.xlsx", titles={"表": "标题"},
        footer_lines={"表": ["检查人："]}, highlight={"表": hl},
    )
    ws = load_workbook(path).active
    # title, blank, header = 3 rows; the note, a blank and one footer line: 20 - 3 - 4 = 13 fit
    numbers = [c.value for c in ws["A"] if isinstance(c.value, int)]
    assert numbers == list(range(13))
    assert ws.max_row <= 20
    text = [c.value for c in ws["A"] if isinstance(c.value, str)]
    assert any("13" in t and "50" in t and "CSV" in t for t in text)
    assert "检查人：" in text


def test_shapefile_output_for_chinese_gis(tmp_path):
    gdf = gpd.GeoDataFrame(
        {"village_name": ["将台村"], "collective_income_wan": [12.5], "村集体经济收入": [1.0]},
        geometry=[box(104.6, 35.6, 104.61, 35.61)], crs="EPSG:4490",
    )
    path = write_vector(gdf, tmp_path / "out.shp", fmt="shp")
    assert (tmp_path / "out.cpg").read_text() == "GBK"
    assert "2000" in (tmp_path / "out.prj").read_text()
    info = pyogrio.read_info(path, encoding="gbk")
    assert all(len(f.encode("gbk")) <= 10 for f in info["fields"])
    assert len(set(info["fields"])) == 3
    back = read_layer(path)
    assert "将台村" in back.iloc[0].tolist()


def test_gpkg_output_keeps_other_layers(tmp_path):
    gdf = gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)], crs="EPSG:4544")
    path = tmp_path / "o.gpkg"
    write_vector(gdf, path, layer="one")
    write_vector(gdf, path, layer="two")
    assert {n for n, _ in pyogrio.list_layers(path)} == {"one", "two"}


@pytest.mark.parametrize("name", ["../escape.csv", "/etc/passwd", "a/../../b.csv"])
def test_output_names_cannot_escape_the_folder(tmp_path, name):
    with pytest.raises(InputError):
        safe_output_path(tmp_path / "out", name)


def test_output_name_inside_folder_ok(tmp_path):
    assert safe_output_path(tmp_path, "将台村.csv") == (tmp_path / "将台村.csv").resolve()
