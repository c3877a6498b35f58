"""Excel ledgers as layers: Chinese headers, a title row, 度分秒, mixed date spellings, bad rows."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from gis_town.errors import FieldError, LayerError
from gis_town.io.ledger import place_by_join, read_ledger
from gis_town.io.values import parse_dates, parse_degrees
from gis_town.schema import LAYERS

REPO = Path(__file__).resolve().parents[1]
DEMO = REPO / "layers" / "demo_town.gpkg"
STAGES = [f for f in LAYERS["resettlement"].optional if LAYERS["resettlement"].types.get(f) == "date"]


def test_date_spellings():
    dates, bad = parse_dates(
        pd.Series(["2023年6月30日", "2023.6.30", "2023/06/30", "2023-6-30", 45107, "20230630",
                   dt.date(2023, 6, 30), None, "", "六月底", "2023-02-30"], dtype="object")
    )
    assert (dates.iloc[:7] == pd.Timestamp("2023-06-30")).all()  # 45107 is Excel's serial of that day
    assert dates.iloc[7:].isna().all()
    assert bad.tolist() == [False] * 9 + [True, True]


def test_degrees_minutes_seconds():
    deg, bad = parse_degrees(pd.Series(["104°37′12.5″", "104度37分12.5秒", "E104 37 12.5", 104.62, "35°36'N", "104°75′", "x"]))
    assert deg[:3] == pytest.approx([104 + 37 / 60 + 12.5 / 3600] * 3, abs=1e-12)
    assert deg[3] == 104.62 and deg[4] == pytest.approx(35.6)
    assert bad.tolist() == [False] * 5 + [True, True]


def write_ledger(path: Path, households: gpd.GeoDataFrame, *, bad_row: bool = True) -> Path:
    """The demo households as a clerk's workbook (the demo town as delivered), and one row with unreadable 度分秒."""
    from openpyxl import load_workbook

    from gis_town.demo.delivered import write_ledger as write

    write(path, households)
    if bad_row:
        wb = load_workbook(path)
        ws = wb.active
        headers = [c.value for c in ws[2]]
        row = dict.fromkeys(headers)
        row.update({"户编号": "BAD-1", "村代码": "V01", "户主": "某某", "安置方式": "进城", "搬迁年度": 2023,
                    "经度": "东经一百零四度", "纬度": 35.6, "备注": "坐标写错"})
        ws.append([row[h] for h in headers])
        wb.save(path)
    return path


@pytest.fixture(scope="module")
def demo_households() -> gpd.GeoDataFrame:
    return gpd.read_file(DEMO, layer="resettlement")


def test_ledger_reads_like_the_geopackage_layer(tmp_path, demo_households):
    xlsx = write_ledger(tmp_path / "台账.xlsx", demo_households)
    before = xlsx.read_bytes()
    led = read_ledger(xlsx, layer="resettlement")
    assert xlsx.read_bytes() == before  # never modified
    rej = led.attrs["rejects"]
    assert list(rej["feature_id"]) == ["BAD-1"] and int(rej["row"].iloc[0]) == len(demo_households) + 3
    assert "东经一百零四度" in rej["reason"].iloc[0]
    assert len(led) == len(demo_households)
    assert list(led["household_id"]) == list(demo_households["household_id"])
    # coordinates within 1e-6 m-ish (six decimals of a second), dates equal
    assert np.allclose(led.geometry.x, demo_households.geometry.x, atol=1e-9)
    assert np.allclose(led.geometry.y, demo_households.geometry.y, atol=1e-9)
    for f in STAGES:
        want = pd.to_datetime(demo_households[f]).to_numpy()
        got = pd.to_datetime(led[f]).to_numpy()
        assert ((want == got) | (pd.isna(want) & pd.isna(got))).all(), f


def test_ledger_gives_the_same_milestone_shares(tmp_path, demo_households):
    from gis_town.analysis.progress import resettlement_progress
    from gis_town.config import config_for
    from gis_town.io.validate import validate_layer

    cfg = config_for(DEMO)
    led = read_ledger(write_ledger(tmp_path / "台账.xlsx", demo_households), layer="resettlement")
    a, _ = validate_layer(demo_households, "resettlement")
    b, problems = validate_layer(led, "resettlement")
    assert len(problems) == 0
    ta = resettlement_progress(a, config=cfg, as_of="2023-06-30").table
    tb = resettlement_progress(b, config=cfg, as_of="2023-06-30").table
    cols = ["households", "done", "share_pct"]
    pd.testing.assert_frame_equal(ta[cols].reset_index(drop=True), tb[cols].reset_index(drop=True))
    assert ta["done"].sum() > 0


def test_ledger_without_coordinates_joins_to_settlements(tmp_path, demo_households):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.append(["户编号", "村代码", "安置方式"])
    ws.append(["H1", "V01", "进城"])
    ws.append(["H2", "V99", "乡镇"])
    wb.save(tmp_path / "a.xlsx")
    led = read_ledger(tmp_path / "a.xlsx", layer="resettlement")
    assert led.attrs.get("needs_geometry")
    settlements = gpd.read_file(DEMO, layer="settlements")
    placed = place_by_join(led, settlements, on="village_id", layer="resettlement", other_layer="settlements")
    first = settlements[settlements["village_id"] == "V01"].sort_values("settlement_id").geometry.iloc[0]
    assert list(placed["household_id"]) == ["H1"] and placed.geometry.iloc[0].equals(first)
    assert list(placed.attrs["rejects"]["feature_id"]) == ["H2"]


def test_bad_workbooks(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.save(tmp_path / "empty.xlsx")
    with pytest.raises(LayerError, match="为空"):
        read_ledger(tmp_path / "empty.xlsx", layer="resettlement")

    wb = Workbook()
    ws = wb.active
    ws.append(["户编号", "进度", None, "村代码"])
    ws.append([None, "入住", "拆旧", None])
    ws.merge_cells("B1:C1")
    ws.append(["H1", "2023-05-01", "2023-06-01", "V01"])
    wb.save(tmp_path / "merged.xlsx")
    with pytest.raises(FieldError, match="合并单元格") as exc:
        read_ledger(tmp_path / "merged.xlsx", layer="resettlement")
    assert "B1:C1" in str(exc.value)

    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(LayerError, match="无法读取"):
        read_ledger(tmp_path / "broken.xlsx", layer="resettlement")
    with pytest.raises(LayerError, match="no sheet"):
        read_ledger(tmp_path / "merged.xlsx", layer="resettlement", sheet="台账")
