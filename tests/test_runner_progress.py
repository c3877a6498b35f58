"""``gis-town progress`` and ``gis-town map --kind progress`` on the demo town find the same numbers.

Both commands go through :func:`gis_town.runners.progress.run_progress`; the
tests read the written files and the map's page and compare them, and
recompute a milestone share by hand from the household dates.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from gis_town.analysis.progress import STAGE_LABELS, STAGE_PREREQUISITES, STAGES
from gis_town.cli import main
from tests.demo_files import copy_demo
from tests.test_maps import column, page_layers

DEMO = Path(__file__).resolve().parents[1] / "layers"
AS_OF = "2023-06-30"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    """The demo town (copied), its progress reports and its progress map, as of 2023-06-30."""
    tmp = tmp_path_factory.mktemp("progress")
    town = copy_demo(tmp, rasters=False)
    assert main(["progress", str(town), "--as-of", AS_OF, "--out", str(tmp / "out"), "-q"]) == 0
    page = tmp / "progress.html"
    assert (
        main(["map", str(town), "--kind", "progress", "--as-of", AS_OF, "--out", str(page), "-q"])
        == 0
    )
    return tmp / "out", page_layers(page.read_text(encoding="utf-8"))


def _csv(out: Path, name: str) -> pd.DataFrame:
    return pd.read_csv(out / name, dtype=str, keep_default_na=False)


def _reached_by_hand(hh: pd.DataFrame, stage: str) -> pd.Series:
    """Stage date on or before the as-of date, and each prerequisite reached on or before it."""
    day = pd.Timestamp(AS_OF)
    d = pd.to_datetime(hh[stage].replace("", None))
    ok = d.notna() & (d <= day)
    for p in STAGE_PREREQUISITES.get(stage, ()):
        dp = pd.to_datetime(hh[p].replace("", None))
        ok &= dp.notna() & (dp <= day) & (dp <= d)
    return ok


def test_stage_reached_on_the_map_equals_the_household_table(outputs):
    out, layers = outputs
    hh = _csv(out, "resettlement_households.csv")
    by_hand = {}
    for _, row in hh.iterrows():
        last = ""
        for s in STAGES:
            if _reached_by_hand(row.to_frame().T, s).iloc[0]:
                last = STAGE_LABELS[s]
        by_hand[row["household_id"]] = last or "未开始 not started"
    layer = layers["搬迁户 households by stage reached"]
    on_map = dict(zip(column(layer, "户编号"), column(layer, "已到环节")))
    assert on_map == by_hand
    assert len(on_map) == len(hh) > 0


def test_milestone_share_recomputed_by_hand(outputs):
    out, _ = outputs
    hh = _csv(out, "resettlement_households.csv")
    table = _csv(out, "resettlement.csv")
    summary = _csv(out, "summary.csv")
    coh = hh[hh["cohort"] == "2023"]
    done = int(_reached_by_hand(coh, "moved_in").sum())
    row = table[
        (table["cohort"] == "2023")
        & (table["scope"] == "合计 total")
        & (table["stage"] == "moved_in")
    ]
    n = int(row["households"].iloc[0])
    assert int(row["done"].iloc[0]) == done
    assert float(row["share_pct"].iloc[0]) == pytest.approx(100.0 * done / n)
    item = summary[summary["item"] == "入住 moved_in (2023年度 cohort)"]
    assert float(item["done"].iloc[0]) == done
    assert float(item["share_pct"].iloc[0]) == pytest.approx(100.0 * done / n)


def test_belt_share_on_the_map_equals_zones_csv(outputs):
    out, layers = outputs
    zones = _csv(out, "zones.csv")
    zones = zones[zones["zone_id"] != "合计"]
    belts = layers["示范片带完成度 belts: share of planned mu"]
    on_map = dict(zip(column(belts, "名称"), column(belts, "完成比例(%)")))
    assert on_map
    for name, share in on_map.items():
        expected = float(zones.loc[zones["name"] == name, "share_pct"].iloc[0])
        assert float(str(share).replace(",", "")) == pytest.approx(expected, abs=0.06)


def test_sections_that_are_not_polygons_go_to_the_rejects():
    from types import SimpleNamespace

    import geopandas as gpd
    import shapely

    from gis_town.io.validate import PROBLEM_COLUMNS
    from gis_town.runners.progress import _polygon_sections

    sections = gpd.GeoDataFrame(
        {"section_id": ["A", "B", "C"]},
        geometry=[shapely.box(0, 0, 1, 1), shapely.LineString([(0, 0), (1, 1)]), shapely.Polygon()],
        crs=4544,
    )
    town = SimpleNamespace(problems=pd.DataFrame(columns=PROBLEM_COLUMNS))
    kept = _polygon_sections(town, sections, "high_standard_sections", "section_id")
    assert list(kept["section_id"]) == ["A"]
    assert list(town.problems["feature_id"]) == ["B", "C"]
    assert (town.problems["action"] == "rejected").all()
    _polygon_sections(town, sections, "high_standard_sections", "section_id")  # read again: listed once
    assert len(town.problems) == 2
