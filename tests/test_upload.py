"""The upload of accepted high-standard plots (上图入库): hand-made parcels of known area.

Two sections (rectangles in EPSG:4544): A accepted on the as-of date, B only built. Parcels
are rectangles inside them (and one tagged parcel outside both); each tests one reason to
leave a parcel out. Expected areas are geodesic (:class:`pyproj.Geod`, CGCS2000 ellipsoid)
from the corners; the coordinate file is parsed back and its rings compared with the input.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from pyproj import Geod, Transformer

from gis_town.analysis.progress.construction import section_checks, section_stages
from gis_town.analysis.progress.upload import upload_plots, upload_summary
from gis_town.io.coordinates import write_boundary_txt
from gis_town.io.write import write_vector
from tests.demo_files import copy_demo

GK = "EPSG:4544"
X0, Y0 = 463_000.0, 3_941_000.0
MU = 10_000 / 15
_TO_LONLAT = Transformer.from_crs(GK, "EPSG:4490", always_xy=True)
_GEOD = Geod(a=6378137.0, rf=298.257222101)  # CGCS2000
REPO = Path(__file__).resolve().parents[1]


def geodesic_mu(poly: shapely.Polygon) -> float:
    x, y = np.asarray(poly.exterior.coords).T
    lon, lat = _TO_LONLAT.transform(x, y)
    return abs(_GEOD.polygon_area_perimeter(lon, lat)[0]) / MU


def _box(x: float, y: float, w: float, h: float) -> shapely.Polygon:
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + h)


def _sections() -> gpd.GeoDataFrame:
    gdf = gpd.GeoDataFrame(
        {
            "section_id": ["A", "B"],
            "project": ["甲项目", "甲项目"],
            "village_id": ["V1", "V1"],
            "planned": ["2023-02-01"] * 2,
            "started": ["2023-03-01"] * 2,
            "built": ["2023-07-01", "2023-08-01"],
            "accepted": ["2023-09-01", None],
            "uploaded": ["2023-10-01", None],
        },
        geometry=[_box(0, 0, 400, 300), _box(1000, 0, 300, 300)],
        crs=GK,
    )
    return gdf.to_crs(4490)


# parcel id, rectangle, project, land use, expected reason ('' = uploaded)
PARCELS = [
    ("P1", _box(10, 10, 180.5, 120.25), "甲项目", "旱地", ""),
    ("P2", _box(200, 10, 150, 100), "甲项目", "水浇地", ""),
    ("P3", _box(10, 150, 100, 100), "甲项目", "果园", "not_cropland"),
    ("P4", _box(200, 150, 100, 100), None, "旱地", "check_failed"),  # untagged, in A
    ("P5", _box(1010, 10, 100, 100), "甲项目", "旱地", "not_accepted"),
    ("P6", _box(3000, 0, 50, 50), "甲项目", "旱地", "no_section"),
]
OUTSIDE = ("P7", _box(5000, 0, 50, 50), None, "旱地")  # no project, in no section: not a candidate


def _farmland() -> gpd.GeoDataFrame:
    rows = [p[:4] for p in PARCELS] + [OUTSIDE]
    gdf = gpd.GeoDataFrame(
        {"parcel_id": [r[0] for r in rows], "project": [r[2] for r in rows],
         "land_use": [r[3] for r in rows], "village_id": "V1"},
        geometry=[r[1] for r in rows], crs=GK,
    )
    return gdf.to_crs(4490)


@pytest.fixture(scope="module")
def upload():
    sections = _sections()
    passed = np.array([True, True, True, False, True, True, True])
    farmland = _farmland()
    checks = section_checks(sections, farmland, passed, plot_ids=farmland["parcel_id"].to_numpy())
    assert checks.set_index("section_id").at["A", "failed_plots"] == 1
    # the check's failure alone would block A: this test keeps A accepted to see each reason
    stages = section_stages(sections, as_of=pd.Timestamp("2023-12-31"), names={"V1": "一村"})
    return upload_plots(farmland, sections, stages, check_failures={"P4": "slope"}, names={"V1": "一村"}), stages


def test_each_candidate_is_uploaded_or_rejected_with_its_reason(upload):
    res, _ = upload
    expected = {p[0]: p[4] for p in PARCELS}
    assert list(res.plots["DKBH"]) == [k for k, v in expected.items() if v == ""]
    assert dict(zip(res.rejects["plot_id"], res.rejects["reason_code"], strict=True)) == {
        k: v for k, v in expected.items() if v
    }
    assert OUTSIDE[0] not in set(res.plots["DKBH"]) | set(res.rejects["plot_id"])
    assert "slope" in res.rejects.set_index("plot_id").at["P4", "reason"]
    assert "完工" in res.rejects.set_index("plot_id").at["P5", "reason"]


def test_upload_fields_areas_and_crs(upload):
    res, _ = upload
    assert res.plots.crs.to_epsg() == 4490
    up = res.plots.set_index("DKBH")
    for pid, rect, *_ in PARCELS[:2]:
        assert up.at[pid, "DKMJ"] == round(geodesic_mu(rect), 2)
    assert list(up["DLBM"]) == ["0103", "0102"]
    assert list(up["DLMC"]) == ["旱地", "水浇地"]
    assert (up["BDBH"] == "A").all() and (up["XMMC"] == "甲项目").all()
    assert (up["ZLDWMC"] == "一村").all()
    assert (up["YSRQ"] == "2023-09-01").all() and (up["RKRQ"] == "2023-10-01").all()


def test_summary_adds_up(upload):
    res, stages = upload
    s = upload_summary(res, stages).set_index("project")
    assert s.at["甲项目", "plots"] == 2 and s.at["甲项目", "rejected_plots"] == 4
    assert s.at["甲项目", "accepted_sections"] == 1
    assert s.at["合计 total", "area_mu"] == pytest.approx(res.plots["DKMJ"].sum(), abs=1e-9)
    assert s.at["甲项目", "uploaded_plots"] == 2


def test_a_section_with_a_failed_plot_is_not_accepted():
    sections, farmland = _sections(), _farmland()
    passed = np.array([True, True, True, False, True, True, True])
    checks = section_checks(sections, farmland, passed, plot_ids=farmland["parcel_id"].to_numpy())
    stages = section_stages(sections, as_of=pd.Timestamp("2023-12-31"), names={}, checks=checks)
    res = upload_plots(farmland, sections, stages, check_failures={"P4": "slope"})
    assert len(res.plots) == 0
    codes = dict(zip(res.rejects["plot_id"], res.rejects["reason_code"], strict=True))
    assert codes["P1"] == "not_accepted" and codes["P4"] == "check_failed"


def _parse_txt(path: Path) -> tuple[dict, list[tuple[list[str], list[list[str]]]]]:
    lines = path.read_bytes().decode("gbk").split("\r\n")
    head = dict(line.split("=", 1) for line in lines[1:lines.index("[地块坐标]")])
    plots, body = [], [x for x in lines[lines.index("[地块坐标]") + 1:] if x]
    while body:
        first = body.pop(0).split(",")
        n = int(first[0])
        plots.append((first, [body.pop(0).split(",") for _ in range(n)]))
    return head, plots


def test_boundary_txt_rings_give_back_the_plots(tmp_path):
    ring = _box(0, 0, 100, 80)
    holed = shapely.Polygon(ring.exterior.coords, [_box(20, 20, 10, 10).exterior.coords[::-1]])
    gdf = gpd.GeoDataFrame({"DKBH": ["D1", "D,2"], "XMMC": ["甲", "乙"], "DLBM": ["0103", "0101"]},
                           geometry=[holed, _box(500, 0, 50, 60)], crs=GK).to_crs(4490)
    path = write_boundary_txt(gdf, tmp_path / "u.txt", id_field="DKBH", name_field="XMMC",
                              class_field="DLBM", producer="镇")
    head, plots = _parse_txt(path)
    assert head["带号"] == "35" and head["坐标系"] == "2000国家大地坐标系"
    assert plots[1][0][2] == "D，2"  # a comma in a field cannot break the line
    prefixed = gdf.to_crs("EPSG:4523").geometry  # CGCS2000 3-degree zone 35 with the zone prefix
    for (_, pts), geom in zip(plots, prefixed, strict=True):
        rings: dict[str, list] = {}
        for name, ring_no, x, y in pts:
            rings.setdefault(ring_no, []).append((name, float(y), float(x)))
        shells = [shapely.LinearRing([(e, n) for _, e, n in r]) for r in rings.values()]
        for r in rings.values():
            assert r[0] == r[-1], "each ring closes on its first point"
        assert not shapely.is_ccw(shells[0])  # the outer ring clockwise
        assert all(shapely.is_ccw(h) for h in shells[1:])  # holes counter-clockwise
        rebuilt = shapely.Polygon(shells[0], shells[1:])
        assert rebuilt.area == pytest.approx(geom.area, abs=1e-3)
    expected_ha = [(geodesic_mu(ring) - geodesic_mu(_box(20, 20, 10, 10))) * MU / 10_000,
                   geodesic_mu(_box(500, 0, 50, 60)) * MU / 10_000]
    assert [float(p[0][1]) for p in plots] == pytest.approx(expected_ha, abs=1e-4)


def test_gbk_shapefile_keeps_the_chinese_fields(upload, tmp_path):
    res, _ = upload
    shp = write_vector(res.plots, tmp_path / "up.shp", fmt="shp")
    assert shp.with_suffix(".cpg").read_text(encoding="ascii") == "GBK"
    back = pyogrio.read_dataframe(shp, encoding="gbk")
    assert list(back["DLMC"]) == ["旱地", "水浇地"] and list(back["XMMC"]) == ["甲项目"] * 2
    assert list(back["DKMJ"]) == list(res.plots["DKMJ"])


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gis_town", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def test_upload_command_on_the_demo_town(tmp_path):
    town = copy_demo(tmp_path, rasters=True)
    out = tmp_path / "upload"
    proc = _cli("upload", str(town), "--out", str(out), cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    up = gpd.read_file(out / "high_standard_upload.gpkg")
    rej = pd.read_csv(out / "upload_rejects.csv")
    farmland = gpd.read_file(town, layer="farmland")
    tagged = set(farmland.loc[farmland["project"].notna(), "parcel_id"])
    assert set(up["DKBH"]) | set(rej["plot_id"]) >= tagged
    assert not set(up["DKBH"]) & set(rej["plot_id"])
    assert up.crs.to_epsg() == 4490 and set(up["DLBM"]) <= {"0101", "0102", "0103"}
    summary = pd.read_excel(out / "upload_summary.xlsx", sheet_name=0, header=1)
    total = summary[summary.iloc[:, 0].astype(str).str.startswith("合计")].iloc[0]
    assert total.iloc[2] == len(up)
    assert total.iloc[3] == pytest.approx(round(up["DKMJ"].sum(), 2), abs=0.006)
    _, plots = _parse_txt(out / "high_standard_upload.txt")
    assert [p[0][2] for p in plots] == list(up["DKBH"])
    kml = zipfile.ZipFile(out / "high_standard_upload.kmz").read("doc.kml").decode("utf-8")
    assert kml.count("<Placemark") >= len(up) and "地块面积(亩)" in kml


def test_upload_without_sections_says_what_to_configure(tmp_path):
    town = copy_demo(tmp_path, rasters=False)
    (tmp_path / "high_standard.gpkg").unlink()
    toml = tmp_path / "town.toml"
    text = toml.read_text(encoding="utf-8")
    toml.write_text("\n".join(x for x in text.splitlines() if "high_standard.gpkg" not in x), encoding="utf-8")
    proc = _cli("upload", str(town), "--out", str(tmp_path / "u"), cwd=REPO)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "[high_standard]" in proc.stderr and "Traceback" not in proc.stderr


def test_pending_only_leaves_the_uploaded_sections_out():
    sections, farmland = _sections(), _farmland()
    stages = section_stages(sections, as_of=pd.Timestamp("2023-12-31"), names={})
    res = upload_plots(farmland, sections, stages, check_failures={"P4": "slope"}, pending_only=True)
    assert len(res.plots) == 0  # A, the only accepted section, is uploaded already
    codes = dict(zip(res.rejects["plot_id"], res.rejects["reason_code"], strict=True))
    assert codes["P1"] == codes["P2"] == "already_uploaded" and codes["P3"] == "not_cropland"
    before = section_stages(sections, as_of=pd.Timestamp("2023-09-30"), names={})  # accepted, not uploaded
    res = upload_plots(farmland, sections, before, check_failures={"P4": "slope"}, pending_only=True)
    assert list(res.plots["DKBH"]) == ["P1", "P2"] and (res.plots["RKRQ"] == "").all()
