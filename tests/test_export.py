"""Tests of gis_town.io.export: KML, GPX and the printable visit list."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import geopandas as gpd
import gpxpy
import openpyxl
import pandas as pd
import pyproj
import pytest
import shapely

from gis_town.errors import InputError
from gis_town.io.export import write_gpx, write_kml, write_visit_list

GK = "EPSG:4544"
X0, Y0 = 463_740.0, 3_941_220.0
NS = {"k": "http://www.opengis.net/kml/2.2"}


def _visits() -> gpd.GeoDataFrame:
    boxes = [shapely.box(X0 + 100 * i, Y0, X0 + 100 * i + 40, Y0 + 30) for i in range(4)]
    return gpd.GeoDataFrame(
        {
            "village_id": ["V1", "V1", "V1", "V2"],
            "village_name": ["一村", "一村", "一村", "<b>二村</b> & co"],
            "leader": ["甲", "甲", "甲", "乙"],
            "group": ["一社", "一社", "二社", None],
            "rank": [1, 2, 3, 1],
            "parcel_id": ["P1", "P2", "P3", "P4"],
            "contractor": ["张三", "李四", None, "=cmd|' /C calc'!A0"],
            "status": ["cultivated", "abandoned", "cultivated", "cultivated"],
            "area_mu": [1.5, 2.0, 0.8, 3.1],
            "score": [88.0, 75.5, 62.0, 45.0],
            "risk_class": ["high", "high", "high", "medium"],
            "risk_class_zh": ["高", "高", "高", "中"],
            "top_factor_zh": ["平均坡度"] * 4,
            "reason": ["平均坡度 23.0° / mean slope"] * 4,
        },
        geometry=boxes,
        crs=GK,
    )


def _expected_lonlat(gdf: gpd.GeoDataFrame):
    tr = pyproj.Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
    pts = gdf.geometry.representative_point()
    return [tr.transform(p.x, p.y) for p in pts]


def test_kml_points_outlines_folders_and_escaping(tmp_path):
    v = _visits()
    path = write_kml(
        v,
        tmp_path / "v.kml",
        name_field="parcel_id",
        description_fields=["contractor", "reason"],
        folder_fields=["village_name", "group"],
        style_field="risk_class",
        document_name="测试",
    )
    text = path.read_text(encoding="utf-8")
    assert "<b>" not in text and "&lt;b&gt;二村&lt;/b&gt; &amp; co" in text
    root = ET.fromstring(text.encode("utf-8"))
    points = root.findall(".//k:Placemark/k:Point/../k:name", NS)
    assert [p.text for p in points] == ["P1", "P2", "P3", "P4"]
    coords = [c.text.split(",") for c in root.findall(".//k:Point/k:coordinates", NS)]
    for (lon, lat, _), (elon, elat) in zip(coords, _expected_lonlat(v)):
        assert float(lon) == pytest.approx(elon, abs=1e-7) and float(lat) == pytest.approx(
            elat, abs=1e-7
        )
    folders = [f.text for f in root.findall(".//k:Folder/k:name", NS)]
    assert "位置点 points" in folders and "地块范围 outlines" in folders and "一社" in folders
    assert len(root.findall(".//k:Polygon", NS)) == 4
    # red icon style for high risk (aabbggrr)
    assert "ff0000ff" in text
    assert "承包户 household: 张三" in text


def test_gpx_waypoints_and_routes(tmp_path):
    v = _visits()
    path = write_gpx(
        v,
        tmp_path / "v.gpx",
        name_field="parcel_id",
        description_fields=["contractor", "score"],
        route_field="village_id",
    )
    gpx = gpxpy.parse(path.read_text(encoding="utf-8"))
    assert [w.name for w in gpx.waypoints] == ["P1", "P2", "P3", "P4"]
    for w, (elon, elat) in zip(gpx.waypoints, _expected_lonlat(v)):
        assert w.longitude == pytest.approx(elon, abs=1e-6) and w.latitude == pytest.approx(
            elat, abs=1e-6
        )
    assert [r.name for r in gpx.routes] == ["V1", "V2"]
    assert [p.name for p in gpx.routes[0].points] == ["P1", "P2", "P3"]
    assert "风险分 score: 88.00" in gpx.waypoints[0].description


def test_export_needs_crs(tmp_path):
    v = _visits().set_crs(None, allow_override=True)
    with pytest.raises(InputError, match="CRS"):
        write_kml(v, tmp_path / "x.kml", name_field="parcel_id")
    with pytest.raises(InputError, match="CRS"):
        write_gpx(v, tmp_path / "x.gpx", name_field="parcel_id")


def test_visit_list_files(tmp_path):
    paths = write_visit_list(_visits(), tmp_path, town_name="示范镇")
    assert set(paths) == {"xlsx", "kml", "gpx"} and all(p.is_file() for p in paths.values())
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb.sheetnames[0] == "全部 all" and "一村" in wb.sheetnames and len(wb.sheetnames) == 3
    ws = wb["一村"]
    assert "示范镇 一村 撂荒风险走访清单" in ws["A1"].value and "甲" in ws["A1"].value
    headers = [c.value for c in ws[3]]
    assert (
        "承包户 household" in headers
        and "备注 note" in headers
        and "村名 village" not in headers
    )
    col = headers.index("地块编码 parcel") + 1
    assert [ws.cell(row=r, column=col).value for r in (4, 5, 6)] == ["P1", "P2", "P3"]
    assert any("走访人" in str(c.value) for row in ws.iter_rows() for c in row if c.value)
    # status in Chinese; a formula-looking name stays text
    all_ws = wb["全部 all"]
    cells = [c for row in all_ws.iter_rows() for c in row]
    assert "撂荒" in [c.value for c in cells]
    risky = [c for c in cells if isinstance(c.value, str) and c.value.startswith("=")]
    assert risky and all(c.data_type == "s" for c in risky)  # stored as text, never a formula
    df = pd.read_excel(paths["xlsx"], sheet_name="全部 all", header=2)
    assert len(df) == 4


def test_visit_list_columns_to_fill_with_outcome_dropdown(tmp_path):
    """Issue 16: the empty columns the cadres fill, last; the outcome a drop-down; dates formatted."""
    paths = write_visit_list(_visits(), tmp_path, town_name="示范镇")
    wb = openpyxl.load_workbook(paths["xlsx"])
    for name in ("全部 all", "一村"):
        ws = wb[name]
        headers = [c.value for c in ws[3]]
        fill = ["走访日期 visit date", "走访结果 outcome", "计划复耕日期 planned date",
                "经营主体(已流转) operator", "无法耕种原因 why not farmed", "走访人 visitor",
                "备注 note"]
        assert headers[-len(fill):] == fill
        n = 3 if name == "一村" else 4  # data rows 4 .. 3 + n
        for h in fill:
            col = headers.index(h) + 1
            assert all(ws.cell(row=r, column=col).value in (None, "") for r in range(4, 4 + n))
        letter = openpyxl.utils.get_column_letter(headers.index("走访结果 outcome") + 1)
        lists = [d for d in ws.data_validations.dataValidation if d.type == "list"]
        assert len(lists) == 1 and str(lists[0].sqref) == f"{letter}4:{letter}{3 + n}"
        choices = lists[0].formula1.strip('"').split(",")
        assert choices == ["已复耕 recultivated", "计划复耕 will_recultivate", "已流转 transferred",
                           "无法耕种 cannot_farm", "未见到人 not_reached"]
        assert not lists[0].showErrorMessage  # a typed code or word is still accepted
        col = headers.index("走访日期 visit date") + 1
        assert ws.cell(row=4, column=col).number_format == "yyyy-mm-dd"
    # the sign-off line below the village's table is outside the drop-down's range
    assert any("走访人" in str(c.value) for c in wb["一村"]["A"] if c.row > 6)


def test_visit_list_sheet_names_are_safe(tmp_path):
    v = _visits()
    v["village_name"] = ["a/b:c" * 10] * 3 + ["a/b:c" * 10]
    v["village_id"] = ["V1", "V1", "V1", "V2"]
    paths = write_visit_list(v, tmp_path)
    names = openpyxl.load_workbook(paths["xlsx"]).sheetnames
    assert (
        len(names) == 3
        and len(set(names)) == 3
        and all(len(n) <= 31 and "/" not in n for n in names)
    )


def test_kml_text_with_cdata_or_entities_stays_text(tmp_path):
    """Issue 21: a village or head name with '<', '&' or '<![CDATA[' is text in the KML, escaped once."""
    v = _visits()
    v["village_name"] = ["一村", "一村", "一村", "<![CDATA[<b>x</b>]]> &amp; 二村"]
    v["leader"] = ["甲", "甲", "甲", "A & <B>"]
    path = write_kml(
        v, tmp_path / "v.kml", name_field="village_name", description_fields=["leader"],
        folder_fields=["village_name"], document_name="<镇> & co",
    )
    text = path.read_text(encoding="utf-8")
    assert "CDATA[" in text and "<![CDATA[" not in text and "<b>" not in text
    root = ET.fromstring(text.encode("utf-8"))
    names = [n.text.strip() for n in root.findall(".//k:Placemark/k:name", NS)]
    assert "<![CDATA[<b>x</b>]]> &amp; 二村" in names
    assert root.find("k:Document/k:name", NS).text == "<镇> & co"
    descs = [d.text for d in root.findall(".//k:Placemark/k:description", NS)]
    assert any("A & <B>" in d for d in descs)


def test_visit_list_coordinates_six_decimals_and_rank_in_list_order(tmp_path):
    """Issue 21: lon/lat with six decimals in the xlsx; 序号 1, 2, ... in the order of the list."""
    from gis_town.analysis.risk import visit_list

    v = _visits().drop(columns=["rank"])
    v["top_factor"] = "slope_mean_deg"
    listed = visit_list(v, size=10, include_abandoned=True)
    assert listed["rank"].tolist() == [1, 2, 3, 1]
    assert all(len(f"{x:.10f}".rstrip("0").split(".")[1]) > 2 for x in listed["lon"])
    paths = write_visit_list(listed, tmp_path)
    ws = openpyxl.load_workbook(paths["xlsx"])["全部 all"]
    headers = [c.value for c in ws[3]]
    assert headers[0] == "序号 no." and [ws.cell(row=r, column=1).value for r in range(4, 8)] == [1, 2, 3, 1]
    for h in ("经度 lon", "纬度 lat"):
        col = headers.index(h) + 1
        cells = [ws.cell(row=r, column=col) for r in range(4, 8)]
        assert all(c.number_format == "0.000000" for c in cells)
        assert [c.value for c in cells] == listed[h.split()[-1]].tolist()


def test_visit_list_title_names_what_the_list_is(tmp_path):
    paths = write_visit_list(_visits(), tmp_path, town_name="示范镇", stem="newly_abandoned",
                             title="新增撂荒走访清单 / newly abandoned parcels to visit")
    wb = openpyxl.load_workbook(paths["xlsx"])
    assert wb["全部 all"]["A1"].value == "示范镇 新增撂荒走访清单 / newly abandoned parcels to visit"
    assert wb["一村"]["A1"].value.startswith("示范镇 一村 新增撂荒走访清单 (包村领导")
    assert paths["xlsx"].name == "newly_abandoned.xlsx"


def test_visit_list_says_status_in_the_words_of_every_report(tmp_path):
    """耕种 / 撂荒 as the areas and risk reports say them (the schema's vocabulary), not 在耕."""
    paths = write_visit_list(_visits(), tmp_path, town_name="示范镇")
    ws = openpyxl.load_workbook(paths["xlsx"])["全部 all"]
    cells = {c.value for row in ws.iter_rows() for c in row if isinstance(c.value, str)}
    assert {"耕种", "撂荒"} <= cells and "在耕" not in cells
