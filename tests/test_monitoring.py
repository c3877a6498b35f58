"""gis_town.analysis.monitoring and ``gis-town monitoring``: 三类户 counted per village, privacy first."""

from __future__ import annotations

import geopandas as gpd
import openpyxl
import pandas as pd
import pytest

from gis_town.analysis.monitoring import monitoring_by_village, visits_due
from gis_town.cli import main
from tests.demo_files import LAYERS, copy_demo


def _ledger() -> pd.DataFrame:
    return pd.DataFrame({
        "household_id": ["A", "B", "C", "D"],
        "village_id": ["V1", "V1", "V2", "V2"],
        "head": ["甲", "乙", "丙", "丁"],
        "category": ["脱贫不稳定户", "边缘易致贫户", "脱贫不稳定户", "其他说法"],
        "members": [3, 4, 2, None],
        "risk_reasons": ["就医、教育", "就业", "产业, 医保", "因灾"],
        "last_visit": ["2023-12-20", "2023-11-01", None, "2023-12-01"],
    })


def test_counts_per_village_reasons_and_visits_due():
    t = monitoring_by_village(_ledger(), as_of="2023-12-31", visit_every_days=30).set_index("village_id")
    assert t.loc["V1", "households"] == 2 and t.loc["V1", "people"] == 7
    assert t.loc["合计", "category_unstable"] == 2 and t.loc["合计", "category_other"] == 1
    assert t.loc["合计", "reason_就医"] == 1 and t.loc["合计", "reason_医保"] == 1 and t.loc["合计", "reason_其他"] == 1
    # B last visited 60 days before, C never: due; A 11 days, D exactly 30 days: not due
    assert (t.loc["V1", "visits_due"], t.loc["V2", "visits_due"], t.loc["合计", "visits_due"]) == (1, 1, 2)
    assert {"head", "household_id"}.isdisjoint(t.columns)  # counts only
    due = visits_due(_ledger(), as_of="2023-12-31", visit_every_days=30)
    assert due["household_id"].tolist() == ["B", "C"]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("monitoring")
    town = copy_demo(tmp, rasters=False)
    public, internal = tmp / "public", tmp / "internal"
    assert main(["-q", "monitoring", str(town), "--offline", "--out", str(public)]) == 0
    assert main(["-q", "monitoring", str(town), "--offline", "--internal", "--out", str(internal)]) == 0
    ledger = gpd.read_file(LAYERS / "monitoring.gpkg", layer="monitoring")
    return public, internal, ledger


def _all_text(folder) -> str:
    text = []
    for p in folder.iterdir():
        if p.suffix in (".html", ".csv"):
            text.append(p.read_text(encoding="utf-8-sig"))
        elif p.suffix == ".xlsx":
            wb = openpyxl.load_workbook(p)
            text += [str(c.value) for ws in wb for row in ws.iter_rows() for c in row if c.value is not None]
    return "\n".join(text)


def test_without_internal_no_name_id_or_position_leaves_the_office(runs):
    public, _, ledger = runs
    assert sorted(p.name for p in public.iterdir()) == ["monitoring.html", "monitoring.xlsx", "monitoring_villages.csv"]
    text = _all_text(public)
    leaked = [n for n in ledger["户主"] if n in text] + [i for i in ledger["户编号"] if i in text]
    assert not leaked, leaked[:5]
    page = (public / "monitoring.html").read_text(encoding="utf-8")
    assert "监测户 households (内部 internal)" not in page and "内部资料" not in page
    total = pd.read_csv(public / "monitoring_villages.csv").set_index("village_id").loc["合计", "households"]
    assert total == len(ledger) == 280


def test_internal_outputs_carry_names_and_say_so_everywhere(runs):
    _, internal, ledger = runs
    names = {p.name for p in internal.iterdir()}
    assert {"monitoring_INTERNAL.xlsx", "monitoring_INTERNAL.html", "monitoring_visits_due_INTERNAL.csv"} <= names
    assert ledger["户主"].iloc[0] in _all_text(internal)
    wb = openpyxl.load_workbook(internal / "monitoring_INTERNAL.xlsx")
    assert all("内部资料" in str(ws["A1"].value) for ws in wb)
    assert "内部资料 注意保密" in (internal / "monitoring_INTERNAL.html").read_text(encoding="utf-8")
