"""High-standard farmland construction: hand-made sections of known area, stage by stage.

Four sections are rectangles in the Gauss-Kruger zone (EPSG:4544) of one
project with a 100 mu target; each has a stage date pattern. The expected
areas are the geodesic areas (:class:`pyproj.Geod` on the CGCS2000 ellipsoid)
of the rectangles that reached a stage, computed here from their corners.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod, Transformer

from gis_town.analysis.progress import high_standard_progress
from gis_town.analysis.progress.construction import section_checks, section_stages
from gis_town.config import parse_config

GK = "EPSG:4544"
X0, Y0 = 463_000.0, 3_941_000.0
MU = 10_000 / 15
AS_OF = "2023-10-31"
_TO_LONLAT = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
_GEOD = Geod(a=6378137.0, rf=298.257222101)  # CGCS2000


def _rect(i: int, w: float, h: float) -> shapely.Polygon:
    """A w x h m rectangle at site ``i`` (sites 500 m apart)."""
    return shapely.box(X0 + 500.0 * i, Y0, X0 + 500.0 * i + w, Y0 + h)


def geodesic_mu(poly: shapely.Polygon) -> float:
    x, y = np.asarray(poly.exterior.coords).T
    lon, lat = _TO_LONLAT.transform(x, y)
    return abs(_GEOD.polygon_area_perimeter(lon, lat)[0]) / MU


# id, rectangle, planned, started, built, accepted, uploaded
SECTIONS = [
    ("S1", _rect(0, 200, 100), "2023-02-01", "2023-03-01", "2023-06-30", "2023-09-15", "2023-10-20"),
    ("S2", _rect(1, 150, 100), "2023-02-01", "2023-03-01", "2023-07-31", "2023-09-15", None),
    ("S3", _rect(2, 100, 100), "2023-02-01", "2023-04-01", None, None, None),
    # accepted before it was built: out of order, neither accepted nor uploaded
    ("S4", _rect(3, 120, 50), "2023-02-01", "2023-03-01", "2023-08-31", "2023-08-01", "2023-10-01"),
]
STAGES = ("planned", "started", "built", "accepted", "uploaded")


def _sections() -> gpd.GeoDataFrame:
    rows = [dict(zip(("section_id", "geometry", *STAGES), s, strict=True)) for s in SECTIONS]
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs=GK).to_crs("EPSG:4490")
    gdf["project"] = "A项目"
    gdf["village_id"] = "V1"
    return gdf


def _mu(*ids: str) -> float:
    return sum(geodesic_mu(s[1]) for s in SECTIONS if s[0] in ids)


def test_each_stage_counts_the_sections_that_reached_it_in_order():
    sec = section_stages(_sections(), as_of=pd.Timestamp(AS_OF), names={"V1": "一村"}).set_index("section_id")
    for sid, rect, *_ in SECTIONS:
        assert sec.at[sid, "area_mu"] == pytest.approx(geodesic_mu(rect), rel=1e-6)
    assert list(sec.index[sec["built_reached"]]) == ["S1", "S2", "S4"]
    assert list(sec.index[sec["accepted_reached"]]) == ["S1", "S2"]
    assert list(sec.index[sec["uploaded_reached"]]) == ["S1"]
    assert sec.at["S4", "order_issue"], "accepted before built must be flagged"
    assert "2023-08-01" in sec.at["S4", "order_issue"] and "2023-08-31" in sec.at["S4", "order_issue"]
    assert sec.at["S3", "stage_reached"].startswith("开工建设")
    assert (sec["check_state"] == "unchecked").all()
    assert "未运行验收前检查" in sec.at["S1", "note"]


def test_an_earlier_as_of_date_counts_less():
    sec = section_stages(_sections(), as_of=pd.Timestamp("2023-07-01"), names={}).set_index("section_id")
    assert list(sec.index[sec["built_reached"]]) == ["S1"]
    assert not sec["accepted_reached"].any()


def _plots() -> gpd.GeoDataFrame:
    """Checked plots: p1 names S2 in its field (though it lies in S1), p2 and p3 lie in S1,
    p4 in no section, p5 a self-crossing bow-tie inside S2."""
    bow = shapely.Polygon([(X0 + 510, Y0 + 10), (X0 + 540, Y0 + 40), (X0 + 540, Y0 + 10), (X0 + 510, Y0 + 40)])
    geoms = [_rect(0, 20, 20), _rect(0, 30, 30), _rect(0, 10, 10), _rect(9, 10, 10), bow]
    return gpd.GeoDataFrame(
        {"plot_id": ["p1", "p2", "p3", "p4", "p5"], "section_id": ["S2", None, None, None, None]},
        geometry=geoms, crs=GK,
    )


def test_plots_go_to_their_named_section_else_the_one_that_contains_them():
    checks = section_checks(_sections(), _plots(), np.array([True, False, True, True, False]),
                            plot_ids=_plots()["plot_id"].to_numpy()).set_index("section_id")
    assert checks.loc["S1", ["checked_plots", "failed_plots"]].tolist() == [2, 1]
    assert checks.at["S1", "failed_plot_ids"] == "p2"
    assert checks.loc["S2", ["checked_plots", "failed_plots"]].tolist() == [2, 1]  # p1, and p5 by bbox
    assert checks.at["S2", "failed_plot_ids"] == "p5"
    assert checks.loc["S3", ["checked_plots", "failed_plots"]].tolist() == [0, 0]


def test_a_failed_check_blocks_acceptance_and_upload():
    sections = _sections()
    passed = np.array([True, False, True, True, True])  # p2 in S1 fails
    checks = section_checks(sections, _plots(), passed, plot_ids=_plots()["plot_id"].to_numpy())
    sec = section_stages(sections, as_of=pd.Timestamp(AS_OF), names={}, checks=checks).set_index("section_id")
    assert list(sec.index[sec["accepted_reached"]]) == ["S2"]
    assert not sec["uploaded_reached"].any()
    assert sec.at["S1", "check_state"] == "failed" and "p2" in sec.at["S1", "note"]
    assert sec.at["S2", "check_state"] == "passed"
    assert "无验收前检查地块" not in sec.at["S2", "note"]


def test_progress_compares_the_target_with_built_not_tagged_area():
    sections = _sections()
    farmland = gpd.GeoDataFrame(  # tagged with the project: all four sections, and more
        {"parcel_id": ["f1", "f2"], "project": ["A项目", "A项目"], "village_id": ["V1", "V1"],
         "declared_area_mu": [np.nan, np.nan]},
        geometry=[shapely.union_all([s[1] for s in SECTIONS]), _rect(5, 300, 300)], crs=GK,
    )
    cfg = parse_config({"targets": {"high_standard": {"A项目": 100}}})
    tagged = high_standard_progress(farmland, config=cfg, as_of=AS_OF).table.set_index("project")
    assert tagged.at["A项目", "measure"] == "tagged"
    res = high_standard_progress(farmland, config=cfg, as_of=AS_OF, sections=sections)
    t = res.table.set_index("project")
    assert t.at["A项目", "measure"] == "built"
    assert t.at["A项目", "built_mu"] == pytest.approx(_mu("S1", "S2", "S4"), rel=1e-6)
    assert t.at["A项目", "accepted_mu"] == pytest.approx(_mu("S1", "S2"), rel=1e-6)
    assert t.at["A项目", "uploaded_mu"] == pytest.approx(_mu("S1"), rel=1e-6)
    assert t.at["A项目", "share_pct"] == pytest.approx(100 * _mu("S1", "S2", "S4") / 100, rel=1e-6)
    assert t.at["A项目", "tagged_mu"] == pytest.approx(
        tagged.at["A项目", "tagged_mu"], rel=1e-9
    ) and t.at["A项目", "tagged_mu"] > t.at["A项目", "built_mu"] * 2
    assert len(res.details["high_standard_sections"]) == 4


DEMO = Path(__file__).resolve().parents[1] / "layers"


def test_demo_built_area_is_the_area_of_its_built_sections(tmp_path):
    """The demo's 张家岔 built mu, recomputed from the shipped sections' dates and corners."""
    from gis_town.cli import main
    from tests.demo_files import copy_demo

    town = copy_demo(tmp_path, rasters=False)
    assert main(["progress", str(town), "--as-of", "2023-12-31", "--out", str(tmp_path / "out"), "-q"]) == 0
    got = pd.read_csv(tmp_path / "out" / "high_standard.csv", dtype={"project": str}).set_index("project")
    raw = gpd.read_file(DEMO / "high_standard.gpkg", layer="high_standard_sections")
    day = pd.Timestamp("2023-12-31")
    d = {k: pd.to_datetime(raw[k], errors="coerce") for k in ("规划设计", "开工日期", "完工日期")}
    built = (d["规划设计"] <= d["开工日期"]) & (d["开工日期"] <= d["完工日期"]) & (d["完工日期"] <= day)
    lonlat = raw.to_crs("EPSG:4490")
    for project in ("张家岔", "柳家河", "石峡"):
        mine = lonlat[(built & raw["项目名称"].str.contains(project)).to_numpy()]
        assert len(mine), project
        expect = sum(abs(_GEOD.geometry_area_perimeter(g)[0]) for g in mine.geometry) / MU
        name = next(n for n in got.index if project in str(n))
        assert got.at[name, "built_mu"] == pytest.approx(expect, abs=0.01)


def test_the_progress_map_shows_each_section_by_stage_and_rings_the_failed(tmp_path):
    """The demo's progress map: 14 sections by stage reached, the 3 of 石峡 whose check failed ringed."""
    from gis_town.cli import main
    from tests.demo_files import copy_demo
    from tests.test_maps import column, page_layers

    town = copy_demo(tmp_path, rasters=True)
    page = tmp_path / "progress.html"
    assert main(["map", str(town), "--kind", "progress", "--as-of", "2023-12-31", "--out", str(page), "-q"]) == 0
    layers = page_layers(page.read_text(encoding="utf-8"))
    sections = layers["高标准农田建设片区 high-standard sections"]
    ids = column(sections, "标段编号")
    stage = dict(zip(ids, column(sections, "已到阶段"), strict=True))
    assert len(ids) == 14
    assert stage["V10-BD01"] == "上图入库" and stage["V04-BD04"] == "开工建设"
    assert stage["V10-BD02"] == "完工"  # accepted before built: not counted
    failed = layers["验收前检查未通过片区 sections failing the check"]
    assert sorted(column(failed, "标段编号")) == ["V03-BD01", "V03-BD03", "V03-BD04"]


def test_blank_or_repeated_section_ids_are_named():
    from gis_town.errors import FieldError

    sec = _sections()
    sec.loc[1, "section_id"] = "S1"
    sec.loc[2, "section_id"] = None
    with pytest.raises(FieldError, match=r"1:S1.*2:S1.*3:\(空 blank\)"):
        section_stages(sec, as_of=pd.Timestamp(AS_OF), names={})
