"""gis_town.analysis.progress.programmes: programmes declared in the config alone, through their stages."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import openpyxl
import pandas as pd
import pytest
import shapely

from gis_town.analysis.progress.programmes import programme_progress
from gis_town.config import Programme, TownConfig
from gis_town.errors import ConfigError

STAGES = [{"field": "surveyed", "label": "摸底"}, {"field": "built", "label": "改造完成"},
          {"field": "accepted", "label": "验收"}]
AS_OF = "2023-06-30"


def _items() -> pd.DataFrame:
    """Five households; H4 is built with no survey (out of order), H3 built after the as-of date."""
    return pd.DataFrame({
        "item_id": ["H1", "H2", "H3", "H4", "H5"],
        "village_id": ["V1", "V1", "V2", "V2", "V2"],
        "surveyed": ["2023-03-01", "2023-03-01", "2023-03-01", None, None],
        "built": ["2023-05-01", "2023-06-15", "2023-07-10", "2023-05-01", None],
        "accepted": ["2023-06-01", None, None, None, None],
    })


def _run(targets, items=None):
    prog = Programme(name="卫生改厕 toilets", stages=STAGES, targets=targets)
    cfg = TownConfig(town={"year": 2023})
    return programme_progress(_items() if items is None else items, prog, key="toilets", config=cfg,
                              as_of=AS_OF)


def _row(t: pd.DataFrame, stage: str, vid: str = "合计") -> pd.Series:
    return t[(t["stage"] == stage) & (t["village_id"] == vid)].iloc[0]


def test_shares_against_a_dated_share_target():
    res = _run([{"date": "06-30", "stage": "built", "share": 0.6}])
    t = res.table
    s = _row(t, "surveyed")
    assert (s["done"], s["base"], s["share_pct"]) == (3, 5, 60.0)
    b = _row(t, "built")  # H1, H2; H3 is built after the as-of date, H4 without a survey (flagged)
    assert (b["done"], b["base"], b["flagged"], b["required"]) == (2, 5, 1, 3)  # ceil(0.6 x 5) = 3
    assert b["share_pct"] == pytest.approx(40.0) and b["status"] == "behind"
    assert _row(t, "accepted")["status"] == "not_due" and _row(t, "accepted")["done"] == 1
    v1, v2 = _row(t, "built", "V1"), _row(t, "built", "V2")
    assert (v1["done"], v1["base"], v1["required"], v1["status"]) == (2, 2, 2, "done")
    assert (v2["done"], v2["base"], v2["required"], v2["status"]) == (0, 3, 2, "behind")
    items = res.details["items"].set_index("item_id")
    assert items.loc["H1", "stage_reached"] == "验收" and items.loc["H5", "stage_reached"] == ""
    assert "built without surveyed" in items.loc["H4", "order_issue"]
    summary = res.summary.set_index("item")
    assert summary.loc["改造完成 built", "target"] == 3 and summary.loc["改造完成 built", "status"] == "behind"


def test_a_town_wide_count_target_is_the_denominator_when_larger():
    t = _run([{"date": "06-30", "stage": "built", "count": 8}]).table  # the plan's 8 户, 5 in the data
    b = _row(t, "built")
    assert (b["done"], b["base"], b["required"], b["status"]) == (2, 8, 8, "behind")
    assert b["share_pct"] == pytest.approx(25.0) and "planned 8, 5 in the data" in b["note"]
    assert _row(t, "built", "V1")["status"] == "town_target_only"


def test_a_target_not_yet_due_and_bad_declarations():
    t = _run([{"date": "09-30", "stage": "built", "share": 1.0}]).table
    assert _row(t, "built")["status"] == "not_due" and np.isnan(_row(t, "built")["required"])
    with pytest.raises(ValueError, match="not a stage"):
        Programme(name="x", stages=STAGES, targets=[{"date": "09-30", "stage": "planted", "share": 1}])
    with pytest.raises(ValueError, match="share"):
        Programme(name="x", stages=STAGES, targets=[{"date": "09-30", "stage": "built", "share": 1, "count": 3}])
    with pytest.raises(ConfigError):
        _run([{"date": "13-45", "stage": "built", "share": 1.0}])


def test_a_programme_declared_in_the_config_alone_gets_its_sheet_and_map_layer(tmp_path):
    """No code: a layer with Chinese columns, a [programmes.toilets] block, then progress and map."""
    from gis_town.cli import main
    from tests.test_maps import X0, Y0, make_town, page_layers

    town = make_town(tmp_path / "town")
    pts = gpd.GeoDataFrame(
        {"户编号": ["H1", "H2", "H3", "H4"], "村代码": ["V01", "V01", "V02", "V02"],
         "摸底日期": ["2023-03-01", "2023-03-02", "2023-03-03", None],
         "完成日期": ["2023-05-01", None, "2023-06-20", None]},
        geometry=[shapely.Point(X0 + 100 + 200 * i, Y0 + 500) for i in range(4)], crs="EPSG:4544",
    )
    pts.to_file(town, layer="toilets", driver="GPKG")
    cfg = town.parent / "town.toml"
    text = cfg.read_text(encoding="utf-8") if cfg.exists() else ""
    cfg.write_text(text + """
[programmes.toilets]
name = "卫生改厕 toilet renovation"
id_field = "household_id"
fields = { "户编号" = "household_id", "村代码" = "village_id", "摸底日期" = "surveyed", "完成日期" = "built" }
stages = [{ field = "surveyed", label = "摸底" }, { field = "built", label = "改造完成" }]
targets = [{ date = "06-30", stage = "built", share = 0.5 }]
""", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["-q", "progress", str(town), "--as-of", AS_OF, "--out", str(out)]) == 0
    wb = openpyxl.load_workbook(out / "progress.xlsx")
    assert "卫生改厕 toilet renovation" in wb.sheetnames
    csv = pd.read_csv(out / "programme_toilets.csv")
    built = csv[(csv["stage"] == "built") & (csv["village_id"] == "合计")].iloc[0]
    assert (built["done"], built["base"], built["required"]) == (2, 4, 2)  # 50 % of 4 due, 2 built
    summary = pd.read_csv(out / "summary.csv")
    assert (summary["topic"] == "卫生改厕 toilet renovation").sum() == 2
    page = tmp_path / "progress.html"
    assert main(["-q", "map", str(town), "--kind", "progress", "--as-of", AS_OF, "--out", str(page)]) == 0
    layers = page_layers(page.read_text(encoding="utf-8"))
    assert any(d.get("n") == "卫生改厕 toilet renovation" for d in layers.values())
