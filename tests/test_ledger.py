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
from gis_town.schema import FIELD_LABELS, LAYERS

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


def _dms(v: float) -> str:
    d = int(v)
    m = int((v - d) * 60)
    s = (v - d - m / 60) * 3600
    return f"{d}°{m}′{s:.6f}″"


def _spell(i: int, value) -> object:
    """A date written the way a clerk might: four spellings in turn, and real Excel dates."""
    if value is None or pd.isna(value):
        return None
    d = pd.Timestamp(value)
    return [d.to_pydatetime(), f"{d.year}年{d.month}月{d.day}日", f"{d.year}.{d.month}.{d.day}", f"{d:%Y/%m/%d}"][i % 4]


def write_ledger(path: Path, households: gpd.GeoDataFrame, *, bad_row: bool = True) -> Path:
    """The demo households as a clerk's workbook: a merged title row, Chinese headers, 度分秒."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "搬迁户台账"
    fields = ["household_id", "village_id", "head", "destination", "cohort", *STAGES]
    headers = [FIELD_LABELS[f] for f in fields] + ["经度", "纬度", "备注"]
    ws.append(["关川镇2023年避险搬迁户台账"])
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(headers))
    ws.append(headers)
    for i, (_, r) in enumerate(households.iterrows()):
        lon, lat = r.geometry.x, r.geometry.y
        row = [r[f] if f not in STAGES else _spell(i, r[f]) for f in fields]
        row += [_dms(lon) if i % 2 else lon, _dms(lat) if i % 2 else lat, ""]
        ws.append(row)
    if bad_row:
        ws.append(["BAD-1", "V01", "某某", "进城", 2023] + [None] * len(STAGES) + ["东经一百零四度", 35.6, "坐标写错"])
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
